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
//	[2025/01/23 01:31:11] [ warn] [output:keeper_azmon:keeper_azmon.0] message key=value
//
// at level and above, so that the plugin's lines read like the core's.
func NewLogger(w io.Writer, instance string, level slog.Level) *slog.Logger {
	return slog.New(&lineHandler{w: w, mu: new(sync.Mutex), level: level, prefix: "[output:" + Name + ":" + instance + "] "})
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
	w      io.Writer
	mu     *sync.Mutex
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
	b.WriteString(t.Format("[2006/01/02 15:04:05] "))
	switch {
	case r.Level >= slog.LevelError:
		b.WriteString("[error] ")
	case r.Level >= slog.LevelWarn:
		b.WriteString("[ warn] ")
	case r.Level >= slog.LevelInfo:
		b.WriteString("[ info] ")
	default:
		b.WriteString("[debug] ")
	}
	b.WriteString(h.prefix)
	b.WriteString(r.Message)
	b.WriteString(h.attrs)
	r.Attrs(func(a slog.Attr) bool {
		appendAttr(&b, a)
		return true
	})
	b.WriteByte('\n')
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := io.WriteString(h.w, b.String())
	return err
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
