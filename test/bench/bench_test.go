// Package bench measures keeper_azmon as a whole process: the built
// out_keeper_azmon.so loaded by the C host test/flbhost through Fluent
// Bit's Go proxy ABI, flushing realistic Keeper chunks to the emulator
// (azmontest, CountOnly) over HTTPS on loopback, next to a baseline plugin
// written the way other Go output plugins are (../baseline), loaded by the
// same host and fed the same chunks.
//
// Speed is reported as numbers and ratios through the benchmark framework,
// never asserted. The host's CPU time (user + system from /proc/<pid>/stat)
// is the plugin's alone: the emulator runs in the test process.
//
// Memory is asserted by tests that `make test` runs: TestRSSFlat (the
// host's RSS stays flat over hundreds of flushes) and TestFlushPeakHeap (a
// flush's peak heap stays within 4x the chunk's JSON, measured in process
// with the emulator in a child process and the chunk outside the Go heap).
//
//	KEEPER_AZMON_PLUGIN=$PWD/out_keeper_azmon.so KEEPER_AZMON_HOST=$PWD/test/flbhost \
//		go test -run '^$' -bench 'Host' -benchtime 5x ./test/bench
//	go test -run '^$' -bench 'FlushPeakHeap' ./test/bench
//
// Without the two variables the host benchmarks and TestRSSFlat skip.
// KEEPER_AZMON_BASELINE may name a prebuilt baseline plugin; otherwise it
// is built into a temporary directory.
package bench

import (
	"fmt"
	"testing"
	"time"

	"github.com/keeper-azmon/keeper-azmon/azmon/azmontest"
)

// The host benchmarks' workload: each op flushes hostChunks chunks of
// hostEvents events (about 1.85 MB of Keeper JSON each: one flush is a full
// request and a remainder), one chunk at a time as Fluent Bit's scheduler
// hands them to one output (each plugin with its own concurrency within a
// flush: keeper_azmon's default max_concurrency 4, the baseline's one
// request at a time).
const (
	hostChunks = 20
	hostEvents = 5_000
	hostTag    = "keeper.audit"
)

// target is a plugin under measurement.
type target struct {
	name   string
	plugin func() (string, error) // the .so, built if need be
}

// targets are keeper_azmon (the .so `make` built) and the baseline (built
// into dir unless KEEPER_AZMON_BASELINE names it).
func targets(ours, dir string) []target {
	return []target{
		{"keeper_azmon", func() (string, error) { return ours, nil }},
		{"baseline", func() (string, error) { return baselinePlugin(dir) }},
	}
}

// start runs the target in a host that lives until owner ends, with one
// instance configured by props, and warms it up (token, connections,
// pools) with one flush.
func (tg target) start(owner testing.TB, hostBin string, props map[string]string, s *azmontest.Server, cs chunkSet) (*host, error) {
	so, err := tg.plugin()
	if err != nil {
		return nil, err
	}
	h, err := startHost(owner, hostBin, so, props)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", tg.name, err)
	}
	rc, err := h.flush(hostTag, cs.files[0])
	if err == nil && rc != flbOK {
		err = fmt.Errorf("warm-up flush answered %d; log:\n%s", rc, h.logTail())
	}
	s.Reset()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", tg.name, err)
	}
	return h, nil
}

// measurement is what rounds of flushes of a chunk set cost one host.
type measurement struct {
	tally
	rounds  int
	events  int
	cpu     time.Duration // the host's user + system time
	wall    time.Duration // the flush commands' round trips, added up
	peakRSS int64         // the host's VmHWM at the end
}

// flushRounds flushes every chunk of cs rounds times, one at a time, and
// accounts for each flush's requests (the emulator's log is reset after
// each flush; the emulator logs a request before its answer goes out). A
// flush that is not FLB_OK or a request that is not accepted is an error.
func flushRounds(h *host, s *azmontest.Server, cs chunkSet, rounds int) (measurement, error) {
	m := measurement{rounds: rounds, events: rounds * cs.events}
	cpu0, err := h.cpu()
	if err != nil {
		return m, err
	}
	for range rounds {
		for _, f := range cs.files {
			t0 := time.Now()
			rc, err := h.flush(hostTag, f)
			m.wall += time.Since(t0)
			if err != nil {
				return m, err
			}
			if rc != flbOK {
				return m, fmt.Errorf("flush answered %d; log:\n%s", rc, h.logTail())
			}
			m.addFlush(s.Requests())
			s.Reset()
		}
	}
	cpu1, err := h.cpu()
	if err != nil {
		return m, err
	}
	m.cpu = cpu1 - cpu0
	if _, m.peakRSS, err = h.memory(); err != nil {
		return m, err
	}
	if m.failed > 0 {
		return m, fmt.Errorf("%d of %d requests were not accepted", m.failed, m.requests)
	}
	return m, nil
}

// cpuPerEvent is the host's CPU time per event, in microseconds.
func (m measurement) cpuPerEvent() float64 {
	return float64(m.cpu) / float64(time.Microsecond) / float64(m.events)
}

// eventsPerSecond is the wall-clock rate of events delivered.
func (m measurement) eventsPerSecond() float64 {
	return float64(m.events) / m.wall.Seconds()
}

// report adds the measurement's metrics to b.
func (m measurement) report(b *testing.B) {
	b.ReportMetric(m.cpuPerEvent(), "cpu-us/event")
	b.ReportMetric(m.eventsPerSecond(), "events/s")
	b.ReportMetric(float64(m.body)/1e6/m.wall.Seconds(), "json-MB/s")
	b.ReportMetric(float64(m.requests)/float64(m.rounds), "requests/op")
	b.ReportMetric(m.fill(), "%fill")
	b.ReportMetric(m.fillMin, "%fill-min")
	b.ReportMetric(100*float64(m.wire)/float64(m.body), "%gzip")
	b.ReportMetric(float64(m.peakRSS)/(1<<20), "peak-RSS-MiB")
}

// BenchmarkHost measures each plugin in its own host process on the same
// chunks: one op flushes hostChunks chunks of hostEvents distinct Keeper
// events. cpu-us/event is the host's CPU time per event: the plugin, its Go
// runtime and collector, TLS, and the host's own reading of the chunk file
// into a fresh buffer (about 0.35 ms for a 1.4 MB chunk: 0.07 us an event,
// in both plugins' numbers). events/s and json-MB/s are wall-clock rates of
// what the emulator accepted, %fill is the mean size of every request but the last of each
// flush in % of 1,000,000 bytes (%fill-min the smallest), %gzip the bytes
// on the wire in % of the JSON.
func BenchmarkHost(b *testing.B) {
	hostBin, ours := hostEnv(b)
	s := azmontest.NewServer(azmontest.Options{CountOnly: true})
	b.Cleanup(s.Close)
	props := keeperProps(s)
	cs := newChunkSet(b, b.TempDir(), hostChunks, hostEvents, newJSONSizer(b, props))
	owner, dir := b, b.TempDir()
	for _, tg := range targets(ours, dir) {
		var h *host // started by the first run, reused by the next ones
		b.Run(tg.name, func(b *testing.B) {
			if h == nil {
				var err error
				if h, err = tg.start(owner, hostBin, props, s, cs); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			m, err := flushRounds(h, s, cs, b.N)
			b.StopTimer()
			if err != nil {
				b.Fatal(err)
			}
			m.report(b)
		})
	}
}

// BenchmarkHostRatio runs both plugins, each in its own host, on the same
// chunks in the same benchmark, alternating: one op is a round of the
// baseline, then a round of keeper_azmon. It reports keeper_azmon's CPU
// time per event and wall-clock rate, the baseline's, and keeper_azmon's
// as ratios to the baseline's: x-less-cpu-than-baseline is baseline CPU /
// keeper_azmon CPU, x-faster-than-baseline is keeper_azmon events/s /
// baseline events/s. (The work is in one sub-benchmark so that the hosts
// start once, not once per b.N tried.)
func BenchmarkHostRatio(b *testing.B) {
	hostBin, ours := hostEnv(b)
	s := azmontest.NewServer(azmontest.Options{CountOnly: true})
	b.Cleanup(s.Close)
	props := keeperProps(s)
	cs := newChunkSet(b, b.TempDir(), hostChunks, hostEvents, newJSONSizer(b, props))
	tgs := targets(ours, b.TempDir())
	owner := b
	var hosts []*host // started by the first run, reused by the next ones
	b.Run("vs_baseline", func(b *testing.B) {
		for _, tg := range tgs[len(hosts):] {
			h, err := tg.start(owner, hostBin, props, s, cs)
			if err != nil {
				b.Fatal(err)
			}
			hosts = append(hosts, h)
		}
		ms := make([]measurement, len(tgs))
		b.ResetTimer()
		for range b.N {
			for i := len(tgs) - 1; i >= 0; i-- { // baseline first
				m, err := flushRounds(hosts[i], s, cs, 1)
				if err != nil {
					b.Fatalf("%s: %v", tgs[i].name, err)
				}
				ms[i].add(m)
			}
		}
		b.StopTimer()
		keeper, base := ms[0], ms[1]
		b.ReportMetric(keeper.cpuPerEvent(), "cpu-us/event")
		b.ReportMetric(base.cpuPerEvent(), "baseline-cpu-us/event")
		b.ReportMetric(float64(base.cpu)/float64(keeper.cpu), "x-less-cpu-than-baseline")
		b.ReportMetric(keeper.eventsPerSecond(), "events/s")
		b.ReportMetric(base.eventsPerSecond(), "baseline-events/s")
		b.ReportMetric(keeper.eventsPerSecond()/base.eventsPerSecond(), "x-faster-than-baseline")
	})
}

// add accumulates another measurement of the same host.
func (m *measurement) add(o measurement) {
	m.rounds += o.rounds
	m.events += o.events
	m.cpu += o.cpu
	m.wall += o.wall
	m.peakRSS = max(m.peakRSS, o.peakRSS)
	m.flushes += o.flushes
	m.requests += o.requests
	m.failed += o.failed
	m.body += o.body
	m.wire += o.wire
	if o.full > 0 && (m.full == 0 || o.fillMin < m.fillMin) {
		m.fillMin = o.fillMin
	}
	m.full += o.full
	m.fillSum += o.fillSum
}
