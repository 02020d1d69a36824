package plugin

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keeper-azmon/keeper-azmon/azmon/azmontest"
	"github.com/keeper-azmon/keeper-azmon/convert/chunktest"
	"github.com/keeper-azmon/keeper-azmon/internal/testkit"
)

func emulatorProps(s *azmontest.Server, stream string, kv ...string) MapProperties {
	p := MapProperties(testkit.Properties(s, stream))
	p["timeout"] = "10s"
	return with(p, kv...)
}

func newInstance(t *testing.T, p MapProperties) (*Instance, *testkit.SyncBuffer) {
	t.Helper()
	logs := &testkit.SyncBuffer{}
	in, err := New(p, Options{ID: "keeper_azmon.test", LogOutput: logs, LogLevel: slog.LevelDebug, Summary: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(in.Close)
	return in, logs
}

// keeperEvents builds n distinct Keeper events in the 2.1 format.
func keeperEvents(first, n int) []byte {
	var b []byte
	base := time.Date(2025, 1, 23, 1, 31, 11, 0, time.UTC)
	for i := first; i < first+n; i++ {
		ts := base.Add(time.Duration(i) * time.Millisecond)
		b = chunktest.AppendEventV2(b, ts, chunktest.Map{}, chunktest.M(
			"audit_event", "record_update",
			"remote_address", "10.15.12.192",
			"category", "usage",
			"client_version", "EMConsole.17.0.0",
			"username", "admin@example.com",
			"enterprise_id", 1234,
			"timestamp", ts.Format(time.RFC3339Nano),
			"record_uid", fmt.Sprintf("uid-%07d", i),
			"node_id", "abc12345",
		))
	}
	return b
}

// uids returns the record_uid of every stored row, failing on duplicates.
func uids(t *testing.T, s *azmontest.Server, stream string) map[string]bool {
	t.Helper()
	seen := map[string]bool{}
	for _, row := range s.Rows(stream) {
		data, _ := row["data"].(map[string]any)
		uid := fmt.Sprint(data["record_uid"])
		if seen[uid] {
			t.Errorf("record %s stored twice", uid)
		}
		seen[uid] = true
	}
	return seen
}

func TestFlushSeedEventsInKeeperShape(t *testing.T) {
	for _, v2 := range []bool{true, false} {
		t.Run(fmt.Sprintf("v2=%v", v2), func(t *testing.T) {
			s := azmontest.NewServer(azmontest.Options{})
			defer s.Close()
			in, _ := newInstance(t, emulatorProps(s, "Custom-KeeperLogs_CL"))
			if code := in.Flush(chunktest.SeedChunk(v2), "keeper"); code != OK {
				t.Fatalf("flush = %d, want OK", code)
			}
			rows := s.Rows("Custom-KeeperLogs_CL")
			want := chunktest.SeedKeeperJSON()
			if len(rows) != len(want) {
				t.Fatalf("%d rows, want %d", len(rows), len(want))
			}
			for i, row := range rows {
				var exp map[string]any
				d := json.NewDecoder(strings.NewReader(want[i]))
				d.UseNumber()
				if err := d.Decode(&exp); err != nil {
					t.Fatal(err)
				}
				if fmt.Sprint(row) != fmt.Sprint(exp) {
					t.Errorf("row %d:\n got %v\nwant %v", i, row, exp)
				}
			}
		})
	}
}

func TestFlushRetryResumesExactlyOnce(t *testing.T) {
	s := azmontest.NewServer(azmontest.Options{})
	defer s.Close()
	in, logs := newInstance(t, emulatorProps(s, "Custom-KeeperLogs_CL", "max_concurrency", "1", "max_request_bytes", "50000"))
	chunk := keeperEvents(0, 2000) // several requests
	// The third request is refused until an operator fixes the role.
	s.Script(azmontest.Fault{}, azmontest.Fault{}, azmontest.Fault{Status: 403})
	if code := in.Flush(chunk, "keeper"); code != Retry {
		t.Fatalf("first flush = %d, want Retry", code)
	}
	partial := len(s.Rows("Custom-KeeperLogs_CL"))
	if partial == 0 || partial == 2000 {
		t.Fatalf("first flush stored %d rows, want a part", partial)
	}
	if !strings.Contains(logs.String(), "Monitoring Metrics Publisher") {
		t.Errorf("the 403 is not explained in the log:\n%s", logs)
	}
	// Fluent Bit flushes the same chunk again.
	if code := in.Flush(chunk, "keeper"); code != OK {
		t.Fatalf("retry flush = %d, want OK", code)
	}
	if got := len(uids(t, s, "Custom-KeeperLogs_CL")); got != 2000 {
		t.Errorf("%d distinct records stored, want 2000", got)
	}
	if in.progress.len() != 0 {
		t.Error("progress kept after the chunk completed")
	}
}

func TestFlushConcurrentWorkers(t *testing.T) {
	s := azmontest.NewServer(azmontest.Options{})
	defer s.Close()
	in, _ := newInstance(t, emulatorProps(s, "Custom-KeeperLogs_CL"))
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if code := in.Flush(keeperEvents(w*1000, 1000), "keeper"); code != OK {
				t.Errorf("worker %d flush = %d", w, code)
			}
		}()
	}
	wg.Wait()
	if got := len(uids(t, s, "Custom-KeeperLogs_CL")); got != 8000 {
		t.Errorf("%d records stored, want 8000", got)
	}
	if n := s.TokenRequests(); n != 1 {
		t.Errorf("%d token requests for 8 concurrent flushes, want 1", n)
	}
}

func TestFlushBadInput(t *testing.T) {
	s := azmontest.NewServer(azmontest.Options{})
	defer s.Close()
	in, logs := newInstance(t, emulatorProps(s, "Custom-KeeperLogs_CL"))
	good := keeperEvents(0, 10)
	tests := []struct {
		name  string
		chunk []byte
		code  Code
		rows  int
	}{
		{"empty chunk", nil, OK, 0},
		{"garbage", []byte("this is not msgpack at all \xc1\xc1\xc1"), Error, 0},
		{"truncated tail keeps the good records", good[:len(good)-7], OK, 9},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s.Reset()
			if code := in.Flush(tc.chunk, "keeper"); code != tc.code {
				t.Errorf("flush = %d, want %d\n%s", code, tc.code, logs)
			}
			if got := len(s.Rows("Custom-KeeperLogs_CL")); got != tc.rows {
				t.Errorf("%d rows stored, want %d", got, tc.rows)
			}
		})
	}
}

func TestSecretNeverLogged(t *testing.T) {
	s := azmontest.NewServer(azmontest.Options{})
	defer s.Close()
	const secret = "Zq8~SECRET-VALUE-never-logged"
	// A wrong secret (the token call fails) and a right one with faults:
	// every log line at debug level is checked.
	bad, badLogs := newInstance(t, emulatorProps(s, "Custom-KeeperLogs_CL", "client_secret", secret))
	if code := bad.Flush(keeperEvents(0, 5), "keeper"); code != Retry {
		t.Errorf("flush with a wrong secret = %d, want Retry", code)
	}
	if !strings.Contains(badLogs.String(), "AADSTS7000215") {
		t.Errorf("the AADSTS code is not in the log:\n%s", badLogs)
	}
	_, err := New(with(emulatorProps(s, "Custom-KeeperLogs_CL", "client_secret", secret), "schema", "nope"), Options{})
	for _, out := range []string{badLogs.String(), fmt.Sprint(err), fmt.Sprintf("%+v", bad.Config())} {
		if strings.Contains(out, secret) {
			t.Errorf("secret found in output:\n%s", out)
		}
	}
}

// TestCloseCancelsFlushInFlight: Fluent Bit's exit callbacks must return
// promptly even while a flush waits on a hung service, and that flush
// answers retry, keeping its chunk.
func TestCloseCancelsFlushInFlight(t *testing.T) {
	s := azmontest.NewServer(azmontest.Options{})
	defer s.Close()
	in, err := New(emulatorProps(s, "Custom-KeeperLogs_CL", "timeout", "10m"), Options{LogOutput: io.Discard, Summary: -1})
	if err != nil {
		t.Fatal(err)
	}
	s.Script(azmontest.Fault{Delay: time.Hour})
	result := make(chan Code, 1)
	go func() { result <- in.Flush(keeperEvents(0, 10), "keeper") }()
	for len(s.Requests()) == 0 && s.TokenRequests() == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // the request is on the wire
	// The service would answer in an hour: if Close did not cancel the
	// flush, this test would hang (go test's -timeout reports it).
	in.Close()
	if code := <-result; code != Retry {
		t.Errorf("cancelled flush = %d, want Retry", code)
	}
	if code := in.Flush(keeperEvents(0, 1), "keeper"); code != Retry {
		t.Errorf("flush after Close = %d, want Retry", code)
	}
}

// TestStartAndSummaryLines: one line at start naming where records go and
// how, no secret; a periodic summary with the counters.
func TestStartAndSummaryLines(t *testing.T) {
	s := azmontest.NewServer(azmontest.Options{})
	defer s.Close()
	logs := &testkit.SyncBuffer{}
	in, err := New(emulatorProps(s, "Custom-KeeperLogs_CL"), Options{ID: "keeper_azmon.7", LogOutput: logs, LogLevel: slog.LevelInfo, Summary: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if code := in.Flush(keeperEvents(0, 25), "keeper"); code != OK {
		t.Fatalf("flush = %d", code)
	}
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(logs.String(), "summary") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	out := logs.String()
	for _, want := range []string{
		"[output:keeper_azmon:keeper_azmon.7] started",
		"dcr=" + s.Opts.DCRID, "stream=Custom-KeeperLogs_CL", "auth=client_secret", "schema=keeper",
		"summary records=25 requests=1",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, s.Opts.ClientSecret) {
		t.Error("the secret is in the log")
	}
}

// TestUserAgent: one place composes it; what the properties and the caller
// add reach the service.
func TestUserAgent(t *testing.T) {
	for _, tc := range []struct{ fromProps, comment, want string }{
		{"", "", "keeper-azmon/" + Version},
		{"", "check", "keeper-azmon/" + Version + " (check)"},
		{"site-a", "check", "keeper-azmon/" + Version + " site-a (check)"},
	} {
		if got := userAgent(tc.fromProps, tc.comment); got != tc.want {
			t.Errorf("userAgent(%q, %q) = %q, want %q", tc.fromProps, tc.comment, got, tc.want)
		}
	}
	s := azmontest.NewServer(azmontest.Options{})
	defer s.Close()
	in, err := New(emulatorProps(s, "Custom-KeeperLogs_CL"), Options{LogOutput: io.Discard, Summary: -1, UserAgentComment: "check"})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if rep := in.Deliver(keeperEvents(0, 1), "keeper"); rep.Code != OK {
		t.Fatalf("flush: %+v", rep)
	}
	if reqs := s.Requests(); len(reqs) != 1 || reqs[0].Header.Get("User-Agent") != "keeper-azmon/"+Version+" (check)" {
		t.Errorf("the service saw User-Agent %q", reqs[0].Header.Get("User-Agent"))
	}
}
