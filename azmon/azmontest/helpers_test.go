package azmontest

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// newTestServer starts an emulator closed at the end of the test.
func newTestServer(t *testing.T, opts Options) *Server {
	t.Helper()
	s := NewServer(opts)
	t.Cleanup(s.Close)
	return s
}

// clientOptions is how azidentity must be configured against the emulator. Retries are off so
// that injected token faults surface at once.
func clientOptions(s *Server) azcore.ClientOptions {
	o := s.ClientOptions()
	o.Retry = policy.RetryOptions{MaxRetries: -1}
	return o
}

// tokenOptions asks for the emulator's scope.
func tokenOptions(s *Server) policy.TokenRequestOptions {
	return policy.TokenRequestOptions{Scopes: []string{s.Opts.Scope}}
}

// getToken gets a token from any azidentity credential.
func getToken(t *testing.T, s *Server, cred azcore.TokenCredential) (string, error) {
	t.Helper()
	tok, err := cred.GetToken(context.Background(), tokenOptions(s))
	return tok.Token, err
}

// rawToken gets a token with a plain client-secret form POST.
func rawToken(t *testing.T, s *Server) string {
	t.Helper()
	status, body := postForm(t, s, s.Opts.TenantID, url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {s.Opts.ClientID},
		"client_secret": {s.Opts.ClientSecret},
		"scope":         {s.Opts.Scope},
	})
	if status != http.StatusOK {
		t.Fatalf("token request: %d %v", status, body)
	}
	return body["access_token"].(string)
}

// postForm POSTs a form to a tenant's token endpoint and decodes the JSON answer.
func postForm(t *testing.T, s *Server, tenant string, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := s.Client().PostForm(s.URL+"/"+tenant+"/oauth2/v2.0/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	dec := json.NewDecoder(resp.Body)
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("token answer %d is not JSON: %v", resp.StatusCode, err)
	}
	return resp.StatusCode, m
}

// result is an ingestion answer.
type result struct {
	status int
	code   string // x-ms-error-code
	body   map[string]any
	header http.Header
	err    error
}

// ingest posts a body to a URL with a bearer token; hdr adds or (with "") removes headers.
func ingest(t *testing.T, s *Server, target, token string, body []byte, hdr map[string]string) result {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		return result{err: err}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := result{status: resp.StatusCode, code: resp.Header.Get("x-ms-error-code"), header: resp.Header}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			t.Fatalf("answer %d body is not JSON: %q", resp.StatusCode, raw)
		}
	}
	return r
}

// errMessage returns error.message of an ingestion error body.
func (r result) errMessage() string {
	e, _ := r.body["error"].(map[string]any)
	m, _ := e["message"].(string)
	return m
}

func gz(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// keeperRecord is the seed's first sample record in the keeper shape.
func keeperRecord() map[string]any {
	return map[string]any{
		"TimeGenerated":  "2025-01-12T00:03:44.743Z",
		"audit_event":    "role_created",
		"remote_address": "11.22.33.44",
		"category":       "policy",
		"client_version": "EMConsole.17.0.0",
		"username":       "admin@example.com",
		"enterprise_id":  6557,
		"timestamp":      "2025-01-12T00:03:44.743Z",
		"data":           map[string]any{"role_id": "28162100560074"},
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
