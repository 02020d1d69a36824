package convert

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/tinylib/msgp/msgp"
)

// placeholder header sizes: map32 / array32 (type byte + uint32 count).
const containerHeader = 5

// AppendJSONObject appends the JSON object in data to b as a msgpack map,
// as Fluent Bit's JSON parser would: keys in their order, strings as str,
// integers that fit 64 bits as integers, other numbers as float64, nested
// objects and arrays as maps and arrays. data must hold exactly one object
// (surrounding white space allowed). On error b is returned with whatever
// was appended, and the caller cuts it back.
func AppendJSONObject(b, data []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return b, fmt.Errorf("invalid JSON: %w", jsonErr(err))
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return b, fmt.Errorf("not a JSON object (starts with %s)", describeToken(tok))
	}
	b, err = appendJSONValue(b, dec, tok)
	if err != nil {
		return b, err
	}
	if tok, err := dec.Token(); err != io.EOF {
		if err != nil {
			return b, fmt.Errorf("invalid JSON after the object: %w", jsonErr(err))
		}
		return b, fmt.Errorf("unexpected %s after the object", describeToken(tok))
	}
	return b, nil
}

// appendJSONValue appends the value that starts with tok (already read from
// dec) and, for an object or array, the rest of it.
func appendJSONValue(b []byte, dec *json.Decoder, tok json.Token) ([]byte, error) {
	switch v := tok.(type) {
	case json.Delim:
		isMap := v == '{'
		if !isMap && v != '[' {
			return b, fmt.Errorf("invalid JSON: unexpected %q", rune(v))
		}
		start := len(b)
		b = append(b, make([]byte, containerHeader)...)
		n := 0
		for dec.More() {
			if isMap {
				k, err := dec.Token()
				if err != nil {
					return b, fmt.Errorf("invalid JSON: %w", jsonErr(err))
				}
				key, ok := k.(string)
				if !ok {
					return b, fmt.Errorf("invalid JSON: object key is %s", describeToken(k))
				}
				b = msgp.AppendString(b, key)
			}
			t, err := dec.Token()
			if err != nil {
				return b, fmt.Errorf("invalid JSON: %w", jsonErr(err))
			}
			if b, err = appendJSONValue(b, dec, t); err != nil {
				return b, err
			}
			n++
		}
		if _, err := dec.Token(); err != nil { // the closing } or ]
			return b, fmt.Errorf("invalid JSON: %w", jsonErr(err))
		}
		return finishContainer(b, start, n, isMap), nil
	case string:
		return msgp.AppendString(b, v), nil
	case json.Number:
		return appendJSONNumber(b, string(v))
	case bool:
		return msgp.AppendBool(b, v), nil
	case nil:
		return msgp.AppendNil(b), nil
	}
	return b, fmt.Errorf("invalid JSON: unexpected token %v", tok)
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
	if shift := containerHeader - len(h); shift > 0 {
		copy(b[start+len(h):], b[start+containerHeader:])
		b = b[:len(b)-shift]
	}
	copy(b[start:], h)
	return b
}

// appendJSONNumber appends a JSON number: an integer when it is written as
// one and fits 64 bits, else a float64.
func appendJSONNumber(b []byte, s string) ([]byte, error) {
	if !strings.ContainsAny(s, ".eE") {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return msgp.AppendInt64(b, i), nil
		}
		if u, err := strconv.ParseUint(s, 10, 64); err == nil {
			return msgp.AppendUint64(b, u), nil
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return b, fmt.Errorf("number %s is out of range", s)
	}
	return msgp.AppendFloat64(b, f), nil
}

// describeToken names a JSON token for messages.
func describeToken(t json.Token) string {
	switch v := t.(type) {
	case json.Delim:
		return strconv.Quote(string(v))
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", t)
}

// jsonErr turns io.EOF / io.ErrUnexpectedEOF into a readable cause.
func jsonErr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("unexpected end of line")
	}
	return err
}
