// Package chunktest builds Fluent Bit msgpack chunks for tests: records in
// both event formats, group markers, and the Keeper events of the seed
// document. It is a test helper: it panics on values it cannot encode.
package chunktest

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"github.com/tinylib/msgp/msgp"
)

// KV is one key/value pair of a Map.
type KV struct {
	Key   any
	Value any
}

// Map is a msgpack map that keeps its order (and may repeat keys).
type Map []KV

// MarshalJSON writes the map as a JSON object in its order, each key and
// value as encoding/json writes them.
func (m Map) MarshalJSON() ([]byte, error) {
	buf := []byte{'{'}
	for i, kv := range m {
		if i > 0 {
			buf = append(buf, ',')
		}
		k, err := json.Marshal(kv.Key)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(kv.Value)
		if err != nil {
			return nil, err
		}
		buf = append(append(append(buf, k...), ':'), v...)
	}
	return append(buf, '}'), nil
}

// Ext is a msgpack extension value.
type Ext struct {
	Type int8
	Data []byte
}

// Raw is msgpack written as is (for malformed or unusual encodings).
type Raw []byte

// AppendValue appends v as msgpack. It takes nil, bool, string, []byte
// (bin), int, int8-64, uint, uint8-64, float32, float64, time.Time (a Fluent
// Bit EventTime), Ext, Raw, Map, []any (array) and map[string]any (keys in
// no particular order; use Map for order).
func AppendValue(b []byte, v any) []byte {
	switch v := v.(type) {
	case nil:
		return msgp.AppendNil(b)
	case bool:
		return msgp.AppendBool(b, v)
	case string:
		return msgp.AppendString(b, v)
	case []byte:
		return msgp.AppendBytes(b, v)
	case int:
		return msgp.AppendInt(b, v)
	case int8:
		return msgp.AppendInt8(b, v)
	case int16:
		return msgp.AppendInt16(b, v)
	case int32:
		return msgp.AppendInt32(b, v)
	case int64:
		return msgp.AppendInt64(b, v)
	case uint:
		return msgp.AppendUint(b, v)
	case uint8:
		return msgp.AppendUint8(b, v)
	case uint16:
		return msgp.AppendUint16(b, v)
	case uint32:
		return msgp.AppendUint32(b, v)
	case uint64:
		return msgp.AppendUint64(b, v)
	case float32:
		return msgp.AppendFloat32(b, v)
	case float64:
		return msgp.AppendFloat64(b, v)
	case time.Time:
		return AppendEventTime(b, v)
	case Ext:
		return AppendExt(b, v.Type, v.Data)
	case Raw:
		return append(b, v...)
	case Map:
		b = msgp.AppendMapHeader(b, uint32(len(v)))
		for _, kv := range v {
			b = AppendValue(b, kv.Key)
			b = AppendValue(b, kv.Value)
		}
		return b
	case []any:
		b = msgp.AppendArrayHeader(b, uint32(len(v)))
		for _, e := range v {
			b = AppendValue(b, e)
		}
		return b
	case map[string]any:
		b = msgp.AppendMapHeader(b, uint32(len(v)))
		for k, e := range v {
			b = msgp.AppendString(b, k)
			b = AppendValue(b, e)
		}
		return b
	}
	panic(fmt.Sprintf("chunktest: cannot encode %T", v))
}

// AppendExt appends an extension value with the shortest header.
func AppendExt(b []byte, typ int8, data []byte) []byte {
	switch n := len(data); {
	case n == 1:
		b = append(b, 0xd4)
	case n == 2:
		b = append(b, 0xd5)
	case n == 4:
		b = append(b, 0xd6)
	case n == 8:
		b = append(b, 0xd7)
	case n == 16:
		b = append(b, 0xd8)
	case n < 1<<8:
		b = append(b, 0xc7, byte(n))
	case n < 1<<16:
		b = append(b, 0xc8, byte(n>>8), byte(n))
	default:
		b = append(b, 0xc9, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	b = append(b, byte(typ))
	return append(b, data...)
}

// EventTime returns the 8-byte payload of a Fluent Bit EventTime.
func EventTime(t time.Time) []byte {
	var p [8]byte
	binary.BigEndian.PutUint32(p[:], uint32(t.Unix()))
	binary.BigEndian.PutUint32(p[4:], uint32(t.Nanosecond()))
	return p[:]
}

// AppendEventTime appends t as a Fluent Bit EventTime (ext type 0).
func AppendEventTime(b []byte, t time.Time) []byte {
	return AppendExt(b, 0, EventTime(t))
}

// AppendEventV1 appends a record in the old format: [ts, body]. ts is
// anything AppendValue takes (time.Time for an EventTime); body normally
// a Map.
func AppendEventV1(b []byte, ts any, body any) []byte {
	b = msgp.AppendArrayHeader(b, 2)
	b = AppendValue(b, ts)
	return AppendValue(b, body)
}

// AppendEventV2 appends a record in the Fluent Bit 2.1+ format:
// [[ts, metadata], body]. A nil meta is written as an empty map.
func AppendEventV2(b []byte, ts any, meta Map, body any) []byte {
	if meta == nil {
		meta = Map{}
	}
	b = msgp.AppendArrayHeader(b, 2)
	b = msgp.AppendArrayHeader(b, 2)
	b = AppendValue(b, ts)
	b = AppendValue(b, meta)
	return AppendValue(b, body)
}

// AppendGroupStart appends a group start marker as Fluent Bit writes it
// (EventTime seconds 0xFFFFFFFF), with group metadata and attributes.
func AppendGroupStart(b []byte, meta, attrs Map) []byte {
	return appendMarker(b, 0xffffffff, meta, attrs)
}

// AppendGroupEnd appends a group end marker (EventTime seconds 0xFFFFFFFE).
func AppendGroupEnd(b []byte) []byte {
	return appendMarker(b, 0xfffffffe, Map{}, Map{})
}

func appendMarker(b []byte, sec uint32, meta, attrs Map) []byte {
	var p [8]byte
	binary.BigEndian.PutUint32(p[:], sec)
	return AppendEventV2(b, Ext{0, p[:]}, meta, attrs)
}

// SeedEvents returns the five sample Keeper events of the seed document
// (docs.keeper.io, "Azure Monitor for Microsoft Sentinel", sample body), in
// their field order.
func SeedEvents() []Map {
	return []Map{
		{
			{"audit_event", "role_created"},
			{"remote_address", "11.22.33.44"},
			{"category", "policy"},
			{"client_version", "EMConsole.17.0.0"},
			{"username", "admin@example.com"},
			{"enterprise_id", 6557},
			{"timestamp", "2025-01-12T00:03:44.743Z"},
			{"role_id", "28162100560074"},
		},
		{
			{"audit_event", "role_enforcement_changed"},
			{"remote_address", "11.22.33.55"},
			{"category", "policy"},
			{"client_version", "EMConsole.17.0.0"},
			{"timestamp", "2025-01-13T00:03:44.743Z"},
			{"username", "admin@example.com"},
			{"enterprise_id", 6557},
			{"role_id", "28162100560074"},
			{"enforcement", "RESEND_ENTERPRISE_INVITE_IN_X_DAYS"},
			{"value", "7"},
		},
		{
			{"audit_event", "role_enforcement_changed"},
			{"remote_address", "11.22.33.66"},
			{"category", "policy"},
			{"client_version", "EMConsole.17.0.0"},
			{"timestamp", "2025-01-14T00:03:44.776Z"},
			{"username", "admin@example.com"},
			{"enterprise_id", 6557},
			{"role_id", "28162100560074"},
			{"enforcement", "SEND_BREACH_WATCH_EVENTS"},
			{"value", "ON"},
		},
		{
			{"audit_event", "role_enforcement_changed"},
			{"remote_address", "11.22.33.77"},
			{"category", "policy"},
			{"client_version", "EMConsole.17.0.0"},
			{"timestamp", "2025-01-15T00:03:44.835Z"},
			{"username", "admin@example.com"},
			{"enterprise_id", 6557},
			{"role_id", "28162100560074"},
			{"enforcement", "GENERATED_PASSWORD_COMPLEXITY"},
			{"value", `[{"domains":["_default_"],"length":20,"lower-use":false,"lower-min":5}]`},
		},
		{
			{"audit_event", "audit_alert_sent"},
			{"category", "usage"},
			{"client_version", "Keeper Service.1.2.0"},
			{"username", "ALERT"},
			{"enterprise_id", 6557},
			{"timestamp", "2025-01-16T01:31:11.123Z"},
			{"origin", "admin_permission_added"},
			{"name", "XXX123"},
			{"recipient", "admin@example.com,+19165551212"},
			{"username_new", true},
			{"client_version_new", true},
		},
	}
}

// SeedKeeperJSON returns the Keeper-shape JSON of each of SeedEvents, as
// converted with TimeKey "timestamp" (the keeper default), in the same
// order.
func SeedKeeperJSON() []string {
	return []string{
		`{"TimeGenerated":"2025-01-12T00:03:44.743Z","audit_event":"role_created","remote_address":"11.22.33.44","category":"policy","client_version":"EMConsole.17.0.0","username":"admin@example.com","enterprise_id":6557,"timestamp":"2025-01-12T00:03:44.743Z","data":{"role_id":"28162100560074"}}`,
		`{"TimeGenerated":"2025-01-13T00:03:44.743Z","audit_event":"role_enforcement_changed","remote_address":"11.22.33.55","category":"policy","client_version":"EMConsole.17.0.0","username":"admin@example.com","enterprise_id":6557,"timestamp":"2025-01-13T00:03:44.743Z","data":{"role_id":"28162100560074","enforcement":"RESEND_ENTERPRISE_INVITE_IN_X_DAYS","value":"7"}}`,
		`{"TimeGenerated":"2025-01-14T00:03:44.776Z","audit_event":"role_enforcement_changed","remote_address":"11.22.33.66","category":"policy","client_version":"EMConsole.17.0.0","username":"admin@example.com","enterprise_id":6557,"timestamp":"2025-01-14T00:03:44.776Z","data":{"role_id":"28162100560074","enforcement":"SEND_BREACH_WATCH_EVENTS","value":"ON"}}`,
		`{"TimeGenerated":"2025-01-15T00:03:44.835Z","audit_event":"role_enforcement_changed","remote_address":"11.22.33.77","category":"policy","client_version":"EMConsole.17.0.0","username":"admin@example.com","enterprise_id":6557,"timestamp":"2025-01-15T00:03:44.835Z","data":{"role_id":"28162100560074","enforcement":"GENERATED_PASSWORD_COMPLEXITY","value":"[{\"domains\":[\"_default_\"],\"length\":20,\"lower-use\":false,\"lower-min\":5}]"}}`,
		`{"TimeGenerated":"2025-01-16T01:31:11.123Z","audit_event":"audit_alert_sent","category":"usage","client_version":"Keeper Service.1.2.0","username":"ALERT","enterprise_id":6557,"timestamp":"2025-01-16T01:31:11.123Z","data":{"origin":"admin_permission_added","name":"XXX123","recipient":"admin@example.com,+19165551212","username_new":true,"client_version_new":true}}`,
	}
}

// SeedChunk returns a chunk of the five seed events, in the 2.1+ format
// when v2, else in the old one; each event's Fluent Bit time is its
// timestamp field plus one hour (so tests can tell the two sources apart).
func SeedChunk(v2 bool) []byte {
	var b []byte
	for _, ev := range SeedEvents() {
		var ts time.Time
		for _, kv := range ev {
			if kv.Key == "timestamp" {
				t, err := time.Parse(time.RFC3339Nano, kv.Value.(string))
				if err != nil {
					panic(err)
				}
				ts = t.Add(time.Hour)
			}
		}
		if v2 {
			b = AppendEventV2(b, ts, Map{}, ev)
		} else {
			b = AppendEventV1(b, ts, ev)
		}
	}
	return b
}

// M builds a Map from alternating keys and values: M("a", 1, "b", "x").
func M(kv ...any) Map {
	if len(kv)%2 != 0 {
		panic("chunktest.M: odd number of arguments")
	}
	m := make(Map, 0, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		m = append(m, KV{kv[i], kv[i+1]})
	}
	return m
}
