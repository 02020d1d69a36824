package convert_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tinylib/msgp/msgp"

	"github.com/keeper-azmon/keeper-azmon/convert"
	"github.com/keeper-azmon/keeper-azmon/convert/chunktest"
)

// ts0 is the Fluent Bit event time of the test records.
func ts0() time.Time { return time.Date(2025, 1, 23, 1, 31, 11, 123456789, time.UTC) }

const ts0Text = `"TimeGenerated":"2025-01-23T01:31:11.123Z"`

// ts0Stamp is the timestamp column written for an event that has none of
// its own: the event's time, as in TimeGenerated.
const ts0Stamp = `"timestamp":"2025-01-23T01:31:11.123Z"`

type M = chunktest.Map

// kv is chunktest.M: a map of the given keys and values, in order.
func kv(pairs ...any) M { return chunktest.M(pairs...) }

// run converts chunk and checks the invariants every conversion keeps:
// each record is valid compact JSON starting with TimeGenerated.
func run(t *testing.T, opts convert.Options, chunk []byte) ([]string, convert.Result, error) {
	t.Helper()
	var out convert.Records
	res, err := convert.New(opts).Convert(chunk, &out)
	if out.Len() != res.Records {
		t.Fatalf("out.Len() = %d, Result.Records = %d", out.Len(), res.Records)
	}
	var recs []string
	size := 0
	for i := 0; i < out.Len(); i++ {
		r := out.Record(i)
		size += len(r)
		checkRecord(t, opts.Schema, r)
		recs = append(recs, string(r))
	}
	if size != out.Size() {
		t.Fatalf("Size() = %d, sum of records = %d", out.Size(), size)
	}
	return recs, res, err
}

// checkRecord checks one output record.
func checkRecord(t testing.TB, schema convert.Schema, r []byte) {
	t.Helper()
	if !json.Valid(r) {
		t.Fatalf("invalid JSON: %q", r)
	}
	if bytes.ContainsAny(r, "\n\r") {
		t.Fatalf("record contains a newline: %q", r)
	}
	if !bytes.HasPrefix(r, []byte(`{"TimeGenerated":"`)) {
		t.Fatalf("record does not start with TimeGenerated: %q", r)
	}
	var c bytes.Buffer
	if err := json.Compact(&c, r); err != nil || !bytes.Equal(c.Bytes(), r) {
		t.Fatalf("record is not compact: %q", r)
	}
	if _, err := time.Parse("2006-01-02T15:04:05.000Z", string(r[18:18+24])); err != nil {
		t.Fatalf("bad TimeGenerated in %q: %v", r, err)
	}
	if schema == convert.Keeper {
		checkKeeperKeys(t, r)
	}
}

// checkKeeperKeys checks the top-level keys of a Keeper record: only the
// nine columns, in order, data always present and an object.
func checkKeeperKeys(t testing.TB, r []byte) {
	t.Helper()
	order := []string{"TimeGenerated", "audit_event", "remote_address", "category", "client_version", "username", "enterprise_id", "timestamp", "data"}
	dec := json.NewDecoder(bytes.NewReader(r))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object: %q", r)
	}
	next := 0
	var last string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("%q: %v", r, err)
		}
		k := tok.(string)
		i := next
		for i < len(order) && order[i] != k {
			i++
		}
		if i == len(order) {
			t.Fatalf("top-level key %q not allowed or out of order in %q", k, r)
		}
		next = i + 1
		last = k
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("%q: %v", r, err)
		}
		switch k {
		case "data":
			if _, ok := v.(map[string]any); !ok {
				t.Fatalf("data is not an object in %q", r)
			}
		case "enterprise_id":
			if n, ok := v.(json.Number); !ok || strings.ContainsAny(string(n), ".eE") {
				t.Fatalf("enterprise_id is not an integer in %q", r)
			}
		case "TimeGenerated", "timestamp":
			if _, err := time.Parse("2006-01-02T15:04:05.000Z", v.(string)); err != nil {
				t.Fatalf("%s is not a millisecond UTC time in %q", k, r)
			}
		default:
			if _, ok := v.(string); !ok {
				t.Fatalf("%s is not a string in %q", k, r)
			}
		}
	}
	if last != "data" {
		t.Fatalf("data missing or not last in %q", r)
	}
}

func v1(body any) []byte { return chunktest.AppendEventV1(nil, ts0(), body) }
func v2(body any) []byte { return chunktest.AppendEventV2(nil, ts0(), nil, body) }

// one converts a single record and returns its JSON.
func one(t *testing.T, opts convert.Options, chunk []byte) string {
	t.Helper()
	recs, res, err := run(t, opts, chunk)
	if err != nil || res.Skipped != 0 || len(recs) != 1 {
		t.Fatalf("got %d records, %+v, %v", len(recs), res, err)
	}
	return recs[0]
}

func rawOpts() convert.Options { return convert.Options{Schema: convert.Raw} }

func keeperOpts() convert.Options {
	return convert.Options{Schema: convert.Keeper, TimeKey: "timestamp"}
}

func TestSeedEvents(t *testing.T) {
	want := chunktest.SeedKeeperJSON()
	for _, format := range []bool{false, true} {
		recs, res, err := run(t, keeperOpts(), chunktest.SeedChunk(format))
		if err != nil || res.Skipped != 0 || res.Truncated != 0 || res.Problem != nil {
			t.Fatalf("v2=%v: %+v, %v", format, res, err)
		}
		if len(recs) != len(want) {
			t.Fatalf("v2=%v: %d records, want %d", format, len(recs), len(want))
		}
		for i := range want {
			if recs[i] != want[i] {
				t.Errorf("v2=%v record %d:\n got %s\nwant %s", format, i, recs[i], want[i])
			}
		}
	}
}

func TestSeedEventsWithoutTimeKey(t *testing.T) {
	// Without a time key TimeGenerated is Fluent Bit's event time, which
	// SeedChunk sets one hour after the timestamp field.
	recs, _, err := run(t, convert.Options{}, chunktest.SeedChunk(true))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"TimeGenerated":"2025-01-12T01:03:44.743Z","audit_event":"role_created",`
	if !strings.HasPrefix(recs[0], want) {
		t.Fatalf("got %s, want prefix %s", recs[0], want)
	}
	if !strings.Contains(recs[0], `"timestamp":"2025-01-12T00:03:44.743Z"`) {
		t.Fatalf("timestamp column changed: %s", recs[0])
	}
}

func TestSeedRaw(t *testing.T) {
	recs, _, err := run(t, convert.Options{Schema: convert.Raw}, chunktest.SeedChunk(false))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`{"TimeGenerated":"2025-01-12T01:03:44.743Z","audit_event":"role_created","remote_address":"11.22.33.44","category":"policy","client_version":"EMConsole.17.0.0","username":"admin@example.com","enterprise_id":6557,"timestamp":"2025-01-12T00:03:44.743Z","role_id":"28162100560074"}`,
		`{"TimeGenerated":"2025-01-16T02:31:11.123Z","audit_event":"audit_alert_sent","category":"usage","client_version":"Keeper Service.1.2.0","username":"ALERT","enterprise_id":6557,"timestamp":"2025-01-16T01:31:11.123Z","origin":"admin_permission_added","name":"XXX123","recipient":"admin@example.com,+19165551212","username_new":true,"client_version_new":true}`,
	}
	if recs[0] != want[0] || recs[4] != want[1] {
		t.Fatalf("got\n%s\n%s\nwant\n%s\n%s", recs[0], recs[4], want[0], want[1])
	}
}

// ext builds a msgpack extension value.
func ext(typ int8, p ...byte) chunktest.Ext { return chunktest.Ext{Type: typ, Data: p} }

func TestValues(t *testing.T) {
	long := strings.Repeat("x", 300)
	cases := []struct {
		name string
		in   any
		want string // JSON of the value
	}{
		{"str", "hello", `"hello"`},
		{"empty str", "", `""`},
		{"str8", long[:40], `"` + long[:40] + `"`},
		{"str16", long, `"` + long + `"`},
		{"str32", chunktest.Raw(append([]byte{0xdb, 0, 0, 0, 3}, "abc"...)), `"abc"`},
		{"escapes", "a\"b\\c\n\r\t\b\f\x00\x01\x1f\x7f/<>&", `"a\"b\\c\n\r\t\b\f\u0000\u0001\u001f` + "\x7f" + `/<>&"`},
		{"line separators", "a\u2028b\u2029c", `"a\u2028b\u2029c"`},
		{"unicode", "héllo 世界 🎉", `"héllo 世界 🎉"`},
		{"invalid utf8", "a\xffb\xc0\xafc", `"a` + "\ufffd" + `b` + "\ufffd\ufffd" + `c"`},
		{"cut utf8", "ab\xe2\x82", `"ab` + "\ufffd\ufffd" + `"`},
		{"surrogate", "\xed\xa0\x80", `"` + "\ufffd\ufffd\ufffd" + `"`},
		{"long escapes", strings.Repeat("ab\"cdefghij", 5), `"` + strings.Repeat(`ab\"cdefghij`, 5) + `"`},
		{"bin utf8", []byte("text"), `"text"`},
		{"bin binary", []byte{0xff, 0x00, 0x10}, `"/wAQ"`},
		{"bin empty", []byte{}, `""`},
		{"fixint", 5, `5`},
		{"fixint max", 127, `127`},
		{"uint8", uint8(200), `200`},
		{"uint8 small", chunktest.Raw{0xcc, 0x05}, `5`},
		{"uint16", uint16(60000), `60000`},
		{"uint32", uint32(4000000000), `4000000000`},
		{"uint64 max", uint64(math.MaxUint64), `18446744073709551615`},
		{"negative fixint", -1, `-1`},
		{"negative fixint min", -32, `-32`},
		{"int8", int8(-100), `-100`},
		{"int16", int16(-30000), `-30000`},
		{"int32", int32(-2000000000), `-2000000000`},
		{"int64 min", int64(math.MinInt64), `-9223372036854775808`},
		{"int64 max", int64(math.MaxInt64), `9223372036854775807`},
		{"int64 small", chunktest.Raw{0xd3, 0, 0, 0, 0, 0, 0, 0, 7}, `7`},
		{"float", 1.5, `1.5`},
		{"float zero", 0.0, `0`},
		{"float negative zero", math.Copysign(0, -1), `-0`},
		{"float integral", 100.0, `100`},
		{"float big", 1e21, `1e+21`},
		{"float small", 1e-7, `1e-7`},
		{"float tiny", 5e-324, `5e-324`},
		{"float max", math.MaxFloat64, `1.7976931348623157e+308`},
		{"float32", float32(0.1), `0.1`},
		{"float32 big", float32(3e30), `3e+30`},
		{"NaN", math.NaN(), `null`},
		{"+Inf", math.Inf(1), `null`},
		{"-Inf", math.Inf(-1), `null`},
		{"float32 NaN", float32(math.NaN()), `null`},
		{"float32 Inf", float32(math.Inf(-1)), `null`},
		{"nil", nil, `null`},
		{"true", true, `true`},
		{"false", false, `false`},
		{"empty array", []any{}, `[]`},
		{"array", []any{1, "a", []any{2, nil}, M{}}, `[1,"a",[2,null],{}]`},
		{"array16", make([]any, 20), `[` + strings.TrimSuffix(strings.Repeat("null,", 20), ",") + `]`},
		{"map", kv("a", 1, "b", kv("c", []any{true})), `{"a":1,"b":{"c":[true]}}`},
		{"empty map", M{}, `{}`},
		{"eventtime", ts0(), `"2025-01-23T01:31:11.123456789Z"`},
		{"eventtime whole", time.Unix(1737595871, 0), `"2025-01-23T01:31:11Z"`},
		{"eventtime ext8", chunktest.Raw{0xc7, 8, 0, 0x67, 0x91, 0x9b, 0xdf, 0, 0, 0, 0}, `"2025-01-23T01:31:11Z"`},
		{"timestamp32", ext(-1, 0x67, 0x91, 0x9b, 0xdf), `"2025-01-23T01:31:11Z"`},
		{"timestamp64", ext(-1, 0x1d, 0x53, 0x53, 0x00, 0x67, 0x91, 0x9b, 0xdf), `"2025-01-23T01:31:11.123Z"`},
		{"timestamp96", ext(-1, 0, 0, 0, 1, 0, 0, 0, 0, 0x67, 0x91, 0x9b, 0xdf), `"2025-01-23T01:31:11.000000001Z"`},
		{"timestamp96 negative", ext(-1, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), `"1969-12-31T23:59:59Z"`},
		{"timestamp96 out of range", ext(-1, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), `"AAAAAH//////////"`},
		{"other ext", ext(5, 1, 2, 3), `"AQID"`},
		{"eventtime wrong size", ext(0, 1, 2, 3, 4), `"AQIDBA=="`},
		{"empty ext", chunktest.Raw{0xc7, 0, 9}, `""`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, chunk := range [][]byte{v1(kv("v", tc.in)), v2(kv("v", tc.in))} {
				got := one(t, rawOpts(), chunk)
				want := `{` + ts0Text + `,"v":` + tc.want + `}`
				if got != want {
					t.Fatalf("\n got %s\nwant %s", got, want)
				}
			}
		})
	}
}

func TestKeys(t *testing.T) {
	cases := []struct {
		name string
		body M
		want string // the record after TimeGenerated
	}{
		{"int", kv(1, "a", -5, "b", uint64(math.MaxUint64), "c"), `"1":"a","-5":"b","18446744073709551615":"c"`},
		{"float", kv(1.5, "a", math.NaN(), "b", math.Inf(1), "c", math.Inf(-1), "d", float32(2.5), "e"), `"1.5":"a","NaN":"b","+Inf":"c","-Inf":"d","2.5":"e"`},
		{"bool nil", kv(true, 1, false, 2, nil, 3), `"true":1,"false":2,"null":3`},
		{"bin", kv([]byte("k"), 1, []byte{0xff}, 2), `"k":1,"/w==":2`},
		{"map key", kv(kv("a", 1, 2, "x\"y"), "v"), `"{\"a\":1,\"2\":\"x\\\"y\"}":"v"`},
		{"array key", kv([]any{1, "b"}, "v"), `"[1,\"b\"]":"v"`},
		{"time key", kv(ts0(), "v"), `"2025-01-23T01:31:11.123456789Z":"v"`},
		{"ext key", kv(ext(3, 0xff), "v"), `"/w==":"v"`},
		{"escaped key", kv("a\"b\n\xff", 1), `"a\"b\n` + "\ufffd" + `":1`},
		{"empty key", kv("", 1), `"":1`},
		{"duplicate", kv("a", 1, "b", 2, "a", 3), `"a":1,"b":2`},
		{"duplicate after stringify", kv("1", "str", 1, "int", uint8(1), "uint", 1.0, "float"), `"1":"str"`},
		{"duplicate nested", kv("m", kv("x", 1, "x", 2)), `"m":{"x":1}`},
		{"duplicate bin and str", kv("k", 1, []byte("k"), 2), `"k":1`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := one(t, rawOpts(), v2(tc.body))
			if want := `{` + ts0Text + `,` + tc.want + `}`; got != want {
				t.Fatalf("\n got %s\nwant %s", got, want)
			}
		})
	}
}

func TestManyDuplicateKeys(t *testing.T) {
	// Beyond 16 keys duplicates are found through a hash table.
	var body M
	var want strings.Builder
	for round := 0; round < 3; round++ {
		for i := 0; i < 200; i++ {
			k := strings.Repeat("k", i%7) + string(rune('a'+i%26)) + strings.Repeat("z", i/26)
			body = append(body, chunktest.KV{Key: k, Value: round*1000 + i})
			if round == 0 {
				want.WriteString(`,"` + k + `":` + itoa(i))
			}
		}
	}
	for _, opts := range []convert.Options{rawOpts(), {Schema: convert.Keeper}} {
		got := one(t, opts, v2(body))
		w := `{` + ts0Text + want.String() + `}`
		if opts.Schema == convert.Keeper {
			w = `{` + ts0Text + `,` + ts0Stamp + `,"data":{` + want.String()[1:] + `}}`
		}
		if got != w {
			t.Fatalf("%v:\n got %s\nwant %s", opts.Schema, got, w)
		}
	}
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

func TestTimeKey(t *testing.T) {
	fb := ts0Text // Fluent Bit's event time
	cases := []struct {
		name  string
		value any
		want  string
	}{
		{"rfc3339 millis", "2024-02-29T23:59:59.999Z", "2024-02-29T23:59:59.999Z"},
		{"rfc3339 nanos truncated", "2024-02-29T23:59:59.999999999Z", "2024-02-29T23:59:59.999Z"},
		{"rfc3339 no fraction", "2024-02-29T10:00:00Z", "2024-02-29T10:00:00.000Z"},
		{"offset", "2024-03-01T01:30:00.5+02:00", "2024-02-29T23:30:00.500Z"},
		{"negative offset", "2024-02-29T22:00:00-01:30", "2024-02-29T23:30:00.000Z"},
		{"offset without colon", "2024-02-29T22:00:00-0130", "2024-02-29T23:30:00.000Z"},
		{"offset hours", "2024-02-29T22:00:00+05", "2024-02-29T17:00:00.000Z"},
		{"space separator", "2024-02-29 22:00:00.123", "2024-02-29T22:00:00.123Z"},
		{"lower case", "2024-02-29t22:00:00z", "2024-02-29T22:00:00.000Z"},
		{"no seconds", "2024-02-29T22:00Z", "2024-02-29T22:00:00.000Z"},
		{"comma fraction", "2024-02-29T22:00:00,25Z", "2024-02-29T22:00:00.250Z"},
		{"date only", "2024-02-29", "2024-02-29T00:00:00.000Z"},
		{"bin string", []byte("2024-02-29T22:00:00Z"), "2024-02-29T22:00:00.000Z"},
		{"epoch seconds", 1737595871, "2025-01-23T01:31:11.000Z"},
		{"epoch millis", int64(1737595871123), "2025-01-23T01:31:11.123Z"},
		{"epoch micros", int64(1737595871123456), "2025-01-23T01:31:11.123Z"},
		{"epoch nanos", int64(1737595871123456789), "2025-01-23T01:31:11.123Z"},
		{"epoch uint nanos", uint64(1737595871123456789), "2025-01-23T01:31:11.123Z"},
		{"epoch float", 1737595871.123, "2025-01-23T01:31:11.123Z"},
		{"epoch float millis", 1737595871123.0, "2025-01-23T01:31:11.123Z"},
		{"epoch float32", float32(1.7e9), "2023-11-14T22:13:20.000Z"},
		{"epoch negative", -86400, "1969-12-31T00:00:00.000Z"},
		{"epoch zero", 0, "1970-01-01T00:00:00.000Z"},
		{"eventtime", time.Date(2030, 6, 1, 2, 3, 4, 5006007, time.UTC), "2030-06-01T02:03:04.005Z"},
		{"timestamp ext", ext(-1, 0x67, 0x91, 0x9b, 0xdf), "2025-01-23T01:31:11.000Z"},
		{"year 9999", "9999-12-31T23:59:59.999Z", "9999-12-31T23:59:59.999Z"},
		{"year 1", "0001-01-01T00:00:00Z", "0001-01-01T00:00:00.000Z"},
		{"leap second", "2016-12-31T23:59:60Z", "2016-12-31T23:59:59.999Z"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := one(t, convert.Options{Schema: convert.Raw, TimeKey: "time"}, v2(kv("a", 1, "time", tc.value)))
			if want := `{"TimeGenerated":"` + tc.want + `","a":1,"time":`; !strings.HasPrefix(got, want) {
				t.Fatalf("\n got %s\nwant %s...", got, want)
			}
		})
	}
	bad := []any{
		"", "yesterday", "2024-02-30T00:00:00Z", "2023-02-29", "2024-13-01", "2024-00-01", "2024-01-00",
		"2024-01-01T24:00:00Z", "2024-01-01T23:60:00Z", "2024-01-01T23:59:61Z", "2024-01-01T23:59:59.Z",
		"2024-01-01T23:59:59+2400", "2024-01-01T23:59:59Zjunk", "2024-01-01X23:59:59Z", "2024-1-1",
		"20240101T000000Z", "2024-01-01T23:59:59 UTC", " 2024-01-01", "0001-01-01T00:00:00+01:00", "0000-06-01T00:00:00Z",
		"1737595871", nil, true, kv("a", 1), []any{1}, math.NaN(), math.Inf(1), 1e300, -1e300,
		ext(5, 1, 2, 3, 4), ext(0, 1, 2, 3), int64(math.MinInt64),
	}
	for _, v := range bad {
		got := one(t, convert.Options{Schema: convert.Raw, TimeKey: "time"}, v2(kv("time", v)))
		if !strings.HasPrefix(got, `{`+fb+`,"time":`) {
			t.Errorf("%#v: got %s, want Fluent Bit's time", v, got)
		}
	}

	t.Run("first occurrence only", func(t *testing.T) {
		got := one(t, convert.Options{Schema: convert.Raw, TimeKey: "time"}, v2(kv("time", "bad", "time", "2024-01-01")))
		if want := `{` + fb + `,"time":"bad"}`; got != want {
			t.Fatalf("got %s, want %s", got, want)
		}
	})
	t.Run("absent", func(t *testing.T) {
		got := one(t, convert.Options{Schema: convert.Raw, TimeKey: "time"}, v2(kv("a", 1)))
		if want := `{` + fb + `,"a":1}`; got != want {
			t.Fatalf("got %s, want %s", got, want)
		}
	})
	t.Run("the record's own TimeGenerated, written once", func(t *testing.T) {
		own := `"TimeGenerated":"2020-01-01T00:00:00.000Z"`
		tests := []struct {
			name    string
			timeKey string
			rec     chunktest.Map
			want    string // TimeGenerated member
		}{
			{"no time key", "", kv("TimeGenerated", "2020-01-01T00:00:00Z", "a", 1, "TimeGenerated", 5), own},
			{"time key absent", "time", kv("TimeGenerated", "2020-01-01T00:00:00Z", "a", 1), own},
			{"time key unparseable", "time", kv("time", "bad", "TimeGenerated", "2020-01-01T00:00:00Z", "a", 1), own},
			{"time key wins, before", "time", kv("time", "2021-06-01T00:00:00Z", "TimeGenerated", "2020-01-01T00:00:00Z", "a", 1), `"TimeGenerated":"2021-06-01T00:00:00.000Z"`},
			{"time key wins, after", "time", kv("TimeGenerated", "2020-01-01T00:00:00Z", "time", "2021-06-01T00:00:00Z", "a", 1), `"TimeGenerated":"2021-06-01T00:00:00.000Z"`},
			{"unparseable own: Fluent Bit's time", "", kv("TimeGenerated", "soon", "a", 1), fb},
		}
		for _, tc := range tests {
			for _, schema := range []convert.Schema{convert.Raw, convert.Keeper} {
				got := one(t, convert.Options{Schema: schema, TimeKey: tc.timeKey}, v2(tc.rec))
				if !strings.HasPrefix(got, "{"+tc.want+",") {
					t.Errorf("%s, %v: got %s, want %s first", tc.name, schema, got, tc.want)
				}
				if strings.Count(got, `"TimeGenerated"`) != 1 {
					t.Errorf("%s, %v: TimeGenerated not written exactly once: %s", tc.name, schema, got)
				}
			}
		}
	})
	t.Run("TimeGenerated as time key", func(t *testing.T) {
		for _, schema := range []convert.Schema{convert.Raw, convert.Keeper} {
			got := one(t, convert.Options{Schema: schema, TimeKey: "TimeGenerated"}, v2(kv("a", 1, "TimeGenerated", "2020-01-01T00:00:00Z")))
			want := `{"TimeGenerated":"2020-01-01T00:00:00.000Z","a":1}`
			if schema == convert.Keeper {
				want = `{"TimeGenerated":"2020-01-01T00:00:00.000Z","timestamp":"2020-01-01T00:00:00.000Z","data":{"a":1}}`
			}
			if got != want {
				t.Fatalf("%v: got %s, want %s", schema, got, want)
			}
		}
	})
	t.Run("keeper time key in data", func(t *testing.T) {
		got := one(t, convert.Options{TimeKey: "time"}, v2(kv("audit_event", "x", "time", 1737595871, "timestamp", "2000-01-01T00:00:00Z")))
		want := `{"TimeGenerated":"2025-01-23T01:31:11.000Z","audit_event":"x","timestamp":"2000-01-01T00:00:00.000Z","data":{"time":1737595871}}`
		if got != want {
			t.Fatalf("got %s, want %s", got, want)
		}
	})
}

func TestEventTime(t *testing.T) {
	cases := []struct {
		name string
		ts   any
		want string
	}{
		{"eventtime", ts0(), "2025-01-23T01:31:11.123Z"},
		{"int", 1737595871, "2025-01-23T01:31:11.000Z"},
		{"uint", uint32(1737595871), "2025-01-23T01:31:11.000Z"},
		{"float", 1737595871.25, "2025-01-23T01:31:11.250Z"},
		{"timestamp ext", ext(-1, 0x67, 0x91, 0x9b, 0xdf), "2025-01-23T01:31:11.000Z"},
		{"negative", -1000, "1969-12-31T23:43:20.000Z"},
	}
	for _, tc := range cases {
		for _, v2 := range []bool{false, true} {
			var chunk []byte
			if v2 {
				chunk = chunktest.AppendEventV2(nil, tc.ts, nil, kv("a", 1))
			} else {
				chunk = chunktest.AppendEventV1(nil, tc.ts, kv("a", 1))
			}
			got := one(t, rawOpts(), chunk)
			if want := `{"TimeGenerated":"` + tc.want + `","a":1}`; got != want {
				t.Errorf("%s v2=%v: got %s, want %s", tc.name, v2, got, want)
			}
		}
	}
}

func TestKeeperColumns(t *testing.T) {
	cases := []struct {
		name string
		body M
		want string // after TimeGenerated
	}{
		{"empty", M{}, `"data":{}`},
		{"order", kv("x", 1, "timestamp", "2025-01-01T00:00:00Z", "enterprise_id", 1, "username", "u", "client_version", "v", "category", "c", "remote_address", "r", "audit_event", "a"),
			`"audit_event":"a","remote_address":"r","category":"c","client_version":"v","username":"u","enterprise_id":1,"timestamp":"2025-01-01T00:00:00.000Z","data":{"x":1}`},
		{"enterprise_id uint", kv("enterprise_id", uint64(4000)), `"enterprise_id":4000,"data":{}`},
		{"enterprise_id uint over int32", kv("enterprise_id", uint64(math.MaxUint64)), `"data":{"enterprise_id":18446744073709551615}`},
		{"enterprise_id int32 max", kv("enterprise_id", int64(math.MaxInt32)), `"enterprise_id":2147483647,"data":{}`},
		{"enterprise_id over int32", kv("enterprise_id", int64(5_000_000_000)), `"data":{"enterprise_id":5000000000}`},
		{"enterprise_id negative", kv("enterprise_id", -7), `"enterprise_id":-7,"data":{}`},
		{"enterprise_id float", kv("enterprise_id", 6557.0), `"enterprise_id":6557,"data":{}`},
		{"enterprise_id float32", kv("enterprise_id", float32(6557)), `"enterprise_id":6557,"data":{}`},
		{"enterprise_id fractional", kv("enterprise_id", 6557.5), `"data":{"enterprise_id":6557.5}`},
		{"enterprise_id huge float", kv("enterprise_id", 1e19), `"data":{"enterprise_id":10000000000000000000}`},
		{"enterprise_id NaN", kv("enterprise_id", math.NaN()), `"data":{"enterprise_id":null}`},
		{"enterprise_id string", kv("enterprise_id", "6557"), `"enterprise_id":6557,"data":{}`},
		{"enterprise_id signed string", kv("enterprise_id", "+0065"), `"enterprise_id":65,"data":{}`},
		{"enterprise_id negative string", kv("enterprise_id", "-2147483648"), `"enterprise_id":-2147483648,"data":{}`},
		{"enterprise_id string over int32", kv("enterprise_id", "-9223372036854775808"), `"data":{"enterprise_id":"-9223372036854775808"}`},
		{"enterprise_id overflow string", kv("enterprise_id", "9223372036854775808"), `"data":{"enterprise_id":"9223372036854775808"}`},
		{"enterprise_id string that wraps uint64", kv("enterprise_id", "18446744073709551616"), `"data":{"enterprise_id":"18446744073709551616"}`},
		{"enterprise_id bin string", kv("enterprise_id", []byte("12")), `"enterprise_id":12,"data":{}`},
		{"enterprise_id bad string", kv("enterprise_id", "65a"), `"data":{"enterprise_id":"65a"}`},
		{"enterprise_id decimal string", kv("enterprise_id", "6557.0"), `"data":{"enterprise_id":"6557.0"}`},
		{"enterprise_id empty string", kv("enterprise_id", ""), `"data":{"enterprise_id":""}`},
		{"enterprise_id sign only", kv("enterprise_id", "-"), `"data":{"enterprise_id":"-"}`},
		{"enterprise_id bool", kv("enterprise_id", true), `"data":{"enterprise_id":true}`},
		{"enterprise_id nil", kv("enterprise_id", nil), `"data":{"enterprise_id":null}`},
		{"enterprise_id map", kv("enterprise_id", kv("a", 1)), `"data":{"enterprise_id":{"a":1}}`},
		{"timestamp offset", kv("timestamp", "2025-01-12T02:03:44.7439+02:00"), `"timestamp":"2025-01-12T00:03:44.743Z","data":{}`},
		{"timestamp epoch", kv("timestamp", int64(1736640224743)), `"timestamp":"2025-01-12T00:03:44.743Z","data":{}`},
		{"timestamp eventtime", kv("timestamp", ts0()), `"timestamp":"2025-01-23T01:31:11.123Z","data":{}`},
		{"timestamp bad", kv("a", 1, "timestamp", "soon", "b", 2), `"data":{"a":1,"timestamp":"soon","b":2}`},
		{"timestamp nil", kv("timestamp", nil), `"data":{"timestamp":null}`},
		{"string columns", kv("audit_event", 5, "remote_address", -1.5, "category", true, "client_version", []byte{0xff}, "username", ts0()),
			`"audit_event":"5","remote_address":"-1.5","category":"true","client_version":"/w==","username":"2025-01-23T01:31:11.123456789Z","data":{}`},
		{"string column uint", kv("username", uint64(math.MaxUint64)), `"username":"18446744073709551615","data":{}`},
		{"string column float32", kv("username", float32(0.5)), `"username":"0.5","data":{}`},
		{"string columns unfit", kv("audit_event", nil, "x", 1, "remote_address", kv("a", 1), "category", []any{1}, "username", math.Inf(1)),
			`"data":{"audit_event":null,"x":1,"remote_address":{"a":1},"category":[1],"username":null}`},
		{"string column escaped", kv("username", "a\"b\u2028"), `"username":"a\"b\u2028","data":{}`},
		{"duplicate column", kv("audit_event", "a", "audit_event", "b"), `"audit_event":"a","data":{}`},
		{"duplicate unfit column", kv("audit_event", nil, "audit_event", "b"), `"data":{"audit_event":null}`},
		{"data merged", kv("role_id", 1, "data", kv("x", 1, "role_id", 2), "y", 3),
			`"data":{"x":1,"role_id":2,"y":3}`},
		{"data not a map", kv("a", 1, "data", "text", "b", 2), `"data":{"a":1,"data":"text","b":2}`},
		{"data nil", kv("data", nil), `"data":{"data":null}`},
		{"data array", kv("data", []any{1}), `"data":{"data":[1]}`},
		{"data duplicate", kv("data", kv("a", 1), "data", kv("b", 2)), `"data":{"a":1}`},
		{"data own key clash", kv("data", kv("data", 1, "audit_event", 2)), `"data":{"data":1,"audit_event":2}`},
		{"data empty map", kv("data", M{}, "z", 1), `"data":{"z":1}`},
		{"data keys stringified", kv("data", kv(1, "a"), "1", "b"), `"data":{"1":"a"}`},
		{"non-string keys", kv(7, "seven", nil, "nil", []byte("audit_event"), "bin"), `"audit_event":"bin","data":{"7":"seven","null":"nil"}`},
		{"metadata-like fields", kv("role_id", "1", "enforcement", "E", "value", "7", "node_id", 9, "origin", "o", "name", "n"),
			`"data":{"role_id":"1","enforcement":"E","value":"7","node_id":9,"origin":"o","name":"n"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := one(t, convert.Options{Schema: convert.Keeper, TimeKey: "none"}, v2(tc.body))
			want := tc.want
			if i := strings.Index(want, `"data":{`); !strings.Contains(want[:i], `"timestamp":`) {
				// No usable timestamp of its own: the event's time.
				want = want[:i] + ts0Stamp + `,` + want[i:]
			}
			if want := `{` + ts0Text + `,` + want + `}`; got != want {
				t.Fatalf("\n got %s\nwant %s", got, want)
			}
		})
	}
}

func TestMetadataIgnored(t *testing.T) {
	chunk := chunktest.AppendEventV2(nil, ts0(), kv("audit_event", "meta", "nested", kv("a", []any{1})), kv("audit_event", "body"))
	got := one(t, keeperOpts(), chunk)
	if want := `{` + ts0Text + `,"audit_event":"body",` + ts0Stamp + `,"data":{}}`; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	// A header of one element, or more than two, is accepted too.
	for _, hdr := range [][]any{{ts0()}, {ts0(), M{}, "extra"}} {
		chunk := chunktest.AppendValue(nil, []any{hdr, kv("a", 1)})
		if got := one(t, rawOpts(), chunk); got != `{`+ts0Text+`,"a":1}` {
			t.Fatalf("header %v: got %s", hdr, got)
		}
	}
}

// nest returns v wrapped in n arrays or maps.
func nest(n int, maps bool, v any) any {
	for i := 0; i < n; i++ {
		if maps {
			v = kv("k", v)
		} else {
			v = []any{v}
		}
	}
	return v
}

// depth returns the nesting depth of a decoded JSON value.
func depth(v any) int {
	switch v := v.(type) {
	case map[string]any:
		d := 0
		for _, e := range v {
			d = max(d, depth(e))
		}
		return d + 1
	case []any:
		d := 0
		for _, e := range v {
			d = max(d, depth(e))
		}
		return d + 1
	}
	return 0
}

func TestDeepNesting(t *testing.T) {
	for _, schema := range []convert.Schema{convert.Raw, convert.Keeper} {
		for _, maps := range []bool{false, true} {
			for _, n := range []int{convert.MaxDepth - 2, convert.MaxDepth - 1, convert.MaxDepth, 200, 100000} {
				got := one(t, convert.Options{Schema: schema}, v2(kv("v", nest(n, maps, "leaf"))))
				var v any
				if err := json.Unmarshal([]byte(got), &v); err != nil {
					t.Fatal(err)
				}
				d := depth(v)
				limit := convert.MaxDepth - 1 // the record object is level 1
				if schema == convert.Keeper {
					limit-- // data is level 2
				}
				tooDeep := strings.Contains(got, `"`+convert.TooDeep+`"`)
				if d > convert.MaxDepth || tooDeep != (n > limit) || (!tooDeep && !strings.Contains(got, `"leaf"`)) {
					t.Fatalf("%v maps=%v n=%d: depth %d, too deep %v: %.200s", schema, maps, n, d, tooDeep, got)
				}
			}
		}
	}
	// Deep map keys too.
	got := one(t, rawOpts(), v2(kv(nest(100, true, 1), 1)))
	if !strings.Contains(got, convert.TooDeep) {
		t.Fatalf("deep key: %.300s", got)
	}
	// Map keys that are maps with map keys: escaping would double at each
	// level, so a container key within a container key is cut short.
	key := any("x\"y")
	for i := 0; i < 60; i++ {
		key = kv(key, i)
	}
	got = one(t, rawOpts(), v2(kv(key, 1)))
	if want := `{` + ts0Text + `,"{\"` + convert.TooDeep + `\":59}":1}`; got != want {
		t.Fatalf("nested keys: got %.300s, want %s", got, want)
	}
	// A deep structure as a bare msgpack stream: a million nested arrays.
	deep := bytes.Repeat([]byte{0x91}, 1000000)
	chunk := append(v2(kv("a", 1)), chunktest.AppendEventV1(nil, ts0(), kv("v", chunktest.Raw(append(deep, 0xc0))))...)
	recs, res, err := run(t, rawOpts(), chunk)
	if err != nil || len(recs) != 2 || res.Skipped != 0 {
		t.Fatalf("%d records, %+v, %v", len(recs), res, err)
	}
}

// checkCut checks that got is value cut to at most max bytes: a prefix of
// value (repaired if it was invalid UTF-8) and the marker naming how many
// bytes were cut, using the room it has (within a character and a digit).
func checkCut(t *testing.T, got, value string, max int) {
	t.Helper()
	i := strings.LastIndex(got, "…[truncated ")
	if i < 0 || !strings.HasSuffix(got, " bytes]") {
		t.Fatalf("no marker in %q", shorten(got))
	}
	kept := got[:i]
	var cut int
	if _, err := fmt.Sscanf(got[i+len("…[truncated "):], "%d bytes]", &cut); err != nil {
		t.Fatalf("marker of %q: %v", shorten(got), err)
	}
	src := value[:len(value)-cut]
	if strings.ToValidUTF8(src, "\ufffd") != strings.ToValidUTF8(kept, "\ufffd") && strings.Map(func(r rune) rune { return r }, src) != kept {
		t.Fatalf("kept %q is not the value's first %d bytes", shorten(kept), len(src))
	}
	if len(got) > max || len(got) < max-5 {
		t.Fatalf("cut value is %d bytes, limit %d", len(got), max)
	}
}

func TestTruncation(t *testing.T) {
	big := strings.Repeat("a", 100000)
	cases := []struct {
		name  string
		max   int
		value string
		bin   bool
		cut   bool
	}{
		{"at limit", 0, big[:convert.DefaultMaxFieldBytes], false, false},
		{"over limit", 0, big, false, true},
		{"one over", 0, big[:convert.DefaultMaxFieldBytes+1], false, true},
		{"small limit", 100, strings.Repeat("b", 101), false, true},
		{"utf8 boundary", 100, strings.Repeat("€", 100), false, true},
		{"utf8 boundary 4-byte", 1000, strings.Repeat("🎉", 1000), false, true},
		{"limit raised to 64", 10, strings.Repeat("c", 65), false, true},
		{"bin utf8", 100, strings.Repeat("d", 200), true, true},
		{"escapes do not count", 100, strings.Repeat("\n", 100), false, false},
		{"invalid utf8 repaired", 100, strings.Repeat("\xff", 50), false, true},
		{"invalid utf8 mixed", 100, strings.Repeat("x\xe2\x82", 30), false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var v any = tc.value
			if tc.bin {
				v = []byte(tc.value)
			}
			got := one(t, convert.Options{Schema: convert.Raw, MaxFieldBytes: tc.max}, v2(kv("v", v, "w", "short")))
			var rec struct{ V, W string }
			if err := json.Unmarshal([]byte(got), &rec); err != nil {
				t.Fatal(err)
			}
			max := tc.max
			if max == 0 {
				max = convert.DefaultMaxFieldBytes
			}
			max = maxInt(max, 64)
			if rec.W != "short" {
				t.Fatalf("w = %q", rec.W)
			}
			if !tc.cut {
				if rec.V != tc.value {
					t.Fatalf("value changed: %q", shorten(rec.V))
				}
				return
			}
			checkCut(t, rec.V, tc.value, max)
		})
	}
	t.Run("counted", func(t *testing.T) {
		chunk := v2(kv("a", big, "b", []any{big, "x"}, big, big, "c", kv("d", big)))
		chunk = append(chunk, v2(kv("a", big))...)
		var out convert.Records
		res, err := convert.New(convert.Options{Schema: convert.Raw}).Convert(chunk, &out)
		if err != nil || res.Truncated != 5 || res.Records != 2 {
			t.Fatalf("%+v, %v", res, err)
		}
		if !strings.Contains(string(out.Record(0)), `"`+big+`":"aaa`) {
			t.Fatal("a key was truncated")
		}
	})
	t.Run("base64", func(t *testing.T) {
		p := bytes.Repeat([]byte{0xff}, 200)
		for _, v := range []any{p, chunktest.Ext{Type: 9, Data: p}} {
			got := one(t, convert.Options{Schema: convert.Raw, MaxFieldBytes: 100}, v2(kv("v", v)))
			var rec struct{ V string }
			json.Unmarshal([]byte(got), &rec)
			if len(rec.V) > 100 || len(rec.V) < 90 || !strings.HasPrefix(rec.V, "////") || !strings.HasSuffix(rec.V, "…[truncated 143 bytes]") {
				t.Fatalf("got %q (%d bytes)", rec.V, len(rec.V))
			}
		}
	})
	t.Run("keeper column", func(t *testing.T) {
		got := one(t, convert.Options{MaxFieldBytes: 100}, v2(kv("username", big, "x", big)))
		if strings.Count(got, "…[truncated ") != 2 {
			t.Fatalf("got %s", got)
		}
	})
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}

func shorten(s string) string {
	if len(s) > 80 {
		return s[:40] + "..." + s[len(s)-40:]
	}
	return s
}

func TestGroupMarkers(t *testing.T) {
	var chunk []byte
	chunk = chunktest.AppendGroupStart(chunk, kv("schema", "otlp"), kv("resource", kv("a", 1)))
	chunk = append(chunk, v2(kv("a", 1))...)
	chunk = chunktest.AppendGroupEnd(chunk)
	chunk = chunktest.AppendEventV2(chunk, -1, nil, kv("group", "start"))
	chunk = chunktest.AppendEventV1(chunk, -2, M{})
	chunk = append(chunk, v1(kv("a", 2))...)
	chunk = chunktest.AppendEventV2(chunk, -2, nil, "even with a body that is not a map")
	recs, res, err := run(t, rawOpts(), chunk)
	if err != nil || res.Skipped != 0 || res.Problem != nil || len(recs) != 2 {
		t.Fatalf("%v, %+v, %v", recs, res, err)
	}
	// Only group markers: nothing to send, but nothing wrong either.
	recs, res, err = run(t, rawOpts(), chunktest.AppendGroupEnd(chunktest.AppendGroupStart(nil, M{}, M{})))
	if err != nil || len(recs) != 0 || res.Skipped != 0 {
		t.Fatalf("%v, %+v, %v", recs, res, err)
	}
}

func TestBadRecords(t *testing.T) {
	good := v2(kv("a", 1))
	cases := []struct {
		name   string
		rec    []byte
		reason string
	}{
		{"body string", v2("text"), "body is str, not a map"},
		{"body nil", v1(nil), "body is nil, not a map"},
		{"body array", v2([]any{1}), "body is array, not a map"},
		{"ts string", chunktest.AppendEventV1(nil, "2025-01-01", kv("a", 1)), "event time is str"},
		{"ts nil", chunktest.AppendEventV2(nil, nil, nil, kv("a", 1)), "event time is nil"},
		{"ts huge float", chunktest.AppendEventV1(nil, 1e300, kv("a", 1)), "out of range"},
		{"ts other ext", chunktest.AppendEventV1(nil, ext(3, 1, 2), kv("a", 1)), "extension of type 3"},
		{"three elements", chunktest.AppendValue(nil, []any{ts0(), kv("a", 1), 3}), "array of 3 elements"},
		{"one element", chunktest.AppendValue(nil, []any{ts0()}), "array of 1 elements"},
		{"empty header", chunktest.AppendValue(nil, []any{[]any{}, kv("a", 1)}), "empty header"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			chunk := append(append(append([]byte{}, good...), tc.rec...), good...)
			recs, res, err := run(t, keeperOpts(), chunk)
			if err != nil || len(recs) != 2 || res.Skipped != 1 || res.Problem == nil {
				t.Fatalf("%d records, %+v, %v", len(recs), res, err)
			}
			if msg := res.Problem.Error(); !strings.Contains(msg, tc.reason) || !strings.Contains(msg, fmt.Sprintf("record 1 (chunk offset %d)", len(good))) {
				t.Fatalf("problem %q, want %q", msg, tc.reason)
			}
			// Alone, the bad record makes the chunk undecodable.
			_, res, err = run(t, keeperOpts(), tc.rec)
			if err == nil || res.Skipped != 1 || !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("alone: %+v, %v", res, err)
			}
		})
	}
}

func TestTruncatedChunk(t *testing.T) {
	chunk := chunktest.SeedChunk(true)
	// Record boundaries.
	var ends []int
	for rest := chunk; len(rest) > 0; {
		var err error
		if rest, err = msgp.Skip(rest); err != nil {
			t.Fatal(err)
		}
		ends = append(ends, len(chunk)-len(rest))
	}
	for cut := 1; cut < len(chunk); cut++ {
		whole := 0
		for _, e := range ends {
			if e <= cut {
				whole++
			}
		}
		recs, res, err := run(t, keeperOpts(), chunk[:cut])
		atBoundary := whole > 0 && ends[whole-1] == cut
		switch {
		case len(recs) != whole:
			t.Fatalf("cut %d: %d records, want %d", cut, len(recs), whole)
		case atBoundary && (res.Skipped != 0 || err != nil):
			t.Fatalf("cut %d at a boundary: %+v, %v", cut, res, err)
		case !atBoundary && (res.Skipped != 1 || res.Problem == nil):
			t.Fatalf("cut %d: %+v", cut, res)
		case !atBoundary && (err != nil) != (whole == 0):
			t.Fatalf("cut %d: %d whole records, error %v", cut, whole, err)
		}
		for i, r := range recs {
			if want := chunktest.SeedKeeperJSON()[i]; r != want {
				t.Fatalf("cut %d record %d: %s", cut, i, r)
			}
		}
	}
}

func TestGarbage(t *testing.T) {
	cases := map[string][]byte{
		"text":            []byte("this is not msgpack at all"),
		"invalid byte":    {0xc1, 0x92, 0x01},
		"map at top":      chunktest.AppendValue(nil, kv("a", 1)),
		"ints":            {0x01, 0x02, 0x03},
		"huge array hdr":  {0xdd, 0xff, 0xff, 0xff, 0xff, 0x01},
		"huge map body":   {0x92, 0xd7, 0, 0x67, 0x91, 0x9b, 0xdf, 0, 0, 0, 0, 0xdf, 0xff, 0xff, 0xff, 0xff, 0xa1, 'a'},
		"invalid in body": chunktest.AppendEventV1(nil, ts0(), chunktest.Raw{0x81, 0xa1, 'a', 0xc1}),
		"json":            []byte(`[{"a":1}]`),
	}
	for name, chunk := range cases {
		t.Run(name, func(t *testing.T) {
			recs, res, err := run(t, keeperOpts(), chunk)
			if err == nil || len(recs) != 0 || res.Skipped == 0 {
				t.Fatalf("%v, %+v, %v", recs, res, err)
			}
		})
	}
	// An invalid byte inside a record loses the framing of the rest.
	chunk := append(v2(kv("a", 1)), chunktest.AppendEventV1(nil, ts0(), chunktest.Raw{0x82, 0xa1, 'a', 0xc1, 0xa1, 'b', 1})...)
	chunk = append(chunk, v2(kv("c", 1))...)
	recs, res, err := run(t, keeperOpts(), chunk)
	if err != nil || len(recs) != 1 || res.Skipped != 1 || !strings.Contains(res.Problem.Error(), "0xc1") {
		t.Fatalf("%d records, %+v, %v", len(recs), res, err)
	}
	// Garbage after good records: the good ones stay, the tail is one skip.
	chunk = append(chunktest.SeedChunk(false), "trailing garbage"...)
	recs, res, err = run(t, keeperOpts(), chunk)
	if err != nil || len(recs) != 5 || res.Skipped != 1 || !strings.Contains(res.Problem.Error(), "record 5") {
		t.Fatalf("%d records, %+v, %v", len(recs), res, err)
	}
}

func TestEmptyChunk(t *testing.T) {
	for _, chunk := range [][]byte{nil, {}} {
		recs, res, err := run(t, keeperOpts(), chunk)
		if err != nil || len(recs) != 0 || res != (convert.Result{}) {
			t.Fatalf("%v, %+v, %v", recs, res, err)
		}
	}
}

func TestRecordsReuse(t *testing.T) {
	c := convert.New(keeperOpts())
	var out convert.Records
	chunk := chunktest.SeedChunk(true)
	if _, err := c.Convert(chunk, &out); err != nil {
		t.Fatal(err)
	}
	// Convert appends.
	if _, err := c.Convert(chunk, &out); err != nil || out.Len() != 10 {
		t.Fatalf("%d records, %v", out.Len(), err)
	}
	first := string(out.Record(0))
	if string(out.Record(5)) != first {
		t.Fatal("appended record differs")
	}
	r := out.Record(0)
	if cap(r) != len(r) {
		t.Fatal("Record's capacity reaches into the next record")
	}
	out.Reset()
	if out.Len() != 0 || out.Size() != 0 {
		t.Fatal("Reset left records")
	}
	if _, err := c.Convert(chunk, &out); err != nil || string(out.Record(0)) != first {
		t.Fatal("reuse after Reset differs")
	}
	// A skipped record leaves no bytes behind.
	out.Reset()
	bad := append(append(v2(kv("a", 1)), v2("not a map")...), v2(kv("b", 2))...)
	if _, err := convert.New(rawOpts()).Convert(bad, &out); err != nil || out.Len() != 2 {
		t.Fatal(err)
	}
	if got := string(out.Record(1)); got != `{`+ts0Text+`,"b":2}` {
		t.Fatalf("got %s", got)
	}
}

func TestDeterministicAndConcurrent(t *testing.T) {
	var chunk []byte
	for i := 0; i < 50; i++ {
		chunk = append(chunk, chunktest.SeedChunk(i%2 == 0)...)
		var body M
		for j := 0; j < 40; j++ { // past the linear duplicate check
			body = append(body, chunktest.KV{Key: j % 30, Value: []any{j, "x"}})
		}
		chunk = append(chunk, v2(body)...)
	}
	for _, schema := range []convert.Schema{convert.Keeper, convert.Raw} {
		c := convert.New(convert.Options{Schema: schema, TimeKey: "timestamp"})
		var ref convert.Records
		if _, err := c.Convert(chunk, &ref); err != nil {
			t.Fatal(err)
		}
		want := string(ref.Record(ref.Len() - 1))
		all := ref.Size()
		var wg sync.WaitGroup
		errs := make(chan string, 8)
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var out convert.Records
				for k := 0; k < 20; k++ {
					out.Reset()
					if _, err := c.Convert(chunk, &out); err != nil {
						errs <- err.Error()
						return
					}
					if out.Size() != all || string(out.Record(out.Len()-1)) != want {
						errs <- "output differs"
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Fatal(e)
		}
		// And a fresh Converter gives the same bytes.
		var again convert.Records
		convert.New(convert.Options{Schema: schema, TimeKey: "timestamp"}).Convert(chunk, &again)
		for i := 0; i < ref.Len(); i++ {
			if !bytes.Equal(ref.Record(i), again.Record(i)) {
				t.Fatalf("record %d differs", i)
			}
		}
	}
}

func TestParseSchema(t *testing.T) {
	for in, want := range map[string]convert.Schema{"": convert.Keeper, "keeper": convert.Keeper, "KEEPER": convert.Keeper, " Raw ": convert.Raw, "raw": convert.Raw} {
		got, err := convert.ParseSchema(in)
		if err != nil || got != want {
			t.Errorf("ParseSchema(%q) = %v, %v", in, got, err)
		}
		if got.String() != strings.ToLower(strings.TrimSpace(in)) && in != "" {
			t.Errorf("%v.String() = %q", got, got.String())
		}
	}
	if _, err := convert.ParseSchema("sentinel"); err == nil || !strings.Contains(err.Error(), `"sentinel"`) {
		t.Errorf("ParseSchema(sentinel): %v", err)
	}
	if s := convert.Schema(7).String(); s != "Schema(7)" {
		t.Errorf("String() = %q", s)
	}
	o := convert.New(convert.Options{Schema: 7}).Options()
	if o.Schema != convert.Keeper || o.MaxFieldBytes != convert.DefaultMaxFieldBytes {
		t.Errorf("defaults: %+v", o)
	}
}

func TestZeroAllocs(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("allocation counts need a normal build")
	}
	chunk := chunktest.SeedChunk(true)
	for _, schema := range []convert.Schema{convert.Keeper, convert.Raw} {
		c := convert.New(convert.Options{Schema: schema, TimeKey: "timestamp"})
		var out convert.Records
		c.Convert(chunk, &out)
		allocs := testing.AllocsPerRun(100, func() {
			out.Reset()
			c.Convert(chunk, &out)
		})
		if allocs > 0.5 {
			t.Errorf("%v: %.1f allocations per chunk with a reused Records", schema, allocs)
		}
	}
}

// TestRepeatedKeysCounted: a field left out because its key was already
// written is counted, so the plugin can say so in its log.
func TestRepeatedKeysCounted(t *testing.T) {
	tests := []struct {
		name     string
		opts     convert.Options
		body     chunktest.Map
		want     string // a part of the output
		repeated int
	}{
		{"no repeat", keeperOpts(), kv("role_id", "r", "data", kv("node_id", "n")), `"data":{"node_id":"n","role_id":"r"}`, 0},
		{"folded field shadowed by the record's data map", keeperOpts(), kv("role_id", "top", "data", kv("role_id", "inner")), `"data":{"role_id":"inner"}`, 1},
		{"repeated column", keeperOpts(), kv("username", "a", "username", "b"), `"username":"a"`, 1},
		{"repeated data map", keeperOpts(), kv("data", kv("x", 1), "data", kv("y", 2)), `"data":{"x":1}`, 1},
		{"repeated key in raw", rawOpts(), kv("a", 1, "a", 2), `"a":1}`, 1},
		{"repeated key nested", rawOpts(), kv("m", kv("k", 1, "k", 2)), `"m":{"k":1}`, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			recs, res, err := run(t, tc.opts, v2(tc.body))
			if err != nil || len(recs) != 1 {
				t.Fatalf("%d records, %v", len(recs), err)
			}
			if !strings.Contains(recs[0], tc.want) {
				t.Errorf("got %s, want it to contain %s", recs[0], tc.want)
			}
			if res.Repeated != tc.repeated {
				t.Errorf("Repeated = %d, want %d", res.Repeated, tc.repeated)
			}
		})
	}
}
