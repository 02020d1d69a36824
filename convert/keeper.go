package convert

import (
	"math"
	"strconv"

	"github.com/tinylib/msgp/msgp"
)

// Keeper columns, in output order.
const (
	colAuditEvent = iota
	colRemoteAddress
	colCategory
	colClientVersion
	colUsername
	colEnterpriseID
	colTimestamp
	numCols
)

// columnKey returns the JSON text written before a column's value.
func columnKey(col int) string {
	switch col {
	case colAuditEvent:
		return `,"audit_event":`
	case colRemoteAddress:
		return `,"remote_address":`
	case colCategory:
		return `,"category":`
	case colClientVersion:
		return `,"client_version":`
	case colUsername:
		return `,"username":`
	case colEnterpriseID:
		return `,"enterprise_id":`
	}
	return `,"timestamp":`
}

// columnOf returns the column named name, or -1.
func columnOf(name []byte) int {
	switch string(name) {
	case "audit_event":
		return colAuditEvent
	case "remote_address":
		return colRemoteAddress
	case "category":
		return colCategory
	case "client_version":
		return colClientVersion
	case "username":
		return colUsername
	case "enterprise_id":
		return colEnterpriseID
	case "timestamp":
		return colTimestamp
	}
	return -1
}

// role says where a top-level field of a Keeper record goes.
type role uint8

const (
	toData   role = iota // folded into data
	dropped              // consumed (TimeGenerated) or a repeated key
	toColumn             // a Keeper column (moves to data if it does not fit)
	dataMap              // the record's own "data" field
)

// field is one top-level key/value pair of a record, as msgpack.
type field struct {
	kv   []byte // key then value, contiguous
	klen int    // length of the key within kv
	role role
}

func (f *field) val() []byte { return f.kv[f.klen:] }

// keeper writes the Keeper shape of the map at the start of body.
func (c *Converter) keeper(e *encoder, body []byte, t instant) ([]byte, error) {
	n, b, err := msgp.ReadMapHeaderBytes(body)
	if err != nil {
		return body, err
	}
	var cols [numCols]int
	for i := range cols {
		cols[i] = -1
	}
	data, timeIdx, ownTG := -1, -1, -1
	e.fields = e.fields[:0]
	for ; n > 0; n-- {
		off, kn, isName := strHeader(b)
		klen := off + kn
		if !isName {
			var err error
			if klen, err = skipLen(b); err != nil {
				return b, err
			}
		}
		vlen, err := valueLen(b[klen:])
		if err != nil {
			return b, err
		}
		f := field{kv: b[:klen+vlen], klen: klen}
		if isName {
			name := b[off:klen]
			if timeIdx < 0 && c.opts.TimeKey != "" && string(name) == c.opts.TimeKey {
				timeIdx = len(e.fields)
			}
			if col := columnOf(name); col >= 0 {
				f.role = dropped
				if cols[col] < 0 {
					cols[col] = len(e.fields)
					f.role = toColumn
				} else {
					e.repeated++
				}
			} else if string(name) == "data" {
				f.role = dropped
				if data < 0 {
					data = len(e.fields)
					f.role = dataMap
				} else {
					e.repeated++
				}
			} else if string(name) == timeGenerated {
				f.role = dropped
				if ownTG < 0 {
					ownTG = len(e.fields)
				}
			}
		}
		e.fields = append(e.fields, f)
		b = b[klen+vlen:]
	}

	// TimeGenerated; the time field's parse is reused for the timestamp column.
	var tk instant
	tkOK := false
	if timeIdx >= 0 {
		if tk, tkOK = valueTime(e.fields[timeIdx].val()); tkOK {
			t = tk
		}
	}
	if !tkOK && ownTG >= 0 && ownTG != timeIdx {
		// The record's own TimeGenerated, before Fluent Bit's event time.
		if own, ok := valueTime(e.fields[ownTG].val()); ok {
			t = own
		}
	}
	e.buf = append(e.buf, `{"`+timeGenerated+`":"`...)
	tpos := len(e.buf)
	e.buf = appendMillis(e.buf, t)
	e.buf = append(e.buf, '"')

	for col, idx := range cols {
		if idx < 0 {
			continue
		}
		f := &e.fields[idx]
		mark := len(e.buf)
		e.buf = append(e.buf, columnKey(col)...)
		var fits bool
		switch col {
		case colEnterpriseID:
			fits = e.intColumn(f.val())
		case colTimestamp:
			ts, ok := tk, tkOK && idx == timeIdx
			if idx != timeIdx {
				ts, ok = valueTime(f.val())
			}
			if fits = ok; ok {
				e.buf = append(e.buf, '"')
				if ts == t { // the usual case: copy TimeGenerated's text
					e.buf = append(e.buf, e.buf[tpos:tpos+millisLen]...)
				} else {
					e.buf = appendMillis(e.buf, ts)
				}
				e.buf = append(e.buf, '"')
			}
		default:
			fits, err = e.stringColumn(f.val())
			if err != nil {
				return b, err
			}
		}
		if !fits {
			e.buf = e.buf[:mark]
			f.role = toData
		}
	}

	e.buf = append(e.buf, `,"data":{`...)
	set := e.set(2)
	first := true
	if data >= 0 {
		if v := e.fields[data].val(); kind(v) == msgp.MapType {
			m, v, err := msgp.ReadMapHeaderBytes(v)
			if err != nil {
				return b, err
			}
			for ; m > 0; m-- {
				if v, err = e.member(v, 2, set, &first); err != nil {
					return b, err
				}
			}
		} else {
			e.fields[data].role = toData
		}
	}
	for i := range e.fields {
		if f := &e.fields[i]; f.role == toData {
			if _, err := e.member(f.kv, 2, set, &first); err != nil {
				return b, err
			}
		}
	}
	e.buf = append(e.buf, "}}"...)
	return b, nil
}

// stringColumn writes v for a string column if it fits one.
func (e *encoder) stringColumn(v []byte) (bool, error) {
	switch kind(v) {
	case msgp.StrType, msgp.BinType, msgp.ExtensionType:
		_, err := e.value(v, 1)
		return err == nil, err
	case msgp.IntType, msgp.UintType, msgp.BoolType:
		e.buf = append(e.buf, '"')
		if _, err := e.value(v, 1); err != nil {
			return false, err
		}
		e.buf = append(e.buf, '"')
		return true, nil
	case msgp.Float64Type, msgp.Float32Type:
		f, _, err := msgp.ReadFloat64Bytes(v)
		if err != nil {
			return false, err
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return false, nil
		}
		bits := 64
		if v[0] == 0xca {
			bits = 32
		}
		e.buf = append(e.buf, '"')
		e.buf = appendFloat(e.buf, f, bits)
		e.buf = append(e.buf, '"')
		return true, nil
	}
	return false, nil // nil, map, array
}

// intColumn writes v as a JSON integer if it is one that the DCR's int
// column (32 bits) holds: an integer, an integral float, or a decimal
// integer string, within int32's range.
func (e *encoder) intColumn(v []byte) bool {
	var i int64
	switch kind(v) {
	case msgp.IntType:
		n, _, err := msgp.ReadInt64Bytes(v)
		if err != nil {
			return false
		}
		i = n
	case msgp.UintType:
		n, _, err := msgp.ReadUint64Bytes(v)
		if err != nil || n > math.MaxInt32 {
			return false
		}
		i = int64(n)
	case msgp.Float64Type, msgp.Float32Type:
		f, _, err := msgp.ReadFloat64Bytes(v)
		if err != nil || f != math.Trunc(f) || f < math.MinInt32 || f > math.MaxInt32 {
			return false // also NaN and infinities
		}
		i = int64(f)
	case msgp.StrType, msgp.BinType:
		s, ok := keyName(v)
		if !ok {
			return false
		}
		if i, ok = parseDecimal(s); !ok {
			return false
		}
	default:
		return false
	}
	if i < math.MinInt32 || i > math.MaxInt32 {
		return false
	}
	e.buf = strconv.AppendInt(e.buf, i, 10)
	return true
}

// parseDecimal parses an optionally signed decimal integer that fits int64.
func parseDecimal(s []byte) (int64, bool) {
	neg := false
	if len(s) > 0 && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if len(s) == 0 {
		return 0, false
	}
	var u uint64
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		if u > (1<<64-1)/10 {
			return 0, false
		}
		u = u*10 + uint64(c-'0')
		if u > 1<<63 {
			return 0, false
		}
	}
	if neg {
		return -int64(u-1) - 1, true // -(1<<63) included
	}
	if u > 1<<63-1 {
		return 0, false
	}
	return int64(u), true
}
