package convert

import (
	"fmt"
	"hash/maphash"
	"strings"
	"sync"

	"github.com/tinylib/msgp/msgp"
)

// Schema selects the JSON shape of a converted record.
type Schema int

const (
	// Keeper is the Keeper / Sentinel shape (the default): TimeGenerated,
	// the Keeper columns, and every other field inside "data".
	Keeper Schema = iota
	// Raw is the record as is, plus TimeGenerated.
	Raw
	// ASIM is Microsoft Sentinel's normalized schemas: each Keeper event
	// (read as for Keeper) becomes a row of the Authentication,
	// UserManagement or AuditEvent schema, and Records.Stream says which.
	ASIM
)

// ParseSchema reads a schema name: "keeper", "raw" or "asim",
// case-insensitive; "" means Keeper.
func ParseSchema(s string) (Schema, error) {
	switch v := strings.TrimSpace(s); {
	case v == "", strings.EqualFold(v, "keeper"):
		return Keeper, nil
	case strings.EqualFold(v, "raw"):
		return Raw, nil
	case strings.EqualFold(v, "asim"):
		return ASIM, nil
	}
	return Keeper, fmt.Errorf("unknown schema %q (want keeper, raw or asim)", s)
}

// String returns the schema's name as ParseSchema reads it.
func (s Schema) String() string {
	switch s {
	case Keeper:
		return "keeper"
	case Raw:
		return "raw"
	case ASIM:
		return "asim"
	}
	return fmt.Sprintf("Schema(%d)", int(s))
}

// DefaultMaxFieldBytes is the per-value limit of the service (64 KiB).
const DefaultMaxFieldBytes = 64 << 10

// Options configure a Converter.
type Options struct {
	// Schema is the output shape; an unknown value means Keeper.
	Schema Schema
	// TimeKey names the record field holding the event time; "" means
	// Fluent Bit's event time. The caller resolves defaults.
	TimeKey string
	// MaxFieldBytes limits string values: a longer one is cut, with a
	// visible marker, to at most this many bytes. 0 (or less) means
	// DefaultMaxFieldBytes; values below 64 are raised to 64.
	MaxFieldBytes int
	// EnterpriseID fills the Keeper shape's enterprise_id column of an
	// event that has none (Commander's exports carry none); 0 means none.
	// It must fit the column's 32 bits.
	EnterpriseID int64
}

// Converter converts chunks. It is safe for concurrent use by many
// goroutines (Fluent Bit `workers`).
type Converter struct {
	opts Options
	pool sync.Pool // *encoder
	// timeKeyColumn: the time key is the Keeper shape's timestamp
	// column, found under either of its names (timestamp, created).
	timeKeyColumn bool
	// timeKeyByName: the time key is a field found by its name (a time
	// key other than the timestamp column); the one rule for it is in add.
	timeKeyByName bool
	// catalogue classes Keeper events for the ASIM schema; unknown is the
	// class of an event it does not know.
	catalogue map[string]*asimClass
	unknown   *asimClass
}

// New returns a Converter for opts.
func New(opts Options) *Converter {
	if opts.Schema != Raw && opts.Schema != ASIM {
		opts.Schema = Keeper
	}
	switch {
	case opts.MaxFieldBytes <= 0:
		opts.MaxFieldBytes = DefaultMaxFieldBytes
	case opts.MaxFieldBytes < minFieldBytes:
		opts.MaxFieldBytes = minFieldBytes
	}
	c := &Converter{opts: opts, timeKeyColumn: opts.Schema != Raw && opts.TimeKey == "timestamp"}
	c.timeKeyByName = !c.timeKeyColumn && opts.TimeKey != ""
	if opts.Schema == ASIM {
		events := keeperEvents()
		c.catalogue = make(map[string]*asimClass, len(events))
		for _, ev := range events {
			c.catalogue[ev.Event] = newASIMClass(ev)
		}
		c.unknown = newASIMClass(unknownEvent())
	}
	c.pool.New = func() any {
		return &encoder{seed: maphash.MakeSeed(), maxField: opts.MaxFieldBytes}
	}
	return c
}

// Records is a reusable list of JSON objects in one buffer.
type Records struct {
	buf     []byte
	ends    []int
	streams []uint8 // ASIM: each record's ASIMSchema
}

// Len returns the number of records.
func (r *Records) Len() int { return len(r.ends) }

// Record returns the i-th JSON object, a sub-slice valid until Reset (its
// capacity ends with it, so appending to it never touches the next one).
func (r *Records) Record(i int) []byte {
	start := 0
	if i > 0 {
		start = r.ends[i-1]
	}
	return r.buf[start:r.ends[i]:r.ends[i]]
}

// Stream returns the stream of the i-th record: for the ASIM schema its
// ASIMSchema, else 0.
func (r *Records) Stream(i int) int {
	if r.streams == nil {
		return 0
	}
	return int(r.streams[i])
}

// Size returns the total JSON bytes of all records.
func (r *Records) Size() int { return len(r.buf) }

// Reset empties the list, keeping its capacity.
func (r *Records) Reset() {
	r.buf = r.buf[:0]
	r.ends = r.ends[:0]
	r.streams = r.streams[:0]
}

// Result says what Convert did with a chunk. Problem names a record by its
// 0-based ordinal among the chunk's top-level objects (group markers
// included) and its byte offset.
type Result struct {
	Records   int // records appended to out
	Skipped   int // records that could not be converted (body not a map, bad ts, truncated tail)
	Truncated int // string values cut to MaxFieldBytes
	// Repeated counts fields left out because their key was already
	// written in the same object: a key repeated in a map, or a field
	// folded into data whose key the record's own data map already has.
	Repeated int
	Problem  error // the first skipped record's reason (record ordinal and what was wrong), nil if none
}

// status is what became of one top-level msgpack object of a chunk.
type status int

const (
	converted status = iota // a record was written
	marker                  // a group marker, skipped silently
	skipped                 // not convertible; the next object follows
	lost                    // not convertible and the chunk cannot be framed past it
)

// Convert appends one JSON object per record of chunk to out, in chunk
// order, as the package documentation describes.
//
// The error is non-nil only when the chunk cannot be decoded at all: it is
// non-empty and no record was recovered although some were skipped (a
// chunk of group markers only is not an error). A chunk with some bad
// records still yields the good ones; Result.Skipped and Result.Problem
// tell about the rest, and a truncated or malformed tail counts as one
// skipped record. An empty chunk gives zero records and no error. Output
// is deterministic: the same chunk always gives the same bytes.
func (c *Converter) Convert(chunk []byte, out *Records) (Result, error) {
	var res Result
	if len(chunk) == 0 {
		return res, nil
	}
	e := c.pool.Get().(*encoder)
	e.buf, e.truncated, e.repeated = out.buf, 0, 0
	// JSON is about 1.3 times the size of its msgpack; grow once up front
	// rather than by append's steps (which copy the whole buffer each time).
	if want := len(e.buf) + len(chunk)*3/2; cap(e.buf) < want {
		grown := make([]byte, len(e.buf), want)
		copy(grown, e.buf)
		e.buf = grown
	}
	for off, ord := 0, 0; off < len(chunk); ord++ {
		mark, tr, rep := len(e.buf), e.truncated, e.repeated
		n, st, err := c.record(e, chunk[off:], ord, off)
		switch st {
		case converted:
			out.ends = append(out.ends, len(e.buf))
			if c.opts.Schema == ASIM {
				for len(out.streams) < len(out.ends)-1 {
					out.streams = append(out.streams, 0) // records of another schema before
				}
				out.streams = append(out.streams, uint8(e.schema))
			}
			res.Records++
		case skipped, lost:
			e.buf, e.truncated, e.repeated = e.buf[:mark], tr, rep
			res.Skipped++
			if res.Problem == nil {
				res.Problem = err
			}
		}
		if st == lost {
			break
		}
		off += n
	}
	res.Truncated, res.Repeated = e.truncated, e.repeated
	out.buf = e.buf
	e.release()
	c.pool.Put(e)
	if res.Records == 0 && res.Skipped > 0 {
		return res, fmt.Errorf("convert: no record of the %d-byte chunk could be decoded: %w", len(chunk), res.Problem)
	}
	return res, nil
}

// record converts the object at the start of rec (ordinal ord, at offset
// off of the chunk) and returns its length.
func (c *Converter) record(e *encoder, rec []byte, ord, off int) (int, status, error) {
	n, b, err := msgp.ReadArrayHeaderBytes(rec)
	if err != nil {
		if errTooShort(err) {
			return 0, lost, errorf(ord, off, "truncated (%d bytes left)", len(rec))
		}
		return 0, lost, errorf(ord, off, "%s where a record array was expected; the remaining %d bytes cannot be decoded", typeName(rec), len(rec))
	}
	if n != 2 {
		return c.skipRecord(rec, ord, off, fmt.Sprintf("array of %d elements, want [header, body]", n))
	}
	ts := b
	if kind(b) == msgp.ArrayType {
		hn, hb, err := msgp.ReadArrayHeaderBytes(b)
		if err != nil {
			return c.skipRecord(rec, ord, off, err.Error())
		}
		if hn == 0 {
			return c.skipRecord(rec, ord, off, "empty header array, want [ts, metadata]")
		}
		ts = hb
	}
	body, err := skip(b) // the header: ts, or [ts, metadata]
	if err != nil {
		return c.skipRecord(rec, ord, off, err.Error())
	}
	t, isMarker, why := eventTime(ts)
	if isMarker {
		return c.skipRecord(rec, ord, off, "")
	}
	if why != "" {
		return c.skipRecord(rec, ord, off, why)
	}
	if kind(body) != msgp.MapType {
		return c.skipRecord(rec, ord, off, fmt.Sprintf("body is %s, not a map", typeName(body)))
	}
	var rest []byte
	switch c.opts.Schema {
	case Raw:
		rest, err = c.raw(e, body, t)
	case ASIM:
		rest, e.schema, err = c.asim(e, body, t)
	default:
		rest, err = c.keeper(e, body, t)
	}
	if err != nil {
		return c.skipRecord(rec, ord, off, err.Error())
	}
	return len(rec) - len(rest), converted, nil
}

// skipRecord reports the object at the start of rec as skipped for the
// reason why ("" for a group marker), or as lost if it cannot be framed.
func (c *Converter) skipRecord(rec []byte, ord, off int, why string) (int, status, error) {
	n, err := skipLen(rec)
	if err != nil {
		if errTooShort(err) {
			return 0, lost, errorf(ord, off, "truncated or malformed (%d bytes left): %v", len(rec), err)
		}
		return 0, lost, errorf(ord, off, "malformed msgpack (%d bytes left): %v", len(rec), err)
	}
	if why == "" {
		return n, marker, nil
	}
	return n, skipped, errorf(ord, off, "%s", why)
}

// eventTime reads Fluent Bit's event time; a group marker reports
// isMarker, an unusable value a reason.
func eventTime(ts []byte) (t instant, isMarker bool, why string) {
	var ok bool
	switch kind(ts) {
	case msgp.ExtensionType:
		typ, p, _, err := readExt(ts)
		if err != nil {
			return t, false, "event time: " + err.Error()
		}
		if typ == 0 && len(p) == 8 && p[0] == 0xff && p[1] == 0xff && p[2] == 0xff && p[3]&0xfe == 0xfe {
			return t, true, ""
		}
		if t, ok = extTime(typ, p); !ok {
			return t, false, fmt.Sprintf("event time is an extension of type %d and %d bytes, not a time", typ, len(p))
		}
	case msgp.IntType:
		v, _, err := msgp.ReadInt64Bytes(ts)
		if err != nil {
			return t, false, "event time: " + err.Error()
		}
		if v == -1 || v == -2 {
			return t, true, ""
		}
		if t, ok = epochInt(v); !ok {
			return t, false, fmt.Sprintf("event time %d is out of range", v)
		}
	case msgp.UintType, msgp.Float64Type, msgp.Float32Type:
		if t, ok = valueTime(ts); !ok {
			return t, false, "event time is out of range"
		}
	default:
		return t, false, fmt.Sprintf("event time is %s, want an EventTime, integer or float", typeName(ts))
	}
	return t, false, ""
}

// keyName returns the bytes of a str or bin map key.
func keyName(b []byte) ([]byte, bool) {
	off, n, ok := strHeader(b)
	if !ok {
		return nil, false
	}
	return b[off : off+n], true
}

// timeGenerated is the JSON key every record starts with.
const timeGenerated = "TimeGenerated"

// timeChoice is the one rule for which time becomes TimeGenerated, for
// every shape: the record's time key, else (for a wrapped Keeper event) the
// envelope's time, else the record's own TimeGenerated, else Fluent Bit's
// event time. Of two offers from the same place the first readable wins.
type timeChoice struct {
	t    instant
	from timeSource
}

// timeSource ranks where a time came from.
type timeSource int

const (
	fromEventTime timeSource = iota // Fluent Bit's event time
	fromOwnTimeGenerated
	fromEnvelope
	fromTimeKey
)

// offer takes v's time if it reads as one and comes from a better place
// than the time held.
func (c *timeChoice) offer(from timeSource, v []byte) {
	if from <= c.from || v == nil {
		return
	}
	if t, ok := valueTime(v); ok {
		c.t, c.from = t, from
	}
}

// raw writes the Raw shape of the map at the start of body.
func (c *Converter) raw(e *encoder, body []byte, t instant) ([]byte, error) {
	n, b, err := msgp.ReadMapHeaderBytes(body)
	if err != nil {
		return body, err
	}
	e.buf = append(e.buf, `{"`+timeGenerated+`":"`...)
	tpos := len(e.buf)
	e.buf = appendMillis(e.buf, t)
	e.buf = append(e.buf, '"')
	set := e.set(1)
	first, timeSeen := false, c.opts.TimeKey == ""
	choice := timeChoice{t: t}
	for ; n > 0; n-- {
		if name, ok := keyName(b); ok {
			isTime := !timeSeen && string(name) == c.opts.TimeKey
			if isTime || string(name) == timeGenerated {
				v, err := skip(b)
				if err != nil {
					return b, err
				}
				if isTime {
					timeSeen = true // only the first time key counts
					choice.offer(fromTimeKey, v)
				} else {
					choice.offer(fromOwnTimeGenerated, v)
				}
				if string(name) == timeGenerated {
					if b, err = skip(v); err != nil {
						return b, err
					}
					continue
				}
			}
		}
		if b, err = e.member(b, 1, set, &first); err != nil {
			return b, err
		}
	}
	_ = appendMillis(e.buf[tpos:tpos], choice.t) // overwrite the event time in place
	e.buf = append(e.buf, '}')
	return b, nil
}
