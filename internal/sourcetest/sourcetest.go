// Package sourcetest holds Keeper's audit exports exactly as their senders
// write them, the records Fluent Bit's inputs make of them, and the Keeper
// rows each event must become. The convert tests, the end-to-end tests
// through the C host and the tests through a real Fluent Bit all read the
// same fixtures.
//
// The fixtures, in testdata/:
//
//   - keeper-syslog-push.log: Keeper's cloud Syslog push (Admin Console,
//     External Logging, Syslog): RFC 5424, PRI 165, HOSTNAME
//     keepersecurity.com, APP-NAME keeper, no structured data, the event as
//     flat JSON without a timestamp (the time is in the header), one event
//     a line.
//   - commander-splunk.hec: Keeper Commander's audit-log --target=splunk
//     body: HEC objects joined by "\n" as Python's json.dumps writes them,
//     the event under "event" with the API's raw names and its time in
//     "time" (epoch seconds).
//   - commander-sumo.ndjson: audit-log --target=sumo: compact JSON lines of
//     the raw names plus "timestamp" (seconds) and "message".
//   - commander-syslog.log: audit-log --target=syslog-port: RFC 5424, PRI
//     110, HOSTNAME the event's IP address ("-" if none), APP-NAME Keeper,
//     MSGID the event id, the raw fields as unescaped structured data
//     [Keeper@Commander k="v" ...], a space, then the message (which may be
//     empty), each event followed by "\n", as Commander writes them over
//     TCP. Nothing is escaped, so the fixture has values holding `"`, `"]`
//     and the seed's GENERATED_PASSWORD_COMPLEXITY JSON, a newline in a
//     message and one in a value, tabs and non-ASCII text. Over UDP
//     (syslogu://) Commander sends the same bytes, one event (with its
//     "\n") a datagram: see Datagrams.
//
// Each WIRE-STEM.want.json is the rows, in order, with enterprise_id 6557
// for Commander's exports (which carry none; the tests set the property).
package sourcetest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/keeper-azmon/keeper-azmon/convert"
	"github.com/keeper-azmon/keeper-azmon/convert/chunktest"
)

// EnterpriseID is the enterprise_id the tests configure for Commander's
// exports, as the want files expect.
const EnterpriseID = 6557

// Input names the Fluent Bit input that receives a source.
type Input string

// The inputs the recipes use.
const (
	Syslog Input = "syslog" // in_syslog, newline framing, a regex parser
	// SyslogLines is in_syslog over TCP keeping each line whole, the
	// multiline filter joining the lines of one event (a line that does
	// not start a syslog record belongs to the one before), then the
	// parser filter.
	SyslogLines Input = "syslog-lines"
	SyslogUDP   Input = "syslog-udp" // in_syslog over UDP, a datagram a record
	Splunk      Input = "splunk"     // in_splunk, /services/collector
)

// Source is one way Keeper events reach Fluent Bit.
type Source struct {
	// Name is the recipe's name: examples/sources/NAME.conf.
	Name string
	// Wire is the fixture file, as the sender writes it.
	Wire string
	// Input is what receives it.
	Input Input
}

// All returns every source with a recipe.
func All() []Source {
	return []Source{
		{"keeper-syslog-push", "keeper-syslog-push.log", Syslog},
		{"commander-splunk", "commander-splunk.hec", Splunk},
		{"commander-sumo", "commander-sumo.ndjson", Splunk},
		{"commander-syslog", "commander-syslog.log", SyslogLines},
		{"commander-syslog-udp", "commander-syslog.log", SyslogUDP},
	}
}

// Named returns the source named name (a recipe's name), and whether
// there is one.
func Named(name string) (Source, bool) {
	for _, s := range All() {
		if s.Name == name {
			return s, true
		}
	}
	return Source{}, false
}

// here is this package's directory.
func here() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(file)
}

// RecipeDir is examples/sources of the repository.
func RecipeDir() string {
	return filepath.Join(here(), "..", "..", "examples", "sources")
}

// Recipe is the path of the source's classic Fluent Bit configuration.
func (s Source) Recipe() string { return filepath.Join(RecipeDir(), s.Name+".conf") }

// RecipeYAML is the path of its YAML twin.
func (s Source) RecipeYAML() string { return filepath.Join(RecipeDir(), s.Name+".yaml") }

// WireBytes returns the fixture as the sender writes it.
func (s Source) WireBytes() ([]byte, error) {
	return os.ReadFile(filepath.Join(here(), "testdata", s.Wire))
}

// Want returns the rows the source's events must become, in order: the
// wire fixture's, whatever the transport.
func (s Source) Want() ([]map[string]any, error) {
	stem := strings.TrimSuffix(s.Wire, filepath.Ext(s.Wire))
	b, err := os.ReadFile(filepath.Join(here(), "testdata", stem+".want.json"))
	if err != nil {
		return nil, err
	}
	var rows []map[string]any
	if err := json.Unmarshal(b, &rows); err != nil {
		return nil, fmt.Errorf("%s.want.json: %w", stem, err)
	}
	return rows, nil
}

// Fixture returns the sender's exact bytes and the rows they must become,
// failing the test if either cannot be read.
func (s Source) Fixture(t testing.TB) (wire []byte, want []map[string]any) {
	t.Helper()
	wire, err := s.WireBytes()
	if err != nil {
		t.Fatal(err)
	}
	if want, err = s.Want(); err != nil {
		t.Fatal(err)
	}
	return wire, want
}

// Records returns the record bodies (msgpack maps) that Fluent Bit's input
// makes of the wire fixture:
//
//   - syslog (in_syslog, newline framing): one record a line, the named
//     groups of the parser's regex that matched something, in their order,
//     every value a string (Fluent Bit skips empty values). A line the
//     regex does not match is dropped by in_syslog (with a warning);
//     Records leaves it out and counts it in lost. The recipes' parser
//     sets no time, so Fluent Bit stamps the arrival time and "time" stays
//     a string field. (For the stock parser, see StockSyslogRecords.)
//   - syslog-lines: the lines (in_syslog skips empty ones) joined into
//     events as the commander-syslog multiline parser joins them (see
//     Events), each read by the regex as the parser filter does; a text it
//     does not match stays a record {"log": text} and counts in lost.
//   - syslog-udp: each datagram (see Datagrams) read by the regex whole.
//   - splunk (in_splunk, /services/collector, any content type): the body is
//     read as concatenated JSON objects, and each object is one record as
//     it is, with the arrival time.
//
// syslogRegex is the parser's regex (see ParserRegex); it is unused for
// other inputs.
func (s Source) Records(syslogRegex *regexp.Regexp) (records []chunktest.Raw, lost int, err error) {
	wire, err := s.WireBytes()
	if err != nil {
		return nil, 0, err
	}
	return s.RecordsOf(wire, syslogRegex)
}

// RecordsOf returns the records the source's input makes of wire, bytes
// as its sender writes them (see Records).
func (s Source) RecordsOf(wire []byte, syslogRegex *regexp.Regexp) (records []chunktest.Raw, lost int, err error) {
	switch s.Input {
	case Syslog:
		return SyslogRecords(wire, syslogRegex)
	case SyslogLines:
		return parseEach(Events(wire), syslogRegex, true)
	case SyslogUDP:
		return parseEach(Datagrams(wire), syslogRegex, false)
	case Splunk:
		recs, err := JSONRecords(wire)
		return recs, 0, err
	}
	return nil, 0, fmt.Errorf("unknown input %q", s.Input)
}

// SyslogRecords applies a syslog parser's regex to each line of wire.
func SyslogRecords(wire []byte, re *regexp.Regexp) (records []chunktest.Raw, lost int, err error) {
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(wire))
	for sc.Scan() {
		if sc.Text() != "" {
			lines = append(lines, sc.Text())
		}
	}
	if err := sc.Err(); err != nil {
		return nil, 0, err
	}
	return parseEach(lines, re, false)
}

// parseEach applies the regex to each text, as Fluent Bit's regex parser
// does: the named groups that matched something, in their order. A text
// that does not match is lost, or kept as {"log": text} if keep (the
// parser filter leaves such a record as it is).
func parseEach(texts []string, re *regexp.Regexp, keep bool) (records []chunktest.Raw, lost int, err error) {
	for _, text := range texts {
		m := re.FindStringSubmatch(text)
		if m == nil {
			lost++
			if keep {
				records = append(records, chunktest.Raw(chunktest.AppendValue(nil, chunktest.Map{{Key: "log", Value: text}})))
			}
			continue
		}
		var body chunktest.Map
		for i, name := range re.SubexpNames() {
			if name != "" && i < len(m) && m[i] != "" {
				body = append(body, chunktest.KV{Key: name, Value: m[i]})
			}
		}
		records = append(records, chunktest.Raw(chunktest.AppendValue(nil, body)))
	}
	return records, lost, nil
}

// recordStart is how a line that starts a syslog record begins: the rule
// of the commander-syslog multiline parser in examples/sources/parsers.conf.
var recordStart = regexp.MustCompile(`^<[0-9]{1,3}>1 [0-9]{4}-[0-9]{2}-[0-9]{2}T`)

// Events joins the lines of a newline-framed syslog stream into events,
// as the recipe for Commander's TCP stream does: in_syslog cuts the stream
// at each "\n" and skips empty lines, and the commander-syslog multiline
// parser starts an event at each line that starts a syslog record and
// joins every other line to the event before it with "\n".
func Events(wire []byte) []string {
	var events []string
	for _, line := range strings.Split(string(wire), "\n") {
		switch {
		case line == "":
		case recordStart.MatchString(line) || len(events) == 0:
			events = append(events, line)
		default:
			events[len(events)-1] += "\n" + line
		}
	}
	return events
}

// Datagrams returns what Commander sends over UDP for the events of wire
// (its TCP bytes): each event with its "\n", one a datagram. The events
// are told apart as Events does; in the fixtures no line inside an event
// starts like a syslog record, so that is exact.
func Datagrams(wire []byte) []string {
	events := Events(wire)
	for i := range events {
		events[i] += "\n"
	}
	return events
}

// JSONRecords reads concatenated JSON objects (white space between them
// allowed) into msgpack maps, as Fluent Bit's JSON packer does.
func JSONRecords(wire []byte) ([]chunktest.Raw, error) {
	dec := json.NewDecoder(bytes.NewReader(wire))
	var out []chunktest.Raw
	for dec.More() {
		var obj json.RawMessage
		if err := dec.Decode(&obj); err != nil {
			return nil, err
		}
		m, err := convert.AppendJSONObject(nil, obj)
		if err != nil {
			return nil, err
		}
		out = append(out, chunktest.Raw(m))
	}
	return out, nil
}

// StockSyslogRFC5424 is the regex of the syslog-rfc5424 parser in Fluent
// Bit's own parsers.conf (5.1), which in_syslog uses by default in tcp
// and udp modes. Its message group needs at least one character, so a line
// with an empty MSG does not match and is dropped.
const StockSyslogRFC5424 = `^\<(?<pri>[0-9]{1,5})\>1 (?<time>[^ ]+) (?<host>[^ ]+) (?<ident>[^ ]+) (?<pid>[-0-9]+) (?<msgid>[^ ]+) (?<extradata>(\[(.*?)\]|-)) (?<message>.+)$`

// StockSyslogRecords returns what in_syslog with the stock syslog-rfc5424
// parser makes of wire (seen with Fluent Bit 5.1.1): the regex's groups,
// and, since the parser has Time_Key time with Time_Keep On, a "time" the
// Time_Format reads sets the event time and stays in the record, while one
// it cannot read (Commander's, with whole seconds) is logged as an
// "invalid time format" and removed, and the event time is the arrival
// time. Lines the regex does not match are dropped and counted in lost.
func StockSyslogRecords(wire []byte) (records []chunktest.Raw, lost int, err error) {
	re := regexp.MustCompile(StockSyslogRFC5424)
	// What the stock Time_Format (%Y-%m-%dT%H:%M:%S.%L%z) reads: a time
	// with a fraction of a second.
	stockTime := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+(Z|[+-]\d\d:?\d\d)$`)
	sc := bufio.NewScanner(bytes.NewReader(wire))
	for sc.Scan() {
		if sc.Text() == "" {
			continue
		}
		m := re.FindStringSubmatch(sc.Text())
		if m == nil {
			lost++
			continue
		}
		var body chunktest.Map
		for i, name := range re.SubexpNames() {
			if name == "" || name == "time" && !stockTime.MatchString(m[i]) {
				continue
			}
			body = append(body, chunktest.KV{Key: name, Value: m[i]})
		}
		records = append(records, chunktest.Raw(chunktest.AppendValue(nil, body)))
	}
	return records, lost, sc.Err()
}

// ParserRegex returns the regex of the [PARSER] named name in the classic
// parsers file at path, compiled with Go's regexp (the recipes' regexes
// keep to the syntax both Onigmo and RE2 read).
func ParserRegex(path, name string) (*regexp.Regexp, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	// Each [PARSER] section: its Name and Regex, in either order.
	var sectName, sectRegex string
	found := func() bool { return sectName == name && sectRegex != "" }
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "[") {
			if found() {
				break
			}
			sectName, sectRegex = "", ""
			continue
		}
		key, val, _ := strings.Cut(line, " ")
		switch strings.ToLower(key) {
		case "name":
			sectName = strings.TrimSpace(val)
		case "regex":
			sectRegex = strings.TrimSpace(val)
		}
	}
	if found() {
		return regexp.Compile(sectRegex)
	}
	return nil, fmt.Errorf("%s: no [PARSER] %s with a Regex", path, name)
}
