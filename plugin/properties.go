package plugin

import (
	"strconv"
	"strings"

	"github.com/keeper-azmon/keeper-azmon/azmon"
	"github.com/keeper-azmon/keeper-azmon/convert"
)

// Property is one property of a keeper_azmon [OUTPUT] section.
type Property struct {
	Name    string // as written in the section (Fluent Bit reads it case-insensitively)
	Default string // the value when unset; "" when there is none, or it depends on others
	Secret  bool   // a credential: never shown
	// Field is the azmon.Config field the property sets, as an
	// azmon.FieldError names it; "" for properties azmon does not see.
	Field string
	// set parses a value (the property's, else Default) into a Config; nil
	// for the properties ParseConfigEnv reads together with others (where
	// records go, who sends them, the schema).
	set func(*Config, string) error
}

// PropertyTable lists every property the plugin reads: the one list that
// the parser's errors, the CLI and the tests take names from.
func PropertyTable() []Property {
	props := []Property{
		{Name: "endpoint_url", Field: "Endpoint"},
		{Name: "dce_url"},
		{Name: "dcr_id"},
		{Name: "stream_name"},
		{Name: "table_name"},
		{Name: "tenant_id", Field: "Credentials.TenantID"},
		{Name: "client_id", Field: "Credentials.ClientID"},
		{Name: "client_secret", Secret: true, Field: "Credentials.ClientSecret"},
		{Name: "client_secret_file", Field: "Credentials.ClientSecretFile"},
		{Name: "auth", Field: "Credentials.Auth"},
		{Name: "client_certificate_path", Field: "Credentials.CertificatePath"},
		{Name: "client_certificate_password", Secret: true},
		{Name: "send_certificate_chain", Default: "off"},
		{Name: "managed_identity_client_id"},
		{Name: "managed_identity_resource_id", Field: "Credentials.ManagedIdentityResourceID"},
		{Name: "federated_token_file", Field: "Credentials.FederatedTokenFile"},
		{Name: "cloud", Default: "public"},
		{Name: "authority_host"},
		{Name: "scope"},
		{Name: "ca_file", Field: "CAFile", set: setCAFile},
		{Name: "proxy", set: setProxy},
		{Name: "compress", Default: "gzip", set: setCompress},
		{Name: "max_request_bytes", Default: strconv.Itoa(azmon.DefaultMaxRequestBytes), Field: "MaxRequestBytes", set: setMaxRequestBytes},
		{Name: "max_concurrency", Default: strconv.Itoa(azmon.DefaultMaxConcurrency), Field: "MaxConcurrency", set: setMaxConcurrency},
		{Name: "timeout", Default: DefaultTimeout.String(), set: setTimeout},
		{Name: "schema", Default: convert.Keeper.String()},
		{Name: "time_key"},
		{Name: "enterprise_id", set: setEnterpriseID},
	}
	for _, p := range ASIMStreamProperties() {
		props = append(props, Property{Name: p[0], Default: p[1]})
	}
	return props
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
