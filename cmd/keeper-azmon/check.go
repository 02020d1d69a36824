package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/keeper-azmon/keeper-azmon/azmon"
	"github.com/keeper-azmon/keeper-azmon/internal/fbconfig"
	"github.com/keeper-azmon/keeper-azmon/plugin"
)

// checkEvent is the audit_event of the sample event check posts.
const checkEvent = "keeper_azmon_check"

// checkReport is the outcome of check, for people and (with -json) machines.
type checkReport struct {
	Config   string      `json:"config"`
	Output   string      `json:"output,omitempty"`
	OK       bool        `json:"ok"`
	Exit     int         `json:"exit"`
	Stage    string      `json:"stage"` // config, token, ingestion, done
	Problem  string      `json:"problem,omitempty"`
	Said     string      `json:"said,omitempty"` // what Entra ID, the service or the network said
	SaidBy   string      `json:"said_by,omitempty"`
	Advice   []string    `json:"advice,omitempty"`
	Warnings []string    `json:"warnings,omitempty"`
	Steps    []checkStep `json:"steps"`
	Status   int         `json:"status,omitempty"`
	Code     string      `json:"code,omitempty"`
	// The ids Azure support traces a failed ingestion by.
	RequestID       string `json:"request_id,omitempty"`
	ClientRequestID string `json:"client_request_id,omitempty"`

	Auth      string `json:"auth,omitempty"`
	Authority string `json:"authority,omitempty"`
	Scope     string `json:"scope,omitempty"`
	Endpoint  string `json:"endpoint,omitempty"`
	Stream    string `json:"stream,omitempty"`

	// On success: where to find the sample event.
	CheckID string `json:"check_id,omitempty"`
	Table   string `json:"table,omitempty"`
	Query   string `json:"query,omitempty"`
}

// checkStep is one line of the report: config, token or ingestion.
type checkStep struct {
	Name  string   `json:"name"`
	State string   `json:"state"` // ok, fail, skipped
	Lines []string `json:"lines"`
}

func (r *checkReport) step(name, state string, lines ...string) {
	r.Steps = append(r.Steps, checkStep{Name: name, State: state, Lines: lines})
}

// fail ends the report at stage with exit code and a problem.
func (r *checkReport) fail(exit int, stage, problem string, advice ...string) *checkReport {
	r.Exit, r.Stage, r.Problem, r.Advice = exit, stage, problem, advice
	return r
}

// check is the `check` command.
func (a *app) check(ctx context.Context, args []string) int {
	fs := a.newFlags("check")
	file := fs.String("c", "", "Fluent Bit configuration `file` (.conf or .yaml)")
	spec := fs.String("output", "", "which keeper_azmon output: index, instance name or alias")
	quiet := fs.Bool("q", false, "print one line")
	asJSON := fs.Bool("json", false, "print one JSON object")
	verbose := fs.Bool("v", false, "write the plugin's log lines to stderr")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return a.flagError(err)
	}
	if len(pos) > 0 {
		fmt.Fprintf(a.stderr, "keeper-azmon check: unexpected argument %q (the file goes after -c)\n", pos[0])
		return exitConfig
	}
	logw := io.Discard
	if *verbose {
		logw = a.stderr
	}
	r := a.runCheck(ctx, *file, *spec, logw)
	switch {
	case *asJSON:
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		enc.Encode(r)
	case *quiet:
		fmt.Fprintln(a.stdout, r.oneLine())
	default:
		r.print(a.stdout)
	}
	return r.Exit
}

// runCheck reads the configuration, posts the sample event and explains
// the outcome: config, then token and ingestion, as the report's steps.
func (a *app) runCheck(ctx context.Context, file, spec string, logw io.Writer) *checkReport {
	r := &checkReport{Config: file, Stage: "config"}
	out, props, cfg, ok := a.checkConfig(r, file, spec)
	if !ok {
		return r
	}
	t := newTarget(cfg)
	ep := cfg.Client.Endpoint
	r.Auth, r.Authority, r.Scope, r.Endpoint, r.Stream = string(t.Auth), t.Authority, t.Scope, ep.URL(), ep.Stream
	r.warnCredentials(out, props, cfg, t)

	// The sample goes through a plugin instance, as Fluent Bit's flush would.
	in, err := plugin.New(props, plugin.Options{ID: out.Name, LogOutput: logw, LogLevel: slog.LevelDebug,
		Summary: -1, Getenv: a.getenv, UserAgentComment: "check"})
	if err != nil {
		r.step("config", "fail", err.Error())
		return r.fail(exitConfig, "config", "invalid configuration: "+err.Error())
	}
	defer in.Close()
	r.step("config", "ok", configLines(cfg)...)
	tokenLines := tokenLines(cfg, t)

	// The sample event, through the plugin's own conversion.
	r.CheckID = newCheckID()
	line, chunk, err := sampleChunk(r.CheckID, time.Now())
	if err != nil {
		r.step("token", "skipped", tokenLines...)
		return r.fail(exitConfig, "config", "cannot build the sample event: "+err.Error())
	}
	start := time.Now()
	res := in.Deliver(chunk, "keeper.check")
	took := time.Since(start).Round(time.Millisecond)
	if res.Code == plugin.Error || res.Records != 1 {
		r.step("token", "skipped", tokenLines...)
		return r.fail(exitConfig, "config", fmt.Sprintf("cannot convert the sample event %s: %v", line, res.Err))
	}
	t.SampleLen = res.Size
	if len(res.Streams) == 1 {
		ep.Stream = res.Streams[0] // schema asim: the stream of the sample's schema
		r.Stream = ep.Stream
	}

	if res.Err == nil && res.Accepted == 1 {
		r.step("token", "ok", tokenLines...)
		r.step("ingestion", "ok", fmt.Sprintf("sample event accepted: %d request, %d bytes of JSON, %s", res.Requests, res.Bytes, took))
		r.OK, r.Stage = true, "done"
		r.Table, r.Query = tableAndQuery(ep.Stream, cfg, r.CheckID)
		return r
	}
	return r.explain(res, t, tokenLines, ep)
}

// checkConfig reads the output's section and parses it, reporting the
// config step's failure; ok is false when the check ends there.
func (a *app) checkConfig(r *checkReport, file, spec string) (out fbconfig.Output, props plugin.MapProperties, cfg plugin.Config, ok bool) {
	_, out, err := a.loadOutput(file, spec)
	if err != nil {
		r.step("config", "fail", err.Error())
		r.fail(exitConfig, "config", err.Error())
		return out, nil, cfg, false
	}
	r.Output = out.Label()
	props = out.Properties()
	for _, prop := range sortedKeys(out.UnsetVars()) {
		r.Warnings = append(r.Warnings, unsetNote(out, prop))
	}
	cfg, err = plugin.ParseConfigEnv(props, a.getenv)
	if err != nil {
		msg := err.Error()
		var advice []string
		var ce *plugin.ConfigError
		if errors.As(err, &ce) {
			if note := unsetNote(out, ce.Property); note != "" {
				advice = append(advice, note+": export it before starting Fluent Bit (and before check).")
			}
		}
		r.step("config", "fail", msg)
		r.fail(exitConfig, "config", "invalid configuration: "+msg, advice...)
		return out, props, cfg, false
	}
	return out, props, cfg, true
}

// warnCredentials adds what looks wrong in the credentials though it
// parses: an auth mode inferred from an unset variable, a Secret ID given
// for the secret's Value.
func (r *checkReport) warnCredentials(out fbconfig.Output, props plugin.MapProperties, cfg plugin.Config, t target) {
	if cfg.AuthInferred {
		for _, prop := range []string{"client_secret", "client_secret_file", "client_certificate_path"} {
			note := unsetNote(out, prop)
			if note == "" || props.Get(prop) != "" {
				continue
			}
			for i, w := range r.Warnings {
				if w == note {
					r.Warnings[i] = fmt.Sprintf("auth was inferred as %s because %s is empty: %s.", t.Auth, prop, note)
				}
			}
		}
	}
	secret := string(cfg.Client.Credentials.ClientSecret)
	if t.Auth == azmon.AuthClientSecret && t.GUIDLike {
		r.Warnings = append(r.Warnings, "client_secret has the shape of a GUID, like a secret's Secret ID: it must be the secret's Value.")
	}
	if t.Auth == azmon.AuthClientSecret && secret != "" && secret == t.ClientID {
		r.Warnings = append(r.Warnings, "client_secret equals client_id: it must be the secret's Value.")
	}
}

// configLines are the config step's lines: where the sample goes and how.
func configLines(cfg plugin.Config) []string {
	ep := cfg.Client.Endpoint
	compress := "none"
	if cfg.Client.Gzip {
		compress = "gzip"
	}
	timeKey := cfg.Convert.TimeKey
	if timeKey == "" {
		timeKey = "Fluent Bit's event time"
	}
	return []string{
		fmt.Sprintf("endpoint %s, DCR %s, stream %s", ep.Base, ep.DCRID, ep.Stream),
		fmt.Sprintf("schema %s (time from %s), compress %s, max_request_bytes %d, timeout %s",
			cfg.Convert.Schema, timeKey, compress, cfg.Client.MaxRequestBytes, cfg.Timeout),
	}
}

// tokenLines are the token step's lines: who asks whom for a token.
func tokenLines(cfg plugin.Config, t target) []string {
	authLine := "auth " + string(t.Auth)
	if cfg.AuthInferred {
		authLine += " (inferred)"
	}
	if t.ClientID != "" {
		authLine += ", client_id " + t.ClientID
	}
	if t.TenantID != "" {
		authLine += ", tenant_id " + t.TenantID
	}
	return []string{authLine, "authority " + t.Authority + ", scope " + t.Scope}
}

// explain ends the report of a sample that was not accepted: what went
// wrong, at which step, what the other side said, and the request ids.
func (r *checkReport) explain(res plugin.Report, t target, tokenLines []string, ep azmon.Endpoint) *checkReport {
	err := res.Err
	if first := res.FirstErr; err != nil && first != nil && azmon.NetworkKind(err) == azmon.NetTimeout {
		// An earlier attempt said more than "no answer in time".
		var te *azmon.TokenError
		if errors.As(first, &te) || azmon.NetworkKind(first) != azmon.NetNone {
			err = first
		}
	}
	d := diagnose(err, res.Drops, t)
	r.Said, r.Status, r.Code = d.Said, d.Status, d.Code
	r.RequestID, r.ClientRequestID = azmon.RequestIDs(err)
	if r.ClientRequestID == "" && len(res.Drops) > 0 {
		r.RequestID, r.ClientRequestID = azmon.RequestIDs(res.Drops[0].Err)
	}
	switch {
	case d.Exit == exitNetwork:
		r.SaidBy = "The error"
	case d.Stage == "token" && (t.Auth == azmon.AuthManagedIdentity || t.Auth == azmon.AuthDefault):
		r.SaidBy = "The identity provider said"
	case d.Stage == "token":
		r.SaidBy = "Entra ID said"
	default:
		r.SaidBy = "The service said"
	}
	if d.Stage == "token" {
		r.step("token", "fail", tokenLines...)
		r.step("ingestion", "skipped", "not tried")
	} else {
		r.step("token", "ok", tokenLines...)
		r.step("ingestion", "fail", fmt.Sprintf("POST %s", ep.URL()))
	}
	return r.fail(d.Exit, d.Stage, d.Problem, d.Advice...)
}

// newCheckID is a random id that finds the sample event in the table.
func newCheckID() string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return fmt.Sprintf("%x", time.Now().UnixNano())
	}
	return hex.EncodeToString(b)
}

// sampleEvent is the seed's sample Keeper event, marked as check's own.
type sampleEvent struct {
	AuditEvent    string `json:"audit_event"`
	RemoteAddress string `json:"remote_address"`
	Category      string `json:"category"`
	ClientVersion string `json:"client_version"`
	Username      string `json:"username"`
	EnterpriseID  int    `json:"enterprise_id"`
	Timestamp     string `json:"timestamp"`
	CheckID       string `json:"check_id"`
	Host          string `json:"host"`
	Message       string `json:"message"`
}

// sampleChunk returns the sample event as a JSON line and as a Fluent Bit
// chunk of one record stamped now.
func sampleChunk(id string, now time.Time) ([]byte, []byte, error) {
	hostname, _ := os.Hostname()
	line, err := json.Marshal(sampleEvent{
		AuditEvent:    checkEvent,
		RemoteAddress: "127.0.0.1",
		Category:      "general",
		ClientVersion: "keeper-azmon." + plugin.Version,
		Username:      "keeper-azmon",
		EnterpriseID:  0,
		Timestamp:     now.UTC().Format("2006-01-02T15:04:05.000Z"),
		CheckID:       id,
		Host:          hostname,
		Message:       "test event sent by keeper-azmon check; safe to ignore",
	})
	if err != nil {
		return nil, nil, fmt.Errorf("encode sample event: %w", err)
	}
	chunk, err := appendJSONRecord(nil, line, now)
	return line, chunk, err
}

// tableAndQuery names the table a stream usually lands in and a KQL query
// that finds the sample event there.
func tableAndQuery(stream string, cfg plugin.Config, id string) (string, string) {
	table, auditCol, dataCol := cfg.StreamTable(stream), "audit_event", "data"
	switch {
	case len(cfg.ASIMStreams) > 0:
		return table, fmt.Sprintf("%s\n| where TimeGenerated > ago(1h)\n| where EventOriginalType == %q\n| where tostring(AdditionalFields.check_id) == %q", table, checkEvent, id)
	case stream == "Custom-KeeperSecurityEventNewLogs":
		// The Marketplace solution's DCR renames the columns.
		table, auditCol, dataCol = "KeeperSecurityEventNewLogs_CL", "AuditEvent", "Data"
	case stream == "Custom-Keeper_CL" && cfg.Convert.Schema.String() == "keeper":
		// deploy/azure/keeper-legacy-table.json: the legacy Keeper_CL keeps
		// the Data Collector API's column names; data stays data.
		auditCol = "audit_event_s"
	case table == "":
		table = stream
	}
	q := fmt.Sprintf("%s\n| where TimeGenerated > ago(1h)\n| where %s == %q", table, auditCol, checkEvent)
	if cfg.Convert.Schema.String() == "keeper" {
		q += fmt.Sprintf("\n| where tostring(%s.check_id) == %q", dataCol, id)
	} else {
		q += fmt.Sprintf("\n| where check_id == %q", id)
	}
	return table, q
}

// print writes the report for a terminal.
func (r *checkReport) print(w io.Writer) {
	fmt.Fprintf(w, "keeper-azmon check: %s", r.Config)
	if r.Output != "" {
		fmt.Fprintf(w, ", output %s", r.Output)
	}
	fmt.Fprint(w, "\n\n")
	mark := map[string]string{"ok": "[ ok ]", "fail": "[FAIL]", "skipped": "[ -- ]"}
	for _, s := range r.Steps {
		for i, l := range s.Lines {
			if i == 0 {
				fmt.Fprintf(w, "%s %-10s %s\n", mark[s.State], s.Name, l)
			} else {
				fmt.Fprintf(w, "%18s%s\n", "", l)
			}
		}
	}
	for _, name := range []string{"token", "ingestion"} {
		if !r.hasStep(name) {
			fmt.Fprintf(w, "%s %-10s %s\n", mark["skipped"], name, "not tried")
		}
	}
	if len(r.Warnings) > 0 {
		fmt.Fprintln(w)
		for _, x := range r.Warnings {
			fmt.Fprintf(w, "warning: %s\n", x)
		}
	}
	fmt.Fprintln(w)
	if r.OK {
		fmt.Fprintf(w, "OK: the service accepted the sample event (audit_event %q, check_id %s).\n", checkEvent, r.CheckID)
		fmt.Fprintf(w, "  Table: %s (stream %s). Rows appear in a few minutes;\n", r.Table, r.Stream)
		fmt.Fprintln(w, "  the first rows of a new table or DCR can take 10 to 15.")
		fmt.Fprintln(w, "  Query it in the Log Analytics workspace (or Microsoft Sentinel) > Logs:")
		for _, l := range strings.Split(r.Query, "\n") {
			fmt.Fprintf(w, "    %s\n", l)
		}
		return
	}
	fmt.Fprintf(w, "FAILED (exit %d, %s): %s.\n", r.Exit, r.Stage, r.Problem)
	if r.Said != "" {
		fmt.Fprintf(w, "  %s: %s\n", r.SaidBy, r.Said)
	}
	if r.ClientRequestID != "" {
		ids := "x-ms-client-request-id " + r.ClientRequestID
		if r.RequestID != "" {
			ids = "x-ms-request-id " + r.RequestID + ", " + ids
		}
		fmt.Fprintf(w, "  For Azure support: %s.\n", ids)
	}
	if len(r.Advice) > 0 {
		fmt.Fprintln(w, "  What to do:")
		for _, a := range r.Advice {
			fmt.Fprintf(w, "    - %s\n", a)
		}
	}
}

func (r *checkReport) hasStep(name string) bool {
	for _, s := range r.Steps {
		if s.Name == name {
			return true
		}
	}
	return false
}

// oneLine is the report in one line, for -q.
func (r *checkReport) oneLine() string {
	if r.OK {
		return fmt.Sprintf("ok: sample event accepted by %s (table %s, check_id %s)", r.Stream, r.Table, r.CheckID)
	}
	s := fmt.Sprintf("FAIL exit %d %s: %s", r.Exit, r.Stage, r.Problem)
	if len(r.Advice) > 0 {
		s += ": " + clip(r.Advice[0], 200)
	}
	return s
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
