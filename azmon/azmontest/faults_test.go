package azmontest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestScriptedFaults(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{})
	tok := rawToken(t, s)
	body := mustJSON(t, []any{keeperRecord(), keeperRecord()})
	target := s.EndpointURL(StreamKeeperLogs)

	for _, tc := range []struct {
		name       string
		fault      Fault
		status     int
		code       string
		msg        string
		retryAfter string
		reset      bool
	}{
		{name: "429 with Retry-After rounded up", fault: Fault{Status: 429, RetryAfter: 1100 * time.Millisecond}, status: 429, code: "TooManyRequests", retryAfter: "2"},
		{name: "429 whole seconds", fault: Fault{Status: 429, RetryAfter: 3 * time.Second}, status: 429, code: "TooManyRequests", retryAfter: "3"},
		{name: "500", fault: Fault{Status: 500}, status: 500, code: "InternalServerError"},
		{name: "503 with Retry-After", fault: Fault{Status: 503, RetryAfter: time.Second}, status: 503, code: "ServiceUnavailable", retryAfter: "1"},
		{name: "401", fault: Fault{Status: 401}, status: 401, code: "InvalidToken"},
		{name: "403", fault: Fault{Status: 403}, status: 403, code: "OperationFailed", msg: s.Opts.DCRID},
		{name: "413 reports the real size", fault: Fault{Status: 413}, status: 413, code: "ContentLengthLimitExceeded",
			msg: fmt.Sprintf("Maximum allowed content length: 1048576 bytes (1 MB). Provided content length: %d bytes.", len(body))},
		{name: "400", fault: Fault{Status: 400}, status: 400, code: "InvalidContent"},
		{name: "408", fault: Fault{Status: 408}, status: 408, code: "RequestTimeout"},
		{name: "502", fault: Fault{Status: 502}, status: 502, code: "BadGateway"},
		{name: "custom code and message", fault: Fault{Status: 400, Code: "Custom", Message: "custom message"}, status: 400, code: "Custom", msg: "custom message"},
		{name: "reset", fault: Fault{Reset: true}, reset: true},
		{name: "delay then pass through", fault: Fault{Delay: 10 * time.Millisecond}, status: 204},
		{name: "delay then 503", fault: Fault{Delay: 10 * time.Millisecond, Status: 503}, status: 503, code: "ServiceUnavailable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := s.RowCount(StreamKeeperLogs)
			s.Script(tc.fault)
			r := ingest(t, s, target, tok, body, nil)
			if tc.reset {
				if r.err == nil {
					t.Fatalf("reset gave an answer: %d", r.status)
				}
			} else {
				if r.err != nil {
					t.Fatal(r.err)
				}
				if r.status != tc.status || r.code != tc.code {
					t.Fatalf("got %d %q, want %d %q", r.status, r.code, tc.status, tc.code)
				}
				if got := r.header.Get("Retry-After"); got != tc.retryAfter {
					t.Errorf("Retry-After %q, want %q", got, tc.retryAfter)
				}
				if tc.msg != "" && !strings.Contains(r.errMessage(), tc.msg) {
					t.Errorf("message %q lacks %q", r.errMessage(), tc.msg)
				}
			}
			wantRows := 0
			if tc.status == 204 {
				wantRows = 2
			}
			if got := s.RowCount(StreamKeeperLogs) - before; got != wantRows {
				t.Errorf("stored %d rows, want %d", got, wantRows)
			}
			reqs := s.Requests()
			last := reqs[len(reqs)-1]
			wantErr := tc.code
			if tc.reset {
				wantErr = "reset"
			}
			if last.Status != tc.status || last.Err != wantErr || last.Records != 2 || !last.Injected {
				t.Errorf("log entry %+v", last)
			}
		})
	}
}

func TestScriptOrderAndPassThrough(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{})
	tok := rawToken(t, s)
	s.Script(Fault{Status: 500}, Fault{}, Fault{Status: 429})
	s.Script(Fault{Status: 503})
	var got []int
	for range 6 {
		got = append(got, ingest(t, s, s.EndpointURL(StreamRaw), tok, []byte(`[{"a":1}]`), nil).status)
	}
	if want := []int{500, 204, 429, 503, 204, 204}; !slices.Equal(got, want) {
		t.Errorf("statuses %v, want %v", got, want)
	}
	if s.RowCount(StreamRaw) != 3 {
		t.Errorf("rows %d, want 3", s.RowCount(StreamRaw))
	}
	// Faults apply before the normal checks: even a request without a token gets them.
	s.Script(Fault{Status: 429})
	if r := ingest(t, s, s.EndpointURL(StreamRaw), "", []byte(`[{"a":1}]`), nil); r.status != 429 {
		t.Errorf("fault before auth: %d", r.status)
	}
}

func TestDelayHonoursRequestContext(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{})
	tok := rawToken(t, s)
	s.Script(Fault{Delay: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.EndpointURL(StreamRaw), strings.NewReader(`[{"a":1}]`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok)
	errc := make(chan error, 1)
	go func() {
		_, err := s.Client().Do(req)
		errc <- err
	}()
	// Cancel once the handler holds the request (it has taken the fault),
	// however slow the machine: a deadline could fire before it arrives.
	for {
		if ing, _ := s.PendingFaults(); ing == 0 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want canceled", err)
	}
	// The handler notices the cancellation; wait for its log entry without timing assertions.
	for s.logLen() == 0 {
		time.Sleep(time.Millisecond)
	}
	if r := s.Requests()[0]; r.Err != "canceled" || r.Status != 0 || s.RowCount(StreamRaw) != 0 {
		t.Errorf("log entry %+v", r)
	}
}

func (s *Server) logLen() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

func TestFaultMixIsDeterministic(t *testing.T) {
	t.Parallel()
	mix := FaultMix{P429: 0.15, P500: 0.1, P503: 0.1, PReset: 0.1, P401: 0.05, RetryAfter: time.Second}
	run := func(seed int64) []string {
		s := newTestServer(t, Options{})
		tok := rawToken(t, s)
		s.SetFaultMix(mix, seed)
		var out []string
		for range 200 {
			r := ingest(t, s, s.EndpointURL(StreamRaw), tok, []byte(`[{"a":1}]`), nil)
			switch {
			case r.err != nil:
				out = append(out, "reset")
			case r.status == 429 || r.status == 503:
				if r.header.Get("Retry-After") != "1" {
					t.Errorf("%d without Retry-After", r.status)
				}
				out = append(out, fmt.Sprint(r.status))
			default:
				out = append(out, fmt.Sprint(r.status))
			}
		}
		if n := s.RowCount(StreamRaw); n != count(out, "204") {
			t.Errorf("stored %d rows for %d successes", n, count(out, "204"))
		}
		s.SetFaultMix(FaultMix{}, 0)
		if r := ingest(t, s, s.EndpointURL(StreamRaw), tok, []byte(`[{"a":1}]`), nil); r.status != 204 {
			t.Errorf("mix off: %d", r.status)
		}
		return out
	}
	a, b, c := run(42), run(42), run(43)
	if !slices.Equal(a, b) {
		t.Error("same seed, different faults")
	}
	if slices.Equal(a, c) {
		t.Error("different seeds, same faults")
	}
	for _, k := range []string{"204", "429", "500", "503", "reset", "401"} {
		if count(a, k) == 0 {
			t.Errorf("no %s in 200 requests", k)
		}
	}
}

func count(xs []string, x string) int {
	n := 0
	for _, v := range xs {
		if v == x {
			n++
		}
	}
	return n
}

func TestRejectRecords(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{})
	tok := rawToken(t, s)
	s.RejectRecords(func(row map[string]any) bool { return row["audit_event"] == "poison" })
	good, bad := keeperRecord(), keeperRecord()
	bad["audit_event"] = "poison"
	r := ingest(t, s, s.EndpointURL(StreamKeeperLogs), tok, mustJSON(t, []any{good, bad, good}), nil)
	if r.status != 400 || r.code != "InvalidContent" || !strings.Contains(r.errMessage(), "record 1 of 3") {
		t.Fatalf("%d %s %q", r.status, r.code, r.errMessage())
	}
	if s.RowCount(StreamKeeperLogs) != 0 {
		t.Error("a rejected request stored rows")
	}
	if r := ingest(t, s, s.EndpointURL(StreamKeeperLogs), tok, mustJSON(t, []any{good, good}), nil); r.status != 204 {
		t.Errorf("clean request: %d", r.status)
	}
	s.RejectRecords(nil)
	if r := ingest(t, s, s.EndpointURL(StreamKeeperLogs), tok, mustJSON(t, []any{bad}), nil); r.status != 204 {
		t.Errorf("after RejectRecords(nil): %d", r.status)
	}
	if s.RowCount(StreamKeeperLogs) != 3 {
		t.Errorf("rows %d, want 3", s.RowCount(StreamKeeperLogs))
	}
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{})
	tok := rawToken(t, s)
	s.SetFaultMix(FaultMix{P500: 0.2}, 7)
	done := make(chan int)
	for g := range 8 {
		go func() {
			ok := 0
			for i := range 25 {
				r := ingest(t, s, s.EndpointURL(StreamRaw), tok, []byte(fmt.Sprintf(`[{"g":%d,"i":%d}]`, g, i)), nil)
				if r.status == 204 {
					ok++
				}
				_ = s.Rows(StreamRaw)
				_ = s.Requests()
			}
			done <- ok
		}()
	}
	total := 0
	for range 8 {
		total += <-done
	}
	if s.RowCount(StreamRaw) != total || len(s.Requests()) != 200 {
		t.Errorf("rows %d, successes %d, requests %d", s.RowCount(StreamRaw), total, len(s.Requests()))
	}
}
