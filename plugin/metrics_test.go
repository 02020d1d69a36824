package plugin

import (
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/keeper-azmon/keeper-azmon/azmon/azmontest"
)

// series names a series the way memoryMetrics keys it.
func series(metric string, labels ...string) string {
	var kv []string
	for i := 0; i+1 < len(labels); i += 2 {
		kv = append(kv, labels[i]+"="+strconv.Quote(labels[i+1]))
	}
	return "fluentbit_keeper_azmon_" + metric + "{" + strings.Join(kv, ",") + "}"
}

// TestMetricsMatchWhatTheServiceSaw flushes through throttling, server
// errors, a reset and a record the service rejects, and checks that every
// series says what the emulator saw.
func TestMetricsMatchWhatTheServiceSaw(t *testing.T) {
	s := azmontest.NewServer(azmontest.Options{})
	defer s.Close()
	m := &memoryMetrics{}
	const name = "keeper_azmon.3"
	in, err := New(emulatorProps(s, azmontest.StreamKeeperLogs, "max_concurrency", "1", "max_request_bytes", "4096"),
		Options{ID: name, LogOutput: io.Discard, Summary: -1, Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	s.Script(azmontest.Fault{Status: 429}, azmontest.Fault{Status: 500}, azmontest.Fault{Reset: true})
	s.RejectRecords(func(row map[string]any) bool {
		data, _ := row["data"].(map[string]any)
		return data["record_uid"] == "uid-0000007"
	})

	chunk := keeperEvents(0, 40)
	var codes []Code
	for range 5 {
		rep := in.Deliver(chunk, "keeper.events")
		codes = append(codes, rep.Code)
		if rep.Code == OK {
			break
		}
	}
	if codes[len(codes)-1] != OK {
		t.Fatalf("flush codes %v", codes)
	}

	byStatus := map[string]int{}
	wire := 0
	for _, r := range s.Requests() {
		st := StatusError
		if r.Status != 0 {
			st = strconv.Itoa(r.Status)
		}
		byStatus[st]++
		wire += r.WireBytes
	}
	want := map[string]float64{
		series(MetricRecords, "name", name, "stream", azmontest.StreamKeeperLogs, "result", ResultAccepted): float64(s.RowCount(azmontest.StreamKeeperLogs)),
		series(MetricRecords, "name", name, "stream", azmontest.StreamKeeperLogs, "result", ResultDropped):  1,
		series(MetricBytes, "name", name, "kind", KindWire):                                                 float64(wire),
		series(MetricTokenRequests, "name", name, "result", ResultOK):                                       1,
	}
	total := 0
	for st, n := range byStatus {
		want[series(MetricRequests, "name", name, "stream", azmontest.StreamKeeperLogs, "status", st)] = float64(n)
		total += n
	}
	want[series(MetricRequestDuration+"_count", "name", name)] = float64(total)
	if s.RowCount(azmontest.StreamKeeperLogs) != 39 {
		t.Errorf("%d rows landed, want 39", s.RowCount(azmontest.StreamKeeperLogs))
	}
	for _, st := range []string{"429", "500", "400", "204", StatusError} {
		if byStatus[st] == 0 {
			t.Errorf("the emulator saw no %s; the test does not cover it: %v", st, byStatus)
		}
	}
	got := m.Series()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	jsonKey := series(MetricBytes, "name", name, "kind", KindJSON)
	if st := in.Stats(); got[jsonKey] != float64(st.Bytes) || st.Bytes == 0 {
		t.Errorf("%s = %v, the instance counted %d accepted JSON bytes", jsonKey, got[jsonKey], st.Bytes)
	}
	for k := range got {
		if _, ok := want[k]; !ok && k != jsonKey && !strings.Contains(k, MetricRequestDuration+"_sum") {
			t.Errorf("unexpected series %s = %v", k, got[k])
		}
	}
}

// TestMetricsPerASIMStream checks the stream label of schema asim: each
// record counted under the stream it went to.
func TestMetricsPerASIMStream(t *testing.T) {
	s := azmontest.NewServer(azmontest.Options{})
	defer s.Close()
	m := &memoryMetrics{}
	in, err := New(emulatorProps(s, azmontest.StreamKeeperLogs, "schema", "asim",
		"endpoint_url", "<unset>", "dce_url", s.DCEURL(), "dcr_id", s.Opts.DCRID),
		Options{ID: "asim", LogOutput: io.Discard, Summary: -1, Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if rep := in.Deliver(keeperEvents(0, 10), "keeper.events"); rep.Code != OK {
		t.Fatalf("flush: %+v", rep)
	}
	got := m.Series()
	counted := 0.0
	for _, st := range []string{azmontest.StreamKeeperAsimAuthentication, azmontest.StreamKeeperAsimUserManagement, azmontest.StreamKeeperAsimAudit} {
		rows := float64(s.RowCount(st))
		if c := got[series(MetricRecords, "name", "asim", "stream", st, "result", ResultAccepted)]; c != rows {
			t.Errorf("%s: %v records counted, %v landed", st, c, rows)
		}
		counted += rows
		reqs := 0
		for _, r := range s.Requests() {
			if r.Stream == st {
				reqs++
			}
		}
		if c := got[series(MetricRequests, "name", "asim", "stream", st, "status", "204")]; c != float64(reqs) {
			t.Errorf("%s: %v requests counted, the emulator saw %d", st, c, reqs)
		}
	}
	if counted != 10 {
		t.Errorf("%v rows landed in the ASIM streams, want 10", counted)
	}
}

// printed is a LogSink that keeps the lines it was given.
type printed struct {
	mu    sync.Mutex
	lines []string
}

func (p *printed) Print(level slog.Level, line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lines = append(p.lines, level.String()+" "+line)
}

func TestLogQueueKeepsOrderUntilDrained(t *testing.T) {
	var q logQueue
	sink := &printed{}
	log := NewSinkLogger(queuedSink{q: &q, sink: sink}, "prod", slog.LevelInfo)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				log.Info("line", "g", g, "i", i)
			}
		}()
	}
	log.Debug("below the level")
	wg.Wait()
	if len(sink.lines) != 0 {
		t.Fatalf("lines printed before a drain: %v", sink.lines)
	}
	q.drain()
	if len(sink.lines) != 400 {
		t.Fatalf("%d lines after the drain, want 400", len(sink.lines))
	}
	next := map[string]int{}
	for _, l := range sink.lines {
		if !strings.HasPrefix(l, "INFO [output:keeper_azmon:prod] line g=") {
			t.Fatalf("line %q lacks the prefix or level", l)
		}
		var g, i int
		fmt.Sscanf(strings.TrimPrefix(l, "INFO [output:keeper_azmon:prod] line "), "g=%d i=%d", &g, &i)
		if k := strconv.Itoa(g); i != next[k] {
			t.Fatalf("goroutine %d: line %d came where %d was due", g, i, next[k])
		}
		next[strconv.Itoa(g)]++
	}
}

func TestLogQueueBounded(t *testing.T) {
	var q logQueue
	sink := &printed{}
	for i := range maxQueuedLines + 5 {
		q.push(sink, slog.LevelInfo, strconv.Itoa(i))
	}
	q.drain()
	if len(sink.lines) != maxQueuedLines+1 {
		t.Fatalf("%d lines, want %d and one about the lost", len(sink.lines), maxQueuedLines+1)
	}
	if !strings.Contains(sink.lines[0], "5 log lines were lost") || sink.lines[1] != "INFO 5" {
		t.Errorf("first lines %q, %q", sink.lines[0], sink.lines[1])
	}
}

// memoryMetrics is a Metrics that keeps its series in memory, for the
// tests to read back.
type memoryMetrics struct {
	mu     sync.Mutex
	values map[string]float64 // series key -> value
}

// Counter implements Metrics.
func (m *memoryMetrics) Counter(ns, sub, name, _ string, labels []string) (Counter, error) {
	return memorySeries{m: m, name: ns + "_" + sub + "_" + name, labels: labels}, nil
}

// Histogram implements Metrics; it keeps the count and sum of observations
// as name_count and name_sum.
func (m *memoryMetrics) Histogram(ns, sub, name, _ string, _ []float64, labels []string) (Histogram, error) {
	return memorySeries{m: m, name: ns + "_" + sub + "_" + name, labels: labels}, nil
}

// Value returns a series' value by its Prometheus text form, e.g.
// fluentbit_keeper_azmon_requests_total{name="x",stream="s",status="204"}.
func (m *memoryMetrics) Value(series string) float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.values[series]
}

// Series returns every series and its value.
func (m *memoryMetrics) Series() map[string]float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]float64, len(m.values))
	for k, v := range m.values {
		out[k] = v
	}
	return out
}

type memorySeries struct {
	m      *memoryMetrics
	name   string
	labels []string
}

func (s memorySeries) key(suffix string, values []string) string {
	k := s.name + suffix + "{"
	for i, l := range s.labels {
		if i > 0 {
			k += ","
		}
		v := ""
		if i < len(values) {
			v = values[i]
		}
		k += l + "=" + strconv.Quote(v)
	}
	return k + "}"
}

func (s memorySeries) Add(v float64, values ...string) {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	if s.m.values == nil {
		s.m.values = map[string]float64{}
	}
	s.m.values[s.key("", values)] += v
}

func (s memorySeries) Observe(v float64, values ...string) {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	if s.m.values == nil {
		s.m.values = map[string]float64{}
	}
	s.m.values[s.key("_count", values)]++
	s.m.values[s.key("_sum", values)] += v
}
