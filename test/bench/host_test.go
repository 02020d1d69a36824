package bench

// The benchmarks' use of test/flbhost, the C program that loads a Go output
// plugin the way Fluent Bit's Go proxy does, through internal/flbhost: one
// plugin instance per host, and readers of the host process's CPU time and
// memory from /proc. Its methods return errors rather than failing a test,
// so that one host can serve several runs of a sub-benchmark.

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keeper-azmon/keeper-azmon/internal/flbhost"
)

// flbOK is Fluent Bit's FLB_OK.
const flbOK = flbhost.OK

// userHZ is the unit of utime and stime in /proc/<pid>/stat (USER_HZ, 100
// on every Linux architecture Go supports).
const userHZ = 100

// needMake says how to get the environment the host benchmarks need.
const needMake = "KEEPER_AZMON_HOST and KEEPER_AZMON_PLUGIN are not set; `make test` and `make bench` set them (they build out_keeper_azmon.so and test/flbhost)"

// hostEnv returns the C host and the plugin from the environment, or skips.
func hostEnv(tb testing.TB) (hostBin, plugin string) {
	tb.Helper()
	if runtime.GOOS != "linux" {
		tb.Skip("the host measurements read /proc: Linux only")
	}
	hostBin, plugin = os.Getenv("KEEPER_AZMON_HOST"), os.Getenv("KEEPER_AZMON_PLUGIN")
	if hostBin == "" || plugin == "" {
		tb.Skip(needMake)
	}
	for _, p := range []string{hostBin, plugin} {
		if _, err := os.Stat(p); err != nil {
			tb.Fatalf("%v (run `make`)", err)
		}
	}
	return hostBin, plugin
}

// baselinePlugin returns the baseline plugin: $KEEPER_AZMON_BASELINE when
// set, else a fresh build of ../baseline into dir (a few seconds when the
// build cache is warm), so that it is never stale.
func baselinePlugin(dir string) (string, error) {
	if p := os.Getenv("KEEPER_AZMON_BASELINE"); p != "" {
		_, err := os.Stat(p)
		return p, err
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		if g := os.Getenv("GOROOT"); g != "" {
			goBin = filepath.Join(g, "bin", "go")
		} else {
			return "", fmt.Errorf("no go command to build the baseline: put it on PATH or set GOROOT: %w", err)
		}
	}
	out := filepath.Join(dir, "baseline.so")
	cmd := exec.Command(goBin, "build", "-buildmode=c-shared", "-trimpath", "-o", out, "../baseline")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ../baseline: %w\n%s", err, msg)
	}
	return out, nil
}

// host is one running flbhost process with one plugin loaded and one
// initialised instance "0".
type host struct {
	*flbhost.Host
}

// startHost runs hostBin with plugin, registers the plugin and creates one
// initialised instance "0" with props. The host quits when tb's test or
// benchmark ends (tb may be a parent of the benchmarks that use the host).
func startHost(tb testing.TB, hostBin, plugin string, props map[string]string) (*host, error) {
	fh, err := flbhost.Start(tb, hostBin, plugin, "KEEPER_AZMON_LOG_LEVEL=warn")
	if err != nil {
		return nil, err
	}
	h := &host{fh}
	// Runs before Start's own cleanup, which then has nothing left to do.
	tb.Cleanup(func() {
		if err := h.stop(); err != nil {
			tb.Errorf("flbhost %s: %v; its log:\n%s", filepath.Base(plugin), err, h.logTail())
		}
	})

	ans, err := h.Do("register")
	if err != nil {
		return nil, err
	}
	if f := strings.Fields(ans); len(f) < 2 || f[0] != "register" || f[1] != "0" {
		return nil, fmt.Errorf("register: answer %q", ans)
	}
	if err := h.expect("new 0", "new ok"); err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := h.expect("set 0 "+k+" "+props[k], "set ok"); err != nil {
			return nil, err
		}
	}
	if err := h.expect("init 0", "init 1"); err != nil {
		return nil, fmt.Errorf("%w; log:\n%s", err, h.logTail())
	}
	return h, nil
}

func (h *host) expect(cmd, want string) error {
	ans, err := h.Do(cmd)
	if err == nil && ans != want {
		err = fmt.Errorf("%q: answer %q, want %q", cmd, ans, want)
	}
	return err
}

// flush hands the chunk in file to the instance and returns the plugin's
// result. The host reads the file into a fresh buffer for each flush, as
// Fluent Bit hands over a chunk in memory.
func (h *host) flush(tag, file string) (int, error) {
	cmd := "flush 0 " + tag + " " + file
	ans, err := h.Do(cmd)
	if err != nil {
		return 0, err
	}
	f := strings.Fields(ans)
	if len(f) != 2 || f[0] != "flush" {
		return 0, fmt.Errorf("%q: answer %q", cmd, ans)
	}
	return strconv.Atoi(f[1])
}

// stop runs FLBPluginExitCtx, FLBPluginExit and quits the host, killing it
// if it does not quit.
func (h *host) stop() error {
	select {
	case <-h.Exited():
		_ = h.Close() // it has nothing to add
		return fmt.Errorf("exited early: %v", h.ExitErr())
	default:
	}
	var errs []error
	for _, c := range [][2]string{{"exitctx 0", "exitctx 1"}, {"exit", "exit 1"}} {
		if err := h.expect(c[0], c[1]); err != nil {
			errs = append(errs, err)
			break
		}
	}
	errs = append(errs, h.Close())
	return errors.Join(errs...)
}

func (h *host) logTail() string { return h.LogTail(8192) }

// cpu returns the CPU time (user + system, all threads) the host has used,
// with a resolution of 1/userHZ.
func (h *host) cpu() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", h.Pid()))
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which is in parentheses and may hold
	// spaces: state is field 3, utime 14 and stime 15.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("malformed /proc/pid/stat: %q", b)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("malformed /proc/pid/stat: %q", b)
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("malformed /proc/pid/stat: %q", b)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}

// memory returns the host's resident set size and its peak so far (VmRSS,
// VmHWM), in bytes.
func (h *host) memory() (rss, peak int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", h.Pid()))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		key, val, ok := strings.Cut(line, ":")
		if !ok || (key != "VmRSS" && key != "VmHWM") {
			continue
		}
		f := strings.Fields(val)
		if len(f) != 2 || f[1] != "kB" {
			return 0, 0, fmt.Errorf("malformed %s line %q", key, line)
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("malformed %s line %q", key, line)
		}
		if key == "VmRSS" {
			rss = kb << 10
		} else {
			peak = kb << 10
		}
	}
	if rss == 0 || peak == 0 {
		return 0, 0, errors.New("no VmRSS or VmHWM in /proc/pid/status")
	}
	return rss, peak, nil
}
