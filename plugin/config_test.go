package plugin

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keeper-azmon/keeper-azmon/azmon"
	"github.com/keeper-azmon/keeper-azmon/convert"
)

const testEndpoint = "https://keeperlogsendpoint-mcag.eastus-1.ingest.monitor.azure.com/dataCollectionRules/dcr-0123456789abcdef0123456789abcdef/streams/Custom-KeeperLogs_CL?api-version=2023-01-01"

func baseProps() MapProperties {
	return MapProperties{
		"tenant_id":     "11111111-1111-1111-1111-111111111111",
		"client_id":     "22222222-2222-2222-2222-222222222222",
		"client_secret": "s3cr3t-value",
		"endpoint_url":  testEndpoint,
	}
}

func with(p MapProperties, kv ...string) MapProperties {
	out := MapProperties{}
	for k, v := range p {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == "<unset>" {
			delete(out, kv[i])
			continue
		}
		out[kv[i]] = kv[i+1]
	}
	return out
}

func TestParseConfigDefaults(t *testing.T) {
	cfg, err := ParseConfigEnv(baseProps(), os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	ep := cfg.Client.Endpoint
	if ep.Base != "https://keeperlogsendpoint-mcag.eastus-1.ingest.monitor.azure.com" || ep.DCRID != "dcr-0123456789abcdef0123456789abcdef" || ep.Stream != "Custom-KeeperLogs_CL" {
		t.Errorf("endpoint parsed as %+v", ep)
	}
	if ep.URL() != testEndpoint {
		t.Errorf("URL() = %s, want the configured one back", ep.URL())
	}
	c := cfg.Client
	if c.Credentials.Auth != azmon.AuthClientSecret || c.Credentials.Cloud.Name != "public" || !c.Gzip ||
		c.MaxRequestBytes != 1_000_000 || c.MaxConcurrency != 4 || cfg.Timeout != 30*time.Second {
		t.Errorf("defaults wrong: %+v timeout %v", c, cfg.Timeout)
	}
	if cfg.Convert.Schema != convert.Keeper || cfg.Convert.TimeKey != "timestamp" {
		t.Errorf("convert defaults wrong: %+v", cfg.Convert)
	}
}

func TestParseConfigVariants(t *testing.T) {
	parts := with(baseProps(), "endpoint_url", "<unset>", "dce_url", "https://x.eastus-1.ingest.monitor.azure.com", "dcr_id", "dcr-abc")
	tests := []struct {
		name  string
		props MapProperties
		check func(Config) string
	}{
		{"parts with stream_name", with(parts, "stream_name", "Custom-KeeperSecurityEventNewLogs"), func(c Config) string {
			if c.Client.Endpoint.Stream != "Custom-KeeperSecurityEventNewLogs" || c.Client.Endpoint.DCRID != "dcr-abc" {
				return "stream or dcr"
			}
			return ""
		}},
		{"parts with table_name", with(parts, "table_name", "KeeperLogs_CL"), func(c Config) string {
			if c.Client.Endpoint.Stream != "Custom-KeeperLogs_CL" {
				return "table_name should become Custom-KeeperLogs_CL"
			}
			return ""
		}},
		{"raw schema has no time key", with(baseProps(), "schema", "raw"), func(c Config) string {
			if c.Convert.Schema != convert.Raw || c.Convert.TimeKey != "" {
				return "raw defaults"
			}
			return ""
		}},
		{"usgov", with(baseProps(), "cloud", "usgov", "endpoint_url", "https://x.usgovvirginia-1.ingest.monitor.azure.us/dataCollectionRules/dcr-1/streams/Custom-A_CL"), func(c Config) string {
			if c.Client.Credentials.Cloud.Scope != "https://monitor.azure.us/.default" || c.Client.Credentials.Cloud.AuthorityHost != "https://login.microsoftonline.us/" {
				return "usgov preset"
			}
			return ""
		}},
		{"overrides", with(baseProps(), "compress", "none", "max_request_bytes", "1048576", "max_concurrency", "8", "timeout", "5s", "time_key", "ts", "authority_host", "https://127.0.0.1:8443"), func(c Config) string {
			if c.Client.Gzip || c.Client.MaxRequestBytes != 1048576 || c.Client.MaxConcurrency != 8 || c.Timeout != 5*time.Second || c.Convert.TimeKey != "ts" || c.Client.Credentials.AuthorityHost != "https://127.0.0.1:8443/" {
				return "overrides not applied"
			}
			return ""
		}},
		{"enterprise_id", with(baseProps(), "enterprise_id", "6_557"), func(c Config) string {
			if c.Convert.EnterpriseID != 6557 {
				return "enterprise_id not read"
			}
			return ""
		}},
		{"no enterprise_id (an unset ${VAR})", with(baseProps(), "enterprise_id", ""), func(c Config) string {
			if c.Convert.EnterpriseID != 0 {
				return "enterprise_id invented"
			}
			return ""
		}},
		{"asim: three streams of one DCR", with(parts, "schema", "ASIM"), func(c Config) string {
			want := []string{"Custom-KeeperAsimAuthentication", "Custom-KeeperAsimUserManagement", "Custom-KeeperAsimAudit"}
			if c.Convert.Schema != convert.ASIM || !slices.Equal(c.ASIMStreams, want) || c.Client.Endpoint.Stream != want[0] || c.Convert.TimeKey != "timestamp" {
				return fmt.Sprintf("asim defaults: %v %q", c.ASIMStreams, c.Convert.TimeKey)
			}
			return ""
		}},
		{"asim: a stream renamed", with(parts, "schema", "asim", "asim_audit_stream", "Custom-MyAudit"), func(c Config) string {
			if c.ASIMStreams[convert.ASIMAudit] != "Custom-MyAudit" || c.ASIMStreams[convert.ASIMAuthentication] != "Custom-KeeperAsimAuthentication" {
				return fmt.Sprint(c.ASIMStreams)
			}
			return ""
		}},
		{"bare seconds timeout", with(baseProps(), "timeout", "45"), func(c Config) string {
			if c.Timeout != 45*time.Second {
				return "timeout 45 should be 45s"
			}
			return ""
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := ParseConfigEnv(tc.props, os.Getenv)
			if err != nil {
				t.Fatal(err)
			}
			if msg := tc.check(cfg); msg != "" {
				t.Errorf("%s: %+v", msg, cfg)
			}
		})
	}
}

func TestParseConfigErrorsNameTheProperty(t *testing.T) {
	tests := []struct {
		name  string
		props MapProperties
		prop  string
	}{
		{"no endpoint", with(baseProps(), "endpoint_url", "<unset>"), "endpoint_url"},
		{"endpoint not https", with(baseProps(), "endpoint_url", "http://x/dataCollectionRules/dcr-1/streams/Custom-A_CL"), "endpoint_url"},
		{"endpoint wrong path", with(baseProps(), "endpoint_url", "https://x/streams/Custom-A_CL"), "endpoint_url"},
		{"endpoint bad api version", with(baseProps(), "endpoint_url", "https://x/dataCollectionRules/dcr-1/streams/Custom-A_CL?api-version=2021-11-01-preview"), "endpoint_url"},
		{"endpoint and parts", with(baseProps(), "dcr_id", "dcr-1"), "dcr_id"},
		{"no dcr", with(baseProps(), "endpoint_url", "<unset>", "dce_url", "https://x"), "dcr_id"},
		{"dcr not immutable id", with(baseProps(), "endpoint_url", "<unset>", "dce_url", "https://x", "dcr_id", "KeeperDCR", "stream_name", "Custom-A_CL"), "dcr_id"},
		{"no stream", with(baseProps(), "endpoint_url", "<unset>", "dce_url", "https://x", "dcr_id", "dcr-1"), "stream_name"},
		{"stream without Custom-", with(baseProps(), "endpoint_url", "<unset>", "dce_url", "https://x", "dcr_id", "dcr-1", "stream_name", "KeeperLogs_CL"), "stream_name"},
		{"missing tenant", with(baseProps(), "tenant_id", "<unset>"), "tenant_id"},
		{"missing client id", with(baseProps(), "client_id", ""), "client_id"},
		{"missing secret", with(baseProps(), "client_secret", "<unset>", "auth", "client_secret"), "client_secret"},
		{"missing secret, auth not set (an unset ${VAR})", with(baseProps(), "client_secret", ""), "client_secret"},
		{"secret and secret file", with(baseProps(), "client_secret_file", "/run/secret"), "client_secret_file"},
		{"certificate without path", with(baseProps(), "client_secret", "<unset>", "auth", "client_certificate"), "client_certificate_path"},
		{"workload identity without token file", with(baseProps(), "client_secret", "<unset>", "auth", "workload_identity"), "federated_token_file"},
		{"two managed identities", with(baseProps(), "auth", "managed_identity", "managed_identity_client_id", "a", "managed_identity_resource_id", "b"), "managed_identity_resource_id"},
		{"bad send_certificate_chain", with(baseProps(), "send_certificate_chain", "maybe"), "send_certificate_chain"},
		{"bad proxy", with(baseProps(), "proxy", "proxy.corp:3128"), "proxy"},
		{"unknown auth", with(baseProps(), "auth", "password"), "auth"},
		{"unknown cloud", with(baseProps(), "cloud", "mars"), "cloud"},
		{"cloud mismatch", with(baseProps(), "cloud", "usgov"), "cloud"},
		{"authority not https", with(baseProps(), "authority_host", "http://login"), "authority_host"},
		{"unknown schema", with(baseProps(), "schema", "ecs"), "schema"},
		{"bad compress", with(baseProps(), "compress", "zstd"), "compress"},
		{"asim with endpoint_url", with(baseProps(), "schema", "asim"), "endpoint_url"},
		{"asim with stream_name", with(baseProps(), "schema", "asim", "endpoint_url", "<unset>", "dce_url", "https://x.eastus-1.ingest.monitor.azure.com", "dcr_id", "dcr-abc", "stream_name", "Custom-A"), "stream_name"},
		{"asim without dce_url", with(baseProps(), "schema", "asim", "endpoint_url", "<unset>", "dcr_id", "dcr-abc"), "dce_url"},
		{"asim stream not Custom-", with(baseProps(), "schema", "asim", "endpoint_url", "<unset>", "dce_url", "https://x.eastus-1.ingest.monitor.azure.com", "dcr_id", "dcr-abc", "asim_audit_stream", "Audit"), "asim_audit_stream"},
		{"enterprise_id not a number", with(baseProps(), "enterprise_id", "Example Corp"), "enterprise_id"},
		{"enterprise_id zero", with(baseProps(), "enterprise_id", "0"), "enterprise_id"},
		{"enterprise_id beyond the int column", with(baseProps(), "enterprise_id", "2147483648"), "enterprise_id"},
		{"request too big", with(baseProps(), "max_request_bytes", "2000000"), "max_request_bytes"},
		{"request not a number", with(baseProps(), "max_request_bytes", "1MB"), "max_request_bytes"},
		{"concurrency zero", with(baseProps(), "max_concurrency", "0"), "max_concurrency"},
		{"bad timeout", with(baseProps(), "timeout", "soon"), "timeout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfigEnv(tc.props, os.Getenv)
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want a ConfigError", err)
			}
			if ce.Property != tc.prop {
				t.Errorf("property = %s, want %s (%v)", ce.Property, tc.prop, err)
			}
			if strings.Contains(err.Error(), "s3cr3t-value") {
				t.Errorf("error shows the secret: %v", err)
			}
		})
	}
}

func TestMapPropertiesCaseInsensitive(t *testing.T) {
	p := MapProperties{"Tenant_ID": "t"}
	if p.Get("tenant_id") != "t" || p.Get("missing") != "" {
		t.Error("lookup should ignore case and answer \"\" for a missing key")
	}
}

func TestAuthInference(t *testing.T) {
	noSecret := with(baseProps(), "client_secret", "<unset>")
	aks := map[string]string{
		"AZURE_FEDERATED_TOKEN_FILE": "/var/run/secrets/azure/tokens/azure-identity-token",
		"AZURE_CLIENT_ID":            "33333333-3333-3333-3333-333333333333",
		"AZURE_TENANT_ID":            "44444444-4444-4444-4444-444444444444",
		"AZURE_AUTHORITY_HOST":       "https://login.microsoftonline.com/",
	}
	tests := []struct {
		name  string
		props MapProperties
		env   map[string]string
		want  azmon.AuthMode
		check func(azmon.Credentials) bool
	}{
		{"secret", baseProps(), nil, azmon.AuthClientSecret, nil},
		{"secret file", with(noSecret, "client_secret_file", "/etc/keeper/secret"), nil, azmon.AuthClientSecret, nil},
		{"certificate", with(noSecret, "client_certificate_path", "/etc/keeper/cert.pem"), nil, azmon.AuthClientCertificate, nil},
		{"workload identity from the environment", with(noSecret, "tenant_id", "<unset>", "client_id", "<unset>"), aks, azmon.AuthWorkloadIdentity, func(c azmon.Credentials) bool {
			return c.ClientID == aks["AZURE_CLIENT_ID"] && c.TenantID == aks["AZURE_TENANT_ID"] && c.FederatedTokenFile == aks["AZURE_FEDERATED_TOKEN_FILE"] && c.AuthorityHost == aks["AZURE_AUTHORITY_HOST"]
		}},
		{"workload identity with a property override", with(noSecret, "client_id", "override"), aks, azmon.AuthWorkloadIdentity, func(c azmon.Credentials) bool {
			return c.ClientID == "override" && c.TenantID == "11111111-1111-1111-1111-111111111111"
		}},
		{"user-assigned managed identity", with(noSecret, "tenant_id", "<unset>", "client_id", "<unset>", "managed_identity_client_id", "m"), nil, azmon.AuthManagedIdentity, nil},
		{"managed identity when nothing identifies an app", with(noSecret, "tenant_id", "<unset>", "client_id", "<unset>"), nil, azmon.AuthManagedIdentity, nil},
		{"explicit auth wins", with(baseProps(), "auth", "default"), aks, azmon.AuthDefault, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := ParseConfigEnv(tc.props, func(k string) string { return tc.env[k] })
			if err != nil {
				t.Fatal(err)
			}
			c := cfg.Client.Credentials
			if c.Auth != tc.want {
				t.Errorf("auth = %s, want %s", c.Auth, tc.want)
			}
			if tc.check != nil && !tc.check(c) {
				t.Errorf("credentials not filled as expected: %+v", c)
			}
		})
	}
}

// TestStartErrorsNameTheProperty: errors found when the client is built
// (files that cannot be read) name their property too.
func TestStartErrorsNameTheProperty(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	noSecret := with(baseProps(), "client_secret", "<unset>")
	tests := []struct {
		name  string
		props MapProperties
		prop  string
	}{
		{"unreadable ca_file", with(baseProps(), "ca_file", missing), "ca_file"},
		{"ca_file without a certificate", with(baseProps(), "ca_file", empty), "ca_file"},
		{"unreadable client_secret_file", with(noSecret, "client_secret_file", missing), "client_secret_file"},
		{"empty client_secret_file", with(noSecret, "client_secret_file", empty), "client_secret_file"},
		{"unreadable client_certificate_path", with(noSecret, "client_certificate_path", missing), "client_certificate_path"},
		{"client_certificate_path without a certificate", with(noSecret, "client_certificate_path", empty), "client_certificate_path"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.props, Options{})
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want a ConfigError", err)
			}
			if ce.Property != tc.prop {
				t.Errorf("property = %s, want %s (%v)", ce.Property, tc.prop, err)
			}
		})
	}
}
