package deploy

import (
	"fmt"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/keeper-azmon/keeper-azmon/convert"
	"github.com/keeper-azmon/keeper-azmon/convert/chunktest"
)

// nestedTable is a table that a nested deployment of a template updates.
type nestedTable struct {
	deployment map[string]any // the Microsoft.Resources/deployments resource
	template   armTemplate    // its template
	table      map[string]any // the table resource in it
}

// dependsOnResource reports whether r's dependsOn names the resource of
// type typ whose name expression is name.
func dependsOnResource(a armTemplate, r map[string]any, typ, name string) bool {
	deps, _ := r["dependsOn"].([]any)
	want := a.resolveText(strings.TrimSuffix(strings.TrimPrefix(name, "["), "]"))
	for _, d := range deps {
		s := a.resolveText(fmt.Sprint(d))
		if strings.Contains(s, typ) && strings.Contains(s, want) {
			return true
		}
	}
	return false
}

// dataCollectorSuffix is the suffix the HTTP Data Collector API gave the
// column of a JSON value (learn.microsoft.com, "Send log data to Azure
// Monitor by using the HTTP Data Collector API", record type and
// properties): _b a boolean, _d a number, _t a string that is an ISO 8601
// date, _g a GUID, _s any other string.
func dataCollectorSuffix(v any) string {
	switch x := v.(type) {
	case bool:
		return "_b"
	case int, int64, float64, uint64:
		return "_d"
	case string:
		if _, err := time.Parse(time.RFC3339Nano, x); err == nil {
			return "_t"
		}
		if regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`).MatchString(x) {
			return "_g"
		}
		return "_s"
	}
	return ""
}

// dataCollectorType is the column type of each suffix.
func dataCollectorType(suffix string) string {
	return map[string]string{"_s": "string", "_d": "real", "_b": "boolean", "_t": "datetime", "_g": "guid"}[suffix]
}

// checkLegacyTable checks keeper-legacy-table.json, whose DCR writes the
// Keeper shape into a Keeper_CL that Keeper's legacy Data Collector API
// integration filled:
//   - the nested deployment PUTs the table's current columns, plan and
//     retention back with the feed's columns (a table PUT deletes every
//     column it leaves out);
//   - the feed's columns carry the Data Collector API's names and types,
//     one dynamic column data aside;
//   - the transformation's output columns are exactly TimeGenerated and the
//     feed's columns, each with the column's type;
//   - every event field schema asim knows gets its own column;
//   - every field of the seed's sample body lands in the column the Data
//     Collector API gave it, with its value.
func checkLegacyTable(t *testing.T, name string, a armTemplate, nt nestedTable, kql string) {
	props := func(r map[string]any) map[string]any { p, _ := r["properties"].(map[string]any); return p }
	dp := props(nt.deployment)
	params, _ := dp["parameters"].(map[string]any)
	value := func(p string) string {
		v, _ := params[p].(map[string]any)
		return fmt.Sprint(v["value"])
	}
	if v := value("columns"); v != "[variables('tableColumns')]" {
		t.Errorf("%s: the nested deployment's columns are %s, want variables('tableColumns')", name, v)
	}
	if v := a.resolveText(value("existingTable")); !strings.HasPrefix(v, "[reference(") ||
		!strings.Contains(v, "Microsoft.OperationalInsights/workspaces/tables") || !strings.Contains(v, "Keeper_CL") {
		t.Errorf("%s: existingTable %s is not the current Keeper_CL (reference)", name, v)
	}
	n := nt.template
	for _, p := range []string{"workspaceName", "existingTable", "columns"} {
		if _, ok := n.Parameters[p]; !ok {
			t.Errorf("%s: the nested template has no parameter %s", name, p)
		}
	}
	tp := props(nt.table)
	schema, _ := tp["schema"].(map[string]any)
	cols := n.resolveText(fmt.Sprint(schema["columns"]))
	for _, want := range []string{"parameters('existingTable').schema, 'columns'", "'standardColumns'", "parameters('columns')"} {
		if !strings.Contains(cols, want) {
			t.Errorf("%s: the table's columns %s do not take %s: a PUT would delete the columns it leaves out", name, cols, want)
		}
	}
	for _, p := range []string{"plan", "retentionInDays", "totalRetentionInDays"} {
		if !strings.Contains(fmt.Sprint(tp[p]), "parameters('existingTable')") {
			t.Errorf("%s: the table's %s is not kept from the current table (%v)", name, p, tp[p])
		}
	}

	// The feed's columns: the Data Collector API's names and types.
	feed := decodeColumns(t, name+": tableColumns", a.Variables["tableColumns"])
	want := map[string]string{"TimeGenerated": "datetime"} // every table has it
	dynamics := 0
	for _, c := range feed {
		if _, dup := want[c.Name]; dup {
			t.Errorf("%s: column %s twice (or TimeGenerated, which the table has)", name, c.Name)
		}
		want[c.Name] = c.Type
		if c.Type == "dynamic" {
			dynamics++
			continue
		}
		if i := strings.LastIndex(c.Name, "_"); i < 0 || dataCollectorType(c.Name[i:]) != c.Type {
			t.Errorf("%s: column %s %s is not named as the Data Collector API names a %s", name, c.Name, c.Type, c.Type)
		}
	}
	if dynamics != 1 {
		t.Errorf("%s: %d dynamic columns, want one for the rest of data", name, dynamics)
	}

	stages, err := parseKQL(kql)
	if err != nil {
		t.Fatalf("%s: transformKql %q: %v", name, kql, err)
	}
	run := func(record string) kqlRow {
		t.Helper()
		in, err := kqlInputRow([]byte(record), keeperShape())
		if err != nil {
			t.Fatalf("%s: record %s: %v", name, record, err)
		}
		out, err := runKQL(stages, in)
		if err != nil {
			t.Fatalf("%s: transformKql on %s: %v", name, record, err)
		}
		return out
	}

	// Output columns are the table's, with its types.
	out := run(`{"TimeGenerated":"2025-01-12T00:03:44.743Z","data":{}}`)
	for _, c := range out {
		if typ, ok := want[c.name]; !ok || typ != tableType(c.val.typ) {
			t.Errorf("%s: the transformation writes %s %s; the table has %q", name, c.name, tableType(c.val.typ), typ)
		}
	}
	for col := range want {
		if _, ok := out.get(col); !ok {
			t.Errorf("%s: the transformation never writes the column %s", name, col)
		}
	}

	// Every event field schema asim reads has its own column.
	for _, f := range convert.EventFields() {
		v, ok := run(`{"data":{"` + f + `":"v-` + f + `"}}`).get(f + "_s")
		if !ok || v.v != "v-"+f {
			t.Errorf("%s: data.%s does not land in %s_s (%v)", name, f, f, v.v)
		}
	}

	// The seed's sample body (the legacy integration's troubleshooting
	// script posts these same five events with Log-Type Keeper), through the
	// plugin's schema keeper and the transformation: every field in the
	// column the Data Collector API made of it.
	var recs convert.Records
	if _, err := convert.New(convert.Options{Schema: convert.Keeper, TimeKey: "timestamp"}).Convert(chunktest.SeedChunk(true), &recs); err != nil {
		t.Fatal(err)
	}
	events := chunktest.SeedEvents()
	if recs.Len() != len(events) {
		t.Fatalf("%s: %d records of %d events", name, recs.Len(), len(events))
	}
	for i, ev := range events {
		row := run(string(recs.Record(i)))
		for _, kv := range ev {
			key := fmt.Sprint(kv.Key)
			col := key + dataCollectorSuffix(kv.Value)
			got, ok := row.get(col)
			if !ok {
				t.Errorf("%s: event %d: %s lands in no column %s", name, i, key, col)
				continue
			}
			if !legacyEqual(kv.Value, got) {
				t.Errorf("%s: event %d: %s = %#v, the transformation writes %s = %#v (%s)", name, i, key, kv.Value, col, got.v, got.typ)
			}
		}
	}
}

// legacyEqual reports whether got is what the Data Collector API stored
// for the JSON value v.
func legacyEqual(v any, got kqlValue) bool {
	switch x := v.(type) {
	case bool:
		return got.typ == "bool" && got.v == x
	case int:
		f, ok := got.v.(float64)
		return got.typ == "real" && ok && math.Abs(f-float64(x)) < 1e-9
	case string:
		if dataCollectorSuffix(x) == "_t" {
			want, _ := time.Parse(time.RFC3339Nano, x)
			tm, ok := got.v.(time.Time)
			return got.typ == "datetime" && ok && tm.Equal(want)
		}
		return got.typ == "string" && got.v == x
	}
	return false
}
