package azmontest

import (
	"context"
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

func TestClientCertificateCredential(t *testing.T) {
	t.Parallel()
	cert, _, pemBytes := GenerateClientCertificate("keeper-azmon test")
	_, _, otherPEM := GenerateClientCertificate("not registered")
	s := newTestServer(t, Options{ClientCertificates: []*x509.Certificate{cert}})

	for _, tc := range []struct {
		name      string
		pem       []byte
		sendChain bool
		want      string // error substring; "" = success
	}{
		{name: "registered certificate", pem: pemBytes},
		{name: "registered certificate, x5c header", pem: pemBytes, sendChain: true},
		{name: "unregistered certificate", pem: otherPEM, want: "AADSTS700027"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			certs, key, err := azidentity.ParseCertificates(tc.pem, nil)
			if err != nil {
				t.Fatal(err)
			}
			cred, err := azidentity.NewClientCertificateCredential(s.Opts.TenantID, s.Opts.ClientID, certs, key,
				&azidentity.ClientCertificateCredentialOptions{ClientOptions: clientOptions(s), DisableInstanceDiscovery: true, SendCertificateChain: tc.sendChain})
			if err != nil {
				t.Fatal(err)
			}
			tok, err := getToken(t, s, cred)
			if tc.want != "" {
				if err == nil || !containsAll(err.Error(), tc.want, "invalid_client") {
					t.Fatalf("err %v, want %s", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r := ingest(t, s, s.EndpointURL(StreamKeeperLogs), tok, mustJSON(t, []any{keeperRecord()}), nil); r.status != 204 {
				t.Errorf("ingest with certificate token: %d %v", r.status, r.body)
			}
		})
	}
}

func TestClientAssertionCredential(t *testing.T) {
	t.Parallel()
	cert, key, _ := GenerateClientCertificate("assertion")
	s := newTestServer(t, Options{ClientCertificates: []*x509.Certificate{cert}})
	now := time.Now()
	claims := func(edit func(map[string]any)) map[string]any {
		c := map[string]any{
			"aud": s.TokenEndpoint(), "iss": s.Opts.ClientID, "sub": s.Opts.ClientID,
			"jti": newGUID(), "nbf": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(),
		}
		edit(c)
		return c
	}
	for _, tc := range []struct {
		name   string
		claims map[string]any
		want   string
	}{
		{name: "valid", claims: claims(func(map[string]any) {})},
		{name: "aud as a list", claims: claims(func(c map[string]any) { c["aud"] = []string{s.TokenEndpoint()} })},
		{name: "expired", claims: claims(func(c map[string]any) { c["exp"] = now.Add(-time.Hour).Unix() }), want: "AADSTS700024"},
		{name: "no exp", claims: claims(func(c map[string]any) { delete(c, "exp") }), want: "AADSTS700024"},
		{name: "not yet valid", claims: claims(func(c map[string]any) { c["nbf"] = now.Add(time.Hour).Unix() }), want: "AADSTS700024"},
		{name: "wrong audience", claims: claims(func(c map[string]any) { c["aud"] = "https://login.microsoftonline.com/x/oauth2/v2.0/token" }), want: "AADSTS50027"},
		{name: "wrong issuer", claims: claims(func(c map[string]any) { c["iss"] = "someone-else" }), want: "AADSTS700021"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assertion, err := SignClientAssertion(cert, key, tc.claims)
			if err != nil {
				t.Fatal(err)
			}
			cred, err := azidentity.NewClientAssertionCredential(s.Opts.TenantID, s.Opts.ClientID,
				func(context.Context) (string, error) { return assertion, nil },
				&azidentity.ClientAssertionCredentialOptions{ClientOptions: clientOptions(s), DisableInstanceDiscovery: true})
			if err != nil {
				t.Fatal(err)
			}
			tok, err := getToken(t, s, cred)
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("err %v, want %s", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r := ingest(t, s, s.EndpointURL(StreamRaw), tok, []byte(`[{"a":1}]`), nil); r.status != 204 {
				t.Errorf("ingest: %d", r.status)
			}
		})
	}
	// A signature by another key is refused even with the right thumbprint.
	_, otherKey, _ := GenerateClientCertificate("impostor")
	forged, err := SignClientAssertion(cert, otherKey, claims(func(map[string]any) {}))
	if err != nil {
		t.Fatal(err)
	}
	cred, _ := azidentity.NewClientAssertionCredential(s.Opts.TenantID, s.Opts.ClientID,
		func(context.Context) (string, error) { return forged, nil },
		&azidentity.ClientAssertionCredentialOptions{ClientOptions: clientOptions(s), DisableInstanceDiscovery: true})
	if _, err := getToken(t, s, cred); err == nil || !strings.Contains(err.Error(), "AADSTS700027") {
		t.Errorf("forged signature: %v", err)
	}
}

func TestWorkloadIdentityCredential(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{})
	now := time.Now()
	for _, tc := range []struct {
		name  string
		token string
		want  string
	}{
		{name: "service account token", token: s.FederatedToken(time.Hour)},
		{name: "expired", token: s.FederatedToken(-time.Minute), want: "AADSTS700024"},
		{name: "wrong subject", token: s.SignJWT(map[string]any{
			"iss": s.Opts.FederatedIssuer, "sub": "system:serviceaccount:default:other",
			"aud": s.Opts.FederatedAudience, "exp": now.Add(time.Hour).Unix(),
		}), want: "AADSTS70021"},
		{name: "wrong audience", token: s.SignJWT(map[string]any{
			"iss": s.Opts.FederatedIssuer, "sub": s.Opts.FederatedSubject,
			"aud": "api://other", "exp": now.Add(time.Hour).Unix(),
		}), want: "AADSTS70021"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cred, err := azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{
				ClientOptions: clientOptions(s), DisableInstanceDiscovery: true,
				TenantID: s.Opts.TenantID, ClientID: s.Opts.ClientID, TokenFilePath: s.WriteTokenFile(tc.token),
			})
			if err != nil {
				t.Fatal(err)
			}
			tok, err := getToken(t, s, cred)
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("err %v, want %s", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r := ingest(t, s, s.EndpointURL(StreamRaw), tok, []byte(`[{"a":1}]`), nil); r.status != 204 {
				t.Errorf("ingest: %d", r.status)
			}
		})
	}
}

// Not parallel: it sets environment variables.
func TestManagedIdentityCredential(t *testing.T) {
	s := newTestServer(t, Options{})
	for k, v := range s.ManagedIdentityEnv() {
		t.Setenv(k, v)
	}
	if !strings.HasPrefix(s.ManagedIdentityEnv()["IDENTITY_ENDPOINT"], "http://127.0.0.1:") {
		t.Errorf("IDENTITY_ENDPOINT %s", s.ManagedIdentityEnv()["IDENTITY_ENDPOINT"])
	}
	// A user-assigned identity keyed by this server's client id keeps MSAL's process-wide
	// managed identity cache from mixing servers.
	cred, err := azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{
		ClientOptions: clientOptions(s), ID: azidentity.ClientID(s.Opts.ManagedIdentityClientID),
	})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := getToken(t, s, cred)
	if err != nil {
		t.Fatal(err)
	}
	if r := ingest(t, s, s.EndpointURL(StreamRaw), tok, []byte(`[{"a":1}]`), nil); r.status != 204 {
		t.Errorf("ingest with managed identity token: %d %v", r.status, r.body)
	}
	if n := s.ManagedIdentityRequests(); n != 1 {
		t.Errorf("ManagedIdentityRequests = %d", n)
	}

	// An identity not assigned to the resource.
	other, err := azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{
		ClientOptions: clientOptions(s), ID: azidentity.ClientID(newGUID()),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := getToken(t, s, other); err == nil || !strings.Contains(err.Error(), "No managed identity") {
		t.Errorf("unassigned identity: %v", err)
	}
}

func TestManagedIdentityEndpoint(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{TokenLifetime: time.Hour})
	env := s.ManagedIdentityEnv()
	get := func(base, query string, header bool) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, base+"?"+query, nil)
		if header {
			req.Header.Set("X-IDENTITY-HEADER", env["IDENTITY_HEADER"])
		}
		resp, err := s.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := resp.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		return resp.StatusCode, b.String()
	}
	ok := "api-version=2019-08-01&resource=https%3A%2F%2Fmonitor.azure.com"
	for _, tc := range []struct {
		name   string
		base   string
		query  string
		header bool
		status int
		want   string
	}{
		{name: "plain HTTP", base: env["IDENTITY_ENDPOINT"], query: ok, header: true, status: 200, want: `"token_type":"Bearer"`},
		{name: "over HTTPS too", base: s.URL + "/msi/token", query: ok, header: true, status: 200, want: `"resource":"https://monitor.azure.com"`},
		{name: "trailing slash", base: env["IDENTITY_ENDPOINT"], query: ok + "%2F", header: true, status: 200, want: `"expires_on":"`},
		{name: "no header", base: env["IDENTITY_ENDPOINT"], query: ok, status: 401},
		{name: "old api-version", base: env["IDENTITY_ENDPOINT"], query: "api-version=2017-09-01&resource=https%3A%2F%2Fmonitor.azure.com", header: true, status: 400},
		{name: "other resource", base: env["IDENTITY_ENDPOINT"], query: "api-version=2019-08-01&resource=https%3A%2F%2Fmanagement.azure.com", header: true, status: 400, want: "AADSTS500011"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := get(tc.base, tc.query, tc.header)
			if status != tc.status || !strings.Contains(body, tc.want) {
				t.Errorf("%d %s, want %d with %q", status, body, tc.status, tc.want)
			}
		})
	}
	s.ScriptToken(Fault{Status: 500})
	if status, body := get(env["IDENTITY_ENDPOINT"], ok, true); status != 500 || !strings.Contains(body, `"statusCode":500`) {
		t.Errorf("scripted fault: %d %s", status, body)
	}
}

func TestAssertionCertificateHeaders(t *testing.T) {
	t.Parallel()
	cert, key, _ := GenerateClientCertificate("headers")
	s := newTestServer(t, Options{ClientCertificates: []*x509.Certificate{cert}})
	sha1Sum := sha1.Sum(cert.Raw)
	claims := map[string]any{"aud": s.TokenEndpoint(), "iss": s.Opts.ClientID, "sub": s.Opts.ClientID, "exp": time.Now().Add(time.Minute).Unix()}
	for _, tc := range []struct {
		name   string
		header map[string]any
		status int
	}{
		{name: "x5t (SHA-1, ADFS style) with RS256", header: map[string]any{"alg": "RS256", "typ": "JWT", "x5t": base64.RawURLEncoding.EncodeToString(sha1Sum[:])}, status: 200},
		{name: "x5c only with PS384", header: map[string]any{"alg": "PS384", "typ": "JWT", "x5c": []string{base64.StdEncoding.EncodeToString(cert.Raw)}}, status: 200},
		{name: "unknown x5t", header: map[string]any{"alg": "RS256", "typ": "JWT", "x5t": "AAAA"}, status: 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assertion, err := signJWT(tc.header, claims, key)
			if err != nil {
				t.Fatal(err)
			}
			status, body := postForm(t, s, s.Opts.TenantID, url.Values{
				"grant_type": {"client_credentials"}, "client_id": {s.Opts.ClientID}, "scope": {s.Opts.Scope},
				"client_assertion_type": {ClientAssertionType}, "client_assertion": {assertion},
			})
			if status != tc.status {
				t.Errorf("%d %v, want %d", status, body, tc.status)
			}
		})
	}
}
