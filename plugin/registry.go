package plugin

import (
	"fmt"
	"log/slog"
	"os"
	"sync"
)

// Registry holds the live instances of one loaded plugin, so that
// FLBPluginExit can close those whose FLBPluginExitCtx never came. The zero
// value is ready to use.
type Registry struct {
	mu   sync.Mutex
	next int
	live map[*Instance]struct{}
}

// Open builds the next instance from p, named keeper_azmon.N like Fluent
// Bit's own instances, logging to stderr at the level in the
// KEEPER_AZMON_LOG_LEVEL environment variable (info by default). A config
// error is logged as one line naming the property, and returned.
func (r *Registry) Open(p Properties) (*Instance, error) {
	r.mu.Lock()
	id := fmt.Sprintf("%s.%d", Name, r.next)
	r.next++
	r.mu.Unlock()

	level, lerr := ParseLogLevel(os.Getenv("KEEPER_AZMON_LOG_LEVEL"))
	opts := Options{ID: id, LogOutput: os.Stderr, LogLevel: level}
	in, err := New(p, opts)
	if err != nil {
		NewLogger(os.Stderr, id, slog.LevelInfo).Error("init failed: " + err.Error())
		return nil, err
	}
	if lerr != nil {
		in.log.Warn("KEEPER_AZMON_LOG_LEVEL ignored", "error", lerr)
	}
	r.mu.Lock()
	if r.live == nil {
		r.live = make(map[*Instance]struct{})
	}
	r.live[in] = struct{}{}
	r.mu.Unlock()
	return in, nil
}

// Close closes one instance and forgets it.
func (r *Registry) Close(in *Instance) {
	r.mu.Lock()
	_, ok := r.live[in]
	delete(r.live, in)
	r.mu.Unlock()
	if ok {
		in.Close()
	}
}

// CloseAll closes every live instance.
func (r *Registry) CloseAll() {
	r.mu.Lock()
	all := make([]*Instance, 0, len(r.live))
	for in := range r.live {
		all = append(all, in)
	}
	r.live = nil
	r.mu.Unlock()
	for _, in := range all {
		in.Close()
	}
}

// Panic logs a recovered panic of an export.
func Panic(where string, v any) {
	NewLogger(os.Stderr, Name, slog.LevelError).Error("internal error recovered; please report it", "in", where, "panic", fmt.Sprint(v))
}
