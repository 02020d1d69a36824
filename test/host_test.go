package test

// A driver for test/flbhost, the C program that loads the plugin the way
// Fluent Bit's Go proxy does. See the comment at the top of flbhost.c for the
// line protocol.

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keeper-azmon/keeper-azmon/internal/testkit"
)

// Fluent Bit's flush result codes.
const (
	flbError = 0
	flbOK    = 1
	flbRetry = 2
)

// answerTimeout bounds one command; flushes against a faulty emulator may
// take several plugin timeouts, never minutes.
const answerTimeout = 2 * time.Minute

const needMake = "run `make test` (it builds the plugin and the C host)"

// hostPaths returns the C host and plugin from the environment `make test`
// sets up, or fails the test.
func hostPaths(t testing.TB) (hostBin, plugin string) {
	t.Helper()
	hostBin, plugin = os.Getenv("KEEPER_AZMON_HOST"), os.Getenv("KEEPER_AZMON_PLUGIN")
	if hostBin == "" || plugin == "" {
		t.Fatalf("KEEPER_AZMON_HOST or KEEPER_AZMON_PLUGIN is not set: %s", needMake)
	}
	for _, p := range []string{hostBin, plugin} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%v: %s", err, needMake)
		}
	}
	return hostBin, plugin
}

type host struct {
	t      testing.TB
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan string
	stderr *testkit.SyncBuffer
	exited chan struct{} // closed once the process is gone
	err    error         // its wait status, valid after exited
	dir    string
	nfiles int
	nsync  int

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
	h := &host{
		t:      t,
		lines:  make(chan string, 16),
		stderr: &testkit.SyncBuffer{},
		exited: make(chan struct{}),
		dir:    t.TempDir(),
	}
	h.cmd = exec.Command(hostBin, plugin)
	h.cmd.Stderr = h.stderr
	// Debug logging (the plugin's KEEPER_AZMON_LOG_LEVEL) so that the
	// secret checks see every line the plugin can write.
	h.cmd.Env = append(os.Environ(), "GOTRACEBACK=all", "KEEPER_AZMON_LOG_LEVEL=debug")
	stdin, err := h.cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := h.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	h.stdin = stdin
	if err := h.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", hostBin, err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			h.lines <- sc.Text()
		}
		close(h.lines)
	}()
	go func() {
		h.err = h.cmd.Wait()
		close(h.exited)
	}()
	t.Cleanup(h.shutdown)
	return h
}

// shutdown asks the host to quit, kills it if it does not, and reports a
// crash, a leaked secret, and on failure the plugin's log.
func (h *host) shutdown() {
	t := h.t
	select {
	case <-h.exited:
	default:
		_, _ = io.WriteString(h.stdin, "quit\n")
		_ = h.stdin.Close()
		select {
		case <-h.exited:
		case <-time.After(30 * time.Second):
			_ = h.cmd.Process.Kill()
			<-h.exited
			t.Errorf("flbhost did not quit within 30s; killed it")
		}
	}
	if h.err != nil {
		t.Errorf("flbhost ended badly: %v", h.err)
	}
	h.checkSecrets()
	if t.Failed() {
		t.Logf("flbhost stderr (plugin log):\n%s", tail(stripSync(h.stderr.String()), 16384))
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "...\n" + s[len(s)-n:]
}

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
	out := h.stderr.String()
	for _, s := range secrets {
		if strings.Contains(out, s) {
			h.t.Errorf("a secret (%.4s...) appears in the plugin's output", s)
		}
	}
}

// do sends one command line and returns the host's one-line answer.
func (h *host) do(cmd string) string {
	h.t.Helper()
	if strings.ContainsAny(cmd, "\n\x00") {
		h.t.Fatalf("bad command %q", cmd)
	}
	if _, err := io.WriteString(h.stdin, cmd+"\n"); err != nil {
		h.dead(cmd, err)
	}
	select {
	case line, ok := <-h.lines:
		if !ok {
			<-h.exited
			h.dead(cmd, errors.New("no answer"))
		}
		return line
	case <-time.After(answerTimeout):
		h.t.Fatalf("%q: no answer within %v; plugin log:\n%s", cmd, answerTimeout, tail(h.stderr.String(), 8192))
	}
	return ""
}

func (h *host) dead(cmd string, err error) {
	h.t.Helper()
	select {
	case <-h.exited:
		err = fmt.Errorf("%v (host exited: %v)", err, h.err)
	case <-time.After(5 * time.Second):
	}
	h.t.Fatalf("%q: %v; plugin log:\n%s", cmd, err, tail(h.stderr.String(), 16384))
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
		h.t.Fatalf("init %s = %d, want %d (FLB_OK); plugin log:\n%s", id, rc, flbOK, tail(h.stderr.String(), 4096))
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
// been collected: the host writes a marker line to stderr after the
// plugin's lines, and this waits for the marker.
func (h *host) syncLog() {
	h.t.Helper()
	h.mu.Lock()
	h.nsync++
	token := strconv.Itoa(h.nsync)
	h.mu.Unlock()
	if ans := h.do("sync " + token); ans != "sync "+token {
		h.t.Fatalf("sync: answer %q", ans)
	}
	marker := "flbhost: sync " + token + "\n"
	deadline := time.Now().Add(answerTimeout)
	for !strings.Contains(h.stderr.String(), marker) {
		if time.Now().After(deadline) {
			h.t.Fatalf("the host's stderr marker %q never arrived", marker)
		}
		time.Sleep(time.Millisecond)
	}
}

// log returns the plugin's whole log so far.
func (h *host) log() string {
	h.syncLog()
	return stripSync(h.stderr.String())
}

// logMark and logSince cut the plugin's log into the part one step wrote.
func (h *host) logMark() int {
	h.syncLog()
	return h.stderr.Len()
}

func (h *host) logSince(mark int) string {
	h.syncLog()
	s := h.stderr.String()
	if mark > len(s) {
		return ""
	}
	return stripSync(s[mark:])
}

// stripSync removes the host's sync marker lines.
func stripSync(s string) string {
	if !strings.Contains(s, "flbhost: sync ") {
		return s
	}
	lines := strings.SplitAfter(s, "\n")
	out := lines[:0]
	for _, l := range lines {
		if !strings.HasPrefix(l, "flbhost: sync ") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "")
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
