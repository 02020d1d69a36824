package convert_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tinylib/msgp/msgp"

	"github.com/keeper-azmon/keeper-azmon/convert"
)

// FuzzAppendJSONObject holds AppendJSONObject to encoding/json: it accepts
// exactly the JSON objects encoding/json accepts, and reads the same values
// (integers exact, strings with the same escapes and replacement of invalid
// UTF-8, duplicate keys resolved alike).
func FuzzAppendJSONObject(f *testing.F) {
	for _, s := range []string{
		`{}`, ` {"a" : 1 } `, `{"audit_event":"login","enterprise_id":6557,"username_new":true,"x":null}`,
		`{"s":"a\"b\\c\/\b\f\n\r\t\u00e9\u2028\ud83d\ude00"}`, `{"lone":"\ud800","pair":"\ud800\u0041","low":"\udc00\udc00"}`,
		`{"n":[0,-0,1.5,-2.5e-7,1E3,9223372036854775807,-9223372036854775808,18446744073709551615,18446744073709551616,1e999]}`,
		`{"nested":{"a":[[],{},[{"b":[1,2,{"c":"d"}]}]]}}`, `{"dup":1,"dup":2}`, "{\"bad\":\"\xff\xfe\"}",
		`{"a":01}`, `{"a":1.}`, `{"a":.5}`, `{"a":+1}`, `{"a":1e}`, `{"a":-}`, `{"a":tru}`, `{"a":nul}`, `{"a"}`, `{"a":1,}`,
		`{,}`, `[1]`, `"s"`, `1`, ``, `{"a":1} {"b":2}`, `{"a":1}x`, "{\"a\":\"\x01\"}", `{"a":"\x"}`, `{"a":"\u12"}`,
		`{"a":[1,]}`, `{"a":[1 2]}`, `{"a":{"b":1 "c":2}}`, `{"a":"unterminated}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := convert.AppendJSONObject([]byte{0xc0}, data) // after something already there
		var want any
		wantErr := json.Unmarshal(data, &want)
		isObject := false
		if wantErr == nil {
			_, isObject = want.(map[string]any)
		}
		if jsonDepth(data) > 900 {
			return // beyond the reader's bound by design
		}
		if (err == nil) != (wantErr == nil && isObject) {
			t.Fatalf("%q: error %v, encoding/json: %v (object %v)", data, err, wantErr, isObject)
		}
		if err != nil {
			return
		}
		if got[0] != 0xc0 {
			t.Fatal("what was in b changed")
		}
		v, rest, rerr := readMsgpack(got[1:])
		if rerr != nil || len(rest) != 0 {
			t.Fatalf("%q: not one msgpack value: %v, %d bytes left", data, rerr, len(rest))
		}
		var num any
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		if err := dec.Decode(&num); err != nil {
			t.Fatal(err)
		}
		var clash bool
		g, w := normal(v, &clash), normal(num, &clash)
		if clash {
			return // keys that differ only in invalid UTF-8: which wins is map order
		}
		if !reflect.DeepEqual(g, w) {
			t.Fatalf("%q:\n got %#v\nwant %#v", data, g, w)
		}
	})
}

// readMsgpack decodes one msgpack value into Go values as encoding/json
// would hold them (msgp.ReadIntfBytes fails on a map with repeated keys;
// here the last one wins, as in encoding/json).
func readMsgpack(b []byte) (any, []byte, error) {
	switch msgp.NextType(b) {
	case msgp.MapType:
		n, b, err := msgp.ReadMapHeaderBytes(b)
		if err != nil {
			return nil, b, err
		}
		m := make(map[string]any, n)
		for ; n > 0; n-- {
			var k string
			if k, b, err = msgp.ReadStringBytes(b); err != nil {
				return nil, b, err
			}
			var v any
			if v, b, err = readMsgpack(b); err != nil {
				return nil, b, err
			}
			m[k] = v
		}
		return m, b, nil
	case msgp.ArrayType:
		n, b, err := msgp.ReadArrayHeaderBytes(b)
		if err != nil {
			return nil, b, err
		}
		a := make([]any, n)
		for i := range a {
			if a[i], b, err = readMsgpack(b); err != nil {
				return nil, b, err
			}
		}
		return a, b, nil
	}
	return msgp.ReadIntfBytes(b)
}

// jsonDepth is the deepest nesting of brackets in data, strings aside (roughly).
func jsonDepth(data []byte) int {
	d, most, inStr := 0, 0, false
	for i := 0; i < len(data); i++ {
		switch c := data[i]; {
		case inStr && c == '\\':
			i++
		case c == '"':
			inStr = !inStr
		case !inStr && (c == '{' || c == '['):
			d++
			most = max(most, d)
		case !inStr && (c == '}' || c == ']'):
			d--
		}
	}
	return most
}

// normal makes values from msgp and from encoding/json (UseNumber)
// comparable: numbers as int64, uint64 or float64 by how they are written,
// strings with invalid UTF-8 replaced byte by byte, as encoding/json does.
// clash is set when two keys of a map become one.
func normal(v any, clash *bool) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			k = validUTF8(k)
			if _, dup := out[k]; dup {
				*clash = true
			}
			out[k] = normal(e, clash)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = normal(e, clash)
		}
		return out
	case string:
		return validUTF8(v)
	case json.Number:
		s := string(v)
		if !strings.ContainsAny(s, ".eE") {
			if i, err := strconv.ParseInt(s, 10, 64); err == nil {
				return i
			}
			if u, err := strconv.ParseUint(s, 10, 64); err == nil {
				return u
			}
		}
		f, _ := strconv.ParseFloat(s, 64)
		return f
	}
	return v
}

func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for _, r := range s { // an invalid byte reads as one RuneError
		b.WriteRune(r)
	}
	return b.String()
}

// TestAppendJSONObjectNoAllocs: reading a Keeper event allocates nothing,
// escapes included.
func TestAppendJSONObjectNoAllocs(t *testing.T) {
	data := []byte(`{"audit_event":"login","remote_address":"203.0.113.7","username":"a\"b@example.com","enterprise_id":6557,"ratio":0.5,"flags":[true,false,null]}`)
	buf := make([]byte, 0, 1024)
	if n := testing.AllocsPerRun(100, func() {
		if _, err := convert.AppendJSONObject(buf[:0], data); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("%v allocations per object, want 0", n)
	}
}
