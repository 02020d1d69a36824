package plugin

import (
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/keeper-azmon/keeper-azmon/azmon"
	"github.com/keeper-azmon/keeper-azmon/convert"
)

// Property is one property of a keeper_azmon [OUTPUT] section. The table
// of them (PropertyTable) is their one owner: name, default, secrecy,
// bounds and parser, and the text of the README's table of properties.
type Property struct {
	Name    string // as written in the section (Fluent Bit reads it case-insensitively)
	Default string // the value when unset; "" when there is none
	Secret  bool   // a credential: never shown
	// Doc says what the property means (Markdown, for the README).
	Doc string
	// DefaultDoc says what happens when it is unset, where Default alone
	// does not (it depends on other properties or the environment).
	DefaultDoc string
	// Field is the azmon.Config field the property sets, as an
	// azmon.FieldError names it; "" for properties azmon does not see.
	Field string
	// set parses a value (the property's, else Default) into the draft;
	// it is not called for an empty value. What several properties decide
	// together (where records go, the auth mode) is settled after all are
	// set (ParseConfigEnv).
	set func(*draft, string) error
}

// draft is a configuration while its properties are read: the Config, and
// the parts of the endpoint that are settled together.
type draft struct {
	Config
	endpointURL, dceURL, dcrID, streamName, tableName string
	asimStreams                                       [3]string // by convert.ASIMSchema
}

// PropertyTable lists every property the plugin reads, in the order the
// README lists them: the one list that the parser, its errors, the CLI,
// the deploy tests and the README take names, defaults and secrecy from.
func PropertyTable() []Property {
	str := func(dst func(*draft) *string) func(*draft, string) error {
		return func(d *draft, v string) error { *dst(d) = v; return nil }
	}
	secret := func(dst func(*draft) *azmon.Secret) func(*draft, string) error {
		return func(d *draft, v string) error { *dst(d) = azmon.Secret(v); return nil }
	}
	creds := func(d *draft) *azmon.Credentials { return &d.Client.Credentials }
	props := []Property{
		{Name: "endpoint_url", Field: "Endpoint", set: str(func(d *draft) *string { return &d.endpointURL }),
			Doc: "the full ingestion URL, as the Keeper Admin Console takes it: `https://<dce>/dataCollectionRules/<dcr-immutable-id>/streams/<stream>?api-version=" + azmon.APIVersion + "`"},
		{Name: "dce_url", set: str(func(d *draft) *string { return &d.dceURL }),
			Doc: "the data collection endpoint's Logs Ingestion URL: with `dcr_id` and `stream_name`, the same URL in parts (instead of `endpoint_url`); with `schema asim`, required"},
		{Name: "dcr_id", set: str(func(d *draft) *string { return &d.dcrID }),
			Doc: "the DCR's Immutable Id (`dcr-...`), with `dce_url`"},
		{Name: "stream_name", set: str(func(d *draft) *string { return &d.streamName }),
			Doc: "the DCR stream, `Custom-<table>`, with `dce_url` and `dcr_id`"},
		{Name: "table_name", set: str(func(d *draft) *string { return &d.tableName }),
			Doc: "as in Fluent Bit's native plugin: the stream becomes `Custom-<table_name>` (instead of `stream_name`)"},
		{Name: "tenant_id", Field: "Credentials.TenantID", set: str(func(d *draft) *string { return &creds(d).TenantID }),
			Doc: "Directory (tenant) ID of the app registration", DefaultDoc: "- (workload identity: `AZURE_TENANT_ID`)"},
		{Name: "client_id", Field: "Credentials.ClientID", set: str(func(d *draft) *string { return &creds(d).ClientID }),
			Doc: "Application (client) ID", DefaultDoc: "- (workload identity: `AZURE_CLIENT_ID`)"},
		{Name: "client_secret", Secret: true, Field: "Credentials.ClientSecret", set: secret(func(d *draft) *azmon.Secret { return &creds(d).ClientSecret }),
			Doc: "the client secret's **Value** (not its Secret ID)"},
		{Name: "client_secret_file", Field: "Credentials.ClientSecretFile", set: str(func(d *draft) *string { return &creds(d).ClientSecretFile }),
			Doc: "a file holding the secret (a Kubernetes secret mount); read again when a token request fails"},
		{Name: "auth", Field: "Credentials.Auth", set: setAuth,
			Doc: "`client_secret`, `client_certificate`, `managed_identity`, `workload_identity`, `default`", DefaultDoc: "inferred, see [Authentication](#authentication)"},
		{Name: "client_certificate_path", Field: "Credentials.CertificatePath", set: str(func(d *draft) *string { return &creds(d).CertificatePath }),
			Doc: "PEM file with certificate and private key, or a PFX file"},
		{Name: "client_certificate_password", Secret: true, set: secret(func(d *draft) *azmon.Secret { return &creds(d).CertificatePassword }),
			Doc: "password of the PFX file"},
		{Name: "send_certificate_chain", Default: "off", set: setSendCertificateChain,
			Doc: "`on` sends the x5c chain (subject name / issuer authentication)"},
		{Name: "managed_identity_client_id", set: str(func(d *draft) *string { return &creds(d).ManagedIdentityClientID }),
			Doc: "a user-assigned managed identity, by client id", DefaultDoc: "system-assigned"},
		{Name: "managed_identity_resource_id", Field: "Credentials.ManagedIdentityResourceID", set: str(func(d *draft) *string { return &creds(d).ManagedIdentityResourceID }),
			Doc: "a user-assigned managed identity, by resource id", DefaultDoc: "system-assigned"},
		{Name: "federated_token_file", Field: "Credentials.FederatedTokenFile", set: str(func(d *draft) *string { return &creds(d).FederatedTokenFile }),
			Doc: "workload identity token file", DefaultDoc: "`AZURE_FEDERATED_TOKEN_FILE`"},
		{Name: "cloud", Default: "public", set: setCloud,
			Doc: "`public`, `usgov` or `china`: picks the authority host and the token scope"},
		{Name: "authority_host", set: setAuthorityHost,
			Doc: "override of the Entra ID authority (private clouds, the emulator); instance discovery is off when set", DefaultDoc: "by `cloud` (workload identity: `AZURE_AUTHORITY_HOST`)"},
		{Name: "scope", set: str(func(d *draft) *string { return &creds(d).Scope }),
			Doc: "override of the token scope", DefaultDoc: "by `cloud`: `https://monitor.azure.com/.default`, `https://monitor.azure.us/.default`, `https://monitor.azure.cn/.default`"},
		{Name: "ca_file", Field: "CAFile", set: str(func(d *draft) *string { return &d.Client.CAFile }),
			Doc: "extra PEM roots trusted for token and ingestion calls (TLS-inspecting proxies)", DefaultDoc: "system roots"},
		{Name: "proxy", set: setProxy,
			Doc: "`http://host:port` proxy for token and ingestion calls (never for the managed identity endpoint); otherwise `HTTPS_PROXY` / `NO_PROXY` apply", DefaultDoc: "environment"},
		{Name: "schema", Default: convert.Keeper.String(), set: setSchema,
			Doc: "`keeper` (the Keeper / Sentinel shape), `raw` (the record as is, plus `TimeGenerated`) or `asim` (Sentinel's normalized tables, see [schema asim](#schema-asim-sentinels-normalized-tables))"},
	}
	for i, p := range []struct{ name, def string }{
		{"asim_authentication_stream", "Custom-KeeperAsimAuthentication"},
		{"asim_user_management_stream", "Custom-KeeperAsimUserManagement"},
		{"asim_audit_stream", "Custom-KeeperAsimAudit"},
	} {
		props = append(props, Property{Name: p.name, Default: p.def,
			set: func(d *draft, v string) error { d.asimStreams[i] = v; return nil },
			Doc: fmt.Sprintf("with `schema asim`: the DCR stream whose rows land in `%s`", convert.ASIMSchema(i).Table())})
	}
	return append(props,
		Property{Name: "time_key", set: str(func(d *draft) *string { return &d.Convert.TimeKey }),
			Doc: "record field holding the event time for `TimeGenerated`; falls back to Fluent Bit's event time", DefaultDoc: "`timestamp` for keeper and asim, none for raw"},
		Property{Name: "enterprise_id", set: setEnterpriseID,
			Doc: fmt.Sprintf("Keeper enterprise ID written into `enterprise_id` when an event has none (Commander's exports), 1 to %d", math.MaxInt32), DefaultDoc: "none"},
		Property{Name: "compress", Default: "gzip", set: setCompress,
			Doc: "`gzip` or `none`"},
		Property{Name: "max_request_bytes", Default: strconv.Itoa(azmon.DefaultMaxRequestBytes), Field: "MaxRequestBytes", set: setMaxRequestBytes,
			Doc: fmt.Sprintf("cap on one request's uncompressed JSON, %d to %d", azmon.MinRequestBytes, azmon.MaxBodyBytes)},
		Property{Name: "max_concurrency", Default: strconv.Itoa(azmon.DefaultMaxConcurrency), Field: "MaxConcurrency", set: setMaxConcurrency,
			Doc: fmt.Sprintf("requests in flight within one flush, 1 to %d", azmon.MaxConcurrencyLimit)},
		Property{Name: "timeout", Default: DefaultTimeout.String(), set: setTimeout,
			Doc: "bound on one flush, token calls included (`30s`, `2m`, or bare seconds), 1s to 1h"},
	)
}

// ASIMStreamProperties are the properties that name the streams of schema
// asim, by convert.ASIMSchema, with their defaults.
func ASIMStreamProperties() [][2]string {
	var out [][2]string
	for _, p := range PropertyTable() {
		if strings.HasPrefix(p.Name, "asim_") {
			out = append(out, [2]string{p.Name, p.Default})
		}
	}
	return out
}

// propertyOf returns the property that sets the azmon.Config field, or "".
func propertyOf(field string) string {
	for _, p := range PropertyTable() {
		if p.Field != "" && strings.EqualFold(p.Field, field) {
			return p.Name
		}
	}
	return ""
}

// The parsers of PropertyTable: each takes a value that is not "" (the
// property's, else its default).

func setAuth(d *draft, v string) (err error) {
	d.Client.Credentials.Auth, err = azmon.ParseAuthMode(v)
	return err
}

func setSendCertificateChain(d *draft, v string) error {
	switch strings.ToLower(v) {
	case "off", "false", "no", "0":
		d.Client.Credentials.SendCertificateChain = false
	case "on", "true", "yes", "1":
		d.Client.Credentials.SendCertificateChain = true
	default:
		return fmt.Errorf("%q is not on or off", v)
	}
	return nil
}

func setCloud(d *draft, v string) (err error) {
	d.Client.Credentials.Cloud, err = azmon.LookupCloud(v)
	return err
}

func setAuthorityHost(d *draft, v string) error {
	if !strings.HasPrefix(v, "https://") {
		return fmt.Errorf("%q is not an https URL", v)
	}
	if !strings.HasSuffix(v, "/") {
		v += "/"
	}
	d.Client.Credentials.AuthorityHost = v
	return nil
}

func setProxy(d *draft, v string) error {
	if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http(s)://host:port URL", redactURL(v))
	}
	d.Client.Proxy = v
	return nil
}

func setSchema(d *draft, v string) (err error) {
	d.Convert.Schema, err = convert.ParseSchema(v)
	return err
}

func setCompress(d *draft, v string) error {
	switch strings.ToLower(v) {
	case "gzip", "on", "true":
		d.Client.Gzip = true
	case "none", "off", "false":
		d.Client.Gzip = false
	default:
		return fmt.Errorf("%q is not gzip or none", v)
	}
	return nil
}

func setMaxRequestBytes(d *draft, v string) (err error) {
	d.Client.MaxRequestBytes, err = wholeNumber(v, azmon.MinRequestBytes, azmon.MaxBodyBytes)
	return err
}

func setMaxConcurrency(d *draft, v string) (err error) {
	d.Client.MaxConcurrency, err = wholeNumber(v, 1, azmon.MaxConcurrencyLimit)
	return err
}

func setTimeout(d *draft, v string) error {
	t, err := parseDuration(v)
	if err != nil || t < time.Second || t > time.Hour {
		return fmt.Errorf("%q is not a duration between 1s and 1h (e.g. 30s)", v)
	}
	d.Timeout = t
	return nil
}

func setEnterpriseID(d *draft, v string) error {
	n, err := strconv.ParseInt(strings.ReplaceAll(v, "_", ""), 10, 32)
	if err != nil || n < 1 {
		return fmt.Errorf("%q is not an enterprise ID (a whole number from 1 to %d)", v, math.MaxInt32)
	}
	d.Convert.EnterpriseID = n
	return nil
}
