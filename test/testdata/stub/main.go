// Command stub is a tiny Fluent Bit Go output plugin used only to check the
// test host (test/flbhost.c) itself: TestHostSelfTest builds it with
// -buildmode=c-shared and drives it through the host. It reports what it
// sees on stderr as "stub: ..." lines.
//
// Properties: probe (comma-separated keys to read and report), init_rc,
// flush_rc, flush_sleep (a duration, to overlap concurrent flushes).
package main

import (
	"C"
	"crypto/sha256"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/fluent/fluent-bit-go/output"
)

type instance struct {
	name    string
	flushRC int
	sleep   time.Duration

	mu   sync.Mutex
	kept []byte // a slice into the previous flush's buffer, kept on purpose
}

var (
	nextID   atomic.Int64
	inFlight atomic.Int64
	maxSeen  atomic.Int64
)

//export FLBPluginRegister
func FLBPluginRegister(def unsafe.Pointer) int {
	return output.FLBPluginRegister(def, "flbhost_stub", "test stub for flbhost")
}

//export FLBPluginInit
func FLBPluginInit(plugin unsafe.Pointer) int {
	in := &instance{name: "i" + strconv.FormatInt(nextID.Add(1), 10), flushRC: output.FLB_OK}
	if keys := output.FLBPluginConfigKey(plugin, "probe"); keys != "" {
		for _, k := range strings.Split(keys, ",") {
			fmt.Fprintf(os.Stderr, "stub: %s prop %s=[%s]\n", in.name, k, output.FLBPluginConfigKey(plugin, k))
		}
	}
	if v := output.FLBPluginConfigKey(plugin, "flush_rc"); v != "" {
		in.flushRC, _ = strconv.Atoi(v)
	}
	if v := output.FLBPluginConfigKey(plugin, "flush_sleep"); v != "" {
		in.sleep, _ = time.ParseDuration(v)
	}
	fmt.Println("stub: this line went to stdout")
	rc := output.FLB_OK
	if v := output.FLBPluginConfigKey(plugin, "init_rc"); v != "" {
		rc, _ = strconv.Atoi(v)
	}
	if rc == output.FLB_OK {
		output.FLBPluginSetContext(plugin, in)
	}
	fmt.Fprintf(os.Stderr, "stub: %s init\n", in.name)
	return rc
}

//export FLBPluginFlushCtx
func FLBPluginFlushCtx(ctx, data unsafe.Pointer, length C.int, tag *C.char) int {
	in, ok := output.FLBPluginGetContext(ctx).(*instance)
	if !ok {
		fmt.Fprintln(os.Stderr, "stub: flush with unknown context")
		return output.FLB_ERROR
	}
	n := inFlight.Add(1)
	for m := maxSeen.Load(); n > m && !maxSeen.CompareAndSwap(m, n); m = maxSeen.Load() {
	}
	defer inFlight.Add(-1)

	buf := unsafe.Slice((*byte)(data), int(length))
	sum := sha256.Sum256(buf)
	in.mu.Lock()
	if in.kept != nil && in.sleep == 0 {
		poisoned := true
		for _, b := range in.kept {
			if b != 0xA5 {
				poisoned = false
			}
		}
		fmt.Fprintf(os.Stderr, "stub: %s previous buffer poisoned=%v\n", in.name, poisoned)
	}
	in.kept = nil
	if len(buf) >= 64 {
		// The middle: free() reuses a chunk's first bytes for its lists.
		in.kept = buf[len(buf)/2 : len(buf)/2+16]
	}
	in.mu.Unlock()
	time.Sleep(in.sleep)
	fmt.Fprintf(os.Stderr, "stub: %s flush tag=%s len=%d sha256=%x maxinflight=%d\n",
		in.name, C.GoString(tag), len(buf), sum[:8], maxSeen.Load())
	return in.flushRC
}

//export FLBPluginExitCtx
func FLBPluginExitCtx(ctx unsafe.Pointer) int {
	in, _ := output.FLBPluginGetContext(ctx).(*instance)
	name := "nil"
	if in != nil {
		name = in.name
	}
	fmt.Fprintf(os.Stderr, "stub: exitctx %s\n", name)
	return output.FLB_OK
}

//export FLBPluginExit
func FLBPluginExit() int {
	fmt.Fprintln(os.Stderr, "stub: exit")
	return output.FLB_OK
}

//export FLBPluginUnregister
func FLBPluginUnregister(def unsafe.Pointer) {
	fmt.Fprintln(os.Stderr, "stub: unregister")
	output.FLBPluginUnregister(def)
}

func main() {}
