package convert_test

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/keeper-azmon/keeper-azmon/convert"
	"github.com/keeper-azmon/keeper-azmon/convert/chunktest"
	"github.com/keeper-azmon/keeper-azmon/internal/sourcetest"
)

// arrival is when Fluent Bit received the fixtures: never the event time.
func arrival() time.Time { return time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC) }

// sourceOpts is the configuration the recipes run with.
func sourceOpts() convert.Options {
	return convert.Options{Schema: convert.Keeper, TimeKey: "timestamp", EnterpriseID: sourcetest.EnterpriseID}
}

// keeperOrder is the Keeper shape's column order.
var keeperOrder = regexp.MustCompile(`^\{"TimeGenerated":[^,]*(,"audit_event":)?.*?(,"remote_address":)?.*?(,"category":)?.*?(,"client_version":)?.*?(,"username":)?.*?(,"enterprise_id":)?.*?,"timestamp":"[^"]*","data":\{.*\}\}$`)

// convertSource converts the records Fluent Bit makes of src with the
// recipes' syslog parser re.
func convertSource(t *testing.T, src sourcetest.Source, re *regexp.Regexp) (rows []map[string]any, lost int) {
	t.Helper()
	recs, lost, err := src.Records(re)
	if err != nil {
		t.Fatal(err)
	}
	return convertRecords(t, recs), lost
}

// convertRecords converts record bodies that arrived at arrival() and
// returns each row, decoded, checking the Keeper shape's column order.
func convertRecords(t *testing.T, recs []chunktest.Raw) (rows []map[string]any) {
	t.Helper()
	var chunk []byte
	for _, r := range recs {
		chunk = chunktest.AppendEventV2(chunk, arrival(), nil, r)
	}
	out, res, err := run(t, sourceOpts(), chunk)
	if err != nil || res.Skipped != 0 || res.Repeated != 0 {
		t.Fatalf("%+v, %v", res, err)
	}
	for _, r := range out {
		if !keeperOrder.MatchString(r) {
			t.Errorf("not in the Keeper shape's order: %s", r)
		}
		var row map[string]any
		if err := json.Unmarshal([]byte(r), &row); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, row)
	}
	return rows
}

func compareSourceRows(t *testing.T, got, want []map[string]any) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d rows, want %d", len(got), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			g, _ := json.Marshal(got[i])
			w, _ := json.Marshal(want[i])
			t.Errorf("row %d:\n got %s\nwant %s", i, g, w)
		}
	}
}

// TestSources converts every Keeper export, as the recipes' inputs and
// parser leave it, into the expected Keeper rows: columns under their
// Keeper names, the event's own time in TimeGenerated and timestamp, the
// envelope left out.
func TestSources(t *testing.T) {
	re, err := sourcetest.ParserRegex(filepath.Join(sourcetest.RecipeDir(), "parsers.conf"), "keeper-syslog")
	if err != nil {
		t.Fatal(err)
	}
	for _, src := range sourcetest.All() {
		t.Run(src.Name, func(t *testing.T) {
			want, err := src.Want()
			if err != nil {
				t.Fatal(err)
			}
			got, lost := convertSource(t, src, re)
			if lost != 0 {
				t.Fatalf("the recipe's parser lost %d lines", lost)
			}
			compareSourceRows(t, got, want)
		})
	}
}

// TestSourcesStockParser: with Fluent Bit's own syslog-rfc5424 parser,
// Keeper's push gives the same rows. Commander's lines fare badly: lines
// with an empty message, lines cut by a newline inside the event and
// their continuations are dropped, and the rest lose their time (the
// stock Time_Format wants a fraction of a second, so Fluent Bit drops the
// field and stamps the arrival time): which is why the recipes ship their
// own parser.
func TestSourcesStockParser(t *testing.T) {
	for _, src := range sourcetest.All() {
		if src.Name != "keeper-syslog-push" && src.Name != "commander-syslog" {
			continue
		}
		t.Run(src.Name, func(t *testing.T) {
			wire, want := src.Fixture(t)
			recs, lost, err := sourcetest.StockSyslogRecords(wire)
			if err != nil {
				t.Fatal(err)
			}
			if src.Name == "commander-syslog" {
				// Lost: the line with an empty message (event 5), event 9
				// cut at the newline in its value and its continuation,
				// and the continuation of event 8's message. (Event 7's
				// message looks empty, but the stock parser ends its
				// structured data at the `"] ` inside a value.)
				if lost != 4 {
					t.Fatalf("stock parser lost %d lines, want 4", lost)
				}
				keep := []int{0, 1, 2, 3, 5, 6, 7, 9}
				var w []map[string]any
				for _, i := range keep {
					row := want[i]
					at := arrival().Format("2006-01-02T15:04:05.000Z")
					row["TimeGenerated"], row["timestamp"] = at, at
					w = append(w, row)
				}
				// Event 8's message is cut at its newline.
				w[6]["data"].(map[string]any)["message"] = "User user@example.com logged in"
				want = w
			}
			compareSourceRows(t, convertRecords(t, recs), want)
		})
	}
}

// TestUnwrapRules covers what the fixtures do not: which envelope wins,
// what stays data, and input that only looks like a wrapped event.
func TestUnwrapRules(t *testing.T) {
	const pushJSON = `{"audit_event":"login","username":"u@example.com","enterprise_id":7}`
	const stamp = `"timestamp":"2025-03-01T00:00:00.000Z"`
	const tg = `"TimeGenerated":"2025-03-01T00:00:00.000Z"`
	cases := []struct {
		name string
		body M
		want string // the whole row; ts0 is Fluent Bit's time
	}{
		{"message JSON, no header time: Fluent Bit's time",
			kv("message", pushJSON),
			`{` + ts0Text + `,"audit_event":"login","username":"u@example.com","enterprise_id":7,` + ts0Stamp + `,"data":{}}`},
		{"log JSON with surrounding space, other fields kept in data",
			kv("log", " "+pushJSON+"\n", "kubernetes", kv("pod", "p"), "time", "2025-03-01T00:00:00Z"),
			`{` + tg + `,"audit_event":"login","username":"u@example.com","enterprise_id":7,` + stamp + `,"data":{"kubernetes":{"pod":"p"}}}`},
		{"the event's own timestamp beats the header",
			kv("time", "2020-01-01T00:00:00Z", "message", `{"audit_event":"x","timestamp":"2025-03-01T00:00:00Z"}`),
			`{` + tg + `,"audit_event":"x","enterprise_id":6557,` + stamp + `,"data":{}}`},
		{"event's fields win over the record's",
			kv("message", `{"audit_event":"x","username":"inner"}`, "username", "outer", "extra", 1),
			`{` + ts0Text + `,"audit_event":"x","username":"inner","enterprise_id":6557,` + ts0Stamp + `,"data":{"extra":1}}`},
		{"message JSON that is not a Keeper event stays a string",
			kv("message", `{"level":"info","msg":"audit_event soon"}`),
			`{` + ts0Text + `,` + ts0Stamp + `,"data":{"message":"{\"level\":\"info\",\"msg\":\"audit_event soon\"}"}}`},
		{"message naming audit_event only inside a nested value stays a string",
			kv("message", `{"inner":{"audit_event":"x"}}`),
			`{` + ts0Text + `,` + ts0Stamp + `,"data":{"message":"{\"inner\":{\"audit_event\":\"x\"}}"}}`},
		{"broken JSON stays a string",
			kv("message", `{"audit_event":"x",`),
			`{` + ts0Text + `,` + ts0Stamp + `,"data":{"message":"{\"audit_event\":\"x\","}}`},
		{"a record with its own event name is not unwrapped",
			kv("audit_event", "outer", "message", pushJSON),
			`{` + ts0Text + `,"audit_event":"outer",` + ts0Stamp + `,"data":{"message":` + jsonString(pushJSON) + `}}`},
		{"HEC event that is a string stays a string, envelope and all",
			kv("time", 1740787200, "host", "h", "event", "hello"),
			`{` + ts0Text + `,` + ts0Stamp + `,"data":{"time":1740787200,"host":"h","event":"hello"}}`},
		{"an event map without a HEC envelope is not unwrapped",
			kv("event", kv("audit_event", "x")),
			`{` + ts0Text + `,` + ts0Stamp + `,"data":{"event":{"audit_event":"x"}}}`},
		{"HEC time as a float",
			kv("time", 1740787200.5, "event", kv("audit_event_type", "login")),
			`{"TimeGenerated":"2025-03-01T00:00:00.500Z","audit_event":"login","enterprise_id":6557,"timestamp":"2025-03-01T00:00:00.500Z","data":{}}`},
		{"Commander's created, in epoch seconds",
			kv("id", 12, "created", 1740787200, "audit_event_type", "login"),
			`{` + tg + `,"audit_event":"login","enterprise_id":6557,` + stamp + `,"data":{"id":12}}`},
		{"Keeper's names win over Commander's, which stay in data",
			kv("audit_event_type", "raw", "audit_event", "push", "ip_address", "1.1.1.1", "remote_address", "2.2.2.2"),
			`{` + ts0Text + `,"audit_event":"push","remote_address":"2.2.2.2","enterprise_id":6557,` + ts0Stamp + `,"data":{"audit_event_type":"raw","ip_address":"1.1.1.1"}}`},
		{"the enterprise_id property does not replace the event's",
			kv("audit_event", "x", "enterprise_id", 42),
			`{` + ts0Text + `,"audit_event":"x","enterprise_id":42,` + ts0Stamp + `,"data":{}}`},
		{"the property fills an enterprise_id that does not fit",
			kv("audit_event", "x", "enterprise_id", "n/a"),
			`{` + ts0Text + `,"audit_event":"x","enterprise_id":6557,` + ts0Stamp + `,"data":{"enterprise_id":"n/a"}}`},
		{"Commander structured data without a message or address",
			kv("pri", "110", "time", "2025-03-01T00:00:00Z", "host", "-", "ident", "Keeper", "pid", "-", "msgid", "7", "extradata", `[Keeper@Commander audit_event_type="login"]`, "message", ""),
			`{` + tg + `,"audit_event":"login","enterprise_id":6557,` + stamp + `,"data":{"id":"7"}}`},
		{"other structured data stays as it is",
			kv("pri", "13", "host", "h", "extradata", `[exampleSDID@32473 iut="3"]`, "message", "hi"),
			`{` + ts0Text + `,` + ts0Stamp + `,"data":{"pri":"13","host":"h","extradata":"[exampleSDID@32473 iut=\"3\"]","message":"hi"}}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opts := sourceOpts()
			if strings.Contains(tc.name, "not unwrapped") || strings.Contains(tc.name, "stays") {
				opts.EnterpriseID = 0
			}
			if got := one(t, opts, v2(tc.body)); got != tc.want {
				t.Fatalf("\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
