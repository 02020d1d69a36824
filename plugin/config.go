// Package plugin is the glue between Fluent Bit and the rest: it reads an
// [OUTPUT] section's properties into a Config, and an Instance turns each
// flushed chunk into records (package convert), sends them (package azmon)
// and answers with a Fluent Bit result code. It holds no cgo: the exports
// in package main call it.
package plugin

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/keeper-azmon/keeper-azmon/azmon"
	"github.com/keeper-azmon/keeper-azmon/convert"
)

// Name is the plugin's registered name, as used in `Name keeper_azmon`.
const Name = "keeper_azmon"

// Description is shown by Fluent Bit next to the name.
const Description = "Keeper Security and other logs to Azure Monitor / Microsoft Sentinel (Logs Ingestion API)"

// Properties reads an [OUTPUT] section's properties. Get returns "" for a
// property that is not set. Fluent Bit's lookup is case-insensitive.
type Properties interface {
	Get(key string) string
}

// MapProperties is a Properties backed by a map, for tests and tools.
type MapProperties map[string]string

// Get returns the value of key, matched case-insensitively.
func (m MapProperties) Get(key string) string {
	if v, ok := m[key]; ok {
		return v
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return ""
}

// DefaultTimeout bounds one flush.
const DefaultTimeout = 30 * time.Second

// Config is one [OUTPUT] section, checked.
type Config struct {
	Client  azmon.Config
	Convert convert.Options
	Timeout time.Duration
	// AuthInferred is true when auth was not set and was chosen from what
	// is configured.
	AuthInferred bool
	// ASIMStreams are, for schema asim, the DCR streams of the ASIM
	// schemas, by convert.ASIMSchema; Client.Endpoint names the first.
	ASIMStreams []string
}

// StreamTable names the table that rows sent to stream land in: for schema
// asim the ASIM table of that stream's schema, else the table the stream
// is named after (Custom-T_CL, Custom-T: T_CL), "" if it cannot tell.
func (c Config) StreamTable(stream string) string {
	for i, s := range c.ASIMStreams {
		if s == stream {
			return convert.ASIMSchema(i).Table()
		}
	}
	name, ok := strings.CutPrefix(stream, "Custom-")
	if !ok {
		return ""
	}
	if !strings.HasSuffix(name, "_CL") {
		name += "_CL"
	}
	return name
}

// ConfigError names the property that is wrong.
type ConfigError struct {
	Property string
	Err      error
}

func (e *ConfigError) Error() string { return fmt.Sprintf("property %s: %v", e.Property, e.Err) }

func (e *ConfigError) Unwrap() error { return e.Err }

func propErr(prop string, format string, args ...any) error {
	return &ConfigError{Property: prop, Err: fmt.Errorf(format, args...)}
}

// ParseConfigEnv reads and checks every property of the configuration
// contract, with the environment (for workload identity) read through
// getenv. The error names the first property that is missing or wrong.
// Each property of PropertyTable is parsed on its own; then what several
// decide together is settled: where records go, and who sends them.
func ParseConfigEnv(p Properties, getenv func(string) string) (Config, error) {
	var d draft
	for _, prop := range PropertyTable() {
		v := strings.TrimSpace(p.Get(prop.Name))
		if v == "" {
			v = prop.Default
		}
		if v == "" {
			continue
		}
		if err := prop.set(&d, v); err != nil {
			return d.Config, &ConfigError{Property: prop.Name, Err: err}
		}
	}
	cfg := d.Config

	var err error
	if cfg.Convert.Schema == convert.ASIM {
		cfg.Client.Endpoint, cfg.ASIMStreams, err = d.asimEndpoint()
	} else {
		cfg.Client.Endpoint, err = d.endpoint()
	}
	if err != nil {
		return cfg, err
	}
	if err := settleCredentials(&cfg, getenv); err != nil {
		return cfg, err
	}
	if cfg.Convert.TimeKey == "" && cfg.Convert.Schema != convert.Raw {
		cfg.Convert.TimeKey = "timestamp"
	}
	return cfg, nil
}

// settleCredentials infers the auth mode when it is not set, takes what
// workload identity's webhook injects, and checks the credentials against
// the endpoint's cloud.
func settleCredentials(cfg *Config, getenv func(string) string) error {
	creds := &cfg.Client.Credentials
	if creds.Auth == "" {
		creds.Auth = inferAuth(*creds, getenv)
		cfg.AuthInferred = true
	}
	if creds.Auth == azmon.AuthWorkloadIdentity {
		// AKS injects these; a property overrides each.
		for _, f := range []struct {
			field *string
			env   string
		}{{&creds.TenantID, "AZURE_TENANT_ID"}, {&creds.ClientID, "AZURE_CLIENT_ID"}, {&creds.FederatedTokenFile, "AZURE_FEDERATED_TOKEN_FILE"}} {
			if *f.field == "" {
				*f.field = strings.TrimSpace(getenv(f.env))
			}
		}
		if creds.AuthorityHost == "" {
			if v := strings.TrimSpace(getenv("AZURE_AUTHORITY_HOST")); v != "" {
				var d draft
				if err := setAuthorityHost(&d, v); err != nil {
					return &ConfigError{Property: "authority_host", Err: fmt.Errorf("AZURE_AUTHORITY_HOST: %w", err)}
				}
				creds.AuthorityHost = d.Client.Credentials.AuthorityHost
			}
		}
	}
	if err := creds.Validate(); err != nil {
		return configError(err)
	}
	return checkCloudMatch(cfg.Client.Endpoint, creds.Cloud, creds.Scope)
}

// asimEndpoint takes dce_url and dcr_id, and the three streams of
// schema asim.
func (d *draft) asimEndpoint() (azmon.Endpoint, []string, error) {
	var ep azmon.Endpoint
	for _, p := range []struct{ name, v string }{{"endpoint_url", d.endpointURL}, {"stream_name", d.streamName}, {"table_name", d.tableName}} {
		if p.v != "" {
			return ep, nil, propErr(p.name, "schema asim sends to three streams of one DCR: set dce_url and dcr_id, and asim_*_stream to rename the streams, instead of %s", p.name)
		}
	}
	if d.dceURL == "" {
		return ep, nil, propErr("dce_url", "not set (schema asim needs dce_url and dcr_id)")
	}
	base, err := azmon.ParseDCEURL(d.dceURL)
	if err != nil {
		return ep, nil, &ConfigError{"dce_url", err}
	}
	ep.Base = base
	if ep.DCRID = d.dcrID; ep.DCRID == "" {
		return ep, nil, propErr("dcr_id", "not set (the DCR's Immutable Id, dcr-...)")
	}
	props := ASIMStreamProperties()
	var streams []string
	for i, st := range d.asimStreams {
		ep.Stream = st
		if err := ep.Validate(); err != nil {
			prop := props[i][0]
			if !strings.HasPrefix(ep.DCRID, "dcr-") {
				prop = "dcr_id"
			}
			return ep, nil, &ConfigError{prop, err}
		}
		streams = append(streams, st)
	}
	ep.Stream = streams[0]
	return ep, streams, nil
}

// endpoint takes endpoint_url, or dce_url with dcr_id and stream_name (or
// table_name, as in Fluent Bit's native plugin).
func (d *draft) endpoint() (azmon.Endpoint, error) {
	if d.endpointURL != "" {
		for _, other := range []struct{ name, v string }{{"dce_url", d.dceURL}, {"dcr_id", d.dcrID}, {"stream_name", d.streamName}, {"table_name", d.tableName}} {
			if other.v != "" {
				return azmon.Endpoint{}, propErr(other.name, "set either endpoint_url or %s, not both", other.name)
			}
		}
		ep, err := azmon.ParseEndpointURL(d.endpointURL)
		if err != nil {
			return ep, &ConfigError{"endpoint_url", err}
		}
		return ep, nil
	}
	var ep azmon.Endpoint
	if d.dceURL == "" {
		return ep, propErr("endpoint_url", "not set (or set dce_url, dcr_id and stream_name)")
	}
	base, err := azmon.ParseDCEURL(d.dceURL)
	if err != nil {
		return ep, &ConfigError{"dce_url", err}
	}
	ep.Base = base
	if ep.DCRID = d.dcrID; ep.DCRID == "" {
		return ep, propErr("dcr_id", "not set (the DCR's Immutable Id, dcr-...)")
	}
	switch {
	case d.streamName != "" && d.tableName != "":
		return ep, propErr("table_name", "set either stream_name or table_name, not both")
	case d.streamName != "":
		ep.Stream = d.streamName
	case d.tableName != "":
		ep.Stream = "Custom-" + strings.TrimPrefix(d.tableName, "Custom-")
	default:
		return ep, propErr("stream_name", "not set (e.g. Custom-KeeperLogs_CL), nor table_name")
	}
	if err := ep.Validate(); err != nil {
		prop := "stream_name"
		if !strings.HasPrefix(ep.DCRID, "dcr-") {
			prop = "dcr_id"
		}
		return ep, &ConfigError{prop, err}
	}
	return ep, nil
}

// configError turns an error of azmon's checks into a ConfigError naming
// the property that sets the field its FieldError names, else auth (a
// credential that could not be built).
func configError(err error) error {
	prop := "auth"
	var fe *azmon.FieldError
	if errors.As(err, &fe) {
		if p := propertyOf(fe.Field); p != "" {
			prop = p
		}
		err = fe.Err
	}
	return &ConfigError{Property: prop, Err: err}
}

// inferAuth picks the mode from what is configured: a secret, then a
// certificate, then workload identity's token file, then a managed
// identity. An app registration (tenant_id or client_id) with none of
// these means a client secret that is missing, typically an unset
// ${VAR}: init then fails naming client_secret, rather than falling back
// to a managed identity that every flush would find absent.
func inferAuth(c azmon.Credentials, getenv func(string) string) azmon.AuthMode {
	switch {
	case c.ClientSecret != "" || c.ClientSecretFile != "":
		return azmon.AuthClientSecret
	case c.CertificatePath != "":
		return azmon.AuthClientCertificate
	case c.FederatedTokenFile != "" || getenv("AZURE_FEDERATED_TOKEN_FILE") != "":
		return azmon.AuthWorkloadIdentity
	case c.ManagedIdentityClientID != "" || c.ManagedIdentityResourceID != "":
		return azmon.AuthManagedIdentity
	case c.TenantID != "" || c.ClientID != "":
		return azmon.AuthClientSecret
	}
	return azmon.AuthManagedIdentity
}

// redactURL drops a URL's user info (a proxy password) for messages.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	u.User = url.User("redacted")
	return u.String()
}

// checkCloudMatch refuses an endpoint of one Azure cloud with the token
// scope of another: the service would answer 401 on every request.
func checkCloudMatch(ep azmon.Endpoint, cloud azmon.Cloud, scope string) error {
	if scope != "" {
		return nil
	}
	host := strings.ToLower(strings.TrimPrefix(ep.Base, "https://"))
	for _, name := range []string{"public", "usgov", "china"} {
		other, _ := azmon.LookupCloud(name)
		if other.Name != cloud.Name && strings.HasSuffix(host, other.IngestSuffix) {
			return propErr("cloud", "the endpoint %s is in the %s cloud but cloud is %s; set cloud %s", host, other.Name, cloud.Name, other.Name)
		}
	}
	return nil
}

// wholeNumber reads a whole number from lo to hi ("_" allowed between digits).
func wholeNumber(v string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(strings.ReplaceAll(v, "_", ""))
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%q is not a whole number from %d to %d", v, lo, hi)
	}
	return n, nil
}

// parseDuration takes Go durations ("30s", "1m30s") and Fluent Bit's bare
// seconds ("30").
func parseDuration(v string) (time.Duration, error) {
	if n, err := strconv.Atoi(v); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	return time.ParseDuration(v)
}
