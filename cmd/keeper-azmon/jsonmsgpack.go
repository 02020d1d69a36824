package main

import (
	"encoding/binary"
	"time"

	"github.com/keeper-azmon/keeper-azmon/convert"
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

// appendJSONRecord appends one record built from a JSON object (one line)
// to chunk, stamped with ts. On error chunk is returned unchanged (its
// length), so the caller can skip the line.
func appendJSONRecord(chunk, line []byte, ts time.Time) ([]byte, error) {
	mark := len(chunk)
	b := msgp.AppendArrayHeader(chunk, 2)
	b = msgp.AppendArrayHeader(b, 2)
	b = appendEventTime(b, ts)
	b = msgp.AppendMapHeader(b, 0)
	b, err := convert.AppendJSONObject(b, line)
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
