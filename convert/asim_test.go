package convert_test

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/keeper-azmon/keeper-azmon/convert"
	"github.com/keeper-azmon/keeper-azmon/convert/chunktest"
	"github.com/keeper-azmon/keeper-azmon/internal/docblock"
)

// TestASIMCatalogue: every class is one the ASIM schemas allow, each event
// is there once, in order, and no value needs escaping in JSON.
func TestASIMCatalogue(t *testing.T) {
	eventTypes := map[convert.ASIMSchema][]string{
		convert.ASIMAuthentication: {"Logon", "Logoff", "Elevate"},
		convert.ASIMUserManagement: {"UserCreated", "UserDeleted", "UserModified", "UserLocked", "UserUnlocked", "UserDisabled",
			"UserEnabled", "PasswordChanged", "PasswordReset", "GroupCreated", "GroupDeleted", "GroupModified",
			"UserAddedToGroup", "UserRemovedFromGroup", "GroupEnumerated", "UserRead", "GroupRead"},
		convert.ASIMAudit: {"Set", "Read", "Create", "Delete", "Execute", "Install", "Clear", "Enable", "Disable", "Other"},
	}
	logonMethods := []string{"", "Managed Identity", "Service Principal", "Username & Password", "Multi factor authentication", "Passwordless", "PKI", "PAM", "Other"}
	objectTypes := []string{"Cloud Resource", "Configuration Atom", "Policy Rule", "Event Log", "Scheduled Task", "Service", "Directory Service Object", "Other"}
	plain := regexp.MustCompile(`^[A-Za-z0-9_ &-]*$`)
	cat := convert.ASIMCatalogue()
	var per [3]int
	for i, c := range cat {
		if i > 0 && cat[i-1].Event >= c.Event {
			t.Errorf("%s after %s: not in order, or twice", c.Event, cat[i-1].Event)
		}
		if !slices.Contains(eventTypes[c.Schema], c.EventType) {
			t.Errorf("%s: EventType %q is not one of %s's", c.Event, c.EventType, c.Schema)
		}
		if !slices.Contains([]string{"Success", "Failure", "Partial"}, c.Result) {
			t.Errorf("%s: EventResult %q", c.Event, c.Result)
		}
		if !slices.Contains([]string{"Informational", "Low", "Medium", "High"}, c.Severity) {
			t.Errorf("%s: EventSeverity %q", c.Event, c.Severity)
		}
		if c.Result == "Failure" && c.Severity == "Informational" {
			t.Errorf("%s: a failure is at least Low", c.Event)
		}
		if c.ResultDetails != "" && (c.Result != "Failure" || !slices.Contains([]string{"No such user or password", "Logon violates policy", "Other"}, c.ResultDetails)) {
			t.Errorf("%s: EventResultDetails %q for a %s", c.Event, c.ResultDetails, c.Result)
		}
		if !slices.Contains(logonMethods, c.LogonMethod) {
			t.Errorf("%s: LogonMethod %q", c.Event, c.LogonMethod)
		}
		if c.Schema == convert.ASIMAudit && !slices.Contains(objectTypes, c.ObjectType) {
			t.Errorf("%s: ObjectType %q", c.Event, c.ObjectType)
		}
		// Each detail belongs to one schema's column.
		for _, d := range []struct {
			schema convert.ASIMSchema
			v      string
		}{{convert.ASIMAuthentication, c.LogonMethod}, {convert.ASIMUserManagement, c.UpdatedProperty}, {convert.ASIMAudit, c.ObjectType}} {
			if d.v != "" && d.schema != c.Schema {
				t.Errorf("%s (%s) has a detail of %s: %q", c.Event, c.Schema, d.schema, d.v)
			}
		}
		for _, v := range []string{c.Event, c.EventType, c.Result, c.Severity, c.LogonMethod, c.UpdatedProperty, c.ObjectType} {
			if !plain.MatchString(v) {
				t.Errorf("%s: %q would need escaping", c.Event, v)
			}
		}
		per[c.Schema]++
	}
	for _, ev := range []string{"login", "login_console", "login_failure", "login_failed_console", "login_failed_ip_whitelist", "two_factor_code_invalid"} {
		if c := find(cat, ev); c.Schema != convert.ASIMAuthentication || c.EventType != "Logon" {
			t.Errorf("%s: %+v, want an Authentication Logon", ev, c)
		}
	}
	for ev, et := range map[string]string{"create_user": "UserCreated", "delete_user": "UserDeleted", "lock_user": "UserLocked",
		"enable_user": "UserEnabled", "change_master_password": "PasswordChanged", "added_to_role": "UserAddedToGroup",
		"removed_from_team": "UserRemovedFromGroup", "role_created": "GroupCreated", "team_created": "GroupCreated",
		"set_two_factor_off": "UserModified", "expire_password": "UserModified"} {
		if c := find(cat, ev); c.Schema != convert.ASIMUserManagement || c.EventType != et {
			t.Errorf("%s: %+v, want UserManagement %s", ev, c, et)
		}
	}
	t.Logf("Authentication %d, UserManagement %d, Audit %d", per[0], per[1], per[2])
}

func find(cat []convert.ASIMEvent, event string) convert.ASIMEvent {
	for _, c := range cat {
		if c.Event == event {
			return c
		}
	}
	return convert.ASIMEvent{}
}

// TestASIMRows: the whole row of one event of each schema, and of one the
// catalogue does not know; the stream each goes to.
func TestASIMRows(t *testing.T) {
	const common = `"TimeGenerated":"2025-03-01T00:00:00.000Z","EventStartTime":"2025-03-01T00:00:00.000Z","EventEndTime":"2025-03-01T00:00:00.000Z","EventCount":1,"EventVendor":"Keeper Security","EventProduct":"Keeper","DvcHostname":"Keeper"`
	cases := []struct {
		name   string
		body   M
		stream convert.ASIMSchema
		want   string
	}{
		{"failed logon, Keeper's push", kv("audit_event", "login_failure", "remote_address", "192.0.2.44", "category", "security", "client_version", "Web Vault.17.0.3",
			"username", "user@example.com", "enterprise_id", 6557, "timestamp", "2025-03-01T00:00:00Z", "result_code", "auth_failed"),
			convert.ASIMAuthentication,
			`{` + common + `,"EventSchemaVersion":"0.1.4","EventType":"Logon","EventResult":"Failure","EventResultDetails":"No such user or password","EventOriginalResultDetails":"auth_failed","EventSeverity":"Low","EventOriginalType":"login_failure","ActorUsername":"user@example.com","ActorUsernameType":"UPN","TargetUsername":"user@example.com","TargetUsernameType":"UPN","TargetAppName":"Keeper","TargetAppType":"SaaS application","SrcIpAddr":"192.0.2.44","ActingAppName":"Web Vault","ActingAppType":"Other","AdditionalFields":{"category":"security","enterprise_id":6557,"client_version":"Web Vault.17.0.3"}}`},
		{"role membership, Commander's names", kv("audit_event_type", "added_to_role", "ip_address", "198.51.100.7", "keeper_version", "EMConsole.17.1.2",
			"username", "admin@example.com", "created", 1740787200, "to_username", "new.hire@example.com", "role_id", 28162100560074, "id", 12),
			convert.ASIMUserManagement,
			`{` + common + `,"EventSchema":"UserManagement","EventSchemaVersion":"0.1.2","EventType":"UserAddedToGroup","EventResult":"Success","EventSeverity":"Informational","EventOriginalType":"added_to_role","ActorUsername":"admin@example.com","ActorUsernameType":"UPN","TargetUsername":"new.hire@example.com","TargetUsernameType":"UPN","GroupId":"28162100560074","GroupType":"Other","GroupOriginalType":"Role","SrcIpAddr":"198.51.100.7","ActingAppName":"EMConsole","ActingAppType":"Other","AdditionalFields":{"client_version":"EMConsole.17.1.2","id":12}}`},
		{"a property changed: its name in AdditionalFields, Keeper's value as the new one", kv("audit_event", "alias_added", "username", "user@example.com", "timestamp", "2025-03-01T00:00:00Z",
			"value", "alias@example.com", "client_version", "iOS.17.2.1"),
			convert.ASIMUserManagement,
			`{` + common + `,"EventSchema":"UserManagement","EventSchemaVersion":"0.1.2","EventType":"UserModified","EventResult":"Success","EventSeverity":"Informational","EventOriginalType":"alias_added","ActorUsername":"user@example.com","ActorUsernameType":"UPN","TargetUsername":"user@example.com","TargetUsernameType":"UPN","NewPropertyValue":"alias@example.com","ActingAppName":"iOS","ActingAppType":"Other","AdditionalFields":{"UpdatedPropertyName":"Alias","client_version":"iOS.17.2.1"}}`},
		{"policy change", kv("audit_event", "role_enforcement_changed", "username", "admin@example.com", "timestamp", "2025-03-01T00:00:00Z",
			"role_id", "28162100560074", "enforcement", "restrict_ip_addresses", "value", "203.0.113.0/24"),
			convert.ASIMAudit,
			`{` + common + `,"EventSchemaVersion":"0.1.2","EventType":"Set","EventResult":"Success","EventSeverity":"Medium","EventOriginalType":"role_enforcement_changed","ActorUsername":"admin@example.com","ActorUsernameType":"UPN","Operation":"role_enforcement_changed","Object":"restrict_ip_addresses","ObjectId":"28162100560074","OriginalObjectType":"enforcement","ObjectType":"Policy Rule","NewValue":"203.0.113.0/24","ValueType":"Other","AdditionalFields":{}}`},
		{"record, with data the table has no column for", kv("audit_event", "record_update", "username", "ALERT", "timestamp", "2025-03-01T00:00:00Z",
			"record_uid", "r1", "shared_folder_uid", "sf1", "data", kv("node_id", 7)),
			convert.ASIMAudit,
			`{` + common + `,"EventSchemaVersion":"0.1.2","EventType":"Set","EventResult":"Success","EventSeverity":"Informational","EventOriginalType":"record_update","ActorUsername":"ALERT","ActorUsernameType":"Simple","Operation":"record_update","Object":"r1","ObjectId":"r1","OriginalObjectType":"record_uid","ObjectType":"Other","AdditionalFields":{"node_id":7,"shared_folder_uid":"sf1"}}`},
		{"a remote_address that is no IP address stays out of SrcIpAddr", kv("audit_event", "login", "remote_address", "unknown", "username", "ALERT", "timestamp", "2025-03-01T00:00:00Z"),
			convert.ASIMAuthentication,
			`{` + common + `,"EventSchemaVersion":"0.1.4","EventType":"Logon","EventResult":"Success","EventSeverity":"Informational","EventOriginalType":"login","ActorUsername":"ALERT","ActorUsernameType":"Simple","TargetUsername":"ALERT","TargetUsernameType":"Simple","TargetAppName":"Keeper","TargetAppType":"SaaS application","AdditionalFields":{"remote_address":"unknown"}}`},
		{"an event the catalogue does not know", kv("audit_event", "keeper_event_from_the_future", "timestamp", "2025-03-01T00:00:00Z", "x", 1),
			convert.ASIMAudit,
			`{` + common + `,"EventSchemaVersion":"0.1.2","EventType":"Other","EventResult":"Success","EventSeverity":"Informational","EventOriginalType":"keeper_event_from_the_future","Operation":"keeper_event_from_the_future","Object":"enterprise","OriginalObjectType":"enterprise","ObjectType":"Other","AdditionalFields":{"x":1}}`},
		{"not a Keeper event at all", kv("log", "hello", "timestamp", "2025-03-01T00:00:00Z"),
			convert.ASIMAudit,
			`{` + common + `,"EventSchemaVersion":"0.1.2","EventType":"Other","EventResult":"Success","EventSeverity":"Informational","Operation":"unknown","Object":"enterprise","OriginalObjectType":"enterprise","ObjectType":"Other","AdditionalFields":{"log":"hello"}}`},
	}
	c := convert.New(convert.Options{Schema: convert.ASIM, TimeKey: "timestamp"})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out convert.Records
			if _, err := c.Convert(chunktest.AppendEventV2(nil, ts0(), nil, tc.body), &out); err != nil || out.Len() != 1 {
				t.Fatalf("%d records, %v", out.Len(), err)
			}
			if got := string(out.Record(0)); got != tc.want {
				t.Errorf("\n got %s\nwant %s", got, tc.want)
			}
			if got := convert.ASIMSchema(out.Stream(0)); got != tc.stream {
				t.Errorf("stream %v, want %v", got, tc.stream)
			}
			checkColumns(t, out.Record(0), tc.stream)
		})
	}
}

// checkColumns requires every column of row to be one ASIMColumns declares
// for schema, with a value of its type.
func checkColumns(t *testing.T, row []byte, schema convert.ASIMSchema) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(row, &m); err != nil {
		t.Fatal(err)
	}
	types := map[string]string{}
	for _, c := range convert.ASIMColumns(schema) {
		types[c[0]] = c[1]
	}
	for k, v := range m {
		typ, ok := types[k]
		if !ok {
			t.Errorf("column %s is not declared for %s", k, schema)
			continue
		}
		switch v.(type) {
		case string:
			ok = typ == "string" || typ == "datetime"
		case float64:
			ok = typ == "int"
		case map[string]any:
			ok = typ == "dynamic"
		default:
			ok = false
		}
		if !ok {
			t.Errorf("column %s: %T for type %s", k, v, typ)
		}
	}
}

// TestASIMEnterpriseIDOption: an event without enterprise_id (Commander's
// exports) takes the configured one in AdditionalFields, after the fields
// that come first, and a data member of the same name is a duplicate.
func TestASIMEnterpriseIDOption(t *testing.T) {
	body := kv("audit_event", "alias_added", "username", "user@example.com", "timestamp", "2025-03-01T00:00:00Z",
		"category", "usage", "client_version", "Commander.18.0.13", "data", kv("enterprise_id", 1, "extra", "x"))
	c := convert.New(convert.Options{Schema: convert.ASIM, TimeKey: "timestamp", EnterpriseID: 6557})
	var out convert.Records
	res, err := c.Convert(chunktest.AppendEventV2(nil, ts0(), nil, body), &out)
	if err != nil || out.Len() != 1 {
		t.Fatalf("%d records, %v", out.Len(), err)
	}
	var row struct{ AdditionalFields json.RawMessage }
	if err := json.Unmarshal(out.Record(0), &row); err != nil {
		t.Fatal(err)
	}
	want := `{"UpdatedPropertyName":"Alias","category":"usage","enterprise_id":6557,"client_version":"Commander.18.0.13","extra":"x"}`
	if got := string(row.AdditionalFields); got != want {
		t.Errorf("AdditionalFields\n got %s\nwant %s", got, want)
	}
	if res.Repeated != 1 {
		t.Errorf("Repeated = %d, want 1 (data's enterprise_id)", res.Repeated)
	}
}

// TestCatalogueIsCommandersList: the catalogue holds every event code of
// Keeper Commander's list with its display name, and any other event says
// where it was seen and has no display name (Keeper publishes none).
func TestCatalogueIsCommandersList(t *testing.T) {
	b, err := os.ReadFile("testdata/commander-audit-events.tsv")
	if err != nil {
		t.Fatal(err)
	}
	commander := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		code, name, ok := strings.Cut(line, "\t")
		if !ok {
			t.Fatalf("testdata line %q is not code<TAB>name", line)
		}
		commander[code] = name
	}
	cat := map[string]convert.ASIMEvent{}
	for _, c := range convert.ASIMCatalogue() {
		cat[c.Event] = c
		name, listed := commander[c.Event]
		switch {
		case listed && c.Name != name:
			t.Errorf("%s: display name %q, Commander's is %q", c.Event, c.Name, name)
		case listed && c.Source != "":
			t.Errorf("%s is in Commander's list: it needs no Source", c.Event)
		case !listed && (c.Source == "" || c.Name != ""):
			t.Errorf("%s is not in Commander's list: give its Source and no display name (%+v)", c.Event, c)
		}
	}
	for code := range commander {
		if _, ok := cat[code]; !ok {
			t.Errorf("Commander's %s is not in the catalogue", code)
		}
	}
}

// TestASIMCatalogueDoc: the catalogue table of docs/keeper-events.md is the
// one in code (UPDATE_DOCS=1 rewrites the block).
func TestASIMCatalogueDoc(t *testing.T) {
	var b strings.Builder
	b.WriteString("| Keeper event | Keeper's name for it | schema | EventType | EventResult | EventSeverity | LogonMethod / UpdatedPropertyName / ObjectType |\n|---|---|---|---|---|---|---|\n")
	for _, c := range convert.ASIMCatalogue() {
		name := c.Name
		if name == "" {
			name = "(not in Commander's list; seen in " + c.Source + ")"
		}
		b.WriteString("| `" + c.Event + "` | " + name + " | " + c.Schema.String() + " | " + c.EventType + " | " + c.Result + " | " + c.Severity + " | " + c.LogonMethod + c.UpdatedProperty + c.ObjectType + " |\n")
	}
	docblock.Check(t, "../docs/keeper-events.md", "asim-catalogue", b.String(), "UPDATE_DOCS", "go test ./convert -run TestASIMCatalogueDoc")
}
