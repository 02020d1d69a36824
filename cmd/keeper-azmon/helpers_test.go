package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/keeper-azmon/keeper-azmon/azmon/azmontest"

	"github.com/keeper-azmon/keeper-azmon/internal/testkit"
)

// result is what one run of the command printed and returned.
type result struct {
	code           int
	stdout, stderr string
}

// runApp runs the command with args, the environment env (nothing else)
// and stdin.
func runApp(t *testing.T, env map[string]string, stdin string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	a := &app{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errOut, getenv: func(k string) string { return env[k] }}
	code := a.run(context.Background(), args)
	return result{code, out.String(), errOut.String()}
}

// newSecret is a client secret recognisable anywhere it might leak.
func newSecret() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return "Kpr~S3cret.DoNotPrint_" + hex.EncodeToString(b)
}

// newEmulator starts an emulator with a recognisable secret, closed when the test ends.
func newEmulator(t *testing.T) *azmontest.Server {
	t.Helper()
	s := azmontest.NewServer(azmontest.Options{ClientSecret: newSecret()})
	t.Cleanup(s.Close)
	return s
}

// emulatorProps is a working keeper_azmon output for stream of s.
func emulatorProps(s *azmontest.Server, stream string) map[string]string {
	p := testkit.Properties(s, stream)
	p["Name"], p["Match"], p["timeout"] = "keeper_azmon", "keeper.*", "10s"
	return p
}

// classicConf writes a classic configuration with one [OUTPUT] of props
// (a value "" removes the key) and returns its path.
func classicConf(t *testing.T, props map[string]string) string {
	t.Helper()
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("[SERVICE]\n    Flush 1\n\n[OUTPUT]\n")
	for _, k := range keys {
		if props[k] != "" {
			fmt.Fprintf(&b, "    %s %s\n", k, props[k])
		}
	}
	return testkit.WriteFile(t, t.TempDir(), "fluent-bit.conf", b.String())
}

// with copies p and applies the key/value overrides.
func with(p map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range p {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// noSecret fails if secret appears in any output.
func noSecret(t *testing.T, r result, secret string) {
	t.Helper()
	if secret != "" && (strings.Contains(r.stdout, secret) || strings.Contains(r.stderr, secret)) {
		t.Errorf("the client secret was printed:\n%s\n%s", r.stdout, r.stderr)
	}
}
