package asimconform

import (
	"encoding/json"
	"strings"
	"testing"
)

// good is a UserManagement row Microsoft's testers accept but for the
// designators.
func good() map[string]any {
	return map[string]any{
		"TimeGenerated": "2025-03-01T00:00:00.000Z", "EventStartTime": "2025-03-01T00:00:00.000Z", "EventEndTime": "2025-03-01T00:00:00.000Z",
		"EventCount": float64(1), "EventVendor": "Keeper Security", "EventProduct": "Keeper", "EventSchema": "UserManagement",
		"EventSchemaVersion": "0.1.2", "EventType": "UserAddedToGroup", "EventResult": "Success", "EventSeverity": "Informational",
		"ActorUsername": "admin@example.com", "ActorUsernameType": "UPN", "SrcIpAddr": "198.51.100.7", "DvcHostname": "Keeper",
		"AdditionalFields": map[string]any{"x": float64(1)},
	}
}

// TestCheck: each kind of problem the testers report is found, and a good
// row has none but the designators.
func TestCheck(t *testing.T) {
	cases := []struct {
		name   string
		change func(map[string]any)
		want   string // a finding containing this, "" for none
	}{
		{"good", func(map[string]any) {}, ""},
		{"exact numbers", func(r map[string]any) { r["EventCount"] = json.Number("1") }, ""},
		{"no Dvc source", func(r map[string]any) { delete(r, "DvcHostname") }, "Dvc: mandatory"},
		{"Dvc not the product", func(r map[string]any) { r["DvcHostname"] = "vault" }, "Dvc: \"vault\""},
		{"missing mandatory", func(r map[string]any) { delete(r, "ActorUsername"); delete(r, "ActorUsernameType") }, "ActorUsername: missing mandatory"},
		{"empty mandatory", func(r map[string]any) { r["EventType"] = "" }, "EventType: empty value"},
		{"value not allowed", func(r map[string]any) { r["EventSubType"] = "TwoFactor" }, `EventSubType: "TwoFactor" is not one of`},
		{"conditional missing", func(r map[string]any) { delete(r, "ActorUsernameType") }, "ActorUsernameType: missing"},
		{"bad IP through its alias", func(r map[string]any) { r["SrcIpAddr"] = "300.1.2.3" }, "SrcIpAddr: as IpAddr"},
		{"bad hostname", func(r map[string]any) { r["DvcHostname"] = "Keeper Cloud"; r["EventProduct"] = "Keeper Cloud" }, "DvcHostname: \"Keeper Cloud\" is not a valid Hostname"},
		{"wrong type", func(r map[string]any) { r["EventCount"] = "1" }, "EventCount: value 1 (string) does not fit"},
		{"not a column", func(r map[string]any) { r["UpdatedPropertyName"] = "x" }, "UpdatedPropertyName: ASimUserManagementActivityLogs has no such column"},
		{"bad schema version", func(r map[string]any) { r["EventSchemaVersion"] = "v1" }, `EventSchemaVersion: "v1" is not a valid SchemaVersion`},
		{"wrong schema", func(r map[string]any) { r["EventSchema"] = "Authentication" }, `EventSchema: "Authentication" is not one of UserManagement`},
		{"bad datetime", func(r map[string]any) { r["EventEndTime"] = "yesterday" }, "EventEndTime: value yesterday"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := good()
			tc.change(r)
			var found []string
			designators := 0
			for _, f := range Check("UserManagement", "ASimUserManagementActivityLogs", r) {
				if f.Designator {
					designators++
					continue
				}
				found = append(found, f.String())
			}
			if designators != 2 {
				t.Errorf("%d designator findings, want EventVendor's and EventProduct's", designators)
			}
			if tc.want == "" {
				if len(found) != 0 {
					t.Errorf("findings %q, want none", found)
				}
				return
			}
			for _, f := range found {
				if strings.Contains(f, tc.want) {
					return
				}
			}
			t.Errorf("findings %q, want one with %q", found, tc.want)
		})
	}
}

// TestFields: the transcription reads back as Microsoft's rows.
func TestFields(t *testing.T) {
	for _, s := range []string{"Authentication", "UserManagement", "AuditEvent"} {
		fs := Fields(s)
		if len(fs) < 90 {
			t.Errorf("%s: %d fields", s, len(fs))
		}
		mandatory := 0
		for _, f := range fs {
			if f.Class == "Mandatory" {
				mandatory++
			}
		}
		if mandatory < 10 {
			t.Errorf("%s: %d mandatory fields", s, mandatory)
		}
	}
	if fs := Fields("NetworkSession"); len(fs) != 0 {
		t.Errorf("NetworkSession: %d fields, none transcribed", len(fs))
	}
}
