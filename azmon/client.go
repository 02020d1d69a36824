package azmon

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/google/uuid"
	"github.com/klauspost/compress/gzip"
	"golang.org/x/net/http/httpproxy"
)

// Config is everything a Client needs.
type Config struct {
	Endpoint    Endpoint
	Credentials Credentials
	// CAFile names a PEM file of extra roots trusted for token and
	// ingestion calls, besides the system's.
	CAFile string
	// Proxy is an http(s) proxy URL for token and ingestion calls; "" means
	// HTTPS_PROXY / NO_PROXY from the environment.
	Proxy string
	// Gzip compresses request bodies.
	Gzip bool
	// MaxRequestBytes caps one request's uncompressed JSON; 0 means
	// DefaultMaxRequestBytes; else MinRequestBytes to MaxBodyBytes.
	MaxRequestBytes int
	// MaxConcurrency caps the requests of one Send in flight; 0 means
	// DefaultMaxConcurrency; at most MaxConcurrencyLimit.
	MaxConcurrency int
	// Logger receives the client's log lines; nil discards them.
	Logger *slog.Logger
	// UserAgent is sent with every request (the caller composes it); ""
	// leaves Go's default.
	UserAgent string
	// Observer is told of every ingestion attempt and token request, for
	// metrics; nil tells no one.
	Observer Observer
}

// Observer receives what a Client's requests met, as they happen. Its
// methods are called from the goroutines of Send, concurrently, and must
// return quickly.
type Observer interface {
	// Attempt is called after each HTTP attempt to the ingestion API.
	Attempt(Attempt)
	// Token is called after each token request, with its error (nil: a token came).
	Token(err error)
}

// Attempt is one HTTP attempt to post a request.
type Attempt struct {
	Stream    string        // the stream posted to
	Status    int           // the HTTP status; 0 when no response came (timeout, reset, TLS)
	Duration  time.Duration // from sending to the end of the response (or the failure)
	WireBytes int           // the body's size as sent
}

// Records is a sequence of records, each one encoded JSON object.
type Records interface {
	Len() int
	Record(i int) []byte
}

// Progress records which records a Send has settled, by their index in the
// Records: true once the service accepted the record or it was dropped on
// purpose (see Outcome.Drops). Send only ever sets entries, each from one
// goroutine, so a Progress carried from one Send to the next (a retried
// chunk) makes the next send only what is still pending. Read it after Send
// returns.
type Progress []bool

// NewProgress returns the progress of n records, none settled.
func NewProgress(n int) Progress { return make(Progress, n) }

// Pending counts the records not settled yet.
func (p Progress) Pending() int {
	n := 0
	for _, d := range p {
		if !d {
			n++
		}
	}
	return n
}

// Any reports whether some record is settled.
func (p Progress) Any() bool {
	for _, d := range p {
		if d {
			return true
		}
	}
	return false
}

// Counts are what requests settled. The one way to total them is Add.
type Counts struct {
	Accepted int    // records the service accepted
	Drops    []Drop // records dropped on purpose, and why, for the caller to log
	Requests int    // requests that got an answer
	Bytes    int    // uncompressed JSON bytes accepted
	Retries  int    // requests sent again
}

// Add adds o to c.
func (c *Counts) Add(o Counts) {
	c.Accepted += o.Accepted
	c.Drops = append(c.Drops, o.Drops...)
	c.Requests += o.Requests
	c.Bytes += o.Bytes
	c.Retries += o.Retries
}

// Dropped is the number of records dropped on purpose.
func (c Counts) Dropped() int { return len(c.Drops) }

// Outcome says what one Send did.
type Outcome struct {
	Counts
	Err error // why some records are still unsent; nil when none is
	// FirstErr is what the first failed attempt met, when it differs from
	// what ended the call (a refused token or a reset connection, before a
	// deadline that cut the retries short); nil otherwise.
	FirstErr error
}

// Drop is a record given up on purpose: it is too large for any request,
// or the service rejected it alone as invalid.
type Drop struct {
	Record int    // index in the Records
	Bytes  int    // its JSON size
	Reason string // what the service or the limit said
	Err    error  // *StatusError (rejected by the service) or *TooLargeError
}

// TooLargeError is a record that cannot fit in a request on its own.
type TooLargeError struct {
	Bytes, Limit int
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("record of %d bytes is larger than max_request_bytes (%d) on its own", e.Bytes, e.Limit)
}

// Client posts records to one DCR stream. It is safe for concurrent use.
type Client struct {
	cfg    Config
	url    string
	http   *http.Client
	tokens *tokenSource
	log    *slog.Logger
	// gzips holds idle compressors, one per request in flight at most: a
	// sync.Pool would be emptied by every GC, and a compressor's state is
	// about a megabyte to build again.
	gzips chan *gzip.Writer
}

// New checks cfg and builds a client. It makes no network call.
func New(cfg Config) (*Client, error) {
	if err := cfg.Endpoint.Validate(); err != nil {
		return nil, &FieldError{"Endpoint", err}
	}
	if err := cfg.Credentials.Validate(); err != nil {
		return nil, err
	}
	switch {
	case cfg.MaxRequestBytes == 0:
		cfg.MaxRequestBytes = DefaultMaxRequestBytes
	case cfg.MaxRequestBytes < MinRequestBytes || cfg.MaxRequestBytes > MaxBodyBytes:
		return nil, fieldError("MaxRequestBytes", "%d is outside %d..%d", cfg.MaxRequestBytes, MinRequestBytes, MaxBodyBytes)
	}
	if cfg.MaxConcurrency == 0 {
		cfg.MaxConcurrency = DefaultMaxConcurrency
	}
	if cfg.MaxConcurrency < 1 || cfg.MaxConcurrency > MaxConcurrencyLimit {
		return nil, fieldError("MaxConcurrency", "%d is outside 1..%d", cfg.MaxConcurrency, MaxConcurrencyLimit)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Observer == nil {
		cfg.Observer = noObserver{}
	}
	hc, err := newHTTPClient(cfg.CAFile, cfg.Proxy, cfg.MaxConcurrency)
	if err != nil {
		return nil, err
	}
	c := &Client{cfg: cfg, url: cfg.Endpoint.URL(), http: hc, log: cfg.Logger, gzips: make(chan *gzip.Writer, cfg.MaxConcurrency)}
	creds := cfg.Credentials
	watch := &transportWatch{next: hc}
	c.tokens = newTokenSource(creds.TokenScope(), c.log, cfg.Observer, func() (azcore.TokenCredential, error) {
		return newCredential(creds, watch)
	})
	c.tokens.watch = watch
	// Build the credential once now so that its configuration errors
	// surface at start-up rather than at the first flush.
	cred, err := c.tokens.newCred()
	if err != nil {
		return nil, err
	}
	c.tokens.cred = cred
	return c, nil
}

// ForStream returns a client for another stream of the same DCR that shares
// this one's connections, credential and token cache. Close either one
// closes the connections of both.
func (c *Client) ForStream(stream string) (*Client, error) {
	ep := c.cfg.Endpoint
	ep.Stream = stream
	if err := ep.Validate(); err != nil {
		return nil, err
	}
	s := *c
	s.cfg.Endpoint = ep
	s.url = ep.URL()
	return &s, nil
}

// newHTTPClient trusts the system roots plus caFile and goes through proxy,
// or else the proxy that HTTPS_PROXY / NO_PROXY name.
func newHTTPClient(caFile, proxy string, conns int) (*http.Client, error) {
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, &FieldError{"CAFile", err}
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fieldError("CAFile", "%s: no PEM certificate found", caFile)
		}
		tlsConf.RootCAs = pool
	}
	proxyFunc := http.ProxyFromEnvironment
	if proxy != "" {
		// The managed identity endpoint (IMDS, link-local) and loopback
		// are never proxied; NO_PROXY still applies.
		proxyFunc = proxyForRequest((&httpproxy.Config{HTTPProxy: proxy, HTTPSProxy: proxy,
			NoProxy: os.Getenv("NO_PROXY") + "," + os.Getenv("no_proxy") + ",169.254.169.254,169.254.169.253"}).ProxyFunc())
	}
	tr := &http.Transport{
		Proxy:                 proxyFunc,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       tlsConf,
		TLSHandshakeTimeout:   10 * time.Second,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          conns * 2,
		MaxIdleConnsPerHost:   conns * 2,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{
		Transport: tr,
		// A redirect is never success: following it would turn the POST
		// into a GET (a captive portal's 200 would count as delivered) and
		// carry the bearer token along.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}, nil
}

// proxyForRequest adapts a URL-based proxy function to http.Transport.
func proxyForRequest(f func(*url.URL) (*url.URL, error)) func(*http.Request) (*url.URL, error) {
	return func(r *http.Request) (*url.URL, error) { return f(r.URL) }
}

// Close releases idle connections.
func (c *Client) Close() {
	c.http.CloseIdleConnections()
}

// MaxRequestBytes is the effective cap on one request's JSON.
func (c *Client) MaxRequestBytes() int { return c.cfg.MaxRequestBytes }

// Send posts every record i with !done[i] and sets done[i] for each record
// the service accepted or that was dropped on purpose (see Progress). Records are cut into
// requests of at most MaxRequestBytes of JSON, in order, the same way for
// the same records, and up to MaxConcurrency requests are in flight. ctx
// bounds the whole call. done must have recs.Len() elements.
func (c *Client) Send(ctx context.Context, recs Records, done Progress) Outcome {
	var out Outcome
	if len(done) != recs.Len() {
		out.Err = fmt.Errorf("progress has %d entries for %d records", len(done), recs.Len())
		return out
	}
	batches := c.plan(recs, done, &out)
	if len(batches) == 0 {
		return out
	}
	var (
		mu      sync.Mutex
		errs    []error
		wg      sync.WaitGroup
		next    = make(chan []int)
		stop    atomic.Bool // set by an error that every request would meet
		skipped atomic.Int32
	)
	workers := min(c.cfg.MaxConcurrency, len(batches))
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := sender{c: c, recs: recs, done: done}
			for idx := range next {
				if stop.Load() {
					skipped.Add(1) // an operator must act first: leave it pending
					continue
				}
				err := s.request(ctx, idx, false)
				if err == nil {
					continue
				}
				if needsOperator(err) {
					stop.Store(true)
				}
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
			mu.Lock()
			out.Add(Counts{Accepted: s.accepted, Drops: s.drops, Requests: s.tries.requests, Bytes: s.bytes, Retries: s.tries.retries})
			if out.FirstErr == nil {
				out.FirstErr = s.tries.first
			}
			mu.Unlock()
		}()
	}
	for _, b := range batches {
		next <- b
	}
	close(next)
	wg.Wait()
	if len(errs) > 0 {
		out.Err = sendError(errs, len(batches), int(skipped.Load()))
	}
	if out.Err == nil || out.FirstErr == errs[0] {
		out.FirstErr = nil
	}
	return out
}

// needsOperator reports an error that no retry within this Send can fix
// and that every other request would meet too: a refused token or role, a
// wrong endpoint or stream.
func needsOperator(err error) bool { return Explain(err).Shared }

// sendError makes one error of the failed requests of a Send.
func sendError(errs []error, requests, skipped int) error {
	switch {
	case len(errs) == 1 && requests == 1:
		return errs[0]
	case skipped > 0:
		return fmt.Errorf("%d of %d requests failed and %d were not sent, first: %w", len(errs), requests, skipped, errs[0])
	}
	return fmt.Errorf("%d of %d requests failed, first: %w", len(errs), requests, errs[0])
}

// plan cuts the pending records into requests of at most MaxRequestBytes of
// JSON array, keeping order. A record that cannot fit alone is dropped.
func (c *Client) plan(recs Records, done Progress, out *Outcome) [][]int {
	limit := c.cfg.MaxRequestBytes
	var batches [][]int
	var cur []int
	size := 1 // "["
	for i := range recs.Len() {
		if done[i] {
			continue
		}
		n := len(recs.Record(i))
		if n+2 > limit {
			done[i] = true
			tl := &TooLargeError{Bytes: n, Limit: limit}
			out.Drops = append(out.Drops, Drop{Record: i, Bytes: n, Reason: tl.Error(), Err: tl})
			continue
		}
		if len(cur) > 0 && size+1+n+1 > limit {
			batches = append(batches, cur)
			cur, size = nil, 1
		}
		if len(cur) > 0 {
			size++ // ","
		}
		cur = append(cur, i)
		size += n
	}
	if len(cur) > 0 {
		batches = append(batches, cur)
	}
	return batches
}

// sender sends the requests of one worker of a Send and counts what happened.
type sender struct {
	c               *Client
	recs            Records
	done            Progress
	drops           []Drop
	accepted, bytes int
	tries           tries
}

// maxAttempts bounds the tries of one request within a Send.
const maxAttempts = 4

// request sends the records idx as one request until they are accepted,
// split, dropped or the error is one that only a later flush can fix.
// Retrying is not its business (see retry); what it decides is what
// the request's final answer means for its records.
func (s *sender) request(ctx context.Context, idx []int, split bool) error {
	c := s.c
	body, jsonBytes := c.encode(s.recs, idx)
	err := c.retry(ctx, body.Bytes(), &s.tries)
	if err == nil {
		for _, i := range idx {
			s.done[i] = true
		}
		s.accepted += len(idx)
		s.bytes += jsonBytes
		return nil
	}
	var se *StatusError
	if Explain(err).Action == Split && errors.As(err, &se) {
		if len(idx) == 1 {
			s.done[idx[0]] = true
			s.drops = append(s.drops, Drop{Record: idx[0], Bytes: len(s.recs.Record(idx[0])), Reason: "rejected by the service: " + se.Error(), Err: se})
			return nil
		}
		if !split {
			c.log.Warn("request rejected; splitting it to isolate the cause", "status", se.Status, "code", se.Code, "records", len(idx))
		}
		half := len(idx) / 2
		err1 := s.request(ctx, idx[:half], true)
		err2 := s.request(ctx, idx[half:], true)
		return errors.Join(err1, err2)
	}
	return err
}

// tries counts what the attempts of a sender's requests met.
type tries struct {
	requests int   // attempts that got an answer
	retries  int   // attempts after the first of a request
	first    error // what the first failed attempt met
}

// retry is the retry step, apart from what a request carries: it posts
// body, under one x-ms-client-request-id, until it is accepted or until
// Explain says a retry cannot change the answer (Split included: the caller
// splits), waiting between attempts as retryWait says, within ctx's
// deadline, and getting a new token once when Explain says Reauth.
func (c *Client) retry(ctx context.Context, body []byte, t *tries) error {
	refreshed := false
	// One id for the request across its retries, as azcore's request-id
	// policy does: Azure support finds every attempt of it by this id.
	clientID := uuid.NewString()
	for attempt := 1; ; attempt++ {
		token, err := c.tokens.Token(ctx)
		if err == nil {
			err = c.attempt(ctx, body, token, clientID)
		}
		var se *StatusError
		if err == nil || errors.As(err, &se) {
			t.requests++
		}
		if err == nil {
			return nil
		}
		if t.first == nil {
			t.first = err
		}
		if Explain(err).Action == Reauth && !refreshed {
			refreshed = true
			c.tokens.Invalidate(token)
			t.retries++
			continue
		}
		wait, ok := retryWait(err, attempt)
		if !ok || !fits(ctx, wait) {
			return err
		}
		c.log.Debug("retrying request", "attempt", attempt, "wait", wait, "error", err)
		t.retries++
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return err
		}
	}
}

// retryWait says whether err is worth another try within the same Send
// (Explain's Retry) and how long to wait first: Retry-After when the
// service sets it, else an exponential backoff with jitter.
func retryWait(err error, attempt int) (time.Duration, bool) {
	if attempt >= maxAttempts || Explain(err).Action != Retry {
		return 0, false
	}
	var se *StatusError
	if errors.As(err, &se) && se.RetryAfter > 0 {
		return se.RetryAfter, true
	}
	base := 250 * time.Millisecond << (attempt - 1)
	return base/2 + rand.N(base), true
}

// fits reports whether waiting d still leaves time for a request before
// ctx's deadline.
func fits(ctx context.Context, d time.Duration) bool {
	dl, ok := ctx.Deadline()
	return !ok || time.Until(dl) > d+time.Second
}

// encode writes the records idx as one JSON array, compressed when
// configured (straight into the compressor, with no uncompressed copy), and
// returns the body and the size of its JSON.
//
// The body is not pooled: net/http may still be writing it after Do
// returns (an early answer, a cancel), and a new buffer per request costs
// little next to the request.
func (c *Client) encode(recs Records, idx []int) (body *bytes.Buffer, jsonBytes int) {
	size := 1
	for _, i := range idx {
		size += len(recs.Record(i)) + 1
	}
	if c.cfg.Gzip {
		size = size/6 + 512 // Keeper JSON compresses about 10:1 at BestSpeed
	}
	body = bytes.NewBuffer(make([]byte, 0, size))
	var w io.Writer = body
	var gz *gzip.Writer
	if c.cfg.Gzip {
		select {
		case gz = <-c.gzips:
			gz.Reset(body)
		default:
			gz, _ = gzip.NewWriterLevel(body, gzip.BestSpeed)
		}
		w = gz
	}
	// Writes to a bytes.Buffer, and so to a gzip.Writer over one, cannot fail.
	sep := []byte{'['}
	for _, i := range idx {
		w.Write(sep)
		rec := recs.Record(i)
		w.Write(rec)
		jsonBytes += 1 + len(rec)
		sep[0] = ','
	}
	w.Write([]byte{']'})
	jsonBytes++
	if gz != nil {
		gz.Close()
		select {
		case c.gzips <- gz:
		default: // enough idle ones already
		}
	}
	return body, jsonBytes
}

// attempt sends one body with the bearer token and the request's client id,
// tells the Observer, and turns every answer but success into an error:
// a *StatusError for an answer, else an error naming clientID.
func (c *Client) attempt(ctx context.Context, body []byte, token, clientID string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("post to stream %s: %w", c.cfg.Endpoint.Stream, context.Cause(ctx))
	}
	start := time.Now()
	status, err := c.roundTrip(ctx, body, token, clientID)
	c.cfg.Observer.Attempt(Attempt{Stream: c.cfg.Endpoint.Stream, Status: status, Duration: time.Since(start), WireBytes: len(body)})
	return err
}

// roundTrip is one POST; it returns the status (0 when no answer came).
func (c *Client) roundTrip(ctx context.Context, body []byte, token, clientID string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("request for %s: %w", c.url, err)
	}
	req.Header.Set("x-ms-client-request-id", clientID)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	if c.cfg.UserAgent != "" {
		req.Header.Set("User-Agent", c.cfg.UserAgent)
	}
	if c.cfg.Gzip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, &TransportError{Endpoint: c.cfg.Endpoint.Base, ClientRequestID: clientID, Err: unwrapURLError(err)}
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return resp.StatusCode, nil
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	se := &StatusError{Status: resp.StatusCode, RequestID: resp.Header.Get("x-ms-request-id"), ClientRequestID: clientID}
	se.Code, se.Message = parseErrorBody(msg)
	if se.Code == "" {
		se.Code = resp.Header.Get("x-ms-error-code")
	}
	if loc := resp.Header.Get("Location"); resp.StatusCode/100 == 3 && loc != "" {
		se.Message = "redirected to " + redactQuery(mustURL(loc))
	}
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		se.RetryAfter = parseRetryAfter(ra)
	}
	return resp.StatusCode, se
}

// noObserver is the Observer of a Client that was given none.
type noObserver struct{}

func (noObserver) Attempt(Attempt) {}
func (noObserver) Token(error)     {}

// mustURL parses a URL for a message, keeping the raw text if it is not one.
func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		return &url.URL{Opaque: s}
	}
	return u
}

// unwrapURLError drops net/http's "Post "url":" prefix, which repeats the URL.
func unwrapURLError(err error) error {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) {
		if inner := ue.Unwrap(); inner != nil {
			return inner
		}
	}
	return err
}

// parseRetryAfter reads delay-seconds or an HTTP date.
func parseRetryAfter(v string) time.Duration {
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}
