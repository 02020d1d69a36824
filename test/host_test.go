package test

// The end-to-end tests' use of test/flbhost, the C program that loads the
// plugin the way Fluent Bit's Go proxy does, through internal/flbhost (see
// the comment at the top of flbhost.c for the line protocol): commands that
// fail the test, chunk files, secret checks and the plugin's log.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/keeper-azmon/keeper-azmon/internal/flbhost"
)

// Fluent Bit's flush result codes.
const (
	flbError = flbhost.Error
	flbOK    = flbhost.OK
	flbRetry = flbhost.Retry
)

const needMake = "run `make test` (it builds the plugin and the C host)"

// hostPaths returns the C host and plugin from the environment `make test`
// sets up. Without it (a bare `go test ./...`) the test is skipped, saying
// so; with it, a missing file fails the test.
func hostPaths(t testing.TB) (hostBin, plugin string) {
	t.Helper()
	hostBin, plugin = os.Getenv("KEEPER_AZMON_HOST"), os.Getenv("KEEPER_AZMON_PLUGIN")
	if hostBin == "" || plugin == "" {
		t.Skipf("KEEPER_AZMON_HOST or KEEPER_AZMON_PLUGIN is not set: %s", needMake)
	}
	for _, p := range []string{hostBin, plugin} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%v: %s", err, needMake)
		}
	}
	return hostBin, plugin
}

// host is a flbhost.Host whose commands fail the test instead of returning
// errors, with the plugin's secrets to watch for and the chunk files it was
// handed.
type host struct {
	*flbhost.Host
	t      testing.TB
	dir    string
	nfiles int

	mu      sync.Mutex
	secrets []string // must never show up in the host's output
}

// startHost runs $KEEPER_AZMON_HOST with $KEEPER_AZMON_PLUGIN; it is shut
// down when the test ends.
func startHost(t testing.TB) *host {
	t.Helper()
	hostBin, plugin := hostPaths(t)
	return startHostWith(t, hostBin, plugin)
}

func startHostWith(t testing.TB, hostBin, plugin string) *host {
	t.Helper()
	dir := t.TempDir()
	// Debug logging (the plugin's KEEPER_AZMON_LOG_LEVEL) so that the
	// secret checks see every line the plugin can write.
	fh, err := flbhost.Start(t, hostBin, plugin, "GOTRACEBACK=all", "KEEPER_AZMON_LOG_LEVEL=debug")
	if err != nil {
		t.Fatal(err)
	}
	h := &host{Host: fh, t: t, dir: dir}
	t.Cleanup(h.shutdown) // runs before Start's own cleanup
	return h
}

// shutdown asks the host to quit, kills it if it does not, and reports a
// crash, a leaked secret, and on failure the plugin's log.
func (h *host) shutdown() {
	t := h.t
	if err := h.Close(); err != nil {
		t.Errorf("flbhost: %v", err)
	}
	h.checkSecrets()
	if t.Failed() {
		t.Logf("flbhost stderr (plugin log):\n%s", tail(flbhost.StripSync(h.Stderr().String()), 16384))
	}
}

func tail(s string, n int) string { return flbhost.Tail(s, n) }

// forbid records strings (secrets) that must never appear in the plugin's
// output; checked when the host shuts down and by checkSecrets.
func (h *host) forbid(secrets ...string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, s := range secrets {
		if s != "" {
			h.secrets = append(h.secrets, s)
		}
	}
}

func (h *host) checkSecrets() {
	h.t.Helper()
	h.mu.Lock()
	secrets := append([]string(nil), h.secrets...)
	h.mu.Unlock()
	out := h.Stderr().String()
	for _, s := range secrets {
		if strings.Contains(out, s) {
			h.t.Errorf("a secret (%.4s...) appears in the plugin's output", s)
		}
	}
}

// do sends one command line and returns the host's one-line answer.
func (h *host) do(cmd string) string {
	h.t.Helper()
	ans, err := h.Do(cmd)
	if err != nil {
		h.t.Fatal(err)
	}
	return ans
}

// ints sends cmd and requires the answer to be the command's verb followed
// by integers, which it returns.
func (h *host) ints(cmd string) []int {
	h.t.Helper()
	ans := h.do(cmd)
	verb := strings.Fields(cmd)[0]
	f := strings.Fields(ans)
	if len(f) < 2 || f[0] != verb {
		h.t.Fatalf("%q: answer %q", cmd, ans)
	}
	out := make([]int, 0, len(f)-1)
	for _, s := range f[1:] {
		n, err := strconv.Atoi(s)
		if err != nil {
			h.t.Fatalf("%q: answer %q", cmd, ans)
		}
		out = append(out, n)
	}
	return out
}

func (h *host) ok(cmd string) {
	h.t.Helper()
	want := strings.Fields(cmd)[0] + " ok"
	if ans := h.do(cmd); ans != want {
		h.t.Fatalf("%q: answer %q, want %q", cmd, ans, want)
	}
}

// registration is the answer to "register": FLBPluginRegister's result
// and what it wrote into struct flb_plugin_proxy_def.
type registration struct {
	rc         int
	name       string
	typ, proxy int
	answer     string
}

func (h *host) register() registration {
	h.t.Helper()
	ans := h.do("register")
	r := registration{answer: ans}
	f := strings.Fields(ans)
	var err error
	if len(f) != 5 || f[0] != "register" {
		err = errors.New("malformed")
	} else {
		r.name = f[2]
		var e1, e2, e3 error
		r.rc, e1 = strconv.Atoi(f[1])
		r.typ, e2 = strconv.Atoi(f[3])
		r.proxy, e3 = strconv.Atoi(f[4])
		err = errors.Join(e1, e2, e3)
	}
	if err != nil {
		h.t.Fatalf("register: answer %q", ans)
	}
	return r
}

// prop is one [OUTPUT] property; props keep their order.
type prop struct{ key, val string }

// newInstance creates instance id with props and runs FLBPluginInit;
// it returns the init result (1 = FLB_OK).
func (h *host) newInstance(id string, props []prop) int {
	h.t.Helper()
	h.ok("new " + id)
	for _, p := range props {
		if strings.ContainsAny(p.key, " \n") || strings.Contains(p.val, "\n") {
			h.t.Fatalf("property %q=%q cannot be sent", p.key, p.val)
		}
		h.ok("set " + id + " " + p.key + " " + p.val)
	}
	return h.ints("init " + id)[0]
}

// mustInstance is newInstance that requires FLB_OK.
func (h *host) mustInstance(id string, props []prop) {
	h.t.Helper()
	if rc := h.newInstance(id, props); rc != flbOK {
		h.t.Fatalf("init %s = %d, want %d (FLB_OK); plugin log:\n%s", id, rc, flbOK, h.LogTail(4096))
	}
}

func (h *host) chunkFile(chunk []byte) string {
	h.t.Helper()
	h.mu.Lock()
	h.nfiles++
	name := filepath.Join(h.dir, fmt.Sprintf("chunk-%05d.msgpack", h.nfiles))
	h.mu.Unlock()
	if err := os.WriteFile(name, chunk, 0o600); err != nil {
		h.t.Fatal(err)
	}
	return name
}

// flush hands one chunk to instance id and returns the plugin's result.
func (h *host) flush(id, tag string, chunk []byte) int {
	h.t.Helper()
	return h.ints("flush " + id + " " + tag + " " + h.chunkFile(chunk))[0]
}

// pflush hands all chunks to instance id at once, each on its own thread,
// and returns the results in order.
func (h *host) pflush(id, tag string, chunks ...[]byte) []int {
	h.t.Helper()
	files := make([]string, len(chunks))
	for i, c := range chunks {
		files[i] = h.chunkFile(c)
	}
	rcs := h.ints("pflush " + id + " " + tag + " " + strings.Join(files, " "))
	if len(rcs) != len(chunks) {
		h.t.Fatalf("pflush: %d results for %d chunks", len(rcs), len(chunks))
	}
	return rcs
}

// flushUntilDone flushes chunk again while the plugin answers FLB_RETRY, as
// Fluent Bit's scheduler would, at most tries times; it returns all results.
func (h *host) flushUntilDone(id, tag string, chunk []byte, tries int) []int {
	h.t.Helper()
	var rcs []int
	for i := 0; i < tries; i++ {
		rc := h.flush(id, tag, chunk)
		rcs = append(rcs, rc)
		if rc != flbRetry {
			break
		}
	}
	return rcs
}

// syncLog waits until everything the plugin wrote to stderr so far has
// been collected (see flbhost.Host.Sync).
func (h *host) syncLog() {
	h.t.Helper()
	if err := h.Sync(); err != nil {
		h.t.Fatal(err)
	}
}

// log returns the plugin's whole log so far.
func (h *host) log() string {
	h.syncLog()
	return flbhost.StripSync(h.Stderr().String())
}

// logMark and logSince cut the plugin's log into the part one step wrote.
func (h *host) logMark() int {
	h.syncLog()
	return h.Stderr().Len()
}

func (h *host) logSince(mark int) string {
	h.syncLog()
	s := h.Stderr().String()
	if mark > len(s) {
		return ""
	}
	return flbhost.StripSync(s[mark:])
}

func rcName(rc int) string {
	switch rc {
	case flbError:
		return "FLB_ERROR"
	case flbOK:
		return "FLB_OK"
	case flbRetry:
		return "FLB_RETRY"
	}
	return strconv.Itoa(rc)
}
