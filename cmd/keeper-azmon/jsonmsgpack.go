package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/tinylib/msgp/msgp"
)

// This file turns JSON lines into a Fluent Bit chunk, the way Fluent Bit's
// tail input with the json parser does, so that `send` feeds the plugin the
// same bytes Fluent Bit would:
//
//   - each line's object becomes a msgpack map with its keys in the line's
//     order (the JSON is walked token by token, never through a Go map);
//   - strings stay strings (str, not bin); true/false/null as such;
//   - a number without fraction or exponent that fits int64 (or uint64)
//     becomes an integer, exactly; any other number a float64 (the same
//     value strconv.ParseFloat gives); a number beyond float64's range is an
//     error;
//   - nested objects and arrays are kept as they are;
//   - the record is [[EventTime, {}], body], Fluent Bit 2.1's format, with
//     EventTime the msgpack extension type 0 (seconds and nanoseconds,
//     big-endian uint32 each).

// placeholder header sizes: map32 / array32 (type byte + uint32 count).
const containerHeader = 5

// appendJSONRecord appends one record built from a JSON object (one line)
// to chunk, stamped with ts. On error chunk is returned unchanged (its
// length), so the caller can skip the line.
func appendJSONRecord(chunk, line []byte, ts time.Time) ([]byte, error) {
	mark := len(chunk)
	b := msgp.AppendArrayHeader(chunk, 2)
	b = msgp.AppendArrayHeader(b, 2)
	b = appendEventTime(b, ts)
	b = msgp.AppendMapHeader(b, 0)
	b, err := appendJSONObject(b, line)
	if err != nil {
		return chunk[:mark], err
	}
	return b, nil
}

// appendEventTime appends ts as a Fluent Bit EventTime (fixext8, type 0).
func appendEventTime(b []byte, ts time.Time) []byte {
	b = append(b, 0xd7, 0x00)
	b = binary.BigEndian.AppendUint32(b, uint32(ts.Unix()))
	return binary.BigEndian.AppendUint32(b, uint32(ts.Nanosecond()))
}

// appendJSONObject appends the JSON object in data as a msgpack map. data
// must hold exactly one object (surrounding white space allowed).
func appendJSONObject(b, data []byte) ([]byte, error) {
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
