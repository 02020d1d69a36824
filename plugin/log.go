package plugin

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// NewLogger returns a logger that writes lines in Fluent Bit's own format,
//
//	[2025/01/23 01:31:11.123] [ warn] [output:keeper_azmon:keeper_azmon.0] message key=value
//
// at level and above, so that the plugin's lines read like the core's.
func NewLogger(w io.Writer, instance string, level slog.Level) *slog.Logger {
	return newLogger(&stampedWriter{w: w}, instance, level)
}

// LogSink is a host's logger: it takes a line without time stamp or level
// (the host adds both) at a level. Fluent Bit's flb_log_print is one.
type LogSink interface {
	Print(level slog.Level, line string)
}

// NewSinkLogger returns a logger whose lines, each prefixed
// [output:keeper_azmon:<instance>], go to sink at level and above.
func NewSinkLogger(sink LogSink, instance string, level slog.Level) *slog.Logger {
	return newLogger(sinkWriter{sink}, instance, level)
}

func newLogger(out lineWriter, instance string, level slog.Level) *slog.Logger {
	return slog.New(&lineHandler{out: out, level: level, prefix: "[output:" + Name + ":" + instance + "] "})
}

// lineWriter takes each finished line of a logger.
type lineWriter interface {
	writeLine(level slog.Level, t time.Time, line string) error
}

// stampedWriter writes lines with Fluent Bit's time stamp and level label.
type stampedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *stampedWriter) writeLine(level slog.Level, t time.Time, line string) error {
	var b strings.Builder
	b.Grow(len(line) + 40)
	b.WriteString(t.Format("[2006/01/02 15:04:05.000] "))
	switch {
	case level >= slog.LevelError:
		b.WriteString("[error] ")
	case level >= slog.LevelWarn:
		b.WriteString("[ warn] ")
	case level >= slog.LevelInfo:
		b.WriteString("[ info] ")
	default:
		b.WriteString("[debug] ")
	}
	b.WriteString(line)
	b.WriteByte('\n')
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := io.WriteString(s.w, b.String())
	return err
}

// sinkWriter hands lines to a host's logger, which stamps them itself.
type sinkWriter struct{ sink LogSink }

func (s sinkWriter) writeLine(level slog.Level, _ time.Time, line string) error {
	s.sink.Print(level, line)
	return nil
}

// ParseLogLevel reads Fluent Bit's level names (off, error, warn, info, debug, trace).
func ParseLogLevel(s string) (slog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "info":
		return slog.LevelInfo, nil
	case "debug", "trace":
		return slog.LevelDebug, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	case "off":
		return slog.LevelError + 100, nil
	}
	return slog.LevelInfo, fmt.Errorf("unknown log level %q", s)
}

type lineHandler struct {
	out    lineWriter
	level  slog.Level
	prefix string
	attrs  string
}

func (h *lineHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *lineHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	t := r.Time
	if t.IsZero() {
		t = time.Now()
	}
	b.WriteString(h.prefix)
	b.WriteString(r.Message)
	b.WriteString(h.attrs)
	r.Attrs(func(a slog.Attr) bool {
		appendAttr(&b, a)
		return true
	})
	return h.out.writeLine(r.Level, t, b.String())
}

func appendAttr(b *strings.Builder, a slog.Attr) {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return
	}
	b.WriteByte(' ')
	b.WriteString(a.Key)
	b.WriteByte('=')
	v := a.Value.String()
	if a.Value.Kind() == slog.KindTime {
		v = a.Value.Time().UTC().Format(time.RFC3339)
	}
	v = strings.ReplaceAll(v, "\n", " ")
	if v == "" || strings.ContainsAny(v, " \"=") {
		fmt.Fprintf(b, "%q", v)
	} else {
		b.WriteString(v)
	}
}

func (h *lineHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	var b strings.Builder
	b.WriteString(h.attrs)
	for _, a := range attrs {
		appendAttr(&b, a)
	}
	c := *h
	c.attrs = b.String()
	return &c
}

func (h *lineHandler) WithGroup(string) slog.Handler { return h }
