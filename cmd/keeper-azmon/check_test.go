package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/keeper-azmon/keeper-azmon/azmon"
	"github.com/keeper-azmon/keeper-azmon/azmon/azmontest"
	"github.com/keeper-azmon/keeper-azmon/internal/sourcetest"
	"github.com/keeper-azmon/keeper-azmon/internal/testkit"
)

const (
	streamKeeper      = azmontest.StreamKeeperLogs
	streamMarketplace = azmontest.StreamKeeperMarketplace
)

// TestCheck runs check against the emulator for success and for each
// failure the seed's troubleshooting covers, and asserts the exit code and
// the key words of the explanation. No case prints the client secret.
func TestCheck(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, s *azmontest.Server) map[string]string // the output's properties
		exit  int
		words []string // in the output, case-insensitive
		rows  int      // sample events stored in the emulator
	}{
		{
			name:  "success",
			setup: func(t *testing.T, s *azmontest.Server) map[string]string { return emulatorProps(s, streamKeeper) },
			exit:  exitOK,
			words: []string{"[ ok ] ingestion", "sample event accepted", "KeeperLogs_CL", "rows appear in a few minutes", `where audit_event == "keeper_azmon_check"`, "tostring(data.check_id)", "auth client_secret (inferred)", "authority " + "https://127.0.0.1"},
			rows:  1,
		},
		{
			name: "success on the Marketplace stream, columns renamed",
			setup: func(t *testing.T, s *azmontest.Server) map[string]string {
				return emulatorProps(s, streamMarketplace)
			},
			exit:  exitOK,
			words: []string{"KeeperSecurityEventNewLogs_CL", `where AuditEvent == "keeper_azmon_check"`, "Data.check_id"},
			rows:  1,
		},
		{
			name: "config invalid: no endpoint",
			setup: func(t *testing.T, s *azmontest.Server) map[string]string {
				return with(emulatorProps(s, streamKeeper), "endpoint_url", "")
			},
			exit:  exitConfig,
			words: []string{"[FAIL] config", "property endpoint_url", "[ -- ] token"},
		},
		{
			name: "config invalid: bad value",
			setup: func(t *testing.T, s *azmontest.Server) map[string]string {
				return with(emulatorProps(s, streamKeeper), "compress", "zstd")
			},
			exit:  exitConfig,
			words: []string{"property compress"},
		},
		{
			name: "config invalid: unreadable ca_file",
			setup: func(t *testing.T, s *azmontest.Server) map[string]string {
				return with(emulatorProps(s, streamKeeper), "ca_file", "/nonexistent/ca.pem")
			},
			exit:  exitConfig,
			words: []string{"ca_file"},
		},
		{
			name: "wrong secret (AADSTS7000215)",
			setup: func(t *testing.T, s *azmontest.Server) map[string]string {
				return with(emulatorProps(s, streamKeeper), "client_secret", "not-the-value")
			},
			exit:  exitToken,
			words: []string{"[FAIL] token", "AADSTS7000215", "Value", "Secret ID", "Certificates & secrets"},
		},
		{
			name: "secret ID instead of its Value (GUID), scripted AADSTS7000215",
			setup: func(t *testing.T, s *azmontest.Server) map[string]string {
				s.ScriptToken(azmontest.Fault{Status: 401, Code: "AADSTS7000215"})
				return with(emulatorProps(s, streamKeeper), "client_secret", "0c4a8e5f-1b2c-4d3e-8f9a-0b1c2d3e4f5a")
			},
			exit:  exitToken,
			words: []string{"AADSTS7000215", "shape of a GUID", "not its Secret ID"},
		},
		{
			name: "client_id not in this tenant (AADSTS700016)",
			setup: func(t *testing.T, s *azmontest.Server) map[string]string {
				return with(emulatorProps(s, streamKeeper), "client_id", "99999999-7777-4888-9999-aaaaaaaaaaaa")
			},
			exit:  exitToken,
			words: []string{"AADSTS700016", "client_id 99999999-7777-4888-9999-aaaaaaaaaaaa", "Application (client) ID", "tenant_id"},
		},
		{
			name: "scripted AADSTS700016",
			setup: func(t *testing.T, s *azmontest.Server) map[string]string {
				s.ScriptToken(azmontest.Fault{Code: "AADSTS700016"})
				return emulatorProps(s, streamKeeper)
			},
			exit:  exitToken,
			words: []string{"AADSTS700016", "Application (client) ID"},
		},
		{
			name: "tenant_id wrong (AADSTS90002)",
			setup: func(t *testing.T, s *azmontest.Server) map[string]string {
				return with(emulatorProps(s, streamKeeper), "tenant_id", "99999999-2222-4333-8444-555555555555")
			},
			exit:  exitToken,
			words: []string{"AADSTS90002", "tenant_id 99999999-2222-4333-8444-555555555555", "Directory (tenant) ID", "cloud"},
		},
		{
			name: "401 at ingestion (scripted, also after the token refresh)",
			setup: func(t *testing.T, s *azmontest.Server) map[string]string {
				s.Script(azmontest.Fault{Status: 401}, azmontest.Fault{Status: 401})
				return emulatorProps(s, streamKeeper)
			},
			exit:  exitRefused,
			words: []string{"[ ok ] token", "[FAIL] ingestion", "401", "refused the token", "wrong cloud or scope", "another tenant"},
		},
		{
			name: "401 at ingestion: a token from another tenant's authority",
			setup: func(t *testing.T, s *azmontest.Server) map[string]string {
				// Tokens from the other emulator (same tenant and client ids)
				// are unknown to s, like a token from another tenant.
				other := newEmulator(t)
				ca := testkit.WriteFile(t, t.TempDir(), "both.pem", string(s.CAPEM())+string(other.CAPEM()))
				p := emulatorProps(other, streamKeeper)
				return with(p, "endpoint_url", s.EndpointURL(streamKeeper), "ca_file", ca)
			},
			exit:  exitRefused,
			words: []string{"401", "InvalidToken", "another tenant", "cloud"},
		},
		{
			name: "403: role not assigned",
			setup: func(t *testing.T, s *azmontest.Server) map[string]string {
				s.Script(azmontest.Fault{Status: 403})
				return emulatorProps(s, streamKeeper)
			},
			exit:  exitRefused,
			words: []string{"403", "Monitoring Metrics Publisher", "30 minutes", "Azure setup step 7", "client_id " + azmontest.DefaultClientID},
		},
		{
			name: "404: wrong DCR immutable id",
			setup: func(t *testing.T, s *azmontest.Server) map[string]string {
				ep := strings.Replace(s.EndpointURL(streamKeeper), s.Opts.DCRID, "dcr-ffffffffffffffffffffffffffffffff", 1)
				return with(emulatorProps(s, streamKeeper), "endpoint_url", ep)
			},
			exit:  exitRefused,
			words: []string{"404", "dcr-ffffffffffffffffffffffffffffffff", "Immutable Id", "Data Collection Endpoint"},
		},
		{
			name: "400 InvalidStream: the stream is not declared",
			setup: func(t *testing.T, s *azmontest.Server) map[string]string {
				return with(emulatorProps(s, streamKeeper), "endpoint_url", s.EndpointURL("Custom-KeeperLog_CL"))
			},
			exit:  exitRefused,
			words: []string{"400 InvalidStream", "does not declare the stream Custom-KeeperLog_CL", "Custom-<table>", "streamDeclarations"},
		},
		{
			name: "413: request too large",
			setup: func(t *testing.T, s *azmontest.Server) map[string]string {
				s.Script(azmontest.Fault{Status: 413})
				return emulatorProps(s, streamKeeper)
			},
			exit:  exitRefused,
			words: []string{"413", "too large", "proxy"},
		},
		{
			name: "400: the sample record rejected as invalid",
			setup: func(t *testing.T, s *azmontest.Server) map[string]string {
				s.RejectRecords(func(map[string]any) bool { return true })
				return emulatorProps(s, streamKeeper)
			},
			exit:  exitRefused,
			words: []string{"invalid data", "InvalidContent", "enterprise_id int"},
		},
		{
			name: "network: connection refused",
			setup: func(t *testing.T, s *azmontest.Server) map[string]string {
				ep := strings.Replace(s.EndpointURL(streamKeeper), s.URL, "https://127.0.0.1:1", 1)
				return with(emulatorProps(s, streamKeeper), "endpoint_url", ep, "timeout", "2s")
			},
			exit:  exitNetwork,
			words: []string{"cannot connect", "127.0.0.1:1", "firewall", "proxy"},
		},
		{
			name: "network: TLS certificate not trusted (no ca_file)",
			setup: func(t *testing.T, s *azmontest.Server) map[string]string {
				return with(emulatorProps(s, streamKeeper), "ca_file", "", "timeout", "3s")
			},
			exit:  exitNetwork,
			words: []string{"[FAIL] token", "not trusted", "ca_file", "TLS-inspecting proxy"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newEmulator(t)
			props := tc.setup(t, s)
			conf := classicConf(t, props)
			r := runApp(t, nil, "", "check", "-c", conf)
			if r.code != tc.exit {
				t.Errorf("exit %d, want %d\n%s%s", r.code, tc.exit, r.stdout, r.stderr)
			}
			low := strings.ToLower(r.stdout)
			for _, w := range tc.words {
				if !strings.Contains(low, strings.ToLower(w)) {
					t.Errorf("output lacks %q:\n%s", w, r.stdout)
				}
			}
			// A refused ingestion quotes the ids of the service's last
			// answer, for Azure support.
			if reqs := s.Requests(); tc.exit == exitRefused && len(reqs) > 0 {
				last := reqs[len(reqs)-1]
				want := "For Azure support: x-ms-request-id " + last.RequestID + ", x-ms-client-request-id " + last.ClientRequestID + "."
				if last.RequestID == "" || !strings.Contains(r.stdout, want) {
					t.Errorf("output lacks %q:\n%s", want, r.stdout)
				}
			}
			if tc.exit == exitNetwork && strings.Contains(tc.name, "connection refused") && !strings.Contains(r.stdout, "For Azure support: x-ms-client-request-id ") {
				t.Errorf("a request that got no answer should still quote its client id:\n%s", r.stdout)
			}
			noSecret(t, r, s.Opts.ClientSecret)
			noSecret(t, r, props["client_secret"])
			n := 0
			for _, row := range s.Rows(streamKeeper) {
				if row["audit_event"] == checkEvent {
					n++
				}
			}
			for _, row := range s.Rows(streamMarketplace) {
				if row["audit_event"] == checkEvent {
					n++
				}
			}
			if n != tc.rows {
				t.Errorf("%d sample events stored, want %d", n, tc.rows)
			}
		})
	}
}

// TestCheckYAMLAndEnv: a YAML configuration whose secret comes from the
// environment works; the same with the variable unset explains why.
func TestCheckYAMLAndEnv(t *testing.T) {
	s := newEmulator(t)
	yaml := `pipeline:
  outputs:
    - name: keeper_azmon
      match: 'keeper.*'
      tenant_id: ` + s.Opts.TenantID + `
      client_id: ` + s.Opts.ClientID + `
      client_secret: ${KEEPER_AZMON_CLIENT_SECRET}
      auth: client_secret
      authority_host: ` + s.AuthorityHost() + `
      endpoint_url: ` + s.EndpointURL(streamKeeper) + `
      ca_file: ` + s.CAFile + `
`
	conf := testkit.WriteFile(t, t.TempDir(), "fluent-bit.yaml", yaml)
	env := map[string]string{"KEEPER_AZMON_CLIENT_SECRET": s.Opts.ClientSecret}

	r := runApp(t, env, "", "check", "-c", conf, "-q")
	if r.code != exitOK || strings.Count(strings.TrimSpace(r.stdout), "\n") != 0 || !strings.HasPrefix(r.stdout, "ok: sample event accepted by Custom-KeeperLogs_CL") {
		t.Errorf("-q: exit %d, output %q %s", r.code, r.stdout, r.stderr)
	}
	noSecret(t, r, s.Opts.ClientSecret)

	r = runApp(t, nil, "", "check", "-c", conf)
	if r.code != exitConfig || !strings.Contains(r.stdout, "client_secret") || !strings.Contains(r.stdout, "${KEEPER_AZMON_CLIENT_SECRET}, which is not set") {
		t.Errorf("unset variable: exit %d\n%s", r.code, r.stdout)
	}

	r = runApp(t, env, "", "check", "-json", "-c", conf)
	var rep checkReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("-json output: %v\n%s", err, r.stdout)
	}
	if !rep.OK || rep.Exit != 0 || rep.Table != "KeeperLogs_CL" || rep.CheckID == "" || len(rep.Steps) != 3 || rep.Auth != "client_secret" {
		t.Errorf("-json report %+v", rep)
	}
	noSecret(t, r, s.Opts.ClientSecret)
}

// TestCheckCommandLine covers the command line errors of check.
func TestCheckCommandLine(t *testing.T) {
	s := newEmulator(t)
	two := testkit.WriteFile(t, t.TempDir(), "two.conf", "[OUTPUT]\n    Name keeper_azmon\n[OUTPUT]\n    Name keeper_azmon\n")
	tests := []struct {
		args []string
		exit int
		want string
	}{
		{[]string{"check"}, exitConfig, "give -c FILE"},
		{[]string{"check", "-c", filepath.Join(t.TempDir(), "none.conf")}, exitConfig, "no such file"},
		{[]string{"check", "-c", two}, exitConfig, "pick one with -output"},
		{[]string{"check", "-c", classicConf(t, emulatorProps(s, streamKeeper)), "extra"}, exitConfig, "unexpected argument"},
		{[]string{"check", "-nope"}, exitConfig, "flag provided but not defined"},
		{[]string{"frobnicate"}, exitConfig, "unknown command"},
		{[]string{"version"}, exitOK, "keeper-azmon 0.1.0"},
		{[]string{"help"}, exitOK, "Exit codes"},
	}
	for _, tc := range tests {
		r := runApp(t, nil, "", tc.args...)
		if r.code != tc.exit || !strings.Contains(r.stdout+r.stderr, tc.want) {
			t.Errorf("%v: exit %d, want %d with %q\n%s%s", tc.args, r.code, tc.exit, tc.want, r.stdout, r.stderr)
		}
	}
}

// TestDiagnose covers the explanations no emulator case reaches cheaply:
// throttling, service errors, timeouts, DNS and the drop reasons.
func TestDiagnose(t *testing.T) {
	tg := target{Auth: azmon.AuthClientSecret, TenantID: "t", ClientID: "c", Authority: "https://login.microsoftonline.com/",
		Scope: "https://monitor.azure.com/.default", Cloud: "public", Base: "https://dce.eastus-1.ingest.monitor.azure.com",
		DCRID: "dcr-1", Stream: "Custom-KeeperLogs_CL", Timeout: 30 * time.Second, SampleLen: 300}
	// The errors as the client returns them: typed, as the network and
	// azidentity give them.
	lookup := func(host string) error {
		return &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}}
	}
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	dnsErr := &azmon.TransportError{Endpoint: "https://dce.eastus-1.ingest.monitor.azure.com", ClientRequestID: "c1", Err: lookup("dce.eastus-1.ingest.monitor.azure.com")}
	noAnswer := func(text string, network error) *azmon.TokenError {
		return &azmon.TokenError{Scope: "s", Err: errors.New(text), Network: network}
	}
	tests := []struct {
		name  string
		err   error
		drops []azmon.Drop
		exit  int
		stage string
		words []string // in the explanation; "!x": x is not in the problem nor the advice
	}{
		{"429", &azmon.StatusError{Status: 429, Code: "TooManyRequests", RetryAfter: 7 * time.Second}, nil, exitRefused, "ingestion", []string{"throttling", "12,000", "7s"}},
		{"503", &azmon.StatusError{Status: 503}, nil, exitRefused, "ingestion", []string{"transient", "Azure status"}},
		{"401 expired", &azmon.StatusError{Status: 401, Code: "TokenExpired"}, nil, exitRefused, "ingestion", []string{"clock"}},
		{"400 api-version", &azmon.StatusError{Status: 400, Code: "InvalidApiVersionParameter"}, nil, exitRefused, "ingestion", []string{"api-version=2023-01-01"}},
		{"timeout", &azmon.TransportError{Endpoint: "https://dce", Err: context.DeadlineExceeded}, nil, exitNetwork, "ingestion", []string{"no answer", "30s", "proxy"}},
		{"dns", dnsErr, nil, exitNetwork, "ingestion", []string{"cannot resolve", "DNS", "Private Link"}},
		{"token dns", noAnswer(`Get "https://login.microsoftonline.com/t/v2.0/.well-known/openid-configuration": dial tcp: lookup login.microsoftonline.com: no such host`, lookup("login.microsoftonline.com")), nil, exitNetwork, "token", []string{"cannot resolve login.microsoftonline.com", "authority_host", "cloud (now public", "DNS", "!Private Link", "!DCE", "!endpoint"}},
		{"token network", noAnswer(`Get "https://login.microsoftonline.com/t/v2.0/.well-known/openid-configuration": dial tcp: connect: connection refused`, refused), nil, exitNetwork, "token", []string{"Entra ID at login.microsoftonline.com", "firewall"}},
		{"token expired secret", &azmon.TokenError{Scope: "s", Err: entraError(7000222, "AADSTS7000222: The provided client secret keys are expired.\r\nTrace ID: x")}, nil, exitToken, "token", []string{"expired", "new client secret"}},
		{"token unknown code", &azmon.TokenError{Scope: "s", Err: entraError(123456, "AADSTS123456: something")}, nil, exitToken, "token", []string{"error?code=123456"}},
		{"drop 413", nil, []azmon.Drop{{Reason: "rejected by the service: status 413 ContentLengthLimitExceeded: too big", Err: &azmon.StatusError{Status: 413, Code: "ContentLengthLimitExceeded", Message: "too big"}}}, exitRefused, "ingestion", []string{"413", "300 bytes", "proxy"}},
		{"drop 400", nil, []azmon.Drop{{Reason: "rejected by the service: status 400 InvalidContent: bad", Err: &azmon.StatusError{Status: 400, Code: "InvalidContent", Message: "bad"}}}, exitRefused, "ingestion", []string{"invalid data"}},
		{"drop too large", nil, []azmon.Drop{{Reason: "record of 2000 bytes is larger than max_request_bytes (1024) on its own", Err: &azmon.TooLargeError{Bytes: 2000, Limit: 1024}}}, exitRefused, "ingestion", []string{"max_request_bytes"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := diagnose(tc.err, tc.drops, tg)
			if d.Exit != tc.exit || d.Stage != tc.stage {
				t.Errorf("exit %d stage %s, want %d %s: %+v", d.Exit, d.Stage, tc.exit, tc.stage, d)
			}
			text := d.Problem + " " + d.Said + " " + strings.Join(d.Advice, " ")
			for _, w := range tc.words {
				if absent, ok := strings.CutPrefix(w, "!"); ok {
					// "!x": the problem and advice must not talk of x.
					if advice := d.Problem + " " + strings.Join(d.Advice, " "); strings.Contains(advice, absent) {
						t.Errorf("explanation talks of %q: %s", absent, advice)
					}
					continue
				}
				if !strings.Contains(text, w) {
					t.Errorf("explanation lacks %q: %s", w, text)
				}
			}
		})
	}
	// Managed identity has no authority host to check when its endpoint
	// does not resolve.
	mi := tg
	mi.Auth, mi.Authority = azmon.AuthManagedIdentity, "the managed identity endpoint (IMDS 169.254.169.254, or IDENTITY_ENDPOINT)"
	d := diagnose(noAnswer(`Get "http://identity.example:8081/msi/token": dial tcp: lookup identity.example: no such host`, lookup("identity.example")), nil, mi)
	if advice := d.Problem + " " + strings.Join(d.Advice, " "); d.Stage != "token" || !strings.Contains(advice, "IDENTITY_ENDPOINT") || strings.Contains(advice, "authority_host") || strings.Contains(advice, "Private Link") {
		t.Errorf("managed identity DNS: stage %s, %s", d.Stage, advice)
	}
	for _, tc := range []struct {
		err  error
		want int
	}{
		{&azmon.TokenError{Scope: "s", Err: entraError(7000215, "AADSTS7000215: Invalid client secret provided.")}, exitToken},
		{noAnswer("connection refused", refused), exitNetwork},
		{fmt.Errorf("2 of 3 requests failed, first: %w", &azmon.StatusError{Status: 403, Code: "OperationFailed"}), exitRefused},
		{&azmon.TransportError{Endpoint: "https://x", Err: refused}, exitNetwork},
	} {
		if got := classifyError(tc.err); got != tc.want {
			t.Errorf("classifyError(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}

// entraError is the error azidentity returns for an Entra ID answer.
func entraError(code int, description string) error {
	body, _ := json.Marshal(map[string]any{"error": "invalid_client", "error_description": description, "error_codes": []int{code}})
	return &azidentity.AuthenticationFailedError{RawResponse: &http.Response{
		StatusCode: 401, Status: "401 Unauthorized", Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(bytes.NewReader(body)),
	}}
}

// TestSampleEvent: the sample is the seed's event shape, marked as check's.
func TestSampleEvent(t *testing.T) {
	line, chunk, err := sampleChunk("abc", time.Date(2025, 1, 23, 1, 31, 11, 123e6, time.UTC))
	if err != nil || len(chunk) == 0 {
		t.Fatal(err)
	}
	for _, want := range []string{`{"audit_event":"keeper_azmon_check","remote_address":`, `"enterprise_id":0,"timestamp":"2025-01-23T01:31:11.123Z","check_id":"abc"`} {
		if !strings.Contains(string(line), want) {
			t.Errorf("sample %s lacks %s", line, want)
		}
	}
	if _, err := os.Hostname(); err == nil && !strings.Contains(string(line), `"host":`) {
		t.Errorf("sample %s has no host", line)
	}
}

// TestCheckRecipes runs check on every recipe of examples/sources and its
// YAML twin, as a
// user who set the recipe's variables would: each is accepted, with or
// without KEEPER_AZMON_ENTERPRISE_ID. The emulator's authority and CA,
// which a real Azure does not need, are added to the copy's output.
func TestCheckRecipes(t *testing.T) {
	s := newEmulator(t)
	for _, src := range sourcetest.All() {
		t.Run(src.Name, func(t *testing.T) {
			dir := t.TempDir()
			testkit.WriteFile(t, dir, "parsers.conf", readRecipeFile(t, "parsers.conf"))
			conf := testkit.WriteFile(t, dir, src.Name+".conf", emulated(t, s, src.Recipe(), 1))
			env := map[string]string{
				"KEEPER_AZMON_TENANT_ID":     s.Opts.TenantID,
				"KEEPER_AZMON_CLIENT_ID":     s.Opts.ClientID,
				"KEEPER_AZMON_CLIENT_SECRET": s.Opts.ClientSecret,
				"KEEPER_AZMON_ENDPOINT_URL":  s.EndpointURL(streamKeeper),
				"KEEPER_HEC_TOKEN":           "token",
			}
			yamlConf := testkit.WriteFile(t, dir, src.Name+".yaml", emulated(t, s, src.RecipeYAML(), 1))
			for _, c := range []string{conf, yamlConf} {
				for _, eid := range []string{"", "6557"} {
					env["KEEPER_AZMON_ENTERPRISE_ID"] = eid
					r := runApp(t, env, "", "check", "-c", c, "-q")
					if r.code != exitOK || !strings.HasPrefix(r.stdout, "ok: sample event accepted") {
						t.Errorf("%s, enterprise_id %q: exit %d\n%s%s", filepath.Base(c), eid, r.code, r.stdout, r.stderr)
					}
					noSecret(t, r, s.Opts.ClientSecret)
				}
			}
		})
	}
}

// emulated returns the configuration at path with the emulator's
// authority and CA, which a real Azure does not need, added to each of its
// keeper_azmon outputs (there must be n).
func emulated(t *testing.T, s *azmontest.Server, path string, outputs int) string {
	t.Helper()
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out, add := "    Name                      keeper_azmon\n", "    authority_host "+s.AuthorityHost()+"\n    ca_file "+s.CAFile+"\n"
	if strings.HasSuffix(path, ".yaml") {
		out, add = "    - name: keeper_azmon\n", "      authority_host: "+s.AuthorityHost()+"\n      ca_file: "+s.CAFile+"\n"
	}
	if n := strings.Count(string(text), out); n != outputs {
		t.Fatalf("%s: %d keeper_azmon outputs, want %d", path, n, outputs)
	}
	return strings.ReplaceAll(string(text), out, out+add)
}

func readRecipeFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(sourcetest.RecipeDir(), name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestCheckKeeperAndASIM runs check on both outputs of
// examples/keeper-and-asim.conf: the Keeper table's sample lands in its
// stream, the ASIM one in the audit stream (keeper_azmon_check is no Keeper
// event), and each report names the table to query.
func TestCheckKeeperAndASIM(t *testing.T) {
	s := newEmulator(t)
	conf := testkit.WriteFile(t, t.TempDir(), "keeper-and-asim.conf",
		emulated(t, s, filepath.Join(sourcetest.RecipeDir(), "..", "keeper-and-asim.conf"), 2))
	env := map[string]string{
		"KEEPER_AZMON_TENANT_ID":     s.Opts.TenantID,
		"KEEPER_AZMON_CLIENT_ID":     s.Opts.ClientID,
		"KEEPER_AZMON_CLIENT_SECRET": s.Opts.ClientSecret,
		"KEEPER_AZMON_ENDPOINT_URL":  s.EndpointURL(streamKeeper),
		"KEEPER_AZMON_DCE_URL":       s.URL,
		"KEEPER_AZMON_ASIM_DCR_ID":   s.Opts.DCRID,
	}
	for _, tc := range []struct{ output, table, stream string }{
		{"keeper_table", "KeeperLogs_CL", streamKeeper},
		{"keeper_asim", "ASimAuditEventLogs", azmontest.StreamKeeperAsimAudit},
	} {
		t.Run(tc.output, func(t *testing.T) {
			s.Reset()
			r := runApp(t, env, "", "check", "-c", conf, "-output", tc.output, "-json")
			var rep checkReport
			if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
				t.Fatalf("%v\n%s%s", err, r.stdout, r.stderr)
			}
			if !rep.OK || rep.Table != tc.table || !strings.HasPrefix(rep.Query, tc.table) {
				t.Errorf("report %+v", rep)
			}
			// The table and the stream it names are the sample's.
			if rep.Stream != tc.stream {
				t.Errorf("report names stream %s for table %s, want %s", rep.Stream, rep.Table, tc.stream)
			}
			if n := s.RowCount(tc.stream); n != 1 {
				t.Errorf("%d rows in %s, want the sample", n, tc.stream)
			}
			noSecret(t, r, s.Opts.ClientSecret)
		})
	}
}
