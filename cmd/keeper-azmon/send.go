package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/keeper-azmon/keeper-azmon/internal/fbconfig"
	"github.com/keeper-azmon/keeper-azmon/plugin"
)

// Defaults of send.
const (
	defaultChunkBytes = 2 << 20 // Fluent Bit's chunks are about 2 MiB
	defaultRetries    = 5
	defaultRetryWait  = time.Second
	maxRetryWait      = time.Minute
	maxBadLinesShown  = 20
	maxLineBytes      = 16 << 20
)

// sendOptions are the flags of send.
type sendOptions struct {
	file, spec, tag string
	chunkBytes      int
	retries         int
	retryWait       time.Duration
	quiet, verbose  bool
}

// send is the `send` command.
func (a *app) send(ctx context.Context, args []string) int {
	o, name, code := a.sendFlags(args)
	if code >= 0 {
		return code
	}
	_, out, err := a.loadOutput(o.file, o.spec)
	if err != nil {
		fmt.Fprintf(a.stderr, "keeper-azmon send: %v\n", err)
		return exitConfig
	}
	input, name, size, closeInput, err := a.openInput(name)
	if err != nil {
		fmt.Fprintf(a.stderr, "keeper-azmon send: %v\n", err)
		return exitConfig
	}
	defer closeInput()

	prog := &meter{w: a.stdout, tty: isTerminal(a.stdout), quiet: o.quiet, total: size}
	in, code := a.sendInstance(out, o, prog)
	if in == nil {
		return code
	}
	defer in.Close()

	s := &sendRun{a: a, o: o, in: in, prog: prog}
	start := time.Now()
	runErr := s.run(ctx, input)
	prog.clear()
	return s.report(runErr, name, time.Since(start))
}

// sendFlags reads send's command line: the options and the input's name,
// or an exit code (>= 0) when the command line is wrong.
func (a *app) sendFlags(args []string) (o sendOptions, input string, code int) {
	fs := a.newFlags("send")
	fs.StringVar(&o.file, "c", "", "Fluent Bit configuration `file` (.conf or .yaml)")
	fs.StringVar(&o.spec, "output", "", "which keeper_azmon output: index, instance name or alias")
	fs.StringVar(&o.tag, "tag", "keeper.events", "Fluent Bit tag of the records")
	fs.IntVar(&o.chunkBytes, "chunk-bytes", defaultChunkBytes, "flush a chunk once it holds this many bytes of msgpack")
	fs.IntVar(&o.retries, "retries", defaultRetries, "retries of a chunk answered FLB_RETRY before giving up")
	fs.DurationVar(&o.retryWait, "retry-wait", defaultRetryWait, "first wait before a retry, doubled each time (at most 1m)")
	fs.BoolVar(&o.quiet, "q", false, "no progress, only the summary")
	fs.BoolVar(&o.verbose, "v", false, "write the plugin's info log lines to stderr")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return o, "", a.flagError(err)
	}
	if len(pos) != 1 {
		fmt.Fprintln(a.stderr, "keeper-azmon send: give one input: a JSON lines file, or - for stdin")
		return o, "", exitConfig
	}
	if o.chunkBytes < 1 || o.retries < 0 || o.retryWait < 0 {
		fmt.Fprintln(a.stderr, "keeper-azmon send: -chunk-bytes must be positive, -retries and -retry-wait not negative")
		return o, "", exitConfig
	}
	return o, pos[0], -1
}

// openInput opens the named JSON lines file, or stdin for "-", with its
// size when it is a regular file (0 otherwise).
func (a *app) openInput(name string) (r io.Reader, shown string, size int64, closeFn func(), err error) {
	if name == "-" {
		return a.stdin, "stdin", 0, func() {}, nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, name, 0, nil, err
	}
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		size = fi.Size()
	}
	return f, name, size, func() { f.Close() }, nil
}

// sendInstance builds the plugin instance send flushes to, its lines on
// stderr below the meter; nil and an exit code when the output is invalid.
func (a *app) sendInstance(out fbconfig.Output, o sendOptions, prog *meter) (*plugin.Instance, int) {
	logs := &clearingWriter{w: a.stderr, before: prog.clear}
	level := slog.LevelWarn
	if o.verbose {
		level = slog.LevelInfo
	}
	in, err := plugin.New(out.Properties(), plugin.Options{ID: out.Name, LogOutput: logs, LogLevel: level, Summary: -1, Getenv: a.getenv})
	if err != nil {
		fmt.Fprintf(a.stderr, "keeper-azmon send: invalid configuration (%s): %v\n", out.Label(), err)
		var ce *plugin.ConfigError
		if errors.As(err, &ce) {
			if note := unsetNote(out, ce.Property); note != "" {
				fmt.Fprintf(a.stderr, "  %s\n", note)
			}
		}
		return nil, exitConfig
	}
	return in, exitOK
}

// report prints send's summary and returns its exit code.
func (s *sendRun) report(runErr error, name string, took time.Duration) int {
	a, o := s.a, s.o
	stats := s.in.Stats()
	accepted, dropped := stats.Records, stats.Dropped

	ep := s.in.Config().Client.Endpoint
	streams := ep.Stream
	if len(s.streams) > 0 {
		streams = strings.Join(s.streams, ", ") // schema asim: every stream records went to
	}
	fmt.Fprintf(a.stdout, "sent %d of %d events from %s to %s (DCR %s) in %s, %s",
		accepted, s.events, name, streams, ep.DCRID, plural(s.chunks, "chunk"), took.Round(time.Millisecond))
	if s.bad > 0 {
		fmt.Fprintf(a.stdout, "; %s skipped", plural(s.bad, "bad line"))
	}
	if dropped > 0 {
		fmt.Fprintf(a.stdout, "; %d records dropped by the plugin (see its log lines)", dropped)
	}
	fmt.Fprintln(a.stdout)

	var gaveUp *gaveUpError
	switch {
	case errors.Is(runErr, context.Canceled):
		fmt.Fprintf(a.stderr, "keeper-azmon send: interrupted; events from line %d on were not sent\n", s.pendingFrom)
		return exitInterrupted
	case errors.As(runErr, &gaveUp):
		fmt.Fprintf(a.stderr, "keeper-azmon send: stopped: %v\n", gaveUp)
		fmt.Fprintf(a.stderr, "  run `keeper-azmon check -c %s` for a diagnosis\n", o.file)
		return classifyError(gaveUp.lastErr)
	case runErr != nil:
		fmt.Fprintf(a.stderr, "keeper-azmon send: %v\n", runErr)
		return exitConfig
	case s.bad > 0 || dropped > 0 || s.errorChunks > 0:
		return exitPartial
	}
	return exitOK
}

// sendRun is one send: it reads lines, builds chunks and flushes them.
type sendRun struct {
	a    *app
	o    sendOptions
	in   *plugin.Instance
	prog *meter

	events, bad, chunks, errorChunks int
	pendingFrom                      int      // first line not yet flushed
	streams                          []string // the streams records went to, in order of first use
}

// sentTo notes the streams a flush sent to.
func (s *sendRun) sentTo(streams []string) {
	for _, st := range streams {
		if !slices.Contains(s.streams, st) {
			s.streams = append(s.streams, st)
		}
	}
}

// gaveUpError is a chunk still not delivered after its retries.
type gaveUpError struct {
	first, last, retries int
	lastErr              error
}

func (e *gaveUpError) Error() string {
	s := fmt.Sprintf("the chunk of lines %d-%d was not delivered after %d retries; lines from %d on were not sent", e.first, e.last, e.retries, e.first)
	if e.lastErr != nil {
		s += ": " + e.lastErr.Error()
	}
	return s
}

// run reads the input to the end, flushing every full chunk.
func (s *sendRun) run(ctx context.Context, input io.Reader) error {
	br := bufio.NewReaderSize(input, 1<<20)
	var chunk []byte
	n, inChunk, first := 0, 0, 1
	var read int64
	for {
		if err := ctx.Err(); err != nil {
			s.pendingFrom = first
			return err
		}
		line, rerr := br.ReadBytes('\n')
		if len(line) > 0 {
			n++
			read += int64(len(line))
			if t := bytes.TrimSpace(line); len(t) > 0 {
				if inChunk == 0 {
					first = n
				}
				var err error
				if len(t) > maxLineBytes {
					err = fmt.Errorf("longer than %d bytes", maxLineBytes)
				} else {
					chunk, err = appendJSONRecord(chunk, t, time.Now())
				}
				if err != nil {
					s.badLine(n, err)
				} else {
					s.events++
					inChunk++
				}
			}
			s.prog.read(read, s.events, s.bad)
		}
		if rerr != nil && rerr != io.EOF {
			return fmt.Errorf("read line %d: %w", n+1, rerr)
		}
		if inChunk > 0 && (len(chunk) >= s.o.chunkBytes || rerr == io.EOF) {
			if err := s.flush(ctx, chunk, inChunk, first, n); err != nil {
				s.pendingFrom = first
				return err
			}
			chunk, inChunk = chunk[:0], 0
		}
		if rerr == io.EOF {
			return nil
		}
	}
}

// badLine reports a line that is skipped.
func (s *sendRun) badLine(n int, err error) {
	s.bad++
	if s.bad <= maxBadLinesShown {
		s.prog.clear()
		fmt.Fprintf(s.a.stderr, "line %d: %v (skipped)\n", n, err)
	} else if s.bad == maxBadLinesShown+1 {
		s.prog.clear()
		fmt.Fprintln(s.a.stderr, "more bad lines: not shown")
	}
}

// flush hands one chunk to the plugin as Fluent Bit would, retrying
// FLB_RETRY up to o.retries times with a doubling wait.
func (s *sendRun) flush(ctx context.Context, chunk []byte, events, first, last int) error {
	s.chunks++
	wait := s.o.retryWait
	for attempt := 0; ; attempt++ {
		rep := s.in.Deliver(chunk, s.o.tag)
		s.sentTo(rep.Streams)
		switch rep.Code {
		case plugin.OK:
			s.prog.chunkDone(s.chunks, events, s.in.Stats().Records)
			return nil
		case plugin.Error:
			s.errorChunks++
			s.prog.clear()
			fmt.Fprintf(s.a.stderr, "chunk %d (lines %d-%d) dropped: the plugin cannot decode it\n", s.chunks, first, last)
			return nil
		}
		if attempt >= s.o.retries {
			return &gaveUpError{first: first, last: last, retries: s.o.retries, lastErr: rep.Err}
		}
		s.prog.clear()
		fmt.Fprintf(s.a.stderr, "chunk %d (lines %d-%d) not fully sent; retry %d of %d in %s\n", s.chunks, first, last, attempt+1, s.o.retries, wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		wait = min(wait*2, maxRetryWait)
	}
}

// clearingWriter passes the plugin's log lines on, calling before (which
// clears the progress bar) ahead of each.
type clearingWriter struct {
	mu     sync.Mutex
	w      io.Writer
	before func()
}

func (c *clearingWriter) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.before != nil {
		c.before()
	}
	return c.w.Write(p)
}

// plural writes n and a noun, with an s unless n is 1.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// meter shows how far send is: a bar on a terminal, a line per chunk
// otherwise.
type meter struct {
	w     io.Writer
	tty   bool
	quiet bool
	total int64 // input size, 0 if unknown

	mu          sync.Mutex
	shown       bool // a bar is on the screen
	bytes       int64
	events, bad int
	sent        int64
	lastDraw    time.Time
}

// read notes the input read so far and redraws the bar now and then.
func (p *meter) read(bytes int64, events, bad int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.bytes, p.events, p.bad = bytes, events, bad
	if time.Since(p.lastDraw) > 100*time.Millisecond {
		p.draw()
	}
}

// chunkDone notes a delivered chunk.
func (p *meter) chunkDone(n, events int, sent int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sent = sent
	if p.quiet {
		return
	}
	if !p.tty {
		fmt.Fprintf(p.w, "chunk %d: %d events sent (%d in all)\n", n, events, sent)
		return
	}
	p.draw()
}

// draw writes the bar; the caller holds mu.
func (p *meter) draw() {
	if p.quiet || !p.tty {
		return
	}
	p.lastDraw = time.Now()
	var b strings.Builder
	b.WriteString("\r")
	if p.total > 0 {
		const width = 30
		frac := min(float64(p.bytes)/float64(p.total), 1)
		fill := int(frac * width)
		b.WriteString("[" + strings.Repeat("#", fill) + strings.Repeat(".", width-fill) + "]")
		fmt.Fprintf(&b, " %3d%%", int(frac*100))
	}
	fmt.Fprintf(&b, "  %d read, %d sent", p.events, p.sent)
	if p.bad > 0 {
		fmt.Fprintf(&b, ", %d bad lines", p.bad)
	}
	b.WriteString("\x1b[K")
	io.WriteString(p.w, b.String())
	p.shown = true
}

// clear removes the bar so that another line can be written.
func (p *meter) clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown {
		io.WriteString(p.w, "\r\x1b[K")
		p.shown = false
	}
}
