package plugin

import "strings"

// Property is one property of a keeper_azmon [OUTPUT] section.
type Property struct {
	Name    string // as written in the section (Fluent Bit reads it case-insensitively)
	Default string // the value when unset; "" when there is none, or it depends on others
	Secret  bool   // a credential: never shown
	// Field is the azmon.Config field the property sets, as an
	// azmon.FieldError names it; "" for properties azmon does not see.
	Field string
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
		{Name: "ca_file", Field: "CAFile"},
		{Name: "proxy"},
		{Name: "compress", Default: "gzip"},
		{Name: "max_request_bytes", Default: "1000000", Field: "MaxRequestBytes"},
		{Name: "max_concurrency", Default: "4", Field: "MaxConcurrency"},
		{Name: "timeout", Default: "30s"},
		{Name: "schema", Default: "keeper"},
		{Name: "time_key"},
		{Name: "enterprise_id"},
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
