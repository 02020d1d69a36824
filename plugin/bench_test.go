package plugin

import (
	"io"
	"log/slog"
	"slices"
	"testing"

	"github.com/keeper-azmon/keeper-azmon/azmon/azmontest"
)

// BenchmarkFlush measures a whole flush: convert, cut, gzip and post over
// HTTPS on loopback to the emulator, which checks token, size and gzip but
// does not decode the JSON (CountOnly), so that the numbers are mostly the
// plugin's. It still runs on the same two cores. MB/s counts the JSON
// delivered. The metrics case counts every request and flush into a
// registry, as in Fluent Bit: its cost is per request, not per record.
func BenchmarkFlush(b *testing.B) {
	b.Run("no-metrics", func(b *testing.B) { benchFlush(b, nil) })
	b.Run("metrics", func(b *testing.B) { benchFlush(b, &memoryMetrics{}) })
}

func benchFlush(b *testing.B, m Metrics) {
	s := azmontest.NewServer(azmontest.Options{CountOnly: true})
	defer s.Close()
	in, err := New(emulatorProps(s, "Custom-KeeperLogs_CL", "timeout", "60s"), Options{LogOutput: io.Discard, LogLevel: slog.LevelError, Summary: -1, Metrics: m})
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close()
	const n = 10_000
	chunk := keeperEvents(0, n)
	// Warm up: token, connections, pools.
	if in.Flush(chunk, "keeper") != OK {
		b.Fatal("warm-up flush failed")
	}
	s.Reset()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if in.Flush(chunk, "keeper") != OK {
			b.Fatal("flush failed")
		}
	}
	b.StopTimer()
	reqs := s.Requests()
	var body, wire int
	for _, r := range reqs {
		body += r.BodyBytes
		wire += r.WireBytes
	}
	b.SetBytes(int64(body / b.N))
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
	// Fill of the full requests: every request but the last (smallest) of
	// each flush.
	sizes := make([]int, len(reqs))
	for i, r := range reqs {
		sizes[i] = r.BodyBytes
	}
	slices.Sort(sizes)
	if full := sizes[min(b.N, len(sizes)-1):]; len(full) > 0 {
		b.ReportMetric(float64(full[0])/float64(in.client.MaxRequestBytes())*100, "%min-fill")
	}
	b.ReportMetric(float64(body)/float64(wire), "gzip-ratio")
	b.ReportMetric(float64(len(reqs))/float64(b.N), "requests/flush")
}
