package convert_test

import (
	"bytes"
	stdgzip "compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"
	"unsafe"

	"github.com/fluent/fluent-bit-go/output"
	kgzip "github.com/klauspost/compress/gzip"

	"github.com/keeper-azmon/keeper-azmon/convert"
	"github.com/keeper-azmon/keeper-azmon/convert/chunktest"
)

// benchRecords is the number of records of the benchmark chunk: Keeper
// events shaped like the seed's five (about 10 fields, short strings) with
// varied addresses, ids, users and times, in the Fluent Bit 2.1+ format
// (about 330 KB of JSON, a typical flush).
const benchRecords = 1000

func benchChunk() []byte {
	seed := chunktest.SeedEvents()
	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2025, 1, 23, 1, 31, 11, 123456789, time.UTC)
	var b []byte
	for i := 0; i < benchRecords; i++ {
		at := base.Add(time.Duration(i)*1733*time.Millisecond + time.Duration(rng.IntN(1000))*time.Microsecond)
		ev := append(chunktest.Map(nil), seed[i%len(seed)]...)
		for j, kv := range ev {
			switch kv.Key {
			case "remote_address":
				ev[j].Value = fmt.Sprintf("%d.%d.%d.%d", 10+rng.IntN(200), rng.IntN(256), rng.IntN(256), 1+rng.IntN(254))
			case "username":
				ev[j].Value = fmt.Sprintf("user%04d@example.com", rng.IntN(5000))
			case "role_id":
				ev[j].Value = strconv.FormatInt(28162100000000+rng.Int64N(1000000), 10)
			case "timestamp":
				ev[j].Value = at.Format("2006-01-02T15:04:05.000Z")
			}
		}
		b = chunktest.AppendEventV2(b, at, chunktest.Map{}, ev)
	}
	return b
}

// keeperJSONSize is the Keeper-shape JSON size of chunk: the byte count
// every benchmark reports MB/s against, so their MB/s compare directly.
func keeperJSONSize(b *testing.B, chunk []byte) int {
	var out convert.Records
	if _, err := convert.New(convert.Options{TimeKey: "timestamp"}).Convert(chunk, &out); err != nil {
		b.Fatal(err)
	}
	return out.Size()
}

// mallocs returns the process's cumulative heap allocation count.
func mallocs() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.Mallocs
}

// meter measures a benchmark loop: wall time, CPU time and allocations.
type meter struct {
	mallocs uint64
	start   time.Time
	cpu     float64
}

func startMeter() meter { return meter{mallocs(), time.Now(), cpuSeconds()} }

// report adds allocs/record, records/s and, where CPU time is measured,
// MB/cpu-s (JSON bytes per CPU second of the whole process, GC included:
// the per-core throughput, robust to a busy machine) and cpu-ns/record (the
// same CPU time per record, to compare shapes whose rows differ in size) to
// a benchmark that
// converted b.N chunks of benchRecords records into jsonBytes each.
func (m meter) report(b *testing.B, jsonBytes int) {
	recs := float64(b.N) * benchRecords
	b.ReportMetric(float64(mallocs()-m.mallocs)/recs, "allocs/record")
	b.ReportMetric(recs/time.Since(m.start).Seconds(), "records/s")
	if cpu := cpuSeconds() - m.cpu; cpu > 0 && m.cpu > 0 {
		b.ReportMetric(float64(b.N)*float64(jsonBytes)/1e6/cpu, "MB/cpu-s")
		b.ReportMetric(cpu*1e9/recs, "cpu-ns/record")
	}
}

// sourceChunk is benchChunk's events as they arrive from Keeper's other
// sources: "syslog-push", as a syslog parser leaves Keeper's Syslog push
// (the event as a JSON string in message, without its timestamp, which is
// in the header's time); "commander-hec", as the splunk input leaves
// Commander's HEC body (Commander's names inside event, the time beside).
func sourceChunk(b *testing.B, source string) []byte {
	var events convert.Records
	if _, err := convert.New(convert.Options{Schema: convert.Raw, TimeKey: "timestamp"}).Convert(benchChunk(), &events); err != nil {
		b.Fatal(err)
	}
	commander := map[string]string{"audit_event": "audit_event_type", "remote_address": "ip_address", "client_version": "keeper_version"}
	var chunk []byte
	for i := 0; i < events.Len(); i++ {
		var ev chunktest.Map
		dec := json.NewDecoder(bytes.NewReader(events.Record(i)))
		dec.UseNumber()
		dec.Token() // {
		var at string
		for dec.More() {
			k, _ := dec.Token()
			var v any
			if err := dec.Decode(&v); err != nil {
				b.Fatal(err)
			}
			switch k {
			case "TimeGenerated", "category", "enterprise_id":
				if k == "TimeGenerated" {
					at = v.(string)
				}
				if source == "syslog-push" && k != "TimeGenerated" {
					ev = append(ev, chunktest.KV{Key: k, Value: v})
				}
				continue
			case "timestamp":
				continue
			}
			if n, ok := v.(json.Number); ok {
				v, _ = n.Int64()
			}
			if name, ok := commander[k.(string)]; ok && source == "commander-hec" {
				k = name
			}
			ev = append(ev, chunktest.KV{Key: k, Value: v})
		}
		when, _ := time.Parse(time.RFC3339, at)
		var body chunktest.Map
		switch source {
		case "syslog-push":
			msg, err := json.Marshal(ev)
			if err != nil {
				b.Fatal(err)
			}
			body = chunktest.M("pri", "165", "time", at, "host", "keepersecurity.com", "ident", "keeper",
				"pid", "-", "msgid", "-", "extradata", "-", "message", string(msg))
		case "commander-hec":
			body = chunktest.M("time", when.Unix(), "host", "cmdr-01", "source", "Example Corp", "sourcetype", "_json", "event", ev)
		}
		chunk = chunktest.AppendEventV2(chunk, when.Add(time.Hour), chunktest.Map{}, body)
	}
	return chunk
}

// BenchmarkConvert measures this package: MB/s of JSON output per core,
// for Keeper's cloud push shape (keeper), the same events as Keeper's
// Syslog push and Commander's HEC export leave them (keeper/syslog-push,
// keeper/commander-hec: recognition and unwrapping), and the raw shape.
func BenchmarkConvert(b *testing.B) {
	keeper := convert.Options{Schema: convert.Keeper, TimeKey: "timestamp"}
	commander := keeper
	commander.EnterpriseID = 6557
	for _, tc := range []struct {
		name  string
		opts  convert.Options
		chunk func() []byte
	}{
		{"keeper", keeper, benchChunk},
		{"keeper/syslog-push", keeper, func() []byte { return sourceChunk(b, "syslog-push") }},
		{"keeper/commander-hec", commander, func() []byte { return sourceChunk(b, "commander-hec") }},
		{"asim", convert.Options{Schema: convert.ASIM, TimeKey: "timestamp"}, benchChunk},
		{"raw", convert.Options{Schema: convert.Raw}, benchChunk},
	} {
		b.Run(tc.name, func(b *testing.B) {
			chunk := tc.chunk()
			c := convert.New(tc.opts)
			var out convert.Records
			if _, err := c.Convert(chunk, &out); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(out.Size()))
			b.ReportAllocs()
			b.ResetTimer()
			m := startMeter()
			for i := 0; i < b.N; i++ {
				out.Reset()
				if _, err := c.Convert(chunk, &out); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			m.report(b, out.Size())
		})
	}
}

// BenchmarkASIMCost measures what a record costs in schema asim against
// schema keeper: each iteration converts the benchmark chunk with both, in
// turn (the order alternating), and asim/keeper is the median of the
// iterations' time ratios. Pairs a millisecond apart see the same machine,
// so this ratio holds still where one of two separate benchmarks' numbers
// moves with the load.
func BenchmarkASIMCost(b *testing.B) {
	chunk := benchChunk()
	converters := [2]*convert.Converter{
		convert.New(convert.Options{Schema: convert.Keeper, TimeKey: "timestamp"}),
		convert.New(convert.Options{Schema: convert.ASIM, TimeKey: "timestamp"}),
	}
	var out convert.Records
	run := func(c *convert.Converter) time.Duration {
		out.Reset()
		start := time.Now()
		if _, err := c.Convert(chunk, &out); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	for _, c := range converters {
		run(c) // warm the encoder pools and buffers
	}
	ratios := make([]float64, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var took [2]time.Duration
		for j := range converters {
			j = (j + i) % 2
			took[j] = run(converters[j])
		}
		ratios = append(ratios, float64(took[1])/float64(took[0]))
	}
	b.StopTimer()
	slices.Sort(ratios)
	b.ReportMetric(ratios[len(ratios)/2], "asim/keeper")
}

// BenchmarkBaseline is what other Go output plugins do: fluent-bit-go's
// decoder, a recursive conversion of map[interface{}]interface{} into
// map[string]interface{}, and encoding/json.Marshal per record. Its MB/s
// is reported against the same byte count as BenchmarkConvert/keeper (the
// Keeper JSON of the chunk), so the two MB/s give the speed ratio.
func BenchmarkBaseline(b *testing.B) {
	chunk := benchChunk()
	size := keeperJSONSize(b, chunk)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	m := startMeter()
	total := 0
	for i := 0; i < b.N; i++ {
		dec := output.NewDecoder(unsafe.Pointer(&chunk[0]), len(chunk))
		for {
			ret, ts, rec := output.GetRecord(dec)
			if ret != 0 {
				break
			}
			var t time.Time
			switch v := ts.(type) {
			case output.FLBTime:
				t = v.Time
			case uint64:
				t = time.Unix(int64(v), 0)
			}
			m := baselineMap(rec)
			m["TimeGenerated"] = t.UTC().Format("2006-01-02T15:04:05.000Z")
			js, err := json.Marshal(m)
			if err != nil {
				b.Fatal(err)
			}
			total += len(js)
		}
	}
	b.StopTimer()
	m.report(b, size)
	if total == 0 {
		b.Fatal("baseline decoded nothing")
	}
}

func baselineMap(in map[interface{}]interface{}) map[string]interface{} {
	out := make(map[string]interface{}, len(in))
	for k, v := range in {
		out[baselineKey(k)] = baselineValue(v)
	}
	return out
}

func baselineKey(k interface{}) string {
	switch k := k.(type) {
	case string:
		return k
	case []byte:
		return string(k)
	}
	return fmt.Sprint(k)
}

func baselineValue(v interface{}) interface{} {
	switch v := v.(type) {
	case []byte:
		return string(v)
	case map[interface{}]interface{}:
		return baselineMap(v)
	case []interface{}:
		out := make([]interface{}, len(v))
		for i, e := range v {
			out[i] = baselineValue(e)
		}
		return out
	}
	return v
}

// gzipWriter is the common face of the two gzip packages.
type gzipWriter interface {
	io.WriteCloser
	Reset(io.Writer)
}

// BenchmarkConvertGzip measures convert + gzip of the records as one JSON
// array into a reused writer, for the choice of compressor and level.
// MB/s is of the JSON; "ratio" is compressed bytes / JSON bytes.
func BenchmarkConvertGzip(b *testing.B) {
	chunk := benchChunk()
	for _, tc := range []struct {
		name string
		w    func() gzipWriter
	}{
		{"stdlib/BestSpeed", func() gzipWriter { w, _ := stdgzip.NewWriterLevel(io.Discard, stdgzip.BestSpeed); return w }},
		{"stdlib/Default", func() gzipWriter { w, _ := stdgzip.NewWriterLevel(io.Discard, stdgzip.DefaultCompression); return w }},
		{"klauspost/BestSpeed", func() gzipWriter { w, _ := kgzip.NewWriterLevel(io.Discard, kgzip.BestSpeed); return w }},
		{"klauspost/Default", func() gzipWriter { w, _ := kgzip.NewWriterLevel(io.Discard, kgzip.DefaultCompression); return w }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			c := convert.New(convert.Options{TimeKey: "timestamp"})
			w := tc.w()
			var out convert.Records
			var zbuf bytes.Buffer
			open, comma, closing := []byte{'['}, []byte{','}, []byte{']'}
			run := func() int {
				out.Reset()
				if _, err := c.Convert(chunk, &out); err != nil {
					b.Fatal(err)
				}
				zbuf.Reset()
				w.Reset(&zbuf)
				sep := open
				for i := 0; i < out.Len(); i++ {
					w.Write(sep)
					w.Write(out.Record(i))
					sep = comma
				}
				w.Write(closing)
				if err := w.Close(); err != nil {
					b.Fatal(err)
				}
				return out.Size() + out.Len() + 1
			}
			jsonBytes := run()
			b.SetBytes(int64(jsonBytes))
			b.ReportAllocs()
			b.ResetTimer()
			m := startMeter()
			for i := 0; i < b.N; i++ {
				run()
			}
			b.StopTimer()
			m.report(b, jsonBytes)
			b.ReportMetric(float64(zbuf.Len())/float64(jsonBytes), "ratio")
		})
	}
}
