package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tinylib/msgp/msgp"

	"github.com/keeper-azmon/keeper-azmon/convert"
	"github.com/keeper-azmon/keeper-azmon/convert/chunktest"
)

// convertLine turns one JSON line into a record through the encoder and
// the plugin's converter, and returns the converted JSON.
func convertLine(t *testing.T, schema convert.Schema, line string, ts time.Time) string {
	t.Helper()
	chunk, err := appendJSONRecord(nil, []byte(line), ts)
	if err != nil {
		t.Fatalf("encode %s: %v", line, err)
	}
	opts := convert.Options{Schema: schema}
	if schema == convert.Keeper {
		opts.TimeKey = "timestamp"
	}
	var recs convert.Records
	res, err := convert.New(opts).Convert(chunk, &recs)
	if err != nil || recs.Len() != 1 || res.Skipped != 0 {
		t.Fatalf("convert %s: %v, %d records, %+v", line, err, recs.Len(), res)
	}
	return string(recs.Record(0))
}

// TestJSONToMsgpackRoundTrip: JSON lines through the encoder and convert
// (raw schema) come back with the same keys in the same order, numbers
// exact and nested values intact.
func TestJSONToMsgpackRoundTrip(t *testing.T) {
	ts := time.Date(2025, 1, 23, 1, 31, 11, 123_000_000, time.UTC)
	const tg = `{"TimeGenerated":"2025-01-23T01:31:11.123Z",`
	many := make([]string, 20)
	for i := range many {
		many[i] = fmt.Sprintf(`"k%02d":%d`, 19-i, i)
	}
	longArr := strings.TrimSuffix(strings.Repeat("1,", 70000), ",")
	tests := []struct {
		name, in, want string
	}{
		{"key order kept", `{"z":1,"a":2,"m":3}`, tg + `"z":1,"a":2,"m":3}`},
		{"white space", " {\t\"a\" : \"x\" , \"b\":[ ] }  ", tg + `"a":"x","b":[]}`},
		{"integers exact", `{"max":9223372036854775807,"min":-9223372036854775808,"umax":18446744073709551615,"zero":0,"neg":-1,"small":127,"big":4294967296}`,
			tg + `"max":9223372036854775807,"min":-9223372036854775808,"umax":18446744073709551615,"zero":0,"neg":-1,"small":127,"big":4294967296}`},
		{"floats exact", `{"a":0.1,"b":-2.5e-7,"c":1.7976931348623157e308,"d":3.141592653589793,"e":1.5}`,
			tg + `"a":0.1,"b":-2.5e-7,"c":1.7976931348623157e+308,"d":3.141592653589793,"e":1.5}`},
		{"integral floats", `{"a":1.0,"b":1e3,"c":-0.0}`, tg + `"a":1,"b":1000,"c":-0}`},
		{"beyond uint64 becomes a float", `{"a":18446744073709551616}`, tg + `"a":18446744073709552000}`},
		{"nested", `{"data":{"node_id":"abc","list":[1,"two",{"three":3,"x":null},[true,false]],"empty":{}},"after":"y"}`,
			tg + `"data":{"node_id":"abc","list":[1,"two",{"three":3,"x":null},[true,false]],"empty":{}},"after":"y"}`},
		{"strings and escapes", `{"s":"a\"b\\c\n\u00e9\u2028\ud83d\ude00","u":"héllo"}`, tg + `"s":"a\"b\\c\né\u2028😀","u":"héllo"}`},
		{"map of 20 keys (map16 header)", "{" + strings.Join(many, ",") + "}", tg + strings.Join(many, ",") + "}"},
		{"array of 70000 (array32 header)", `{"a":[` + longArr + `]}`, tg + `"a":[` + longArr + `]}`},
		{"empty object", `{}`, `{"TimeGenerated":"2025-01-23T01:31:11.123Z"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := convertLine(t, convert.Raw, tc.in, ts)
			if got != tc.want {
				if len(got) > 300 {
					got, tc.want = got[:300], tc.want[:min(300, len(tc.want))]
				}
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

// TestJSONToMsgpackSeed: the seed's sample events as JSON lines give
// exactly the plugin's Keeper shape (the same bytes as chunktest's
// msgpack of them).
func TestJSONToMsgpackSeed(t *testing.T) {
	want := chunktest.SeedKeeperJSON()
	for i, ev := range chunktest.SeedEvents() {
		line, err := json.Marshal(ev) // in the event's order
		if err != nil {
			t.Fatal(err)
		}
		if got := convertLine(t, convert.Keeper, string(line), time.Now()); got != want[i] {
			t.Errorf("event %d:\ngot  %s\nwant %s", i, got, want[i])
		}
	}
}

// TestJSONToMsgpackShape checks the record frame and the shortest headers.
func TestJSONToMsgpackShape(t *testing.T) {
	ts := time.Unix(1737595871, 123456789)
	chunk, err := appendJSONRecord(nil, []byte(`{"a":[1,2],"b":{"c":"d"}}`), ts)
	if err != nil {
		t.Fatal(err)
	}
	want := chunktest.AppendEventV2(nil, ts, chunktest.Map{}, chunktest.M("a", []any{1, 2}, "b", chunktest.M("c", "d")))
	if string(chunk) != string(want) {
		t.Errorf("chunk\n% x\nwant\n% x", chunk, want)
	}
	// Two records follow each other.
	chunk, err = appendJSONRecord(chunk, []byte(`{"x":1}`), ts)
	if err != nil {
		t.Fatal(err)
	}
	rest, err := msgp.Skip(chunk)
	if err != nil {
		t.Fatal(err)
	}
	if rest, err = msgp.Skip(rest); err != nil || len(rest) != 0 {
		t.Errorf("two records do not frame: %v, %d bytes left", err, len(rest))
	}
}

// TestJSONToMsgpackErrors: a bad line is an error and leaves the chunk as it was.
func TestJSONToMsgpackErrors(t *testing.T) {
	tests := []struct{ in, err string }{
		{`{"a":}`, "invalid JSON"},
		{`{"a":1`, "unexpected end of line"},
		{`[1,2]`, `not a JSON object (starts with "[")`},
		{`"text"`, "not a JSON object (starts with a string)"},
		{`42`, "not a JSON object"},
		{`{"a":1} {"b":2}`, `unexpected "{" after the object`},
		{`{"a":1} x`, "invalid JSON after the object"},
		{`{"a":1e999}`, "number 1e999 is out of range"},
		{`{"a":tru}`, "invalid JSON"},
		{``, "unexpected end of line"},
	}
	prefix, err := appendJSONRecord(nil, []byte(`{"ok":1}`), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := appendJSONRecord(append([]byte(nil), prefix...), []byte(tc.in), time.Now())
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("error %v, want %q", err, tc.err)
			}
			if string(got) != string(prefix) {
				t.Errorf("the chunk changed on error: %d bytes, want %d", len(got), len(prefix))
			}
		})
	}
}
