package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/keeper-azmon/keeper-azmon/azmon/azmontest"
	"github.com/keeper-azmon/keeper-azmon/plugin"
)

// rowsPollEvery is how often the emulator command looks for new rows to
// write to -rows-file.
const rowsPollEvery = 200 * time.Millisecond

// rowsMarker starts the table of landed rows in the emulator's output.
const rowsMarker = "=== Rows that landed"

// emulator is the `emulator` command.
func (a *app) emulator(ctx context.Context, args []string) int {
	fs := a.newFlags("emulator")
	stream := fs.String("stream", azmontest.StreamKeeperLogs, "stream of the printed [OUTPUT] snippet and KEEPER_AZMON_ENDPOINT_URL")
	envFile := fs.String("env-file", "", "write KEEPER_AZMON_* shell variables to this `file` once ready")
	rowsFile := fs.String("rows-file", "", "keep the landed rows in this `file` as JSON lines, as they land")
	quiet := fs.Bool("q", false, "print only the endpoint URL at start")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return a.flagError(err)
	}
	if len(pos) > 0 {
		fmt.Fprintf(a.stderr, "keeper-azmon emulator: unexpected argument %q\n", pos[0])
		return exitConfig
	}
	s, err := startEmulator()
	if err != nil {
		fmt.Fprintf(a.stderr, "keeper-azmon emulator: %v\n", err)
		return exitNetwork
	}
	defer s.Close()
	if _, ok := s.Opts.Streams[*stream]; !ok {
		fmt.Fprintf(a.stderr, "keeper-azmon emulator: -stream %s is not declared; the emulator declares %s\n", *stream, strings.Join(streamNames(s), ", "))
		return exitConfig
	}

	if *quiet {
		fmt.Fprintln(a.stdout, s.EndpointURL(*stream))
	} else {
		printEmulator(a.stdout, s, *stream, *envFile, *rowsFile)
	}
	if *envFile != "" {
		if err := writeFileAtomic(*envFile, []byte(emulatorEnv(s, *stream))); err != nil {
			fmt.Fprintf(a.stderr, "keeper-azmon emulator: %v\n", err)
			return exitConfig
		}
		defer os.Remove(*envFile)
	}

	written := -1
	saveRows := func() {
		if *rowsFile == "" {
			return
		}
		n := totalRows(s)
		if n == written {
			return
		}
		if err := writeFileAtomic(*rowsFile, rowsJSONLines(s)); err != nil {
			fmt.Fprintf(a.stderr, "keeper-azmon emulator: %v\n", err)
			return
		}
		written = n
	}
	saveRows()
	tick := time.NewTicker(rowsPollEvery)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			saveRows()
			continue
		case <-ctx.Done():
		}
		break
	}
	saveRows()
	printRows(a.stdout, s)
	return exitOK
}

// startEmulator starts azmontest, which panics on setup failure.
func startEmulator() (s *azmontest.Server, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("start: %v", v)
		}
	}()
	return azmontest.NewServer(azmontest.Options{}), nil
}

// streamNames returns the emulator's declared streams, sorted.
func streamNames(s *azmontest.Server) []string {
	names := make([]string, 0, len(s.Opts.Streams))
	for n := range s.Opts.Streams {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// printEmulator writes what to configure to talk to the emulator.
func printEmulator(w io.Writer, s *azmontest.Server, stream, envFile, rowsFile string) {
	fmt.Fprintf(w, "keeper-azmon emulator: Entra ID and the Logs Ingestion API on %s\n", s.URL)
	fmt.Fprintln(w, "(loopback only, HTTPS with its own CA; the secret below is the emulator's fixed test value, not a real one)")
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  authority_host\t%s\n", s.AuthorityHost())
	fmt.Fprintf(tw, "  tenant_id\t%s\n", s.Opts.TenantID)
	fmt.Fprintf(tw, "  client_id\t%s\n", s.Opts.ClientID)
	fmt.Fprintf(tw, "  client_secret\t%s\n", s.Opts.ClientSecret)
	fmt.Fprintf(tw, "  ca_file\t%s\n", s.CAFile)
	fmt.Fprintf(tw, "  dce_url\t%s\n", s.DCEURL())
	fmt.Fprintf(tw, "  dcr_id\t%s\n", s.Opts.DCRID)
	tw.Flush()
	fmt.Fprintln(w, "\n  endpoint_url per stream:")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, n := range streamNames(s) {
		kind := "Keeper columns"
		if s.Opts.Streams[n] == nil {
			kind = "any field"
		}
		fmt.Fprintf(tw, "    %s\t(%s)\t%s\n", n, kind, s.EndpointURL(n))
	}
	tw.Flush()
	fmt.Fprintln(w, "\nFluent Bit [OUTPUT] (fluent-bit -e ./out_keeper_azmon.so ...):")
	fmt.Fprintln(w)
	fmt.Fprint(w, outputSnippet(s, stream))
	fmt.Fprintln(w)
	if envFile != "" {
		fmt.Fprintf(w, "Shell variables in %s (set -a; . %s; set +a).\n", envFile, envFile)
	}
	if rowsFile != "" {
		fmt.Fprintf(w, "Rows are written to %s as they land (JSON lines: stream, row).\n", rowsFile)
	}
	fmt.Fprintln(w, "Press Ctrl-C to stop: the rows that landed are printed then.")
}

// outputSnippet is a ready [OUTPUT] section for stream of the emulator.
func outputSnippet(s *azmontest.Server, stream string) string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 1, ' ', 0)
	fmt.Fprintln(tw, "[OUTPUT]")
	for _, kv := range [][2]string{
		{"Name", plugin.Name},
		{"Match", "*"},
		{"workers", "1"},
		{"tenant_id", s.Opts.TenantID},
		{"client_id", s.Opts.ClientID},
		{"client_secret", s.Opts.ClientSecret},
		{"authority_host", s.AuthorityHost()},
		{"endpoint_url", s.EndpointURL(stream)},
		{"ca_file", s.CAFile},
	} {
		fmt.Fprintf(tw, "    %s\t%s\n", kv[0], kv[1])
	}
	tw.Flush()
	return b.String()
}

// emulatorEnv is the emulator's settings as shell variable assignments.
func emulatorEnv(s *azmontest.Server, stream string) string {
	var b strings.Builder
	b.WriteString("# keeper-azmon emulator settings; load with: set -a; . THIS_FILE; set +a\n")
	for _, kv := range [][2]string{
		{"KEEPER_AZMON_TENANT_ID", s.Opts.TenantID},
		{"KEEPER_AZMON_CLIENT_ID", s.Opts.ClientID},
		{"KEEPER_AZMON_CLIENT_SECRET", s.Opts.ClientSecret},
		{"KEEPER_AZMON_ENDPOINT_URL", s.EndpointURL(stream)},
		{"KEEPER_AZMON_AUTHORITY_HOST", s.AuthorityHost()},
		{"KEEPER_AZMON_CA_FILE", s.CAFile},
		{"KEEPER_AZMON_DCE_URL", s.DCEURL()},
		{"KEEPER_AZMON_DCR_ID", s.Opts.DCRID},
		{"KEEPER_AZMON_STREAM", stream},
	} {
		fmt.Fprintf(&b, "%s=%s\n", kv[0], shellQuote(kv[1]))
	}
	return b.String()
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// writeFileAtomic writes data to path through a temporary file and a
// rename, so that a reader never sees half of it.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if werr != nil || cerr != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", path, firstErr(werr, cerr))
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// totalRows counts the rows of every stream.
func totalRows(s *azmontest.Server) int {
	n := 0
	for _, st := range streamNames(s) {
		n += s.RowCount(st)
	}
	return n
}

// rowsJSONLines is every landed row as {"stream":...,"row":{...}} lines.
func rowsJSONLines(s *azmontest.Server) []byte {
	var b []byte
	for _, st := range streamNames(s) {
		for _, row := range s.Rows(st) {
			line, err := json.Marshal(struct {
				Stream string         `json:"stream"`
				Row    map[string]any `json:"row"`
			}{st, row})
			if err != nil {
				continue
			}
			b = append(append(b, line...), '\n')
		}
	}
	return b
}

// printRows writes the landed rows of each stream as a table, and what the
// ingestion endpoint answered.
func printRows(w io.Writer, s *azmontest.Server) {
	fmt.Fprintf(w, "\n%s ===\n", rowsMarker)
	landed := false
	for _, st := range streamNames(s) {
		rows := s.Rows(st)
		if len(rows) == 0 {
			continue
		}
		landed = true
		fmt.Fprintf(w, "\n%s: %d rows\n\n", st, len(rows))
		writeTable(w, rows, 40)
	}
	if !landed {
		fmt.Fprintln(w, "\nno rows landed")
	}
	counts := map[string]int{}
	for _, r := range s.Requests() {
		key := fmt.Sprint(r.Status)
		if r.Err != "" {
			key += " " + r.Err
		}
		counts[key]++
	}
	if len(counts) > 0 {
		var parts []string
		for _, k := range sortedKeys(counts) {
			parts = append(parts, fmt.Sprintf("%s x%d", k, counts[k]))
		}
		fmt.Fprintf(w, "\ningestion requests answered: %s\n", strings.Join(parts, ", "))
	}
}

// columnOrder returns the position of a column shown first (the Keeper
// columns, in a Log Analytics order), or -1.
func columnOrder(name string) int {
	for i, c := range []string{"TimeGenerated", "audit_event", "username", "category", "remote_address", "enterprise_id", "client_version", "timestamp", "data"} {
		if c == name {
			return i
		}
	}
	return -1
}

// writeTable writes rows as an aligned table: the Keeper columns first in a
// fixed order, then any others sorted; cells longer than width are cut.
func writeTable(w io.Writer, rows []map[string]any, width int) {
	seen := map[string]bool{}
	var cols []string
	for _, r := range rows {
		for k := range r {
			if !seen[k] {
				seen[k] = true
				cols = append(cols, k)
			}
		}
	}
	slices.SortFunc(cols, func(a, b string) int {
		oa, ob := columnOrder(a), columnOrder(b)
		switch {
		case oa >= 0 && ob >= 0:
			return oa - ob
		case oa >= 0:
			return -1
		case ob >= 0:
			return 1
		}
		return strings.Compare(a, b)
	})
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(cols, "\t"))
	dashes := make([]string, len(cols))
	for i, c := range cols {
		dashes[i] = strings.Repeat("-", len(c))
	}
	fmt.Fprintln(tw, strings.Join(dashes, "\t"))
	for _, r := range rows {
		cells := make([]string, len(cols))
		for i, c := range cols {
			cells[i] = cell(r[c], width)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	tw.Flush()
}

// cell renders one value: strings and numbers as they are, objects as
// compact JSON, cut to width runes.
func cell(v any, width int) string {
	var s string
	switch x := v.(type) {
	case nil:
		s = ""
	case string:
		s = x
	case json.Number:
		s = x.String()
	default:
		b, err := json.Marshal(x)
		if err != nil {
			s = fmt.Sprint(x)
		} else {
			s = string(b)
		}
	}
	s = strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s)
	if r := []rune(s); len(r) > width {
		s = string(r[:width-3]) + "..."
	}
	return s
}
