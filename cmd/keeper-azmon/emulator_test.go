package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keeper-azmon/keeper-azmon/internal/testkit"
)

// waitFor polls cond until it holds; it fails the test after a generous
// bound (a readiness wait, not a timing assertion).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for i := 0; i < 3000; i++ {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("gave up waiting for %s", what)
}

// parseEnvFile reads the KEY='value' lines the emulator writes.
func parseEnvFile(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, l := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(l, "=")
		if !ok || strings.HasPrefix(l, "#") {
			continue
		}
		env[k] = strings.ReplaceAll(strings.Trim(v, "'"), `'\''`, "'")
	}
	return env
}

// TestEmulatorCommand runs the emulator command, sends the example events
// to it with a configuration built from its env file, and stops it: the
// rows file and the printed table hold what landed.
func TestEmulatorCommand(t *testing.T) {
	dir := t.TempDir()
	envFile, rowsFile := filepath.Join(dir, "emulator.env"), filepath.Join(dir, "rows.jsonl")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &testkit.SyncBuffer{}
	a := &app{stdin: strings.NewReader(""), stdout: out, stderr: out, getenv: func(string) string { return "" }}
	done := make(chan int, 1)
	go func() { done <- a.run(ctx, []string{"emulator", "-env-file", envFile, "-rows-file", rowsFile}) }()
	waitFor(t, "the env file", func() bool { _, err := os.Stat(envFile); return err == nil })

	env := parseEnvFile(t, envFile)
	for _, k := range []string{"KEEPER_AZMON_TENANT_ID", "KEEPER_AZMON_CLIENT_ID", "KEEPER_AZMON_CLIENT_SECRET", "KEEPER_AZMON_ENDPOINT_URL", "KEEPER_AZMON_AUTHORITY_HOST", "KEEPER_AZMON_CA_FILE"} {
		if env[k] == "" {
			t.Fatalf("env file lacks %s: %v", k, env)
		}
	}
	printed := out.String()
	for _, want := range []string{"[OUTPUT]", "Name           keeper_azmon", "endpoint_url   " + env["KEEPER_AZMON_ENDPOINT_URL"], "ca_file", "Custom-KeeperSecurityEventNewLogs", "authority_host"} {
		if !strings.Contains(printed, want) {
			t.Errorf("start-up output lacks %q:\n%s", want, printed)
		}
	}

	conf := testkit.WriteFile(t, dir, "fluent-bit.conf", `[OUTPUT]
    Name           keeper_azmon
    Match          *
    tenant_id      ${KEEPER_AZMON_TENANT_ID}
    client_id      ${KEEPER_AZMON_CLIENT_ID}
    client_secret  ${KEEPER_AZMON_CLIENT_SECRET}
    authority_host ${KEEPER_AZMON_AUTHORITY_HOST}
    endpoint_url   ${KEEPER_AZMON_ENDPOINT_URL}
    ca_file        ${KEEPER_AZMON_CA_FILE}
`)
	events := testkit.WriteFile(t, dir, "events.jsonl", keeperLines(25, 0))
	if r := runApp(t, env, "", "send", "-c", conf, events); r.code != exitOK {
		t.Fatalf("send: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	countRows := func() int {
		data, _ := os.ReadFile(rowsFile)
		return bytes.Count(data, []byte("\n"))
	}
	waitFor(t, "25 rows in the rows file", func() bool { return countRows() >= 25 })
	data, _ := os.ReadFile(rowsFile)
	for _, l := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		var v struct {
			Stream string         `json:"stream"`
			Row    map[string]any `json:"row"`
		}
		if err := json.Unmarshal(l, &v); err != nil || v.Stream != streamKeeper || v.Row["audit_event"] != "record_update" {
			t.Errorf("rows file line %s: %v", l, err)
		}
	}

	cancel()
	if code := <-done; code != exitOK {
		t.Errorf("emulator exit %d", code)
	}
	final := out.String()
	table := final[strings.Index(final, rowsMarker):]
	for _, want := range []string{"Custom-KeeperLogs_CL: 25 rows", "TimeGenerated", "audit_event", "username", "category", "remote_address", "record_update", "admin@example.com", "ingestion requests answered: 204 x"} {
		if !strings.Contains(table, want) {
			t.Errorf("final table lacks %q:\n%s", want, table)
		}
	}
	if _, err := os.Stat(envFile); !os.IsNotExist(err) {
		t.Errorf("env file left behind: %v", err)
	}
}

// TestWriteTable lays the Keeper columns out first, in order, and cuts long cells.
func TestWriteTable(t *testing.T) {
	var b strings.Builder
	writeTable(&b, []map[string]any{
		{"data": map[string]any{"k": strings.Repeat("v", 100)}, "zeta": "z", "audit_event": "a", "TimeGenerated": "t", "enterprise_id": json.Number("6557")},
	}, 20)
	lines := strings.Split(b.String(), "\n")
	if f := strings.Fields(lines[0]); strings.Join(f, " ") != "TimeGenerated audit_event enterprise_id data zeta" {
		t.Errorf("header %q", lines[0])
	}
	if !strings.Contains(lines[2], `{"k":"vvvvvvvvvvv...`) || !strings.Contains(lines[2], "6557") {
		t.Errorf("row %q", lines[2])
	}
}

// TestDemoScriptSyntax checks scripts/demo.sh with bash -n.
func TestDemoScriptSyntax(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash not found")
	}
	script := filepath.Join("..", "..", "scripts", "demo.sh")
	if out, err := exec.Command(bash, "-n", script).CombinedOutput(); err != nil {
		t.Errorf("bash -n %s: %v\n%s", script, err, out)
	}
	fi, err := os.Stat(script)
	if err != nil || fi.Mode()&0o111 == 0 {
		t.Errorf("%s is not executable: %v", script, err)
	}
}
