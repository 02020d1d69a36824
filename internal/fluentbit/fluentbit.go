// Package fluentbit reaches the functions of the Fluent Bit process that
// loaded the plugin: the instance's name (flb_output_name), its logger
// (flb_log_print, flb_output_log_check) and its metrics context
// (flb_output_get_cmt_instance and cmetrics' counters and histograms).
//
// The fluent-bit executable exports them (it is linked with
// ENABLE_EXPORTS), so they are looked up at run time with
// dlsym(RTLD_DEFAULT, ...), never linked against: the shared object keeps
// loading in any host, and where a function is missing (the tests' C host,
// a program that embeds the plugin, a Fluent Bit built without metrics)
// the part that needs it is left out of the plugin.Host.
package fluentbit

/*
#cgo LDFLAGS: -ldl
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>

// The head of struct flbgo_output_plugin (src/proxy/go/go.h), the same in
// every Fluent Bit since the Go proxy has had instances.
struct kz_go_output {
    char *name;
    void *api;
    void *o_ins;
    void *context;
};

typedef const char *(*kz_name_fn)(void *);
typedef int (*kz_log_check_fn)(void *, int);
typedef void (*kz_log_print_fn)(int, const char *, int, const char *, ...);
typedef void *(*kz_get_cmt_fn)(void *);
typedef void *(*kz_counter_create_fn)(void *, char *, char *, char *, char *, int, char **);
typedef int (*kz_counter_add_fn)(void *, uint64_t, double, int, char **);
typedef void *(*kz_buckets_create_fn)(double *, size_t);
typedef void *(*kz_histogram_create_fn)(void *, char *, char *, char *, char *, void *, int, char **);
typedef int (*kz_histogram_observe_fn)(void *, uint64_t, double, int, char **);

static void *kz_sym(const char *name) { return dlsym(RTLD_DEFAULT, name); }

static void *kz_instance(void *plugin) {
    return plugin ? ((struct kz_go_output *) plugin)->o_ins : NULL;
}

static const char *kz_name(void *fn, void *ins) { return ((kz_name_fn) fn)(ins); }

static int kz_log_check(void *fn, void *ins, int level) { return ((kz_log_check_fn) fn)(ins, level); }

// flb_log_print is variadic: Go cannot call it, and the line is data, not a format.
static void kz_log_print(void *fn, int level, const char *line) {
    ((kz_log_print_fn) fn)(level, "keeper_azmon", 0, "%s", line);
}

static void *kz_get_cmt(void *fn, void *ins) { return ((kz_get_cmt_fn) fn)(ins); }

static void *kz_counter_create(void *fn, void *cmt, char *ns, char *sub, char *name, char *help, int n, char **labels) {
    return ((kz_counter_create_fn) fn)(cmt, ns, sub, name, help, n, labels);
}

static int kz_counter_add(void *fn, void *c, uint64_t ts, double v, int n, char **values) {
    return ((kz_counter_add_fn) fn)(c, ts, v, n, values);
}

static void *kz_buckets_create(void *fn, double *b, size_t n) { return ((kz_buckets_create_fn) fn)(b, n); }

static void *kz_histogram_create(void *fn, void *cmt, char *ns, char *sub, char *name, char *help, void *buckets, int n, char **labels) {
    return ((kz_histogram_create_fn) fn)(cmt, ns, sub, name, help, buckets, n, labels);
}

static int kz_histogram_observe(void *fn, void *h, uint64_t ts, double v, int n, char **values) {
    return ((kz_histogram_observe_fn) fn)(h, ts, v, n, values);
}
*/
import "C"

import (
	"errors"
	"log/slog"
	"sync"
	"time"
	"unsafe"

	"github.com/keeper-azmon/keeper-azmon/plugin"
)

// Fluent Bit's log levels (include/fluent-bit/flb_log.h).
const (
	levelError = 1
	levelWarn  = 2
	levelInfo  = 3
	levelDebug = 4
	levelTrace = 5
)

// sym looks a function up in the process, nil if it is not there.
func sym(name string) unsafe.Pointer {
	cs := C.CString(name)
	defer C.free(unsafe.Pointer(cs))
	return C.kz_sym(cs)
}

// Host returns what the Fluent Bit process offers the output instance that
// FLBPluginInit received as p (a struct flbgo_output_plugin *). Call
// it inside FLBPluginInit.
func Host(p unsafe.Pointer) plugin.Host {
	var h pluginHost
	ins := C.kz_instance(p)
	if ins == nil {
		return h.Host
	}
	if fn := sym("flb_output_name"); fn != nil {
		if name := C.kz_name(fn, ins); name != nil {
			h.Name = C.GoString(name)
		}
	}
	h.logger(ins)
	h.metrics(ins)
	return h.Host
}

type pluginHost struct{ plugin.Host }

// logger sets Log and Level when Fluent Bit's logger is reachable.
func (h *pluginHost) logger(ins unsafe.Pointer) {
	print, check := sym("flb_log_print"), sym("flb_output_log_check")
	if print == nil || check == nil {
		return
	}
	h.Log = logSink{print}
	h.Level = slog.LevelError + 100 // log_level off
	for _, l := range []struct {
		flb   C.int
		level slog.Level
	}{{levelTrace, slog.LevelDebug - 4}, {levelDebug, slog.LevelDebug}, {levelInfo, slog.LevelInfo}, {levelWarn, slog.LevelWarn}, {levelError, slog.LevelError}} {
		if C.kz_log_check(check, ins, l.flb) != 0 {
			h.Level = l.level
			return
		}
	}
}

// logSink prints through flb_log_print. Fluent Bit's logger queues the line
// for its log worker (and so for log_file) only on a thread it created;
// plugin.Registry makes sure Print runs on one.
type logSink struct{ print unsafe.Pointer }

func (s logSink) Print(level slog.Level, line string) {
	l := levelError
	switch {
	case level >= slog.LevelError:
	case level >= slog.LevelWarn:
		l = levelWarn
	case level >= slog.LevelInfo:
		l = levelInfo
	case level >= slog.LevelDebug:
		l = levelDebug
	default:
		l = levelTrace
	}
	cs := C.CString(line)
	defer C.free(unsafe.Pointer(cs))
	C.kz_log_print(s.print, C.int(l), cs)
}

// metrics sets Metrics when the instance has a metrics context and
// cmetrics' functions are reachable.
func (h *pluginHost) metrics(ins unsafe.Pointer) {
	f := cmtFuncs{
		counterCreate:    sym("cmt_counter_create"),
		counterAdd:       sym("cmt_counter_add"),
		bucketsCreate:    sym("cmt_histogram_buckets_create_size"),
		histogramCreate:  sym("cmt_histogram_create"),
		histogramObserve: sym("cmt_histogram_observe"),
	}
	getCMT := sym("flb_output_get_cmt_instance")
	if getCMT == nil || f.counterCreate == nil || f.counterAdd == nil || f.bucketsCreate == nil || f.histogramCreate == nil || f.histogramObserve == nil {
		return
	}
	cmt := C.kz_get_cmt(getCMT, ins)
	if cmt == nil {
		return
	}
	h.Metrics = &registry{cmt: cmt, f: f}
}

type cmtFuncs struct {
	counterCreate, counterAdd, bucketsCreate, histogramCreate, histogramObserve unsafe.Pointer
}

// registry is an instance's cmetrics context. Its series are updated under
// one lock: cmetrics adds a label set to a series without locking of its
// own. After Close (the instance is gone, and Fluent Bit frees the context
// next) nothing is written.
type registry struct {
	mu     sync.Mutex
	cmt    unsafe.Pointer
	f      cmtFuncs
	closed bool
}

// Close stops every write to the context.
func (r *registry) Close() error {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	return nil
}

// cStrings copies ss into C memory; free releases it.
func cStrings(ss []string) (arr **C.char, free func()) {
	if len(ss) == 0 {
		return nil, func() {}
	}
	p := (**C.char)(C.malloc(C.size_t(len(ss)) * C.size_t(unsafe.Sizeof(uintptr(0)))))
	a := unsafe.Slice(p, len(ss))
	for i, s := range ss {
		a[i] = C.CString(s)
	}
	return p, func() {
		for _, s := range a {
			C.free(unsafe.Pointer(s))
		}
		C.free(unsafe.Pointer(p))
	}
}

func (r *registry) Counter(ns, sub, name, help string, labels []string) (plugin.Counter, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	names, free := cStrings([]string{ns, sub, name, help})
	defer free()
	keys, freeKeys := cStrings(labels)
	defer freeKeys()
	n := unsafe.Slice(names, 4)
	c := C.kz_counter_create(r.f.counterCreate, r.cmt, n[0], n[1], n[2], n[3], C.int(len(labels)), keys)
	if c == nil {
		return nil, errors.New("cmt_counter_create failed")
	}
	return series{r: r, p: c, labels: len(labels)}, nil
}

func (r *registry) Histogram(ns, sub, name, help string, buckets []float64, labels []string) (plugin.Histogram, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(buckets) == 0 {
		return nil, errors.New("no buckets")
	}
	b := C.kz_buckets_create(r.f.bucketsCreate, (*C.double)(unsafe.Pointer(&buckets[0])), C.size_t(len(buckets)))
	if b == nil {
		return nil, errors.New("cmt_histogram_buckets_create_size failed")
	}
	names, free := cStrings([]string{ns, sub, name, help})
	defer free()
	keys, freeKeys := cStrings(labels)
	defer freeKeys()
	n := unsafe.Slice(names, 4)
	h := C.kz_histogram_create(r.f.histogramCreate, r.cmt, n[0], n[1], n[2], n[3], b, C.int(len(labels)), keys)
	if h == nil {
		return nil, errors.New("cmt_histogram_create failed")
	}
	return series{r: r, p: h, labels: len(labels), histogram: true}, nil
}

// series is one counter or histogram of a registry.
type series struct {
	r         *registry
	p         unsafe.Pointer
	labels    int
	histogram bool
}

func (s series) Add(v float64, values ...string)     { s.update(v, values) }
func (s series) Observe(v float64, values ...string) { s.update(v, values) }

func (s series) update(v float64, values []string) {
	if len(values) != s.labels {
		return // a programming error; never write a label set cmetrics would misread
	}
	vals, free := cStrings(values)
	defer free()
	ts := C.uint64_t(time.Now().UnixNano())
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	if s.r.closed {
		return
	}
	if s.histogram {
		C.kz_histogram_observe(s.r.f.histogramObserve, s.p, ts, C.double(v), C.int(len(values)), vals)
	} else {
		C.kz_counter_add(s.r.f.counterAdd, s.p, ts, C.double(v), C.int(len(values)), vals)
	}
}
