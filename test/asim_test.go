package test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keeper-azmon/keeper-azmon/azmon/azmontest"
	"github.com/keeper-azmon/keeper-azmon/convert"
	"github.com/keeper-azmon/keeper-azmon/convert/chunktest"
	"github.com/keeper-azmon/keeper-azmon/internal/asimconform"
	"github.com/keeper-azmon/keeper-azmon/internal/sourcetest"
)

// asimStreams are the default streams of schema asim, by convert.ASIMSchema.
func asimStreams() []string {
	return []string{azmontest.StreamKeeperAsimAuthentication, azmontest.StreamKeeperAsimUserManagement, azmontest.StreamKeeperAsimAudit}
}

// asimProps is a working schema asim configuration on s.
func asimProps(s *azmontest.Server, overrides ...prop) []prop {
	base := []prop{
		{"endpoint_url", unset}, {"dce_url", s.URL}, {"dcr_id", s.Opts.DCRID}, {"schema", "asim"},
		{"enterprise_id", fmt.Sprint(sourcetest.EnterpriseID)},
	}
	return props(s, "", append(base, overrides...)...)
}

// asimRow is the row the ASIM table must hold for a Keeper event of class
// c with the fields of keeperEvent, at time at: the catalogue's table
// (README, "Keeper in Sentinel's normalized tables") applied column by
// column.
func asimRow(c convert.ASIMEvent, at string) map[string]any {
	row := map[string]any{
		"TimeGenerated": at, "EventStartTime": at, "EventEndTime": at, "EventCount": float64(1),
		"EventVendor": "Keeper Security", "EventProduct": "Keeper", "DvcHostname": "Keeper", "EventSchemaVersion": c.Schema.Version(),
		"EventType": c.EventType, "EventResult": c.Result, "EventSeverity": c.Severity, "EventOriginalType": c.Event,
		"ActorUsername": "user@example.com", "ActorUsernameType": "UPN",
		"SrcIpAddr": "203.0.113.9", "ActingAppName": "Web Vault", "ActingAppType": "Other",
		"AdditionalFields": map[string]any{"category": "security", "enterprise_id": float64(sourcetest.EnterpriseID), "client_version": "Web Vault.17.0.3"},
	}
	if c.Result == "Failure" {
		row["EventResultDetails"] = "Other"
		if c.ResultDetails != "" {
			row["EventResultDetails"] = c.ResultDetails
		}
	}
	switch c.Schema {
	case convert.ASIMAuthentication:
		row["TargetUsername"], row["TargetUsernameType"] = "user@example.com", "UPN"
		row["TargetAppName"], row["TargetAppType"] = "Keeper", "SaaS application"
		if c.LogonMethod != "" {
			row["LogonMethod"] = c.LogonMethod
		}
	case convert.ASIMUserManagement:
		row["EventSchema"] = "UserManagement"
		if c.UpdatedProperty != "" {
			row["AdditionalFields"].(map[string]any)["UpdatedPropertyName"] = c.UpdatedProperty
		}
		if strings.HasPrefix(c.EventType, "User") || strings.HasPrefix(c.EventType, "Password") {
			row["TargetUsername"], row["TargetUsernameType"] = "user@example.com", "UPN"
		}
	case convert.ASIMAudit:
		row["Operation"] = c.Event
		row["Object"], row["OriginalObjectType"] = "enterprise", "enterprise"
		row["ObjectType"] = c.ObjectType
	}
	return row
}

// 2d. schema asim: every event of the catalogue, through the C host, lands
// as one row in the stream of its schema (the DCR routes each into its
// ASIM table, and the emulator keeps only that table's columns), equal
// column by column to the catalogue's table. An event name not in the
// catalogue lands in the audit stream with EventType Other.
func TestASIMCatalogueThroughHost(t *testing.T) {
	s, h := setup(t, azmontest.Options{})
	h.mustInstance("asim", asimProps(s))
	cat := convert.ASIMCatalogue()
	unknown := convert.ASIMEvent{Event: "keeper_event_from_the_future", Schema: convert.ASIMAudit, EventType: "Other", Result: "Success", Severity: "Informational", ObjectType: "Other"}
	cat = append(cat, unknown)
	base := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	var chunk []byte
	want := make([][]map[string]any, 3)
	for i, c := range cat {
		at := base.Add(time.Duration(i) * time.Second)
		chunk = chunktest.AppendEventV2(chunk, at.Add(time.Hour), chunktest.Map{}, chunktest.M(
			"audit_event", c.Event, "remote_address", "203.0.113.9", "category", "security",
			"client_version", "Web Vault.17.0.3", "username", "user@example.com",
			"timestamp", at.Format(time.RFC3339Nano)))
		want[c.Schema] = append(want[c.Schema], asimRow(c, at.Format("2006-01-02T15:04:05.000Z")))
	}
	if rc := h.flush("asim", tag, chunk); rc != flbOK {
		t.Fatalf("flush: %s, want FLB_OK", rcName(rc))
	}
	total := 0
	for sch, stream := range asimStreams() {
		got := s.Rows(stream)
		total += len(got)
		t.Run(stream, func(t *testing.T) {
			sameRows(t, got, want[sch])
		})
	}
	if total != len(cat) {
		t.Errorf("%d rows in all, want one for each of the %d events", total, len(cat))
	}
	if m := s.TypeMismatches(); m != 0 {
		t.Errorf("%d values did not fit their column's type", m)
	}
	// What landed, checked as Microsoft's ASIM testers check it.
	for sch, stream := range asimStreams() {
		schema := convert.ASIMSchema(sch)
		rows := s.Rows(stream)
		for i, row := range rows {
			for _, f := range asimconform.Check(schema.String(), schema.Table(), row) {
				if !f.Designator {
					t.Errorf("%s row %d (%v): %s", schema.Table(), i, row["EventOriginalType"], f)
				}
			}
		}
	}
	for _, stream := range []string{streamKeeper, streamMarketplace} {
		if n := s.RowCount(stream); n != 0 {
			t.Errorf("%d rows went to %s", n, stream)
		}
	}
}

// 2e. schema asim reads every source as schema keeper does: the same event
// from Keeper's syslog push, Commander's HEC, sumo and syslog-port exports
// gives the same ASIM row (but for the fields only one source carries:
// category, Commander's event id and message).
func TestASIMSameRowFromEverySource(t *testing.T) {
	s, h := setup(t, azmontest.Options{})
	h.mustInstance("asim", asimProps(s))
	re, err := sourcetest.ParserRegex(filepath.Join(sourcetest.RecipeDir(), "parsers.conf"), "keeper-syslog")
	if err != nil {
		t.Fatal(err)
	}
	const at = "2025-03-01T00:00:02Z"
	wires := map[string]struct {
		src  sourcetest.Source
		wire string
	}{
		"keeper-syslog-push": {sourcetest.All()[0], `<165>1 2025-03-01T00:00:02.000Z keepersecurity.com keeper - - - {"audit_event":"added_to_team","remote_address":"198.51.100.7","category":"security","client_version":"EMConsole.17.1.2","username":"admin@example.com","enterprise_id":6557,"to_username":"new.hire@example.com","team_uid":"tEaMuId0123456789abcde"}` + "\n"},
		"commander-splunk":   {sourcetest.All()[1], `{"time": 1740787202, "host": "cmdr-01", "source": "Example Corp", "sourcetype": "_json", "event": {"audit_event_type": "added_to_team", "username": "admin@example.com", "ip_address": "198.51.100.7", "keeper_version": "EMConsole.17.1.2", "to_username": "new.hire@example.com", "team_uid": "tEaMuId0123456789abcde"}}`},
		"commander-sumo":     {sourcetest.All()[2], `{"audit_event_type":"added_to_team","username":"admin@example.com","ip_address":"198.51.100.7","keeper_version":"EMConsole.17.1.2","to_username":"new.hire@example.com","team_uid":"tEaMuId0123456789abcde","timestamp":"` + at + `","message":"Admin added a user to a team"}`},
		"commander-syslog":   {sourcetest.All()[3], `<110>1 ` + at + ` 198.51.100.7 Keeper - 9000003 [Keeper@Commander audit_event_type="added_to_team" username="admin@example.com" keeper_version="EMConsole.17.1.2" to_username="new.hire@example.com" team_uid="tEaMuId0123456789abcde"] Admin added a user to a team` + "\n"},
	}
	want := map[string]any{
		"TimeGenerated": "2025-03-01T00:00:02.000Z", "EventStartTime": "2025-03-01T00:00:02.000Z", "EventEndTime": "2025-03-01T00:00:02.000Z",
		"EventCount": float64(1), "EventVendor": "Keeper Security", "EventProduct": "Keeper",
		"EventSchema": "UserManagement", "EventSchemaVersion": "0.1.2", "EventType": "UserAddedToGroup",
		"EventResult": "Success", "EventSeverity": "Informational", "EventOriginalType": "added_to_team",
		"ActorUsername": "admin@example.com", "ActorUsernameType": "UPN",
		"TargetUsername": "new.hire@example.com", "TargetUsernameType": "UPN",
		"GroupId": "tEaMuId0123456789abcde", "GroupType": "Other", "GroupOriginalType": "Team", "DvcHostname": "Keeper",
		"SrcIpAddr": "198.51.100.7", "ActingAppName": "EMConsole", "ActingAppType": "Other",
	}
	for name, w := range wires {
		t.Run(name, func(t *testing.T) {
			s.Reset()
			recs, _, err := w.src.RecordsOf([]byte(w.wire), re)
			if err != nil || len(recs) != 1 {
				t.Fatalf("fixture: %d records, %v", len(recs), err)
			}
			chunk := chunktest.AppendEventV2(nil, time.Date(2025, 3, 1, 1, 0, 0, 0, time.UTC), chunktest.Map{}, recs[0])
			if rc := h.flush("asim", tag, chunk); rc != flbOK {
				t.Fatalf("flush: %s", rcName(rc))
			}
			rows := s.Rows(azmontest.StreamKeeperAsimUserManagement)
			if len(rows) != 1 {
				t.Fatalf("%d rows in the user management stream, want 1", len(rows))
			}
			row := rows[0]
			extra, _ := row["AdditionalFields"].(map[string]any)
			delete(row, "AdditionalFields")
			msg := row["EventMessage"]
			delete(row, "EventMessage")
			sameRows(t, []map[string]any{row}, []map[string]any{want})
			if e, _ := plainJSON(t, extra).(map[string]any); e["enterprise_id"] != float64(sourcetest.EnterpriseID) {
				t.Errorf("AdditionalFields %v: no enterprise_id", extra)
			}
			if (name == "commander-sumo" || name == "commander-syslog") && msg != "Admin added a user to a team" {
				t.Errorf("EventMessage %v, want Commander's message", msg)
			}
		})
	}
}
