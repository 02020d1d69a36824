package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keeper-azmon/keeper-azmon/azmon/azmontest"
)

// TestRSSFlat checks issue 4's "RSS flat across a long run": one host
// process flushes rssFlushes fresh chunks of rssEvents distinct events
// each (every chunk has new content, as Fluent Bit's are), and its resident
// set size at the end is at most rssMaxGrowth above what it was after the
// warm-up. The samples are logged, so that a run shows the curve. Every
// flush must be FLB_OK and must deliver exactly the chunk's JSON: the
// uncompressed bodies the emulator accepted add up to the records' JSON
// plus one comma or bracket per record and one more per request.
func TestRSSFlat(t *testing.T) {
	const (
		rssFlushes   = 300
		rssEvents    = 2_000
		rssWarmUp    = 50 // flushes before the reference sample
		rssEvery     = 25 // flushes between samples
		rssMaxGrowth = 32 << 20
	)
	if testing.Short() {
		t.Skip("a long run")
	}
	hostBin, plugin := hostEnv(t)
	s := azmontest.NewServer(azmontest.Options{CountOnly: true})
	defer s.Close()
	props := keeperProps(s)
	h, err := startHost(t, hostBin, plugin, props)
	if err != nil {
		t.Fatal(err)
	}
	sizer := newJSONSizer(t, props)
	file := filepath.Join(t.TempDir(), "chunk.msgpack")

	var curve []string
	var warm int64
	var flushes tally
	for i := 1; i <= rssFlushes; i++ {
		chunk := keeperChunk(uint64(1000+i), rssEvents)
		records, jsonBytes := sizer.size(t, chunk)
		if err := os.WriteFile(file, chunk, 0o600); err != nil {
			t.Fatal(err)
		}
		rc, err := h.flush(hostTag, file)
		if err != nil {
			t.Fatal(err)
		}
		if rc != flbOK {
			t.Fatalf("flush %d answered %d; log:\n%s", i, rc, h.logTail())
		}
		reqs := s.Requests()
		s.Reset()
		before := flushes
		flushes.addFlush(reqs)
		sent := flushes.body - before.body
		if want := int64(jsonBytes + records + len(reqs)); flushes.failed > 0 || sent != want {
			t.Fatalf("flush %d: %d requests (%d not accepted) carried %d bytes of JSON, want %d (%d records)",
				i, len(reqs), flushes.failed-before.failed, sent, want, records)
		}

		if i%rssEvery != 0 && i != 1 {
			continue
		}
		rss, peak, err := h.memory()
		if err != nil {
			t.Fatal(err)
		}
		curve = append(curve, fmt.Sprintf("%d:%.1f", i, float64(rss)/(1<<20)))
		if i == rssWarmUp {
			warm = rss
		}
		if i == rssFlushes {
			t.Logf("host VmRSS in MiB after flush n (n:MiB): %s; VmHWM %.1f MiB", strings.Join(curve, " "), float64(peak)/(1<<20))
			t.Logf("%d flushes of %d events: %d requests, %.1f MB of JSON; VmRSS %+.1f KiB a flush from flush %d on",
				flushes.flushes, rssEvents, flushes.requests, float64(flushes.body)/1e6,
				float64(rss-warm)/1024/float64(rssFlushes-rssWarmUp), rssWarmUp)
			if growth := rss - warm; growth > rssMaxGrowth {
				t.Errorf("VmRSS grew by %.1f MiB from flush %d to flush %d, want at most %d MiB",
					float64(growth)/(1<<20), rssWarmUp, rssFlushes, rssMaxGrowth>>20)
			}
		}
	}
}
