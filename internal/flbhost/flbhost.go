// Package flbhost drives test/flbhost, the C program that loads a Go output
// plugin (a -buildmode=c-shared .so) the way Fluent Bit's Go proxy does and
// answers a line protocol on stdin and stdout (see the comment at the top
// of test/flbhost.c). The end-to-end tests and the whole-process
// benchmarks share it.
package flbhost

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
	"sync/atomic"
	"testing"
	"time"

	"github.com/keeper-azmon/keeper-azmon/internal/testkit"
)

// Fluent Bit's result codes, as the plugin returns them from init, flush
// and exit.
const (
	Error = 0 // FLB_ERROR
	OK    = 1 // FLB_OK
	Retry = 2 // FLB_RETRY
)

// AnswerTimeout bounds one command; flushes against a faulty emulator may
// take several plugin timeouts, never minutes.
const AnswerTimeout = 2 * time.Minute

// quitTimeout is how long Close waits for the host to quit before it kills
// it.
const quitTimeout = 30 * time.Second

// syncPrefix starts the marker line the host writes to stderr for "sync".
const syncPrefix = "flbhost: sync "

// Host is one running flbhost process with one plugin loaded. Its methods
// are safe for concurrent use; commands go to the host one at a time.
type Host struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan string
	stderr *testkit.SyncBuffer
	exited chan struct{} // closed once the process is gone
	err    error         // its wait status, valid after exited

	mu    sync.Mutex   // held for a command and its answer
	nsync atomic.Int64 // the last sync token

	closeMu sync.Mutex
	closed  bool
}

// Start runs hostBin with plugin, with env (KEY=value entries) added to
// the environment. When tb ends, the host is closed if it is still running
// and a failure to quit cleanly is reported through tb; a caller that needs
// more at shutdown registers its own cleanup after Start (it runs first)
// and calls Close there. Start returns errors rather than failing tb, as tb
// may be a parent of the test or benchmark that calls it: one host can
// serve several sub-benchmarks.
func Start(tb testing.TB, hostBin, plugin string, env ...string) (*Host, error) {
	h := &Host{
		lines:  make(chan string, 16),
		stderr: &testkit.SyncBuffer{},
		exited: make(chan struct{}),
	}
	h.cmd = exec.Command(hostBin, plugin)
	h.cmd.Stderr = h.stderr
	h.cmd.Env = append(os.Environ(), env...)
	stdin, err := h.cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := h.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	h.stdin = stdin
	if err := h.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", hostBin, err)
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
	tb.Cleanup(func() {
		if err := h.Close(); err != nil {
			tb.Errorf("flbhost %s: %v; its log:\n%s", filepath.Base(plugin), err, h.LogTail(8192))
		}
	})
	return h, nil
}

// Do sends one command line and returns the host's one-line answer. An
// error (a command with a newline or NUL, the host gone, no answer within
// AnswerTimeout) names the command and carries the tail of the plugin's
// log.
func (h *Host) Do(cmd string) (string, error) {
	if strings.ContainsAny(cmd, "\n\x00") {
		return "", fmt.Errorf("bad command %q", cmd)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, err := io.WriteString(h.stdin, cmd+"\n"); err != nil {
		return "", h.dead(cmd, err)
	}
	timer := time.NewTimer(AnswerTimeout)
	defer timer.Stop()
	select {
	case line, ok := <-h.lines:
		if !ok {
			<-h.exited
			return "", h.dead(cmd, errors.New("no answer"))
		}
		return line, nil
	case <-timer.C:
		return "", fmt.Errorf("%q: no answer within %v; plugin log:\n%s", cmd, AnswerTimeout, h.LogTail(8192))
	}
}

// dead is Do's error for a host that stopped listening, with its exit
// status when it exits within a few seconds.
func (h *Host) dead(cmd string, err error) error {
	select {
	case <-h.exited:
		err = fmt.Errorf("%v (host exited: %v)", err, h.err)
	case <-time.After(5 * time.Second):
	}
	return fmt.Errorf("%q: %v; plugin log:\n%s", cmd, err, h.LogTail(16384))
}

// Sync waits until everything the plugin wrote to stderr so far is in
// Stderr: the host answers "sync N" after writing the marker line
// "flbhost: sync N" to stderr behind the plugin's lines, and Sync waits up
// to AnswerTimeout for the marker. StripSync removes the markers.
func (h *Host) Sync() error {
	token := strconv.FormatInt(h.nsync.Add(1), 10)
	ans, err := h.Do("sync " + token)
	if err != nil {
		return err
	}
	if ans != "sync "+token {
		return fmt.Errorf("sync: answer %q", ans)
	}
	marker := syncPrefix + token + "\n"
	deadline := time.Now().Add(AnswerTimeout)
	for !strings.Contains(h.stderr.String(), marker) {
		if time.Now().After(deadline) {
			return fmt.Errorf("the host's stderr marker %q never arrived", marker)
		}
		time.Sleep(time.Millisecond)
	}
	return nil
}

// Stderr is everything the host has written to stderr so far: the plugin's
// log (its stdout and stderr) and the host's own lines.
func (h *Host) Stderr() *testkit.SyncBuffer { return h.stderr }

// LogTail returns the last n bytes of Stderr.
func (h *Host) LogTail(n int) string { return Tail(h.stderr.String(), n) }

// Pid is the host process's id, for reading /proc/<pid>.
func (h *Host) Pid() int { return h.cmd.Process.Pid }

// Exited is closed once the host process has ended.
func (h *Host) Exited() <-chan struct{} { return h.exited }

// ExitErr is how the host process ended (nil for exit status 0); it is
// valid once Exited is closed.
func (h *Host) ExitErr() error {
	<-h.exited
	return h.err
}

// Close asks the host to quit (the "quit" command, then the end of its
// stdin), kills it if it has not quit within 30 seconds, and waits for it.
// It returns an error if the host had to be killed or did not end with exit
// status 0, also when it had ended before. Only the first call does this;
// later ones return nil.
func (h *Host) Close() error {
	h.closeMu.Lock()
	defer h.closeMu.Unlock()
	if h.closed {
		return nil
	}
	h.closed = true
	var errs []error
	select {
	case <-h.exited:
	default:
		_, _ = io.WriteString(h.stdin, "quit\n")
		_ = h.stdin.Close()
		select {
		case <-h.exited:
		case <-time.After(quitTimeout):
			_ = h.cmd.Process.Kill()
			<-h.exited
			errs = append(errs, fmt.Errorf("did not quit within %v; killed it", quitTimeout))
		}
	}
	if h.err != nil {
		errs = append(errs, fmt.Errorf("ended badly: %w", h.err))
	}
	return errors.Join(errs...)
}

// Tail returns the last n bytes of s, after a "..." line if it cut.
func Tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "...\n" + s[len(s)-n:]
}

// StripSync removes Sync's marker lines from s.
func StripSync(s string) string {
	if !strings.Contains(s, syncPrefix) {
		return s
	}
	lines := strings.SplitAfter(s, "\n")
	out := lines[:0]
	for _, l := range lines {
		if !strings.HasPrefix(l, syncPrefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "")
}
