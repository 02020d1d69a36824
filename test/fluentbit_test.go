package test

// Tests through a real Fluent Bit: the recipes of examples/sources, run as a
// user runs them, fed the senders' exact bytes over the network. They run
// when `fluent-bit` is on PATH or FLUENT_BIT names the binary (or several,
// space-separated: then each test runs against each, a subtest a version),
// and are skipped otherwise (make test says so).

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
	"regexp"
	"sort"
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

// flbBinary is one Fluent Bit to run the tests against: its path, its
// version (from --version, "5.1.1"), and what it was built with (from -h):
// its plugins and build flags (FLB_HAVE_SQLDB, ...).
type flbBinary struct {
	path, version string
	plugins       map[string]bool
	flags         map[string]bool
}

// fluentBits returns the Fluent Bits to test with: the space-separated
// paths of FLUENT_BIT, or the fluent-bit on PATH; it skips the test when
// there is none.
func fluentBits(t testing.TB) []flbBinary {
	t.Helper()
	paths := strings.Fields(os.Getenv("FLUENT_BIT"))
	if len(paths) == 0 {
		p, err := exec.LookPath("fluent-bit")
		if err != nil {
			t.Skip("no Fluent Bit: put fluent-bit on PATH or set FLUENT_BIT (one path or several, space-separated) to run the recipes through it")
		}
		paths = []string{p}
	}
	var bins []flbBinary
	seen := map[string]bool{}
	for _, p := range paths {
		fb := describeFluentBit(t, p)
		if seen[fb.version] {
			t.Fatalf("FLUENT_BIT names Fluent Bit %s twice", fb.version)
		}
		seen[fb.version] = true
		bins = append(bins, fb)
	}
	return bins
}

// forEachFluentBit runs fn against every Fluent Bit of fluentBits: with
// one, in t itself; with several, in a subtest named by each version, so
// that `go test -v` reports per version.
func forEachFluentBit(t *testing.T, fn func(t *testing.T, fb flbBinary)) {
	t.Helper()
	bins := fluentBits(t)
	if len(bins) == 1 {
		fn(t, bins[0])
		return
	}
	for _, fb := range bins {
		t.Run(fb.version, func(t *testing.T) { fn(t, fb) })
	}
}

// describeFluentBit reads the version, plugins and build flags of the
// Fluent Bit at path.
func describeFluentBit(t testing.TB, path string) flbBinary {
	t.Helper()
	fb := flbBinary{path: path, plugins: map[string]bool{}, flags: map[string]bool{}}
	out, err := exec.Command(path, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("%s --version: %v\n%s", path, err, out)
	}
	// "Fluent Bit v5.1.1"
	if m := regexp.MustCompile(`Fluent Bit v(\S+)`).FindSubmatch(out); m != nil {
		fb.version = string(m[1])
	} else {
		t.Fatalf("%s --version: no version in %q", path, out)
	}
	out, err = exec.Command(path, "-h").CombinedOutput()
	if err != nil && len(out) == 0 {
		t.Fatalf("%s -h: %v", path, err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		// Plugin lines are indented: "  name   description".
		if strings.HasPrefix(line, "  ") && !strings.HasPrefix(line, "   ") {
			if f := strings.Fields(line); len(f) > 1 && !strings.HasPrefix(f[0], "-") {
				fb.plugins[f[0]] = true
			}
		}
		// " Build Flags = FLB_HAVE_TLS FLB_HAVE_SQLDB ..."
		if _, flags, ok := strings.Cut(line, "Build Flags ="); ok {
			for _, f := range strings.Fields(flags) {
				fb.flags[f] = true
			}
		}
	}
	return fb
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

// dropKeys removes the lines that set key or key.* (case-insensitive) from
// a configuration's text, and returns the keys it removed.
func dropKeys(text string, yaml bool, key string) (string, []string) {
	var out, dropped []string
	for _, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimPrefix(strings.TrimSpace(line), "- ")
		k, _, _ := strings.Cut(trimmed, " ")
		if yaml {
			k, _, _ = strings.Cut(trimmed, ":")
		}
		if k = strings.ToLower(k); k == key || strings.HasPrefix(k, key+".") {
			dropped = append(dropped, k)
			continue
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n"), dropped
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
func startRecipe(t *testing.T, fb flbBinary, s *azmontest.Server, stream, path string, ed recipeEdits, env ...string) *fluentBitRun {
	t.Helper()
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
	// Fluent Bit reads the format from the last extension: the copy of
	// fluent-bit.yaml.example is fluent-bit.yaml, as the README says.
	name := strings.TrimSuffix(filepath.Base(path), ".example")
	yaml := strings.HasSuffix(name, ".yaml")
	edited := editRecipe(string(text), yaml, ed)
	if !fb.flags["FLB_HAVE_SQLDB"] {
		// A build without SQLite (FLB_SQLDB=Off) knows no tail DB; every
		// release package has it. The rest of the recipe runs as is.
		var dropped []string
		edited, dropped = dropKeys(edited, yaml, "db")
		if len(dropped) > 0 {
			t.Logf("Fluent Bit %s was built without SQLite (no FLB_HAVE_SQLDB): running %s without %q", fb.version, filepath.Base(path), dropped)
		}
	}
	conf := filepath.Join(dir, name)
	if err := os.WriteFile(conf, []byte(edited), 0o600); err != nil {
		t.Fatal(err)
	}
	run := &fluentBitRun{logs: new(testkit.SyncBuffer), done: make(chan struct{})}
	run.cmd = exec.Command(fb.path, "-e", plugin, "-c", conf)
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

// waitUntil polls cond until it holds, failing the test if Fluent Bit
// exits first or 30 seconds pass (then the failure says what was awaited).
func (r *fluentBitRun) waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-r.done:
			t.Fatalf("fluent-bit exited:\n%s", r.logs.String())
		default:
		}
		if cond() {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("fluent-bit %s:\n%s", what, r.logs.String())
}

// waitPort waits until Fluent Bit listens on port.
func (r *fluentBitRun) waitPort(t *testing.T, port int) {
	t.Helper()
	r.waitUntil(t, fmt.Sprintf("does not listen on %d", port), func() bool {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
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

// commanderPages returns what Commander posts for a fixture of one event a
// line: page after page, each with requests.post, up to 1,000 events each.
// Here the fixture, then a full page of 1,000 events made of its events in
// turn, so that a collector that takes only small or first requests fails;
// and the rows they must become.
func commanderPages(t *testing.T, wire []byte, want []map[string]any) ([][]byte, []map[string]any) {
	t.Helper()
	lines := bytes.Split(bytes.TrimSpace(wire), []byte("\n"))
	if len(lines) != len(want) {
		t.Fatalf("fixture: %d lines, %d rows", len(lines), len(want))
	}
	rows := append([]map[string]any(nil), want...)
	var page []byte
	for i := range 1000 {
		page = append(append(page, lines[i%len(lines)]...), '\n')
		rows = append(rows, want[i%len(want)])
	}
	return [][]byte{wire, page}, rows
}

// postHEC posts wire to a splunk input as Commander does, and requires 200.
// Commander's requests.post speaks HTTP/1.1 through OpenSSL, a new
// connection a request; curl, when at hand, does the same. (Go's own TLS
// client meets "bad record MAC" now and then from Fluent Bit 4.2 and
// before, which OpenSSL clients do not: a test artefact, not Commander's.)
func postHEC(t *testing.T, url, contentType, token string, wire []byte) {
	t.Helper()
	headers := []string{"Content-Type: " + contentType}
	if contentType == "" {
		headers[0] = "Content-Type:" // none, as requests.post(data=bytes) sends
	}
	if token != "" {
		headers = append(headers, "Authorization: Splunk "+token)
	}
	if curl, err := exec.LookPath("curl"); err == nil {
		body := filepath.Join(t.TempDir(), "body")
		if err := os.WriteFile(body, wire, 0o600); err != nil {
			t.Fatal(err)
		}
		// -k: Commander's verify=False; -m: a collector that never
		// answers fails the test instead of hanging it.
		args := []string{"--http1.1", "-sS", "-k", "-m", "30", "-o", "/dev/null", "-w", "%{http_code}", "--data-binary", "@" + body}
		for _, h := range headers {
			args = append(args, "-H", h)
		}
		out, err := exec.Command(curl, append(args, url)...).CombinedOutput()
		if err != nil || string(out) != "200" {
			t.Fatalf("POST %s: %s %v, want 200 (Commander treats anything else as a failure)", url, out, err)
		}
		return
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(wire))
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		if v = strings.TrimSpace(v); v != "" {
			req.Header.Set(k, v)
		}
	}
	// A new connection a request; Commander: verify=False. The timeout
	// turns a collector that never answers into a failure, not a hang.
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DisableKeepAlives: true, TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
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
	forEachFluentBit(t, func(t *testing.T, fb flbBinary) {
		for _, src := range sourcetest.All() {
			if src.Input == sourcetest.SyslogUDP {
				continue // TestCommanderSyslogUDPInFluentBit
			}
			eachTwin(t, fb, src, func(t *testing.T, recipe string) {
				runRecipe(t, fb, src, recipe)
			})
		}
	})
}

// runRecipe runs one recipe of src in Fluent Bit and checks the rows.
func runRecipe(t *testing.T, fb flbBinary, src sourcetest.Source, recipe string) {
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
			run := startRecipe(t, fb, s, streamKeeper, recipe, ed,
				"KEEPER_AZMON_ENTERPRISE_ID="+strconv.Itoa(sourcetest.EnterpriseID), "KEEPER_HEC_TOKEN="+token)
			run.waitPort(t, port)
			wire, want := src.Fixture(t)
			switch src.Name {
			case "keeper-syslog-push":
				sendSyslog(t, port, wire, true)
			case "commander-syslog":
				sendSyslog(t, port, wire, false)
			case "commander-splunk": // requests.post(data=...): no Content-Type
				var pages [][]byte
				pages, want = commanderPages(t, wire, want)
				for _, body := range pages {
					postHEC(t, fmt.Sprintf("https://127.0.0.1:%d/services/collector", port), "", token, body)
				}
			case "commander-sumo":
				var pages [][]byte
				pages, want = commanderPages(t, wire, want)
				for _, body := range pages {
					postHEC(t, fmt.Sprintf("http://127.0.0.1:%d/services/collector", port), "application/text", "", body)
				}
			default:
				t.Fatalf("no sender for %s", src.Name)
			}
			got := waitRows(t, s, streamKeeper, len(want), run)
			// Flushes on two workers may land out of order.
			byJSON := func(rows []map[string]any) {
				sort.Slice(rows, func(i, j int) bool { return canonical(rows[i]) < canonical(rows[j]) })
			}
			byJSON(got)
			byJSON(want)
			sameRows(t, got, want)
		}
	}
}

// TestKeeperAndASIMInFluentBit runs examples/keeper-and-asim.conf in a real
// Fluent Bit, tailing the seed's events: the Keeper table gets the seed's
// rows, and every event also lands once in the ASIM stream of its schema
// (the seed's placeholder event names in the audit stream, as Other).
func TestKeeperAndASIMInFluentBit(t *testing.T) {
	events, err := os.ReadFile(filepath.Join("..", "examples", "keeper_events.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	forEachFluentBit(t, func(t *testing.T, fb flbBinary) {
		s, run := runKeeperAndASIM(t, fb, events)
		want := keeperExpected(t)
		compareRows(t, waitRows(t, s, streamKeeper, len(want), run), want)
		checkASIMRows(t, s, len(want), run)
	})
}

// TestASIMCatalogueInFluentBit: every event of the catalogue, tailed by a
// real Fluent Bit running examples/keeper-and-asim.conf, lands as one ASIM
// row that Microsoft's testers accept (but for the vendor and product
// designators: README, "What Microsoft's tester says about Keeper rows").
func TestASIMCatalogueInFluentBit(t *testing.T) {
	var events []byte
	cat := convert.ASIMCatalogue()
	for i, c := range cat {
		at := time.Date(2025, 3, 1, 0, 0, i, 0, time.UTC).Format(time.RFC3339)
		events = fmt.Appendf(events, `{"audit_event":%q,"remote_address":"203.0.113.9","category":"security","client_version":"Web Vault.17.0.3","username":"user@example.com","enterprise_id":6557,"timestamp":%q,"to_username":"new.hire@example.com","role_id":28162100560074,"value":"7"}`+"\n", c.Event, at)
	}
	forEachFluentBit(t, func(t *testing.T, fb flbBinary) {
		s, run := runKeeperAndASIM(t, fb, events)
		waitRows(t, s, streamKeeper, len(cat), run)
		checkASIMRows(t, s, len(cat), run)
	})
}

// TestExamplesInFluentBit runs fluent-bit.conf.example and its YAML twin
// (copied to fluent-bit.yaml, as the README says) in a real Fluent Bit,
// tailing examples/keeper_events.jsonl: every event lands once as the
// seed's Keeper row.
func TestExamplesInFluentBit(t *testing.T) {
	events, err := os.ReadFile(filepath.Join("..", "examples", "keeper_events.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	want := keeperExpected(t)
	forEachFluentBit(t, func(t *testing.T, fb flbBinary) {
		for _, example := range []string{"fluent-bit.conf.example", "fluent-bit.yaml.example"} {
			t.Run(example, func(t *testing.T) {
				s, ed := tailedEvents(t, events)
				ed.set["HTTP_Listen"], ed.set["HTTP_Port"] = "127.0.0.1", strconv.Itoa(freePort(t))
				run := startRecipe(t, fb, s, streamKeeper, filepath.Join("..", example), ed)
				compareRows(t, waitRows(t, s, streamKeeper, len(want), run), want)
			})
		}
	})
}

// tailedEvents starts an emulator and writes events where a configuration
// that tails JSON lines reads them: the edits point its Path, DB and
// storage there, flush every second, and send to the emulator.
func tailedEvents(t *testing.T, events []byte) (*azmontest.Server, recipeEdits) {
	t.Helper()
	s := azmontest.NewServer(azmontest.Options{ClientSecret: newSecret()})
	t.Cleanup(s.Close)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "events.jsonl"), events, 0o600); err != nil {
		t.Fatal(err)
	}
	return s, recipeEdits{
		set: map[string]string{
			"Path": filepath.Join(dir, "*.jsonl"), "DB": filepath.Join(dir, "tail.db"), "Flush": "1",
			"storage.path": filepath.Join(dir, "storage"),
		},
		output: []prop{{"authority_host", s.AuthorityHost()}, {"ca_file", s.CAFile}},
	}
}

// runKeeperAndASIM starts a real Fluent Bit on examples/keeper-and-asim.conf,
// tailing a file of the given JSON lines, against an emulator.
func runKeeperAndASIM(t *testing.T, fb flbBinary, events []byte) (*azmontest.Server, *fluentBitRun) {
	t.Helper()
	s, ed := tailedEvents(t, events)
	// The copy does not sit beside the repository's parsers.conf.
	parsers, err := filepath.Abs(filepath.Join("..", "parsers.conf"))
	if err != nil {
		t.Fatal(err)
	}
	ed.set["Parsers_File"] = parsers
	run := startRecipe(t, fb, s, streamKeeper, filepath.Join("..", "examples", "keeper-and-asim.conf"), ed,
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
