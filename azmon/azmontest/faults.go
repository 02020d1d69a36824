package azmontest

import (
	"context"
	"math"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Fault is an answer the emulator gives instead of (or before) its normal one.
type Fault struct {
	Status     int           // e.g. 429, 500, 503, 401, 413, 400, 408; 0 = no status fault
	RetryAfter time.Duration // sets Retry-After (whole seconds, rounded up) when > 0
	Reset      bool          // hijack and close the connection without an answer
	Delay      time.Duration // sleep before answering (honours the request context)
	// Code and Message make the error body; sensible defaults per status. For the token
	// endpoint Code may be an AADSTS code ("AADSTS7000215" or "7000215") or an OAuth error
	// string ("invalid_client").
	Code, Message string
	// Foreign answers as something between the client and the service
	// would (a proxy, a load balancer, a captive portal): the status with a
	// plain-text body and no service error code; a 3xx also gets a Location.
	Foreign bool
}

// FaultMix injects random faults into ingestion requests that no scripted fault claims: each
// request gets a 429, 500, 503, connection reset or 401 with the given probabilities (their sum
// at most 1). RetryAfter is set on the 429 and 503 answers when > 0.
type FaultMix struct {
	P429, P500, P503, PReset, P401 float64
	RetryAfter                     time.Duration
}

// Script makes the next len(faults) ingestion requests get these faults in order (Fault{} = pass
// through). Scripts queue up: a second call appends. Faulted requests are logged but store nothing.
func (s *Server) Script(faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script = append(s.script, faults...)
}

// ScriptToken is Script for token requests: token endpoint POSTs and managed identity GETs, in
// arrival order (e.g. Fault{Status: 401, Code: "AADSTS7000215"}).
func (s *Server) ScriptToken(faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenScript = append(s.tokenScript, faults...)
}

// PendingFaults returns how many scripted ingestion and token faults are not used yet.
func (s *Server) PendingFaults() (ingest, token int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.script), len(s.tokenScript)
}

// SetFaultMix turns on random faults for ingestion requests, deterministic for a seed: the same
// sequence of requests gets the same faults. The zero mix turns it off.
func (s *Server) SetFaultMix(m FaultMix, seed int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mix = m
	if m == (FaultMix{}) {
		s.rng = nil
		return
	}
	s.rng = mrand.New(mrand.NewPCG(uint64(seed), 0x617a6d6f6e746573))
}

// nextIngestFault takes the fault for the next ingestion request.
func (s *Server) nextIngestFault() (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.script) > 0 {
		f := s.script[0]
		s.script = s.script[1:]
		return f, f != Fault{}
	}
	if s.rng == nil {
		return Fault{}, false
	}
	m := s.mix
	x := s.rng.Float64()
	for _, c := range []struct {
		p float64
		f Fault
	}{
		{m.P429, Fault{Status: http.StatusTooManyRequests, RetryAfter: m.RetryAfter}},
		{m.P500, Fault{Status: http.StatusInternalServerError}},
		{m.P503, Fault{Status: http.StatusServiceUnavailable, RetryAfter: m.RetryAfter}},
		{m.PReset, Fault{Reset: true}},
		{m.P401, Fault{Status: http.StatusUnauthorized}},
	} {
		if x < c.p {
			return c.f, true
		}
		x -= c.p
	}
	return Fault{}, false
}

// nextTokenFault takes the fault for the next token request.
func (s *Server) nextTokenFault() (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.tokenScript) == 0 {
		return Fault{}, false
	}
	f := s.tokenScript[0]
	s.tokenScript = s.tokenScript[1:]
	return f, f != Fault{}
}

// sleep waits d, or less if the request is cancelled or the server closes. It reports
// whether the full delay passed or the server closed (false: the client went away).
func (s *Server) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.done:
		return true
	case <-ctx.Done():
		return false
	}
}

// resetConn hijacks the connection and closes it with a TCP RST, without an answer.
func resetConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	raw := conn
	if nc, ok := conn.(interface{ NetConn() net.Conn }); ok {
		raw = nc.NetConn()
	}
	if tc, ok := raw.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = raw.Close()
}

// setRetryAfter sets Retry-After in whole seconds, rounded up.
func setRetryAfter(h http.Header, d time.Duration) {
	if d <= 0 {
		return
	}
	h.Set("Retry-After", strconv.FormatInt(int64(math.Ceil(d.Seconds())), 10))
}

// defaultIngestError gives the error code and message of an injected ingestion fault.
func defaultIngestError(status int, dcr string) (string, string) {
	switch status {
	case http.StatusBadRequest:
		return "InvalidContent", "The request body is invalid."
	case http.StatusUnauthorized:
		return "InvalidToken", "The access token is invalid."
	case http.StatusForbidden:
		return "OperationFailed", "The authentication token provided does not have access to ingest data for the data collection rule with immutable Id '" + dcr + "'."
	case http.StatusNotFound:
		return "NotFound", "Data collection rule with immutable Id '" + dcr + "' not found."
	case http.StatusRequestTimeout:
		return "RequestTimeout", "The request timed out."
	case http.StatusRequestEntityTooLarge:
		return "ContentLengthLimitExceeded", "Maximum allowed content length exceeded."
	case http.StatusTooManyRequests:
		return "TooManyRequests", "Too many requests. Retry after the duration in the Retry-After header."
	case http.StatusInternalServerError:
		return "InternalServerError", "An internal server error occurred."
	case http.StatusServiceUnavailable:
		return "ServiceUnavailable", "The service is temporarily unavailable."
	}
	text := http.StatusText(status)
	if text == "" {
		text = "Status" + strconv.Itoa(status)
	}
	return strings.ReplaceAll(text, " ", ""), text + "."
}
