package azmon_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keeper-azmon/keeper-azmon/azmon"
	"github.com/keeper-azmon/keeper-azmon/azmon/azmontest"
)

type recList [][]byte

func (r recList) Len() int            { return len(r) }
func (r recList) Record(i int) []byte { return r[i] }

// rawRecords makes n distinct records of about size bytes each.
func rawRecords(n, size int) recList {
	out := make(recList, n)
	for i := range out {
		head := fmt.Sprintf(`{"TimeGenerated":"2025-01-23T01:31:11.123Z","seq":%d,"pad":"`, i)
		out[i] = []byte(head + strings.Repeat("k", max(0, size-len(head)-2)) + `"}`)
	}
	return out
}

func newClient(t *testing.T, s *azmontest.Server, stream string, mut func(*azmon.Config)) *azmon.Client {
	t.Helper()
	ep, err := azmon.ParseEndpointURL(s.EndpointURL(stream))
	if err != nil {
		t.Fatal(err)
	}
	cloud, _ := azmon.LookupCloud("public")
	cfg := azmon.Config{
		Endpoint: ep,
		Credentials: azmon.Credentials{
			Auth: azmon.AuthClientSecret, TenantID: s.Opts.TenantID, ClientID: s.Opts.ClientID,
			ClientSecret: azmon.Secret(s.Opts.ClientSecret), Cloud: cloud, AuthorityHost: s.AuthorityHost(),
		},
		CAFile: s.CAFile,
		Gzip:   true,
	}
	if mut != nil {
		mut(&cfg)
	}
	c, err := azmon.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// seqs returns the seq of every stored row, checking none is there twice.
func seqs(t *testing.T, s *azmontest.Server, stream string) map[string]bool {
	t.Helper()
	seen := map[string]bool{}
	for _, row := range s.Rows(stream) {
		k := fmt.Sprint(row["seq"])
		if seen[k] {
			t.Errorf("record seq %s stored twice", k)
		}
		seen[k] = true
	}
	return seen
}

func send(c *azmon.Client, recs recList, done []bool, d time.Duration) azmon.Outcome {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return c.Send(ctx, recs, done)
}

func TestSendDeliversUnderTheLimit(t *testing.T) {
	for _, gz := range []bool{true, false} {
		t.Run(fmt.Sprintf("gzip=%v", gz), func(t *testing.T) {
			s := azmontest.NewServer(azmontest.Options{})
			defer s.Close()
			c := newClient(t, s, "Custom-Raw_CL", func(c *azmon.Config) { c.Gzip = gz })
			recs := rawRecords(6000, 700) // about 4 MiB of JSON
			done := make([]bool, len(recs))
			out := send(c, recs, done, 30*time.Second)
			if out.Err != nil {
				t.Fatal(out.Err)
			}
			if out.Accepted != len(recs) || len(seqs(t, s, "Custom-Raw_CL")) != len(recs) {
				t.Fatalf("accepted %d, stored %d of %d", out.Accepted, len(s.Rows("Custom-Raw_CL")), len(recs))
			}
			// Requests arrive in any order (they run in parallel), and every
			// one but the last of the plan is nearly full.
			short, body := 0, 0
			for _, r := range s.Requests() {
				body += r.BodyBytes
			}
			if out.Bytes != body {
				t.Errorf("Outcome.Bytes = %d, the emulator received %d bytes of JSON", out.Bytes, body)
			}
			for i, r := range s.Requests() {
				if r.BodyBytes > azmon.DefaultMaxRequestBytes || r.Gzip != gz || r.APIVersion != azmon.APIVersion {
					t.Errorf("request %d: %+v", i, r)
				}
				if r.BodyBytes < azmon.DefaultMaxRequestBytes*95/100 {
					short++
				}
			}
			if short > 1 {
				t.Errorf("%d requests under 95%% of max_request_bytes, want at most 1", short)
			}
			if s.TokenRequests() != 1 {
				t.Errorf("%d token requests for one Send, want 1", s.TokenRequests())
			}
			// The token is cached across sends.
			send(c, rawRecords(3, 100), make([]bool, 3), 10*time.Second)
			if s.TokenRequests() != 1 {
				t.Errorf("token fetched again: %d requests", s.TokenRequests())
			}
		})
	}
}

func TestSendFaults(t *testing.T) {
	tests := []struct {
		name     string
		faults   []azmontest.Fault
		reject   func(map[string]any) bool
		wantErr  bool
		accepted int
		dropped  int
	}{
		{name: "429 honours Retry-After", faults: []azmontest.Fault{{Status: 429, RetryAfter: time.Second}}, accepted: 10},
		{name: "503 then 500 retried", faults: []azmontest.Fault{{Status: 503}, {Status: 500}}, accepted: 10},
		{name: "connection reset retried", faults: []azmontest.Fault{{Reset: true}}, accepted: 10},
		{name: "401 refreshes the token once", faults: []azmontest.Fault{{Status: 401}}, accepted: 10},
		{name: "401 twice is retryable", faults: []azmontest.Fault{{Status: 401}, {Status: 401}}, wantErr: true},
		{name: "403 is retryable at once", faults: []azmontest.Fault{{Status: 403}}, wantErr: true},
		{name: "404 is retryable at once", faults: []azmontest.Fault{{Status: 404}}, wantErr: true},
		{name: "413 splits", faults: []azmontest.Fault{{Status: 413}}, accepted: 10},
		{name: "400 isolates bad records", reject: func(r map[string]any) bool {
			s := fmt.Sprint(r["seq"])
			return s == "3" || s == "7"
		}, accepted: 8, dropped: 2},
		{name: "a redirect is not success", faults: []azmontest.Fault{{Status: 302, Foreign: true}}, wantErr: true},
		{name: "a 400 with no service code is retried, not dropped", faults: []azmontest.Fault{{Status: 400, Foreign: true}}, wantErr: true},
		{name: "persistent 500 gives up", faults: []azmontest.Fault{{Status: 500}, {Status: 500}, {Status: 500}, {Status: 500}}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := azmontest.NewServer(azmontest.Options{})
			defer s.Close()
			c := newClient(t, s, "Custom-Raw_CL", nil)
			s.Script(tc.faults...)
			s.RejectRecords(tc.reject)
			recs := rawRecords(10, 200)
			done := make([]bool, len(recs))
			out := send(c, recs, done, 20*time.Second)
			if (out.Err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", out.Err, tc.wantErr)
			}
			if tc.wantErr {
				if out.Accepted != 0 || len(s.Rows("Custom-Raw_CL")) != 0 {
					t.Errorf("a failed send stored rows")
				}
				return
			}
			if out.Accepted != tc.accepted || out.Dropped() != tc.dropped {
				t.Errorf("accepted %d dropped %d, want %d and %d", out.Accepted, out.Dropped(), tc.accepted, tc.dropped)
			}
			if got := len(seqs(t, s, "Custom-Raw_CL")); got != tc.accepted {
				t.Errorf("stored %d rows, want %d", got, tc.accepted)
			}
			for i, d := range done {
				if !d {
					t.Errorf("record %d not settled", i)
				}
			}
		})
	}
}

func TestSendResumesWithoutDuplicates(t *testing.T) {
	s := azmontest.NewServer(azmontest.Options{})
	defer s.Close()
	c := newClient(t, s, "Custom-Raw_CL", func(c *azmon.Config) { c.MaxConcurrency = 1; c.MaxRequestBytes = 10_000 })
	recs := rawRecords(100, 400) // about 4 requests
	done := make([]bool, len(recs))
	// The second request fails for good within this send.
	s.Script(azmontest.Fault{}, azmontest.Fault{Status: 403})
	out := send(c, recs, done, 20*time.Second)
	if out.Err == nil || out.Accepted == 0 || out.Accepted == len(recs) {
		t.Fatalf("want a partial send, got %+v", out)
	}
	first := out.Accepted
	out = send(c, recs, done, 20*time.Second)
	if out.Err != nil {
		t.Fatal(out.Err)
	}
	if out.Accepted != len(recs)-first {
		t.Errorf("second send accepted %d, want only the %d pending", out.Accepted, len(recs)-first)
	}
	if got := len(seqs(t, s, "Custom-Raw_CL")); got != len(recs) {
		t.Errorf("stored %d rows, want %d", got, len(recs))
	}
}

func TestSendStopsAtTheDeadline(t *testing.T) {
	s := azmontest.NewServer(azmontest.Options{})
	defer s.Close()
	c := newClient(t, s, "Custom-Raw_CL", nil)
	// A token first, so that the deadline below falls on the ingestion
	// request, however slow the machine (a token request cut short says
	// so only in azidentity's text).
	if out := send(c, rawRecords(1, 100), make([]bool, 1), time.Minute); out.Err != nil {
		t.Fatal(out.Err)
	}
	s.Reset()
	// The service would answer in an hour; a client that ignored its
	// deadline would hang here (and then succeed), never pass.
	s.Script(azmontest.Fault{Delay: time.Hour})
	recs := rawRecords(5, 100)
	out := send(c, recs, make([]bool, len(recs)), 2*time.Second)
	if !errors.Is(out.Err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the deadline", out.Err)
	}
	if out.Accepted != 0 || len(s.Rows("Custom-Raw_CL")) != 0 {
		t.Error("a send cut by its deadline stored rows")
	}
}

func TestTokenErrorsExplainAADSTS(t *testing.T) {
	s := azmontest.NewServer(azmontest.Options{})
	defer s.Close()
	c := newClient(t, s, "Custom-Raw_CL", func(c *azmon.Config) { c.Credentials.ClientSecret = "wrong-secret-value" })
	out := send(c, rawRecords(1, 100), make([]bool, 1), 10*time.Second)
	if out.Err == nil {
		t.Fatal("wrong secret accepted")
	}
	msg := out.Err.Error()
	if !strings.Contains(msg, "AADSTS7000215") || !strings.Contains(msg, "Secret ID") || strings.Contains(msg, "wrong-secret-value") {
		t.Errorf("unhelpful or leaky error: %s", msg)
	}
}

// TestSendFirstErr: when the deadline ends a send whose first attempt met
// something else (a reset connection), Outcome.FirstErr keeps that error
// as a value, so a tool can explain it; when the first error is the last,
// FirstErr is nil.
func TestSendFirstErr(t *testing.T) {
	s := azmontest.NewServer(azmontest.Options{})
	t.Cleanup(s.Close)
	c := newClient(t, s, azmontest.StreamRaw, func(cfg *azmon.Config) { cfg.MaxConcurrency = 1 })
	recs := rawRecords(1, 100)

	s.Script(azmontest.Fault{Reset: true}, azmontest.Fault{Delay: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	out := c.Send(ctx, recs, make([]bool, 1))
	cancel()
	if out.Err == nil || !errors.Is(out.Err, context.DeadlineExceeded) {
		t.Fatalf("Err = %v, want the deadline", out.Err)
	}
	if out.FirstErr == nil || errors.Is(out.FirstErr, context.DeadlineExceeded) || !strings.Contains(out.FirstErr.Error(), "post to") {
		t.Errorf("FirstErr = %v, want the reset of the first attempt", out.FirstErr)
	}

	s2 := azmontest.NewServer(azmontest.Options{})
	t.Cleanup(s2.Close)
	s2.Script(azmontest.Fault{Status: 404})
	out = newClient(t, s2, azmontest.StreamRaw, nil).Send(context.Background(), recs, make([]bool, 1))
	if out.Err == nil || out.FirstErr != nil {
		t.Errorf("one failed attempt: Err %v, FirstErr %v (want nil)", out.Err, out.FirstErr)
	}
}

// observed counts what a Client told its Observer.
type observed struct {
	mu       sync.Mutex
	statuses []int
	wire     int
	tokens   []error
}

func (o *observed) Attempt(a azmon.Attempt) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.statuses = append(o.statuses, a.Status)
	o.wire += a.WireBytes
}

func (o *observed) Token(err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.tokens = append(o.tokens, err)
}

func TestRequestIDsAndObserver(t *testing.T) {
	s := azmontest.NewServer(azmontest.Options{})
	defer s.Close()
	obs := &observed{}
	c := newClient(t, s, azmontest.StreamKeeperLogs, func(cfg *azmon.Config) {
		cfg.Observer = obs
		cfg.MaxConcurrency = 1
	})
	// A 500 and a reset are retried; a 403 needs an operator and ends the Send.
	s.Script(azmontest.Fault{Status: 500}, azmontest.Fault{Reset: true}, azmontest.Fault{}, azmontest.Fault{Status: 403})
	recs := rawRecords(2, 200)
	out := send(c, recs[:1], azmon.NewProgress(1), 30*time.Second)
	if out.Err != nil || out.Accepted != 1 {
		t.Fatalf("first request: %+v", out)
	}
	out = send(c, recs[1:], azmon.NewProgress(1), 30*time.Second)
	var se *azmon.StatusError
	if !errors.As(out.Err, &se) || se.Status != 403 {
		t.Fatalf("second request: want a 403 StatusError, got %v", out.Err)
	}

	reqs := s.Requests()
	if len(reqs) != 4 {
		t.Fatalf("want 4 attempts at the emulator, got %+v", reqs)
	}
	// The three attempts of the first request share one client id; the
	// second request has its own.
	first, second := reqs[0].ClientRequestID, reqs[3].ClientRequestID
	if first == "" || reqs[1].ClientRequestID != first || reqs[2].ClientRequestID != first {
		t.Errorf("retries of one request must share x-ms-client-request-id: %q %q %q", reqs[0].ClientRequestID, reqs[1].ClientRequestID, reqs[2].ClientRequestID)
	}
	if second == "" || second == first {
		t.Errorf("a new request needs a new client id: first %q, second %q", first, second)
	}
	// The error carries both ids, and so does its text, which is what an
	// operator quotes to Azure support.
	if se.ClientRequestID != second || se.RequestID == "" || se.RequestID != reqs[3].RequestID {
		t.Errorf("StatusError ids: request %q client %q; emulator answered %q to %q", se.RequestID, se.ClientRequestID, reqs[3].RequestID, second)
	}
	for _, id := range []string{se.RequestID, se.ClientRequestID} {
		if !strings.Contains(out.Err.Error(), id) {
			t.Errorf("error text %q lacks id %s", out.Err, id)
		}
	}

	obs.mu.Lock()
	defer obs.mu.Unlock()
	if want := []int{500, 0, 204, 403}; fmt.Sprint(obs.statuses) != fmt.Sprint(want) {
		t.Errorf("observed statuses %v, want %v", obs.statuses, want)
	}
	wire := 0
	for _, r := range reqs {
		wire += r.WireBytes
	}
	if obs.wire != wire {
		t.Errorf("observed %d wire bytes, the emulator read %d", obs.wire, wire)
	}
	if len(obs.tokens) != 1 || obs.tokens[0] != nil {
		t.Errorf("observed token requests %v, want one that succeeded", obs.tokens)
	}
}
