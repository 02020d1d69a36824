package convert

import (
	"bytes"
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

// What a top-level field's name makes it: one of these, or nColumn+col for
// a Keeper column's own name, or nAlias+col for the name Keeper
// Commander's exports use for it (the API's raw names: audit_event_type,
// ip_address, keeper_version, created). One switch serves the columns and
// the envelopes a Keeper event may come wrapped in.
const (
	nOther         = iota
	nData          // "data"
	nTimeGenerated // "TimeGenerated"
	nEvent         // HEC's event
	nMessage       // a syslog parser's message
	nLog           // tail's and others' log
	nExtradata     // a syslog parser's structured data
	nTime          // a syslog header's or HEC's time
	nHEC           // HEC's host, source, sourcetype
	nColumn
	nAlias = nColumn + numCols
)

// classify returns what a field named name is.
func classify(name []byte) int {
	switch string(name) {
	case "audit_event":
		return nColumn + colAuditEvent
	case "remote_address":
		return nColumn + colRemoteAddress
	case "category":
		return nColumn + colCategory
	case "client_version":
		return nColumn + colClientVersion
	case "username":
		return nColumn + colUsername
	case "enterprise_id":
		return nColumn + colEnterpriseID
	case "timestamp":
		return nColumn + colTimestamp
	case "audit_event_type":
		return nAlias + colAuditEvent
	case "ip_address":
		return nAlias + colRemoteAddress
	case "keeper_version":
		return nAlias + colClientVersion
	case "created":
		return nAlias + colTimestamp
	case "data":
		return nData
	case timeGenerated:
		return nTimeGenerated
	case "event":
		return nEvent
	case "message":
		return nMessage
	case "log":
		return nLog
	case "extradata":
		return nExtradata
	case "time":
		return nTime
	case "host", "source", "sourcetype":
		return nHEC
	}
	return nOther
}

// role says where a top-level field of a Keeper record goes.
type role uint8

const (
	toData   role = iota // folded into data
	dropped              // consumed (TimeGenerated), a repeated key, or envelope
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

// event is what one Keeper event is made of: its fields (in e.fields) and
// where its columns are among them.
type event struct {
	cols    [numCols]int  // index of each column's field, -1 if none
	alias   [numCols]bool // the column's field has Commander's name
	data    int           // the event's own "data" map
	ownTG   int           // the record's own TimeGenerated
	timeKey int           // the first field named Options.TimeKey
	time    instant       // the event's time, for TimeGenerated
	keyTime bool          // time came from the time key's field
}

func (ev *event) reset() {
	for i := range ev.cols {
		ev.cols[i] = -1
		ev.alias[i] = false
	}
	ev.data, ev.ownTG, ev.timeKey = -1, -1, -1
}

// envelope is what the first pass over a record learned about the ways
// Keeper events arrive wrapped (see the package documentation): the index
// in e.fields of each field that may hold or frame an event, -1 if none.
type envelope struct {
	event     int // HEC: "event"
	hec       int // HEC: one of time, host, source, sourcetype
	message   int // syslog parsers: "message"
	log       int // tail and others: "log"
	extradata int // syslog parsers: RFC 5424 structured data
	time      int // the envelope's time (syslog header or HEC time)
}

// note records what a top-level field of kind k (see classify) is to an
// envelope.
func (env *envelope) note(k, i int) {
	switch k {
	case nEvent:
		env.event = i
	case nMessage:
		env.message = i
	case nLog:
		env.log = i
	case nExtradata:
		env.extradata = i
	case nTime:
		env.time, env.hec = i, i
	case nHEC:
		env.hec = i
	}
}

// Envelopes: what a syslog parser or a Splunk HEC body wraps an event in.
const (
	noEnvelope = iota
	syslogEnvelope
	hecEnvelope
)

// isEnvelope reports whether a field named name frames the event in an
// envelope of kind env: it is not written.
func isEnvelope(env int, name []byte) bool {
	switch env {
	case syslogEnvelope:
		switch string(name) {
		case "pri", "time", "host", "ident", "pid", "msgid", "extradata":
			return true
		}
	case hecEnvelope:
		switch string(name) {
		case "time", "host", "source", "sourcetype", "index", "fields":
			return true
		}
	}
	return false
}

// add appends the field f named name (nil if the key is not a string), of
// kind k (see classify), to e.fields and gives it its role in ev.
func (c *Converter) add(e *encoder, ev *event, f field, name []byte, k int) {
	i := len(e.fields)
	if c.timeKeyByName && ev.timeKey < 0 && name != nil && string(name) == c.opts.TimeKey {
		ev.timeKey = i
	}
	switch {
	case k >= nColumn:
		col, alias := k-nColumn, k >= nAlias
		if alias {
			col = k - nAlias
		}
		switch prev := ev.cols[col]; {
		case prev < 0:
			ev.cols[col], ev.alias[col] = i, alias
			f.role = toColumn
		case ev.alias[col] && !alias:
			// The column's own name wins over Commander's, which is
			// kept in data.
			e.fields[prev].role = toData
			ev.cols[col], ev.alias[col] = i, false
			f.role = toColumn
		case alias && !ev.alias[col]:
			f.role = toData
		default:
			f.role = dropped
			e.repeated++
		}
	case k == nData:
		f.role = dropped
		if ev.data < 0 {
			ev.data = i
			f.role = dataMap
		} else {
			e.repeated++
		}
	case k == nTimeGenerated:
		f.role = dropped
		if ev.ownTG < 0 {
			ev.ownTG = i
		}
	}
	e.fields = append(e.fields, f)
}

// nextField splits the key/value pair at the start of b.
func nextField(b []byte) (f field, name []byte, err error) {
	off, kn, isName := strHeader(b)
	klen := off + kn
	if !isName {
		if klen, err = skipLen(b); err != nil {
			return f, nil, err
		}
	}
	vlen, err := valueLen(b[klen:])
	if err != nil {
		return f, nil, err
	}
	if isName {
		name = b[off:klen]
	}
	return field{kv: b[:klen+vlen], klen: klen}, name, nil
}

// addMap adds every field of the msgpack map m.
func (c *Converter) addMap(e *encoder, ev *event, m []byte) error {
	n, b, err := msgp.ReadMapHeaderBytes(m)
	if err != nil {
		return err
	}
	for ; n > 0; n-- {
		f, name, err := nextField(b)
		if err != nil {
			return err
		}
		c.add(e, ev, f, name, classify(name))
		b = b[len(f.kv):]
	}
	return nil
}

// readEvent reads the Keeper event of the map at the start of body into
// e.fields and ev, unwrapping it if a source wrapped it, and finds its time
// (t, Fluent Bit's event time, if nothing better). It returns the rest of
// body.
func (c *Converter) readEvent(e *encoder, ev *event, body []byte, t instant) ([]byte, error) {
	n, b, err := msgp.ReadMapHeaderBytes(body)
	if err != nil {
		return body, err
	}
	repeated := e.repeated
	ev.reset()
	env := envelope{-1, -1, -1, -1, -1, -1}
	e.fields = e.fields[:0]
	for ; n > 0; n-- {
		// nextField, inlined: it is too large for the compiler to inline,
		// and this loop runs for every field of every record (measured
		// with BenchmarkConvert, best of eight runs: calling it made
		// schema asim about a tenth slower).
		off, kn, isName := strHeader(b)
		klen := off + kn
		if !isName {
			if klen, err = skipLen(b); err != nil {
				return b, err
			}
		}
		vlen, err := valueLen(b[klen:])
		if err != nil {
			return b, err
		}
		f := field{kv: b[:klen+vlen], klen: klen}
		b = b[klen+vlen:]
		var name []byte
		if isName {
			name = f.kv[off:klen]
		}
		k := classify(name)
		if k >= nColumn && k < nAlias && ev.cols[k-nColumn] < 0 && !c.timeKeyByName {
			// The usual case, without add: the first of its column,
			// which cannot be the time key.
			ev.cols[k-nColumn] = len(e.fields)
			f.role = toColumn
			e.fields = append(e.fields, f)
			continue
		}
		env.note(k, len(e.fields))
		c.add(e, ev, f, name, k)
	}
	rest := b

	// A record without an event name of its own may wrap a Keeper event.
	var envTime []byte
	if ev.cols[colAuditEvent] < 0 {
		if envTime, err = c.unwrap(e, ev, &env, repeated); err != nil {
			return rest, err
		}
	}

	// TimeGenerated (timeChoice): the time key (by default the timestamp
	// column, under either name), the envelope's time, the record's own
	// TimeGenerated, Fluent Bit's event time. The time key's parse is
	// reused for the timestamp column.
	if c.timeKeyColumn {
		ev.timeKey = ev.cols[colTimestamp] // under either name
	}
	choice := timeChoice{t: t}
	if ev.timeKey >= 0 {
		choice.offer(fromTimeKey, e.fields[ev.timeKey].val())
	}
	choice.offer(fromEnvelope, envTime)
	if ev.ownTG >= 0 && ev.ownTG != ev.timeKey {
		choice.offer(fromOwnTimeGenerated, e.fields[ev.ownTG].val())
	}
	ev.keyTime = choice.from == fromTimeKey
	t = choice.t
	ev.time = t
	return rest, nil
}

// keeper writes the Keeper shape of the map at the start of body.
func (c *Converter) keeper(e *encoder, body []byte, t instant) ([]byte, error) {
	var ev event
	rest, err := c.readEvent(e, &ev, body, t)
	if err != nil {
		return rest, err
	}
	e.buf = append(e.buf, `{"`+timeGenerated+`":"`...)
	tpos := len(e.buf)
	e.buf = appendMillis(e.buf, ev.time)
	e.buf = append(e.buf, '"')
	for col, idx := range ev.cols {
		if idx < 0 && col != colTimestamp && (col != colEnterpriseID || c.opts.EnterpriseID == 0) {
			continue
		}
		if err := c.keeperColumn(e, &ev, col, tpos); err != nil {
			return rest, err
		}
	}
	e.buf = append(e.buf, `,"data":{`...)
	set := e.set(2)
	first := true
	if err := e.dataMembers(&ev, set, &first); err != nil {
		return rest, err
	}
	e.buf = append(e.buf, "}}"...)
	return rest, nil
}

// keeperColumn writes the Keeper column col of ev. A value that does not
// fit the column goes to data; a missing or unfit timestamp is the event's
// time (TimeGenerated's text at tpos), a missing enterprise_id the
// configured one.
func (c *Converter) keeperColumn(e *encoder, ev *event, col, tpos int) error {
	idx := ev.cols[col]
	mark := len(e.buf)
	e.buf = append(e.buf, columnKey(col)...)
	fits := false
	if idx >= 0 {
		f := &e.fields[idx]
		switch col {
		case colEnterpriseID:
			fits = e.intColumn(f.val())
		case colTimestamp:
			ts, ok := ev.time, ev.keyTime && idx == ev.timeKey
			if idx != ev.timeKey {
				ts, ok = valueTime(f.val())
			}
			if fits = ok; ok {
				e.buf = append(e.buf, '"')
				if ts == ev.time { // the usual case: copy TimeGenerated's text
					e.buf = append(e.buf, e.buf[tpos:tpos+millisLen]...)
				} else {
					e.buf = appendMillis(e.buf, ts)
				}
				e.buf = append(e.buf, '"')
			}
		default:
			var err error
			if fits, err = e.stringColumn(f.val()); err != nil {
				return err
			}
		}
		if !fits {
			f.role = toData
		}
	}
	if fits {
		return nil
	}
	switch {
	case col == colTimestamp:
		// No usable timestamp: the event's time, as in TimeGenerated.
		e.buf = append(e.buf, '"')
		e.buf = append(e.buf, e.buf[tpos:tpos+millisLen]...)
		e.buf = append(e.buf, '"')
	case col == colEnterpriseID && c.opts.EnterpriseID != 0:
		e.buf = strconv.AppendInt(e.buf, c.opts.EnterpriseID, 10)
	default:
		e.buf = e.buf[:mark]
	}
	return nil
}

// dataMembers writes, as members of the object being written at level 2,
// the entries of the event's own "data" map (if it is a map; else the
// field is data like any other), then every field whose role is toData.
func (e *encoder) dataMembers(ev *event, set *keySet, first *bool) error {
	if ev.data >= 0 {
		if v := e.fields[ev.data].val(); kind(v) == msgp.MapType {
			m, v, err := msgp.ReadMapHeaderBytes(v)
			if err != nil {
				return err
			}
			for ; m > 0; m-- {
				if v, err = e.member(v, 2, set, first); err != nil {
					return err
				}
			}
		} else {
			e.fields[ev.data].role = toData
		}
	}
	for i := range e.fields {
		if f := &e.fields[i]; f.role == toData {
			if _, err := e.member(f.kv, 2, set, first); err != nil {
				return err
			}
		}
	}
	return nil
}

// unwrap looks for a Keeper event wrapped in the record whose fields are
// in e.fields: a Splunk HEC body's "event" map, a JSON object in
// "message" or "log" (a line of Keeper's syslog push, as a stock syslog
// parser leaves it), or Commander's RFC 5424 structured data. When it
// finds one, it rebuilds e.fields and ev: the event's fields first, then
// the record's other fields, the envelope left out; and it returns the
// envelope's time value (nil if none). Otherwise it changes nothing and
// returns nil. repeated is e.repeated as it was before the record.
func (c *Converter) unwrap(e *encoder, ev *event, env *envelope, repeated int) ([]byte, error) {
	e.evbuf = e.evbuf[:0] // the previous record's event is done with
	var (
		eventMap   []byte   // the event, a msgpack map
		held, also = -1, -1 // the fields that held it
		wrapper    = noEnvelope
	)
	if env.event >= 0 && env.hec >= 0 && kind(e.fields[env.event].val()) == msgp.MapType {
		eventMap, held, wrapper = e.fields[env.event].val(), env.event, hecEnvelope
	}
	if eventMap == nil {
		held = env.message
		if held < 0 {
			held = env.log
		}
		if held >= 0 {
			if s, ok := keyName(e.fields[held].val()); ok && looksLikeKeeperJSON(s) {
				if m, err := AppendJSONObject(e.evbuf, s); err == nil && hasEventName(m) {
					e.evbuf = m // kept: its capacity serves the next record
					eventMap, wrapper = m, syslogEnvelope
				}
			}
		}
	}
	if eventMap == nil && env.extradata >= 0 {
		if sd, ok := keyName(e.fields[env.extradata].val()); ok && bytes.HasPrefix(sd, []byte(commanderSDID)) {
			var msg []byte
			if env.message >= 0 {
				msg, _ = keyName(e.fields[env.message].val())
			}
			eventMap = e.commanderEvent(sd, msg)
			held, also, wrapper = env.extradata, env.message, syslogEnvelope
		}
	}
	if eventMap == nil {
		return nil, nil
	}

	var envTime []byte
	if env.time >= 0 {
		envTime = e.fields[env.time].val()
	}
	e.top = append(e.top[:0], e.fields...)
	e.fields = e.fields[:0]
	e.repeated = repeated
	ev.reset()
	if err := c.addMap(e, ev, eventMap); err != nil {
		return nil, err
	}
	for i, f := range e.top {
		name, isName := keyName(f.kv)
		if i == held || i == also || isName && isEnvelope(wrapper, name) {
			continue
		}
		if !isName {
			name = nil
		}
		f.role = toData
		c.add(e, ev, f, name, classify(name))
	}
	return envTime, nil
}

// looksLikeKeeperJSON is a cheap test that s may be a JSON object holding
// a Keeper event, before it is parsed.
func looksLikeKeeperJSON(s []byte) bool {
	s = bytes.TrimSpace(s)
	return len(s) > 2 && s[0] == '{' && s[len(s)-1] == '}' && bytes.Contains(s, []byte(`"audit_event`))
}

// hasEventName reports whether the msgpack map m has a top-level key that
// names a Keeper event: audit_event or Commander's audit_event_type.
func hasEventName(m []byte) bool {
	n, b, err := msgp.ReadMapHeaderBytes(m)
	if err != nil {
		return false
	}
	for ; n > 0; n-- {
		f, name, err := nextField(b)
		if err != nil {
			return false
		}
		if k := classify(name); k == nColumn+colAuditEvent || k == nAlias+colAuditEvent {
			return true
		}
		b = b[len(f.kv):]
	}
	return false
}

// commanderSDID starts the structured data of Keeper Commander's syslog
// export (audit-log --target=syslog-port or syslog).
const commanderSDID = "[Keeper@Commander"

// commanderEvent builds, in e.evbuf, the msgpack map of the event that
// Commander's syslog line carried, from the record a syslog parser made of
// it (e.fields): sd is the structured data as the parser left it, which
// may run on into the message (the recipes' parser leaves Commander's
// structured data and message together, for only the field names tell
// where the structured data ends), and msg the parser's message, if any
// (a parser that stopped the structured data at its first `"]` or `] `
// puts the rest there; the two are read as one text, joined by a space).
// Every k="v" of the structured data becomes a string field (see
// readCommanderSD), the MSGID "id", the HOSTNAME "ip_address" (Commander
// writes the event's address there, "-" if none) and the text after the
// structured data "message" (unless empty).
func (e *encoder) commanderEvent(sd, msg []byte) []byte {
	text := sd
	if len(msg) > 0 {
		e.scratch = append(append(append(e.scratch[:0], sd...), ' '), msg...)
		text = e.scratch
	}
	b := append(e.evbuf[:0], 0xde, 0, 0) // map16, count filled in below
	b, n, message := readCommanderSD(b, text[len(commanderSDID):])
	for _, f := range e.fields {
		name, _ := keyName(f.kv)
		var as string
		switch string(name) {
		case "msgid":
			as = "id"
		case "host":
			as = "ip_address"
		default:
			continue
		}
		v, ok := keyName(f.val())
		if !ok || len(v) == 0 || string(v) == "-" {
			continue
		}
		b = msgp.AppendString(b, as)
		b = msgp.AppendStringFromBytes(b, v)
		n++
	}
	if len(message) > 0 && n < 0xffff {
		b = msgp.AppendString(b, "message")
		b = msgp.AppendStringFromBytes(b, message)
		n++
	}
	b[1], b[2] = byte(n>>8), byte(n)
	e.evbuf = b
	return b
}

// maxSDFields bounds the fields read from one line's structured data (the
// count of a map16).
const maxSDFields = 0xff00

// readCommanderSD appends to b, as msgpack strings, the k="v" pairs of
// Commander's structured data s (what follows "[Keeper@Commander"), and
// returns the pair count and the message that follows the structured data.
//
// Commander writes ` k="v"` for each field, then `] ` and the message, and
// escapes nothing: a value may hold `"`, `"]`, `] `, `" x="`, newlines. The
// reading that keeps every field of Keeper's shape is taken:
//   - a field starts at `" k="` where k is a field name as Keeper's are
//     (see isFieldName) not seen before in the line, as long as a `"]`
//     followed by a space or the end of the text comes after it (else it
//     is part of the message);
//   - the structured data ends at the first such `"]` after the last field
//     start, so a `"]` inside a value (JSON such as
//     [{"domains":["_default_"],...}]) does not end it;
//   - a text with no such `"]` (a line cut short) is all fields.
func readCommanderSD(b, s []byte) (out []byte, n int, message []byte) {
	if len(s) > 0 && s[0] == ']' {
		return b, 0, bytes.TrimPrefix(s[1:], []byte(" "))
	}
	key, v, ok := fieldStart(s, 0)
	if !ok {
		// Not k="v" pairs: the text is kept whole as the message.
		return b, 0, bytes.TrimPrefix(bytes.TrimPrefix(s, []byte("]")), []byte(" "))
	}
	// last is the last `"]` that may end the structured data.
	last := -1
	for i := len(s) - 2; i >= v; i-- {
		if sdEnd(s, i) {
			last = i
			break
		}
	}
	limit := last
	if limit < 0 {
		limit = len(s)
	}
	// The keys read so far, as offsets into s, for the repeat check.
	var seen [64][2]int
	nseen := 0
	seen[0] = [2]int{v - 2 - len(key), v - 2}
	nseen++
	for i := v; i < limit && n < maxSDFields-1; i++ {
		if s[i] != '"' {
			continue
		}
		k, nv, ok := fieldStart(s, i+1)
		if !ok || repeatedKey(s, seen[:nseen], k) {
			continue
		}
		b = msgp.AppendStringFromBytes(b, key)
		b = msgp.AppendStringFromBytes(b, s[v:i])
		n++
		key, v = k, nv
		if nseen < len(seen) {
			seen[nseen] = [2]int{nv - 2 - len(k), nv - 2}
			nseen++
		}
		i = nv - 1
	}
	end := -1
	for i := v; i <= last; i++ {
		if sdEnd(s, i) {
			end = i
			break
		}
	}
	val := s[v:]
	if end >= 0 {
		val, message = s[v:end], bytes.TrimPrefix(s[end+2:], []byte(" "))
	} else {
		// Cut short: the value runs to the end, less a closing `"]`.
		val = bytes.TrimSuffix(val, []byte("]"))
		val = bytes.TrimSuffix(val, []byte(`"`))
	}
	b = msgp.AppendStringFromBytes(b, key)
	b = msgp.AppendStringFromBytes(b, val)
	return b, n + 1, message
}

// sdEnd reports whether s[i:] starts with a `"]` that may end Commander's
// structured data: followed by a space (then the message) or the end.
func sdEnd(s []byte, i int) bool {
	return i+1 < len(s) && s[i] == '"' && s[i+1] == ']' && (i+2 == len(s) || s[i+2] == ' ')
}

// fieldStart reads ` k="` at s[i:] and returns k and where its value
// starts. It looks at most maxFieldName+3 bytes.
func fieldStart(s []byte, i int) (key []byte, value int, ok bool) {
	if i >= len(s) || s[i] != ' ' {
		return nil, 0, false
	}
	rest := s[i+1:]
	if len(rest) > maxFieldName+2 {
		rest = rest[:maxFieldName+2]
	}
	eq := bytes.IndexByte(rest, '=')
	if eq <= 0 || eq+1 >= len(rest) || rest[eq+1] != '"' || !isFieldName(rest[:eq]) {
		return nil, 0, false
	}
	return rest[:eq], i + 1 + eq + 2, true
}

// maxFieldName is the longest field name read in Commander's structured
// data.
const maxFieldName = 64

// repeatedKey reports whether k is one of the keys at the offsets seen of
// s: Commander writes a Python dict, whose keys are distinct, so a repeated
// name inside a value starts no field.
func repeatedKey(s []byte, seen [][2]int, k []byte) bool {
	for _, o := range seen {
		if bytes.Equal(s[o[0]:o[1]], k) {
			return true
		}
	}
	return false
}

// isFieldName reports whether s is a field name as Keeper's events have
// them (audit_event_type, role_id, to_username, ...): a lower-case letter,
// then lower-case letters, digits and underscores, at most 64 bytes.
func isFieldName(s []byte) bool {
	if len(s) == 0 || len(s) > maxFieldName || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
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
		if u > (1<<63)/10 { // u*10+9 then stays below 1<<64, no wrap
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
