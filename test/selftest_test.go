package test

// TestHostSelfTest checks the C host itself against a tiny stand-in plugin
// (testdata/stub), so that an end-to-end failure can be blamed on the
// plugin and not on the harness.

import (
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func goTool(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	if g := os.Getenv("GOROOT"); g != "" {
		return filepath.Join(g, "bin", "go")
	}
	t.Fatal("no go command: put it on PATH or set GOROOT")
	return ""
}

// buildStub builds testdata/stub as a c-shared object, with the plugin's
// build flags so that the build cache is shared with `make`.
func buildStub(t *testing.T) string {
	t.Helper()
	so := filepath.Join(t.TempDir(), "stub.so")
	cmd := exec.Command(goTool(t), "build", "-buildmode=c-shared", "-trimpath", "-o", so, "./testdata/stub")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the stub plugin: %v\n%s", err, out)
	}
	return so
}

func TestHostSelfTest(t *testing.T) {
	hostBin := os.Getenv("KEEPER_AZMON_HOST")
	if hostBin == "" {
		t.Skipf("KEEPER_AZMON_HOST is not set: %s", needMake)
	}
	if _, err := os.Stat(hostBin); err != nil {
		t.Fatalf("%v: %s", err, needMake)
	}
	h := startHostWith(t, hostBin, buildStub(t))

	// Protocol errors before and after registration.
	for _, cmd := range []string{"bogus", "new x", "init x", "flush x t /dev/null"} {
		if ans := h.do(cmd); !strings.HasPrefix(ans, "error ") {
			t.Errorf("%q before register: %q, want an error", cmd, ans)
		}
	}
	r := h.register()
	if r.rc != 0 || r.name != "flbhost_stub" || r.typ != 2 || r.proxy != 11 {
		t.Errorf("register: %q, want \"register 0 flbhost_stub 2 11\"", r.answer)
	}
	for _, cmd := range []string{"register", "new", "set", "set nope k v", "init nope", "flush", "pflush a t", "exitctx nope", "sync"} {
		if ans := h.do(cmd); !strings.HasPrefix(ans, "error ") {
			t.Errorf("%q: %q, want an error", cmd, ans)
		}
	}

	// Properties: case-insensitive keys, values trimmed, empty and missing
	// values read as nothing, the core's own keys never reach the plugin.
	probe := "Tenant_ID,spaced,empty,missing,host,Match,workers,tls.verify,net.keepalive,retry_limit"
	mark := h.logMark()
	h.ok("new a")
	if ans := h.do("new a"); !strings.HasPrefix(ans, "error ") {
		t.Errorf("second \"new a\": %q, want an error", ans)
	}
	for _, line := range []string{
		"set a probe " + probe,
		"set a TENANT_id   abc  def  ",
		"set a spaced hello world",
		"set a empty",
		"set a host example.com",
		"set a match *",
		"set a workers 4",
		"set a tls.verify off",
		"set a net.keepalive on",
		"set a retry_limit 3",
	} {
		h.ok(line)
	}
	if ans := h.do("flush a t /dev/null"); !strings.HasPrefix(ans, "error ") {
		t.Errorf("flush before init: %q, want an error", ans)
	}
	if rc := h.ints("init a")[0]; rc != 1 {
		t.Fatalf("init a: %d", rc)
	}
	log := h.logSince(mark)
	for _, want := range []string{
		"stub: i1 prop Tenant_ID=[abc  def]",
		"stub: i1 prop spaced=[hello world]",
		"stub: i1 prop empty=[]",
		"stub: i1 prop missing=[]",
		"stub: i1 prop host=[]",
		"stub: i1 prop Match=[]",
		"stub: i1 prop workers=[]",
		"stub: i1 prop tls.verify=[]",
		"stub: i1 prop net.keepalive=[]",
		"stub: i1 prop retry_limit=[]",
		"stub: this line went to stdout", // the plugin's stdout cannot break the protocol
	} {
		if !strings.Contains(log, want+"\n") {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, "flbhost:") {
		t.Errorf("the host complained:\n%s", log)
	}

	// Flush: the plugin gets exactly the file's bytes and the tag; the
	// buffer is poisoned once the flush returns.
	big := make([]byte, 1000)
	_, _ = rand.Read(big)
	sum := sha256.Sum256(big)
	mark = h.logMark()
	if rc := h.flush("a", "my.tag", big); rc != flbOK {
		t.Errorf("flush: %d", rc)
	}
	if rc := h.flush("a", "other.tag", []byte{0x90}); rc != flbOK {
		t.Errorf("flush: %d", rc)
	}
	log = h.logSince(mark)
	for _, want := range []string{
		fmt.Sprintf("stub: i1 flush tag=my.tag len=1000 sha256=%x", sum[:8]),
		"stub: i1 previous buffer poisoned=true",
		"stub: i1 flush tag=other.tag len=1 ",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if ans := h.do("flush a t /nonexistent/chunk"); !strings.HasPrefix(ans, "error ") {
		t.Errorf("flush of a missing file: %q, want an error", ans)
	}

	// A second instance has its own properties and context; pflush runs
	// the flushes at once and reports each result in order.
	h.ok("new b")
	h.ok("set b flush_rc 2")
	h.ok("set b flush_sleep 1s")
	if rc := h.ints("init b")[0]; rc != 1 {
		t.Fatalf("init b: %d", rc)
	}
	mark = h.logMark()
	rcs := h.pflush("b", "p.tag", big, []byte{1}, big, []byte{2, 3})
	wantRCs(t, "pflush", rcs, flbRetry, flbRetry, flbRetry, flbRetry)
	log = h.logSince(mark)
	if n := strings.Count(log, "stub: i2 flush tag=p.tag"); n != 4 {
		t.Errorf("%d flushes of instance b logged, want 4:\n%s", n, log)
	}
	if !regexp.MustCompile(`maxinflight=4\b`).MatchString(log) {
		t.Errorf("the four flushes did not overlap:\n%s", log)
	}

	// A failed init: Fluent Bit would never flush it.
	h.ok("new c")
	h.ok("set c init_rc 0")
	if rc := h.ints("init c")[0]; rc != 0 {
		t.Errorf("init c: %d, want 0", rc)
	}
	if ans := h.do("flush c t /dev/null"); !strings.HasPrefix(ans, "error ") {
		t.Errorf("flush of a failed instance: %q, want an error", ans)
	}

	// Shutdown: each context reaches its own exit.
	mark = h.logMark()
	if rc := h.ints("exitctx b")[0]; rc != 1 {
		t.Errorf("exitctx b: %d", rc)
	}
	if rc := h.ints("exitctx a")[0]; rc != 1 {
		t.Errorf("exitctx a: %d", rc)
	}
	if rc := h.ints("exit")[0]; rc != 1 {
		t.Errorf("exit: %d", rc)
	}
	h.ok("unregister")
	if ans := h.do("unregister"); !strings.HasPrefix(ans, "error ") {
		t.Errorf("second unregister: %q, want an error", ans)
	}
	log = h.logSince(mark)
	if !strings.Contains(log, "stub: exitctx i2\nstub: exitctx i1\nstub: exit\nstub: unregister\n") {
		t.Errorf("shutdown log:\n%s", log)
	}
}
