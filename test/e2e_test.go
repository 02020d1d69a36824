package test

// End-to-end tests: the built out_keeper_azmon.so, loaded by test/flbhost
// through Fluent Bit's Go-proxy ABI, sending to the azmontest emulator.
// Each test checks what an operator would check in the table.

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/keeper-azmon/keeper-azmon/azmon/azmontest"
)

const (
	streamKeeper      = "Custom-KeeperLogs_CL"
	streamMarketplace = "Custom-KeeperSecurityEventNewLogs"
	streamRaw         = "Custom-Raw_CL"

	maxBody = 1048576 // the service's limit on one call
	tag     = "keeper.aram"
)

// newSecret is a client secret recognisable anywhere it might leak.
func newSecret() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "Kpr~S3cret.DoNotLog_" + hex.EncodeToString(b)
}

// setup starts an emulator (with a recognisable client secret) and a host
// with the plugin registered. Both stop when the test ends.
func setup(t *testing.T, opts azmontest.Options) (*azmontest.Server, *host) {
	t.Helper()
	if opts.ClientSecret == "" {
		opts.ClientSecret = newSecret()
	}
	s := azmontest.NewServer(opts)
	t.Cleanup(s.Close)
	h := startHost(t)
	h.forbid(s.Opts.ClientSecret)
	if r := h.register(); r.rc != 0 || r.name != "keeper_azmon" {
		t.Fatalf("register: %q", r.answer)
	}
	return s, h
}

// unset removes a property in props().
const unset = "\x00unset"

// props is a working configuration for stream on s, changed by overrides
// (a value of unset removes the property).
func props(s *azmontest.Server, stream string, overrides ...prop) []prop {
	ps := []prop{
		{"tenant_id", s.Opts.TenantID},
		{"client_id", s.Opts.ClientID},
		{"client_secret", s.Opts.ClientSecret},
		{"endpoint_url", s.EndpointURL(stream)},
		{"authority_host", s.AuthorityHost()},
		{"ca_file", s.CAFile},
	}
	for _, o := range overrides {
		found := false
		for i := range ps {
			if strings.EqualFold(ps[i].key, o.key) {
				ps[i].val = o.val
				found = true
			}
		}
		if !found {
			ps = append(ps, o)
		}
	}
	out := ps[:0]
	for _, p := range ps {
		if p.val != unset {
			out = append(out, p)
		}
	}
	return out
}

// okRequests are the requests the service accepted.
func okRequests(s *azmontest.Server) []azmontest.Request {
	var out []azmontest.Request
	for _, r := range s.Requests() {
		if r.Status == http.StatusNoContent {
			out = append(out, r)
		}
	}
	return out
}

func statuses(reqs []azmontest.Request) string {
	var b strings.Builder
	for i, r := range reqs {
		if i > 0 {
			b.WriteByte(' ')
		}
		if r.Status == 0 {
			b.WriteString(r.Err)
		} else {
			fmt.Fprint(&b, r.Status)
		}
	}
	return b.String()
}

func wantRCs(t *testing.T, what string, got []int, want ...int) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s: flush results %s, want %s", what, rcNames(got), rcNames(want))
	}
}

func rcNames(rcs []int) string {
	names := make([]string, len(rcs))
	for i, rc := range rcs {
		names[i] = rcName(rc)
	}
	return "[" + strings.Join(names, " ") + "]"
}

// compareRows requires got to equal want as a multiset of rows.
func compareRows(t *testing.T, got []map[string]any, want []object) {
	t.Helper()
	var g, w []string
	for _, r := range got {
		g = append(g, canonical(r))
	}
	for _, o := range want {
		w = append(w, canonical(toPlain(o)))
	}
	sort.Strings(g)
	sort.Strings(w)
	if len(g) != len(w) {
		t.Errorf("%d rows, want %d", len(g), len(w))
	}
	for i := 0; i < len(g) || i < len(w); i++ {
		var gi, wi string
		if i < len(g) {
			gi = g[i]
		}
		if i < len(w) {
			wi = w[i]
		}
		if gi != wi {
			t.Errorf("row mismatch (sorted #%d):\n got: %s\nwant: %s", i, gi, wi)
		}
	}
}

// 1. The plugin registers as keeper_azmon, a Go output plugin.
func TestRegister(t *testing.T) {
	h := startHost(t)
	r := h.register()
	if r.rc != 0 {
		t.Errorf("FLBPluginRegister returned %d, want 0", r.rc)
	}
	if r.name != "keeper_azmon" {
		t.Errorf("registered name %q, want keeper_azmon", r.name)
	}
	if r.typ != 2 || r.proxy != 11 {
		t.Errorf("type %d proxy %d, want 2 (FLB_PROXY_OUTPUT_PLUGIN) and 11 (FLB_PROXY_GOLANG)", r.typ, r.proxy)
	}
	h.ok("unregister")
}

// 2. The seed's sample events, in every record format Fluent Bit hands
// over, become exactly the rows of the seed's KeeperLogs_CL table (and of
// the Marketplace stream, which has the same columns).
func TestKeeperSeedEvents(t *testing.T) {
	s, h := setup(t, azmontest.Options{})
	events := keeperEvents(t)
	want := keeperExpected(t)
	if len(events) != 8 || len(want) != 8 {
		t.Fatalf("fixtures: %d events, %d expected rows", len(events), len(want))
	}
	allFormats := append(append([]eventFormat(nil), formats()...),
		eventFormat{"v1-int-seconds", appendEventV1Int},
		eventFormat{"v1-float-seconds", appendEventV1Float},
	)
	n := 0
	for _, stream := range []string{streamKeeper, streamMarketplace} {
		for _, f := range allFormats {
			t.Run(stream+"/"+f.name, func(t *testing.T) {
				s.Reset()
				n++
				id := fmt.Sprintf("seed%d", n)
				h.mustInstance(id, props(s, stream))
				if rc := h.flush(id, tag, chunkOf(f, events)); rc != flbOK {
					t.Fatalf("flush: %s, want FLB_OK", rcName(rc))
				}
				compareRows(t, s.Rows(stream), want)
				if m := s.TypeMismatches(); m != 0 {
					t.Errorf("%d values did not fit their column's type", m)
				}
				h.ints("exitctx " + id)
			})
		}
	}
}

// 2b. The keeper shape's rules beyond the seed: timestamps normalised to
// UTC, an unparseable one kept in data, Fluent Bit's time when there is
// none, an existing data map merged, values JSON cannot spell still
// delivered, OTLP group markers skipped.
func TestKeeperShapeEdges(t *testing.T) {
	s, h := setup(t, azmontest.Options{})
	h.mustInstance("k", props(s, streamKeeper))
	base := object{
		{"audit_event", "login"},
		{"remote_address", "10.1.2.3"},
		{"category", "login"},
		{"client_version", "Web Vault.17.1.3"},
		{"username", "ana@keeper-demo.example"},
		{"enterprise_id", int64(6557)},
	}
	noTS := time.Date(2025, 2, 1, 10, 4, 2, 123456789, time.UTC) // eventTime() of an event without a usable timestamp
	cases := []struct {
		name string
		in   object
		want object
	}{
		{
			name: "timestamp with an offset becomes UTC",
			in:   base.with("timestamp", "2025-01-12T01:03:44.743+01:00").with("record_uid", "e1"),
			want: base.with("TimeGenerated", "2025-01-12T00:03:44.743Z").with("timestamp", "2025-01-12T00:03:44.743Z").
				with("data", object{{"record_uid", "e1"}}),
		},
		{
			name: "unparseable timestamp moves into data, TimeGenerated and timestamp from Fluent Bit",
			in:   base.with("timestamp", "yesterday").with("record_uid", "e2"),
			want: base.with("TimeGenerated", noTS.Format("2006-01-02T15:04:05.000Z")).with("timestamp", noTS.Format("2006-01-02T15:04:05.000Z")).
				with("data", object{{"timestamp", "yesterday"}, {"record_uid", "e2"}}),
		},
		{
			name: "no timestamp: TimeGenerated and timestamp from Fluent Bit",
			in:   base.with("record_uid", "e3"),
			want: base.with("TimeGenerated", noTS.Format("2006-01-02T15:04:05.000Z")).with("timestamp", noTS.Format("2006-01-02T15:04:05.000Z")).
				with("data", object{{"record_uid", "e3"}}),
		},
		{
			name: "existing data map merged with the other fields",
			in: base.with("timestamp", "2025-01-23T01:31:11.123Z").
				with("data", object{{"node_id", "abc12345"}, {"some_flag", true}}).with("record_uid", "e4"),
			want: base.with("TimeGenerated", "2025-01-23T01:31:11.123Z").with("timestamp", "2025-01-23T01:31:11.123Z").
				with("data", object{{"node_id", "abc12345"}, {"some_flag", true}, {"record_uid", "e4"}}),
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s.Reset()
			if rc := h.flush("k", tag, chunkV2([]object{c.in})); rc != flbOK {
				t.Fatalf("flush: %s, want FLB_OK", rcName(rc))
			}
			compareRows(t, s.Rows(streamKeeper), []object{c.want})
		})
	}

	t.Run("NaN, Inf, binary and integer map keys are still delivered", func(t *testing.T) {
		s.Reset()
		evs := []object{nonFinite("nf-1"), genEvents("nf", 1, 3)[0]}
		if rc := h.flush("k", tag, chunkV2(evs)); rc != flbOK {
			t.Fatalf("flush: %s, want FLB_OK", rcName(rc))
		}
		checkExactlyOnce(t, s.Rows(streamKeeper), []string{"nf-1", "nf-000000"})
	})

	t.Run("OTLP group markers are not records", func(t *testing.T) {
		s.Reset()
		evs := genEvents("grp", 5, 4)
		b := appendGroupMarker(nil, true)
		b = append(b, chunkV2(evs[:3])...)
		b = appendGroupMarker(b, false)
		b = appendGroupMarker(b, true)
		b = append(b, chunkV2(evs[3:])...)
		b = appendGroupMarker(b, false)
		if rc := h.flush("k", tag, b); rc != flbOK {
			t.Fatalf("flush: %s, want FLB_OK", rcName(rc))
		}
		checkExactlyOnce(t, s.Rows(streamKeeper), idsOf(evs))
	})
}

// 3. A chunk far over 1 MiB of JSON is cut into requests under the limit,
// every event arrives once, gzip by default and plain with compress none.
func TestLargeChunk(t *testing.T) {
	events := genEvents("large", 12000, 1)
	size := jsonSize(events)
	if size < 3<<20 {
		t.Fatalf("fixture: %d bytes of JSON, want > 3 MiB", size)
	}
	chunk := chunkV2(events)
	cases := []struct {
		name     string
		extra    []prop
		maxBytes int
		gzip     bool
	}{
		{"defaults", nil, 1000000, true},
		{"compress none, max_request_bytes 300000", []prop{{"compress", "none"}, {"max_request_bytes", "300000"}}, 300000, false},
		{"max_request_bytes at the service limit", []prop{{"max_request_bytes", "1048576"}}, maxBody, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, h := setup(t, azmontest.Options{})
			h.mustInstance("big", props(s, streamKeeper, c.extra...))
			// No fault is injected, but a loaded machine may still hit the
			// flush timeout: Fluent Bit would flush the chunk again.
			rcs := h.flushUntilDone("big", tag, chunk, 3)
			if rcs[len(rcs)-1] != flbOK {
				t.Fatalf("flushes: %s, want FLB_OK; requests: %s", rcNames(rcs), statuses(s.Requests()))
			}
			if len(rcs) > 1 {
				t.Logf("flushes: %s (the machine is slow?)", rcNames(rcs))
			}
			checkExactlyOnce(t, s.Rows(streamKeeper), idsOf(events))
			reqs := s.Requests()
			body := 0
			for i, r := range reqs {
				if r.Status != http.StatusNoContent && r.Err != "canceled" {
					t.Errorf("request %d: status %d %s (no fault was injected)", i, r.Status, r.Err)
				}
				if r.BodyBytes > maxBody || r.BodyBytes > c.maxBytes {
					t.Errorf("request %d: %d bytes of JSON, over the limit %d", i, r.BodyBytes, min(maxBody, c.maxBytes))
				}
				if r.Gzip != c.gzip {
					t.Errorf("request %d: gzip %v, want %v", i, r.Gzip, c.gzip)
				}
				if c.gzip && r.WireBytes >= r.BodyBytes {
					t.Errorf("request %d: %d bytes on the wire for %d of JSON: not compressed", i, r.WireBytes, r.BodyBytes)
				}
				if !c.gzip && r.WireBytes != r.BodyBytes {
					t.Errorf("request %d: %d bytes on the wire for %d of JSON", i, r.WireBytes, r.BodyBytes)
				}
				if r.APIVersion != "2023-01-01" {
					t.Errorf("request %d: api-version %q, want 2023-01-01", i, r.APIVersion)
				}
			}
			// Requests should be well filled: the service counts calls too.
			ok := okRequests(s)
			for _, r := range ok {
				body += r.BodyBytes
			}
			if limit := body/(c.maxBytes/2) + 1; len(ok) > limit {
				t.Errorf("%d requests for %d bytes of JSON under a %d-byte cap, want at most %d", len(ok), body, c.maxBytes, limit)
			}
		})
	}
}

// 4. Several [OUTPUT] instances of the plugin in one Fluent Bit share one
// Go runtime; each sends its own records to its own stream in its own
// shape. The three ways to name the stream are used.
func TestInstancesAreSeparate(t *testing.T) {
	s, h := setup(t, azmontest.Options{})
	a := genEvents("inst-a", 300, 11)
	b := genEvents("inst-b", 200, 12)
	c := genEvents("inst-c", 100, 13)
	h.mustInstance("a", props(s, streamKeeper))
	h.mustInstance("b", props(s, streamMarketplace,
		prop{"endpoint_url", unset},
		prop{"dce_url", s.DCEURL()},
		prop{"dcr_id", s.Opts.DCRID},
		prop{"stream_name", streamMarketplace}))
	h.mustInstance("c", props(s, streamRaw,
		prop{"endpoint_url", unset},
		prop{"dce_url", s.DCEURL()},
		prop{"dcr_id", s.Opts.DCRID},
		prop{"table_name", "Raw_CL"},
		prop{"schema", "raw"},
		prop{"compress", "none"}))
	// Interleaved, as Fluent Bit's scheduler would flush them.
	for i := 0; i < 2; i++ {
		for _, x := range []struct {
			id  string
			evs []object
		}{{"a", a}, {"b", b}, {"c", c}} {
			half := len(x.evs) / 2
			part := x.evs[i*half : (i+1)*half]
			if rc := h.flush(x.id, "keeper."+x.id, chunkV2(part)); rc != flbOK {
				t.Fatalf("flush %s: %s, want FLB_OK", x.id, rcName(rc))
			}
		}
	}
	checkExactlyOnce(t, s.Rows(streamKeeper), idsOf(a))
	checkExactlyOnce(t, s.Rows(streamMarketplace), idsOf(b))
	raw := s.Rows(streamRaw)
	checkExactlyOnce(t, raw, idsOf(c))

	// The raw shape is the record as it was, plus TimeGenerated from
	// Fluent Bit's time (no time_key by default).
	byID := map[string]object{}
	for _, ev := range c {
		byID[ev.str("record_uid")] = ev
	}
	for i, row := range raw {
		ev, ok := byID[eventID(row)]
		if !ok {
			continue
		}
		tg, _ := row["TimeGenerated"].(string)
		got, err := time.Parse(time.RFC3339Nano, tg)
		if d := got.Sub(eventTime(ev)); err != nil || d < -time.Millisecond || d > time.Millisecond {
			t.Errorf("raw row %d: TimeGenerated %q, want Fluent Bit's time %s", i, tg, eventTime(ev).Format(time.RFC3339Nano))
		}
		rest := make(map[string]any, len(row))
		for k, v := range row {
			if k != "TimeGenerated" {
				rest[k] = v
			}
		}
		if g, w := canonical(rest), canonical(toPlain(ev)); g != w {
			t.Errorf("raw row %d is not the record as is:\n got: %s\nwant: %s", i, g, w)
		}
	}
	for i, r := range s.Requests() {
		if want := r.Stream != streamRaw; r.Gzip != want {
			t.Errorf("request %d to %s: gzip %v, want %v (instance c has compress none)", i, r.Stream, r.Gzip, want)
		}
	}
}

// 5. With Fluent Bit `workers`, flushes of one instance run at once.
func TestConcurrentFlushes(t *testing.T) {
	s, h := setup(t, azmontest.Options{})
	h.mustInstance("w", props(s, streamKeeper, prop{"max_request_bytes", "65536"}))
	events := genEvents("workers", 4000, 21)
	chunks := splitChunks(formats()[0], events, 1000)
	rcs := h.pflush("w", tag, chunks...)
	wantRCs(t, "pflush", rcs, flbOK, flbOK, flbOK, flbOK)
	checkExactlyOnce(t, s.Rows(streamKeeper), idsOf(events))
	for i, r := range s.Requests() {
		if r.BodyBytes > 65536 {
			t.Errorf("request %d: %d bytes of JSON, over max_request_bytes 65536", i, r.BodyBytes)
		}
	}
}

// 6. A wrong configuration fails FLBPluginInit with one log line naming
// the property, and the client secret never shows up in the log.
func TestInitFailures(t *testing.T) {
	s, h := setup(t, azmontest.Options{})
	cases := []struct {
		name     string
		props    []prop
		property string // "" = init must succeed
	}{
		{"missing tenant_id", props(s, streamKeeper, prop{"tenant_id", unset}), "tenant_id"},
		{"empty tenant_id", props(s, streamKeeper, prop{"tenant_id", ""}), "tenant_id"},
		{"missing client_id", props(s, streamKeeper, prop{"client_id", unset}), "client_id"},
		{"endpoint_url not a URL", props(s, streamKeeper, prop{"endpoint_url", "not a url"}), "endpoint_url"},
		{"endpoint_url without a stream", props(s, streamKeeper, prop{"endpoint_url", s.URL + "/dataCollectionRules/" + s.Opts.DCRID + "?api-version=2023-01-01"}), "endpoint_url"},
		{"no endpoint at all", props(s, streamKeeper, prop{"endpoint_url", unset}), "endpoint_url"},
		{"dce_url without dcr_id", props(s, streamKeeper, prop{"endpoint_url", unset}, prop{"dce_url", s.DCEURL()}, prop{"stream_name", streamKeeper}), "dcr_id"},
		{"unknown schema", props(s, streamKeeper, prop{"schema", "xml"}), "schema"},
		{"max_request_bytes over 1 MiB", props(s, streamKeeper, prop{"max_request_bytes", "2000000"}), "max_request_bytes"},
		{"max_request_bytes not a number", props(s, streamKeeper, prop{"max_request_bytes", "1MB"}), "max_request_bytes"},
		{"unknown cloud", props(s, streamKeeper, prop{"cloud", "mars"}), "cloud"},
		{"unknown compress", props(s, streamKeeper, prop{"compress", "brotli"}), "compress"},
		{"bad timeout", props(s, streamKeeper, prop{"timeout", "soon"}), "timeout"},
		{"max_concurrency 0", props(s, streamKeeper, prop{"max_concurrency", "0"}), "max_concurrency"},
		{"unknown auth", props(s, streamKeeper, prop{"auth", "kerberos"}), "auth"},
		{"missing ca_file", props(s, streamKeeper, prop{"ca_file", "/nonexistent/ca.pem"}), "ca_file"},
		// The boundaries that must work.
		{"max_request_bytes exactly 1 MiB", props(s, streamKeeper, prop{"max_request_bytes", "1048576"}), ""},
		{"property names in any case", upper(props(s, streamKeeper)), ""},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mark := h.logMark()
			rc := h.newInstance(fmt.Sprintf("cfg%d", i), c.props)
			log := h.logSince(mark)
			if c.property == "" {
				if rc != flbOK {
					t.Fatalf("init: %d, want 1 (FLB_OK); log:\n%s", rc, log)
				}
				return
			}
			if rc != flbError {
				t.Fatalf("init: %d, want 0; log:\n%s", rc, log)
			}
			lines := nonEmptyLines(log)
			if len(lines) != 1 {
				t.Errorf("init failure wrote %d log lines, want 1:\n%s", len(lines), log)
			}
			if !strings.Contains(log, c.property) {
				t.Errorf("init failure log does not name %s:\n%s", c.property, log)
			}
		})
	}
	h.syncLog()
	h.checkSecrets()
}

func upper(ps []prop) []prop {
	out := make([]prop, len(ps))
	for i, p := range ps {
		out[i] = prop{strings.ToUpper(p.key), p.val}
	}
	return out
}

func nonEmptyLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

// 7. Faults: what comes back to Fluent Bit, and that nothing is lost or
// sent twice when Fluent Bit flushes the chunk again.
func TestFaults(t *testing.T) {
	type run struct {
		t      *testing.T
		s      *azmontest.Server
		h      *host
		events []object
		chunk  []byte
		mark   int   // where this case's log starts
		rcs    []int // the flush results
	}
	cases := []struct {
		name   string
		n      int
		extra  []prop
		before func(r *run)
		// want: the flush results expected while the chunk is flushed
		// again after FLB_RETRY (nil: any number of FLB_RETRY, then FLB_OK).
		want []int
		// wantIDs: the events expected in the table; nil = all, once each.
		wantIDs func(r *run) []string
		// optional: events that may be in the table, at most once.
		optional []string
		after    func(r *run)
	}{
		{
			name: "500 until the service recovers, then the reflush delivers",
			n:    50,
			before: func(r *run) {
				r.s.SetFaultMix(azmontest.FaultMix{P500: 1}, 1)
				rc := r.h.flush("f", tag, r.chunk)
				if rc != flbRetry {
					r.t.Errorf("first flush against a failing service: %s, want FLB_RETRY", rcName(rc))
				}
				if n := len(r.s.Rows(streamKeeper)); n != 0 {
					r.t.Errorf("%d rows stored by a failing service", n)
				}
				r.s.SetFaultMix(azmontest.FaultMix{}, 0)
			},
			want: []int{flbOK},
		},
		{
			name: "500 once, then pass",
			n:    50,
			before: func(r *run) {
				r.s.Script(azmontest.Fault{Status: 500}, azmontest.Fault{})
			},
			after: func(r *run) { wantStatusSeen(r.t, r.s, 500) },
		},
		{
			name:  "requests that succeeded are not sent again",
			n:     400,
			extra: []prop{{"max_request_bytes", "16384"}, {"max_concurrency", "1"}},
			before: func(r *run) {
				// Two requests pass, then the service fails until told otherwise.
				r.s.Script(azmontest.Fault{}, azmontest.Fault{})
				r.s.SetFaultMix(azmontest.FaultMix{P500: 1}, 1)
				rc := r.h.flush("f", tag, r.chunk)
				if rc != flbRetry {
					r.t.Errorf("first flush: %s, want FLB_RETRY", rcName(rc))
				}
				if got := len(r.s.Rows(streamKeeper)); got == 0 || got >= len(r.events) {
					r.t.Errorf("after the first flush %d of %d rows are stored, want some", got, len(r.events))
				}
				r.s.SetFaultMix(azmontest.FaultMix{}, 0)
			},
			want: []int{flbOK},
			after: func(r *run) {
				sent := 0
				for _, q := range okRequests(r.s) {
					sent += q.Records
				}
				if sent != len(r.events) {
					r.t.Errorf("accepted requests carried %d records for %d events: succeeded requests were sent again", sent, len(r.events))
				}
			},
		},
		{
			name:   "503 with Retry-After",
			n:      50,
			before: func(r *run) { r.s.Script(azmontest.Fault{Status: 503, RetryAfter: time.Second}) },
			after:  func(r *run) { wantStatusSeen(r.t, r.s, 503) },
		},
		{
			name:   "429 with Retry-After",
			n:      50,
			before: func(r *run) { r.s.Script(azmontest.Fault{Status: 429, RetryAfter: time.Second}) },
			after:  func(r *run) { wantStatusSeen(r.t, r.s, 429) },
		},
		{
			name:   "408",
			n:      50,
			before: func(r *run) { r.s.Script(azmontest.Fault{Status: 408}) },
			after:  func(r *run) { wantStatusSeen(r.t, r.s, 408) },
		},
		{
			name:   "connection reset",
			n:      50,
			before: func(r *run) { r.s.Script(azmontest.Fault{Reset: true}) },
		},
		{
			name:   "403: role not assigned yet",
			n:      50,
			before: func(r *run) { r.s.Script(azmontest.Fault{Status: 403}) },
			want:   []int{flbRetry, flbOK},
		},
		{
			name:   "404: DCR not propagated yet",
			n:      50,
			before: func(r *run) { r.s.Script(azmontest.Fault{Status: 404}) },
			want:   []int{flbRetry, flbOK},
		},
		{
			name:   "401 once: one token refresh, then OK",
			n:      50,
			before: func(r *run) { r.s.Script(azmontest.Fault{Status: 401}) },
			want:   []int{flbOK},
			after: func(r *run) {
				if n := r.s.TokenRequests(); n < 2 {
					r.t.Errorf("%d token requests, want a refresh after the 401", n)
				}
			},
		},
		{
			name:   "401 twice: FLB_RETRY after one refresh",
			n:      50,
			before: func(r *run) { r.s.Script(azmontest.Fault{Status: 401}, azmontest.Fault{Status: 401}) },
			want:   []int{flbRetry, flbOK},
		},
		{
			name: "revoked token",
			n:    50,
			before: func(r *run) {
				first := genEvents("faults-pre", 10, 5)
				if rc := r.h.flush("f", tag, chunkV2(first)); rc != flbOK {
					r.t.Fatalf("first chunk: %s", rcName(rc))
				}
				r.events = append(first, r.events...)
				r.s.RevokeTokens()
			},
			want: []int{flbOK},
			after: func(r *run) {
				if n := r.s.TokenRequests(); n < 2 {
					r.t.Errorf("%d token requests, want a new token after revocation", n)
				}
			},
		},
		{
			name:  "timeout: a hung request is abandoned and retried",
			n:     50,
			extra: []prop{{"timeout", "2s"}},
			before: func(r *run) {
				r.s.Script(azmontest.Fault{Delay: 30 * time.Second})
			},
			// A slow machine may time out the reflush too: any number
			// of FLB_RETRY, then FLB_OK, as long as the first is a retry.
			after: func(r *run) {
				if r.rcs[0] != flbRetry {
					r.t.Errorf("first flush: %s, want FLB_RETRY", rcName(r.rcs[0]))
				}
			},
		},
		{
			name:   "413: the request is split and delivered",
			n:      200,
			before: func(r *run) { r.s.Script(azmontest.Fault{Status: 413, Code: "ContentLengthLimitExceeded"}) },
			want:   []int{flbOK},
			after: func(r *run) {
				wantStatusSeen(r.t, r.s, 413)
				if n := len(okRequests(r.s)); n < 2 {
					r.t.Errorf("%d accepted requests after a 413, want the request split", n)
				}
			},
		},
		{
			name: "400 for one bad record: only that record is dropped",
			n:    100,
			before: func(r *run) {
				r.s.RejectRecords(func(row map[string]any) bool { return eventID(row) == "faults-000042" })
			},
			want: []int{flbOK},
			wantIDs: func(r *run) []string {
				var ids []string
				for _, id := range idsOf(r.events) {
					if id != "faults-000042" {
						ids = append(ids, id)
					}
				}
				return ids
			},
			after: func(r *run) { wantLogged(r.t, r.h, r.mark, "a dropped record") },
		},
		{
			name: "a single record over 1 MiB is dropped, the rest delivered",
			n:    20,
			before: func(r *run) {
				// Twenty fields of 60,000 bytes: each under any per-field
				// cap, together over the service's limit.
				big := genEvents("faults-big", 1, 9)[0]
				for i := 0; i < 20; i++ {
					big = big.with(fmt.Sprintf("blob%02d", i), strings.Repeat("x", 60000))
				}
				r.events = append(r.events[:10:10], append([]object{big}, r.events[10:]...)...)
				r.chunk = chunkV2(r.events)
			},
			want:    []int{flbOK},
			wantIDs: func(r *run) []string { return idsExcept(r.events, "faults-big-000000") },
			after: func(r *run) {
				wantLogged(r.t, r.h, r.mark, "a dropped record")
				wantNoBodyOver(r.t, r.s, maxBody)
			},
		},
		{
			name: "one value over 1 MiB: the record is cut down or dropped, the rest delivered",
			n:    20,
			before: func(r *run) {
				big := genEvents("faults-big", 1, 9)[0].with("message", strings.Repeat("x", maxBody+1000))
				r.events = append(r.events[:10:10], append([]object{big}, r.events[10:]...)...)
				r.chunk = chunkV2(r.events)
			},
			want:     []int{flbOK},
			optional: []string{"faults-big-000000"},
			wantIDs:  func(r *run) []string { return idsExcept(r.events, "faults-big-000000") },
			after: func(r *run) {
				wantLogged(r.t, r.h, r.mark, "a cut or dropped record")
				wantNoBodyOver(r.t, r.s, maxBody)
			},
		},
		{
			name:   "garbage chunk: FLB_ERROR",
			before: func(r *run) { r.chunk = bytes.Repeat([]byte{0xc1}, 64) },
			want:   []int{flbError},
			after: func(r *run) {
				if n := len(r.s.Requests()); n != 0 {
					r.t.Errorf("%d requests for an undecodable chunk", n)
				}
			},
		},
		{
			name: "truncated chunk: the complete records are delivered",
			n:    10,
			before: func(r *run) {
				r.chunk = r.chunk[:len(r.chunk)-7]
			},
			want:    []int{flbOK},
			wantIDs: func(r *run) []string { return idsOf(r.events[:9]) },
			after:   func(r *run) { wantLogged(r.t, r.h, r.mark, "the truncated record") },
		},
		{
			name: "token endpoint fails with invalid_client, then works",
			n:    20,
			before: func(r *run) {
				r.s.ScriptToken(azmontest.Fault{Status: 401, Code: "AADSTS7000215"})
			},
			after: func(r *run) {
				if n := r.s.TokenRequests(); n < 2 {
					r.t.Errorf("%d token requests, want the failed one and a good one", n)
				}
			},
		},
		{
			name: "token endpoint unavailable, then works",
			n:    20,
			before: func(r *run) {
				r.s.ScriptToken(azmontest.Fault{Status: 503}, azmontest.Fault{Reset: true})
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, h := setup(t, azmontest.Options{})
			h.mustInstance("f", props(s, streamKeeper, c.extra...))
			r := &run{t: t, s: s, h: h, events: genEvents("faults", c.n, 7)}
			r.chunk = chunkV2(r.events)
			r.mark = h.logMark()
			if c.before != nil {
				c.before(r)
			}
			if t.Failed() {
				return
			}
			rcs := h.flushUntilDone("f", tag, r.chunk, 6)
			r.rcs = rcs
			if c.want != nil {
				wantRCs(t, "flushes", rcs, c.want...)
			} else if rcs[len(rcs)-1] != flbOK {
				t.Errorf("flushes: %s, want FLB_RETRY until FLB_OK", rcNames(rcs))
			}
			want := idsOf(r.events)
			if c.wantIDs != nil {
				want = c.wantIDs(r)
			}
			checkExactlyOnce(t, withoutIDs(s.Rows(streamKeeper), c.optional...), want)
			for _, id := range c.optional {
				if n := countID(s.Rows(streamKeeper), id); n > 1 {
					t.Errorf("%s arrived %d times", id, n)
				}
			}
			if c.after != nil {
				c.after(r)
			}
			if t.Failed() {
				t.Logf("requests: %s", statuses(s.Requests()))
				t.Logf("log of this case:\n%s", tail(h.logSince(r.mark), 8192))
			}
		})
	}
}

func wantNoBodyOver(t *testing.T, s *azmontest.Server, limit int) {
	t.Helper()
	for i, q := range s.Requests() {
		if q.BodyBytes > limit {
			t.Errorf("request %d: %d bytes of JSON sent, over %d", i, q.BodyBytes, limit)
		}
	}
}

func withoutIDs(rows []map[string]any, ids ...string) []map[string]any {
	if len(ids) == 0 {
		return rows
	}
	var out []map[string]any
	for _, r := range rows {
		keep := true
		for _, id := range ids {
			if eventID(r) == id {
				keep = false
			}
		}
		if keep {
			out = append(out, r)
		}
	}
	return out
}

func countID(rows []map[string]any, id string) int {
	n := 0
	for _, r := range rows {
		if eventID(r) == id {
			n++
		}
	}
	return n
}

func wantStatusSeen(t *testing.T, s *azmontest.Server, status int) {
	t.Helper()
	for _, r := range s.Requests() {
		if r.Status == status {
			return
		}
	}
	t.Errorf("the service never answered %d: requests %s", status, statuses(s.Requests()))
}

// wantLogged requires the plugin to have logged a warning or an error
// (Fluent Bit's "[ warn]" / "[error]" levels) about what.
func wantLogged(t *testing.T, h *host, mark int, what string) {
	t.Helper()
	log := h.logSince(mark)
	if !strings.Contains(log, "[ warn]") && !strings.Contains(log, "[error]") {
		t.Errorf("nothing logged at warn or error level about %s", what)
	}
}

// 8. Soak: thousands of records in many chunks against a service that
// throttles, fails and drops connections at random; Fluent Bit flushes
// each chunk again while the answer is FLB_RETRY. Every record arrives
// exactly once.
func TestSoak(t *testing.T) {
	s, h := setup(t, azmontest.Options{})
	h.mustInstance("soak", props(s, streamKeeper,
		prop{"max_request_bytes", "16384"},
		prop{"timeout", "3s"}))
	// Nearly half the requests fail: enough that some flushes give up
	// within their timeout and Fluent Bit has to flush them again.
	s.SetFaultMix(azmontest.FaultMix{P429: 0.1, P500: 0.15, P503: 0.1, PReset: 0.1, P401: 0.02, RetryAfter: time.Second}, 20250123)

	events := genEvents("soak", 3000, 31)
	chunks := splitChunks(formats()[0], events, 100)
	const workers, maxRounds = 4, 12
	pending := make([]int, len(chunks))
	for i := range pending {
		pending[i] = i
	}
	retries := 0
	for round := 0; len(pending) > 0; round++ {
		if round == maxRounds {
			t.Fatalf("%d chunks still FLB_RETRY after %d flushes each", len(pending), maxRounds)
		}
		var next []int
		for i := 0; i < len(pending); i += workers {
			group := pending[i:min(i+workers, len(pending))]
			batch := make([][]byte, len(group))
			for j, ci := range group {
				batch[j] = chunks[ci]
			}
			for j, rc := range h.pflush("soak", tag, batch...) {
				switch rc {
				case flbOK:
				case flbRetry:
					next = append(next, group[j])
					retries++
				default:
					t.Fatalf("chunk %d: %s", group[j], rcName(rc))
				}
			}
		}
		pending = next
	}
	s.SetFaultMix(azmontest.FaultMix{}, 0)
	checkExactlyOnce(t, s.Rows(streamKeeper), idsOf(events))
	faults := 0
	for _, r := range s.Requests() {
		if r.Injected {
			faults++
		}
	}
	if faults == 0 || retries == 0 {
		t.Errorf("%d faults injected, %d FLB_RETRY answers: the soak tested too little", faults, retries)
	}
	t.Logf("%d chunks, %d requests, %d injected faults, %d FLB_RETRY answers", len(chunks), len(s.Requests()), faults, retries)
}

// 9. Shutdown: FLBPluginExitCtx for each instance, FLBPluginExit, then
// FLBPluginUnregister, all answering promptly; the host then exits cleanly.
func TestShutdown(t *testing.T) {
	s, h := setup(t, azmontest.Options{})
	h.mustInstance("x", props(s, streamKeeper))
	h.mustInstance("y", props(s, streamRaw, prop{"schema", "raw"}))
	evs := genEvents("shutdown", 20, 41)
	if rc := h.flush("x", tag, chunkV2(evs[:10])); rc != flbOK {
		t.Fatalf("flush x: %s", rcName(rc))
	}
	if rc := h.flush("y", tag, chunkV2(evs[10:])); rc != flbOK {
		t.Fatalf("flush y: %s", rcName(rc))
	}
	if rc := h.ints("exitctx x")[0]; rc != flbOK {
		t.Errorf("exitctx x: %d, want 1 (FLB_OK)", rc)
	}
	if rc := h.ints("exit")[0]; rc != flbOK {
		t.Errorf("exit: %d, want 1 (FLB_OK)", rc)
	}
	h.ok("unregister")
	checkExactlyOnce(t, append(s.Rows(streamKeeper), s.Rows(streamRaw)...), idsOf(evs))
}

// idsExcept is idsOf(events) without the id left out.
func idsExcept(events []object, leftOut string) []string {
	var ids []string
	for _, id := range idsOf(events) {
		if id != leftOut {
			ids = append(ids, id)
		}
	}
	return ids
}
