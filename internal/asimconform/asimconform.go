// Package asimconform checks rows of schema asim the way Microsoft's own
// ASIM testers do: ASimSchemaTester (mandatory and conditional fields, types)
// and ASimDataTester (types, allowed values, IP addresses, host names and
// the other logical types), both reading the ASIM field list ASimTester.csv,
// here transcribed as data (fieldlist.go). Where the field list and the
// Azure Monitor table reference of the ASim tables (azmontest) disagree, the
// table decides what a row can hold (a column the table lacks is dropped by
// the DCR) and the field list decides what a value must be; Check says
// which it followed in each finding.
package asimconform

import (
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/keeper-azmon/keeper-azmon/azmon/azmontest"
)

// Field is one row of the ASIM field list.
type Field struct {
	Name        string   // ColumnName
	Type        string   // ColumnType, as the file has it
	Class       string   // Mandatory, Recommended, Optional, Conditional, Alias, Related
	Schema      string   // Authentication, UserManagement, AuditEvent
	LogicalType string   // Enumerated, IP Address, Hostname, FQDN...
	Values      []string // ListOfValues
	Aliased     string   // the field an Alias stands for, or a Conditional depends on
}

// Source names the repository, path and commit the field list is from.
func Source() string { return fieldListSource }

// Fields returns the field list's rows of an ASIM schema (its EventSchema
// name), in the file's order.
func Fields(schema string) []Field {
	var out []Field
	lines := strings.Split(strings.TrimSpace(fieldListCSV), "\n")
	for _, l := range lines[1:] {
		c := strings.Split(l, ",")
		if len(c) != 7 || c[3] != schema {
			continue
		}
		f := Field{Name: c[0], Type: c[1], Class: c[2], Schema: c[3], LogicalType: c[4], Aliased: c[6]}
		if c[5] != "" {
			f.Values = strings.Split(c[5], "|")
		}
		out = append(out, f)
	}
	return out
}

// Finding is one thing Microsoft's testers would report about a row.
type Finding struct {
	Column  string
	Problem string
	// Designator marks an EventVendor or EventProduct value that is not
	// among the designators Microsoft has allocated (the field list's
	// values for the schema): Microsoft allocates them on request, so no
	// row of a product not yet registered can pass that check.
	Designator bool
}

func (f Finding) String() string { return f.Column + ": " + f.Problem }

// kustoTypes are the column types of Log Analytics; the field list's type is
// read as one of them, "bool" as "boolean".
func kustoType(t string) (string, bool) {
	switch t {
	case "string", "int", "long", "real", "datetime", "dynamic":
		return t, true
	case "bool", "boolean":
		return "boolean", true
	}
	return "", false
}

// dvcSources are the columns Dvc is filled from, in the order Microsoft's
// native parser (ASimUserManagementNative) coalesces them.
func dvcSources() []string { return []string{"DvcFQDN", "DvcHostname", "DvcIpAddr", "DvcId"} }

// filledElsewhere says who supplies a mandatory field that the table has no
// column for, or "" if nobody does.
func filledElsewhere(name string) string {
	switch name {
	case "Type":
		return "Azure Monitor sets Type to the table's name"
	case "EventSchema":
		return "the table has no EventSchema column; ASIM's parsers set it at query time"
	}
	return ""
}

// Check returns what Microsoft's testers report about row, a row of the ASIM
// schema (its EventSchema name) as it is posted for the ASim table (decoded
// JSON: strings, float64 or json.Number numbers, bools, maps). Informational notes (a
// recommended field left empty, a column the field list does not name) are
// not findings.
func Check(schema, table string, row map[string]any) []Finding {
	c := checker{schema: schema, table: table, row: row, tableType: map[string]string{}, fields: map[string]Field{}}
	for _, col := range azmontest.ASIMTableColumns(table) {
		c.tableType[col.Name] = col.Type
	}
	if len(c.tableType) == 0 {
		return []Finding{{Column: "", Problem: "no such ASim table " + table}}
	}
	for _, f := range Fields(schema) {
		c.fields[f.Name] = f
	}
	if len(c.fields) == 0 {
		return []Finding{{Column: "", Problem: "no such ASIM schema " + schema}}
	}
	c.columns()
	c.aliases()
	c.mandatory()
	return c.out
}

// checker is one row being checked, and what was found.
type checker struct {
	schema, table string
	row           map[string]any
	tableType     map[string]string // the table's columns and their types
	fields        map[string]Field  // the schema's fields by name
	out           []Finding
}

func (c *checker) add(col, format string, a ...any) {
	c.out = append(c.out, Finding{Column: col, Problem: fmt.Sprintf(format, a...)})
}

// columns checks every column: one the table has, of the table's type; a
// value of that type, of the field list's type, and of its logical type.
func (c *checker) columns() {
	cols := make([]string, 0, len(c.row))
	for k := range c.row {
		cols = append(cols, k)
	}
	slices.Sort(cols)
	for _, col := range cols {
		v := c.row[col]
		tt, ok := c.tableType[col]
		if !ok {
			c.add(col, "%s has no such column: the DCR drops it", c.table)
			continue
		}
		if !fitsType(v, tt) {
			c.add(col, "value %v (%T) does not fit the table's type %s", v, v, tt)
		}
		f, ok := c.fields[col]
		if !ok {
			continue // ASimSchemaTester: "(2) Info: extra unnormalized column"
		}
		if ft, ok := kustoType(f.Type); ok && ft != tt {
			c.add(col, "the field list's type %s and the table's %s differ", f.Type, tt)
		}
		s, isString := v.(string)
		if isString && s == "" && f.Class == "Mandatory" {
			c.add(col, "empty value in a mandatory field")
		}
		if !isString || s == "" {
			continue
		}
		if f.LogicalType == "Enumerated" && len(f.Values) > 0 && !slices.Contains(f.Values, s) {
			fd := Finding{Column: col, Problem: fmt.Sprintf("%q is not one of %s", s, strings.Join(f.Values, "|"))}
			fd.Designator = col == "EventVendor" || col == "EventProduct"
			c.out = append(c.out, fd)
		}
		if p := logical(f.LogicalType, s); p != "" {
			c.add(col, "%s", p)
		}
	}
}

// aliases: an alias with a logical type checks the value of the field it
// aliases (IpAddr for SrcIpAddr, Hostname for DvcHostname).
func (c *checker) aliases() {
	for _, f := range Fields(c.schema) {
		if f.Class != "Alias" || f.LogicalType == "" {
			continue
		}
		if s, ok := c.row[f.Aliased].(string); ok && s != "" {
			if p := logical(f.LogicalType, s); p != "" {
				c.add(f.Aliased, "as %s: %s", f.Name, p)
			}
		}
	}
}

// mandatory checks the mandatory fields, and the conditional fields whose
// field is there.
func (c *checker) mandatory() {
	for _, f := range Fields(c.schema) {
		if _, there := c.row[f.Name]; there {
			continue
		}
		switch {
		case f.Class == "Mandatory" && f.Name == "Dvc":
			c.dvc()
		case f.Class == "Mandatory":
			if _, ok := c.tableType[f.Name]; ok || filledElsewhere(f.Name) == "" {
				c.add(f.Name, "missing mandatory field")
			}
		case f.Class == "Conditional" && f.Aliased != "":
			if _, dep := c.row[f.Aliased]; dep {
				c.add(f.Name, "missing: it is mandatory when %s is set", f.Aliased)
			}
		}
	}
}

// dvc checks Dvc, which no table has: one of the columns it is filled
// from must be set, to EventProduct's value for a cloud source.
func (c *checker) dvc() {
	var dvc string
	for _, src := range dvcSources() {
		if s, _ := c.row[src].(string); s != "" {
			dvc = s
			break
		}
	}
	switch {
	case dvc == "":
		c.add("Dvc", "mandatory, and none of %s, which it is filled from, is set", strings.Join(dvcSources(), ", "))
	case dvc != c.row["EventProduct"]:
		c.add("Dvc", "%q: for a cloud source Microsoft says to use the EventProduct value", dvc)
	}
}

// FilledElsewhere lists the mandatory fields of schema that the table has no
// column for, each with who supplies it instead ("" if nobody does).
func FilledElsewhere(schema, table string) map[string]string {
	tableType := map[string]bool{}
	for _, c := range azmontest.ASIMTableColumns(table) {
		tableType[c.Name] = true
	}
	out := map[string]string{}
	for _, f := range Fields(schema) {
		if f.Class == "Mandatory" && !tableType[f.Name] {
			if f.Name == "Dvc" {
				out[f.Name] = "filled from " + strings.Join(dvcSources(), ", ")
			} else {
				out[f.Name] = filledElsewhere(f.Name)
			}
		}
	}
	return out
}

// fitsType reports whether a decoded JSON value is one Log Analytics takes
// for a column of type t.
func fitsType(v any, t string) bool {
	switch t {
	case "string":
		_, ok := v.(string)
		return ok
	case "datetime":
		s, ok := v.(string)
		if !ok {
			return false
		}
		_, err := time.Parse(time.RFC3339Nano, s)
		return err == nil
	case "int", "long":
		f, ok := number(v)
		if !ok || f != math.Trunc(f) {
			return false
		}
		if t == "int" {
			return f >= math.MinInt32 && f <= math.MaxInt32
		}
		return true
	case "real":
		_, ok := number(v)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "dynamic":
		return true
	}
	return false
}

// number returns a decoded JSON number (float64, or json.Number from a
// decoder that keeps them exact).
func number(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

// logical checks s against a logical type as ASimDataTester does, and
// returns what is wrong, or "".
func logical(lt, s string) string {
	bad := func() string { return fmt.Sprintf("%q is not a valid %s", s, lt) }
	switch strings.ToLower(lt) {
	case "ip address":
		if _, err := netip.ParseAddr(s); err != nil {
			return bad()
		}
	case "hostname":
		if _, err := netip.ParseAddr(s); err == nil {
			return ""
		}
		if !regexp.MustCompile(`^[a-zA-Z0-9-]{1,61}$`).MatchString(s) {
			return bad()
		}
	case "fqdn":
		if !regexp.MustCompile(`^([_a-zA-Z0-9][_a-zA-Z0-9-]{0,62}\.)+[a-zA-Z]{2,63}$`).MatchString(s) {
			return bad()
		}
	case "domain":
		if !regexp.MustCompile(`^([_a-zA-Z0-9][_a-zA-Z0-9-]{0,62}\.)*[a-zA-Z]{2,63}$`).MatchString(s) {
			return bad()
		}
	case "mac address":
		if !regexp.MustCompile(`^[a-fA-F0-9]{2}(:[a-fA-F0-9]{2}){5}$`).MatchString(s) {
			return bad()
		}
	case "schemaversion":
		// ASimDataTester has no test of its own for it; the schema documents
		// give versions as dotted numbers (0.1, 0.1.2).
		if !regexp.MustCompile(`^[0-9]+\.[0-9]+(\.[0-9]+)?$`).MatchString(s) {
			return bad()
		}
	case "guid":
		if !regexp.MustCompile(`^\{?[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}\}?$`).MatchString(s) {
			return bad()
		}
	}
	return ""
}
