package test

// Tests through a real Fluent Bit: the recipes of examples/sources, run as a
// user runs them, fed the senders' exact bytes over the network. They run
// when `fluent-bit` is on PATH or FLUENT_BIT names the binary, and are
// skipped otherwise (make test says so).

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/keeper-azmon/keeper-azmon/azmon/azmontest"
	"github.com/keeper-azmon/keeper-azmon/convert"
	"github.com/keeper-azmon/keeper-azmon/internal/asimconform"
	"github.com/keeper-azmon/keeper-azmon/internal/sourcetest"
	"github.com/keeper-azmon/keeper-azmon/internal/testkit"
)

// fluentBit returns the Fluent Bit binary to test with, or skips the test.
func fluentBit(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("FLUENT_BIT"); p != "" {
		return p
	}
	p, err := exec.LookPath("fluent-bit")
	if err != nil {
		t.Skip("no Fluent Bit: put fluent-bit on PATH or set FLUENT_BIT to run the recipes through it")
	}
	return p
}

// recipeEdits are what a test changes in a recipe: the values of some
// keys (listen port, certificate paths, storage path, flush interval), and
// properties added to the keeper_azmon output (the emulator's authority and
// CA, which a real Azure does not need).
type recipeEdits struct {
	set    map[string]string // key (case-insensitive) -> new value, wherever it stands
	output []prop            // appended to the [OUTPUT] section
}

// editRecipe applies edits to a configuration's text, classic or YAML.
func editRecipe(text string, yaml bool, ed recipeEdits) string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimPrefix(strings.TrimSpace(line), "- ")
		sep := " "
		if yaml {
			sep = ":"
		}
		if key, _, ok := strings.Cut(trimmed, sep); ok && !strings.HasPrefix(trimmed, "#") {
			for k, v := range ed.set {
				if strings.EqualFold(key, k) {
					line = line[:strings.Index(line, key)+len(key)] + sep + " " + v
				}
			}
		}
		out = append(out, line)
		if strings.EqualFold(strings.Join(strings.Fields(trimmed), " "), "Name keeper_azmon") || yaml && trimmed == "name: keeper_azmon" {
			indent := "    "
			if yaml {
				indent = strings.Repeat(" ", strings.Index(line, "-")+2)
			}
			for _, p := range ed.output {
				if yaml {
					out = append(out, indent+p.key+": "+p.val)
				} else {
					out = append(out, indent+p.key+" "+p.val)
				}
			}
		}
	}
	return strings.Join(out, "\n")
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// serverCert writes a self-signed certificate for 127.0.0.1 and its key.
func serverCert(t *testing.T, dir string) (crt, key string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "keeper-azmon test collector"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kd, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	crt, key = filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key")
	if err := os.WriteFile(crt, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd}), 0o600); err != nil {
		t.Fatal(err)
	}
	return crt, key
}

// fluentBitRun is a Fluent Bit process running a recipe.
type fluentBitRun struct {
	cmd  *exec.Cmd
	logs *testkit.SyncBuffer
	done chan struct{}
}

// startRecipe runs Fluent Bit with the plugin and the recipe at path
// (edited), with the recipe's variables pointing at s, and stops it when
// the test ends.
func startRecipe(t *testing.T, s *azmontest.Server, stream, path string, ed recipeEdits, env ...string) *fluentBitRun {
	t.Helper()
	bin := fluentBit(t)
	_, plugin := hostPaths(t)
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// The parsers file is read relative to the recipe, so the copy sits
	// beside a copy of it.
	if b, err := os.ReadFile(filepath.Join(filepath.Dir(path), "parsers.conf")); err == nil {
		if err := os.WriteFile(filepath.Join(dir, "parsers.conf"), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	conf := filepath.Join(dir, filepath.Base(path))
	if err := os.WriteFile(conf, []byte(editRecipe(string(text), strings.HasSuffix(path, ".yaml"), ed)), 0o600); err != nil {
		t.Fatal(err)
	}
	run := &fluentBitRun{logs: new(testkit.SyncBuffer), done: make(chan struct{})}
	run.cmd = exec.Command(bin, "-e", plugin, "-c", conf)
	run.cmd.Env = append(os.Environ(),
		"KEEPER_AZMON_TENANT_ID="+s.Opts.TenantID,
		"KEEPER_AZMON_CLIENT_ID="+s.Opts.ClientID,
		"KEEPER_AZMON_CLIENT_SECRET="+s.Opts.ClientSecret,
		"KEEPER_AZMON_ENDPOINT_URL="+s.EndpointURL(stream),
	)
	run.cmd.Env = append(run.cmd.Env, env...)
	run.cmd.Stdout, run.cmd.Stderr = run.logs, run.logs
	if err := run.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = run.cmd.Wait(); close(run.done) }()
	t.Cleanup(func() {
		_ = run.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-run.done:
		case <-time.After(40 * time.Second):
			_ = run.cmd.Process.Kill()
			<-run.done
		}
		if t.Failed() {
			t.Logf("fluent-bit output:\n%s", run.logs.String())
		}
		if strings.Contains(run.logs.String(), s.Opts.ClientSecret) {
			t.Errorf("the client secret appears in Fluent Bit's output")
		}
	})
	return run
}

// waitPort waits until Fluent Bit listens on port.
func (r *fluentBitRun) waitPort(t *testing.T, port int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-r.done:
			t.Fatalf("fluent-bit exited:\n%s", r.logs.String())
		default:
		}
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
		if err == nil {
			c.Close()
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("fluent-bit does not listen on %d:\n%s", port, r.logs.String())
}

// waitRows waits until stream has n rows (or more) and returns them.
func waitRows(t *testing.T, s *azmontest.Server, stream string, n int, r *fluentBitRun) []map[string]any {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		rows := s.Rows(stream)
		if len(rows) >= n {
			// Anything more would come with the same flush; a moment
			// more shows duplicates.
			time.Sleep(500 * time.Millisecond)
			return s.Rows(stream)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d rows after 60s, want %d:\n%s", len(rows), n, r.logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// sendSyslog writes wire to a syslog listener, over TLS if useTLS, the way
// the senders do: one connection, newline-framed lines.
func sendSyslog(t *testing.T, port int, wire []byte, useTLS bool) {
	t.Helper()
	addr := "127.0.0.1:" + strconv.Itoa(port)
	var c net.Conn
	var err error
	if useTLS {
		c, err = tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true}) // the test's self-signed collector
	} else {
		c, err = net.Dial("tcp", addr)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !bytes.HasSuffix(wire, []byte("\n")) {
		wire = append(append([]byte(nil), wire...), '\n')
	}
	if _, err := c.Write(wire); err != nil {
		t.Fatal(err)
	}
}

// postHEC posts wire to a splunk input as Commander does, and requires 200.
func postHEC(t *testing.T, url, contentType, token string, wire []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(wire))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Splunk "+token)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} // Commander: verify=False
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: %s, want 200 (Commander treats anything else as a failure)", url, resp.Status)
	}
}

// TestRecipesInFluentBit runs every recipe of examples/sources in a real
// Fluent Bit, sends it its source's fixture exactly as the sender writes
// it, and requires the expected Keeper rows in the table: every event
// once, with its own time.
func TestRecipesInFluentBit(t *testing.T) {
	fluentBit(t)
	for _, src := range sourcetest.All() {
		if src.Input == sourcetest.SyslogUDP {
			continue // TestCommanderSyslogUDPInFluentBit
		}
		for _, recipe := range []string{src.Recipe(), src.RecipeYAML()} {
			t.Run(filepath.Base(recipe), func(t *testing.T) {
				requirePlugins(t, recipe)
				runRecipe(t, src, recipe)
			})
		}
	}
}

// runRecipe runs one recipe of src in Fluent Bit and checks the rows.
func runRecipe(t *testing.T, src sourcetest.Source, recipe string) {
	{
		{
			s := azmontest.NewServer(azmontest.Options{ClientSecret: newSecret()})
			t.Cleanup(s.Close)
			dir := t.TempDir()
			crt, key := serverCert(t, dir)
			port := freePort(t)
			ed := recipeEdits{
				set: map[string]string{
					"Port": strconv.Itoa(port), "Listen": "127.0.0.1", "Flush": "1",
					"tls.crt_file": crt, "tls.key_file": key,
					"storage.path": filepath.Join(dir, "storage"),
				},
				output: []prop{{"authority_host", s.AuthorityHost()}, {"ca_file", s.CAFile}},
			}
			const token = "hec-token-for-test"
			run := startRecipe(t, s, streamKeeper, recipe, ed,
				"KEEPER_AZMON_ENTERPRISE_ID="+strconv.Itoa(sourcetest.EnterpriseID), "KEEPER_HEC_TOKEN="+token)
			run.waitPort(t, port)
			wire, err := src.WireBytes()
			if err != nil {
				t.Fatal(err)
			}
			switch src.Name {
			case "keeper-syslog-push":
				sendSyslog(t, port, wire, true)
			case "commander-syslog":
				sendSyslog(t, port, wire, false)
			case "commander-splunk": // requests.post(data=...): no Content-Type
				postHEC(t, fmt.Sprintf("https://127.0.0.1:%d/services/collector", port), "", token, wire)
			case "commander-sumo":
				postHEC(t, fmt.Sprintf("http://127.0.0.1:%d/services/collector", port), "application/text", "", wire)
			default:
				t.Fatalf("no sender for %s", src.Name)
			}
			want, err := src.Want()
			if err != nil {
				t.Fatal(err)
			}
			sameRows(t, waitRows(t, s, streamKeeper, len(want), run), want)
		}
	}
}

// TestKeeperAndASIMInFluentBit runs examples/keeper-and-asim.conf in a real
// Fluent Bit, tailing the seed's events: the Keeper table gets the seed's
// rows, and every event also lands once in the ASIM stream of its schema
// (the seed's placeholder event names in the audit stream, as Other).
func TestKeeperAndASIMInFluentBit(t *testing.T) {
	fluentBit(t)
	events, err := os.ReadFile(filepath.Join("..", "examples", "keeper_events.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	s, run := runKeeperAndASIM(t, events)
	want := keeperExpected(t)
	compareRows(t, waitRows(t, s, streamKeeper, len(want), run), want)
	checkASIMRows(t, s, len(want), run)
}

// TestASIMCatalogueInFluentBit: every event of the catalogue, tailed by a
// real Fluent Bit running examples/keeper-and-asim.conf, lands as one ASIM
// row that Microsoft's testers accept (but for the vendor and product
// designators: README, "What Microsoft's tester says about Keeper rows").
func TestASIMCatalogueInFluentBit(t *testing.T) {
	fluentBit(t)
	var events []byte
	cat := convert.ASIMCatalogue()
	for i, c := range cat {
		at := time.Date(2025, 3, 1, 0, 0, i, 0, time.UTC).Format(time.RFC3339)
		events = fmt.Appendf(events, `{"audit_event":%q,"remote_address":"203.0.113.9","category":"security","client_version":"Web Vault.17.0.3","username":"user@example.com","enterprise_id":6557,"timestamp":%q,"to_username":"new.hire@example.com","role_id":28162100560074,"value":"7"}`+"\n", c.Event, at)
	}
	s, run := runKeeperAndASIM(t, events)
	waitRows(t, s, streamKeeper, len(cat), run)
	checkASIMRows(t, s, len(cat), run)
}

// runKeeperAndASIM starts a real Fluent Bit on examples/keeper-and-asim.conf,
// tailing a file of the given JSON lines, against an emulator.
func runKeeperAndASIM(t *testing.T, events []byte) (*azmontest.Server, *fluentBitRun) {
	t.Helper()
	s := azmontest.NewServer(azmontest.Options{ClientSecret: newSecret()})
	t.Cleanup(s.Close)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "events.jsonl"), events, 0o600); err != nil {
		t.Fatal(err)
	}
	ed := recipeEdits{
		set: map[string]string{
			"Path": filepath.Join(dir, "*.jsonl"), "DB": filepath.Join(dir, "tail.db"), "Flush": "1",
			"storage.path": filepath.Join(dir, "storage"),
		},
		output: []prop{{"authority_host", s.AuthorityHost()}, {"ca_file", s.CAFile}},
	}
	// The copy does not sit beside the repository's parsers.conf.
	parsers, err := filepath.Abs(filepath.Join("..", "parsers.conf"))
	if err != nil {
		t.Fatal(err)
	}
	ed.set["Parsers_File"] = parsers
	run := startRecipe(t, s, streamKeeper, filepath.Join("..", "examples", "keeper-and-asim.conf"), ed,
		"KEEPER_AZMON_DCE_URL="+s.URL, "KEEPER_AZMON_ASIM_DCR_ID="+s.Opts.DCRID)
	return s, run
}

// checkASIMRows waits for n ASIM rows and checks each: in the stream of its
// event's schema, with the catalogue's EventType, accepted by Microsoft's
// testers but for the designators.
func checkASIMRows(t *testing.T, s *azmontest.Server, n int, run *fluentBitRun) {
	t.Helper()
	cat := map[string]convert.ASIMEvent{}
	for _, c := range convert.ASIMCatalogue() {
		cat[c.Event] = c
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		total := 0
		for _, st := range asimStreams() {
			total += s.RowCount(st)
		}
		if total >= n || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	seen := 0
	for sch, st := range asimStreams() {
		for _, row := range s.Rows(st) {
			seen++
			ev, _ := row["EventOriginalType"].(string)
			c, ok := cat[ev]
			if !ok { // the seed's placeholder names: not Keeper events the catalogue knows
				c = convert.ASIMEvent{Event: ev, Schema: convert.ASIMAudit, EventType: "Other"}
			}
			if int(c.Schema) != sch || row["EventType"] != c.EventType {
				t.Errorf("%s: row for %q with EventType %v: want the catalogue's %+v", st, ev, row["EventType"], c)
			}
			for _, f := range asimconform.Check(c.Schema.String(), c.Schema.Table(), row) {
				if !f.Designator { // README: "What Microsoft's tester says about Keeper rows"
					t.Errorf("%s: row for %q: %s", st, ev, f)
				}
			}
		}
	}
	if seen != n {
		t.Errorf("%d ASIM rows, want one for each of the %d events\n%s", seen, n, run.logs.String())
	}
}
