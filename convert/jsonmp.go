package convert

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/tinylib/msgp/msgp"
)

// Reading JSON into msgpack, for the Keeper events that syslog parsers leave
// as JSON strings: a one-pass reader that writes msgpack as it goes, with
// no allocation (JSON libraries build values or strings first; this runs
// for every event of Keeper's Syslog push).

// containerHeader is the size of a placeholder map32 / array32 / str32
// header (type byte + uint32 count), fixed up when the count is known.
const containerHeader = 5

// maxJSONDepth bounds the nesting AppendJSONObject reads; deeper input is
// an error (the converter writes nothing deeper than MaxDepth anyway).
const maxJSONDepth = 1000

// errJSONEnd is the cause of JSON that stops in the middle.
func errJSONEnd() error { return errors.New("unexpected end of line") }

// AppendJSONObject appends the JSON object in data to b as a msgpack map,
// as Fluent Bit's JSON parser would: keys in their order, strings as str
// (their bytes as they are, escapes decoded), numbers without a fraction
// or exponent that fit int64 or uint64 as integers, other numbers as
// float64, true, false, null, nested objects and arrays as maps and
// arrays. data must hold exactly one object (surrounding white space
// allowed). On error b is returned with whatever was appended, and the
// caller cuts it back.
func AppendJSONObject(b, data []byte) ([]byte, error) {
	r := jsonReader{s: data}
	r.space()
	if r.i >= len(r.s) {
		return b, fmt.Errorf("invalid JSON: %w", errJSONEnd())
	}
	if c := r.s[r.i]; c != '{' {
		what, ok := startOf(c)
		if !ok {
			return b, fmt.Errorf("invalid JSON: invalid character %q looking for beginning of value", c)
		}
		return b, fmt.Errorf("not a JSON object (starts with %s)", what)
	}
	b, err := r.value(b, 0)
	if err != nil {
		return b, fmt.Errorf("invalid JSON: %w", err)
	}
	r.space()
	if r.i < len(r.s) {
		if what, ok := startOf(r.s[r.i]); ok {
			return b, fmt.Errorf("unexpected %s after the object", what)
		}
		return b, fmt.Errorf("invalid JSON after the object: invalid character %q", r.s[r.i])
	}
	return b, nil
}

// startOf names the JSON value that starts with c, for messages.
func startOf(c byte) (string, bool) {
	switch {
	case c == '{':
		return `"{"`, true
	case c == '[':
		return `"["`, true
	case c == '"':
		return "a string", true
	case c == '-' || c >= '0' && c <= '9':
		return "a number", true
	case c == 't' || c == 'f':
		return "a boolean", true
	case c == 'n':
		return "null", true
	}
	return "", false
}

// jsonReader reads JSON from s, at i.
type jsonReader struct {
	s []byte
	i int
}

func (r *jsonReader) space() {
	for r.i < len(r.s) {
		switch r.s[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

// value appends the value at r.i (no white space before it).
func (r *jsonReader) value(b []byte, depth int) ([]byte, error) {
	if r.i >= len(r.s) {
		return b, errJSONEnd()
	}
	switch c := r.s[r.i]; {
	case c == '{' || c == '[':
		if depth >= maxJSONDepth {
			return b, fmt.Errorf("nested deeper than %d levels", maxJSONDepth)
		}
		return r.container(b, depth+1)
	case c == '"':
		return r.str(b)
	case c == '-' || c >= '0' && c <= '9':
		return r.number(b)
	case c == 't':
		return r.literal(b, "true", msgp.AppendBool(b, true))
	case c == 'f':
		return r.literal(b, "false", msgp.AppendBool(b, false))
	case c == 'n':
		return r.literal(b, "null", msgp.AppendNil(b))
	default:
		return b, fmt.Errorf("invalid character %q looking for beginning of value", c)
	}
}

// literal reads the word w, whose msgpack with is b.
func (r *jsonReader) literal(orig []byte, w string, with []byte) ([]byte, error) {
	if len(r.s)-r.i < len(w) {
		return orig, errJSONEnd()
	}
	if string(r.s[r.i:r.i+len(w)]) != w {
		return orig, fmt.Errorf("invalid literal at offset %d (want %s)", r.i, w)
	}
	r.i += len(w)
	return with, nil
}

// container appends the object or array at r.i.
func (r *jsonReader) container(b []byte, depth int) ([]byte, error) {
	isMap := r.s[r.i] == '{'
	closing := byte(']')
	if isMap {
		closing = '}'
	}
	r.i++
	start := len(b)
	b = append(b, 0, 0, 0, 0, 0)
	n := 0
	r.space()
	if r.i < len(r.s) && r.s[r.i] == closing {
		r.i++
		return finishContainer(b, start, 0, isMap), nil
	}
	for {
		r.space()
		var err error
		if isMap {
			if r.i >= len(r.s) {
				return b, errJSONEnd()
			}
			if r.s[r.i] != '"' {
				return b, fmt.Errorf("invalid character %q looking for beginning of object key string", r.s[r.i])
			}
			if b, err = r.str(b); err != nil {
				return b, err
			}
			r.space()
			if r.i >= len(r.s) {
				return b, errJSONEnd()
			}
			if r.s[r.i] != ':' {
				return b, fmt.Errorf("invalid character %q after object key", r.s[r.i])
			}
			r.i++
			r.space()
		}
		if b, err = r.value(b, depth); err != nil {
			return b, err
		}
		n++
		r.space()
		if r.i >= len(r.s) {
			return b, errJSONEnd()
		}
		switch r.s[r.i] {
		case ',':
			r.i++
		case closing:
			r.i++
			return finishContainer(b, start, n, isMap), nil
		default:
			return b, fmt.Errorf("invalid character %q after %s element", r.s[r.i], map[bool]string{true: "object", false: "array"}[isMap])
		}
	}
}

// finishContainer writes the real header of the map or array of n elements
// whose body follows the placeholder at start, in the shortest form.
func finishContainer(b []byte, start, n int, isMap bool) []byte {
	var hdr [containerHeader]byte
	var h []byte
	if isMap {
		h = msgp.AppendMapHeader(hdr[:0], uint32(n))
	} else {
		h = msgp.AppendArrayHeader(hdr[:0], uint32(n))
	}
	return fixHeader(b, start, h)
}

// fixHeader replaces the placeholder header at b[start:] with h, moving
// what follows it when h is shorter.
func fixHeader(b []byte, start int, h []byte) []byte {
	if shift := containerHeader - len(h); shift > 0 {
		copy(b[start+len(h):], b[start+containerHeader:])
		b = b[:len(b)-shift]
	}
	copy(b[start:], h)
	return b
}

// str appends the string at r.i (its opening quote) as a msgpack str.
func (r *jsonReader) str(b []byte) ([]byte, error) {
	r.i++
	start := r.i
	for r.i < len(r.s) {
		r.i += firstSpecial(r.s[r.i:]) // 8 bytes at a time to the next '"', '\\', control or non-ASCII byte
		if r.i >= len(r.s) {
			break
		}
		switch c := r.s[r.i]; {
		case c == '"':
			b = msgp.AppendStringFromBytes(b, r.s[start:r.i])
			r.i++
			return b, nil
		case c == '\\':
			return r.escapedStr(b, start)
		case c < 0x20:
			return b, fmt.Errorf("invalid character %q in string literal", c)
		}
		r.i++ // a byte of a multi-byte character
	}
	return b, errJSONEnd()
}

// escapedStr appends the string that started at s[start] and has an
// escape at r.i, decoding the escapes (a lone surrogate becomes U+FFFD,
// as encoding/json reads it).
func (r *jsonReader) escapedStr(b []byte, start int) ([]byte, error) {
	hdr := len(b)
	b = append(b, 0, 0, 0, 0, 0)
	b = append(b, r.s[start:r.i]...)
	for r.i < len(r.s) {
		c := r.s[r.i]
		switch {
		case c == '"':
			r.i++
			n := len(b) - hdr - containerHeader
			var h [containerHeader]byte
			return fixHeader(b, hdr, strHeaderBytes(h[:0], n)), nil
		case c < 0x20:
			return b, fmt.Errorf("invalid character %q in string literal", c)
		case c != '\\':
			b = append(b, c)
			r.i++
			continue
		}
		if r.i+1 >= len(r.s) {
			return b, errJSONEnd()
		}
		e := r.s[r.i+1]
		r.i += 2
		switch e {
		case '"', '\\', '/':
			b = append(b, e)
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			x, ok := r.hex4()
			if !ok {
				return b, errors.New("invalid \\u escape in string literal")
			}
			ru := rune(x)
			if utf16.IsSurrogate(ru) {
				ru = utf8.RuneError
				if r.i+1 < len(r.s) && r.s[r.i] == '\\' && r.s[r.i+1] == 'u' {
					save := r.i
					r.i += 2
					if lo, ok := r.hex4(); ok {
						if d := utf16.DecodeRune(rune(x), rune(lo)); d != utf8.RuneError {
							ru = d
						} else {
							r.i = save // not a pair: read it on its own
						}
					} else {
						return b, errors.New("invalid \\u escape in string literal")
					}
				}
			}
			b = utf8.AppendRune(b, ru)
		default:
			return b, fmt.Errorf("invalid escape \\%c in string literal", e)
		}
	}
	return b, errJSONEnd()
}

// hex4 reads four hex digits at r.i.
func (r *jsonReader) hex4() (uint16, bool) {
	if len(r.s)-r.i < 4 {
		return 0, false
	}
	var x uint16
	for _, c := range r.s[r.i : r.i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		x = x<<4 | uint16(c)
	}
	r.i += 4
	return x, true
}

// strHeaderBytes appends a msgpack str header for n bytes.
func strHeaderBytes(b []byte, n int) []byte {
	switch {
	case n < 32:
		return append(b, 0xa0|byte(n))
	case n <= math.MaxUint8:
		return append(b, 0xd9, byte(n))
	case n <= math.MaxUint16:
		return append(b, 0xda, byte(n>>8), byte(n))
	}
	return append(b, 0xdb, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

// number appends the number at r.i: an integer when it is written as one
// and fits 64 bits, else a float64.
func (r *jsonReader) number(b []byte) ([]byte, error) {
	start := r.i
	s := r.s
	i := r.i
	if s[i] == '-' {
		i++
	}
	digits := func() int {
		j := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i - j
	}
	intStart := i
	switch nd := digits(); {
	case nd == 0:
		if i >= len(s) {
			return b, errJSONEnd()
		}
		return b, fmt.Errorf("invalid character %q in numeric literal", s[i])
	case nd > 1 && s[intStart] == '0':
		return b, fmt.Errorf("invalid character %q after top-level value", s[intStart+1])
	}
	integral := true
	if i < len(s) && s[i] == '.' {
		i++
		integral = false
		if digits() == 0 {
			if i >= len(s) {
				return b, errJSONEnd()
			}
			return b, fmt.Errorf("invalid character %q after decimal point in numeric literal", s[i])
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		integral = false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			if i >= len(s) {
				return b, errJSONEnd()
			}
			return b, fmt.Errorf("invalid character %q in exponent of numeric literal", s[i])
		}
	}
	r.i = i
	text := s[start:i]
	if integral {
		if v, ok := parseDecimal(text); ok {
			return msgp.AppendInt64(b, v), nil
		}
		if text[0] != '-' {
			if u, err := strconv.ParseUint(string(text), 10, 64); err == nil {
				return msgp.AppendUint64(b, u), nil
			}
		}
	}
	f, err := strconv.ParseFloat(string(text), 64)
	if err != nil {
		return b, fmt.Errorf("number %s is out of range", text)
	}
	return msgp.AppendFloat64(b, f), nil
}
