package plugin

import (
	"fmt"
	"log/slog"
	"os"
	"sync"
)

// Registry holds the live instances of one loaded plugin by handle. Fluent
// Bit keeps only the handle (fluent-bit-go's context map never forgets an
// entry, so an instance kept there would outlive every hot reload), and
// FLBPluginExit can close the instances whose FLBPluginExitCtx never came.
// The zero value is ready to use.
type Registry struct {
	mu   sync.RWMutex
	next int
	live map[int]*Instance
}

// Open builds the next instance from p, named keeper_azmon.N like Fluent
// Bit's own instances, logging to stderr at the level in the
// KEEPER_AZMON_LOG_LEVEL environment variable (info by default), and
// returns its handle. A config error is logged as one line naming the
// property, and returned.
func (r *Registry) Open(p Properties) (int, error) {
	r.mu.Lock()
	handle := r.next
	id := fmt.Sprintf("%s.%d", Name, handle)
	r.next++
	r.mu.Unlock()

	level, lerr := ParseLogLevel(os.Getenv("KEEPER_AZMON_LOG_LEVEL"))
	opts := Options{ID: id, LogOutput: os.Stderr, LogLevel: level}
	in, err := New(p, opts)
	if err != nil {
		NewLogger(os.Stderr, id, slog.LevelInfo).Error("init failed: " + err.Error())
		return -1, err
	}
	if lerr != nil {
		in.log.Warn("KEEPER_AZMON_LOG_LEVEL ignored", "error", lerr)
	}
	r.mu.Lock()
	if r.live == nil {
		r.live = make(map[int]*Instance)
	}
	r.live[handle] = in
	r.mu.Unlock()
	return handle, nil
}

// Get returns the live instance of a handle, or nil.
func (r *Registry) Get(handle int) *Instance {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.live[handle]
}

// Close closes one instance and forgets it.
func (r *Registry) Close(handle int) {
	r.mu.Lock()
	in := r.live[handle]
	delete(r.live, handle)
	r.mu.Unlock()
	if in != nil {
		in.Close()
	}
}

// CloseAll closes every live instance.
func (r *Registry) CloseAll() {
	r.mu.Lock()
	all := make([]*Instance, 0, len(r.live))
	for _, in := range r.live {
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
