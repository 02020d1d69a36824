// Package plugin is the glue between Fluent Bit and the rest: it reads an
// [OUTPUT] section's properties into a Config, and an Instance turns each
// flushed chunk into records (package convert), sends them (package azmon)
// and answers with a Fluent Bit result code. It holds no cgo: the exports
// in package main call it.
package plugin

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"os"
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

// ASIMStreamProperties are the properties that name the streams of schema
// asim, by convert.ASIMSchema, with their defaults.
func ASIMStreamProperties() [][2]string {
	return [][2]string{
		{"asim_authentication_stream", "Custom-KeeperAsimAuthentication"},
		{"asim_user_management_stream", "Custom-KeeperAsimUserManagement"},
		{"asim_audit_stream", "Custom-KeeperAsimAudit"},
	}
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

// ParseConfig reads and checks every property of the configuration
// contract, with the process environment for workload identity. The error
// names the first property that is missing or wrong.
func ParseConfig(p Properties) (Config, error) {
	return ParseConfigEnv(p, os.Getenv)
}

// ParseConfigEnv is ParseConfig with the environment read through getenv.
func ParseConfigEnv(p Properties, getenv func(string) string) (Config, error) {
	get := func(k string) string { return strings.TrimSpace(p.Get(k)) }
	var cfg Config

	// What records look like, and so where they go.
	schema, err := convert.ParseSchema(get("schema"))
	if err != nil {
		return cfg, &ConfigError{"schema", err}
	}
	var ep azmon.Endpoint
	if schema == convert.ASIM {
		ep, cfg.ASIMStreams, err = parseASIMEndpoint(get)
	} else {
		ep, err = parseEndpoint(get)
	}
	if err != nil {
		return cfg, err
	}
	cfg.Client.Endpoint = ep

	// Who sends them.
	cloud, err := azmon.LookupCloud(get("cloud"))
	if err != nil {
		return cfg, &ConfigError{"cloud", err}
	}
	auth, err := azmon.ParseAuthMode(get("auth"))
	if err != nil {
		return cfg, &ConfigError{"auth", err}
	}
	creds := azmon.Credentials{
		Auth:                      auth,
		TenantID:                  get("tenant_id"),
		ClientID:                  get("client_id"),
		ClientSecret:              azmon.Secret(get("client_secret")),
		ClientSecretFile:          get("client_secret_file"),
		CertificatePath:           get("client_certificate_path"),
		CertificatePassword:       azmon.Secret(get("client_certificate_password")),
		ManagedIdentityClientID:   get("managed_identity_client_id"),
		ManagedIdentityResourceID: get("managed_identity_resource_id"),
		FederatedTokenFile:        get("federated_token_file"),
		Cloud:                     cloud,
		AuthorityHost:             get("authority_host"),
		Scope:                     get("scope"),
	}
	if creds.SendCertificateChain, err = boolProp(get, "send_certificate_chain"); err != nil {
		return cfg, err
	}
	if creds.Auth == "" {
		creds.Auth = inferAuth(creds, getenv)
		cfg.AuthInferred = true
	}
	if creds.Auth == azmon.AuthWorkloadIdentity {
		// AKS injects these; a property overrides each.
		for _, f := range []struct {
			field *string
			env   string
		}{{&creds.TenantID, "AZURE_TENANT_ID"}, {&creds.ClientID, "AZURE_CLIENT_ID"}, {&creds.FederatedTokenFile, "AZURE_FEDERATED_TOKEN_FILE"}, {&creds.AuthorityHost, "AZURE_AUTHORITY_HOST"}} {
			if *f.field == "" {
				*f.field = strings.TrimSpace(getenv(f.env))
			}
		}
	}
	if creds.AuthorityHost != "" {
		if !strings.HasPrefix(creds.AuthorityHost, "https://") {
			return cfg, propErr("authority_host", "%q is not an https URL", creds.AuthorityHost)
		}
		if !strings.HasSuffix(creds.AuthorityHost, "/") {
			creds.AuthorityHost += "/"
		}
	}
	if err := creds.Validate(); err != nil {
		return cfg, configError(err)
	}
	if err := checkCloudMatch(ep, cloud, creds.Scope); err != nil {
		return cfg, err
	}
	cfg.Client.Credentials = creds

	// The properties that stand alone, through the table.
	for _, p := range PropertyTable() {
		if p.set == nil {
			continue
		}
		v := get(p.Name)
		if v == "" {
			v = p.Default
		}
		if v == "" {
			continue
		}
		if err := p.set(&cfg, v); err != nil {
			return cfg, &ConfigError{Property: p.Name, Err: err}
		}
	}

	// What they look like.
	cfg.Convert.Schema = schema
	cfg.Convert.TimeKey = get("time_key")
	if cfg.Convert.TimeKey == "" && schema != convert.Raw {
		cfg.Convert.TimeKey = "timestamp"
	}
	return cfg, nil
}

// Parsers of the properties that stand alone, for PropertyTable: each
// takes a value that is not "" (the property's, else its default).

func setCAFile(c *Config, v string) error { c.Client.CAFile = v; return nil }

func setProxy(c *Config, v string) error {
	if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http(s)://host:port URL", redactURL(v))
	}
	c.Client.Proxy = v
	return nil
}

func setCompress(c *Config, v string) error {
	switch strings.ToLower(v) {
	case "gzip", "on", "true":
		c.Client.Gzip = true
	case "none", "off", "false":
		c.Client.Gzip = false
	default:
		return fmt.Errorf("%q is not gzip or none", v)
	}
	return nil
}

func setMaxRequestBytes(c *Config, v string) (err error) {
	c.Client.MaxRequestBytes, err = wholeNumber(v, azmon.MinRequestBytes, azmon.MaxBodyBytes)
	return err
}

func setMaxConcurrency(c *Config, v string) (err error) {
	c.Client.MaxConcurrency, err = wholeNumber(v, 1, azmon.MaxConcurrencyLimit)
	return err
}

func setTimeout(c *Config, v string) error {
	d, err := parseDuration(v)
	if err != nil || d < time.Second || d > time.Hour {
		return fmt.Errorf("%q is not a duration between 1s and 1h (e.g. 30s)", v)
	}
	c.Timeout = d
	return nil
}

func setEnterpriseID(c *Config, v string) error {
	n, err := strconv.ParseInt(strings.ReplaceAll(v, "_", ""), 10, 32)
	if err != nil || n < 1 {
		return fmt.Errorf("%q is not an enterprise ID (a whole number from 1 to %d)", v, math.MaxInt32)
	}
	c.Convert.EnterpriseID = n
	return nil
}

// parseASIMEndpoint takes dce_url and dcr_id, and the three streams of
// schema asim (ASIMStreamProperties).
func parseASIMEndpoint(get func(string) string) (azmon.Endpoint, []string, error) {
	var ep azmon.Endpoint
	for _, p := range []string{"endpoint_url", "stream_name", "table_name"} {
		if get(p) != "" {
			return ep, nil, propErr(p, "schema asim sends to three streams of one DCR: set dce_url and dcr_id, and asim_*_stream to rename the streams, instead of %s", p)
		}
	}
	if get("dce_url") == "" {
		return ep, nil, propErr("dce_url", "not set (schema asim needs dce_url and dcr_id)")
	}
	base, err := azmon.ParseDCEURL(get("dce_url"))
	if err != nil {
		return ep, nil, &ConfigError{"dce_url", err}
	}
	ep.Base = base
	if ep.DCRID = get("dcr_id"); ep.DCRID == "" {
		return ep, nil, propErr("dcr_id", "not set (the DCR's Immutable Id, dcr-...)")
	}
	var streams []string
	for _, p := range ASIMStreamProperties() {
		st := get(p[0])
		if st == "" {
			st = p[1]
		}
		ep.Stream = st
		if err := ep.Validate(); err != nil {
			prop := p[0]
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

// parseEndpoint takes endpoint_url, or dce_url with dcr_id and stream_name
// (or table_name, as in Fluent Bit's native plugin).
func parseEndpoint(get func(string) string) (azmon.Endpoint, error) {
	if raw := get("endpoint_url"); raw != "" {
		for _, other := range []string{"dce_url", "dcr_id", "stream_name", "table_name"} {
			if get(other) != "" {
				return azmon.Endpoint{}, propErr(other, "set either endpoint_url or %s, not both", other)
			}
		}
		ep, err := azmon.ParseEndpointURL(raw)
		if err != nil {
			return ep, &ConfigError{"endpoint_url", err}
		}
		return ep, nil
	}
	var ep azmon.Endpoint
	if get("dce_url") == "" {
		return ep, propErr("endpoint_url", "not set (or set dce_url, dcr_id and stream_name)")
	}
	base, err := azmon.ParseDCEURL(get("dce_url"))
	if err != nil {
		return ep, &ConfigError{"dce_url", err}
	}
	ep.Base = base
	if ep.DCRID = get("dcr_id"); ep.DCRID == "" {
		return ep, propErr("dcr_id", "not set (the DCR's Immutable Id, dcr-...)")
	}
	stream, table := get("stream_name"), get("table_name")
	switch {
	case stream != "" && table != "":
		return ep, propErr("table_name", "set either stream_name or table_name, not both")
	case stream != "":
		ep.Stream = stream
	case table != "":
		ep.Stream = "Custom-" + strings.TrimPrefix(table, "Custom-")
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

func boolProp(get func(string) string, name string) (bool, error) {
	switch strings.ToLower(get(name)) {
	case "", "off", "false", "no", "0":
		return false, nil
	case "on", "true", "yes", "1":
		return true, nil
	}
	return false, propErr(name, "%q is not on or off", get(name))
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
