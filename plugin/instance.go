package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keeper-azmon/keeper-azmon/azmon"
	"github.com/keeper-azmon/keeper-azmon/convert"
)

// Code is a Fluent Bit flush result.
type Code int

// Fluent Bit's result codes.
const (
	Error Code = 0 // FLB_ERROR: the chunk is dropped
	OK    Code = 1 // FLB_OK: the chunk is done
	Retry Code = 2 // FLB_RETRY: Fluent Bit flushes the chunk again later
)

// Progress store bounds: chunks remembered after a partial failure, and
// for how long. Fluent Bit's retries of a chunk come within minutes.
const (
	progressEntries = 4096
	progressTTL     = 6 * time.Hour
	summaryEvery    = time.Minute
	maxPooledBuffer = 64 << 20
)

// Options are the parts of an Instance that do not come from properties.
type Options struct {
	ID        string     // names the instance in log lines and metrics, e.g. keeper_azmon.0
	LogOutput io.Writer  // where log lines go, stamped, when LogSink is nil (stderr)
	LogSink   LogSink    // the host's logger (Fluent Bit's), which stamps lines itself
	LogLevel  slog.Level // lowest level written
	// Metrics is the registry the instance's series go to (Fluent Bit's
	// metrics context); nil means none are kept.
	Metrics Metrics
	Summary time.Duration // interval of the statistics line; 0 = every minute, <0 = never
	// Getenv reads the environment for the configuration (workload
	// identity's AZURE_* variables); nil means os.Getenv.
	Getenv func(string) string
	// UserAgentComment is added to the User-Agent of every request, in
	// parentheses: who uses the instance ("check" for keeper-azmon check).
	UserAgentComment string
}

// Instance is one [OUTPUT] section. Its Flush is safe for concurrent use
// (Fluent Bit `workers`).
type Instance struct {
	cfg      Config
	metrics  *instanceMetrics // nil without a registry
	conv     *convert.Converter
	client   *azmon.Client
	streams  []*azmon.Client // schema asim: a client per ASIM schema, by convert.ASIMSchema
	log      *slog.Logger
	progress *progressStore
	records  sync.Pool

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	stats stats
}

type stats struct {
	records, requests, bytes, retries, dropped, failedFlushes atomic.Int64
}

// add counts what a Send settled.
func (s *stats) add(c azmon.Counts) {
	s.records.Add(int64(c.Accepted))
	s.requests.Add(int64(c.Requests))
	s.bytes.Add(int64(c.Bytes))
	s.retries.Add(int64(c.Retries))
	s.dropped.Add(int64(c.Dropped()))
}

// Stats are an instance's totals so far.
type Stats struct {
	Records       int64 // records the service accepted
	Requests      int64 // requests that got an answer
	Bytes         int64 // uncompressed JSON bytes accepted
	Retries       int64 // requests sent again within a flush
	Dropped       int64 // records dropped on purpose (cannot be converted, rejected, too large)
	FailedFlushes int64 // flushes answered with a retry
}

// New reads the properties and builds an instance. It makes no network
// call; the first token is fetched at the first flush.
func New(p Properties, opts Options) (*Instance, error) {
	if opts.LogOutput == nil {
		opts.LogOutput = io.Discard
	}
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	log := NewLogger(opts.LogOutput, opts.ID, opts.LogLevel)
	if opts.LogSink != nil {
		log = NewSinkLogger(opts.LogSink, opts.ID, opts.LogLevel)
	}
	cfg, err := ParseConfigEnv(p, opts.Getenv)
	if err != nil {
		return nil, err
	}
	var metrics *instanceMetrics
	if opts.Metrics != nil {
		if metrics, err = newInstanceMetrics(opts.Metrics, opts.ID); err != nil {
			return nil, err
		}
		cfg.Client.Observer = metrics
	}
	cfg.Client.Logger = log
	cfg.Client.UserAgent = userAgent(cfg.Client.UserAgent, opts.UserAgentComment)
	client, err := azmon.New(cfg.Client)
	if err != nil {
		return nil, configError(err)
	}
	var streams []*azmon.Client
	for _, st := range cfg.ASIMStreams {
		sc, err := client.ForStream(st)
		if err != nil {
			return nil, configError(err)
		}
		streams = append(streams, sc)
	}
	ctx, cancel := context.WithCancel(context.Background())
	in := &Instance{
		streams:  streams,
		cfg:      cfg,
		metrics:  metrics,
		conv:     convert.New(cfg.Convert),
		client:   client,
		log:      log,
		progress: newProgressStore(progressEntries, progressTTL),
		ctx:      ctx,
		cancel:   cancel,
	}
	in.logStart()
	if opts.Summary == 0 {
		opts.Summary = summaryEvery
	}
	if opts.Summary > 0 {
		in.wg.Add(1)
		go in.logSummaries(opts.Summary)
	}
	return in, nil
}

// logStart logs what the instance was configured with, secrets aside.
func (in *Instance) logStart() {
	cfg := in.cfg
	ep := cfg.Client.Endpoint
	if cfg.AuthInferred {
		in.log.Info("auth not set; chose " + string(cfg.Client.Credentials.Auth) + " from the properties and environment")
	}
	stream := ep.Stream
	if len(cfg.ASIMStreams) > 0 {
		stream = strings.Join(cfg.ASIMStreams, ",") // all three
	}
	attrs := []any{"endpoint", ep.Base, "dcr", ep.DCRID, "stream", stream,
		"auth", string(cfg.Client.Credentials.Auth), "schema", cfg.Convert.Schema.String(),
		"time_key", cfg.Convert.TimeKey, "compress", map[bool]string{true: "gzip", false: "none"}[cfg.Client.Gzip],
		"max_request_bytes", in.client.MaxRequestBytes(), "timeout", cfg.Timeout.String()}
	if id := cfg.Convert.EnterpriseID; id != 0 {
		attrs = append(attrs, "enterprise_id", id)
	}
	in.log.Info("started", attrs...)
}

// Config is the instance's checked configuration.
func (in *Instance) Config() Config { return in.cfg }

// Report says what Deliver did with a chunk.
type Report struct {
	Code Code
	// Counts are what this call's requests settled: records accepted,
	// records the client dropped (and why), requests, bytes, retries.
	azmon.Counts
	Err      error    // why the chunk is not done (Retry, Error); nil for OK
	FirstErr error    // what the first failed attempt met, when Err is another (azmon.Outcome.FirstErr)
	Records  int      // records in the chunk
	Size     int      // JSON bytes of its records
	Skipped  int      // records that could not be converted, dropped
	Streams  []string // the streams records were sent to
}

// Flush converts and sends one chunk and answers as Fluent Bit expects.
// chunk is only read during the call.
func (in *Instance) Flush(chunk []byte, tag string) Code {
	return in.Deliver(chunk, tag).Code
}

// Deliver is Flush with the details, for tools that report them.
func (in *Instance) Deliver(chunk []byte, tag string) Report {
	if err := in.ctx.Err(); err != nil {
		return Report{Code: Retry, Err: fmt.Errorf("instance closed: %w", err)}
	}
	recs := in.getRecords()
	defer in.putRecords(recs)

	res, err := in.conv.Convert(chunk, recs)
	if err != nil {
		in.log.Error("chunk dropped: it cannot be decoded", "tag", tag, "bytes", len(chunk), "error", err)
		return Report{Code: Error, Err: err}
	}
	rep := Report{Records: recs.Len(), Size: recs.Size(), Skipped: res.Skipped}
	if res.Skipped > 0 {
		in.stats.dropped.Add(int64(res.Skipped))
		// With schema asim a record that cannot be converted has no stream.
		stream := ""
		if len(in.streams) == 0 {
			stream = in.cfg.Client.Endpoint.Stream
		}
		in.metrics.skipped(stream, res.Skipped)
		in.log.Error("records dropped: they cannot be converted", "tag", tag, "count", res.Skipped, "first", res.Problem)
	}
	if res.Truncated > 0 {
		in.log.Warn("values truncated to the service's field limit", "tag", tag, "count", res.Truncated)
	}
	if res.Repeated > 0 {
		in.log.Warn("fields left out: their key was already written (a repeated key, or one the record's own data map has)", "tag", tag, "count", res.Repeated)
	}
	if recs.Len() == 0 {
		rep.Code = OK
		return rep
	}

	key, prog := in.progress.acquire(tag, chunk, recs.Len())
	resumed := prog.done.Any()
	ctx, cancel := context.WithTimeout(in.ctx, in.cfg.Timeout)
	out, streams := in.route(ctx, recs, prog.done)
	cancel()
	rep.Counts, rep.FirstErr, rep.Streams = out.Counts, out.FirstErr, streams
	in.stats.add(out.Counts)
	if len(out.Drops) > 0 {
		d := out.Drops[0]
		in.log.Error("records dropped", "tag", tag, "count", len(out.Drops), "first_record", d.Record, "first_bytes", d.Bytes, "reason", d.Reason)
	}
	if out.Err == nil {
		in.progress.release(key, prog, true)
		in.log.Debug("chunk sent", "tag", tag, "records", out.Accepted, "dropped", out.Dropped(), "requests", out.Requests, "resumed", resumed)
		rep.Code = OK
		return rep
	}
	in.progress.release(key, prog, false)
	in.stats.failedFlushes.Add(1)
	in.log.Warn("chunk not fully sent; Fluent Bit will retry it and only the pending records will be sent again",
		"tag", tag, "records", recs.Len(), "accepted", out.Accepted, "pending", prog.done.Pending(), "error", out.Err)
	rep.Code, rep.Err = Retry, out.Err
	return rep
}

// route sends the pending records: to the one stream, or for schema asim
// each record to the stream of its schema, one stream after the other. It
// returns the streams it sent to.
func (in *Instance) route(ctx context.Context, recs *convert.Records, done azmon.Progress) (azmon.Outcome, []string) {
	if len(in.streams) == 0 {
		out := in.client.Send(ctx, recs, done)
		in.metrics.settled(in.cfg.Client.Endpoint.Stream, out.Counts)
		return out, []string{in.cfg.Client.Endpoint.Stream}
	}
	var total azmon.Outcome
	var streams []string
	var errs []error
	for s, client := range in.streams {
		v := streamView{recs: recs}
		for i := range recs.Len() {
			if recs.Stream(i) == s && !done[i] {
				v.idx = append(v.idx, i)
			}
		}
		if len(v.idx) == 0 {
			continue
		}
		vdone := azmon.NewProgress(len(v.idx))
		out := client.Send(ctx, v, vdone)
		in.metrics.settled(in.cfg.ASIMStreams[s], out.Counts)
		streams = append(streams, in.cfg.ASIMStreams[s])
		if total.FirstErr == nil {
			total.FirstErr = out.FirstErr
		}
		for j, d := range vdone {
			done[v.idx[j]] = d
		}
		for i := range out.Drops {
			out.Drops[i].Record = v.idx[out.Drops[i].Record] // its index in the chunk
		}
		total.Add(out.Counts)
		if out.Err != nil {
			errs = append(errs, out.Err)
		}
	}
	total.Err = errors.Join(errs...)
	return total, streams
}

// streamView is the records of one stream, by their index in the chunk.
type streamView struct {
	recs *convert.Records
	idx  []int
}

func (v streamView) Len() int            { return len(v.idx) }
func (v streamView) Record(i int) []byte { return v.recs.Record(v.idx[i]) }

func (in *Instance) getRecords() *convert.Records {
	if r, ok := in.records.Get().(*convert.Records); ok {
		r.Reset()
		return r
	}
	return new(convert.Records)
}

func (in *Instance) putRecords(r *convert.Records) {
	if r.Size() <= maxPooledBuffer {
		in.records.Put(r)
	}
}

// logSummaries logs the counters at info level while they move.
func (in *Instance) logSummaries(every time.Duration) {
	defer in.wg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	var last Stats
	for {
		select {
		case <-in.ctx.Done():
			return
		case <-t.C:
		}
		cur := in.Stats()
		if cur == last {
			continue
		}
		last = cur
		in.log.Info("summary", "records", cur.Records, "requests", cur.Requests, "bytes", cur.Bytes, "retries", cur.Retries, "dropped", cur.Dropped, "failed_flushes", cur.FailedFlushes)
	}
}

// Stats returns the totals so far.
func (in *Instance) Stats() Stats {
	s := &in.stats
	return Stats{s.records.Load(), s.requests.Load(), s.bytes.Load(), s.retries.Load(), s.dropped.Load(), s.failedFlushes.Load()}
}

// Close cancels flushes in flight and releases the instance. It returns
// promptly.
func (in *Instance) Close() {
	in.cancel()
	in.wg.Wait()
	in.client.Close()
	s := in.Stats()
	in.log.Info("stopped", "records", s.Records, "requests", s.Requests, "bytes", s.Bytes, "retries", s.Retries, "dropped", s.Dropped)
}

// userAgent is the one place the User-Agent of the plugin's requests is
// composed: keeper-azmon/<Version>, then what the properties added (the
// Config's UserAgent, as they left it), then the caller's comment.
func userAgent(fromProperties, comment string) string {
	ua := "keeper-azmon/" + Version
	if fromProperties != "" {
		ua += " " + fromProperties
	}
	if comment != "" {
		ua += " (" + comment + ")"
	}
	return ua
}

// Version is the plugin's version, sent in the User-Agent.
const Version = "0.1.0"
