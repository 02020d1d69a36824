// Package azmontest is an in-process emulator of Microsoft Entra ID and the
// Azure Monitor Logs Ingestion API, used by tests the way net/http/httptest is.
//
// NewServer starts one HTTPS server on 127.0.0.1 with a certificate issued by
// a fresh CA of its own (written to Server.CAFile). The same host plays:
//
//   - the Entra ID authority: GET {authority}/{tenant}/v2.0/.well-known/openid-configuration
//     and POST {authority}/{tenant}/oauth2/v2.0/token (client credentials with a
//     client secret, a certificate-signed client assertion, or a federated
//     (workload identity) assertion);
//   - the data collection endpoint: POST /dataCollectionRules/{dcr}/streams/{stream}?api-version=2023-01-01;
//   - an App Service style managed identity endpoint, GET /msi/token, also served
//     over plain HTTP on a second loopback listener (Server.MSIURL), which is what
//     ManagedIdentityEnv points IDENTITY_ENDPOINT at.
//
// # azidentity against the emulator
//
// azidentity works unchanged when a credential gets
//
//	ClientOptions: azcore.ClientOptions{
//		Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: s.AuthorityHost()},
//		Transport: s.Client(), // or any *http.Client trusting s.CAFile
//	},
//	DisableInstanceDiscovery: true,
//
// (Server.ClientOptions returns the first part). MSAL then GETs the tenant's
// openid-configuration, checks that its issuer has the authority's scheme and
// host, and POSTs the token request to the token_endpoint it names, with scope
// "<Opts.Scope> openid offline_access profile". Managed identity needs only the
// two variables of ManagedIdentityEnv; use a user-assigned identity with
// Opts.ManagedIdentityClientID, because MSAL caches managed identity tokens in a
// process-wide cache keyed by identity alone.
//
// # Error answers
//
// Ingestion errors have the service's shape, {"error":{"code":"...","message":"..."}},
// with the code also in the x-ms-error-code header:
//
//	413 ContentLengthLimitExceeded  "Maximum allowed content length: 1048576 bytes (1 MB). Provided content length: N bytes."
//	400 InvalidStream               stream not declared in the DCR
//	403 OperationFailed             (injected only) no access to the DCR
//	500 (no body)                   empty request body
//	401 InvalidToken, TokenExpired  bad, unknown, revoked or expired bearer token
//	404 NotFound                    unknown DCR immutable id, or a malformed path
//	400 InvalidContent              not gzip, not a JSON array of objects, or a RejectRecords match
//	400 MissingApiVersionParameter, InvalidApiVersionParameter
//	415 UnsupportedMediaType, UnsupportedContentEncoding
//
// The first four are the real service's (azure-sdk-for-net's live tests and
// troubleshooting guide, azure-sdk-for-go's azlogs tests); TokenExpired was seen
// from the service in the field; the others are the emulator's own names for
// situations whose real code is not documented. Success is 204 with an empty body.
//
// Token endpoint errors have Entra's shape (error, error_description starting with
// "AADSTSnnn: ", error_codes, timestamp, trace_id, correlation_id, error_uri):
// AADSTS90002 unknown tenant (400), AADSTS700016 unknown client (400),
// AADSTS7000215 wrong secret (401), AADSTS7000218 no credential (401),
// AADSTS500011 other resource in scope (400), AADSTS900144 missing parameter (400),
// AADSTS70003 grant type (400), AADSTS50027 malformed JWT or wrong aud (400),
// AADSTS700027 assertion signature (401), AADSTS700021 assertion iss/sub (401),
// AADSTS700024 assertion time range (401), AADSTS70021 no matching federated
// identity credential (401).
//
// # Data Collection Rule
//
// Each declared stream keeps only its declared columns; a value whose type does
// not fit its column is stored as nil and counted (Request.TypeMismatches,
// Server.TypeMismatches). Rows returns what was stored.
//
// Everything is goroutine-safe. A Server holds no package-level state, so tests
// may run many servers in parallel. Opts is read-only once NewServer returns.
package azmontest
