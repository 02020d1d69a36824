package bench

import (
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/keeper-azmon/keeper-azmon/azmon/azmontest"
	"github.com/keeper-azmon/keeper-azmon/plugin"
)

// maxPeakHeapRatio is issue 4's bound: a flush's peak heap is at most this
// many times the chunk's JSON size.
const maxPeakHeapRatio = 4

// heapReader reads the heap in use (runtime.MemStats.HeapInuse: spans
// holding live or not yet swept objects, with their free slots) without
// stopping the world and without allocating.
type heapReader []metrics.Sample

func newHeapReader() heapReader {
	return heapReader{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
	}
}

func (r heapReader) inUse() uint64 {
	metrics.Read(r)
	return r[0].Value.Uint64() + r[1].Value.Uint64()
}

// heapPeak is what one flush did to the heap.
type heapPeak struct {
	base uint64 // heap in use before the flush, after a full collection
	peak uint64 // the highest heap in use seen during the flush
}

// rise is how far the flush took the heap above where it started.
func (p heapPeak) rise() uint64 { return p.peak - p.base }

// flushPeak flushes chunk into in, starting from a collected heap with the
// instance's and the client's buffer pools emptied (two collections), as
// after an idle spell, and samples the heap in use every 100µs while the
// flush runs.
func flushPeak(tb testing.TB, in *plugin.Instance, chunk []byte) heapPeak {
	tb.Helper()
	runtime.GC()
	runtime.GC()
	r := newHeapReader()
	p := heapPeak{base: r.inUse()}
	stop, peak := make(chan struct{}), make(chan uint64)
	go func() {
		r := newHeapReader()
		tick := time.NewTicker(100 * time.Microsecond)
		defer tick.Stop()
		var top uint64
		for {
			if v := r.inUse(); v > top {
				top = v
			}
			select {
			case <-stop:
				peak <- top
				return
			case <-tick.C:
			}
		}
	}()
	code := in.Flush(chunk, hostTag)
	close(stop)
	p.peak = max(<-peak, r.inUse(), p.base)
	if code != plugin.OK {
		tb.Fatalf("flush answered %d", code)
	}
	return p
}

// newInstance builds a keeper_azmon instance in this process with props
// and warms it up (token, connections).
func newInstance(tb testing.TB, props map[string]string) *plugin.Instance {
	tb.Helper()
	in, err := plugin.New(plugin.MapProperties(props), plugin.Options{ID: "keeper_azmon.bench", LogOutput: io.Discard, LogLevel: slog.LevelError, Summary: -1})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(in.Close)
	if code := in.Flush(keeperChunk(0, 100), hostTag); code != plugin.OK {
		tb.Fatalf("warm-up flush answered %d", code)
	}
	return in
}

// BenchmarkFlushPeakHeap measures, in process (plugin.New and
// Instance.Flush, no host), how far one flush raises the heap in use above
// a collected heap, for chunks of several sizes, with the chunk outside the
// Go heap as in Fluent Bit: peak-heap/json is the highest rise over the
// runs divided by the chunk's Keeper JSON size (issue 4: at most 4),
// peak-heap-MiB the rise itself. The emulator runs in a child process
// (emulator=process: the plugin's heap alone) or in this one
// (emulator=inproc: its buffers of up to about 2.5 MiB a request count too).
func BenchmarkFlushPeakHeap(b *testing.B) {
	for _, emu := range []struct {
		name  string
		props func(testing.TB) map[string]string
	}{
		{"process", startEmulatorProcess},
		{"inproc", func(tb testing.TB) map[string]string {
			s := azmontest.NewServer(azmontest.Options{CountOnly: true})
			tb.Cleanup(s.Close)
			return keeperProps(s)
		}},
	} {
		b.Run("emulator="+emu.name, func(b *testing.B) {
			props := emu.props(b)
			in := newInstance(b, props)
			for _, events := range []int{1_000, 5_000, 20_000} {
				chunk, jsonBytes := heapChunk(b, props, 7, events)
				b.Run(fmt.Sprintf("events=%d", events), func(b *testing.B) {
					b.SetBytes(int64(jsonBytes))
					var worst uint64
					for range b.N {
						worst = max(worst, flushPeak(b, in, chunk).rise())
					}
					b.ReportMetric(float64(worst)/float64(jsonBytes), "peak-heap/json")
					b.ReportMetric(float64(worst)/(1<<20), "peak-heap-MiB")
					b.ReportMetric(float64(jsonBytes)/(1<<20), "json-MiB")
				})
			}
		})
	}
}

// TestFlushPeakHeap checks issue 4's memory bound on a large chunk (20,000
// events, about 7 MiB of JSON, eight requests): no flush raises the heap in
// use by more than 4x the chunk's JSON size. The emulator runs in a child
// process and the chunk lies outside the Go heap, so that the heap holds
// the plugin and little else.
func TestFlushPeakHeap(t *testing.T) {
	props := startEmulatorProcess(t)
	in := newInstance(t, props)
	chunk, jsonBytes := heapChunk(t, props, 11, 20_000)
	for i := range 3 {
		p := flushPeak(t, in, chunk)
		ratio := float64(p.rise()) / float64(jsonBytes)
		t.Logf("flush %d: heap in use %.1f MiB before, peak %.1f MiB: +%.1f MiB = %.2fx the %.1f MiB of JSON",
			i+1, mib(p.base), mib(p.peak), mib(p.rise()), ratio, mib(uint64(jsonBytes)))
		if ratio > maxPeakHeapRatio {
			t.Errorf("flush %d raised the heap by %.2fx the chunk's JSON size, want at most %dx", i+1, ratio, maxPeakHeapRatio)
		}
	}
}

// heapChunk returns a chunk of keeperChunk(seed, events) outside the Go
// heap, and the size of its JSON as keeper_azmon converts it with props.
// It keeps nothing else alive: the live heap sets the collector's pace, and
// so how far a flush's garbage can take the heap before it is collected.
func heapChunk(tb testing.TB, props map[string]string, seed uint64, events int) (chunk []byte, jsonBytes int) {
	tb.Helper()
	chunk = keeperChunk(seed, events)
	_, jsonBytes = newJSONSizer(tb, props).size(tb, chunk)
	return offHeap(tb, chunk), jsonBytes
}

func mib(n uint64) float64 { return float64(n) / (1 << 20) }
