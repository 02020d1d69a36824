package convert_test

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/keeper-azmon/keeper-azmon/convert"
	"github.com/keeper-azmon/keeper-azmon/convert/chunktest"
)

func FuzzConvert(f *testing.F) {
	seed1, seed2 := chunktest.SeedChunk(false), chunktest.SeedChunk(true)
	f.Add(seed1)
	f.Add(seed2)
	f.Add(seed2[:len(seed2)/2])
	f.Add(seed1[:len(seed1)-1])
	f.Add([]byte{})
	f.Add([]byte("not msgpack"))
	f.Add([]byte{0xc1})
	f.Add(chunktest.AppendGroupEnd(chunktest.AppendGroupStart(nil, kv("k", 1), M{})))
	f.Add(v2(kv("a", []any{1.5, math.NaN(), nil, true, []byte{0xff}, ext(-1, 1, 2, 3, 4)}, 7, kv(1, 2), "data", "x")))
	f.Add(v1(kv("enterprise_id", "6557", "timestamp", int64(1737595871123), "time", "2025-01-23 01:31:11+01:00", "audit_event", 5)))
	f.Add(v2(kv("data", kv("a", 1, "a", 2), "a", strings.Repeat("é", 40), "\xff", "\u2028")))
	f.Add(v2(kv("v", nest(70, true, "deep"))))
	f.Add(append(v2("body"), v1(kv("TimeGenerated", 1))...))
	// Keeper events as the sources wrap them.
	f.Add(v2(kv("pri", "165", "time", "2025-03-01T00:00:00.000Z", "host", "keepersecurity.com", "message",
		`{"audit_event":"login_failure","username":"u@example.com","enterprise_id":6557,"result_code":"x","data":{"a":[1,{"b":"\u00e9"}]}}`)))
	f.Add(v2(kv("time", 1740787200, "host", "h", "sourcetype", "_json", "event", kv("audit_event_type", "added_to_role", "to_username", "t@example.com", "role_id", 5))))
	f.Add(v2(kv("pri", "110", "time", "2025-03-01T00:00:00Z", "host", "192.0.2.1", "msgid", "7",
		"extradata", `[Keeper@Commander audit_event_type="role_enforcement_changed" enforcement="e" value="say "x"" role_id="1"]`, "message", "m")))
	f.Add(v2(kv("log", `{"audit_event":"record_update","record_uid":"r"`)))
	f.Fuzz(fuzzOne)
}

// fuzzOne checks the conversions of one input.
func fuzzOne(t *testing.T, chunk []byte) {
	// fuzzConfigs are the converters every fuzz input goes through.
	fuzzConfigs := []convert.Options{
		{Schema: convert.Keeper, TimeKey: "timestamp"},
		{Schema: convert.Keeper, TimeKey: "time", MaxFieldBytes: 64},
		{Schema: convert.Raw},
		{Schema: convert.Raw, TimeKey: "a", MaxFieldBytes: 64},
		{Schema: convert.ASIM, TimeKey: "timestamp", EnterpriseID: 7},
	}
	for _, opts := range fuzzConfigs {
		c := convert.New(opts)
		var out convert.Records
		res, err := c.Convert(chunk, &out)
		if res.Records != out.Len() {
			t.Fatalf("Records %d, Len %d", res.Records, out.Len())
		}
		if err != nil && (res.Records != 0 || res.Skipped == 0) {
			t.Fatalf("error with %d records, %d skipped: %v", res.Records, res.Skipped, err)
		}
		if (res.Skipped > 0) != (res.Problem != nil) {
			t.Fatalf("Skipped %d, Problem %v", res.Skipped, res.Problem)
		}
		if len(chunk) == 0 && (res != convert.Result{} || err != nil) {
			t.Fatalf("empty chunk: %+v, %v", res, err)
		}
		// Output grows at most linearly with input (no blow-up).
		if out.Size() > 32*len(chunk)+64+1024*out.Len() { // an ASIM row has up to ~1 KiB of fixed text
			t.Fatalf("%d bytes of JSON from %d bytes of msgpack", out.Size(), len(chunk))
		}
		for i := 0; i < out.Len(); i++ {
			r := out.Record(i)
			checkRecord(t, opts.Schema, r)
			if opts.Schema == convert.ASIM {
				checkColumns(t, r, convert.ASIMSchema(out.Stream(i)))
			}
			var v any
			if err := json.Unmarshal(r, &v); err != nil {
				t.Fatal(err)
			}
			if d := depth(v); d > convert.MaxDepth {
				t.Fatalf("depth %d: %.200s", d, r)
			}
			if opts.MaxFieldBytes > 0 {
				checkValueSizes(t, v, opts.MaxFieldBytes, r)
			}
		}
		// Deterministic: again, into a used Records, gives the same bytes.
		first := joined(&out)
		out.Reset()
		c.Convert(chunk, &out)
		if !bytes.Equal(first, joined(&out)) {
			t.Fatal("second conversion differs")
		}
	}
}

// checkValueSizes checks that no string value (keys aside) exceeds max bytes.
func checkValueSizes(t *testing.T, v any, max int, rec []byte) {
	switch v := v.(type) {
	case string:
		if len(v) > max {
			t.Fatalf("string value of %d bytes over %d: %.200s", len(v), max, rec)
		}
	case []any:
		for _, e := range v {
			checkValueSizes(t, e, max, rec)
		}
	case map[string]any:
		for _, e := range v {
			checkValueSizes(t, e, max, rec)
		}
	}
}

// joined returns all records of out, one after the other.
func joined(out *convert.Records) []byte {
	var b []byte
	for i := 0; i < out.Len(); i++ {
		b = append(b, out.Record(i)...)
	}
	return b
}
