package convert

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/tinylib/msgp/msgp"
)

const (
	// MaxDepth is the deepest nesting of objects and arrays written; the
	// record object itself is level 1. A map or array that would be deeper
	// is replaced by the string TooDeep.
	MaxDepth = 64

	// TooDeep replaces a value nested deeper than MaxDepth.
	TooDeep = "[nested too deep]"

	// minFieldBytes is the smallest usable MaxFieldBytes: room for the
	// truncation marker and some text.
	minFieldBytes = 64

	// smallSet is the number of keys of a map checked for duplicates by a
	// linear scan before switching to a hash table.
	smallSet = 16
)

// encoder writes JSON for one Convert call. It is pooled by the Converter.
type encoder struct {
	buf       []byte
	scratch   []byte // text of a map key that is itself a map or array
	sets      []keySet
	fields    []field
	top       []field          // a record's own fields while a wrapped event is unwrapped
	evbuf     []byte           // msgpack of events unwrapped from strings
	schema    ASIMSchema       // the ASIM schema of the record just written
	data      [numASIMData]int // ASIM: where in fields the data fields ASIM columns take are
	seed      maphash.Seed
	maxField  int
	truncated int
	repeated  int  // members left out for a repeated key
	inKey     bool // writing the JSON text of a map or array used as a key
}

// keepCap bounds the scratch capacity an encoder keeps between chunks, so
// one odd record (a huge key, a map of a million keys) does not pin memory.
const keepCap = 1 << 16

// release drops the encoder's references to the chunk and the output, and
// oversized scratch, before it goes back to the pool.
func (e *encoder) release() {
	e.buf = nil
	clear(e.fields[:cap(e.fields)]) // they point into the chunk
	e.fields = e.fields[:0]
	if cap(e.fields) > keepCap/64 {
		e.fields = nil
	}
	clear(e.top[:cap(e.top)])
	e.top = e.top[:0]
	if cap(e.top) > keepCap/64 {
		e.top = nil
	}
	e.evbuf = e.evbuf[:0]
	if cap(e.evbuf) > keepCap {
		e.evbuf = nil
	}
	if cap(e.scratch) > keepCap {
		e.scratch = nil
	}
	for i := range e.sets {
		if s := &e.sets[i]; cap(s.keys) > keepCap/16 || cap(s.table) > keepCap/4 {
			*s = keySet{}
		}
	}
}

// span locates a written key (between its quotes) in encoder.buf.
type span struct {
	start, end int
}

// keySet detects duplicate keys of one JSON object being written. Keys are
// compared as written (escaped) text, so two msgpack keys that stringify
// alike (1 and "1") are duplicates, as they would be in JSON. Up to
// smallSet keys are compared one by one; beyond, a hash table takes over.
type keySet struct {
	keys   []span
	hashes []uint64 // of keys, once the table is on
	table  []int32  // open addressing over keys: index+1, 0 empty
}

func (s *keySet) reset() {
	s.keys = s.keys[:0]
	s.hashes = s.hashes[:0]
}

// add records the key buf[start:end] and reports whether it was new.
func (s *keySet) add(e *encoder, start, end int) bool {
	k := e.buf[start:end]
	if len(s.keys) < smallSet {
		for _, o := range s.keys {
			if o.end-o.start == len(k) && string(e.buf[o.start:o.end]) == string(k) {
				return false
			}
		}
		s.keys = append(s.keys, span{start, end})
		if len(s.keys) == smallSet {
			for _, o := range s.keys {
				s.hashes = append(s.hashes, maphash.Bytes(e.seed, e.buf[o.start:o.end]))
			}
			s.rehash(4 * smallSet)
		}
		return true
	}
	h := maphash.Bytes(e.seed, k)
	mask := uint64(len(s.table) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		j := s.table[i]
		if j == 0 {
			s.keys = append(s.keys, span{start, end})
			s.hashes = append(s.hashes, h)
			s.table[i] = int32(len(s.keys))
			if 2*len(s.keys) > len(s.table) {
				s.rehash(2 * len(s.table))
			}
			return true
		}
		if o := s.keys[j-1]; s.hashes[j-1] == h && string(e.buf[o.start:o.end]) == string(k) {
			return false
		}
	}
}

// addNew records the key buf[start:end], which the caller knows is not in
// the set.
func (s *keySet) addNew(e *encoder, start, end int) {
	if len(s.keys)+1 < smallSet {
		s.keys = append(s.keys, span{start, end})
		return
	}
	s.add(e, start, end)
}

func (s *keySet) rehash(size int) {
	if cap(s.table) >= size {
		s.table = s.table[:size]
		clear(s.table)
	} else {
		s.table = make([]int32, size)
	}
	mask := uint64(size - 1)
	for j, h := range s.hashes {
		i := h & mask
		for s.table[i] != 0 {
			i = (i + 1) & mask
		}
		s.table[i] = int32(j + 1)
	}
}

// set returns the duplicate detector for objects at nesting level lvl, reset.
func (e *encoder) set(lvl int) *keySet {
	if e.sets == nil {
		// Sized once: a pointer into sets must stay valid while deeper
		// objects are written.
		e.sets = make([]keySet, MaxDepth+1)
	}
	s := &e.sets[lvl]
	s.reset()
	return s
}

// value appends the JSON of the msgpack value at the start of b, which sits
// inside a container at nesting level lvl, and returns the rest of b.
func (e *encoder) value(b []byte, lvl int) ([]byte, error) {
	if len(b) > 0 { // fast paths: short strings, small integers, constants
		switch lead := b[0]; {
		case lead&0xe0 == 0xa0: // fixstr
			n := 1 + int(lead&0x1f)
			if n > len(b) {
				return b, msgp.ErrShortBytes
			}
			e.str(b[1:n])
			return b[n:], nil
		case lead <= 0x7f:
			e.buf = strconv.AppendUint(e.buf, uint64(lead), 10)
			return b[1:], nil
		case lead == 0xc3:
			e.buf = append(e.buf, "true"...)
			return b[1:], nil
		case lead == 0xc2:
			e.buf = append(e.buf, "false"...)
			return b[1:], nil
		case lead == 0xc0:
			e.buf = append(e.buf, "null"...)
			return b[1:], nil
		}
	}
	switch kind(b) {
	case msgp.StrType:
		s, rest, err := msgp.ReadStringZC(b)
		if err != nil {
			return b, err
		}
		e.str(s)
		return rest, nil
	case msgp.IntType:
		v, rest, err := msgp.ReadInt64Bytes(b)
		if err != nil {
			return b, err
		}
		e.buf = strconv.AppendInt(e.buf, v, 10)
		return rest, nil
	case msgp.UintType:
		v, rest, err := msgp.ReadUint64Bytes(b)
		if err != nil {
			return b, err
		}
		e.buf = strconv.AppendUint(e.buf, v, 10)
		return rest, nil
	case msgp.MapType:
		return e.object(b, lvl+1)
	case msgp.ArrayType:
		return e.array(b, lvl+1)
	case msgp.Float64Type:
		f, rest, err := msgp.ReadFloat64Bytes(b)
		if err != nil {
			return b, err
		}
		e.buf = appendFloat(e.buf, f, 64)
		return rest, nil
	case msgp.Float32Type:
		f, rest, err := msgp.ReadFloat32Bytes(b)
		if err != nil {
			return b, err
		}
		e.buf = appendFloat(e.buf, float64(f), 32)
		return rest, nil
	case msgp.BinType:
		p, rest, err := msgp.ReadBytesZC(b)
		if err != nil {
			return b, err
		}
		e.bin(p)
		return rest, nil
	case msgp.ExtensionType:
		typ, p, rest, err := readExt(b)
		if err != nil {
			return b, err
		}
		e.ext(typ, p)
		return rest, nil
	}
	if len(b) == 0 {
		return b, msgp.ErrShortBytes
	}
	return b, msgp.InvalidPrefixError(b[0])
}

// tooDeep writes TooDeep in place of the container at the start of b.
func (e *encoder) tooDeep(b []byte) ([]byte, error) {
	rest, err := skip(b)
	if err != nil {
		return b, err
	}
	e.buf = append(e.buf, `"`+TooDeep+`"`...)
	return rest, nil
}

// object writes the map at the start of b as a JSON object at level lvl.
func (e *encoder) object(b []byte, lvl int) ([]byte, error) {
	if lvl > MaxDepth {
		return e.tooDeep(b)
	}
	n, b, err := msgp.ReadMapHeaderBytes(b)
	if err != nil {
		return b, err
	}
	e.buf = append(e.buf, '{')
	set := e.set(lvl)
	first := true
	for ; n > 0; n-- {
		if b, err = e.member(b, lvl, set, &first); err != nil {
			return b, err
		}
	}
	e.buf = append(e.buf, '}')
	return b, nil
}

// member writes one key/value pair of a map at the start of b into the
// object at level lvl; a key already written there drops the pair.
func (e *encoder) member(b []byte, lvl int, set *keySet, first *bool) ([]byte, error) {
	mark := len(e.buf)
	if !*first {
		e.buf = append(e.buf, ',')
	}
	b, err := e.key(b, lvl)
	if err != nil {
		return b, err
	}
	if !set.add(e, mark+boolInt(!*first)+1, len(e.buf)-1) {
		e.buf = e.buf[:mark]
		e.repeated++
		return skip(b)
	}
	e.buf = append(e.buf, ':')
	*first = false
	return e.value(b, lvl)
}

func boolInt(v bool) int {
	if v {
		return 1
	}
	return 0
}

// array writes the array at the start of b as a JSON array at level lvl.
func (e *encoder) array(b []byte, lvl int) ([]byte, error) {
	if lvl > MaxDepth {
		return e.tooDeep(b)
	}
	n, b, err := msgp.ReadArrayHeaderBytes(b)
	if err != nil {
		return b, err
	}
	e.buf = append(e.buf, '[')
	for i := uint32(0); i < n; i++ {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		if b, err = e.value(b, lvl); err != nil {
			return b, err
		}
	}
	e.buf = append(e.buf, ']')
	return b, nil
}

// key appends the map key at the start of b as a JSON string (with its
// quotes, without the colon). Keys of any type are stringified: a map or
// array key becomes its JSON text, except that within such a key a map or
// array key becomes TooDeep. Keys are never truncated (their string
// values are).
func (e *encoder) key(b []byte, lvl int) ([]byte, error) {
	if len(b) > 0 && b[0]&0xe0 == 0xa0 { // fixstr
		n := 1 + int(b[0]&0x1f)
		if n > len(b) {
			return b, msgp.ErrShortBytes
		}
		e.quoted(b[1:n])
		return b[n:], nil
	}
	switch kind(b) {
	case msgp.StrType:
		s, rest, err := msgp.ReadStringZC(b)
		if err != nil {
			return b, err
		}
		e.quoted(s)
		return rest, nil
	case msgp.BinType:
		p, rest, err := msgp.ReadBytesZC(b)
		if err != nil {
			return b, err
		}
		if utf8.Valid(p) {
			e.quoted(p)
		} else {
			e.buf = append(e.buf, '"')
			e.buf = base64.StdEncoding.AppendEncode(e.buf, p)
			e.buf = append(e.buf, '"')
		}
		return rest, nil
	case msgp.Float64Type, msgp.Float32Type:
		f, rest, err := msgp.ReadFloat64Bytes(b) // also reads float32
		if err != nil {
			return b, err
		}
		e.buf = append(e.buf, '"')
		switch {
		case math.IsNaN(f):
			e.buf = append(e.buf, "NaN"...)
		case math.IsInf(f, 1):
			e.buf = append(e.buf, "+Inf"...)
		case math.IsInf(f, -1):
			e.buf = append(e.buf, "-Inf"...)
		default:
			bits := 64
			if b[0] == 0xca {
				bits = 32
			}
			e.buf = appendFloat(e.buf, f, bits)
		}
		e.buf = append(e.buf, '"')
		return rest, nil
	case msgp.MapType, msgp.ArrayType:
		if e.inKey {
			// A container key inside a container key: its text would be
			// escaped once more at every level (exponential growth).
			return e.tooDeep(b)
		}
		// The key's JSON text, written at the end of buf, becomes the key.
		mark := len(e.buf)
		e.inKey = true
		rest, err := e.value(b, lvl)
		e.inKey = false
		if err != nil {
			return b, err
		}
		e.scratch = append(e.scratch[:0], e.buf[mark:]...)
		e.buf = e.buf[:mark]
		e.quoted(e.scratch)
		return rest, nil
	case msgp.ExtensionType:
		typ, p, rest, err := readExt(b)
		if err != nil {
			return b, err
		}
		e.ext(typ, p) // always a string, and short unless a huge extension
		return rest, nil
	}
	// int, uint, bool, nil: their JSON text, quoted.
	mark := len(e.buf)
	e.buf = append(e.buf, '"')
	rest, err := e.value(b, lvl)
	if err != nil {
		e.buf = e.buf[:mark]
		return b, err
	}
	e.buf = append(e.buf, '"')
	return rest, nil
}

// ext writes an extension value: a time as an RFC 3339 string, anything
// else as the base64 text of its payload.
func (e *encoder) ext(typ int8, p []byte) {
	if t, ok := extTime(typ, p); ok {
		e.buf = append(e.buf, '"')
		e.buf = appendNano(e.buf, t)
		e.buf = append(e.buf, '"')
		return
	}
	e.base64(p)
}

// bin writes a msgpack bin value: valid UTF-8 as a string, else base64.
func (e *encoder) bin(p []byte) {
	if utf8.Valid(p) {
		e.str(p)
		return
	}
	e.base64(p)
}

// base64 writes p as a base64 string, cut to maxField bytes with a marker.
func (e *encoder) base64(p []byte) {
	enc := base64.StdEncoding
	e.buf = append(e.buf, '"')
	if enc.EncodedLen(len(p)) > e.maxField {
		keep := (e.maxField - markerLen(len(p))) / 4 * 3
		e.buf = enc.AppendEncode(e.buf, p[:keep])
		e.buf = appendMarker(e.buf, len(p)-keep)
		e.truncated++
	} else {
		e.buf = enc.AppendEncode(e.buf, p)
	}
	e.buf = append(e.buf, '"')
}

// str writes a string value, cut to maxField bytes (of the string as
// decoded from JSON, after any UTF-8 repair) with a marker.
func (e *encoder) str(s []byte) {
	mark := len(e.buf)
	if len(s) <= e.maxField {
		e.buf = append(e.buf, '"')
		var repaired int
		e.buf, repaired = appendEscaped(e.buf, s)
		e.buf = append(e.buf, '"')
		if repaired == 0 || len(s)+2*repaired <= e.maxField {
			return
		}
		e.buf = e.buf[:mark] // repair (1 byte -> 3) made it too long
	}
	// Keep the longest prefix, cut at a character boundary, that leaves
	// room for the marker within maxField decoded bytes.
	budget := e.maxField - markerLen(len(s))
	keep, size := 0, 0
	for keep < len(s) {
		r, n := utf8.DecodeRune(s[keep:])
		w := n
		if r == utf8.RuneError && n == 1 {
			w = 3
		}
		if size+w > budget {
			break
		}
		size += w
		keep += n
	}
	e.buf = append(e.buf, '"')
	e.buf, _ = appendEscaped(e.buf, s[:keep])
	e.buf = appendMarker(e.buf, len(s)-keep)
	e.buf = append(e.buf, '"')
	e.truncated++
}

// quoted writes s as a JSON string, never truncated.
func (e *encoder) quoted(s []byte) {
	e.buf = append(e.buf, '"')
	e.buf, _ = appendEscaped(e.buf, s)
	e.buf = append(e.buf, '"')
}

// markerLen bounds the length of the marker for cutting a value of n bytes.
func markerLen(n int) int {
	return len("…[truncated  bytes]") + len(strconv.Itoa(n))
}

func appendMarker(b []byte, cut int) []byte {
	b = append(b, "…[truncated "...)
	b = strconv.AppendInt(b, int64(cut), 10)
	return append(b, " bytes]"...)
}

const hexDigits = "0123456789abcdef"

// appendEscaped appends the JSON string content of s: quotes, backslashes
// and control characters escaped, U+2028 and U+2029 escaped, and each byte
// of invalid UTF-8 replaced by U+FFFD. It returns the number of replaced
// bytes.
func appendEscaped(b, s []byte) ([]byte, int) {
	i := firstSpecial(s)
	if i == len(s) { // the common case: nothing to escape
		return append(b, s...), 0
	}
	repaired := 0
	start := 0
	for i < len(s) {
		for i+8 <= len(s) && !special(binary.LittleEndian.Uint64(s[i:])) {
			i += 8
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, n := utf8.DecodeRune(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			b = append(b, s[start:i]...)
			b = append(b, "\ufffd"...)
			repaired++
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += n
			continue
		}
		i += n
		start = i
	}
	return append(b, s[start:]...), repaired
}

// firstSpecial returns the index of the first byte of s that needs a look
// (see special), or len(s).
func firstSpecial(s []byte) int {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		if special(binary.LittleEndian.Uint64(s[i:])) {
			break
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
			return i
		}
	}
	return len(s)
}

// special reports whether any of the 8 bytes in x needs a look: a control
// character, '"', '\\' or a byte of a multi-byte UTF-8 sequence.
func special(x uint64) bool {
	const lsb, msb = 0x0101010101010101, 0x8080808080808080
	ctl := (x - lsb*0x20) &^ x
	q := x ^ (lsb * '"')
	q = (q - lsb) &^ q
	bs := x ^ (lsb * '\\')
	bs = (bs - lsb) &^ bs
	return (ctl|q|bs|x)&msb != 0
}

// appendFloat appends f as a JSON number, shortest text that reads back to
// the same float of the given bit size; NaN and infinities become null.
func appendFloat(b []byte, f float64, bits int) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...)
	}
	format := byte('f')
	if a := math.Abs(f); a != 0 {
		if bits == 64 && (a < 1e-6 || a >= 1e21) || bits == 32 && (float32(a) < 1e-6 || float32(a) >= 1e21) {
			format = 'e'
		}
	}
	b = strconv.AppendFloat(b, f, format, -1, bits)
	if format == 'e' {
		// 1e-07 -> 1e-7
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// errorf builds the reason for a skipped record.
func errorf(ord, off int, format string, args ...any) error {
	return fmt.Errorf("record %d (chunk offset %d): %s", ord, off, fmt.Sprintf(format, args...))
}
