package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/keeper-azmon/keeper-azmon/azmon/azmontest"
)

// emulatorEnv makes the test binary a bare emulator process (see TestMain).
const emulatorEnv = "KEEPER_AZMON_BENCH_EMULATOR"

// TestMain runs the tests, or, in a child started by startEmulatorProcess,
// only an emulator.
func TestMain(m *testing.M) {
	if os.Getenv(emulatorEnv) == "1" {
		os.Exit(serveEmulator(os.Stdin, os.Stdout))
	}
	os.Exit(m.Run())
}

// serveEmulator runs a CountOnly emulator, writes keeperProps for it as one
// JSON line to out, and serves until in ends.
func serveEmulator(in io.Reader, out io.Writer) int {
	s := azmontest.NewServer(azmontest.Options{CountOnly: true})
	defer s.Close()
	if err := json.NewEncoder(out).Encode(keeperProps(s)); err != nil {
		return 1
	}
	_, _ = io.Copy(io.Discard, in)
	return 0
}

// startEmulatorProcess runs a CountOnly emulator in a child process, so
// that its allocations stay out of this process's heap, and returns the
// plugin properties for it. The child ends with tb.
func startEmulatorProcess(tb testing.TB) map[string]string {
	tb.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), emulatorEnv+"=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	exited := make(chan error, 1)
	tb.Cleanup(func() {
		_ = stdin.Close()
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	var props map[string]string
	err = json.NewDecoder(bufio.NewReader(stdout)).Decode(&props)
	go func() { exited <- cmd.Wait() }()
	if err != nil {
		tb.Fatal(fmt.Errorf("emulator process: %w", err))
	}
	return props
}
