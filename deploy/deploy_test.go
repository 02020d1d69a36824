// Package deploy holds no code: its tests check the deployment material of
// keeper-azmon (example Fluent Bit configurations, Dockerfile, Kubernetes
// manifests, ARM templates, analytic rule queries) offline, the way kubectl,
// Fluent Bit and Azure Resource Manager would read them, as far as that can be
// done without a cluster, a Fluent Bit binary or an Azure subscription.
package deploy

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/keeper-azmon/keeper-azmon/azmon"
	"github.com/keeper-azmon/keeper-azmon/azmon/azmontest"
	"github.com/keeper-azmon/keeper-azmon/convert"
	"github.com/keeper-azmon/keeper-azmon/convert/chunktest"
	"github.com/keeper-azmon/keeper-azmon/internal/fbconfig"
	"github.com/keeper-azmon/keeper-azmon/plugin"
)

// repoRoot is the repository, seen from this package's directory.
const repoRoot = ".."

// column is one column of a DCR stream declaration or of a table schema.
type column struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// keeperShape is the Keeper shape, as the DCR stream must declare it: the
// columns that the plugin's keeper schema writes, in its order
// (convert/keeper.go: TimeGenerated, the seven Keeper columns, then data), with
// the types of the Marketplace solution's stream
// Custom-KeeperSecurityEventNewLogs (the Marketplace solution's DCR). A DCR drops any field its
// stream does not declare, so this list and convert's Keeper schema must agree.
func keeperShape() []column {
	return []column{
		{"TimeGenerated", "datetime"},
		{"audit_event", "string"},
		{"remote_address", "string"},
		{"category", "string"},
		{"client_version", "string"},
		{"enterprise_id", "int"},
		{"username", "string"},
		{"timestamp", "datetime"},
		{"data", "dynamic"},
	}
}

// marketplaceColumn is a column of a table with the stream column it comes
// from.
type marketplaceColumn struct {
	column
	from string
}

// marketplaceTable is the table KeeperSecurityEventNewLogs_CL of the
// Marketplace solution: each column with the stream column it comes from.
func marketplaceTable() []marketplaceColumn {
	return []marketplaceColumn{
		{column{"TimeGenerated", "datetime"}, "TimeGenerated"},
		{column{"AuditEvent", "string"}, "audit_event"},
		{column{"RemoteAddress", "string"}, "remote_address"},
		{column{"Category", "string"}, "category"},
		{column{"ClientVersion", "string"}, "client_version"},
		{column{"EnterpriseId", "int"}, "enterprise_id"},
		{column{"Username", "string"}, "username"},
		{column{"Timestamp", "datetime"}, "timestamp"},
		{column{"Data", "dynamic"}, "data"},
	}
}

// monitoringMetricsPublisher is the built-in role the Logs Ingestion API needs
// on the DCR.
const monitoringMetricsPublisher = "3913510d-42f4-4e42-8a64-420c390055eb"

// contractProperties are the keeper_azmon properties, as the plugin's
// own table lists them.
func contractProperties() map[string]bool {
	var names []string
	for _, p := range plugin.PropertyTable() {
		names = append(names, p.Name)
	}
	return setOf(names...)
}

// coreOutputProperties are handled by Fluent Bit itself for every output.
func coreOutputProperties() map[string]bool {
	return setOf(
		"name", "match", "match_regex", "alias", "workers", "retry_limit",
		"log_level", "storage.total_limit_size",
	)
}

// secretProperties must never hold a literal value in a file: the
// properties the plugin's table marks secret.
func secretProperties() map[string]bool {
	var names []string
	for _, p := range plugin.PropertyTable() {
		if p.Secret {
			names = append(names, p.Name)
		}
	}
	return setOf(names...)
}

// exampleEnv is what the example configurations may take from the
// environment, with sample values for a dry parse.
func exampleEnv() map[string]envValue {
	return map[string]envValue{
		"KEEPER_AZMON_TENANT_ID":     {value: "00000000-0000-0000-0000-000000000001"},
		"KEEPER_AZMON_CLIENT_ID":     {value: "00000000-0000-0000-0000-000000000002"},
		"KEEPER_AZMON_CLIENT_SECRET": {value: "sample-secret", secret: true},
		"KEEPER_AZMON_ENDPOINT_URL":  {value: "https://keeper-logs-dce-abcd.eastus-1.ingest.monitor.azure.com/dataCollectionRules/dcr-00000000000000000000000000000000/streams/Custom-KeeperLogs_CL?api-version=2023-01-01"},
	}
}

// envValue is one environment variable a configuration can use.
type envValue struct {
	value  string
	secret bool // comes from a Secret (or is documented as a secret)
}

func setOf(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

func readRepoFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// imageConfig names the example from which the Dockerfile's build stage
// writes the configuration at buildPath, by switching on its "#@image "
// lines.
func imageConfig(buildPath string) (string, bool) {
	switch buildPath {
	case "/out/etc/fluent-bit.conf":
		return "fluent-bit.conf.example", true
	case "/out/etc/fluent-bit.yaml":
		return "fluent-bit.yaml.example", true
	}
	return "", false
}

// asImage is an example configuration as the image has it.
func asImage(text string) string {
	return regexp.MustCompile(`(?m)^#@image `).ReplaceAllString(text, "")
}

// ---------------------------------------------------------------------------
// Fluent Bit configurations: a model shared by the classic and YAML formats.

type fbPlugin struct {
	where string            // file:line, for messages
	props map[string]string // lower-case keys
}

func (p fbPlugin) name() string { return strings.ToLower(p.props["name"]) }

type fbConfig struct {
	where       string
	service     map[string]string
	inputs      []fbPlugin
	filters     []fbPlugin
	outputs     []fbPlugin
	parsers     map[string]bool
	pluginPaths []string
	values      []string // every value, for ${VAR} references
}

// lookupFunc reads a file that a configuration names (Parsers_File, ...).
type lookupFunc func(name string) (string, error)

// loadConfig reads a configuration with the reader keeper-azmon check uses
// (internal/fbconfig), as Fluent Bit reads a file called name (the format by
// its extension, ".example" aside), and the parsers and plugins files that
// its service names, through lookup. Values keep their ${VAR} references.
func loadConfig(where, name, text string, lookup lookupFunc) (fbConfig, error) {
	cfg := fbConfig{where: where, service: map[string]string{}, parsers: map[string]bool{}}
	c, err := readConfig(path.Base(strings.TrimSuffix(name, ".example")), text)
	if err != nil {
		return cfg, fmt.Errorf("%s: %w", where, err)
	}
	cfg.add(c, where)
	for _, s := range c.Sections {
		if s.Kind != "service" {
			continue
		}
		for _, p := range s.Props {
			if p.Key == "parsers_file" || p.Key == "plugins_file" {
				if err := cfg.loadSideFile(p.Raw, lookup); err != nil {
					return cfg, fmt.Errorf("%s:%d: %w", where, s.Line, err)
				}
			}
		}
	}
	return cfg, nil
}

// readConfig reads text as the configuration file name with fbconfig.
func readConfig(name, text string) (*fbconfig.Config, error) {
	dir, err := os.MkdirTemp("", "keeper-azmon-deploy")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, name)
	if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
		return nil, err
	}
	return fbconfig.Load(file, func(string) string { return "" })
}

// add takes the sections of c into the model: a plugin's properties as it
// reads them (the first of a repeated key), parsers by name, plugin paths.
func (cfg *fbConfig) add(c *fbconfig.Config, where string) {
	for _, s := range c.Sections {
		props := map[string]string{}
		for _, p := range s.Props {
			cfg.values = append(cfg.values, p.Raw)
			if _, dup := props[p.Key]; !dup {
				props[p.Key] = p.Raw
			}
		}
		at := fmt.Sprintf("%s:%d", where, s.Line)
		switch s.Kind {
		case "service":
			for _, p := range s.Props {
				cfg.service[p.Key] = p.Raw
			}
		case "input":
			cfg.inputs = append(cfg.inputs, fbPlugin{where: at, props: props})
		case "filter":
			cfg.filters = append(cfg.filters, fbPlugin{where: at, props: props})
		case "output":
			cfg.outputs = append(cfg.outputs, fbPlugin{where: at, props: props})
		case "parser", "multiline_parser":
			cfg.parsers[strings.ToLower(props["name"])] = true
		case "plugins":
			for _, p := range s.Props {
				if p.Key == "path" {
					cfg.pluginPaths = append(cfg.pluginPaths, p.Raw)
				}
			}
		}
	}
}

// loadSideFile reads a parsers or plugins file (classic, or YAML by extension).
func (cfg *fbConfig) loadSideFile(name string, lookup lookupFunc) error {
	text, err := lookup(name)
	if err != nil {
		return err
	}
	c, err := readConfig(path.Base(name), text)
	if err != nil {
		return err
	}
	cfg.add(c, name)
	return nil
}

// envRef matches a ${VAR} reference.
func envRef() *regexp.Regexp { return regexp.MustCompile(`\$\{([^}]*)\}`) }

// expand substitutes ${VAR} as Fluent Bit does.
func expand(s string, env map[string]envValue) string {
	return envRef().ReplaceAllStringFunc(s, func(m string) string {
		return env[m[2:len(m)-1]].value
	})
}

// tagMatch is Fluent Bit's Match: '*' stands for any run of characters.
func tagMatch(pattern, tag string) bool {
	re := "^" + strings.ReplaceAll(regexp.QuoteMeta(pattern), `\*`, `.*`) + "$"
	return regexp.MustCompile(re).MatchString(tag)
}

// checkConfig checks a Fluent Bit configuration against the plugin's
// contract: the keeper_azmon outputs use only contract properties, with valid
// values, no literal secret, workers and a retry limit; every ${VAR} is
// provided; inputs buffer on disk; parsers and routes resolve; the plugin is
// loaded from the path the Dockerfile installs it to.
func checkConfig(t *testing.T, cfg fbConfig, env map[string]envValue, pluginPath string) {
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Errorf("%s: %s", cfg.where, fmt.Sprintf(format, args...))
	}

	// Every ${VAR} must be provided.
	ref := envRef()
	for _, v := range cfg.values {
		for _, m := range ref.FindAllStringSubmatch(v, -1) {
			if _, ok := env[m[1]]; !ok {
				fail("${%s} is not provided by the environment (have %v)", m[1], mapKeys(env))
			}
		}
	}

	// The plugin is loaded from where the image has it.
	if len(cfg.pluginPaths) == 0 {
		fail("does not load any plugin (plugins / Plugins_File)")
	}
	for _, p := range cfg.pluginPaths {
		if p != pluginPath {
			fail("loads plugin %s, the Dockerfile installs %s", p, pluginPath)
		}
	}

	// Filesystem buffering for no data loss.
	if cfg.service["storage.path"] == "" {
		fail("service has no storage.path (filesystem buffering)")
	}
	if len(cfg.inputs) == 0 {
		fail("no input")
	}
	for _, in := range cfg.inputs {
		if !strings.EqualFold(in.props["storage.type"], "filesystem") {
			t.Errorf("%s: input %s has storage.type %q, want filesystem", in.where, in.name(), in.props["storage.type"])
		}
		if p := in.props["parser"]; p != "" && !cfg.parsers[strings.ToLower(p)] {
			t.Errorf("%s: parser %q is not defined (have %v)", in.where, p, mapKeys(cfg.parsers))
		}
		if in.name() == "tail" {
			if in.props["path"] == "" {
				t.Errorf("%s: tail without path", in.where)
			}
			if in.props["db"] == "" {
				t.Errorf("%s: tail without db: offsets would not survive a restart", in.where)
			}
		}
		tag := strings.ReplaceAll(in.props["tag"], "*", "var.log.containers.pod_ns_c-0.log")
		routed := false
		for _, out := range cfg.outputs {
			if tagMatch(out.props["match"], tag) {
				routed = true
			}
		}
		if !routed {
			t.Errorf("%s: no output matches tag %q", in.where, in.props["tag"])
		}
	}

	var ours []fbPlugin
	for _, out := range cfg.outputs {
		if out.name() == plugin.Name {
			ours = append(ours, out)
		}
	}
	if len(ours) == 0 {
		fail("no %s output", plugin.Name)
	}
	for _, out := range ours {
		checkOutput(t, out, env)
	}
}

func checkOutput(t *testing.T, out fbPlugin, env map[string]envValue) {
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Errorf("%s: %s", out.where, fmt.Sprintf(format, args...))
	}
	p := out.props
	contract, core := contractProperties(), coreOutputProperties()
	for k := range p {
		switch {
		case contract[k], core[k]:
		default:
			fail("property %q is not in the configuration contract", k)
		}
	}
	if p["match"] == "" && p["match_regex"] == "" {
		fail("no match")
	}
	if n, err := strconv.Atoi(p["workers"]); err != nil || n < 1 {
		fail("workers %q: set it (e.g. 2), a flush without workers blocks the event loop", p["workers"])
	}
	switch rl := strings.ToLower(p["retry_limit"]); rl {
	case "no_limits", "false":
	default:
		if n, err := strconv.Atoi(rl); err != nil || n < 10 {
			fail("retry_limit %q: use no_limits or a high number, so outages lose no data", p["retry_limit"])
		}
	}
	if v := p["storage.total_limit_size"]; v != "" && !regexp.MustCompile(`^[0-9]+[KMGkmg]?$`).MatchString(v) {
		fail("storage.total_limit_size %q is not a size", v)
	}

	// No secret in the file.
	for k := range secretProperties() {
		v, ok := p[k]
		if !ok {
			continue
		}
		m := envRef().FindStringSubmatch(v)
		if m == nil || m[0] != v {
			fail("%s holds a literal value: take it from the environment (${VAR}) or a file", k)
			continue
		}
		if e, ok := env[m[1]]; ok && !e.secret {
			fail("%s comes from ${%s}, which is not sourced from a Secret", k, m[1])
		}
	}

	// Values as the plugin takes them.
	oneOf := func(k string, allowed ...string) {
		t.Helper()
		if v, ok := p[k]; ok && !slices.Contains(allowed, strings.ToLower(expand(v, env))) {
			fail("%s %q is not one of %v", k, v, allowed)
		}
	}
	oneOf("cloud", "public", "usgov", "china")
	oneOf("auth", "client_secret", "client_certificate", "managed_identity", "workload_identity", "default")
	oneOf("schema", "keeper", "raw")
	oneOf("compress", "gzip", "none")
	if v, ok := p["max_request_bytes"]; ok {
		if n, err := strconv.Atoi(v); err != nil || n < 1024 || n > azmon.MaxBodyBytes {
			fail("max_request_bytes %q is not 1024..%d", v, azmon.MaxBodyBytes)
		}
	}
	if v, ok := p["max_concurrency"]; ok {
		if n, err := strconv.Atoi(v); err != nil || n < 1 {
			fail("max_concurrency %q is not a positive number", v)
		}
	}
	if v, ok := p["timeout"]; ok {
		if _, err := time.ParseDuration(v); err != nil {
			fail("timeout %q is not a duration", v)
		}
	}

	// Where records go: endpoint_url, or dce_url + dcr_id + (stream_name | table_name).
	if _, ok := p["endpoint_url"]; ok {
		for _, k := range []string{"dce_url", "dcr_id", "stream_name", "table_name"} {
			if _, both := p[k]; both {
				fail("both endpoint_url and %s", k)
			}
		}
		if _, err := azmon.ParseEndpointURL(expand(p["endpoint_url"], env)); err != nil {
			fail("endpoint_url %q: %v", p["endpoint_url"], err)
		}
	} else {
		_, stream := p["stream_name"]
		_, table := p["table_name"]
		if p["dce_url"] == "" || p["dcr_id"] == "" || stream == table {
			fail("needs endpoint_url, or dce_url, dcr_id and one of stream_name / table_name")
		}
	}

	// Credentials by auth mode.
	auth := strings.ToLower(p["auth"])
	switch auth {
	case "", "client_secret":
		for _, k := range []string{"tenant_id", "client_id"} {
			if p[k] == "" {
				fail("auth client_secret without %s", k)
			}
		}
		if p["client_secret"] == "" && p["client_secret_file"] == "" {
			fail("auth client_secret without client_secret or client_secret_file")
		}
	case "workload_identity":
		// The AKS webhook provides AZURE_CLIENT_ID, AZURE_TENANT_ID,
		// AZURE_FEDERATED_TOKEN_FILE and AZURE_AUTHORITY_HOST.
		for _, k := range []string{"client_secret", "client_secret_file", "client_certificate_path"} {
			if _, ok := p[k]; ok {
				fail("auth workload_identity with %s", k)
			}
		}
	}

	// The plugin's own configuration parser accepts it, with what the AKS
	// webhook injects for workload identity.
	props := plugin.MapProperties{}
	for k, v := range p {
		if contract[k] {
			props[k] = expand(v, env)
		}
	}
	getenv := func(string) string { return "" }
	if auth == "workload_identity" {
		getenv = func(k string) string {
			switch k {
			case "AZURE_FEDERATED_TOKEN_FILE":
				return "/var/run/secrets/azure/tokens/azure-identity-token"
			case "AZURE_CLIENT_ID", "AZURE_TENANT_ID":
				return "00000000-0000-0000-0000-000000000000"
			case "AZURE_AUTHORITY_HOST":
				return "https://login.microsoftonline.com/"
			}
			return ""
		}
	}
	if _, err := plugin.ParseConfigEnv(props, getenv); err != nil {
		fail("plugin.ParseConfigEnv: %v", err)
	}
}

func mapKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// ---------------------------------------------------------------------------
// Dockerfile

type dockerfile struct {
	froms      []string          // FROM lines, in order
	runs       []string          // RUN commands
	copies     []dockerCopy      // COPY instructions
	cmd        []string          // CMD, exec form
	entrypoint []string          // ENTRYPOINT, exec form
	imageFiles map[string]string // file in the image -> repository file (COPY from the context)
}

type dockerCopy struct {
	from string
	srcs []string
	dest string
}

func parseDockerfile(t *testing.T) dockerfile {
	t.Helper()
	d := dockerfile{imageFiles: map[string]string{}}
	var logical []string
	var cur strings.Builder
	sc := bufio.NewScanner(strings.NewReader(readRepoFile(t, "Dockerfile")))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") || (line == "" && cur.Len() == 0) {
			continue
		}
		if strings.HasSuffix(line, `\`) {
			cur.WriteString(strings.TrimSuffix(line, `\`) + " ")
			continue
		}
		cur.WriteString(line)
		logical = append(logical, cur.String())
		cur.Reset()
	}
	for _, l := range logical {
		instr, rest, _ := strings.Cut(l, " ")
		rest = strings.TrimSpace(rest)
		switch strings.ToUpper(instr) {
		case "FROM":
			d.froms = append(d.froms, rest)
		case "RUN":
			d.runs = append(d.runs, rest)
		case "CMD", "ENTRYPOINT":
			var v []string
			if err := json.Unmarshal([]byte(rest), &v); err != nil {
				t.Errorf("Dockerfile: %s is not in exec form: %s", instr, rest)
			}
			if strings.ToUpper(instr) == "CMD" {
				d.cmd = v
			} else {
				d.entrypoint = v
			}
		case "COPY":
			var c dockerCopy
			fields := strings.Fields(rest)
			for len(fields) > 0 && strings.HasPrefix(fields[0], "--") {
				if v, ok := strings.CutPrefix(fields[0], "--from="); ok {
					c.from = v
				}
				fields = fields[1:]
			}
			if len(fields) < 2 {
				t.Fatalf("Dockerfile: COPY %s", rest)
			}
			c.srcs, c.dest = fields[:len(fields)-1], fields[len(fields)-1]
			d.copies = append(d.copies, c)
			if c.from != "" {
				// The build stage writes the image's configurations from the
				// examples (imageConfigs); map them back to their examples.
				for _, s := range c.srcs {
					if ex, ok := imageConfig(s); ok {
						d.imageFiles[path.Join(c.dest, path.Base(s))] = ex
					}
				}
			}
			if c.from == "" {
				for _, s := range c.srcs {
					dst := c.dest
					if strings.HasSuffix(dst, "/") {
						dst += path.Base(s)
					}
					d.imageFiles[dst] = s
				}
			}
		}
	}
	return d
}

// pluginPath is where the Dockerfile installs the .so built in the first stage.
func (d dockerfile) pluginPath(t *testing.T) string {
	t.Helper()
	for _, c := range d.copies {
		if c.from != "" && len(c.srcs) == 1 && path.Base(c.srcs[0]) == "out_keeper_azmon.so" {
			return c.dest
		}
	}
	t.Fatal("Dockerfile: no COPY --from=<build> of out_keeper_azmon.so")
	return ""
}

func TestDockerfile(t *testing.T) {
	d := parseDockerfile(t)
	if len(d.froms) != 2 {
		t.Fatalf("Dockerfile: want two stages, have FROM %q", d.froms)
	}
	build, runtime := d.froms[0], d.froms[1]
	if !strings.HasPrefix(build, "golang:1.26-bookworm ") {
		t.Errorf("Dockerfile: build stage FROM %q, want golang:1.26-bookworm", build)
	}
	if runtime != "fluent/fluent-bit:5.1.1" {
		t.Errorf("Dockerfile: runtime stage FROM %q, want fluent/fluent-bit:5.1.1", runtime)
	}
	// The builder's Go must be the one go.mod asks for.
	if m := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindStringSubmatch(readRepoFile(t, "go.mod")); m == nil || !strings.HasPrefix(build, "golang:"+m[1]+"-") {
		t.Errorf("Dockerfile: build stage %q does not match go.mod's go directive %v", build, m)
	}
	if !slices.ContainsFunc(d.runs, func(r string) bool { return regexp.MustCompile(`(^|&& )make( |$)`).MatchString(r) }) {
		t.Errorf("Dockerfile: no RUN make")
	}
	if got := d.pluginPath(t); got != "/fluent-bit/bin/out_keeper_azmon.so" {
		t.Errorf("Dockerfile: plugin installed at %s", got)
	}
	if d.imageFiles["/fluent-bit/etc/plugins.conf"] != "plugins.conf" {
		t.Errorf("Dockerfile: plugins.conf is not copied to /fluent-bit/etc/plugins.conf")
	}
	cmdline := append(append([]string{}, d.entrypoint...), d.cmd...)
	i := slices.Index(cmdline, "-c")
	if len(d.entrypoint) == 0 || d.entrypoint[0] != "/fluent-bit/bin/fluent-bit" || i < 0 || i+1 >= len(cmdline) {
		t.Fatalf("Dockerfile: does not run /fluent-bit/bin/fluent-bit -c <config>: %q", cmdline)
	}
	conf := cmdline[i+1]
	src, ok := d.imageFiles[conf]
	if !ok {
		t.Fatalf("Dockerfile: runs with -c %s, which no COPY provides", conf)
	}
	for _, ex := range []string{"fluent-bit.conf.example", "fluent-bit.yaml.example"} {
		if !slices.ContainsFunc(d.runs, func(r string) bool { return strings.Contains(r, `sed 's/^#@image //' `+ex+" > /out/etc/") }) {
			t.Errorf("Dockerfile: the build stage does not write the image's copy of %s", ex)
		}
	}
	cfg, err := loadConfig("Dockerfile -c "+conf, src, imageText(t, src), imageLookup(t, d, path.Dir(conf)))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.service["plugins_file"] != "plugins.conf" {
		t.Errorf("%s: [SERVICE] Plugins_File %q, want plugins.conf", conf, cfg.service["plugins_file"])
	}
	checkConfig(t, cfg, exampleEnv(), d.pluginPath(t))

	// Everything copied from the build context exists and is not ignored.
	ignore := strings.Fields(readRepoFile(t, ".dockerignore"))
	ignore = slices.DeleteFunc(ignore, func(s string) bool { return strings.HasPrefix(s, "#") })
	for _, c := range d.copies {
		if c.from != "" {
			continue
		}
		for _, s := range c.srcs {
			if _, err := os.Stat(filepath.Join(repoRoot, s)); err != nil {
				t.Errorf("Dockerfile: COPY %s: %v", s, err)
			}
			for p := s; p != "." && p != "/"; p = path.Dir(p) {
				for _, pat := range ignore {
					if ok, _ := path.Match(strings.TrimPrefix(pat, "/"), p); ok {
						t.Errorf("Dockerfile: COPY %s, but .dockerignore excludes it (%s)", s, pat)
					}
				}
			}
		}
	}
	for _, must := range []string{".git", "out_keeper_azmon.so"} {
		if !slices.Contains(ignore, must) {
			t.Errorf(".dockerignore does not exclude %s", must)
		}
	}
}

// imageLookup resolves a file named by a configuration inside the image.
func imageLookup(t *testing.T, d dockerfile, dir string) lookupFunc {
	return func(name string) (string, error) {
		if !path.IsAbs(name) {
			name = path.Join(dir, name)
		}
		src, ok := d.imageFiles[name]
		if !ok {
			return "", fmt.Errorf("%s is not in the image", name)
		}
		return imageText(t, src), nil
	}
}

// imageText is a repository file as the image has it: the example
// configurations with their "#@image " lines switched on.
func imageText(t *testing.T, src string) string {
	if strings.HasSuffix(src, ".example") {
		return asImage(readRepoFile(t, src))
	}
	return readRepoFile(t, src)
}

// ---------------------------------------------------------------------------
// Example configurations at the repository's root.

func TestExampleConfigs(t *testing.T) {
	d := parseDockerfile(t)
	so := d.pluginPath(t)
	repoLookup := func(name string) (string, error) {
		b, err := os.ReadFile(filepath.Join(repoRoot, filepath.FromSlash(path.Base(name))))
		return string(b), err
	}
	for _, name := range []string{"fluent-bit.conf.example", "fluent-bit.yaml.example"} {
		t.Run(name, func(t *testing.T) {
			// As shipped, for `fluent-bit -e ./out_keeper_azmon.so -c <example>`:
			// loading the plugin by path too would register it twice.
			raw, err := loadConfig(name, name, readRepoFile(t, name), repoLookup)
			if err != nil {
				t.Fatal(err)
			}
			if len(raw.pluginPaths) != 0 {
				t.Errorf("%s loads the plugin by path (%v); the README runs it with -e", name, raw.pluginPaths)
			}
			// As the image has it: everything checked.
			cfg, err := loadConfig(name, name, asImage(readRepoFile(t, name)), repoLookup)
			if err != nil {
				t.Fatal(err)
			}
			checkConfig(t, cfg, exampleEnv(), so)
			for _, out := range cfg.outputs {
				for _, k := range []string{"tenant_id", "client_id", "client_secret", "endpoint_url"} {
					if v := out.props[k]; out.name() == plugin.Name && !envRef().MatchString(v) {
						t.Errorf("%s: %s %q is not taken from the environment", out.where, k, v)
					}
				}
			}
		})
	}

	// plugins.conf names the path the Dockerfile installs to.
	cfg := fbConfig{parsers: map[string]bool{}}
	if err := cfg.loadSideFile("plugins.conf", repoLookup); err != nil {
		t.Fatal(err)
	}
	if len(cfg.pluginPaths) != 1 || cfg.pluginPaths[0] != so {
		t.Errorf("plugins.conf loads %q, the Dockerfile installs %s", cfg.pluginPaths, so)
	}
}

// TestExampleEvents checks examples/keeper_events.jsonl: the seed's eight
// sample events, one JSON object per line, in the shape Keeper sends.
func TestExampleEvents(t *testing.T) {
	lines := strings.Split(strings.TrimRight(readRepoFile(t, "examples/keeper_events.jsonl"), "\n"), "\n")
	if len(lines) != 8 {
		t.Errorf("examples/keeper_events.jsonl: %d events, want the seed's 8", len(lines))
	}
	for i, l := range lines {
		var ev map[string]any
		dec := json.NewDecoder(strings.NewReader(l))
		dec.UseNumber()
		if err := dec.Decode(&ev); err != nil {
			t.Errorf("line %d: %v", i+1, err)
			continue
		}
		for _, k := range []string{"audit_event", "category", "client_version", "username", "timestamp"} {
			if _, ok := ev[k].(string); !ok {
				t.Errorf("line %d: %s is not a string", i+1, k)
			}
		}
		if n, ok := ev["enterprise_id"].(json.Number); !ok {
			t.Errorf("line %d: enterprise_id is not a number", i+1)
		} else if _, err := n.Int64(); err != nil {
			t.Errorf("line %d: enterprise_id %s is not an integer", i+1, n)
		}
		if _, err := time.Parse(time.RFC3339Nano, fmt.Sprint(ev["timestamp"])); err != nil {
			t.Errorf("line %d: timestamp: %v", i+1, err)
		}
	}
}

// ---------------------------------------------------------------------------
// Kubernetes manifests

type objectMeta struct {
	Name        string            `yaml:"name"`
	Namespace   string            `yaml:"namespace"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

// k8sObject covers the fields these manifests use, for every kind; decoding
// with KnownFields rejects any other (a typo kubectl would refuse).
type k8sObject struct {
	APIVersion string     `yaml:"apiVersion"`
	Kind       string     `yaml:"kind"`
	Metadata   objectMeta `yaml:"metadata"`
	// ConfigMap, Secret
	Type       string            `yaml:"type"`
	Data       map[string]string `yaml:"data"`
	StringData map[string]string `yaml:"stringData"`
	// ServiceAccount
	AutomountServiceAccountToken *bool `yaml:"automountServiceAccountToken"`
	// ClusterRole, ClusterRoleBinding
	Rules []struct {
		APIGroups []string `yaml:"apiGroups"`
		Resources []string `yaml:"resources"`
		Verbs     []string `yaml:"verbs"`
	} `yaml:"rules"`
	RoleRef *struct {
		APIGroup string `yaml:"apiGroup"`
		Kind     string `yaml:"kind"`
		Name     string `yaml:"name"`
	} `yaml:"roleRef"`
	Subjects []struct {
		Kind      string `yaml:"kind"`
		Name      string `yaml:"name"`
		Namespace string `yaml:"namespace"`
	} `yaml:"subjects"`
	// Deployment, DaemonSet
	Spec *workloadSpec `yaml:"spec"`
}

type workloadSpec struct {
	Replicas *int `yaml:"replicas"`
	Strategy *struct {
		Type string `yaml:"type"`
	} `yaml:"strategy"`
	UpdateStrategy *struct {
		Type string `yaml:"type"`
	} `yaml:"updateStrategy"`
	Selector struct {
		MatchLabels map[string]string `yaml:"matchLabels"`
	} `yaml:"selector"`
	Template struct {
		Metadata objectMeta `yaml:"metadata"`
		Spec     podSpec    `yaml:"spec"`
	} `yaml:"template"`
}

type podSpec struct {
	ServiceAccountName            string `yaml:"serviceAccountName"`
	AutomountServiceAccountToken  *bool  `yaml:"automountServiceAccountToken"`
	TerminationGracePeriodSeconds *int   `yaml:"terminationGracePeriodSeconds"`
	SecurityContext               *struct {
		RunAsNonRoot   *bool  `yaml:"runAsNonRoot"`
		RunAsUser      *int64 `yaml:"runAsUser"`
		RunAsGroup     *int64 `yaml:"runAsGroup"`
		FSGroup        *int64 `yaml:"fsGroup"`
		SeccompProfile *struct {
			Type string `yaml:"type"`
		} `yaml:"seccompProfile"`
	} `yaml:"securityContext"`
	Tolerations []struct {
		Key      string `yaml:"key"`
		Operator string `yaml:"operator"`
		Value    string `yaml:"value"`
		Effect   string `yaml:"effect"`
	} `yaml:"tolerations"`
	Containers []container `yaml:"containers"`
	Volumes    []volume    `yaml:"volumes"`
}

type keyRef struct {
	Name     string `yaml:"name"`
	Key      string `yaml:"key"`
	Optional *bool  `yaml:"optional"`
}

type container struct {
	Name            string   `yaml:"name"`
	Image           string   `yaml:"image"`
	ImagePullPolicy string   `yaml:"imagePullPolicy"`
	Command         []string `yaml:"command"`
	Args            []string `yaml:"args"`
	Env             []struct {
		Name      string `yaml:"name"`
		Value     string `yaml:"value"`
		ValueFrom *struct {
			ConfigMapKeyRef *keyRef `yaml:"configMapKeyRef"`
			SecretKeyRef    *keyRef `yaml:"secretKeyRef"`
		} `yaml:"valueFrom"`
	} `yaml:"env"`
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
		Protocol      string `yaml:"protocol"`
	} `yaml:"ports"`
	Resources struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
	SecurityContext *struct {
		AllowPrivilegeEscalation *bool  `yaml:"allowPrivilegeEscalation"`
		ReadOnlyRootFilesystem   *bool  `yaml:"readOnlyRootFilesystem"`
		RunAsNonRoot             *bool  `yaml:"runAsNonRoot"`
		RunAsUser                *int64 `yaml:"runAsUser"`
		Capabilities             *struct {
			Add  []string `yaml:"add"`
			Drop []string `yaml:"drop"`
		} `yaml:"capabilities"`
	} `yaml:"securityContext"`
	VolumeMounts []volumeMount `yaml:"volumeMounts"`
}

type volumeMount struct {
	Name      string `yaml:"name"`
	MountPath string `yaml:"mountPath"`
	ReadOnly  bool   `yaml:"readOnly"`
	SubPath   string `yaml:"subPath"`
}

type keyToPath struct {
	Key  string `yaml:"key"`
	Path string `yaml:"path"`
	Mode *int   `yaml:"mode"`
}

// itemKey is the ConfigMap or Secret key mounted at path rel of a volume:
// rel itself when the volume mounts every key, else the key whose item
// names that path ("" if none does).
func itemKey(items []keyToPath, rel string) string {
	if len(items) == 0 {
		return rel
	}
	key := ""
	for _, it := range items {
		if it.Path == rel {
			key = it.Key
		}
	}
	return key
}

type volume struct {
	Name     string `yaml:"name"`
	EmptyDir *struct {
		Medium    string `yaml:"medium"`
		SizeLimit string `yaml:"sizeLimit"`
	} `yaml:"emptyDir"`
	HostPath *struct {
		Path string `yaml:"path"`
		Type string `yaml:"type"`
	} `yaml:"hostPath"`
	ConfigMap *struct {
		Name        string      `yaml:"name"`
		Items       []keyToPath `yaml:"items"`
		DefaultMode *int        `yaml:"defaultMode"`
		Optional    *bool       `yaml:"optional"`
	} `yaml:"configMap"`
	Secret *struct {
		SecretName  string      `yaml:"secretName"`
		Items       []keyToPath `yaml:"items"`
		DefaultMode *int        `yaml:"defaultMode"`
		Optional    *bool       `yaml:"optional"`
	} `yaml:"secret"`
}

// kindSpec is what a manifest of one kind must look like.
type kindSpec struct {
	apiVersion string
	namespaced bool
	fields     []string // top-level fields besides apiVersion, kind, metadata
}

// kinds are the kinds these manifests may hold, with their apiVersion and
// whether they live in a namespace.
func kinds() map[string]kindSpec {
	return map[string]kindSpec{
		"Namespace":          {"v1", false, nil},
		"ServiceAccount":     {"v1", true, []string{"automountServiceAccountToken"}},
		"ConfigMap":          {"v1", true, []string{"data"}},
		"Secret":             {"v1", true, []string{"type", "data", "stringData"}},
		"Deployment":         {"apps/v1", true, []string{"spec"}},
		"DaemonSet":          {"apps/v1", true, []string{"spec"}},
		"ClusterRole":        {"rbac.authorization.k8s.io/v1", false, []string{"rules"}},
		"ClusterRoleBinding": {"rbac.authorization.k8s.io/v1", false, []string{"roleRef", "subjects"}},
	}
}

// Kubernetes name syntaxes, and an image reference pinned by tag or digest.
func dnsSubdomain() *regexp.Regexp {
	return regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
}

func dnsLabel() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`) }

func configKey() *regexp.Regexp { return regexp.MustCompile(`^[-._a-zA-Z0-9]+$`) }

func envName() *regexp.Regexp { return regexp.MustCompile(`^[-._a-zA-Z][-._a-zA-Z0-9]*$`) }

func labelName() *regexp.Regexp {
	return regexp.MustCompile(`^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$`)
}

func imageRef() *regexp.Regexp {
	return regexp.MustCompile(`^[a-z0-9]+([._/-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*(:[\w][\w.-]{0,127}|@sha256:[0-9a-f]{64})$`)
}

// manifest is one YAML document of a manifest file.
type manifest struct {
	where string
	obj   k8sObject
	node  *yaml.Node
}

func loadManifests(t *testing.T, name string) []manifest {
	t.Helper()
	text := readRepoFile(t, name)
	strict := yaml.NewDecoder(strings.NewReader(text))
	strict.KnownFields(true)
	loose := yaml.NewDecoder(strings.NewReader(text))
	var docs []manifest
	for i := 1; ; i++ {
		var node yaml.Node
		err := loose.Decode(&node)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: document %d: %v", name, i, err)
		}
		var obj k8sObject
		if err := strict.Decode(&obj); err != nil {
			t.Fatalf("%s: document %d: %v", name, i, err)
		}
		docs = append(docs, manifest{where: fmt.Sprintf("%s: %s %s", name, obj.Kind, obj.Metadata.Name), obj: obj, node: &node})
	}
	if len(docs) == 0 {
		t.Fatalf("%s: no documents", name)
	}
	return docs
}

// checkStringValues reports labels, annotations, selectors, data and env
// values that YAML does not read as strings (true, 1, ...), which the API
// server refuses.
func checkStringValues(t *testing.T, where string, n *yaml.Node, parentKey string) {
	t.Helper()
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for _, c := range n.Content {
			checkStringValues(t, where, c, parentKey)
		}
	case yaml.MappingNode:
		stringMap := slices.Contains([]string{"labels", "annotations", "matchLabels", "data", "stringData"}, parentKey)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if stringMap && v.Kind == yaml.ScalarNode && v.Tag != "!!str" {
				t.Errorf("%s: line %d: %s.%s is %s %q, not a string: quote it", where, v.Line, parentKey, k.Value, v.Tag, v.Value)
			}
			if parentKey == "env" && k.Value == "value" && v.Tag != "!!str" {
				t.Errorf("%s: line %d: env value %q is not a string: quote it", where, v.Line, v.Value)
			}
			checkStringValues(t, where, v, k.Value)
		}
	}
}

func TestKubernetesManifests(t *testing.T) {
	d := parseDockerfile(t)
	files, err := filepath.Glob(filepath.Join(repoRoot, "deploy", "kubernetes", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in deploy/kubernetes (%v)", err)
	}
	for _, want := range []string{"sidecar.yaml", "daemonset.yaml", "secret-variant.yaml"} {
		if !slices.Contains(files, filepath.Join(repoRoot, "deploy", "kubernetes", want)) {
			t.Errorf("deploy/kubernetes/%s is missing", want)
		}
	}
	for _, f := range files {
		name := "deploy/kubernetes/" + filepath.Base(f)
		t.Run(filepath.Base(f), func(t *testing.T) {
			checkManifestFile(t, name, loadManifests(t, name), d)
		})
	}
}

func checkManifestFile(t *testing.T, file string, docs []manifest, d dockerfile) {
	byKind := map[string]map[string]k8sObject{}
	for _, m := range docs {
		o := m.obj
		spec, known := kinds()[o.Kind]
		switch {
		case o.APIVersion == "" || o.Kind == "" || o.Metadata.Name == "":
			t.Errorf("%s: apiVersion, kind and metadata.name are required", m.where)
			continue
		case !known:
			t.Errorf("%s: unknown kind %q", m.where, o.Kind)
			continue
		case o.APIVersion != spec.apiVersion:
			t.Errorf("%s: apiVersion %q, want %q", m.where, o.APIVersion, spec.apiVersion)
		}
		if !dnsSubdomain().MatchString(o.Metadata.Name) || len(o.Metadata.Name) > 253 {
			t.Errorf("%s: name %q is not a DNS subdomain", m.where, o.Metadata.Name)
		}
		if spec.namespaced != (o.Metadata.Namespace != "") {
			t.Errorf("%s: namespace %q for a kind that is namespaced=%v", m.where, o.Metadata.Namespace, spec.namespaced)
		}
		for i := 0; i+1 < len(m.node.Content[0].Content); i += 2 {
			k := m.node.Content[0].Content[i].Value
			if k != "apiVersion" && k != "kind" && k != "metadata" && !slices.Contains(spec.fields, k) {
				t.Errorf("%s: field %s does not belong to a %s", m.where, k, o.Kind)
			}
		}
		for k, v := range o.Metadata.Labels {
			checkLabel(t, m.where, k, v)
		}
		checkStringValues(t, m.where, m.node, "")
		for k := range o.Data {
			if !configKey().MatchString(k) {
				t.Errorf("%s: data key %q is not valid", m.where, k)
			}
		}
		key := o.Metadata.Namespace + "/" + o.Metadata.Name
		if byKind[o.Kind] == nil {
			byKind[o.Kind] = map[string]k8sObject{}
		}
		if _, dup := byKind[o.Kind][key]; dup {
			t.Errorf("%s: defined twice", m.where)
		}
		byKind[o.Kind][key] = o
	}
	has := func(kind, ns, name string) (k8sObject, bool) {
		o, ok := byKind[kind][ns+"/"+name]
		return o, ok
	}

	for _, m := range docs {
		o := m.obj
		if ns := o.Metadata.Namespace; ns != "" {
			if _, ok := has("Namespace", "", ns); !ok {
				t.Errorf("%s: namespace %s is not created in %s", m.where, ns, file)
			}
		}
		switch o.Kind {
		case "ClusterRoleBinding":
			if o.RoleRef == nil || o.RoleRef.Kind != "ClusterRole" || o.RoleRef.APIGroup != "rbac.authorization.k8s.io" {
				t.Errorf("%s: roleRef must name a ClusterRole", m.where)
			} else if _, ok := has("ClusterRole", "", o.RoleRef.Name); !ok {
				t.Errorf("%s: ClusterRole %s is not defined", m.where, o.RoleRef.Name)
			}
			for _, s := range o.Subjects {
				if _, ok := has("ServiceAccount", s.Namespace, s.Name); s.Kind != "ServiceAccount" || !ok {
					t.Errorf("%s: subject %s %s/%s is not defined", m.where, s.Kind, s.Namespace, s.Name)
				}
			}
		case "Deployment", "DaemonSet":
			checkWorkload(t, m, has, d)
		}
	}
}

func checkLabel(t *testing.T, where, k, v string) {
	t.Helper()
	name := k
	if prefix, n, ok := strings.Cut(k, "/"); ok {
		if !dnsSubdomain().MatchString(prefix) {
			t.Errorf("%s: label key prefix %q", where, prefix)
		}
		name = n
	}
	if !labelName().MatchString(name) || len(name) > 63 {
		t.Errorf("%s: label key %q", where, k)
	}
	if v != "" && (!labelName().MatchString(v) || len(v) > 63) {
		t.Errorf("%s: label value %q", where, v)
	}
}

type hasFunc func(kind, ns, name string) (k8sObject, bool)

func checkWorkload(t *testing.T, m manifest, has hasFunc, d dockerfile) {
	t.Helper()
	o, ns := m.obj, m.obj.Metadata.Namespace
	if o.Spec == nil {
		t.Errorf("%s: no spec", m.where)
		return
	}
	tmpl := o.Spec.Template
	pod := tmpl.Spec
	if len(o.Spec.Selector.MatchLabels) == 0 {
		t.Errorf("%s: no selector.matchLabels", m.where)
	}
	for k, v := range o.Spec.Selector.MatchLabels {
		if tmpl.Metadata.Labels[k] != v {
			t.Errorf("%s: selector %s=%s does not match the pod template's labels", m.where, k, v)
		}
	}
	for k, v := range tmpl.Metadata.Labels {
		checkLabel(t, m.where, k, v)
	}
	if sa := pod.ServiceAccountName; sa != "" {
		if _, ok := has("ServiceAccount", ns, sa); !ok {
			t.Errorf("%s: ServiceAccount %s is not defined", m.where, sa)
		}
	}
	// AKS workload identity: the pod label and the service account's client ID.
	workloadIdentity := tmpl.Metadata.Labels["azure.workload.identity/use"] == "true"
	if workloadIdentity {
		sa, _ := has("ServiceAccount", ns, pod.ServiceAccountName)
		if sa.Metadata.Annotations["azure.workload.identity/client-id"] == "" {
			t.Errorf("%s: workload identity without azure.workload.identity/client-id on ServiceAccount %q", m.where, pod.ServiceAccountName)
		}
	}

	volumes := map[string]volume{}
	for _, v := range pod.Volumes {
		if !dnsLabel().MatchString(v.Name) {
			t.Errorf("%s: volume name %q", m.where, v.Name)
		}
		if _, dup := volumes[v.Name]; dup {
			t.Errorf("%s: volume %s twice", m.where, v.Name)
		}
		volumes[v.Name] = v
		sources := 0
		for _, set := range []bool{v.EmptyDir != nil, v.HostPath != nil, v.ConfigMap != nil, v.Secret != nil} {
			if set {
				sources++
			}
		}
		if sources != 1 {
			t.Errorf("%s: volume %s has %d sources, want 1", m.where, v.Name, sources)
		}
		if c := v.ConfigMap; c != nil {
			cm, ok := has("ConfigMap", ns, c.Name)
			if !ok {
				t.Errorf("%s: volume %s: ConfigMap %s is not defined", m.where, v.Name, c.Name)
			}
			for _, it := range c.Items {
				if _, ok := cm.Data[it.Key]; !ok {
					t.Errorf("%s: volume %s: ConfigMap %s has no key %s", m.where, v.Name, c.Name, it.Key)
				}
			}
		}
		if s := v.Secret; s != nil {
			sec, ok := has("Secret", ns, s.SecretName)
			if !ok {
				t.Errorf("%s: volume %s: Secret %s is not defined", m.where, v.Name, s.SecretName)
			}
			for _, it := range s.Items {
				if !secretHasKey(sec, it.Key) {
					t.Errorf("%s: volume %s: Secret %s has no key %s", m.where, v.Name, s.SecretName, it.Key)
				}
			}
		}
	}

	mountedBy := map[string][]string{} // volume -> containers that write to it
	names := map[string]bool{}
	for _, c := range pod.Containers {
		where := m.where + ": container " + c.Name
		if !dnsLabel().MatchString(c.Name) || names[c.Name] {
			t.Errorf("%s: name missing, invalid or repeated", where)
		}
		names[c.Name] = true
		if !imageRef().MatchString(c.Image) || strings.HasSuffix(c.Image, ":latest") {
			t.Errorf("%s: image %q must be a reference with a tag (not latest) or digest", where, c.Image)
		}
		paths := map[string]bool{}
		for _, vm := range c.VolumeMounts {
			if _, ok := volumes[vm.Name]; !ok {
				t.Errorf("%s: volumeMount %s: no such volume", where, vm.Name)
			}
			if !path.IsAbs(vm.MountPath) || paths[vm.MountPath] {
				t.Errorf("%s: mountPath %q not absolute or repeated", where, vm.MountPath)
			}
			paths[vm.MountPath] = true
			if !vm.ReadOnly {
				mountedBy[vm.Name] = append(mountedBy[vm.Name], c.Name)
			}
		}
		for _, e := range c.Env {
			if !envName().MatchString(e.Name) {
				t.Errorf("%s: env name %q", where, e.Name)
			}
			if vf := e.ValueFrom; vf != nil {
				if r := vf.ConfigMapKeyRef; r != nil {
					if cm, ok := has("ConfigMap", ns, r.Name); !ok {
						t.Errorf("%s: env %s: ConfigMap %s is not defined", where, e.Name, r.Name)
					} else if _, ok := cm.Data[r.Key]; !ok {
						t.Errorf("%s: env %s: ConfigMap %s has no key %s", where, e.Name, r.Name, r.Key)
					}
				}
				if r := vf.SecretKeyRef; r != nil {
					if sec, ok := has("Secret", ns, r.Name); !ok || !secretHasKey(sec, r.Key) {
						t.Errorf("%s: env %s: Secret %s with key %s is not defined", where, e.Name, r.Name, r.Key)
					}
				}
			}
		}
		for _, p := range c.Ports {
			if p.ContainerPort < 1 || p.ContainerPort > 65535 || len(p.Name) > 15 {
				t.Errorf("%s: port %s %d", where, p.Name, p.ContainerPort)
			}
		}
	}

	// The Fluent Bit containers: their configuration comes from a ConfigMap.
	found := false
	for _, c := range pod.Containers {
		i := slices.Index(c.Args, "-c")
		if i < 0 {
			continue
		}
		found = true
		if i+1 >= len(c.Args) {
			t.Errorf("%s: container %s: -c without a file", m.where, c.Name)
			continue
		}
		checkPodFluentBit(t, m, c, c.Args[i+1], volumes, mountedBy, has, d, workloadIdentity)
	}
	if !found {
		t.Errorf("%s: no Fluent Bit container (args -c <config>)", m.where)
	}
}

func secretHasKey(s k8sObject, key string) bool {
	_, a := s.Data[key]
	_, b := s.StringData[key]
	return a || b
}

// mountOf returns the mount of c that holds file p, and p's path inside it.
func mountOf(c container, p string) (volumeMount, string, bool) {
	var best volumeMount
	rel, ok := "", false
	for _, vm := range c.VolumeMounts {
		if r, found := strings.CutPrefix(p, strings.TrimSuffix(vm.MountPath, "/")+"/"); found && len(vm.MountPath) > len(best.MountPath) {
			best, rel, ok = vm, r, true
		}
	}
	return best, rel, ok
}

func checkPodFluentBit(t *testing.T, m manifest, c container, confPath string, volumes map[string]volume, mountedBy map[string][]string, has hasFunc, d dockerfile, workloadIdentity bool) {
	t.Helper()
	ns := m.obj.Metadata.Namespace
	where := m.where + ": container " + c.Name
	// A file of the container: from a ConfigMap or Secret mount, else from the image.
	readFile := func(p string) (string, error) {
		vm, rel, ok := mountOf(c, p)
		if !ok {
			if src, inImage := d.imageFiles[p]; inImage {
				b, err := os.ReadFile(filepath.Join(repoRoot, src))
				return string(b), err
			}
			return "", fmt.Errorf("%s is neither mounted nor in the image", p)
		}
		v := volumes[vm.Name]
		if v.ConfigMap == nil {
			return "", fmt.Errorf("%s is on volume %s, which is not a ConfigMap", p, vm.Name)
		}
		key := itemKey(v.ConfigMap.Items, rel)
		cm, _ := has("ConfigMap", ns, v.ConfigMap.Name)
		text, ok := cm.Data[key]
		if !ok {
			return "", fmt.Errorf("%s: ConfigMap %s has no key for %s", p, v.ConfigMap.Name, rel)
		}
		return text, nil
	}
	text, err := readFile(confPath)
	if err != nil {
		t.Errorf("%s: %v", where, err)
		return
	}
	lookup := func(name string) (string, error) {
		if !path.IsAbs(name) {
			name = path.Join(path.Dir(confPath), name)
		}
		return readFile(name)
	}
	cfg, err := loadConfig(where+": "+confPath, confPath, text, lookup)
	if err != nil {
		t.Errorf("%v", err)
		return
	}

	// The environment the container gives Fluent Bit.
	env := map[string]envValue{}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = envValue{value: e.Value}
		case e.ValueFrom.ConfigMapKeyRef != nil:
			r := e.ValueFrom.ConfigMapKeyRef
			cm, _ := has("ConfigMap", ns, r.Name)
			env[e.Name] = envValue{value: cm.Data[r.Key]}
		case e.ValueFrom.SecretKeyRef != nil:
			env[e.Name] = envValue{value: "from-a-secret", secret: true}
		}
	}
	checkConfig(t, cfg, env, d.pluginPath(t))

	readOnlyRoot := c.SecurityContext != nil && c.SecurityContext.ReadOnlyRootFilesystem != nil && *c.SecurityContext.ReadOnlyRootFilesystem
	writable := func(what, p string) {
		t.Helper()
		vm, _, ok := mountOf(c, strings.TrimSuffix(p, "/")+"/x")
		switch {
		case !ok && readOnlyRoot:
			t.Errorf("%s: %s %s is on the read-only root filesystem", where, what, p)
		case ok && vm.ReadOnly:
			t.Errorf("%s: %s %s is on read-only mount %s", where, what, p, vm.MountPath)
		}
	}
	writable("storage.path", cfg.service["storage.path"])
	for _, in := range cfg.inputs {
		if db := in.props["db"]; db != "" {
			writable("tail db", path.Dir(db))
		}
		if in.name() != "tail" {
			continue
		}
		// What the tail reads is mounted, and something writes it: another
		// container of the pod (shared emptyDir) or the node (hostPath).
		vm, _, ok := mountOf(c, in.props["path"])
		if !ok {
			t.Errorf("%s: tail path %s is not on a mounted volume", where, in.props["path"])
			continue
		}
		v := volumes[vm.Name]
		if v.HostPath == nil && !slices.ContainsFunc(mountedBy[vm.Name], func(n string) bool { return n != c.Name }) {
			t.Errorf("%s: tail path %s: no other container writes volume %s", where, in.props["path"], vm.Name)
		}
	}
	for _, out := range cfg.outputs {
		if out.name() != plugin.Name {
			continue
		}
		if f := out.props["client_secret_file"]; f != "" {
			vm, rel, ok := mountOf(c, f)
			v := volumes[vm.Name]
			if !ok || v.Secret == nil {
				t.Errorf("%s: client_secret_file %s is not on a Secret volume", where, f)
			} else {
				key := itemKey(v.Secret.Items, rel)
				sec, _ := has("Secret", ns, v.Secret.SecretName)
				if !secretHasKey(sec, key) {
					t.Errorf("%s: client_secret_file %s: Secret %s has no key %s", where, f, v.Secret.SecretName, key)
				}
			}
		}
		if strings.EqualFold(out.props["auth"], "workload_identity") && !workloadIdentity {
			t.Errorf("%s: auth workload_identity, but the pod lacks the label azure.workload.identity/use: \"true\"", out.where)
		}
	}
}

// ---------------------------------------------------------------------------
// ARM templates

// armTemplate is the part of a deployment template these checks read.
type armTemplate struct {
	Schema         string                     `json:"$schema"`
	ContentVersion string                     `json:"contentVersion"`
	Parameters     map[string]json.RawMessage `json:"parameters"`
	Variables      map[string]any             `json:"variables"`
	Resources      []map[string]any           `json:"resources"`
	Outputs        map[string]struct {
		Type  string `json:"type"`
		Value string `json:"value"`
	} `json:"outputs"`
}

// paramRef and varRef match ARM template parameters('x') and variables('x').
func paramRef() *regexp.Regexp { return regexp.MustCompile(`parameters\('([^']*)'\)`) }

func varRef() *regexp.Regexp { return regexp.MustCompile(`variables\('([^']*)'\)`) }

// resolve returns a variable's value when s is exactly "[variables('x')]".
func (a armTemplate) resolve(s string) any {
	if m := varRef().FindStringSubmatch(s); m != nil && s == "[variables('"+m[1]+"')]" {
		return a.Variables[m[1]]
	}
	return s
}

// resolveText is s with every variables('x') that holds text spelled out,
// so that resource types and ids can be searched for.
func (a armTemplate) resolveText(s string) string {
	ref := varRef()
	for range 5 {
		s = ref.ReplaceAllStringFunc(s, func(m string) string {
			if v, ok := a.Variables[ref.FindStringSubmatch(m)[1]].(string); ok {
				return v
			}
			return m
		})
	}
	return s
}

// checkExpressions walks every string and checks template expressions: the
// brackets, parentheses and quotes balance, and every parameter and variable
// referenced exists.
func (a armTemplate) checkExpressions(t *testing.T, where string, v any) {
	t.Helper()
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			a.checkExpressions(t, where+"."+k, x)
		}
	case []any:
		for i, x := range v {
			a.checkExpressions(t, fmt.Sprintf("%s[%d]", where, i), x)
		}
	case string:
		if !strings.HasPrefix(v, "[") || strings.HasPrefix(v, "[[") {
			return
		}
		if !strings.HasSuffix(v, "]") {
			t.Errorf("%s: expression %q does not end with ]", where, v)
			return
		}
		depth, quoted, negative := 0, false, false
		for _, r := range v[1 : len(v)-1] {
			switch {
			case r == '\'':
				quoted = !quoted
			case quoted:
			case r == '(':
				depth++
			case r == ')':
				depth--
				negative = negative || depth < 0
			}
		}
		if depth != 0 || quoted || negative {
			t.Errorf("%s: unbalanced expression %q", where, v)
		}
		for _, m := range paramRef().FindAllStringSubmatch(v, -1) {
			if _, ok := a.Parameters[m[1]]; !ok {
				t.Errorf("%s: parameter %q is not declared", where, m[1])
			}
		}
		for _, m := range varRef().FindAllStringSubmatch(v, -1) {
			if _, ok := a.Variables[m[1]]; !ok {
				t.Errorf("%s: variable %q is not declared", where, m[1])
			}
		}
	}
}

// checkUse checks a template's expressions (whole is the template
// decoded, raw its text), and that every parameter and variable is used
// (arm-ttk's rule): an unused one is a value someone edits to no effect.
func (a armTemplate) checkUse(t *testing.T, name string, whole any, raw string) {
	t.Helper()
	a.checkExpressions(t, name, whole)
	for kind, names := range map[string][]string{"parameters": mapKeys(a.Parameters), "variables": mapKeys(a.Variables)} {
		for _, n := range names {
			if !strings.Contains(raw, kind+"('"+n+"')") {
				t.Errorf("%s: %s %s is never used", name, kind, n)
			}
		}
	}
}

func decodeColumns(t *testing.T, where string, v any) []column {
	t.Helper()
	b, _ := json.Marshal(v)
	var cols []column
	if err := json.Unmarshal(b, &cols); err != nil {
		t.Errorf("%s: columns: %v", where, err)
	}
	return cols
}

// splitArgs splits a function's argument list at top-level commas.
func splitArgs(s string) []string {
	var args []string
	depth, quoted, start := 0, false, 0
	for i, r := range s {
		switch {
		case r == '\'':
			quoted = !quoted
		case quoted:
		case r == '(':
			depth++
		case r == ')':
			depth--
		case r == ',' && depth == 0:
			args = append(args, strings.TrimSpace(s[start:i]))
			start = i + 1
		}
	}
	return append(args, strings.TrimSpace(s[start:]))
}

// sample values for what Azure fills in at deployment.
const (
	sampleDCE = "https://keeper-logs-dce-abcd.eastus-1.ingest.monitor.azure.com"
	sampleDCR = "dcr-0123456789abcdef0123456789abcdef"
)

// evalURL evaluates an output expression made of concat, string literals,
// the DCE's logsIngestion.endpoint and the DCR's immutableId.
func (a armTemplate) evalURL(expr string) (string, error) {
	expr = strings.TrimSuffix(strings.TrimPrefix(expr, "["), "]")
	args := []string{expr}
	if inner, ok := strings.CutPrefix(expr, "concat("); ok && strings.HasSuffix(inner, ")") {
		args = splitArgs(strings.TrimSuffix(inner, ")"))
	}
	var b strings.Builder
	for _, arg := range args {
		text := a.resolveText(arg)
		switch {
		case strings.HasPrefix(arg, "'") && strings.HasSuffix(arg, "'"):
			b.WriteString(strings.ReplaceAll(arg[1:len(arg)-1], "''", "'"))
		case strings.HasPrefix(arg, "reference(") && strings.HasSuffix(arg, ").logsIngestion.endpoint") &&
			strings.Contains(text, "Microsoft.Insights/dataCollectionEndpoints"):
			b.WriteString(sampleDCE)
		case strings.HasPrefix(arg, "reference(") && strings.HasSuffix(arg, ").immutableId") &&
			strings.Contains(text, "Microsoft.Insights/dataCollectionRules"):
			b.WriteString(sampleDCR)
		default:
			return "", fmt.Errorf("cannot evaluate %q", arg)
		}
	}
	return b.String(), nil
}

func TestAzureTemplates(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(repoRoot, "deploy", "azure", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no templates in deploy/azure (%v)", err)
	}
	for _, want := range []string{"keeper-logs.json", "keeper-marketplace-shape.json", "keeper-asim.json"} {
		if !slices.Contains(files, filepath.Join(repoRoot, "deploy", "azure", want)) {
			t.Errorf("deploy/azure/%s is missing", want)
		}
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			checkTemplate(t, "deploy/azure/"+filepath.Base(f))
		})
	}
}

func checkTemplate(t *testing.T, name string) {
	raw := readRepoFile(t, name)
	var a armTemplate
	dec := json.NewDecoder(strings.NewReader(raw))
	if err := dec.Decode(&a); err != nil {
		t.Fatalf("%s: not valid JSON: %v", name, err)
	}
	if !strings.HasPrefix(a.Schema, "https://schema.management.azure.com/schemas/") || !strings.HasSuffix(a.Schema, "/deploymentTemplate.json#") {
		t.Errorf("%s: $schema %q is not a deploymentTemplate schema", name, a.Schema)
	}
	if !regexp.MustCompile(`^\d+\.\d+\.\d+\.\d+$`).MatchString(a.ContentVersion) {
		t.Errorf("%s: contentVersion %q", name, a.ContentVersion)
	}
	if len(a.Resources) == 0 {
		t.Fatalf("%s: no resources", name)
	}
	var whole any
	_ = json.Unmarshal([]byte(raw), &whole)
	// A nested deployment with its own scope is a template of its own: its
	// expressions name its own parameters and variables.
	wm, _ := whole.(map[string]any)
	resources, _ := wm["resources"].([]any)
	for i, r := range resources {
		p, _ := r.(map[string]any)["properties"].(map[string]any)
		opts, _ := p["expressionEvaluationOptions"].(map[string]any)
		if nested, ok := p["template"].(map[string]any); ok && strings.EqualFold(fmt.Sprint(opts["scope"]), "inner") {
			text, _ := json.Marshal(nested)
			var n armTemplate
			if err := json.Unmarshal(text, &n); err != nil {
				t.Errorf("%s: nested template of resources[%d]: %v", name, i, err)
			}
			n.checkUse(t, fmt.Sprintf("%s: nested template of resources[%d]", name, i), nested, string(text))
			delete(p, "template")
		}
	}
	a.checkUse(t, name, whole, raw)

	byType := map[string][]map[string]any{}
	for i, r := range a.Resources {
		typ, _ := r["type"].(string)
		if typ == "" || r["apiVersion"] == nil || r["name"] == nil {
			t.Errorf("%s: resources[%d] needs type, apiVersion and name", name, i)
		}
		byType[strings.ToLower(typ)] = append(byType[strings.ToLower(typ)], r)
	}
	props := func(r map[string]any) map[string]any { p, _ := r["properties"].(map[string]any); return p }

	// Tables the template creates, by name.
	tables := map[string][]column{}
	for _, r := range byType["microsoft.operationalinsights/workspaces/tables"] {
		schema, _ := props(r)["schema"].(map[string]any)
		tname, _ := schema["name"].(string)
		if !strings.HasSuffix(tname, "_CL") {
			t.Errorf("%s: custom table %q must end in _CL", name, tname)
		}
		if n, _ := r["name"].(string); !strings.Contains(a.resolveText(n), tname) {
			t.Errorf("%s: table resource %q does not carry the schema's name %s", name, n, tname)
		}
		tables[tname] = decodeColumns(t, name+": table "+tname, schema["columns"])
	}
	// Tables a nested deployment updates (their columns built from the
	// table's current ones: see checkLegacyTable), by name.
	nestedTables := map[string]nestedTable{}
	for _, d := range byType["microsoft.resources/deployments"] {
		tmpl, _ := props(d)["template"].(map[string]any)
		text, _ := json.Marshal(tmpl)
		var n armTemplate
		_ = json.Unmarshal(text, &n)
		for _, r := range n.Resources {
			if !strings.EqualFold(fmt.Sprint(r["type"]), "Microsoft.OperationalInsights/workspaces/tables") {
				continue
			}
			schema, _ := props(r)["schema"].(map[string]any)
			tname, _ := schema["name"].(string)
			nestedTables[tname] = nestedTable{deployment: d, template: n, table: r}
			tables[tname] = nil
		}
	}

	dcrs := byType["microsoft.insights/datacollectionrules"]
	if len(dcrs) != 1 {
		t.Fatalf("%s: %d data collection rules, want 1", name, len(dcrs))
	}
	dcr := props(dcrs[0])
	if dcr["dataCollectionEndpointId"] == nil && dcrs[0]["kind"] != "Direct" {
		t.Errorf("%s: the DCR needs dataCollectionEndpointId or kind Direct", name)
	}
	if dcr["dataCollectionEndpointId"] != nil && len(byType["microsoft.insights/datacollectionendpoints"]) != 1 {
		t.Errorf("%s: the DCR names a data collection endpoint the template does not create", name)
	}
	streams, _ := dcr["streamDeclarations"].(map[string]any)
	if flows, _ := dcr["dataFlows"].([]any); len(flows) > 0 {
		if out, _ := flows[0].(map[string]any)["outputStream"].(string); strings.HasPrefix(out, "Microsoft-ASim") {
			checkASIMDCR(t, name, a, dcr)
			checkRoleAssignment(t, name, a, byType)
			return
		}
	}
	if len(streams) != 1 {
		t.Fatalf("%s: %d stream declarations, want 1", name, len(streams))
	}
	var stream string
	for s, decl := range streams {
		stream = s
		if !strings.HasPrefix(s, "Custom-") {
			t.Errorf("%s: stream %q must start with Custom-", name, s)
		}
		cols := decodeColumns(t, name+": stream "+s, decl.(map[string]any)["columns"])
		if !slices.Equal(cols, keeperShape()) {
			t.Errorf("%s: stream %s declares\n  %v\nwant the Keeper shape\n  %v", name, s, cols, keeperShape())
		}
	}
	destinations := map[string]bool{}
	dests, _ := dcr["destinations"].(map[string]any)
	las, _ := dests["logAnalytics"].([]any)
	for _, d := range las {
		dm, _ := d.(map[string]any)
		n, _ := a.resolve(fmt.Sprint(dm["name"])).(string)
		destinations[n] = true
		if ws := a.resolveText(fmt.Sprint(dm["workspaceResourceId"])); !strings.Contains(ws, "Microsoft.OperationalInsights/workspaces") {
			t.Errorf("%s: logAnalytics destination %q is not a workspace", name, ws)
		}
	}
	if len(destinations) == 0 {
		t.Errorf("%s: no logAnalytics destination", name)
	}
	flows, _ := dcr["dataFlows"].([]any)
	if len(flows) != 1 {
		t.Fatalf("%s: %d data flows, want 1", name, len(flows))
	}
	flow := flows[0].(map[string]any)
	if fs, _ := flow["streams"].([]any); len(fs) != 1 || fs[0] != stream {
		t.Errorf("%s: data flow streams %v, want [%s]", name, fs, stream)
	}
	for _, d := range flow["destinations"].([]any) {
		if n, _ := a.resolve(d.(string)).(string); !destinations[n] {
			t.Errorf("%s: data flow destination %q is not declared", name, d)
		}
	}
	outStream, _ := flow["outputStream"].(string)
	table := strings.TrimPrefix(outStream, "Custom-")
	tableCols, ok := tables[table]
	if !strings.HasPrefix(outStream, "Custom-") || !ok {
		t.Fatalf("%s: outputStream %q is not Custom-<a table this template creates> (%v)", name, outStream, mapKeys(tables))
	}

	// The transformation: "source" into a table of the same shape, or the
	// Marketplace renaming into KeeperSecurityEventNewLogs_CL.
	kql, _ := flow["transformKql"].(string)
	var kqls []string
	if strings.HasPrefix(kql, "[") {
		for _, m := range varRef().FindAllStringSubmatch(kql, -1) {
			kqls = append(kqls, fmt.Sprint(a.Variables[m[1]]))
		}
	} else {
		kqls = []string{kql}
	}
	if len(kqls) == 0 {
		t.Errorf("%s: transformKql %q", name, kql)
	}
	switch table {
	case "KeeperLogs_CL":
		if stream != "Custom-KeeperLogs_CL" || kql != "source" {
			t.Errorf("%s: want stream Custom-KeeperLogs_CL and transformKql source, have %s and %q", name, stream, kql)
		}
		if !slices.Equal(tableCols, keeperShape()) {
			t.Errorf("%s: table KeeperLogs_CL columns\n  %v\nwant\n  %v", name, tableCols, keeperShape())
		}
	case "KeeperSecurityEventNewLogs_CL":
		if stream != "Custom-KeeperSecurityEventNewLogs" {
			t.Errorf("%s: stream %s, want the Marketplace's Custom-KeeperSecurityEventNewLogs", name, stream)
		}
		var want []column
		for _, c := range marketplaceTable() {
			want = append(want, c.column)
		}
		if !slices.Equal(tableCols, want) {
			t.Errorf("%s: table columns\n  %v\nwant\n  %v", name, tableCols, want)
		}
		for _, q := range kqls {
			if !strings.HasPrefix(q, "source") {
				t.Errorf("%s: transformation %q does not start from source", name, q)
			}
			for _, c := range marketplaceTable()[1:] {
				if !regexp.MustCompile(`\b` + c.Name + `\s*=\s*` + c.from + `\b`).MatchString(q) {
					t.Errorf("%s: transformation %q does not fill %s from %s", name, q, c.Name, c.from)
				}
			}
			if !strings.Contains(q, "TimeGenerated") {
				t.Errorf("%s: transformation %q drops TimeGenerated", name, q)
			}
		}
	case "Keeper_CL":
		if stream != "Custom-Keeper_CL" {
			t.Errorf("%s: stream %s, want Custom-Keeper_CL (what table_name Keeper_CL gives)", name, stream)
		}
		nt, ok := nestedTables[table]
		if !ok || len(kqls) != 1 {
			t.Fatalf("%s: Keeper_CL is not updated by a nested deployment, or the transformation is not one variable", name)
		}
		checkLegacyTable(t, name, a, nt, kqls[0])
	default:
		t.Errorf("%s: unexpected table %s", name, table)
	}
	if nt, ok := nestedTables[table]; ok {
		if !dependsOnResource(a, dcrs[0], "Microsoft.Resources/deployments", fmt.Sprint(nt.deployment["name"])) {
			t.Errorf("%s: the DCR does not depend on the deployment that updates %s", name, table)
		}
	} else if !dependsOnTable(a, dcrs[0], table) {
		t.Errorf("%s: the DCR does not depend on the table %s it writes to", name, table)
	}

	checkRoleAssignment(t, name, a, byType)

	// Outputs: the endpoint URL to paste into endpoint_url, and the DCR's immutable id.
	out, ok := a.Outputs["endpointUrl"]
	if !ok {
		t.Fatalf("%s: no endpointUrl output", name)
	}
	url, err := a.evalURL(out.Value)
	if err != nil {
		t.Fatalf("%s: endpointUrl: %v", name, err)
	}
	want := sampleDCE + "/dataCollectionRules/" + sampleDCR + "/streams/" + stream + "?api-version=" + azmon.APIVersion
	if url != want {
		t.Errorf("%s: endpointUrl evaluates to\n  %s\nwant\n  %s", name, url, want)
	}
	if ep, err := azmon.ParseEndpointURL(url); err != nil || ep.Stream != stream || ep.DCRID != sampleDCR {
		t.Errorf("%s: the plugin reads endpointUrl %s as %+v, %v", name, url, ep, err)
	}
	if id, err := a.evalURL(a.Outputs["dataCollectionRuleImmutableId"].Value); err != nil || id != sampleDCR {
		t.Errorf("%s: dataCollectionRuleImmutableId output: %q, %v", name, id, err)
	}
	if dce, ok := a.Outputs["dataCollectionEndpointUrl"]; ok {
		if v, err := a.evalURL(dce.Value); err != nil || v != sampleDCE {
			t.Errorf("%s: dataCollectionEndpointUrl output: %q, %v", name, v, err)
		} else if _, err := azmon.ParseDCEURL(v); err != nil {
			t.Errorf("%s: dce_url %s: %v", name, v, err)
		}
	}
	for _, p := range []string{"workspaceName", "location", "principalObjectId"} {
		if _, ok := a.Parameters[p]; !ok {
			t.Errorf("%s: parameter %s is missing", name, p)
		}
	}
}

// checkRoleAssignment: Monitoring Metrics Publisher on the DCR for the
// principal the parameters name.
func checkRoleAssignment(t *testing.T, name string, a armTemplate, byType map[string][]map[string]any) {
	props := func(r map[string]any) map[string]any { p, _ := r["properties"].(map[string]any); return p }
	ras := byType["microsoft.authorization/roleassignments"]
	if len(ras) != 1 {
		t.Fatalf("%s: %d role assignments, want 1", name, len(ras))
	}
	ra := ras[0]
	rp := props(ra)
	if rd := a.resolveText(fmt.Sprint(rp["roleDefinitionId"])); !strings.Contains(rd, monitoringMetricsPublisher) || !strings.Contains(rd, "Microsoft.Authorization/roleDefinitions") {
		t.Errorf("%s: roleDefinitionId %q is not Monitoring Metrics Publisher (%s)", name, rd, monitoringMetricsPublisher)
	}
	if scope := a.resolveText(fmt.Sprint(ra["scope"])); !strings.Contains(scope, "Microsoft.Insights/dataCollectionRules/") {
		t.Errorf("%s: role assignment scope %q is not the DCR", name, scope)
	}
	if pid := fmt.Sprint(rp["principalId"]); !paramRef().MatchString(pid) {
		t.Errorf("%s: principalId %q does not come from a parameter", name, pid)
	}
	if rp["principalType"] != "ServicePrincipal" {
		t.Errorf("%s: principalType %v, want ServicePrincipal", name, rp["principalType"])
	}

}

func dependsOnTable(a armTemplate, r map[string]any, table string) bool {
	deps, _ := r["dependsOn"].([]any)
	for _, d := range deps {
		s := a.resolveText(fmt.Sprint(d))
		if strings.Contains(s, "Microsoft.OperationalInsights/workspaces/tables") && strings.Contains(s, table) {
			return true
		}
	}
	return false
}

// TestAnalyticRules checks the seed's two Sentinel analytic rule queries.
func TestAnalyticRules(t *testing.T) {
	for file, want := range map[string]string{
		"deploy/azure/rules/master-password-changed.kql": "KeeperSecurityEventNewLogs_CL\n| where AuditEvent == \"change_master_password\"",
		"deploy/azure/rules/mfa-changed.kql":             "KeeperSecurityEventNewLogs_CL\n| where AuditEvent in (\"set_two_factor_off\", \"set_two_factor_on\")",
	} {
		var query []string
		for _, l := range strings.Split(readRepoFile(t, file), "\n") {
			if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "//") {
				query = append(query, l)
			}
		}
		if got := strings.Join(query, "\n"); got != want {
			t.Errorf("%s: query\n%s\nwant the seed's\n%s", file, got, want)
		}
	}
}

// TestReadmes checks that the READMEs give the commands they promise.
func TestReadmes(t *testing.T) {
	az := readRepoFile(t, "deploy/azure/README.md")
	for _, s := range []string{"az deployment group create", "keeper-logs.json", "keeper-marketplace-shape.json", "keeper-legacy-table.json", "endpointUrl"} {
		if !strings.Contains(az, s) {
			t.Errorf("deploy/azure/README.md does not mention %s", s)
		}
	}
	// The top README's road from the legacy integration: the migration and
	// its permission, the template, the stream to point the plugin at.
	top := readRepoFile(t, "README.md")
	_, legacy, _ := strings.Cut(top, "## Coming from Keeper's legacy Azure Sentinel integration")
	legacy, _, _ = strings.Cut(legacy, "\n## ")
	for _, s := range []string{"az monitor log-analytics workspace table migrate", "/tables/Keeper_CL/migrate?api-version=",
		"Microsoft.OperationalInsights/workspaces/tables/migrate/action", "deploy/azure/keeper-legacy-table.json",
		"Custom-Keeper_CL", "Keeper_CL\n| where timestamp_t"} {
		if !strings.Contains(legacy, s) {
			t.Errorf("README.md's legacy section does not give %s", s)
		}
	}
	k8s := readRepoFile(t, "deploy/kubernetes/README.md")
	for _, s := range []string{"sidecar.yaml", "daemonset.yaml", "secret-variant.yaml", "azure.workload.identity", "kubectl apply"} {
		if !strings.Contains(k8s, s) {
			t.Errorf("deploy/kubernetes/README.md does not mention %s", s)
		}
	}
}

// TestKeeperShapeIsWhatConvertWrites ties keeperShape to the plugin itself:
// every field the keeper schema writes for the seed's events, and for
// records with unusual values, is a declared column with a value of the
// column's type, TimeGenerated first (JSON member order means nothing to
// a DCR otherwise: the plugin follows the seed's sample body). If convert changed the shape, a DCR
// built from deploy/azure would drop or null what it sends.
func TestKeeperShapeIsWhatConvertWrites(t *testing.T) {
	chunk := chunktest.SeedChunk(true)
	chunk = chunktest.AppendEventV2(chunk, time.Unix(1737595871, 0), nil, chunktest.M(
		"enterprise_id", "6557", "timestamp", int64(1737595871123), "username", 42,
		"data", chunktest.M("x", 1), "extra", []any{1, "two"}))
	chunk = chunktest.AppendEventV2(chunk, time.Unix(1737595871, 0), nil, chunktest.M(
		"enterprise_id", 5_000_000_000, "timestamp", "not a time", "audit_event", nil))
	var recs convert.Records
	if _, err := convert.New(convert.Options{Schema: convert.Keeper, TimeKey: "timestamp"}).Convert(chunk, &recs); err != nil {
		t.Fatal(err)
	}
	types := map[string]string{}
	for _, c := range keeperShape() {
		types[c.Name] = c.Type
	}
	for i := range recs.Len() {
		rec := recs.Record(i)
		dec := json.NewDecoder(bytes.NewReader(rec))
		dec.UseNumber()
		if _, err := dec.Token(); err != nil { // {
			t.Fatal(err)
		}
		first := true
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				t.Fatal(err)
			}
			name := tok.(string)
			var v any
			if err := dec.Decode(&v); err != nil {
				t.Fatal(err)
			}
			typ, ok := types[name]
			if !ok {
				t.Errorf("record %d: field %q is not a declared column: a DCR would drop it\n%s", i, name, rec)
				continue
			}
			if first && name != "TimeGenerated" {
				t.Errorf("record %d: starts with %q, not TimeGenerated\n%s", i, name, rec)
			}
			first = false
			if !fitsColumn(v, typ) {
				t.Errorf("record %d: %s = %#v does not fit a %s column\n%s", i, name, v, typ, rec)
			}
		}
	}
}

// fitsColumn reports whether a decoded JSON value fits a Log Analytics
// column type as the plugin uses them.
func fitsColumn(v any, typ string) bool {
	switch typ {
	case "string":
		_, ok := v.(string)
		return ok
	case "int":
		n, ok := v.(json.Number)
		if !ok {
			return false
		}
		_, err := strconv.ParseInt(string(n), 10, 32)
		return err == nil
	case "datetime":
		s, ok := v.(string)
		if !ok {
			return false
		}
		_, err := time.Parse(time.RFC3339Nano, s)
		return err == nil
	case "dynamic":
		_, ok := v.(map[string]any)
		return ok
	}
	return false
}

// checkASIMDCR checks the DCR of schema asim: one input stream for each
// ASIM schema, declaring exactly the columns the plugin writes for it
// (convert.ASIMColumns), each a column of the target table with the same
// type (the table reference azmontest models), written with transformKql
// source into Microsoft-<table>; and the outputs dce_url and dcr_id.
func checkASIMDCR(t *testing.T, name string, a armTemplate, dcr map[string]any) {
	streams, _ := dcr["streamDeclarations"].(map[string]any)
	flows, _ := dcr["dataFlows"].([]any)
	props := plugin.ASIMStreamProperties()
	if len(streams) != 3 || len(flows) != 3 {
		t.Fatalf("%s: %d streams and %d data flows, want 3 of each", name, len(streams), len(flows))
	}
	for _, s := range convert.ASIMSchemas() {
		stream := props[s][1]
		decl, ok := streams[stream].(map[string]any)
		if !ok {
			t.Errorf("%s: no stream %s (the default of %s)", name, stream, props[s][0])
			continue
		}
		cols := decodeColumns(t, name+": stream "+stream, decl["columns"])
		var want []column
		for _, c := range convert.ASIMColumns(s) {
			want = append(want, column{c[0], c[1]})
		}
		if !slices.Equal(cols, want) {
			t.Errorf("%s: stream %s declares\n  %v\nwant what the plugin writes for %s\n  %v", name, stream, cols, s, want)
		}
		table := map[string]string{}
		for _, c := range azmontest.ASIMTableColumns(s.Table()) {
			table[c.Name] = c.Type
		}
		for _, c := range cols {
			if typ, ok := table[c.Name]; !ok || typ != c.Type {
				t.Errorf("%s: stream %s column %s %s: the table %s has %q", name, stream, c.Name, c.Type, s.Table(), typ)
			}
		}
		found := false
		for _, f := range flows {
			fm := f.(map[string]any)
			if fs, _ := fm["streams"].([]any); len(fs) != 1 || fs[0] != stream {
				continue
			}
			found = true
			if out := fm["outputStream"]; out != "Microsoft-"+s.Table() {
				t.Errorf("%s: %s flows into %v, want Microsoft-%s", name, stream, out, s.Table())
			}
			if kql := fm["transformKql"]; kql != "source" {
				t.Errorf("%s: %s transformKql %v, want source", name, stream, kql)
			}
		}
		if !found {
			t.Errorf("%s: no data flow takes %s", name, stream)
		}
	}
	if id, err := a.evalURL(a.Outputs["dataCollectionRuleImmutableId"].Value); err != nil || id != sampleDCR {
		t.Errorf("%s: dataCollectionRuleImmutableId output: %q, %v", name, id, err)
	}
	if v, err := a.evalURL(a.Outputs["dataCollectionEndpointUrl"].Value); err != nil || v != sampleDCE {
		t.Errorf("%s: dataCollectionEndpointUrl output: %q, %v", name, v, err)
	}
}

// TestASIMRowsAreWhatTheDCRDeclares: every row schema asim writes, for every
// event of the catalogue and for odd values, has only columns its stream
// declares, with values of their types.
func TestASIMRowsAreWhatTheDCRDeclares(t *testing.T) {
	var chunk []byte
	at := time.Unix(1740787200, 0)
	for _, c := range convert.ASIMCatalogue() {
		chunk = chunktest.AppendEventV2(chunk, at, nil, chunktest.M("audit_event", c.Event, "username", "u@example.com",
			"remote_address", "192.0.2.1", "client_version", "Web Vault.17", "category", "x", "enterprise_id", 1,
			"result_code", "bad", "to_username", "t@example.com", "role_id", 5, "value", "v", "record_uid", "r", "message", "m"))
	}
	chunk = chunktest.AppendEventV2(chunk, at, nil, chunktest.M("audit_event", 7, "username", []any{1}, "enterprise_id", "x", "data", chunktest.M("k", nil)))
	var recs convert.Records
	if _, err := convert.New(convert.Options{Schema: convert.ASIM, TimeKey: "timestamp"}).Convert(chunk, &recs); err != nil {
		t.Fatal(err)
	}
	for i := range recs.Len() {
		types := map[string]string{}
		for _, c := range convert.ASIMColumns(convert.ASIMSchema(recs.Stream(i))) {
			types[c[0]] = c[1]
		}
		var row map[string]any
		dec := json.NewDecoder(bytes.NewReader(recs.Record(i)))
		dec.UseNumber()
		if err := dec.Decode(&row); err != nil {
			t.Fatal(err)
		}
		for k, v := range row {
			typ, ok := types[k]
			if !ok {
				t.Errorf("record %d: column %s is not declared: the DCR would drop it\n%s", i, k, recs.Record(i))
			} else if !fitsColumn(v, typ) {
				t.Errorf("record %d: %s = %#v does not fit a %s column", i, k, v, typ)
			}
		}
	}
}
