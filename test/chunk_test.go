package test

// Fluent Bit chunks and Keeper event fixtures.
//
// Chunks are built with convert/chunktest: records in the Fluent Bit 2.1+
// format [[ts, {metadata}], {body}] and the older [ts, {body}] format, with
// ts an EventTime (msgpack ext type 0: big-endian uint32 seconds, uint32
// nanoseconds), an integer or a float. Fixtures are parsed from JSON lines
// keeping their key order, as Keeper writes them.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keeper-azmon/keeper-azmon/convert/chunktest"
)

// field and object: a JSON object that keeps its key order.
type field struct {
	key string
	val any
}

type object []field

func (o object) get(key string) (any, bool) {
	for _, f := range o {
		if f.key == key {
			return f.val, true
		}
	}
	return nil, false
}

func (o object) str(key string) string {
	v, _ := o.get(key)
	s, _ := v.(string)
	return s
}

// with returns a copy of o with key set to val (replaced in place or added).
func (o object) with(key string, val any) object {
	out := append(object(nil), o...)
	for i := range out {
		if out[i].key == key {
			out[i].val = val
			return out
		}
	}
	return append(out, field{key, val})
}

// parseObject decodes one JSON object, keeping key order and numbers as
// json.Number.
func parseObject(data []byte) (object, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeValue(dec)
	if err != nil {
		return nil, err
	}
	o, ok := v.(object)
	if !ok {
		return nil, fmt.Errorf("not a JSON object: %.40s", data)
	}
	return o, nil
}

func decodeValue(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch tok := tok.(type) {
	case json.Delim:
		switch tok {
		case '{':
			o := object{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				v, err := decodeValue(dec)
				if err != nil {
					return nil, err
				}
				o = append(o, field{kt.(string), v})
			}
			_, err := dec.Token()
			return o, err
		case '[':
			a := []any{}
			for dec.More() {
				v, err := decodeValue(dec)
				if err != nil {
					return nil, err
				}
				a = append(a, v)
			}
			_, err := dec.Token()
			return a, err
		}
		return nil, fmt.Errorf("unexpected %v", tok)
	default:
		return tok, nil
	}
}

// loadJSONL reads testdata/name, one JSON object a line.
func loadJSONL(t testing.TB, name string) []object {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var out []object
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		o, err := parseObject(line)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out = append(out, o)
	}
	return out
}

// keeperEvents are the seed's five sample events of the legacy API and its
// three Logs Ingestion samples, as Keeper emits them (the samples' own
// TimeGenerated is the plugin's job, so it is not part of the input).
func keeperEvents(t testing.TB) []object { return loadJSONL(t, "keeper_events.jsonl") }

// keeperExpected are the rows those events must become in KeeperLogs_CL.
func keeperExpected(t testing.TB) []object { return loadJSONL(t, "keeper_expected.jsonl") }

// ---- msgpack (via convert/chunktest) ----

// toMsgpack turns parsed JSON values into what chunktest encodes: objects
// keep their order, json.Number becomes an integer when it is one.
func toMsgpack(v any) any {
	switch v := v.(type) {
	case object:
		m := make(chunktest.Map, len(v))
		for i, f := range v {
			m[i] = chunktest.KV{Key: f.key, Value: toMsgpack(f.val)}
		}
		return m
	case []any:
		a := make([]any, len(v))
		for i, e := range v {
			a[i] = toMsgpack(e)
		}
		return a
	case json.Number:
		if i, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			return i
		}
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil {
			panic(err)
		}
		return f
	}
	return v
}

func appendEventV2(b []byte, t time.Time, meta, body object) []byte {
	return chunktest.AppendEventV2(b, t, toMsgpack(meta).(chunktest.Map), toMsgpack(body))
}

func appendEventV1(b []byte, t time.Time, body object) []byte {
	return chunktest.AppendEventV1(b, t, toMsgpack(body))
}

// appendEventV1Int and appendEventV1Float use the older integer and float
// timestamps (forward protocol, old Fluent Bit).
func appendEventV1Int(b []byte, t time.Time, body object) []byte {
	return chunktest.AppendEventV1(b, t.Unix(), toMsgpack(body))
}

func appendEventV1Float(b []byte, t time.Time, body object) []byte {
	return chunktest.AppendEventV1(b, float64(t.UnixNano())/1e9, toMsgpack(body))
}

// appendGroupMarker appends an OTLP group start (EventTime seconds
// 0xFFFFFFFF) or end (0xFFFFFFFE) marker: not a record.
func appendGroupMarker(b []byte, start bool) []byte {
	if !start {
		return chunktest.AppendGroupEnd(b)
	}
	return chunktest.AppendGroupStart(b,
		chunktest.M("schema", "otlp", "resource_id", 0, "scope_id", 0),
		chunktest.M("resource", chunktest.M("attributes", chunktest.M("service.name", "keeper"))))
}

// eventFormat writes one record; the tests run the same events through each.
type eventFormat struct {
	name   string
	append func(b []byte, t time.Time, body object) []byte
}

// formats are the event formats; the first is the one Fluent Bit 2.1+ writes.
func formats() []eventFormat {
	fluentMeta := object{}
	return []eventFormat{
		{"v2.1", func(b []byte, t time.Time, body object) []byte { return appendEventV2(b, t, fluentMeta, body) }},
		{"v1-eventtime", appendEventV1},
	}
}

// chunkOf builds a chunk of events in format f; each event's Fluent Bit
// time is eventTime(ev).
func chunkOf(f eventFormat, events []object) []byte {
	var b []byte
	for _, ev := range events {
		b = f.append(b, eventTime(ev), ev)
	}
	return b
}

func chunkV2(events []object) []byte { return chunkOf(formats()[0], events) }

// eventTime is the time Fluent Bit stamps on ev: deliberately not its
// Keeper timestamp (about 4 minutes later, with nanoseconds), so tests can
// tell which one the plugin used.
func eventTime(ev object) time.Time {
	ts, err := time.Parse(time.RFC3339Nano, ev.str("timestamp"))
	if err != nil {
		ts = time.Date(2025, 2, 1, 10, 0, 0, 0, time.UTC)
	}
	return ts.Add(4*time.Minute + 2*time.Second + 123456789*time.Nanosecond)
}

// ---- generated Keeper events ----

// genEvents makes n realistic, distinct Keeper events. Each carries a
// unique record_uid "<prefix>-<n>", which the keeper shape puts into data
// and the raw shape leaves at top level; eventID finds it either way.
func genEvents(prefix string, n int, seed int64) []object {
	auditEvents := []struct{ event, category string }{
		{"login", "login"}, {"login_failure", "login"}, {"change_master_password", "security"},
		{"set_two_factor_on", "security"}, {"set_two_factor_off", "security"},
		{"record_add", "usage"}, {"record_update", "usage"}, {"open_record", "usage"},
		{"copy_password", "usage"}, {"folder_add", "usage"}, {"shared_folder_user_add", "sharing"},
		{"role_created", "policy"}, {"role_enforcement_changed", "policy"},
		{"audit_alert_sent", "usage"}, {"added_to_team", "msp"}, {"bw_record_high_risk", "bw"},
	}
	clientVersions := []string{
		"EMConsole.17.0.0", "Web Vault.17.1.3", "Keeper Desktop.17.0.2",
		"Commander 16.11.9", "Android.16.4.10", "iOS.16.6.2", "Keeper Service.1.2.0",
	}
	enforcements := []string{
		"RESEND_ENTERPRISE_INVITE_IN_X_DAYS", "SEND_BREACH_WATCH_EVENTS",
		"GENERATED_PASSWORD_COMPLEXITY", "MASTER_PASSWORD_MINIMUM_LENGTH",
	}
	r := rand.New(rand.NewSource(seed))
	base := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	out := make([]object, n)
	for i := range out {
		ae := auditEvents[r.Intn(len(auditEvents))]
		ts := base.Add(time.Duration(i)*1137*time.Millisecond + time.Duration(r.Intn(1000))*time.Millisecond)
		ev := object{
			{"audit_event", ae.event},
			{"remote_address", fmt.Sprintf("%d.%d.%d.%d", 11+r.Intn(200), r.Intn(256), r.Intn(256), 1+r.Intn(254))},
			{"category", ae.category},
			{"client_version", clientVersions[r.Intn(len(clientVersions))]},
			{"username", fmt.Sprintf("user%04d@keeper-demo.example", r.Intn(5000))},
			{"enterprise_id", int64(6557)},
			{"timestamp", ts.Format("2006-01-02T15:04:05.000Z")},
			{"record_uid", fmt.Sprintf("%s-%06d", prefix, i)},
		}
		switch ae.category {
		case "policy":
			ev = append(ev,
				field{"role_id", strconv.FormatInt(28162100560074+int64(r.Intn(1000)), 10)},
				field{"enforcement", enforcements[r.Intn(len(enforcements))]},
				field{"value", strconv.Itoa(r.Intn(30))})
		case "usage", "sharing":
			ev = append(ev,
				field{"folder_uid", fmt.Sprintf("F%09d", r.Intn(1e9))},
				field{"shared_folder_uid", fmt.Sprintf("SF%08d", r.Intn(1e8))},
				field{"node_id", fmt.Sprintf("%d", 100000+r.Intn(900000))})
		case "login":
			ev = append(ev,
				field{"channel", []any{"master_password", "sso", "biometric"}[r.Intn(3)]},
				field{"geo_location", "US-CA-Sacramento"},
				field{"device_name", fmt.Sprintf("laptop-%03d", r.Intn(999))})
		default:
			ev = append(ev,
				field{"to_username", fmt.Sprintf("user%04d@keeper-demo.example", r.Intn(5000))},
				field{"message", "Administrative change made by security operations"},
				field{"some_flag", r.Intn(2) == 1})
		}
		out[i] = ev
	}
	return out
}

// splitChunks cuts events into chunks of size per chunk.
func splitChunks(f eventFormat, events []object, per int) [][]byte {
	var out [][]byte
	for i := 0; i < len(events); i += per {
		j := min(i+per, len(events))
		out = append(out, chunkOf(f, events[i:j]))
	}
	return out
}

func idsOf(events []object) []string {
	ids := make([]string, len(events))
	for i, ev := range events {
		ids[i] = ev.str("record_uid")
	}
	return ids
}

// jsonSize is how many bytes of JSON the events are, roughly what the
// plugin must send.
func jsonSize(events []object) int {
	n := 0
	for _, ev := range events {
		n += len(canonical(toPlain(ev)))
	}
	return n
}

// ---- rows ----

// toPlain turns an object into plain maps, as rows are.
func toPlain(v any) any {
	switch v := v.(type) {
	case object:
		m := make(map[string]any, len(v))
		for _, f := range v {
			m[f.key] = toPlain(f.val)
		}
		return m
	case []any:
		a := make([]any, len(v))
		for i, e := range v {
			a[i] = toPlain(e)
		}
		return a
	case int64:
		return json.Number(strconv.FormatInt(v, 10))
	case int:
		return json.Number(strconv.Itoa(v))
	}
	return v
}

// canonical renders a row as sorted-key JSON; nulls at top level count as
// missing columns (the table cannot tell them apart).
func canonical(v any) string {
	if m, ok := v.(map[string]any); ok {
		c := make(map[string]any, len(m))
		for k, e := range m {
			if e != nil {
				c[k] = e
			}
		}
		v = c
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("<%v>", err)
	}
	return string(b)
}

// eventID finds the unique record_uid of a generated event in a row of
// either shape.
func eventID(row map[string]any) string {
	if s, ok := row["record_uid"].(string); ok {
		return s
	}
	if d, ok := row["data"].(map[string]any); ok {
		if s, ok := d["record_uid"].(string); ok {
			return s
		}
	}
	return ""
}

// checkExactlyOnce requires rows to hold each of want exactly once and
// nothing else.
func checkExactlyOnce(t testing.TB, rows []map[string]any, want []string) {
	t.Helper()
	seen := make(map[string]int, len(rows))
	for _, r := range rows {
		seen[eventID(r)]++
	}
	var missing, dup []string
	for _, id := range want {
		switch n := seen[id]; {
		case n == 0:
			missing = append(missing, id)
		case n > 1:
			dup = append(dup, fmt.Sprintf("%s x%d", id, n))
		}
		delete(seen, id)
	}
	var extra []string
	for id, n := range seen {
		extra = append(extra, fmt.Sprintf("%q x%d", id, n))
	}
	sort.Strings(extra)
	if len(missing)+len(dup)+len(extra) > 0 {
		t.Errorf("rows: %d, want %d, each once: %d missing %s, %d duplicated %s, %d unexpected %s",
			len(rows), len(want), len(missing), firstFew(missing), len(dup), firstFew(dup), len(extra), firstFew(extra))
	}
}

func firstFew(s []string) string {
	if len(s) > 5 {
		return "[" + strings.Join(s[:5], " ") + " ...]"
	}
	return "[" + strings.Join(s, " ") + "]"
}

// nonFinite is a body with values JSON has no literal for and a map whose
// keys are not strings, as Fluent Bit passes them through.
func nonFinite(id string) object {
	return object{
		{"audit_event", "open_record"},
		{"category", "usage"},
		{"username", "nan@keeper-demo.example"},
		{"enterprise_id", int64(6557)},
		{"timestamp", "2025-03-04T05:06:07.000Z"},
		{"record_uid", id},
		{"score", math.NaN()},
		{"ratio", math.Inf(1)},
		{"floor", math.Inf(-1)},
		{"by_number", chunktest.Map{{Key: int64(1), Value: "one"}, {Key: int64(2), Value: "two"}}},
		{"blob", []byte("\x00\x01binary\xff")},
	}
}
