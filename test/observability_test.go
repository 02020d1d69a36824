package test

// An operator's view of the plugin in a real Fluent Bit (skipped without
// one, like the recipes): with another output declared first and log_file
// set, every plugin line is in the log file under the name Fluent Bit uses
// for the instance (its alias when set), none on stderr, a failed attempt's
// line quotes the request ids, and the metrics endpoint shows requests,
// records, bytes, tokens and latency equal to what the service saw.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/keeper-azmon/keeper-azmon/azmon/azmontest"
	"github.com/keeper-azmon/keeper-azmon/internal/fbconfig"
	"github.com/keeper-azmon/keeper-azmon/internal/testkit"
)

func TestOperatorViewInFluentBit(t *testing.T) {
	forEachFluentBit(t, func(t *testing.T, fb flbBinary) {
		for _, tc := range []struct {
			alias, name string
			logLevel    string // the output's own log_level; the service's is info
		}{
			{"", "keeper_azmon.1", ""}, // the null output before it is .0
			{"keeper_prod", "keeper_prod", "debug"},
		} {
			t.Run(tc.name, func(t *testing.T) { runOperatorView(t, fb, tc.alias, tc.name, tc.logLevel) })
		}
	})
}

func runOperatorView(t *testing.T, fb flbBinary, alias, name, logLevel string) {
	_, plugin := hostPaths(t)
	s := azmontest.NewServer(azmontest.Options{})
	t.Cleanup(s.Close)
	dir := t.TempDir()
	logFile := filepath.Join(dir, "fluent-bit.log")
	inPort, httpPort := freePort(t), freePort(t)
	aliasLine := ""
	if alias != "" {
		aliasLine = "    alias          " + alias + "\n"
	}
	if logLevel != "" {
		aliasLine += "    log_level      " + logLevel + "\n"
	}
	conf := testkit.WriteFile(t, dir, "fluent-bit.conf", fmt.Sprintf(`[SERVICE]
    flush          1
    grace          2
    log_level      info
    log_file       %s
    http_server    on
    http_listen    127.0.0.1
    http_port      %d
    scheduler.base 1
    scheduler.cap  2

[INPUT]
    name   http
    listen 127.0.0.1
    port   %d

[OUTPUT]
    name  null
    match *

[OUTPUT]
    name           keeper_azmon
%s    match          keeper.*
    tenant_id      %s
    client_id      %s
    client_secret  %s
    endpoint_url   %s
    authority_host %s
    ca_file        %s
    max_concurrency 1
    workers        1
`, logFile, httpPort, inPort, aliasLine, s.Opts.TenantID, s.Opts.ClientID, s.Opts.ClientSecret,
		s.EndpointURL(azmontest.StreamKeeperLogs), s.AuthorityHost(), s.CAFile))

	// check -output takes the name Fluent Bit prints.
	if cfg, err := fbconfig.Load(conf, os.Getenv); err != nil {
		t.Fatal(err)
	} else if out, err := cfg.Pick(name); err != nil || out.Name != name {
		t.Errorf("fbconfig picks %q for %s: %v", out.Name, name, err)
	}

	// The first request meets a 429 and then 500s until its attempts are
	// spent: the flush fails with a warning and Fluent Bit retries it. One
	// record is then rejected alone: its request is split (a line logged on
	// a goroutine of the plugin's, not a Fluent Bit thread) and it is dropped.
	s.Script(azmontest.Fault{Status: 429, RetryAfter: time.Second}, azmontest.Fault{Status: 500}, azmontest.Fault{Status: 500}, azmontest.Fault{Status: 500})
	const rejected = "uid-rejected"
	s.RejectRecords(func(row map[string]any) bool {
		data, _ := row["data"].(map[string]any)
		return data["record_uid"] == rejected
	})

	stderr := new(testkit.SyncBuffer)
	cmd := exec.Command(fb.path, "-e", plugin, "-c", conf)
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(40 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			b, _ := os.ReadFile(logFile)
			t.Logf("stderr:\n%s\nlog file:\n%s", stderr.String(), b)
		}
	})
	run := &fluentBitRun{cmd: cmd, logs: stderr, done: done}
	run.waitPort(t, inPort)

	const n = 30
	var events []map[string]any
	for i := range n {
		uid := fmt.Sprintf("uid-%04d", i)
		if i == 7 {
			uid = rejected
		}
		events = append(events, map[string]any{"audit_event": "record_update", "category": "usage",
			"username": "admin@example.com", "remote_address": "10.0.0.1", "record_uid": uid})
	}
	body, _ := json.Marshal(events)
	resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/keeper.events", inPort), "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("http input answered %d", resp.StatusCode)
	}
	waitRows(t, s, azmontest.StreamKeeperLogs, n-1, run)

	// The metrics endpoint, once it has caught up, says what the emulator saw.
	byStatus := map[string]float64{}
	wire := 0.0
	for _, r := range s.Requests() {
		st := "error"
		if r.Status != 0 {
			st = strconv.Itoa(r.Status)
		}
		byStatus[st]++
		wire += float64(r.WireBytes)
	}
	for _, st := range []string{"429", "500", "400", "204"} {
		if byStatus[st] == 0 {
			t.Errorf("the emulator saw no %s: the test does not cover it (%v)", st, byStatus)
		}
	}
	stream := azmontest.StreamKeeperLogs
	want := map[string]float64{
		fmt.Sprintf(`fluentbit_keeper_azmon_records_total{name=%q,stream=%q,result="accepted"}`, name, stream): float64(s.RowCount(stream)),
		fmt.Sprintf(`fluentbit_keeper_azmon_records_total{name=%q,stream=%q,result="dropped"}`, name, stream):  1,
		fmt.Sprintf(`fluentbit_keeper_azmon_bytes_total{name=%q,kind="wire"}`, name):                           wire,
		fmt.Sprintf(`fluentbit_keeper_azmon_token_requests_total{name=%q,result="ok"}`, name):                  1,
	}
	total := 0.0
	for st, c := range byStatus {
		want[fmt.Sprintf(`fluentbit_keeper_azmon_requests_total{name=%q,stream=%q,status=%q}`, name, stream, st)] = c
		total += c
	}
	want[fmt.Sprintf(`fluentbit_keeper_azmon_request_duration_seconds_count{name=%q}`, name)] = total
	var got map[string]float64
	deadline := time.Now().Add(30 * time.Second)
	for {
		got = scrape(t, httpPort)
		if sameValues(got, want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if json := fmt.Sprintf(`fluentbit_keeper_azmon_bytes_total{name=%q,kind="json"}`, name); got[json] <= 0 {
		t.Errorf("%s = %v, want the accepted JSON bytes", json, got[json])
	}
	// The core's own series carry the same name.
	if core := fmt.Sprintf(`fluentbit_output_proc_records_total{name=%q}`, name); got[core] == 0 {
		t.Errorf("%s missing: the plugin's name is not Fluent Bit's", core)
	}

	stop()
	logText, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	prefix := "[output:keeper_azmon:" + name + "] "
	// Fluent Bit's logger wrote ours: its stamp (seconds in 3.2 and 4.0,
	// nanoseconds in 4.2, milliseconds in 5) and level.
	stamped := regexp.MustCompile(`^\[\d{4}/\d\d/\d\d \d\d:\d\d:\d\d(\.\d+)?\] \[ ?(info|warn|error|debug)\] `)
	var failed, split, dropped, started, stoppedLine, debug bool
	for _, line := range strings.Split(string(logText), "\n") {
		if !strings.Contains(line, prefix) {
			continue
		}
		if !stamped.MatchString(line) {
			t.Errorf("line not in Fluent Bit's format: %q", line)
		}
		if strings.Contains(line, "[debug] "+prefix) {
			debug = true
		}
		switch {
		case strings.Contains(line, prefix+"started "):
			started = true
		case strings.Contains(line, prefix+"stopped "):
			stoppedLine = true
		case strings.Contains(line, "[ warn] "+prefix+"chunk not fully sent"):
			// The ids of the last failed attempt, as Azure support asks for them.
			failed = strings.Contains(line, "x-ms-request-id=") && strings.Contains(line, "x-ms-client-request-id=")
			if !failed {
				t.Errorf("failed flush line without request ids: %q", line)
			}
			var last azmontest.Request
			for _, r := range s.Requests() {
				if r.Status == 500 {
					last = r
				}
			}
			if !strings.Contains(line, last.RequestID) || !strings.Contains(line, last.ClientRequestID) {
				t.Errorf("failed flush line %q lacks the ids the emulator answered (%s, %s)", line, last.RequestID, last.ClientRequestID)
			}
		case strings.Contains(line, "[ warn] "+prefix+"request rejected; splitting it"):
			split = true
		case strings.Contains(line, "[error] "+prefix+"records dropped"):
			dropped = strings.Contains(line, "x-ms-request-id=")
		}
	}
	for what, ok := range map[string]bool{"start": started, "stop": stoppedLine, "failed flush": failed,
		"split (from a plugin goroutine)": split, "drop with request id": dropped} {
		if !ok {
			t.Errorf("the log file has no %s line under %s", what, prefix)
		}
	}
	// The level is the one Fluent Bit resolved for the instance.
	if wantDebug := logLevel == "debug"; debug != wantDebug {
		t.Errorf("debug lines under %s: %v, want %v (output log_level %q, service info)", prefix, debug, wantDebug, logLevel)
	}
	if strings.Contains(stderr.String(), "[output:keeper_azmon:") {
		t.Errorf("plugin lines on stderr, not in the log file:\n%s", stderr.String())
	}
}

// scrape reads Fluent Bit's Prometheus endpoint into series -> value.
func scrape(t *testing.T, port int) map[string]float64 {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/api/v2/metrics/prometheus", port))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	out := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		out[line[:i]] = v
	}
	return out
}

func sameValues(got, want map[string]float64) bool {
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

// Where no Fluent Bit functions can be reached (the C host, a program that
// embeds the plugin), the plugin logs to stderr in Fluent Bit's format,
// under a name it counts itself, says once that it keeps no metrics, and
// still quotes the request ids of a failed attempt.
func TestFallbacksAndRequestIDsInTheCHost(t *testing.T) {
	s, h := setup(t, azmontest.Options{})
	mark := h.logMark()
	h.mustInstance("a", props(s, streamKeeper))
	h.mustInstance("b", props(s, streamKeeper))
	s.Script(azmontest.Fault{Status: 403})
	if rc := h.flush("b", "keeper.events", chunkV2(genEvents("ids", 3, 1))); rc != flbRetry {
		t.Fatalf("flush: %s, want FLB_RETRY", rcName(rc))
	}
	h.syncLog()
	log := h.logSince(mark)

	stamped := regexp.MustCompile(`(?m)^\[\d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d{3}\] \[ ?(info|warn|error|debug)\] \[output:keeper_azmon:keeper_azmon\.[01]\] `)
	for _, line := range nonEmptyLines(log) {
		if strings.HasPrefix(line, "flbhost:") {
			continue
		}
		if !stamped.MatchString(line) {
			t.Errorf("line not in Fluent Bit 5's format with the instance name: %q", line)
		}
	}
	for _, inst := range []string{"keeper_azmon.0", "keeper_azmon.1"} {
		if n := strings.Count(log, "[output:keeper_azmon:"+inst+"] no metrics"); n != 1 {
			t.Errorf("%s said %d times that it keeps no metrics, want once:\n%s", inst, n, log)
		}
	}
	reqs := s.Requests()
	if len(reqs) != 1 || reqs[0].Status != 403 {
		t.Fatalf("emulator saw %+v, want one 403", reqs)
	}
	warn := ""
	for _, line := range nonEmptyLines(log) {
		if strings.Contains(line, "[ warn] [output:keeper_azmon:keeper_azmon.1] chunk not fully sent") {
			warn = line
		}
	}
	if !strings.Contains(warn, "x-ms-request-id="+reqs[0].RequestID) || !strings.Contains(warn, "x-ms-client-request-id="+reqs[0].ClientRequestID) || reqs[0].ClientRequestID == "" {
		t.Errorf("the failed flush's line %q does not quote the ids of the attempt (%s, %s)", warn, reqs[0].RequestID, reqs[0].ClientRequestID)
	}
}
