package plugin

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
)

// Registry holds the live instances of one loaded plugin by handle. Fluent
// Bit keeps only the handle (fluent-bit-go's context map never forgets an
// entry, so an instance kept there would outlive every hot reload), and
// FLBPluginExit can close the instances whose FLBPluginExitCtx never came.
// It also holds the log lines waiting for a host thread (see Drain). The
// zero value is ready to use.
type Registry struct {
	mu    sync.RWMutex
	next  int
	live  map[int]entry
	lines logQueue
}

type entry struct {
	in   *Instance
	host Host
}

// Host is what the process that loaded the plugin offers an instance
// besides its properties. Every part may be missing: in a program that
// embeds the plugin, or a Fluent Bit that does not export its functions.
type Host struct {
	// Name is the host's name for the instance: Fluent Bit's alias, else
	// keeper_azmon.<id> with its id among all outputs. "" means unknown:
	// the registry then counts keeper_azmon.N itself.
	Name string
	// Log is the host's logger, which takes lines only on the host's own
	// threads: lines wait in the registry until Drain. nil means stderr.
	Log LogSink
	// Level is the lowest level the host has on for the instance (with Log).
	Level slog.Level
	// Metrics is the instance's metrics registry; nil means none. If it is
	// an io.Closer, it is closed after the instance.
	Metrics Metrics
}

// Open builds the next instance from p and returns its handle. Its lines
// go to host.Log through the registry's queue, or else to stderr at the
// level in the KEEPER_AZMON_LOG_LEVEL environment variable (info by
// default). A config error is logged as one line naming the property, and
// returned.
func (r *Registry) Open(p Properties, host Host) (int, error) {
	r.mu.Lock()
	handle := r.next
	r.next++
	r.mu.Unlock()
	id := host.Name
	if id == "" {
		id = fmt.Sprintf("%s.%d", Name, handle)
	}

	opts := Options{ID: id, LogOutput: os.Stderr, LogLevel: host.Level, Metrics: host.Metrics}
	var lerr error
	if host.Log != nil {
		opts.LogSink = queuedSink{q: &r.lines, sink: host.Log}
	} else {
		opts.LogLevel, lerr = ParseLogLevel(os.Getenv("KEEPER_AZMON_LOG_LEVEL"))
	}
	in, err := New(p, opts)
	if err != nil {
		if opts.LogSink != nil {
			NewSinkLogger(opts.LogSink, id, slog.LevelError).Error("init failed: " + err.Error())
		} else {
			NewLogger(os.Stderr, id, slog.LevelInfo).Error("init failed: " + err.Error())
		}
		closeMetrics(host)
		return -1, err
	}
	if lerr != nil {
		in.log.Warn("KEEPER_AZMON_LOG_LEVEL ignored", "error", lerr)
	}
	if host.Metrics == nil {
		in.log.Info("no metrics: Fluent Bit's metrics functions are not reachable from this process; the counters are in the summary lines only")
	}
	r.mu.Lock()
	if r.live == nil {
		r.live = make(map[int]entry)
	}
	r.live[handle] = entry{in, host}
	r.mu.Unlock()
	return handle, nil
}

// Drain prints the log lines waiting for the host's thread. Every export
// calls it, on the Fluent Bit thread it runs on, so that lines from any
// goroutine reach Fluent Bit's logger in order.
func (r *Registry) Drain() { r.lines.drain() }

// closeMetrics releases a host's metrics registry once its instance is gone.
func closeMetrics(h Host) {
	if c, ok := h.Metrics.(io.Closer); ok {
		c.Close()
	}
}

// Get returns the live instance of a handle, or nil.
func (r *Registry) Get(handle int) *Instance {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.live[handle].in
}

// Close closes one instance and forgets it.
func (r *Registry) Close(handle int) {
	r.mu.Lock()
	e, ok := r.live[handle]
	delete(r.live, handle)
	r.mu.Unlock()
	if ok {
		e.in.Close()
		closeMetrics(e.host)
	}
}

// CloseAll closes every live instance.
func (r *Registry) CloseAll() {
	r.mu.Lock()
	all := make([]entry, 0, len(r.live))
	for _, e := range r.live {
		all = append(all, e)
	}
	r.live = nil
	r.mu.Unlock()
	for _, e := range all {
		e.in.Close()
		closeMetrics(e.host)
	}
}

// Stray logs a call for an instance the registry does not hold (closed, or
// never opened): Fluent Bit retries the chunk.
func Stray(where string) {
	NewLogger(os.Stderr, Name, slog.LevelWarn).Warn("call for an unknown or closed instance; Fluent Bit will retry the chunk", "in", where)
}

// Panic logs a recovered panic of an export.
func Panic(where string, v any) {
	NewLogger(os.Stderr, Name, slog.LevelError).Error("internal error recovered; please report it", "in", where, "panic", fmt.Sprint(v))
}
