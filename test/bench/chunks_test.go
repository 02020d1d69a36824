package bench

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/keeper-azmon/keeper-azmon/azmon/azmontest"
	"github.com/keeper-azmon/keeper-azmon/convert"
	"github.com/keeper-azmon/keeper-azmon/convert/chunktest"
	"github.com/keeper-azmon/keeper-azmon/plugin"
)

// maxRequestBytes is the request size both plugins cut at: keeper_azmon's
// default max_request_bytes and the baseline's constant.
const maxRequestBytes = 1_000_000

// keeperChunk returns a chunk of n Keeper events in the Fluent Bit 2.1+
// format, shaped like the seed document's five (about ten fields, short
// strings) with varied addresses, users, role ids and times. Chunks with
// different seeds hold different events: every event has its own time.
func keeperChunk(seed uint64, n int) []byte {
	events := chunktest.SeedEvents()
	rng := rand.New(rand.NewPCG(seed, 0x6b656570))
	base := time.Date(2025, 1, 23, 1, 31, 11, 0, time.UTC).Add(time.Duration(seed) * time.Duration(n) * time.Second)
	var b []byte
	for i := range n {
		at := base.Add(time.Duration(i)*time.Second + time.Duration(rng.IntN(1_000_000))*time.Microsecond)
		ev := append(chunktest.Map(nil), events[rng.IntN(len(events))]...)
		for j, kv := range ev {
			switch kv.Key {
			case "remote_address":
				ev[j].Value = fmt.Sprintf("%d.%d.%d.%d", 10+rng.IntN(200), rng.IntN(256), rng.IntN(256), 1+rng.IntN(254))
			case "username":
				ev[j].Value = fmt.Sprintf("user%05d@example.com", rng.IntN(50_000))
			case "enterprise_id":
				ev[j].Value = 6000 + rng.IntN(100)
			case "role_id":
				ev[j].Value = strconv.FormatInt(28162100000000+rng.Int64N(1_000_000), 10)
			case "timestamp":
				ev[j].Value = at.Format("2006-01-02T15:04:05.000Z")
			}
		}
		b = chunktest.AppendEventV2(b, at, chunktest.Map{}, ev)
	}
	return b
}

// keeperProps is the [OUTPUT] configuration both plugins get: the
// emulator's tenant, app, secret, authority, CA and Keeper stream, and
// keeper_azmon's defaults for everything else.
func keeperProps(s *azmontest.Server) map[string]string {
	return map[string]string{
		"tenant_id":      s.Opts.TenantID,
		"client_id":      s.Opts.ClientID,
		"client_secret":  s.Opts.ClientSecret,
		"authority_host": s.AuthorityHost(),
		"endpoint_url":   s.EndpointURL(azmontest.StreamKeeperLogs),
		"ca_file":        s.CAFile,
	}
}

// jsonSizer tells what keeper_azmon will send for a chunk: the records'
// JSON converted exactly as the plugin does with props.
type jsonSizer struct {
	conv *convert.Converter
	recs convert.Records
}

func newJSONSizer(tb testing.TB, props map[string]string) *jsonSizer {
	tb.Helper()
	cfg, err := plugin.ParseConfigEnv(plugin.MapProperties(props), os.Getenv)
	if err != nil {
		tb.Fatal(err)
	}
	return &jsonSizer{conv: convert.New(cfg.Convert)}
}

// size returns the number of records of chunk and their total JSON size.
func (j *jsonSizer) size(tb testing.TB, chunk []byte) (records, bytes int) {
	tb.Helper()
	j.recs.Reset()
	res, err := j.conv.Convert(chunk, &j.recs)
	if err != nil || res.Skipped > 0 {
		tb.Fatalf("convert: %v, %d skipped", err, res.Skipped)
	}
	return j.recs.Len(), j.recs.Size()
}

// chunkSet is a set of chunks written to files for the host to read.
type chunkSet struct {
	files     []string
	events    int // in all the chunks
	jsonBytes int // keeper_azmon's JSON of all the chunks
}

// newChunkSet writes count chunks of n events each into dir.
func newChunkSet(tb testing.TB, dir string, count, n int, sizer *jsonSizer) chunkSet {
	tb.Helper()
	var cs chunkSet
	for i := range count {
		chunk := keeperChunk(uint64(i)+1, n)
		recs, size := sizer.size(tb, chunk)
		cs.events += recs
		cs.jsonBytes += size
		name := filepath.Join(dir, fmt.Sprintf("chunk-%03d.msgpack", i))
		if err := os.WriteFile(name, chunk, 0o600); err != nil {
			tb.Fatal(err)
		}
		cs.files = append(cs.files, name)
	}
	return cs
}

// tally adds up what the emulator logged for a run of flushes.
type tally struct {
	flushes    int
	requests   int
	failed     int   // requests not answered 204
	body, wire int64 // uncompressed JSON and bytes on the wire of accepted requests
	full       int   // requests but the last of each flush
	fillSum    float64
	fillMin    float64 // lowest fill of those, in % of maxRequestBytes
}

// addFlush counts the requests of one flush. The smallest one is taken as
// the flush's last (the remainder); every other one should be nearly full.
func (t *tally) addFlush(reqs []azmontest.Request) {
	t.flushes++
	sizes := make([]int, 0, len(reqs))
	for _, r := range reqs {
		t.requests++
		if r.Status != 204 {
			t.failed++
			continue
		}
		t.body += int64(r.BodyBytes)
		t.wire += int64(r.WireBytes)
		sizes = append(sizes, r.BodyBytes)
	}
	sort.Sort(sort.Reverse(sort.IntSlice(sizes)))
	for _, n := range sizes[:max(len(sizes)-1, 0)] {
		fill := 100 * float64(n) / maxRequestBytes
		if t.full == 0 || fill < t.fillMin {
			t.fillMin = fill
		}
		t.full++
		t.fillSum += fill
	}
}

// fill is the mean fill of the requests but the last of each flush.
func (t *tally) fill() float64 {
	if t.full == 0 {
		return 0
	}
	return t.fillSum / float64(t.full)
}
