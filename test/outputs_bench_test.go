package test

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keeper-azmon/keeper-azmon/azmon/azmontest"
	"github.com/keeper-azmon/keeper-azmon/internal/testkit"
)

// outputEvents is the number of Keeper events each run of
// BenchmarkFluentBitOutputs tails.
const outputEvents = 100_000

// BenchmarkFluentBitOutputs runs a real Fluent Bit over the same file of
// Keeper events with three outputs: null (what reading and parsing cost),
// keeper_azmon, and Fluent Bit's own azure_logs_ingestion, both of these
// sending gzipped to the emulator. Each run ends when tail reaches the end
// of the file (exit_on_eof) and the process has flushed; its CPU time is
// the Fluent Bit process's own (the emulator runs in this one). It reports
// each output's CPU per event beyond the null run's, and their ratio. The
// runs interleave, three rounds, and each figure is the median.
//
// It uses the first Fluent Bit of FLUENT_BIT (or PATH) whose
// azure_logs_ingestion takes auth_url (5.1 and later). That output sends a
// chunk as one request and cannot split one over the service's 1 MiB, so
// the input is held to small chunks (mem_buf_limit) for both outputs; the
// benchmark fails if any event did not land once.
func BenchmarkFluentBitOutputs(b *testing.B) {
	fb, ok := withTokenURL(fluentBits(b))
	if !ok {
		b.Skip("no Fluent Bit whose azure_logs_ingestion output takes auth_url (5.1 and later), which points it at the emulator")
	}
	dir := b.TempDir()
	events := filepath.Join(dir, "events.jsonl")
	if err := os.WriteFile(events, keeperEventLines(outputEvents), 0o600); err != nil {
		b.Fatal(err)
	}
	outputs := []string{"null", "keeper_azmon", "azure_logs_ingestion"}
	cpu := map[string][]time.Duration{}
	for i := 0; i < b.N; i++ {
		for round := 0; round < 3; round++ {
			for _, out := range outputs {
				cpu[out] = append(cpu[out], runOutput(b, fb, events, out))
			}
		}
	}
	median := func(out string) float64 {
		d := slices.Clone(cpu[out])
		slices.Sort(d)
		return d[len(d)/2].Seconds() * 1e6 / outputEvents
	}
	null := median("null")
	ours, theirs := median("keeper_azmon")-null, median("azure_logs_ingestion")-null
	b.ReportMetric(null, "input-cpu-us/event")
	b.ReportMetric(ours, "keeper_azmon-cpu-us/event")
	b.ReportMetric(theirs, "azure_logs_ingestion-cpu-us/event")
	b.ReportMetric(theirs/ours, "x-less-output-cpu")
}

// withTokenURL returns the first of bins whose azure_logs_ingestion output
// has the auth_url property.
func withTokenURL(bins []flbBinary) (flbBinary, bool) {
	for _, fb := range bins {
		if !fb.plugins["azure_logs_ingestion"] {
			continue
		}
		help, _ := exec.Command(fb.path, "-o", "azure_logs_ingestion", "-h").CombinedOutput()
		if regexp.MustCompile(`(?m)^auth_url\s`).Match(help) {
			return fb, true
		}
	}
	return flbBinary{}, false
}

// keeperEventLines returns n Keeper events as JSON lines, shaped like the
// seed's, with varied users, addresses, ids and times.
func keeperEventLines(n int) []byte {
	rng := rand.New(rand.NewPCG(7, 8))
	names := []string{"login", "record_update", "role_enforcement_changed", "added_to_team", "open_record"}
	at := time.Date(2025, 1, 23, 1, 31, 11, 0, time.UTC)
	var b []byte
	for i := 0; i < n; i++ {
		at = at.Add(time.Duration(rng.IntN(2000)) * time.Millisecond)
		b = fmt.Appendf(b, `{"audit_event":%q,"remote_address":"%d.%d.%d.%d","category":"policy","client_version":"EMConsole.17.0.0","username":"user%04d@example.com","enterprise_id":6557,"timestamp":%q,"role_id":"%d","enforcement":"RESEND_ENTERPRISE_INVITE_IN_X_DAYS","value":"7"}`+"\n",
			names[i%len(names)], 10+rng.IntN(200), rng.IntN(256), rng.IntN(256), 1+rng.IntN(254), rng.IntN(5000),
			at.Format("2006-01-02T15:04:05.000Z"), 28162100000000+rng.Int64N(1000000))
	}
	return b
}

// runOutput runs Fluent Bit once over events with output out and returns
// the CPU time of its process.
func runOutput(b *testing.B, fb flbBinary, events, out string) time.Duration {
	b.Helper()
	_, plugin := hostPaths(b)
	s := azmontest.NewServer(azmontest.Options{ClientSecret: newSecret()})
	defer s.Close()
	parsers, err := filepath.Abs(filepath.Join("..", "parsers.conf"))
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	conf := fmt.Sprintf(`[SERVICE]
    Flush         0.2
    Grace         30
    Log_Level     warn
    Parsers_File  %s

[INPUT]
    Name           tail
    Path           %s
    Read_From_Head On
    Exit_On_Eof    On
    Parser         json
    Mem_Buf_Limit  512KB
    Tag            keeper.events

[OUTPUT]
    Name   %s
    Match  *
`, parsers, events, out)
	stream := streamKeeper
	switch out {
	case "keeper_azmon":
		conf += fmt.Sprintf("    endpoint_url   %s\n    tenant_id      %s\n    client_id      %s\n    client_secret  %s\n    authority_host %s\n    ca_file        %s\n    workers        2\n",
			s.EndpointURL(stream), s.Opts.TenantID, s.Opts.ClientID, s.Opts.ClientSecret, s.AuthorityHost(), s.CAFile)
	case "azure_logs_ingestion":
		// Its token request goes to auth_url with Fluent Bit's own trust
		// store, which does not know the emulator's CA; Fluent Bit
		// accepts plain HTTP on loopback, so a proxy here forwards it.
		token := tokenProxy(b, s)
		stream = streamRaw
		conf += fmt.Sprintf("    auth_url       %s\n    client_id      %s\n    client_secret  %s\n    dce_url        %s\n    dcr_id         %s\n    table_name     %s\n    compress       true\n    tls            on\n    tls.ca_file    %s\n    workers        2\n",
			token, s.Opts.ClientID, s.Opts.ClientSecret, s.DCEURL(), s.Opts.DCRID, strings.TrimPrefix(streamRaw, "Custom-"), s.CAFile)
	}
	path := filepath.Join(dir, "fluent-bit.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		b.Fatal(err)
	}
	logs := new(testkit.SyncBuffer)
	cmd := exec.Command(fb.path, "-e", plugin, "-c", path)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			b.Fatalf("fluent-bit with %s: %v\n%s", out, err, logs.String())
		}
	case <-time.After(5 * time.Minute):
		_ = cmd.Process.Kill()
		<-done
		b.Fatalf("fluent-bit with %s did not finish in 5 minutes\n%s", out, logs.String())
	}
	if out != "null" {
		if got := s.RowCount(stream); got != outputEvents {
			b.Fatalf("%s: %d rows landed, want %d\n%s", out, got, outputEvents, logs.String())
		}
	}
	return cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
}

// tokenProxy serves the emulator's token endpoint over plain HTTP on
// loopback and returns its URL.
func tokenProxy(b *testing.B, s *azmontest.Server) string {
	client := s.Client()
	p := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, err := client.Post(s.TokenEndpoint(), r.Header.Get("Content-Type"), r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	}))
	b.Cleanup(p.Close)
	return p.URL + "/token"
}
