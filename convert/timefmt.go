package convert

import (
	"encoding/binary"
	"math"

	"github.com/tinylib/msgp/msgp"
)

// Time handling without the time package on the hot path: instants are
// (seconds since the Unix epoch, nanoseconds 0..999999999) pairs, limited to
// the years 0000-9999 that RFC 3339 can write.

const (
	minUnix = -62135596800 // 0001-01-01T00:00:00Z: Azure datetimes start at year 1
	maxUnix = 253402300799 // 9999-12-31T23:59:59Z

	// millisLen is the length of a "2006-01-02T15:04:05.000Z" time.
	millisLen = 24
)

// instant is a point in time in the years 0000-9999.
type instant struct {
	sec  int64
	nsec int64
}

// mkInstant normalises sec/nsec and checks the range.
func mkInstant(sec, nsec int64) (instant, bool) {
	if nsec < 0 || nsec >= 1e9 {
		sec += nsec / 1e9
		nsec %= 1e9
		if nsec < 0 {
			nsec += 1e9
			sec--
		}
	}
	if sec < minUnix || sec > maxUnix {
		return instant{}, false
	}
	return instant{sec, nsec}, true
}

// civil converts days since 1970-01-01 into a proleptic Gregorian date
// (the "days from civil" inverse from Howard Hinnant's date algorithms).
func civil(days int64) (y, m, d int64) {
	days += 719468
	era := days / 146097
	if days < 0 && days%146097 != 0 {
		era = (days - 146096) / 146097
	}
	doe := days - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = doy - (153*mp+2)/5 + 1
	if mp < 10 {
		m = mp + 3
	} else {
		m = mp - 9
	}
	if m <= 2 {
		y++
	}
	return y, m, d
}

// daysFromCivil is the inverse of civil.
func daysFromCivil(y, m, d int64) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era = (y - 399) / 400
	}
	yoe := y - era*400
	mp := m - 3
	if m <= 2 {
		mp = m + 9
	}
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// pairs holds the two-digit texts of 00..99.
const pairs = "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899"

// put2 writes v (0..99) as two digits at p[0:2].
func put2(p []byte, v int64) {
	p[0], p[1] = pairs[2*v], pairs[2*v+1]
}

// putDateTime writes "2006-01-02T15:04:05" (19 bytes) at p.
func putDateTime(p []byte, t instant) {
	_ = p[18]
	days := t.sec / 86400
	rem := t.sec % 86400
	if rem < 0 {
		rem += 86400
		days--
	}
	y, mo, d := civil(days)
	put2(p[0:], y/100)
	put2(p[2:], y%100)
	p[4] = '-'
	put2(p[5:], mo)
	p[7] = '-'
	put2(p[8:], d)
	p[10] = 'T'
	put2(p[11:], rem/3600)
	p[13] = ':'
	put2(p[14:], rem/60%60)
	p[16] = ':'
	put2(p[17:], rem%60)
}

// appendMillis appends t as "2006-01-02T15:04:05.000Z" (always millisLen
// bytes; the fraction is truncated, not rounded).
func appendMillis(b []byte, t instant) []byte {
	var a [millisLen]byte
	putDateTime(a[:], t)
	ms := t.nsec / 1e6
	a[19] = '.'
	a[20] = byte('0' + ms/100)
	put2(a[21:], ms%100)
	a[23] = 'Z'
	return append(b, a[:]...)
}

// appendNano appends t as time.RFC3339Nano in UTC: trailing zeros of the
// fraction trimmed, no fraction at all for whole seconds.
func appendNano(b []byte, t instant) []byte {
	var a [30]byte
	putDateTime(a[:], t)
	n := 19
	if t.nsec != 0 {
		a[n] = '.'
		v := t.nsec
		for i := 9; i > 0; i-- {
			a[n+i] = byte('0' + v%10)
			v /= 10
		}
		n += 10
		for a[n-1] == '0' {
			n--
		}
	}
	a[n] = 'Z'
	return append(b, a[:n+1]...)
}

// extTime decodes the payload of a Fluent Bit EventTime (ext type 0) or a
// msgpack timestamp (ext type -1).
func extTime(typ int8, p []byte) (instant, bool) {
	switch {
	case typ == 0 && len(p) == 8:
		return mkInstant(int64(binary.BigEndian.Uint32(p)), int64(binary.BigEndian.Uint32(p[4:])))
	case typ == -1 && len(p) == 4:
		return mkInstant(int64(binary.BigEndian.Uint32(p)), 0)
	case typ == -1 && len(p) == 8:
		v := binary.BigEndian.Uint64(p)
		return mkInstant(int64(v&(1<<34-1)), int64(v>>34))
	case typ == -1 && len(p) == 12:
		return mkInstant(int64(binary.BigEndian.Uint64(p[4:])), int64(binary.BigEndian.Uint32(p)))
	}
	return instant{}, false
}

// epochInt reads an integer epoch: seconds, or milliseconds, microseconds,
// nanoseconds when its magnitude exceeds 1e11, 1e14, 1e17.
func epochInt(v int64) (instant, bool) {
	a := v
	if a < 0 {
		a = -a // math.MinInt64 stays negative and falls through to seconds: out of range
	}
	switch {
	case a > 1e17:
		return mkInstant(v/1e9, v%1e9)
	case a > 1e14:
		return mkInstant(v/1e6, v%1e6*1e3)
	case a > 1e11:
		return mkInstant(v/1e3, v%1e3*1e6)
	}
	return mkInstant(v, 0)
}

// epochFloat reads a float epoch with the scale rules of epochInt, rounded
// to the microsecond (a float64 of today's epoch seconds holds about that).
func epochFloat(f float64) (instant, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return instant{}, false
	}
	switch a := math.Abs(f); {
	case a > 1e17:
		f /= 1e9
	case a > 1e14:
		f /= 1e6
	case a > 1e11:
		f /= 1e3
	}
	if f < minUnix-1 || f > maxUnix+1 {
		return instant{}, false
	}
	sec := math.Floor(f)
	us := math.Round((f - sec) * 1e6)
	return mkInstant(int64(sec), int64(us)*1e3)
}

// valueTime reads a time from the msgpack value at the start of b: an
// RFC 3339 / ISO 8601 string, an epoch number, or a time extension.
func valueTime(b []byte) (instant, bool) {
	switch kind(b) {
	case msgp.StrType:
		s, _, err := msgp.ReadStringZC(b)
		if err != nil {
			return instant{}, false
		}
		return parseISO(s)
	case msgp.BinType:
		s, _, err := msgp.ReadBytesZC(b)
		if err != nil {
			return instant{}, false
		}
		return parseISO(s)
	case msgp.IntType:
		v, _, err := msgp.ReadInt64Bytes(b)
		if err != nil {
			return instant{}, false
		}
		return epochInt(v)
	case msgp.UintType:
		v, _, err := msgp.ReadUint64Bytes(b)
		if err != nil {
			return instant{}, false
		}
		if v <= math.MaxInt64 {
			return epochInt(int64(v))
		}
		return mkInstant(int64(v/1e9), int64(v%1e9))
	case msgp.Float64Type:
		f, _, err := msgp.ReadFloat64Bytes(b)
		if err != nil {
			return instant{}, false
		}
		return epochFloat(f)
	case msgp.Float32Type:
		f, _, err := msgp.ReadFloat32Bytes(b)
		if err != nil {
			return instant{}, false
		}
		return epochFloat(float64(f))
	case msgp.ExtensionType:
		typ, p, _, err := readExt(b)
		if err != nil {
			return instant{}, false
		}
		return extTime(typ, p)
	}
	return instant{}, false
}

// num reads exactly n decimal digits at s[i:].
func num(s []byte, i, n int) (int64, bool) {
	if i+n > len(s) {
		return 0, false
	}
	var v int64
	for _, c := range s[i : i+n] {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	return v, true
}

// parseISO parses an RFC 3339 / ISO 8601 extended-format date-time:
//
//	YYYY-MM-DD[(T|t| )hh:mm[:ss[(.|,)fraction]][Z|z|±hh[[:]mm]]]
//
// A time without a zone is UTC; a date alone is midnight UTC. Digits of the
// fraction beyond nanoseconds are dropped.
func parseISO(s []byte) (instant, bool) {
	y, ok1 := num(s, 0, 4)
	mo, ok2 := num(s, 5, 2)
	d, ok3 := num(s, 8, 2)
	if !ok1 || !ok2 || !ok3 || s[4] != '-' || s[7] != '-' {
		return instant{}, false
	}
	if mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo) {
		return instant{}, false
	}
	var c clock
	if len(s) > 10 {
		var ok bool
		if c, ok = parseClock(s[10:]); !ok {
			return instant{}, false
		}
	}
	if c.sec == 60 {
		// A leap second (RFC 3339 allows :60): the last instant of the
		// minute before it, which datetimes can hold.
		c.sec, c.nsec = 59, 999_999_999
	}
	unix := daysFromCivil(y, mo, d)*86400 + c.h*3600 + c.mi*60 + c.sec - c.off
	return mkInstant(unix, c.nsec)
}

// clock is the time-of-day part of an ISO date-time, with its zone offset
// in seconds east of UTC.
type clock struct{ h, mi, sec, nsec, off int64 }

// parseClock parses what follows the date: (T|t| )hh:mm[:ss[(.|,)fraction]]
// and an optional zone, to the end of s.
func parseClock(s []byte) (c clock, ok bool) {
	if ch := s[0]; ch != 'T' && ch != 't' && ch != ' ' {
		return c, false
	}
	var okH, okM bool
	c.h, okH = num(s, 1, 2)
	c.mi, okM = num(s, 4, 2)
	if !okH || !okM || s[3] != ':' || c.h > 23 || c.mi > 59 {
		return c, false
	}
	i := 6
	if i < len(s) && s[i] == ':' {
		if c.sec, ok = num(s, i+1, 2); !ok || c.sec > 60 {
			return c, false
		}
		i += 3
		if i < len(s) && (s[i] == '.' || s[i] == ',') {
			start := i + 1
			c.nsec, i = fraction(s, start)
			if i == start {
				return c, false
			}
		}
	}
	if i < len(s) {
		if c.off, i, ok = parseZone(s, i); !ok {
			return c, false
		}
	}
	return c, i == len(s)
}

// fraction reads the digits of a fraction of a second from s[i:] as
// nanoseconds (digits past the ninth dropped) and returns where they end.
func fraction(s []byte, i int) (nsec int64, end int) {
	for scale := int64(1e8); i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		nsec += int64(s[i]-'0') * scale
		scale /= 10
	}
	return nsec, i
}

// parseZone reads Z, z or ±hh[[:]mm] at s[i] as seconds east of UTC and
// returns where it ends.
func parseZone(s []byte, i int) (off int64, end int, ok bool) {
	c := s[i]
	switch c {
	case 'Z', 'z':
		return 0, i + 1, true
	case '+', '-':
	default:
		return 0, i, false
	}
	oh, ok := num(s, i+1, 2)
	if !ok || oh > 23 {
		return 0, i, false
	}
	i += 3
	var om int64
	if i < len(s) {
		if s[i] == ':' {
			i++
		}
		if om, ok = num(s, i, 2); !ok || om > 59 {
			return 0, i, false
		}
		i += 2
	}
	off = oh*3600 + om*60
	if c == '-' {
		off = -off
	}
	return off, i, true
}

// daysIn returns the number of days of month m of year y.
func daysIn(y, m int64) int64 {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
