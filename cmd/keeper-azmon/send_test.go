package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/keeper-azmon/keeper-azmon/azmon/azmontest"
	"github.com/keeper-azmon/keeper-azmon/internal/testkit"
)

// keeperLines returns n Keeper events as JSON lines, each with a unique
// record_uid, and a bad line after line badAt (0: none).
func keeperLines(n, badAt int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, `{"audit_event":"record_update","remote_address":"10.15.12.192","category":"usage","client_version":"EMConsole.17.0.0","username":"admin@example.com","enterprise_id":1234,"timestamp":"2025-01-23T01:31:11.%03dZ","record_uid":"uid-%05d","node_id":"abc12345","nested":{"n":%d,"list":[1,2.5,"x"]}}`+"\n", i%1000, i, i)
		if i == badAt {
			b.WriteString(`{"audit_event": "broken", }` + "\n\n")
		}
	}
	return b.String()
}

// uidCounts counts each record_uid stored in the Keeper stream.
func uidCounts(t *testing.T, s *azmontest.Server) map[string]int {
	t.Helper()
	seen := map[string]int{}
	for _, row := range s.Rows(streamKeeper) {
		data, _ := row["data"].(map[string]any)
		uid, _ := data["record_uid"].(string)
		seen[uid]++
	}
	return seen
}

// TestSend delivers files of events through the plugin exactly once,
// whatever the service answers on the way, and reports bad lines.
func TestSend(t *testing.T) {
	const n = 300
	tests := []struct {
		name   string
		props  []string // overrides of the output's properties
		faults []azmontest.Fault
		stdin  bool
		badAt  int
		exit   int
		stdout []string
		stderr []string
	}{
		{
			name:   "a file with a bad line, several chunks",
			badAt:  57,
			exit:   exitPartial,
			stdout: []string{"sent 300 of 300 events", "to Custom-KeeperLogs_CL", "1 bad line skipped", "chunk 1:"},
			stderr: []string{"line 58: invalid JSON"},
		},
		{
			name:   "stdin",
			stdin:  true,
			exit:   exitOK,
			stdout: []string{"sent 300 of 300 events from stdin"},
		},
		{
			name:   "403 in the middle of a chunk: FLB_RETRY, only the rest sent again",
			props:  []string{"max_request_bytes", "4096", "max_concurrency", "1"},
			faults: []azmontest.Fault{{}, {}, {Status: 403}},
			exit:   exitOK,
			stdout: []string{"sent 300 of 300 events"},
			stderr: []string{"not fully sent; retry 1 of 5"},
		},
		{
			name:   "5xx and 429 retried inside the flush",
			props:  []string{"max_concurrency", "1"},
			faults: []azmontest.Fault{{Status: 503}, {Status: 429}},
			exit:   exitOK,
			stdout: []string{"sent 300 of 300 events"},
		},
		{
			name:   "connection reset",
			faults: []azmontest.Fault{{Reset: true}},
			exit:   exitOK,
			stdout: []string{"sent 300 of 300 events"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newEmulator(t)
			s.Script(tc.faults...)
			conf := classicConf(t, with(emulatorProps(s, streamKeeper), tc.props...))
			lines := keeperLines(n, tc.badAt)
			args := []string{"send", "-c", conf, "-chunk-bytes", "16384", "-retry-wait", "1ms"}
			stdin := ""
			if tc.stdin {
				stdin = lines
				args = append(args, "-")
			} else {
				args = append(args, testkit.WriteFile(t, t.TempDir(), "events.jsonl", lines))
			}
			r := runApp(t, nil, stdin, args...)
			if r.code != tc.exit {
				t.Errorf("exit %d, want %d\n%s\n%s", r.code, tc.exit, r.stdout, r.stderr)
			}
			for _, w := range tc.stdout {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, r.stdout)
				}
			}
			for _, w := range tc.stderr {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
				}
			}
			seen := uidCounts(t, s)
			for i := 1; i <= n; i++ {
				if c := seen[fmt.Sprintf("uid-%05d", i)]; c != 1 {
					t.Errorf("uid-%05d stored %d times", i, c)
				}
			}
			if len(seen) != n {
				t.Errorf("%d distinct records stored, want %d", len(seen), n)
			}
			if ing, _ := s.PendingFaults(); ing != 0 {
				t.Errorf("%d scripted faults unused", ing)
			}
			noSecret(t, r, s.Opts.ClientSecret)
		})
	}
}

// TestSendFailures: send stops with the exit code of what stopped it.
func TestSendFailures(t *testing.T) {
	tests := []struct {
		name   string
		props  []string
		faults []azmontest.Fault
		exit   int
		stderr []string
	}{
		{
			name:   "403 persists: gives up after the retries",
			faults: []azmontest.Fault{{Status: 403}, {Status: 403}, {Status: 403}},
			exit:   exitRefused,
			stderr: []string{"not delivered after 2 retries", "403", "keeper-azmon check"},
		},
		{
			name:   "wrong secret",
			props:  []string{"client_secret", "wrong"},
			exit:   exitToken,
			stderr: []string{"AADSTS7000215"},
		},
		{
			name:   "invalid configuration",
			props:  []string{"schema", "cef"},
			exit:   exitConfig,
			stderr: []string{"invalid configuration", "property schema"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newEmulator(t)
			s.Script(tc.faults...)
			conf := classicConf(t, with(emulatorProps(s, streamKeeper), tc.props...))
			file := testkit.WriteFile(t, t.TempDir(), "events.jsonl", keeperLines(10, 0))
			r := runApp(t, nil, "", "send", "-c", conf, "-retries", "2", "-retry-wait", "1ms", file)
			if r.code != tc.exit {
				t.Errorf("exit %d, want %d\n%s\n%s", r.code, tc.exit, r.stdout, r.stderr)
			}
			for _, w := range tc.stderr {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
				}
			}
			if got := s.RowCount(streamKeeper); got != 0 {
				t.Errorf("%d rows stored, want none", got)
			}
			noSecret(t, r, s.Opts.ClientSecret)
		})
	}
}

// TestSendCommandLine covers send's usage errors.
func TestSendCommandLine(t *testing.T) {
	s := newEmulator(t)
	conf := classicConf(t, emulatorProps(s, streamKeeper))
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"send", "-c", conf}, "give one input"},
		{[]string{"send", "-c", conf, "a", "b"}, "give one input"},
		{[]string{"send", "-c", conf, "/nonexistent/events.jsonl"}, "no such file"},
		{[]string{"send", "-c", conf, "-chunk-bytes", "0", "-"}, "-chunk-bytes must be positive"},
		{[]string{"send", "-"}, "give -c FILE"},
	} {
		r := runApp(t, nil, "", tc.args...)
		if r.code != exitConfig || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
}

// TestProgressBar draws the bar as a terminal would get it.
func TestProgressBar(t *testing.T) {
	var b strings.Builder
	p := &meter{w: &b, tty: true, total: 1000}
	p.read(500, 10, 1)
	p.chunkDone(1, 10, 10)
	p.clear()
	out := b.String()
	for _, want := range []string{"[###############...............]  50%", "10 read, 10 sent, 1 bad lines", "\r\x1b[K"} {
		if !strings.Contains(out, want) {
			t.Errorf("bar %q lacks %q", out, want)
		}
	}
}

// TestSendASIMNamesEveryStream: with schema asim, the summary names every
// stream records went to, not only the first.
func TestSendASIMNamesEveryStream(t *testing.T) {
	s := newEmulator(t)
	props := with(emulatorProps(s, streamKeeper), "schema", "asim", "endpoint_url", "", "dce_url", s.DCEURL(), "dcr_id", s.Opts.DCRID)
	conf := classicConf(t, props)
	lines := `{"audit_event":"login","username":"a@example.com","remote_address":"10.0.0.1","category":"login"}
{"audit_event":"record_update","username":"a@example.com","remote_address":"10.0.0.1","category":"usage"}
`
	r := runApp(t, nil, "", "send", "-c", conf, testkit.WriteFile(t, t.TempDir(), "events.jsonl", lines))
	if r.code != exitOK {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, st := range []string{azmontest.StreamKeeperAsimAuthentication, azmontest.StreamKeeperAsimAudit} {
		if s.RowCount(st) != 1 {
			t.Errorf("%d rows in %s, want 1", s.RowCount(st), st)
		}
		if !strings.Contains(r.stdout, st) {
			t.Errorf("summary does not name %s:\n%s", st, r.stdout)
		}
	}
}
