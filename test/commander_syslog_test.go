package test

// Keeper Commander's audit-log --target=syslog-port through a real Fluent
// Bit, with Commander's exact bytes: its unescaped structured data (values
// holding `"]`, quotes, the seed's GENERATED_PASSWORD_COMPLEXITY JSON),
// raw newlines in a message and in a value, tabs, non-ASCII, events with no
// address and no message; over TCP (one connection a batch of up to
// 1,000, newline-framed) and over UDP (one event a datagram, 1,000 at a
// time as fast as Commander sends them). Like fluentbit_test.go, these
// run when FLUENT_BIT names a Fluent Bit or several (or one is on PATH).

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/keeper-azmon/keeper-azmon/azmon/azmontest"
	"github.com/keeper-azmon/keeper-azmon/internal/fbconfig"
	"github.com/keeper-azmon/keeper-azmon/internal/sourcetest"
)

// requirePlugins skips the test when the Fluent Bit at hand was built
// without an input or filter the recipe at path uses (a minimal build
// may lack the multiline filter, which every release package has).
func requirePlugins(t *testing.T, fb flbBinary, path string) {
	t.Helper()
	cfg, err := fbconfig.Load(path, func(string) string { return "x" })
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range cfg.Sections {
		if s.Kind != "input" && s.Kind != "filter" {
			continue
		}
		if name := strings.ToLower(s.Get("name")); !fb.plugins[name] {
			t.Skipf("this Fluent Bit (%s) has no %s plugin %q, which %s needs (release builds have it; FLB_%s_%s=On)",
				fb.version, s.Kind, name, filepath.Base(path), strings.ToUpper(s.Kind), strings.ToUpper(name))
		}
	}
}

// eachTwin runs fn in a subtest for each of src's recipes, the classic
// one and its YAML twin, that fb has the plugins for.
func eachTwin(t *testing.T, fb flbBinary, src sourcetest.Source, fn func(t *testing.T, recipe string)) {
	t.Helper()
	for _, recipe := range []string{src.Recipe(), src.RecipeYAML()} {
		t.Run(filepath.Base(recipe), func(t *testing.T) {
			requirePlugins(t, fb, recipe)
			fn(t, recipe)
		})
	}
}

// waitLog waits until Fluent Bit's output holds every one of lines.
func (r *fluentBitRun) waitLog(t *testing.T, lines ...string) {
	t.Helper()
	r.waitUntil(t, fmt.Sprintf("did not log %q", lines), func() bool {
		logs := r.logs.String()
		for _, l := range lines {
			if !strings.Contains(logs, l) {
				return false
			}
		}
		return true
	})
}

// waitStarted waits until Fluent Bit has set up its inputs (a UDP input's
// receive buffer is set after its binding line).
func (r *fluentBitRun) waitStarted(t *testing.T) {
	t.Helper()
	// The stream processor's start, and the engine's grace period, which
	// 3.2 does not print.
	engineStarted := []string{"[sp] stream processor started", "[engine] Shutdown Grace Period"}
	r.waitUntil(t, fmt.Sprintf("did not log any of %q", engineStarted), func() bool {
		logs := r.logs.String()
		for _, l := range engineStarted {
			if strings.Contains(logs, l) {
				return true
			}
		}
		return false
	})
}

// waitUDP waits until Fluent Bit has bound its UDP syslog port and started.
func (r *fluentBitRun) waitUDP(t *testing.T, port int) {
	t.Helper()
	r.waitLog(t, fmt.Sprintf("UDP server binding 127.0.0.1:%d", port))
	r.waitStarted(t)
}

// sendDatagrams sends each datagram as Commander's syslogu:// does: one
// connected UDP socket, one send a event, no pause.
func sendDatagrams(t *testing.T, port int, datagrams []string) {
	t.Helper()
	c, err := net.Dial("udp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, d := range datagrams {
		if _, err := c.Write([]byte(d)); err != nil {
			t.Fatal(err)
		}
	}
}

// commanderBatch returns n events made of the fixture's, in turn, each
// with its own event id (the MSGID, which lands in data.id) from first on,
// as Commander's TCP bytes; and the row each must become.
func commanderBatch(t *testing.T, n, first int) (wire []byte, want map[string]map[string]any) {
	t.Helper()
	src := namedSource(t, "commander-syslog")
	fixture, rows := src.Fixture(t)
	events := sourcetest.Events(fixture)
	if len(events) != len(rows) {
		t.Fatalf("fixture: %d events, %d rows", len(events), len(rows))
	}
	msgid := regexp.MustCompile(`^(<110>1 \S+ \S+ Keeper - )(\d+)( )`)
	want = map[string]map[string]any{}
	var b strings.Builder
	for i := 0; i < n; i++ {
		k := i % len(events)
		id := strconv.Itoa(first + i)
		ev := msgid.ReplaceAllString(events[k], "${1}"+id+"${3}")
		if ev == events[k] {
			t.Fatalf("fixture event %d has no MSGID to replace", k)
		}
		b.WriteString(ev + "\n")
		row := plainJSON(t, rows[k]).(map[string]any)
		row["data"].(map[string]any)["id"] = id
		want[id] = row
	}
	return []byte(b.String()), want
}

// eachOnce requires every row of want (by data.id) among got exactly once,
// as it is, and nothing else.
func eachOnce(t *testing.T, got []map[string]any, want map[string]map[string]any) {
	t.Helper()
	seen := map[string]int{}
	bad := 0
	for _, g := range got {
		row := plainJSON(t, g).(map[string]any)
		data, _ := row["data"].(map[string]any)
		id, _ := data["id"].(string)
		seen[id]++
		if w, ok := want[id]; !ok || !sameJSON(t, row, w) {
			if bad++; bad <= 5 {
				t.Errorf("row %s:\n got %v\nwant %v", id, row, w)
			}
		}
	}
	missing, twice := 0, 0
	for id := range want {
		switch seen[id] {
		case 0:
			missing++
		case 1:
		default:
			twice++
		}
	}
	if missing != 0 || twice != 0 || bad != 0 {
		t.Errorf("%d events: %d rows, %d missing, %d more than once, %d wrong", len(want), len(got), missing, twice, bad)
	}
}

// sameJSON reports whether a and b are the same JSON value.
func sameJSON(t *testing.T, a, b any) bool {
	return reflect.DeepEqual(plainJSON(t, a), plainJSON(t, b))
}

// commanderRecipe starts a Commander syslog-port recipe on a free port.
func commanderRecipe(t *testing.T, fb flbBinary, recipe string) (*azmontest.Server, *fluentBitRun, int) {
	t.Helper()
	s := azmontest.NewServer(azmontest.Options{ClientSecret: newSecret()})
	t.Cleanup(s.Close)
	dir := t.TempDir()
	port := freePort(t)
	ed := recipeEdits{
		set: map[string]string{
			"Port": strconv.Itoa(port), "Listen": "127.0.0.1", "Flush": "1",
			"storage.path": filepath.Join(dir, "storage"),
		},
		output: []prop{{"authority_host", s.AuthorityHost()}, {"ca_file", s.CAFile}},
	}
	run := startRecipe(t, fb, s, streamKeeper, recipe, ed, "KEEPER_AZMON_ENTERPRISE_ID="+strconv.Itoa(sourcetest.EnterpriseID))
	return s, run, port
}

// namedSource returns the source named name.
func namedSource(t *testing.T, name string) sourcetest.Source {
	t.Helper()
	src, ok := sourcetest.Named(name)
	if !ok {
		t.Fatalf("no source %s", name)
	}
	return src
}

// rmemMax is the kernel's cap on a socket's receive buffer.
func rmemMax(t *testing.T) int {
	b, err := os.ReadFile("/proc/sys/net/core/rmem_max")
	if err != nil {
		t.Skipf("no net.core.rmem_max: %v", err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestCommanderSyslogUDPInFluentBit runs commander-syslog-udp (both
// twins): the fixture's events, one a datagram, land as the same rows as
// over TCP; then two bursts of 1,000 datagrams sent back to back, as
// Commander sends two pages of events, land once each, whole. The bursts
// need the receive buffer the recipe asks for, which the kernel grants up
// to net.core.rmem_max (the README says to raise it).
func TestCommanderSyslogUDPInFluentBit(t *testing.T) {
	src := namedSource(t, "commander-syslog-udp")
	forEachFluentBit(t, func(t *testing.T, fb flbBinary) {
		eachTwin(t, fb, src, func(t *testing.T, recipe string) {
			s, run, port := commanderRecipe(t, fb, recipe)
			run.waitUDP(t, port)

			wire, want := src.Fixture(t)
			sendDatagrams(t, port, sourcetest.Datagrams(wire))
			sameRows(t, waitRows(t, s, streamKeeper, len(want), run), want)

			if m := rmemMax(t); m < 4<<20 {
				t.Skipf("net.core.rmem_max is %d, below the 4 MiB the recipe's Receive_Buffer_Size asks for: bursts would be lost (see the README)", m)
			}
			s.Reset()
			batch1, want1 := commanderBatch(t, 1000, 1_000_000)
			batch2, want2 := commanderBatch(t, 1000, 2_000_000)
			for id, row := range want2 {
				want1[id] = row
			}
			sendDatagrams(t, port, sourcetest.Datagrams(batch1))
			sendDatagrams(t, port, sourcetest.Datagrams(batch2))
			eachOnce(t, waitRows(t, s, streamKeeper, len(want1), run), want1)
		})
	})
}

// TestCommanderSyslogTCPInFluentBit runs commander-syslog (both twins)
// with a batch of 1,000 events on one connection, as Commander sends a
// page: every event lands once, whole, the ones whose message or value
// holds a newline too. (TestRecipesInFluentBit sends the fixture itself.)
func TestCommanderSyslogTCPInFluentBit(t *testing.T) {
	src := namedSource(t, "commander-syslog")
	forEachFluentBit(t, func(t *testing.T, fb flbBinary) {
		eachTwin(t, fb, src, func(t *testing.T, recipe string) {
			s, run, port := commanderRecipe(t, fb, recipe)
			run.waitPort(t, port)
			batch, want := commanderBatch(t, 1000, 3_000_000)
			sendSyslog(t, port, batch, false)
			eachOnce(t, waitRows(t, s, streamKeeper, len(want), run), want)
		})
	})
}

// TestCommanderMultilineInFluentBit reads Commander's bytes from a file
// (what its audit-log --target=syslog writes: the same lines) with tail
// and the recipes' commander-syslog multiline parser, the keeper-syslog
// parser after it: the rule that joins an event's lines and the parser,
// in Fluent Bit's own regex engine, give the fixture's rows. The parsers
// are the classic recipe's parsers.conf and the YAML twin's inline ones.
// (tail has the multiline engine built in, so this runs on a Fluent Bit
// built without the multiline filter too.)
func TestCommanderMultilineInFluentBit(t *testing.T) {
	src := namedSource(t, "commander-syslog")
	wire, want := src.Fixture(t)
	forEachFluentBit(t, func(t *testing.T, fb flbBinary) {
		for _, recipe := range []string{src.Recipe(), src.RecipeYAML()} {
			t.Run(filepath.Base(recipe), func(t *testing.T) {
				dir := t.TempDir()
				logFile := filepath.Join(dir, "commander.log")
				if err := os.WriteFile(logFile, wire, 0o600); err != nil {
					t.Fatal(err)
				}
				text, err := os.ReadFile(recipe)
				if err != nil {
					t.Fatal(err)
				}
				// The recipe up to its pipeline (service, parsers), then
				// tail in place of the syslog input and the multiline filter.
				var conf string
				if strings.HasSuffix(recipe, ".yaml") {
					head, _, ok := strings.Cut(string(text), "\npipeline:\n")
					if !ok {
						t.Fatal("no pipeline in the YAML recipe")
					}
					conf = head + fmt.Sprintf(`
pipeline:
  inputs:
    - name: tail
      tag: keeper.commander
      path: %s
      read_from_head: on
      multiline.parser: commander-syslog
  filters:
    - name: parser
      match: keeper.commander
      key_name: log
      parser: keeper-syslog
  outputs:
    - name: keeper_azmon
      match: 'keeper.*'
      schema: keeper
      tenant_id: ${KEEPER_AZMON_TENANT_ID}
      client_id: ${KEEPER_AZMON_CLIENT_ID}
      client_secret: ${KEEPER_AZMON_CLIENT_SECRET}
      endpoint_url: ${KEEPER_AZMON_ENDPOINT_URL}
      enterprise_id: ${KEEPER_AZMON_ENTERPRISE_ID}
`, logFile)
				} else {
					head, _, ok := strings.Cut(string(text), "\n[INPUT]")
					if !ok {
						t.Fatal("no [INPUT] in the recipe")
					}
					b, err := os.ReadFile(filepath.Join(sourcetest.RecipeDir(), "parsers.conf"))
					if err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(filepath.Join(dir, "parsers.conf"), b, 0o600); err != nil {
						t.Fatal(err)
					}
					conf = head + fmt.Sprintf(`
[INPUT]
    Name             tail
    Tag              keeper.commander
    Path             %s
    Read_From_Head   on
    multiline.parser commander-syslog

[FILTER]
    Name             parser
    Match            keeper.commander
    Key_Name         log
    Parser           keeper-syslog

[OUTPUT]
    Name                      keeper_azmon
    Match                     keeper.*
    schema                    keeper
    tenant_id                 ${KEEPER_AZMON_TENANT_ID}
    client_id                 ${KEEPER_AZMON_CLIENT_ID}
    client_secret             ${KEEPER_AZMON_CLIENT_SECRET}
    endpoint_url              ${KEEPER_AZMON_ENDPOINT_URL}
    enterprise_id             ${KEEPER_AZMON_ENTERPRISE_ID}
`, logFile)
				}
				// No filesystem buffering: this reads a file, and it runs on
				// a Fluent Bit built without the storage backlog too.
				var kept []string
				for _, line := range strings.Split(conf, "\n") {
					if !strings.HasPrefix(strings.ToLower(strings.TrimSpace(line)), "storage.") {
						kept = append(kept, line)
					}
				}
				conf = strings.Join(kept, "\n")
				path := filepath.Join(dir, "tail-"+filepath.Base(recipe))
				if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
					t.Fatal(err)
				}
				s := azmontest.NewServer(azmontest.Options{ClientSecret: newSecret()})
				t.Cleanup(s.Close)
				ed := recipeEdits{
					set:    map[string]string{"Flush": "1"},
					output: []prop{{"authority_host", s.AuthorityHost()}, {"ca_file", s.CAFile}},
				}
				run := startRecipe(t, fb, s, streamKeeper, path, ed, "KEEPER_AZMON_ENTERPRISE_ID="+strconv.Itoa(sourcetest.EnterpriseID))
				run.waitStarted(t)
				sameRows(t, waitRows(t, s, streamKeeper, len(want), run), want)
			})
		}
	})
}

// TestRecipeParsersAgree: the YAML twins carry the parsers inline; each
// must be the one of parsers.conf that the classic recipes load.
func TestRecipeParsersAgree(t *testing.T) {
	classic, err := os.ReadFile(filepath.Join(sourcetest.RecipeDir(), "parsers.conf"))
	if err != nil {
		t.Fatal(err)
	}
	regexes := map[string]string{}
	name := ""
	sc := bufio.NewScanner(strings.NewReader(string(classic)))
	for sc.Scan() {
		key, val, _ := strings.Cut(strings.TrimSpace(sc.Text()), " ")
		switch val = strings.TrimSpace(val); {
		case strings.EqualFold(key, "Name"):
			name = val
		case strings.EqualFold(key, "Regex"):
			regexes[name] = val
		}
	}
	if len(regexes) < 2 {
		t.Fatalf("parsers.conf: %d parsers read", len(regexes))
	}
	checked := 0
	for _, src := range sourcetest.All() {
		text, err := os.ReadFile(src.RecipeYAML())
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(text), "\n")
		for i, line := range lines {
			n, ok := strings.CutPrefix(strings.TrimSpace(line), "- name: ")
			re, known := regexes[n]
			if !ok || !known || i+2 >= len(lines) {
				continue
			}
			got := strings.TrimSpace(lines[i+2])
			if got != "regex: '"+re+"'" {
				t.Errorf("%s: parser %s has\n  %s\nparsers.conf has\n  %s", filepath.Base(src.RecipeYAML()), n, got, re)
			}
			checked++
		}
	}
	if checked == 0 {
		t.Fatal("no inline parser checked")
	}
}
