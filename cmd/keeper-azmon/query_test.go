package main

import (
	"strings"
	"testing"

	"github.com/keeper-azmon/keeper-azmon/plugin"
)

// TestTableAndQuery: the query check prints names the columns of the table
// each template's DCR writes: the Keeper names, the Marketplace's renamed
// ones, and the legacy Keeper_CL's Data Collector API names.
func TestTableAndQuery(t *testing.T) {
	for _, tc := range []struct {
		stream, schema string
		table          string
		words          []string
	}{
		{"Custom-KeeperLogs_CL", "keeper", "KeeperLogs_CL", []string{`where audit_event == "keeper_azmon_check"`, `tostring(data.check_id) == "id-1"`}},
		{"Custom-KeeperSecurityEventNewLogs", "keeper", "KeeperSecurityEventNewLogs_CL", []string{`where AuditEvent == "keeper_azmon_check"`, `tostring(Data.check_id) == "id-1"`}},
		{"Custom-Keeper_CL", "keeper", "Keeper_CL", []string{"Keeper_CL\n", `where audit_event_s == "keeper_azmon_check"`, `tostring(data.check_id) == "id-1"`}},
		{"Custom-Keeper_CL", "raw", "Keeper_CL", []string{`where audit_event == "keeper_azmon_check"`, `where check_id == "id-1"`}},
	} {
		cfg, err := plugin.ParseConfigEnv(plugin.MapProperties{
			"schema": tc.schema, "tenant_id": "00000000-0000-0000-0000-000000000001", "client_id": "00000000-0000-0000-0000-000000000002",
			"client_secret": "s", "dce_url": "https://x.eastus-1.ingest.monitor.azure.com", "dcr_id": "dcr-0123456789abcdef0123456789abcdef",
			"stream_name": tc.stream,
		}, func(string) string { return "" })
		if err != nil {
			t.Fatalf("%s %s: %v", tc.stream, tc.schema, err)
		}
		table, q := tableAndQuery(tc.stream, cfg, "id-1")
		if table != tc.table {
			t.Errorf("%s %s: table %s, want %s", tc.stream, tc.schema, table, tc.table)
		}
		for _, w := range tc.words {
			if !strings.Contains(q, w) {
				t.Errorf("%s %s: query\n%s\nlacks %q", tc.stream, tc.schema, q, w)
			}
		}
	}
}
