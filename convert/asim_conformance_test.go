package convert_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/keeper-azmon/keeper-azmon/azmon/azmontest"
	"github.com/keeper-azmon/keeper-azmon/convert"
	"github.com/keeper-azmon/keeper-azmon/convert/chunktest"
	"github.com/keeper-azmon/keeper-azmon/internal/asimconform"
)

// conformanceFixtures are the shapes each catalogue event is converted in:
// the fields every Keeper event has; those plus the event-specific fields
// schema asim maps to columns of its own; and odd values (a remote_address
// that is no IP address, a client_version without a version, a user that is
// no email).
func conformanceFixtures(event string) []M {
	common := []any{"audit_event", event, "remote_address", "203.0.113.9", "category", "security",
		"client_version", "Web Vault.17.0.3", "username", "user@example.com", "enterprise_id", 6557,
		"timestamp", "2025-03-01T00:00:00Z"}
	rich := append(slices.Clone(common), "to_username", "new.hire@example.com", "role_id", 28162100560074,
		"value", "7", "record_uid", "r1", "result_code", "auth_failed", "message", "Commander's message",
		"enforcement", "restrict_ip_addresses")
	team := append(slices.Clone(common), "team_uid", "tEaMuId0123456789abcde", "value", "new.hire@example.com",
		"status", "denied", "shared_folder_uid", "sf1")
	odd := []any{"audit_event", event, "remote_address", "unknown", "client_version", "Commander", "username", "ALERT",
		"timestamp", "2025-03-01T00:00:00Z", "to_username", 7, "value", ""}
	return []M{kv(common...), kv(rich...), kv(team...), kv(odd...)}
}

// TestASIMConformance: every catalogue event's row, in each fixture shape,
// passes Microsoft's ASIM testers for its schema (internal/asimconform:
// Microsoft's field list and the table reference), but for the vendor and
// product designators, which Microsoft allocates and has not allocated to
// Keeper (README, "What Microsoft's tester says about Keeper rows").
func TestASIMConformance(t *testing.T) {
	c := convert.New(convert.Options{Schema: convert.ASIM, TimeKey: "timestamp"})
	findings := map[string][]string{} // finding -> events
	designators := map[string]int{}
	rows := 0
	events := append(convert.ASIMCatalogue(), convert.ASIMEvent{Event: "keeper_event_from_the_future"})
	for _, ev := range events {
		for i, body := range conformanceFixtures(ev.Event) {
			var out convert.Records
			if _, err := c.Convert(chunktest.AppendEventV2(nil, ts0(), nil, body), &out); err != nil || out.Len() != 1 {
				t.Fatalf("%s: %d records, %v", ev.Event, out.Len(), err)
			}
			s := convert.ASIMSchema(out.Stream(0))
			var row map[string]any
			if err := json.Unmarshal(out.Record(0), &row); err != nil {
				t.Fatal(err)
			}
			rows++
			for _, p := range meaning(row) {
				k := s.String() + " " + p
				findings[k] = append(findings[k], fmt.Sprintf("%s#%d", ev.Event, i))
			}
			for _, f := range asimconform.Check(s.String(), s.Table(), row) {
				if f.Designator {
					designators[s.String()+" "+f.Column]++
					continue
				}
				k := s.String() + " " + f.String()
				findings[k] = append(findings[k], fmt.Sprintf("%s#%d", ev.Event, i))
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(findings)) {
		ev := findings[k]
		more := ""
		if len(ev) > 5 {
			ev, more = ev[:5], fmt.Sprintf(" and %d more", len(findings[k])-5)
		}
		t.Errorf("%s (%s%s)", k, strings.Join(ev, ", "), more)
	}
	// What the README says the tester reports about every row.
	for _, s := range convert.ASIMSchemas() {
		for _, col := range []string{"EventVendor", "EventProduct"} {
			if designators[s.String()+" "+col] == 0 {
				t.Errorf("%s %s: the README says Microsoft's tester reports it as not allocated, and it did not", s, col)
			}
		}
	}
	t.Logf("%d rows, field list %s", rows, asimconform.Source())
}

// TestASIMColumnsAreTableColumns: every column schema asim may write is a
// column of its table with the table's type, and the mandatory fields the
// tables have no column for are the ones the README names, with who fills
// them.
func TestASIMColumnsAreTableColumns(t *testing.T) {
	for _, s := range convert.ASIMSchemas() {
		table := map[string]string{}
		for _, c := range azmontest.ASIMTableColumns(s.Table()) {
			table[c.Name] = c.Type
		}
		for _, c := range convert.ASIMColumns(s) {
			if got, ok := table[c[0]]; !ok || got != c[1] {
				t.Errorf("%s: column %s %s; the table has %q", s, c[0], c[1], got)
			}
		}
	}
	want := map[convert.ASIMSchema][]string{
		convert.ASIMAuthentication: {"Dvc", "EventSchema", "Type"},
		convert.ASIMUserManagement: {"Dvc"},
		convert.ASIMAudit:          {"Dvc", "EventSchema", "Type"},
	}
	for s, names := range want {
		got := asimconform.FilledElsewhere(s.String(), s.Table())
		if !slices.Equal(slices.Sorted(maps.Keys(got)), names) {
			t.Errorf("%s: mandatory fields with no column %v, want %v", s, got, names)
		}
		for n, who := range got {
			if who == "" {
				t.Errorf("%s: mandatory field %s has no column and nobody fills it", s, n)
			}
		}
	}
}

// meaning returns the columns of row that hold something other than what
// their description in Microsoft's schema says: HttpUserAgent is an HTTP
// User-Agent header (Keeper sends none: client_version names the Keeper
// client), GroupIdType UID is a Linux UID and SID a Windows one (a Keeper
// role or team ID is neither), and the acting application is the Keeper
// client.
func meaning(row map[string]any) []string {
	var out []string
	if v, ok := row["HttpUserAgent"]; ok {
		out = append(out, fmt.Sprintf("HttpUserAgent: %v is Keeper's client_version, not an HTTP User-Agent", v))
	}
	if v, ok := row["GroupIdType"]; ok {
		out = append(out, fmt.Sprintf("GroupIdType: %v is for Linux or Windows IDs, not Keeper's", v))
	}
	if (row["ActingAppName"] != "Web Vault" && row["ActingAppName"] != "Commander") || row["ActingAppType"] != "Other" {
		out = append(out, fmt.Sprintf("ActingAppName %v, ActingAppType %v: want the Keeper client (Web Vault), Other", row["ActingAppName"], row["ActingAppType"]))
	}
	return out
}
