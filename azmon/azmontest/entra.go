package azmontest

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ClientAssertionType is the client_assertion_type of JWT client assertions.
const ClientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// entraError is an error answer of the token endpoint.
type entraError struct {
	status int
	err    string // OAuth error, e.g. invalid_client
	code   int    // AADSTS code
	desc   string // description after "AADSTSnnn: "
}

// entraCode returns the OAuth error string, the HTTP status and a default description for the
// AADSTS codes the emulator uses (codes and OAuth errors as Entra ID answers them, per the
// Entra error code reference and answers seen in the field).
func entraCode(code int) (string, int, string) {
	switch code {
	case 90002:
		return "invalid_request", 400, "Tenant not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
	case 700016:
		return "unauthorized_client", 400, "Application was not found in the directory. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."
	case 7000215:
		return "invalid_client", 401, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID."
	case 7000218:
		return "invalid_client", 401, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'."
	case 7000222:
		return "invalid_client", 401, "The provided client secret keys are expired."
	case 500011:
		return "invalid_resource", 400, "The resource principal was not found in the tenant."
	case 900144:
		return "invalid_request", 400, "The request body must contain the following parameter."
	case 70003:
		return "unsupported_grant_type", 400, "The app requested an unsupported grant type."
	case 70011:
		return "invalid_scope", 400, "The provided value for the input parameter 'scope' is not valid."
	case 50027:
		return "invalid_request", 400, "JWT token is invalid or malformed."
	case 700021:
		return "invalid_client", 401, "Client assertion application identifier doesn't match 'client_id' parameter."
	case 700024:
		return "invalid_client", 401, "Client assertion is not within its valid time range."
	case 700027:
		return "invalid_client", 401, "Client assertion failed signature validation."
	case 70021:
		return "invalid_client", 401, "No matching federated identity record found for presented assertion."
	case 900561:
		return "invalid_request", 400, "The endpoint only accepts POST requests."
	case 90055:
		return "temporarily_unavailable", 429, "There are too many incoming requests. Retry later."
	case 50000:
		return "temporarily_unavailable", 503, "There was an error issuing a token. Retry later."
	}
	return "invalid_request", 400, "The request is invalid."
}

func newEntraError(code int, format string, args ...any) *entraError {
	e, status, desc := entraCode(code)
	if format != "" {
		desc = fmt.Sprintf(format, args...)
	}
	return &entraError{status: status, err: e, code: code, desc: desc}
}

// faultEntraError turns an injected fault into an Entra error.
func faultEntraError(f Fault) *entraError {
	code := 0
	oauth := ""
	if c := strings.TrimPrefix(f.Code, "AADSTS"); c != "" {
		if n, err := strconv.Atoi(c); err == nil {
			code = n
		} else {
			oauth = f.Code
		}
	}
	if code == 0 {
		switch {
		case f.Status == http.StatusUnauthorized:
			code = 7000215
		case f.Status == http.StatusTooManyRequests:
			code = 90055
		case f.Status >= 500:
			code = 50000
		default:
			code = 900144
		}
	}
	e := newEntraError(code, "")
	if f.Status != 0 {
		e.status = f.Status
	}
	if oauth != "" {
		e.err = oauth
	}
	if f.Message != "" {
		e.desc = f.Message
	}
	return e
}

// write answers with Entra's error body.
func (e *entraError) write(w http.ResponseWriter, authority string) {
	trace, corr := newGUID(), newGUID()
	ts := time.Now().UTC().Format("2006-01-02 15:04:05Z")
	body := map[string]any{
		"error": e.err,
		"error_description": fmt.Sprintf("AADSTS%d: %s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s",
			e.code, e.desc, trace, corr, ts),
		"error_codes":    []int{e.code},
		"timestamp":      ts,
		"trace_id":       trace,
		"correlation_id": corr,
		"error_uri":      authority + "error?code=" + strconv.Itoa(e.code),
	}
	writeJSON(w, e.status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store, no-cache")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// serveDiscovery answers GET {authority}/{tenant}/v2.0/.well-known/openid-configuration, the
// tenant discovery MSAL does before its first token request. MSAL requires
// authorization_endpoint, token_endpoint and issuer, and the issuer's scheme and host must
// match the authority's. An unknown tenant gets 400 invalid_tenant AADSTS90002.
func (s *Server) serveDiscovery(w http.ResponseWriter, r *http.Request, tenant string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		newEntraError(900561, "The endpoint only accepts GET requests. Received a %s request.", r.Method).write(w, s.AuthorityHost())
		return
	}
	if !strings.EqualFold(tenant, s.Opts.TenantID) {
		e := newEntraError(90002, "Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.", tenant)
		e.err = "invalid_tenant"
		e.write(w, s.AuthorityHost())
		return
	}
	base := s.URL + "/" + s.Opts.TenantID
	writeJSON(w, http.StatusOK, map[string]any{
		"token_endpoint":                        base + "/oauth2/v2.0/token",
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"jwks_uri":                              base + "/discovery/v2.0/keys",
		"response_modes_supported":              []string{"query", "fragment", "form_post"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
		"issuer":                                base + "/v2.0",
		"request_uri_parameter_supported":       false,
		"userinfo_endpoint":                     s.URL + "/oidc/userinfo",
		"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
		"device_authorization_endpoint":         base + "/oauth2/v2.0/devicecode",
		"http_logout_supported":                 true,
		"frontchannel_logout_supported":         true,
		"end_session_endpoint":                  base + "/oauth2/v2.0/logout",
		"claims_supported":                      []string{"sub", "iss", "aud", "exp", "iat", "tid", "ver"},
		"kerberos_endpoint":                     base + "/kerberos",
		"tenant_region_scope":                   "WW",
		"cloud_instance_name":                   "azmontest.invalid",
	})
}

// serveToken answers POST {authority}/{tenant}/oauth2/v2.0/token, client credentials grant.
//
// Checks in order (after any ScriptToken fault): tenant (400 AADSTS90002), grant_type (400
// AADSTS900144 missing, AADSTS70003 other than client_credentials), client_id (400 AADSTS900144
// missing, AADSTS700016 unknown), the credential — client_secret (401 AADSTS7000215 wrong) or
// client_assertion (see checkAssertion), neither: 401 AADSTS7000218 — then scope: it must hold
// Opts.Scope, optionally with openid, offline_access and profile (400 AADSTS900144 missing,
// AADSTS500011 other resource). Success: 200 {"token_type":"Bearer","expires_in":N,
// "ext_expires_in":N,"access_token":"<opaque>"}.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request, tenant string) {
	auth := s.AuthorityHost()
	if r.Method != http.MethodPost {
		newEntraError(900561, "The endpoint only accepts POST requests. Received a %s request.", r.Method).write(w, auth)
		return
	}
	s.mu.Lock()
	s.tokenRequests++
	s.mu.Unlock()

	f, _ := s.nextTokenFault()
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	formErr := r.ParseForm()
	if !s.sleep(r.Context(), f.Delay) {
		return
	}
	if f.Reset {
		resetConn(w)
		return
	}
	if f.Status != 0 || f.Code != "" {
		setRetryAfter(w.Header(), f.RetryAfter)
		faultEntraError(f).write(w, auth)
		return
	}
	if formErr != nil {
		newEntraError(900144, "The request body must contain the following parameter: 'grant_type'.").write(w, auth)
		return
	}
	if e := s.checkTokenRequest(r, tenant); e != nil {
		e.write(w, auth)
		return
	}
	tok, _ := s.issueToken()
	secs := int(s.Opts.TokenLifetime / time.Second)
	writeJSON(w, http.StatusOK, map[string]any{
		"token_type":     "Bearer",
		"expires_in":     secs,
		"ext_expires_in": secs,
		"access_token":   tok,
	})
}

// checkTokenRequest validates a client credentials request.
func (s *Server) checkTokenRequest(r *http.Request, tenant string) *entraError {
	o := s.Opts
	if !strings.EqualFold(tenant, o.TenantID) {
		return newEntraError(90002, "Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.", tenant)
	}
	form := r.PostForm
	switch gt := form.Get("grant_type"); gt {
	case "client_credentials":
	case "":
		return newEntraError(900144, "The request body must contain the following parameter: 'grant_type'.")
	default:
		return newEntraError(70003, "The app requested an unsupported grant type '%s'.", gt)
	}
	clientID, secret := form.Get("client_id"), form.Get("client_secret")
	if user, pass, ok := r.BasicAuth(); ok {
		if clientID == "" {
			clientID = user
		}
		if secret == "" {
			secret = pass
		}
	}
	if clientID == "" {
		return newEntraError(900144, "The request body must contain the following parameter: 'client_id'.")
	}
	if !strings.EqualFold(clientID, o.ClientID) {
		return newEntraError(700016, "Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", clientID, tenant)
	}
	switch assertion := form.Get("client_assertion"); {
	case assertion != "":
		switch at := form.Get("client_assertion_type"); at {
		case ClientAssertionType:
		case "":
			return newEntraError(900144, "The request body must contain the following parameter: 'client_assertion_type'.")
		default:
			return newEntraError(50027, "Invalid client_assertion_type '%s'; expected '%s'.", at, ClientAssertionType)
		}
		if e := s.checkAssertion(assertion, clientID); e != nil {
			return e
		}
	case secret != "":
		if subtle.ConstantTimeCompare([]byte(secret), []byte(o.ClientSecret)) != 1 {
			return newEntraError(7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", o.ClientID)
		}
	default:
		return newEntraError(7000218, "")
	}
	scope := form.Get("scope")
	if strings.TrimSpace(scope) == "" {
		return newEntraError(900144, "The request body must contain the following parameter: 'scope'.")
	}
	var resources []string
	for _, sc := range strings.Fields(scope) {
		switch sc {
		case "openid", "offline_access", "profile":
		default:
			resources = append(resources, sc)
		}
	}
	if len(resources) != 1 || !strings.EqualFold(resources[0], o.Scope) {
		name := strings.Join(resources, " ")
		return newEntraError(500011, "The resource principal named %s was not found in the tenant named %s. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.",
			strings.TrimSuffix(name, "/.default"), tenant)
	}
	return nil
}

// checkAssertion validates a client_assertion.
//
// An assertion naming a certificate (x5t#S256, x5t or x5c header) must be signed by the key of
// one of Opts.ClientCertificates (401 AADSTS700027 otherwise), have aud = the token endpoint
// (400 AADSTS50027), iss = sub = client id (401 AADSTS700021), and be within its valid time
// range (401 AADSTS700024). Any other well-formed JWT is taken as a federated token: its iss,
// sub and aud must match the federated identity credential (401 AADSTS70021) and it must not
// have expired (401 AADSTS700024); its signature is not verified. A malformed JWT gets 400
// AADSTS50027.
func (s *Server) checkAssertion(assertion, clientID string) *entraError {
	o := s.Opts
	j, err := parseJWT(assertion)
	if err != nil {
		return newEntraError(50027, "JWT token is invalid or malformed: %v.", err)
	}
	now := time.Now()
	exp, nbf := j.timeClaim("exp"), j.timeClaim("nbf")
	timeErr := func() *entraError {
		if exp.IsZero() || !now.Before(exp) || (!nbf.IsZero() && nbf.After(now.Add(5*time.Minute))) {
			return newEntraError(700024, "Client assertion is not within its valid time range. Current time: %s, assertion valid from %s, expiry time of assertion %s.",
				now.UTC().Format(time.RFC3339), fmtTime(nbf), fmtTime(exp))
		}
		return nil
	}
	if !j.isCertAssertion() {
		iss, sub, aud := str(j.claims, "iss"), str(j.claims, "sub"), j.audiences()
		if iss != o.FederatedIssuer || sub != o.FederatedSubject || !slices.Contains(aud, o.FederatedAudience) {
			return newEntraError(70021, "No matching federated identity record found for presented assertion. Assertion Issuer: '%s'. Assertion Subject: '%s'. Assertion Audience: '%s'.",
				iss, sub, strings.Join(aud, ","))
		}
		return timeErr()
	}
	cert, thumb := findCert(j, o.ClientCertificates)
	if cert == nil {
		return newEntraError(700027, "Client assertion failed signature validation. (Reason - The key was not found., Thumbprint of key used by client: '%s'. Please verify that the certificate is registered on application '%s'.)", thumb, o.ClientID)
	}
	if err := j.verify(cert.PublicKey); err != nil {
		return newEntraError(700027, "Client assertion failed signature validation. (Reason - The provided signature value did not match the expected signature value: %v.)", err)
	}
	if aud := j.audiences(); !slices.Contains(aud, s.TokenEndpoint()) {
		return newEntraError(50027, "JWT token is invalid: unexpected audience '%s'; expected '%s'.", strings.Join(aud, ","), s.TokenEndpoint())
	}
	if iss, sub := str(j.claims, "iss"), str(j.claims, "sub"); !strings.EqualFold(iss, clientID) || !strings.EqualFold(sub, clientID) {
		return newEntraError(700021, "Client assertion application identifier doesn't match 'client_id' parameter. iss: '%s', sub: '%s', client_id: '%s'.", iss, sub, clientID)
	}
	return timeErr()
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "(none)"
	}
	return t.UTC().Format(time.RFC3339)
}

// ManagedIdentityEnv returns the environment azidentity's ManagedIdentityCredential reads for
// an App Service style managed identity: IDENTITY_ENDPOINT (the plain-HTTP loopback listener,
// MSIURL + "/msi/token") and IDENTITY_HEADER. Set them with t.Setenv before creating the
// credential; no TLS configuration is involved.
func (s *Server) ManagedIdentityEnv() map[string]string {
	return map[string]string{
		"IDENTITY_ENDPOINT": s.MSIURL + "/msi/token",
		"IDENTITY_HEADER":   s.identityHeader,
	}
}

// serveMSI answers the App Service managed identity endpoint:
// GET /msi/token?api-version=2019-08-01&resource=<resource>[&client_id=<id>] with header
// X-IDENTITY-HEADER. The resource must be Opts.Scope without "/.default" (a trailing slash is
// tolerated); a client_id must be Opts.ManagedIdentityClientID (no selector = system-assigned).
// Success: 200 {"access_token","expires_on" (unix seconds as a string),"resource","token_type",
// "client_id"}. Errors: {"statusCode":N,"message":"...","correlationId":"..."}. ScriptToken
// faults apply here too.
func (s *Server) serveMSI(w http.ResponseWriter, r *http.Request) {
	fail := func(status int, msg string) {
		writeJSON(w, status, map[string]any{"statusCode": status, "message": msg, "correlationId": newGUID()})
	}
	if r.Method != http.MethodGet {
		fail(http.StatusMethodNotAllowed, "Only GET is supported.")
		return
	}
	s.mu.Lock()
	s.msiRequests++
	s.mu.Unlock()
	if f, _ := s.nextTokenFault(); f != (Fault{}) {
		if !s.sleep(r.Context(), f.Delay) {
			return
		}
		if f.Reset {
			resetConn(w)
			return
		}
		if f.Status != 0 {
			setRetryAfter(w.Header(), f.RetryAfter)
			msg := f.Message
			if msg == "" {
				msg = http.StatusText(f.Status)
			}
			fail(f.Status, msg)
			return
		}
	}
	q := r.URL.Query()
	if subtle.ConstantTimeCompare([]byte(r.Header.Get("X-IDENTITY-HEADER")), []byte(s.identityHeader)) != 1 {
		fail(http.StatusUnauthorized, "The X-IDENTITY-HEADER header is missing or does not match IDENTITY_HEADER.")
		return
	}
	if v := q.Get("api-version"); v != "2019-08-01" {
		fail(http.StatusBadRequest, fmt.Sprintf("The api-version '%s' is not supported; use '2019-08-01'.", v))
		return
	}
	want := strings.TrimSuffix(s.Opts.Scope, "/.default")
	resource := q.Get("resource")
	if resource == "" {
		fail(http.StatusBadRequest, "The resource query parameter is required.")
		return
	}
	if !strings.EqualFold(strings.TrimSuffix(resource, "/"), strings.TrimSuffix(want, "/")) {
		fail(http.StatusBadRequest, fmt.Sprintf("AADSTS500011: The resource principal named %s was not found in the tenant named %s.", resource, s.Opts.TenantID))
		return
	}
	if id := q.Get("client_id"); id != "" && !strings.EqualFold(id, s.Opts.ManagedIdentityClientID) {
		fail(http.StatusBadRequest, fmt.Sprintf("No managed identity with client id '%s' is assigned to this resource.", id))
		return
	}
	if q.Get("object_id") != "" || q.Get("principal_id") != "" || q.Get("mi_res_id") != "" || q.Get("msi_res_id") != "" {
		fail(http.StatusBadRequest, "Only system-assigned identities and user-assigned identities selected by client_id are served.")
		return
	}
	tok, exp := s.issueToken()
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": tok,
		"expires_on":   strconv.FormatInt(exp.Unix(), 10),
		"resource":     resource,
		"token_type":   "Bearer",
		"client_id":    s.Opts.ManagedIdentityClientID,
	})
}
