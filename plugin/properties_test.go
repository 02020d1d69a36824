package plugin

import (
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/keeper-azmon/keeper-azmon/azmon"
	"github.com/keeper-azmon/keeper-azmon/internal/docblock"
)

// askedProperties records the properties the parser asks for.
type askedProperties struct {
	MapProperties
	asked map[string]bool
}

func (a askedProperties) Get(key string) string {
	a.asked[strings.ToLower(key)] = true
	return a.MapProperties.Get(key)
}

// TestPropertyTable: the parser reads exactly the properties of the table,
// and every Field the table names is a field of azmon.Config.
func TestPropertyTable(t *testing.T) {
	asked := map[string]bool{}
	for _, props := range []MapProperties{
		baseProps(),
		with(baseProps(), "schema", "asim", "endpoint_url", "<unset>", "dce_url", "https://x.eastus-1.ingest.monitor.azure.com", "dcr_id", "dcr-abc"),
		with(baseProps(), "endpoint_url", "<unset>", "dce_url", "https://x.eastus-1.ingest.monitor.azure.com", "dcr_id", "dcr-abc", "stream_name", "Custom-A_CL"),
		with(baseProps(), "client_secret", "<unset>", "auth", "client_certificate", "client_certificate_path", "/nonexistent.pem"),
		with(baseProps(), "client_secret", "<unset>", "auth", "managed_identity"),
		with(baseProps(), "client_secret", "<unset>", "auth", "workload_identity", "federated_token_file", "/t"),
	} {
		_, _ = ParseConfigEnv(askedProperties{props, asked}, func(string) string { return "" })
	}
	table := map[string]Property{}
	for _, p := range PropertyTable() {
		if _, dup := table[p.Name]; dup {
			t.Errorf("%s is in the table twice", p.Name)
		}
		table[p.Name] = p
		if !asked[p.Name] {
			t.Errorf("%s is in the table, but the parser never reads it", p.Name)
		}
		if p.Field != "" && !hasField(reflect.TypeOf(azmon.Config{}), p.Field) {
			t.Errorf("%s: azmon.Config has no field %s", p.Name, p.Field)
		}
	}
	for name := range asked {
		if _, ok := table[name]; !ok {
			t.Errorf("the parser reads %s, which the table lacks", name)
		}
	}
}

func hasField(typ reflect.Type, path string) bool {
	for _, name := range strings.Split(path, ".") {
		f, ok := typ.FieldByName(name)
		if !ok {
			return false
		}
		typ = f.Type
	}
	return true
}

// TestFieldErrorsNameProperties: azmon's errors, in its own terms, reach
// the operator as the property to fix.
func TestFieldErrorsNameProperties(t *testing.T) {
	for field, prop := range map[string]string{
		"Credentials.ClientSecretFile": "client_secret_file", "MaxRequestBytes": "max_request_bytes",
		"Endpoint": "endpoint_url", "CAFile": "ca_file", "Something.Else": "auth",
	} {
		err := configError(&azmon.FieldError{Field: field, Err: errors.New("wrong")})
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Property != prop || ce.Error() != "property "+prop+": wrong" {
			t.Errorf("%s: %v, want property %s", field, err, prop)
		}
	}
}

// propertiesMarkdown is the README's table of properties, made from
// PropertyTable.
func propertiesMarkdown() string {
	var b strings.Builder
	b.WriteString("| property | meaning | default |\n|---|---|---|\n")
	for _, p := range PropertyTable() {
		def := p.DefaultDoc
		switch {
		case def != "":
		case p.Default != "":
			def = "`" + p.Default + "`"
		default:
			def = "-"
		}
		doc := p.Doc
		if p.Secret {
			doc += " (a secret: never logged)"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", p.Name, doc, def)
	}
	return b.String()
}

// TestPropertiesInREADME keeps the README's table of properties equal to
// PropertyTable (regenerate it with UPDATE_README=1 go test ./plugin -run
// TestPropertiesInREADME).
func TestPropertiesInREADME(t *testing.T) {
	docblock.Check(t, filepath.Join("..", "README.md"), "properties", propertiesMarkdown(),
		"UPDATE_README", "go test ./plugin -run TestPropertiesInREADME")
}

// TestEveryPropertyDocumented: each property says what it means, and one
// with a default shows it.
func TestEveryPropertyDocumented(t *testing.T) {
	for _, p := range PropertyTable() {
		if p.Doc == "" {
			t.Errorf("%s has no Doc", p.Name)
		}
		if p.set == nil {
			t.Errorf("%s has no parser", p.Name)
		}
		if p.Default != "" && p.DefaultDoc != "" {
			t.Errorf("%s has both a Default and a DefaultDoc: the README shows the Default", p.Name)
		}
	}
}
