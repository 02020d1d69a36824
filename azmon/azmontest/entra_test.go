package azmontest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

func TestClientSecretCredentialTokenIsAccepted(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{})
	cred, err := azidentity.NewClientSecretCredential(s.Opts.TenantID, s.Opts.ClientID, s.Opts.ClientSecret,
		&azidentity.ClientSecretCredentialOptions{ClientOptions: clientOptions(s), DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := getToken(t, s, cred)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.TokenRequests(); got != 1 {
		t.Errorf("TokenRequests = %d, want 1", got)
	}
	r := ingest(t, s, s.EndpointURL(StreamKeeperMarketplace), tok, mustJSON(t, []any{keeperRecord()}), nil)
	if r.err != nil || r.status != http.StatusNoContent {
		t.Fatalf("ingest: %d %v %v", r.status, r.body, r.err)
	}
	if n := len(s.Rows(StreamKeeperMarketplace)); n != 1 {
		t.Fatalf("rows = %d, want 1", n)
	}
	// A second GetToken is served from MSAL's cache.
	if _, err := getToken(t, s, cred); err != nil {
		t.Fatal(err)
	}
	if got := s.TokenRequests(); got != 1 {
		t.Errorf("TokenRequests after cached GetToken = %d, want 1", got)
	}
}

func TestClientSecretCredentialErrors(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{})
	for _, tc := range []struct {
		name                     string
		tenant, client, secret   string
		scope                    string
		want                     []string
		wantTokenEndpointRequest bool
	}{
		{name: "wrong secret", secret: "not-the-secret", want: []string{"AADSTS7000215", "invalid_client"}, wantTokenEndpointRequest: true},
		{name: "unknown client", client: "00000000-0000-4000-8000-000000000001", want: []string{"AADSTS700016", "unauthorized_client"}, wantTokenEndpointRequest: true},
		{name: "unknown tenant", tenant: "00000000-0000-4000-8000-000000000002", want: []string{"AADSTS90002"}},
		{name: "wrong scope", scope: "https://monitor.azure.us/.default", want: []string{"AADSTS500011", "invalid_resource", "https://monitor.azure.us"}, wantTokenEndpointRequest: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tenant, client, secret, scope := s.Opts.TenantID, s.Opts.ClientID, s.Opts.ClientSecret, s.Opts.Scope
			if tc.tenant != "" {
				tenant = tc.tenant
			}
			if tc.client != "" {
				client = tc.client
			}
			if tc.secret != "" {
				secret = tc.secret
			}
			if tc.scope != "" {
				scope = tc.scope
			}
			cred, err := azidentity.NewClientSecretCredential(tenant, client, secret,
				&azidentity.ClientSecretCredentialOptions{ClientOptions: clientOptions(s), DisableInstanceDiscovery: true})
			if err != nil {
				t.Fatal(err)
			}
			before := s.TokenRequests()
			tro := tokenOptions(s)
			tro.Scopes = []string{scope}
			_, err = cred.GetToken(t.Context(), tro)
			if err == nil {
				t.Fatal("GetToken succeeded")
			}
			if !containsAll(err.Error(), tc.want...) {
				t.Errorf("error %q lacks %q", err, tc.want)
			}
			if got := s.TokenRequests() > before; got != tc.wantTokenEndpointRequest {
				t.Errorf("token endpoint reached = %v, want %v", got, tc.wantTokenEndpointRequest)
			}
		})
	}
}

func TestTokenEndpointForms(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{TokenLifetime: 10 * time.Minute})
	good := func() url.Values {
		return url.Values{
			"grant_type":    {"client_credentials"},
			"client_id":     {s.Opts.ClientID},
			"client_secret": {s.Opts.ClientSecret},
			"scope":         {s.Opts.Scope + " openid offline_access profile"},
		}
	}
	for _, tc := range []struct {
		name      string
		tenant    string
		edit      func(url.Values)
		status    int
		errString string
		code      int
	}{
		{name: "ok with MSAL's extra scopes", edit: func(url.Values) {}, status: 200},
		{name: "ok with the scope alone", edit: func(v url.Values) { v.Set("scope", s.Opts.Scope) }, status: 200},
		{name: "missing grant_type", edit: func(v url.Values) { v.Del("grant_type") }, status: 400, errString: "invalid_request", code: 900144},
		{name: "password grant", edit: func(v url.Values) { v.Set("grant_type", "password") }, status: 400, errString: "unsupported_grant_type", code: 70003},
		{name: "missing client_id", edit: func(v url.Values) { v.Del("client_id") }, status: 400, errString: "invalid_request", code: 900144},
		{name: "no credential", edit: func(v url.Values) { v.Del("client_secret") }, status: 401, errString: "invalid_client", code: 7000218},
		{name: "missing scope", edit: func(v url.Values) { v.Del("scope") }, status: 400, errString: "invalid_request", code: 900144},
		{name: "two resources", edit: func(v url.Values) { v.Set("scope", s.Opts.Scope+" https://graph.microsoft.com/.default") }, status: 400, errString: "invalid_resource", code: 500011},
		{name: "unknown tenant", tenant: "contoso.onmicrosoft.com", edit: func(url.Values) {}, status: 400, errString: "invalid_request", code: 90002},
		{name: "malformed assertion", edit: func(v url.Values) {
			v.Del("client_secret")
			v.Set("client_assertion_type", ClientAssertionType)
			v.Set("client_assertion", "not-a-jwt")
		}, status: 400, errString: "invalid_request", code: 50027},
	} {
		t.Run(tc.name, func(t *testing.T) {
			form := good()
			tc.edit(form)
			tenant := s.Opts.TenantID
			if tc.tenant != "" {
				tenant = tc.tenant
			}
			status, body := postForm(t, s, tenant, form)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %v", status, tc.status, body)
			}
			if tc.status == 200 {
				if body["token_type"] != "Bearer" || body["expires_in"] != json.Number("600") || body["ext_expires_in"] != json.Number("600") || body["access_token"] == "" {
					t.Errorf("token answer %v", body)
				}
				return
			}
			desc, _ := body["error_description"].(string)
			codes, _ := body["error_codes"].([]any)
			if body["error"] != tc.errString || len(codes) != 1 || codes[0] != json.Number(strconv.Itoa(tc.code)) ||
				!strings.HasPrefix(desc, "AADSTS"+strconv.Itoa(tc.code)+": ") || body["trace_id"] == nil || body["correlation_id"] == nil {
				t.Errorf("error body %v, want error %s AADSTS%d", body, tc.errString, tc.code)
			}
		})
	}
	// Basic authentication of the client is accepted too.
	req, _ := http.NewRequest(http.MethodPost, s.TokenEndpoint(), strings.NewReader(url.Values{
		"grant_type": {"client_credentials"}, "scope": {s.Opts.Scope},
	}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(s.Opts.ClientID, s.Opts.ClientSecret)
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("basic auth: %d", resp.StatusCode)
	}
}

func TestDiscoveryDocument(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{})
	resp, err := s.Client().Get(s.AuthorityHost() + s.Opts.TenantID + "/v2.0/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	base := s.URL + "/" + s.Opts.TenantID
	for k, want := range map[string]string{
		"issuer":                 base + "/v2.0",
		"token_endpoint":         s.TokenEndpoint(),
		"authorization_endpoint": base + "/oauth2/v2.0/authorize",
	} {
		if doc[k] != want {
			t.Errorf("%s = %v, want %s", k, doc[k], want)
		}
	}
	resp, err = s.Client().Get(s.AuthorityHost() + "nope/v2.0/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&e)
	if resp.StatusCode != 400 || e["error"] != "invalid_tenant" || !strings.HasPrefix(e["error_description"].(string), "AADSTS90002: Tenant 'nope' not found.") {
		t.Errorf("unknown tenant discovery: %d %v", resp.StatusCode, e)
	}
}

func TestScriptToken(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{})
	s.ScriptToken(
		Fault{Status: 401, Code: "AADSTS7000215"},
		Fault{Status: 503, RetryAfter: 1500 * time.Millisecond},
		Fault{Code: "invalid_grant", Status: 400, Message: "custom text"},
		Fault{Reset: true},
		Fault{},
	)
	newCred := func() *azidentity.ClientSecretCredential {
		cred, err := azidentity.NewClientSecretCredential(s.Opts.TenantID, s.Opts.ClientID, s.Opts.ClientSecret,
			&azidentity.ClientSecretCredentialOptions{ClientOptions: clientOptions(s), DisableInstanceDiscovery: true})
		if err != nil {
			t.Fatal(err)
		}
		return cred
	}
	_, err := getToken(t, s, newCred())
	if err == nil || !strings.Contains(err.Error(), "AADSTS7000215") {
		t.Fatalf("first GetToken: %v, want AADSTS7000215", err)
	}
	// Raw POSTs see the next faults as they are.
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {s.Opts.ClientID},
		"client_secret": {s.Opts.ClientSecret}, "scope": {s.Opts.Scope}}
	resp, err := s.Client().PostForm(s.TokenEndpoint(), form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "2" {
		t.Errorf("second: %d Retry-After %q, want 503 and 2", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	status, body := postForm(t, s, s.Opts.TenantID, form)
	if status != 400 || body["error"] != "invalid_grant" || !strings.Contains(body["error_description"].(string), "custom text") {
		t.Errorf("third: %d %v", status, body)
	}
	if _, err := s.Client().PostForm(s.TokenEndpoint(), form); err == nil {
		t.Error("fourth: reset connection gave no error")
	}
	if _, err := getToken(t, s, newCred()); err != nil {
		t.Errorf("fifth (pass through): %v", err)
	}
	if got := s.TokenRequests(); got != 5 {
		t.Errorf("TokenRequests = %d, want 5", got)
	}
	if _, n := s.PendingFaults(); n != 0 {
		t.Errorf("pending token faults = %d", n)
	}
}

func TestTokenRevocationAndExpiry(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{})
	target := s.EndpointURL(StreamRaw)
	body := []byte(`[{"a":1}]`)

	old := rawToken(t, s)
	s.ExpireTokens()
	if r := ingest(t, s, target, old, body, nil); r.status != 401 || r.code != "TokenExpired" || r.header.Get("WWW-Authenticate") == "" {
		t.Errorf("expired token: %d %s", r.status, r.code)
	}
	fresh := rawToken(t, s)
	if r := ingest(t, s, target, fresh, body, nil); r.status != 204 {
		t.Errorf("fresh token after ExpireTokens: %d %v", r.status, r.body)
	}
	s.RevokeTokens()
	if r := ingest(t, s, target, fresh, body, nil); r.status != 401 || r.code != "InvalidToken" {
		t.Errorf("revoked token: %d %s", r.status, r.code)
	}
	if r := ingest(t, s, target, rawToken(t, s), body, nil); r.status != 204 {
		t.Errorf("token issued after RevokeTokens: %d", r.status)
	}
}
