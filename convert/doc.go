// Package convert turns a Fluent Bit msgpack chunk into JSON records in the
// shape an Azure Monitor / Microsoft Sentinel table expects. It is pure (no
// I/O) and fast: it reads the msgpack itself, zero-copy, with
// github.com/tinylib/msgp's byte readers, and writes JSON bytes straight
// into a reusable buffer (Records), with no intermediate maps and no
// per-field allocations.
//
// # Input
//
// A chunk is a run of records, each [[ts, {metadata}], {body}] (Fluent Bit
// 2.1+) or [ts, {body}] (older and forwarded data). ts is an EventTime
// (msgpack ext type 0: big-endian uint32 seconds, uint32 nanoseconds), a
// msgpack timestamp (ext type -1), an integer or a float (epoch). Group
// markers (EventTime seconds 0xFFFFFFFF / 0xFFFFFFFE, or ts -1 / -2) are
// not records and are skipped silently. Metadata is ignored. A record that
// cannot be converted (not a [header, body] array, body not a map, ts not
// a time) is skipped and the next one converted; data that cannot be framed
// (truncated or malformed msgpack) ends the chunk.
//
// # Values
//
// Every msgpack value becomes valid JSON: str as a string, escaped
// (quotes, backslash, control characters, U+2028, U+2029), each byte of
// invalid UTF-8 replaced by U+FFFD; bin as a string when valid UTF-8, else
// standard base64; integers exact (int64 and uint64); floats as the
// shortest text that reads back the same, NaN and infinities as null; nil
// and bools as such; time extensions (type 0, 8 bytes; type -1, 4, 8 or 12
// bytes) as RFC 3339 UTC strings with trailing zeros of the nanoseconds
// trimmed; other extensions as the base64 of their payload.
//
// Map keys of any type are stringified: str as is; integers in decimal;
// true, false, nil as "true", "false", "null"; floats formatted (NaN,
// +Inf, -Inf by name); bin and extensions as their values would be; a map
// or array key as its JSON text (a map or array key within that text
// becomes TooDeep). Keys that stringify alike are duplicates: the first one
// wins, later ones are dropped.
//
// A map or array nested deeper than MaxDepth levels (the record object is
// level 1) is replaced by the string TooDeep. A string value (keys aside)
// longer than Options.MaxFieldBytes, counted in bytes of the decoded JSON
// string, is cut at a character boundary and ends with a marker such as
// "…[truncated 123456 bytes]" (the count is of source bytes cut), so that
// value and marker fit in MaxFieldBytes; base64 values likewise.
//
// # TimeGenerated
//
// Every record is a compact JSON object (no newline) whose first member is
// "TimeGenerated" in UTC with exactly milliseconds ("2006-01-02T15:04:05.000Z",
// truncated). Its source is the first field named Options.TimeKey if
// present and parseable, else the record's own first "TimeGenerated" field
// if parseable, else Fluent Bit's event time. Parseable times:
// RFC 3339 / ISO 8601 extended strings (YYYY-MM-DD, optionally followed by
// 'T', 't' or a space, hh:mm, optional :ss and fraction, optional 'Z' or
// ±hh[[:]mm]; no zone means UTC); epoch integers and floats in seconds, or
// milliseconds, microseconds, nanoseconds when their magnitude exceeds
// 1e11, 1e14, 1e17 (floats rounded to the microsecond); time extensions.
// Only the years 0001-9999 are times (Azure datetimes start at year 1); a
// leap second (:60) is the last millisecond of its minute. Numeric strings
// are not times. A record field named "TimeGenerated" is consumed, never
// written a second time. The TimeKey field itself stays in the record.
//
// # Raw shape
//
//	{"TimeGenerated":..., <the record's fields in order>}
//
// # Keeper shape
//
// As the seed's sample body, the custom table KeeperLogs_CL, and the
// Marketplace stream Custom-KeeperSecurityEventNewLogs declare it:
//
//	{"TimeGenerated":..., "audit_event":..., "remote_address":..., "category":...,
//	 "client_version":..., "username":..., "enterprise_id":..., "timestamp":...,
//	 "data":{...}}
//
// in exactly that order, with these rules:
//   - A column missing from the record is omitted (no nulls invented),
//     except two: timestamp is always written (the event's time, the same
//     instant as TimeGenerated, when the event has none that parses), and
//     enterprise_id is Options.EnterpriseID when the event has none that
//     fits. "data" is always written, "data":{} when empty, so the dynamic
//     column is always an object.
//   - Keeper Commander's names are read as the columns they stand for:
//     audit_event_type as audit_event, ip_address as remote_address,
//     keeper_version as client_version, created as timestamp. Where a
//     record has both names, Keeper's wins and Commander's stays in data.
//     With TimeKey "timestamp" (the default), created is a time key too.
//   - String columns (audit_event, remote_address, category,
//     client_version, username) take str as is, bin and extensions as
//     strings (see Values), and integers, finite floats and bools as their
//     JSON text in a string ("6557", "true"), so the column never gets a
//     type mismatch. nil, maps, arrays, NaN and infinities do not fit.
//   - enterprise_id takes integers, integral floats and decimal integer
//     strings ("6557", "+6557") that fit the DCR's int column (32 bits),
//     as JSON integers. Anything else does not fit.
//   - timestamp takes any parseable time (see TimeGenerated), normalised to
//     RFC 3339 UTC with milliseconds. An unparseable one does not fit.
//   - A column value that does not fit moves into data unchanged, under its
//     own name, in its record position.
//   - data holds the entries of the record's own "data" map first (if it is
//     a map), then every other field of the record in record order. A
//     "data" value that is not a map is one of those fields, under the key
//     "data".
//   - A key repeated at the top level keeps its first occurrence (a
//     repeated column is dropped even when the first one moved into data);
//     within data, the first of equal keys written wins, so the record's
//     own data entries win over folded fields. Result.Repeated counts the
//     fields left out so.
//   - Metadata is ignored; "TimeGenerated" is consumed as above.
//
// # Wrapped Keeper events
//
// A record with no audit_event (or audit_event_type) of its own is looked
// at for a Keeper event that an input left wrapped, without configuration:
//
//   - a Splunk HEC body (Fluent Bit's splunk input; Commander's splunk
//     target): an "event" map beside one of time, host, source, sourcetype.
//     The event map is the event; time, host, source, sourcetype, index and
//     fields are the envelope.
//   - a JSON object in "message" (or else "log"), a string, that has
//     audit_event or audit_event_type among its top-level keys: Keeper's
//     Syslog push as a syslog parser leaves it. The object is the event
//     (read as Fluent Bit's JSON parser would); pri, time, host, ident,
//     pid, msgid and extradata are the envelope.
//   - Commander's RFC 5424 structured data in "extradata", a string that
//     starts with [Keeper@Commander, followed by the message there or in
//     "message": each k="v" becomes a string field (Commander does not
//     escape values, so they are told apart by field names: see
//     readCommanderSD), msgid becomes "id", host becomes "ip_address" and
//     the text after the structured data "message" (unless "-" or empty);
//     the syslog fields above are the envelope.
//
// The event's fields come first, then the record's other fields (those
// that are not envelope), so the event's win. The envelope is not written,
// but its "time", when it parses, is the event's time ahead of the
// record's own TimeGenerated and Fluent Bit's event time (the event's own
// time key still comes first). Anything else stays as it is: a "message"
// that is not such an object, a HEC "event" that is not a map, other
// structured data.
package convert
