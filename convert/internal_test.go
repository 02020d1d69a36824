package convert

import (
	"bytes"
	"encoding/json"
	"hash/maphash"
	"math"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/tinylib/msgp/msgp"
)

func TestCivilMatchesTime(t *testing.T) {
	for days := int64(minUnix / 86400); days <= maxUnix/86400; days += 7 {
		y, m, d := civil(days)
		ty, tm, td := time.Unix(days*86400, 0).UTC().Date()
		if y != int64(ty) || m != int64(tm) || d != int64(td) {
			t.Fatalf("civil(%d) = %d-%d-%d, time says %d-%d-%d", days, y, m, d, ty, tm, td)
		}
		if back := daysFromCivil(y, m, d); back != days {
			t.Fatalf("daysFromCivil(%d-%d-%d) = %d, want %d", y, m, d, back, days)
		}
	}
}

func randInstant(r *rand.Rand) time.Time {
	return time.Unix(minUnix+r.Int64N(maxUnix-minUnix+1), r.Int64N(1e9)).UTC()
}

func TestFormatMatchesTime(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 100000; i++ {
		tt := randInstant(r)
		if i%3 == 0 {
			tt = tt.Truncate(time.Duration(1+r.IntN(3)) * time.Millisecond * 1000)
		}
		in := instant{tt.Unix(), int64(tt.Nanosecond())}
		if got, want := string(appendMillis(nil, in)), tt.Format("2006-01-02T15:04:05.000Z"); got != want {
			t.Fatalf("appendMillis = %s, want %s", got, want)
		}
		if got, want := string(appendNano(nil, in)), tt.Format(time.RFC3339Nano); got != want {
			t.Fatalf("appendNano = %s, want %s", got, want)
		}
	}
}

func TestParseISOMatchesTime(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	layouts := []string{
		time.RFC3339Nano, time.RFC3339, "2006-01-02T15:04:05.000Z07:00", "2006-01-02 15:04:05.999999999Z07:00",
		"2006-01-02T15:04:05.000000-0700",
	}
	for i := 0; i < 100000; i++ {
		tt := randInstant(r)
		zone := time.FixedZone("", (r.IntN(47)-23)*1800)
		layout := layouts[r.IntN(len(layouts))]
		s := tt.In(zone).Format(layout)
		want, err := time.Parse(layout, s)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := parseISO([]byte(s))
		inRange := want.Unix() >= minUnix && want.Unix() <= maxUnix
		if ok != inRange || ok && (got.sec != want.Unix() || got.nsec != int64(want.Nanosecond())) {
			t.Fatalf("parseISO(%q) = %v %v, want %v", s, got, ok, want)
		}
	}
}

func TestEpochScales(t *testing.T) {
	cases := []struct {
		v         int64
		sec, nsec int64
	}{
		{1e11, 1e11, 0},
		{1e11 + 1, 1e8, 1e6},
		{1e14, 1e11, 0},
		{1e14 + 1, 1e8, 1e3},
		{1e17, 1e11, 0},
		{1e17 + 1, 1e8, 1},
		{-1737595871123, -1737595872, 877e6},
		{math.MaxInt64, math.MaxInt64 / 1000000000, math.MaxInt64 % 1000000000},
	}
	for _, tc := range cases {
		got, ok := epochInt(tc.v)
		if !ok || got.sec != tc.sec || got.nsec != tc.nsec {
			t.Errorf("epochInt(%d) = %+v %v, want %d.%09d", tc.v, got, ok, tc.sec, tc.nsec)
		}
	}
	if _, ok := epochInt(math.MinInt64); ok {
		t.Error("epochInt(MinInt64) accepted")
	}
	if got, ok := epochFloat(-0.5); !ok || got.sec != -1 || got.nsec != 5e8 {
		t.Errorf("epochFloat(-0.5) = %+v", got)
	}
	if got, ok := epochFloat(0.9999999); !ok || got.sec != 1 || got.nsec != 0 {
		t.Errorf("epochFloat(0.9999999) = %+v (rounds to the microsecond)", got)
	}
}

func TestEscapeMatchesEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	alphabet := []string{"a", "\"", "\\", "\n", "\x00", "\x1f", "\x7f", "é", "€", "🎉", "\u2028", "\u2029", "\xff", "\xe2\x82", "\xed\xa0\x80", "<", "&", "abcdefgh"}
	for i := 0; i < 20000; i++ {
		var s []byte
		for n := r.IntN(40); n > 0; n-- {
			s = append(s, alphabet[r.IntN(len(alphabet))]...)
		}
		got, repaired := appendEscaped([]byte{'"'}, s)
		got = append(got, '"')
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("%q -> %s: %v", s, got, err)
		}
		if want := string([]rune(string(s))); back != want {
			t.Fatalf("%q -> %s -> %q, want %q", s, got, back, want)
		}
		if len(back) != len(s)+2*repaired {
			t.Fatalf("%q: repaired %d, lengths %d -> %d", s, repaired, len(s), len(back))
		}
	}
}

func TestFloatMatchesEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for i := 0; i < 100000; i++ {
		f := math.Float64frombits(r.Uint64())
		if math.IsNaN(f) || math.IsInf(f, 0) {
			continue
		}
		if i%2 == 0 {
			f = float64(float32(f))
			if math.IsInf(f, 0) {
				continue
			}
			want, _ := json.Marshal(float32(f))
			if got := appendFloat(nil, f, 32); string(got) != string(want) {
				t.Fatalf("float32 %v: got %s, want %s", f, got, want)
			}
			continue
		}
		want, _ := json.Marshal(f)
		if got := appendFloat(nil, f, 64); string(got) != string(want) {
			t.Fatalf("%v: got %s, want %s", f, got, want)
		}
	}
}

func TestSkipLenMatchesMsgp(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	// Random bytes, biased towards headers.
	for i := 0; i < 200000; i++ {
		b := make([]byte, r.IntN(24))
		for j := range b {
			b[j] = byte(r.IntN(256))
			if r.IntN(3) == 0 {
				b[j] = byte(0x80 + r.IntN(0x20)) // fixmap, fixarray
			}
		}
		n, err := skipLen(b)
		rest, merr := msgp.Skip(b)
		if (err == nil) != (merr == nil) || err == nil && n != len(b)-len(rest) {
			t.Fatalf("% x: skipLen %d %v, msgp.Skip %d %v", b, n, err, len(b)-len(rest), merr)
		}
		if vn, verr := valueLen(b); (verr == nil) != (err == nil) || verr == nil && vn != n {
			t.Fatalf("% x: valueLen %d %v, skipLen %d %v", b, vn, verr, n, err)
		}
	}
}

func TestKeySet(t *testing.T) {
	e := &encoder{seed: maphash.MakeSeed()}
	s := e.set(1)
	seen := map[string]bool{}
	r := rand.New(rand.NewPCG(13, 14))
	for i := 0; i < 5000; i++ {
		k := string(rune('a'+r.IntN(26))) + string(rune('a'+r.IntN(26))) + string(rune('a'+r.IntN(4)))
		start := len(e.buf)
		e.buf = append(e.buf, k...)
		if got := s.add(e, start, len(e.buf)); got != !seen[k] {
			t.Fatalf("key %d %q: add = %v", i, k, got)
		}
		seen[k] = true
	}
	s = e.set(1)
	if !s.add(e, 0, 3) {
		t.Fatal("reset set still holds keys")
	}
}

// TestIsIPMatchesNetip: isIP says what net/netip says (zones aside: ASIM's
// testers take none), for chosen and random addresses and near misses.
func TestIsIPMatchesNetip(t *testing.T) {
	cases := []string{"", "1.2.3.4", "203.0.113.9", "255.255.255.255", "256.1.1.1", "1.2.3", "1.2.3.4.5", "01.2.3.4",
		"1..2.3", "1.2.3.4.", ".1.2.3", "a.b.c.d", "::", "::1", "1::", "2001:db8::1", "2001:db8:0:0:0:0:0:1",
		"2001:db8:0:0:0:0:0:0:1", "1:2:3:4:5:6:7::", "::ffff:1.2.3.4", "::ffff:1.2.3", "1:2:3:4:5:6:1.2.3.4",
		"1:2:3:4:5:6:7:1.2.3.4", ":1:2:3:4:5:6:7", "1:2:3:4:5:6:7:", "12345::1", "g::1", "1:::2", "1::2::3",
		"fe80::1%eth0", " 1.2.3.4", "1.2.3.4 ", "unknown", "00000::1", "0:0:0:0:0:0:0:0"}
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := "0123456789abcdef:.:"
	for range 20000 {
		var b strings.Builder
		for range 2 + r.IntN(20) {
			b.WriteByte(alphabet[r.IntN(len(alphabet))])
		}
		cases = append(cases, b.String())
	}
	for range 2000 {
		a := netip.AddrFrom16([16]byte{byte(r.Uint32()), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, byte(r.Uint32())})
		cases = append(cases, a.String(), netip.AddrFrom4([4]byte{byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())}).String())
	}
	for _, c := range cases {
		a, err := netip.ParseAddr(c)
		want := err == nil && a.Zone() == ""
		if got := isIP([]byte(c)); got != want {
			t.Errorf("isIP(%q) = %v, net/netip says %v", c, got, want)
		}
	}
}

// FuzzReadCommanderSD: whatever the text, readCommanderSD writes as many
// string pairs as it counts; and for structured data written as
// Commander writes it, from distinct Keeper-like names and a value and a
// message without a `"` (with one, the text can be truly ambiguous: see
// readCommanderSD), it reads back exactly those fields and that message.
func FuzzReadCommanderSD(f *testing.F) {
	f.Add(` audit_event_type="x" value="[{"domains":["_default_"]}]" role_id="1"] m`, "k", "v\n\"]", "msg")
	f.Add(`] `, "a", "", "")
	f.Add(` a="b" a="c"]`, "name", "x] y", "z\" w=\"")
	f.Fuzz(func(t *testing.T, text, key, value, message string) {
		b, n, _ := readCommanderSD(nil, []byte(text))
		for i := 0; i < 2*n; i++ {
			var err error
			if _, b, err = msgp.ReadStringZC(b); err != nil {
				t.Fatalf("pair %d of %d: %v", i/2, n, err)
			}
		}
		if len(b) != 0 {
			t.Fatalf("%d bytes after %d pairs", len(b), n)
		}
		// Commander's own shape: ` k="v"` for each field, `] `, the message.
		if !isFieldName([]byte(key)) || key == "audit_event_type" || bytes.ContainsRune([]byte(value+message), '"') {
			return
		}
		sd := ` audit_event_type="login" ` + key + `="` + value + `"] ` + message
		out, n, msg := readCommanderSD(nil, []byte(sd))
		if n != 2 || string(msg) != message {
			t.Fatalf("%q: %d fields, message %q", sd, n, msg)
		}
		var got []string
		for i := 0; i < 4; i++ {
			var s string
			s, out, _ = msgp.ReadStringBytes(out)
			got = append(got, s)
		}
		if got[2] != key || got[3] != value {
			t.Fatalf("%q: read %q", sd, got)
		}
	})
}
