package convert_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// TestCommanderStructuredData reads Commander's unescaped structured data
// (audit-log --target=syslog-port) as the parsers leave it: the recipes'
// keeper-syslog, which keeps the structured data and the message together
// in extradata; the older recipe parser, which stopped extradata at the
// first `"]`; Fluent Bit's stock parser, which stops it at the first `] `.
// Each case is a line as Commander writes it, after the header. The event
// keeps every field, and the message is what follows the structured data.
func TestCommanderStructuredData(t *testing.T) {
	const gpc = `[{"domains":["_default_"],"length":20,"lower-use":false,"lower-min":5}]`
	cases := []struct {
		name      string
		extradata string // as the parser leaves it
		message   string // the parser's message, if it split one off
		want      map[string]any
	}{
		{"the seed's GENERATED_PASSWORD_COMPLEXITY value, then role_id",
			`[Keeper@Commander audit_event_type="role_enforcement_changed" enforcement="GENERATED_PASSWORD_COMPLEXITY" value="` + gpc + `" role_id="28162100560074"] Admin changed [` + gpc + `]`, "",
			map[string]any{"enforcement": "GENERATED_PASSWORD_COMPLEXITY", "value": gpc, "role_id": "28162100560074", "message": "Admin changed [" + gpc + "]"}},
		{"the same, as the old parser split it at the first `\"]`",
			`[Keeper@Commander audit_event_type="role_enforcement_changed" value="[{"domains":["_default_"]`, `,"length":20}]" role_id="1"] m`,
			// The old parser ate no space there; read together, a space
			// is put back: the one thing that reading cannot know.
			map[string]any{"value": `[{"domains":["_default_"] ,"length":20}]`, "role_id": "1", "message": "m"}},
		{"stock parser split at the first `] `",
			`[Keeper@Commander audit_event_type="audit_alert_sent" name="Page "soc"]`, `at once" recipient="soc@example.com"] `,
			map[string]any{"name": `Page "soc"] at once`, "recipient": "soc@example.com"}},
		{"`\"] ` inside a value, more fields after it",
			`[Keeper@Commander audit_event_type="audit_alert_sent" name="Page "soc"] at once" recipient="soc@example.com"] `, "",
			map[string]any{"name": `Page "soc"] at once`, "recipient": "soc@example.com"}},
		{"`\"] ` inside the last value: the structured data ends there",
			`[Keeper@Commander audit_event_type="audit_alert_sent" name="a"] b"] msg`, "",
			map[string]any{"name": "a", "message": `b"] msg`}},
		{"quotes inside a value, the value ending in a quote",
			`[Keeper@Commander audit_event_type="audit_alert_sent" name="He said "stop""] `, "",
			map[string]any{"name": `He said "stop"`}},
		{"` k=\"` inside a value with a name already seen is no field",
			`[Keeper@Commander audit_event_type="x" name="a" name="b" to="c"] m`, "",
			map[string]any{"name": `a" name="b`, "to": "c", "message": "m"}},
		{"` K=\"` with a name unlike Keeper's is no field",
			`[Keeper@Commander audit_event_type="x" name="<a Href="u"> z"] m`, "",
			map[string]any{"name": `<a Href="u"> z`, "message": "m"}},
		{"` k=\"` in the message, no `\"]` after it: still the message",
			`[Keeper@Commander audit_event_type="x" name="a"] set b="c`, "",
			map[string]any{"name": "a", "message": `set b="c`}},
		{"newlines in a value and in the message",
			"[Keeper@Commander audit_event_type=\"audit_alert_sent\" name=\"Off-hours\nlogin\" recipient=\"soc@example.com\"] Alert \"Off-hours\nlogin\"\nsent", "",
			map[string]any{"name": "Off-hours\nlogin", "recipient": "soc@example.com", "message": "Alert \"Off-hours\nlogin\"\nsent"}},
		{"tabs and non-ASCII",
			"[Keeper@Commander audit_event_type=\"login\" username=\"józef.świątek@example.com\" device=\"Kraków\tMacBook 東京\"] 日本\t語", "",
			map[string]any{"device": "Kraków\tMacBook 東京", "message": "日本\t語"}},
		{"empty value, empty message without its space",
			`[Keeper@Commander audit_event_type="x" name=""]`, "",
			map[string]any{"name": ""}},
		{"a line cut short: the last value runs to the end",
			`[Keeper@Commander audit_event_type="x" name="half`, "",
			map[string]any{"name": "half"}},
		{"no fields at all: the rest is the message",
			`[Keeper@Commander] hello`, "",
			map[string]any{"message": "hello"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := kv("pri", "110", "time", "2025-03-01T00:00:00Z", "host", "-", "ident", "Keeper", "pid", "-", "msgid", "7", "extradata", tc.extradata)
			if tc.message != "" {
				rec = append(rec, kv("message", tc.message)...)
			}
			row := one(t, sourceOpts(), v2(rec))
			var got struct {
				AuditEvent string         `json:"audit_event"`
				Data       map[string]any `json:"data"`
			}
			if err := json.Unmarshal([]byte(row), &got); err != nil {
				t.Fatal(err)
			}
			want := map[string]any{"id": "7"}
			for k, v := range tc.want {
				want[k] = v
			}
			if got.AuditEvent == "" && strings.Contains(tc.extradata, "audit_event_type") {
				t.Errorf("no audit_event: %s", row)
			}
			// Columns are checked by TestSources; here the fields in data.
			delete(got.Data, "username")
			delete(want, "username")
			if !reflect.DeepEqual(got.Data, want) {
				g, _ := json.Marshal(got.Data)
				w, _ := json.Marshal(want)
				t.Errorf("data\n got %s\nwant %s", g, w)
			}
		})
	}
}
