package deploy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/keeper-azmon/keeper-azmon/azmon/azmontest"
	"github.com/keeper-azmon/keeper-azmon/convert"
)

// The KQL of the project through Microsoft's own parser: deploy/kql/check.js
// runs Kusto.Language (@kusto/language-service-next, installed by `make test`
// with npm ci) over every query in deploy/ and the READMEs.

// kqlResult is one query check.js checked.
type kqlResult struct {
	Root     string   `json:"root"`
	File     string   `json:"file"`
	Where    string   `json:"where"`
	Query    string   `json:"query"`
	Errors   []string `json:"errors"`
	Warnings []string `json:"warnings"`
}

// runKQLCheck runs check.js over the trees at roots (in a tree only the
// files only names for it, if any) and returns its results and whether it exited 0. It skips the
// test when node is not installed.
func runKQLCheck(t *testing.T, roots []string, only map[string][]string) ([]kqlResult, bool) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not on PATH: the KQL checks with Microsoft's Kusto parser (deploy/kql) need Node.js 20 and npm; `make test` installs the parser with npm ci")
	}
	script, _ := filepath.Abs(filepath.Join(repoRoot, "deploy", "kql", "check.js"))
	if _, err := os.Stat(filepath.Join(repoRoot, "deploy", "kql", "node_modules", "@kusto", "language-service-next")); err != nil {
		t.Fatalf("the Kusto parser is not installed: run `make test`, or `npm ci` in deploy/kql (%v)", err)
	}
	var stdout, stderr bytes.Buffer
	args := []string{script, "--json"}
	for _, r := range roots {
		args = append(args, "--root", r)
		for _, f := range only[r] {
			args = append(args, "--only", f)
		}
	}
	cmd := exec.Command(node, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("node check.js: %v\n%s", err, stderr.String())
	}
	var results []kqlResult
	if jerr := json.Unmarshal(stdout.Bytes(), &results); jerr != nil {
		t.Fatalf("check.js output: %v\nstderr: %s\nstdout: %.2000s", jerr, stderr.String(), stdout.String())
	}
	return results, err == nil
}

// TestKQL checks every query of the project with Kusto.Language against the
// tables' schemas, and that check.js saw every query there is: each block of
// each .kql file, each kusto block of the READMEs, each DCR data flow, alert
// rule and workbook under deploy/azure for every table family.
func TestKQL(t *testing.T) {
	t.Parallel()
	results, ok := runKQLCheck(t, []string{repoRoot}, nil)
	for _, r := range results {
		for _, e := range r.Errors {
			t.Errorf("%s: %s: %s\n%s", r.File, r.Where, e, r.Query)
		}
	}
	if !ok {
		t.Errorf("check.js exited non-zero")
	}
	seen := map[string]int{}
	for _, r := range results {
		seen[r.File]++
		seen[r.File+" "+r.Where]++
	}

	var kqlFiles, readmes []string
	_ = filepath.WalkDir(filepath.Join(repoRoot, "deploy"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || (d.IsDir() && d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		rel, _ := filepath.Rel(repoRoot, p)
		switch {
		case strings.HasSuffix(p, ".kql"):
			kqlFiles = append(kqlFiles, filepath.ToSlash(rel))
		case d.Name() == "README.md":
			readmes = append(readmes, filepath.ToSlash(rel))
		}
		return nil
	})
	if len(kqlFiles) == 0 {
		t.Fatal("no .kql files under deploy")
	}
	for _, f := range kqlFiles {
		if want := len(kqlBlocks(readRepoFile(t, f))); seen[f] != want {
			t.Errorf("%s: check.js checked %d queries, the file has %d", f, seen[f], want)
		}
	}
	for _, f := range append(readmes, "README.md") {
		if want := strings.Count(readRepoFile(t, f), "\n```kusto"); seen[f] < want {
			t.Errorf("%s: check.js checked %d queries, the file has %d kusto blocks", f, seen[f], want)
		}
	}

	templates, _ := filepath.Glob(filepath.Join(repoRoot, "deploy", "azure", "*.json"))
	more, _ := filepath.Glob(filepath.Join(repoRoot, "deploy", "azure", "*", "*.json"))
	kinds := map[string]int{}
	for _, f := range append(templates, more...) {
		rel, _ := filepath.Rel(repoRoot, f)
		rel = filepath.ToSlash(rel)
		var tpl struct {
			Parameters map[string]struct {
				AllowedValues []any `json:"allowedValues"`
			} `json:"parameters"`
			Resources []struct {
				Type string `json:"type"`
			} `json:"resources"`
		}
		if err := json.Unmarshal([]byte(readRepoFile(t, rel)), &tpl); err != nil {
			t.Errorf("%s: %v", rel, err)
			continue
		}
		// The labels check.js gives the deployments: one per value of a
		// parameter with several allowed values.
		suffixes := []string{""}
		for name, p := range tpl.Parameters {
			if len(p.AllowedValues) < 2 {
				continue
			}
			var next []string
			for _, s := range suffixes {
				for _, v := range p.AllowedValues {
					next = append(next, fmt.Sprintf("%s%s=%v", s, name, v))
				}
			}
			suffixes = next
		}
		for i, r := range tpl.Resources {
			kind := r.Type[strings.LastIndex(r.Type, "/")+1:]
			if !slices.Contains([]string{"dataCollectionRules", "alertRules", "workbooks"}, kind) {
				continue
			}
			kinds[kind]++
			for _, s := range suffixes {
				prefix := fmt.Sprintf("resources[%d] %s", i, kind)
				found := false
				for _, res := range results {
					if res.File == rel && strings.HasPrefix(res.Where, prefix) && strings.Contains(res.Where, s) {
						found = true
						break
					}
				}
				if !found {
					t.Errorf("%s: check.js did not check %s (%s)", rel, prefix, s)
				}
			}
		}
	}
	for _, k := range []string{"dataCollectionRules", "alertRules", "workbooks"} {
		if kinds[k] == 0 {
			t.Errorf("no %s resource under deploy/azure", k)
		}
	}
}

// kqlBlocks splits a .kql file as check.js does: runs of non-blank lines
// that hold more than comments.
func kqlBlocks(text string) []string {
	var out, cur []string
	flush := func() {
		for _, l := range cur {
			if !strings.HasPrefix(strings.TrimSpace(l), "//") {
				out = append(out, strings.Join(cur, "\n"))
				break
			}
		}
		cur = nil
	}
	for _, l := range strings.Split(text, "\n") {
		if strings.TrimSpace(l) == "" {
			flush()
		} else {
			cur = append(cur, l)
		}
	}
	flush()
	return out
}

// TestKQLCheckFindsErrors shows check.js failing: in a copy of the tree, one
// mistake at a time, each of which Azure would only report at deployment or
// query time.
func TestKQLCheckFindsErrors(t *testing.T) {
	t.Parallel()
	type mistake struct {
		name, file, from, to string
		want                 []string // in the report of the file
	}
	cases := []mistake{
		{"misspelled column in a rule's KeeperLogs_CL query", "deploy/azure/sentinel/rules.json",
			"RemoteAddress = remote_address", "RemoteAddress = remote_adress",
			[]string{"KS142", "'remote_adress'", "family=KeeperLogs_CL"}},
		{"misspelled column in a DCR transformKql", "deploy/azure/keeper-marketplace-shape.json",
			"ClientVersion = client_version, EnterpriseId", "ClientVersion = client_versoin, EnterpriseId",
			[]string{"KS142", "'client_versoin'", "dataCollectionRules"}},
		{"DCR transformKql writing a column the table lacks", "deploy/azure/keeper-logs.json",
			`"transformKql": "source"`, `"transformKql": "source | extend Severity = 'High'"`,
			[]string{"writes column Severity, which table KeeperLogs_CL does not have"}},
		{"misspelled ASIM column", "deploy/azure/asim-queries.kql",
			"by TargetUsername, SrcIpAddr", "by TargetUserName, SrcIpAddr",
			[]string{"KS142", "'TargetUserName'"}},
		{"unknown ASIM function parameter", "deploy/azure/asim-queries.kql",
			"eventresult='Failure')\n| where EventVendor", "event_result='Failure')\n| where EventVendor",
			[]string{"does not refer to a declared parameter"}},
		{"misspelled column in a README kusto block", "README.md",
			"| project TimeGenerated, audit_event, username", "| project TimeGenerated, audit_event, user_name",
			[]string{"KS142", "'user_name'"}},
		{"misspelled column in a workbook query", "deploy/azure/sentinel/workbook.json",
			`| where AuditEvent == \"change_master_password\"\n| project TimeGenerated, Username`, `| where AuditEvent == \"change_master_password\"\n| project TimeGenerated, UserName`,
			[]string{"KS142", "'UserName'", "workbooks"}},
		{"alert name on a column the query does not return", "deploy/azure/sentinel/rules.json",
			"Keeper sign-in of {{Username}}", "Keeper sign-in of {{UserName}}",
			[]string{"alertDisplayNameFormat uses column UserName"}},
		{"entity mapping on a column the query does not return", "deploy/azure/sentinel/rules.json",
			`"columnName": "RemoteAddress"`, `"columnName": "RemoteAddr"`,
			[]string{"entity IP.Address uses column RemoteAddr"}},
	}
	// One tree per mistake, all checked by one run of check.js.
	var roots []string
	only := map[string][]string{}
	for i, tc := range cases {
		root := filepath.Join(t.TempDir(), fmt.Sprint(i))
		copyTree(t, filepath.Join(repoRoot, "deploy"), filepath.Join(root, "deploy"))
		copyFile(t, filepath.Join(repoRoot, "README.md"), filepath.Join(root, "README.md"))
		p := filepath.Join(root, filepath.FromSlash(tc.file))
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(b, []byte(tc.from)) {
			t.Fatalf("%s no longer contains %q: update the test", tc.file, tc.from)
		}
		if err := os.WriteFile(p, bytes.Replace(b, []byte(tc.from), []byte(tc.to), 1), 0o644); err != nil {
			t.Fatal(err)
		}
		roots = append(roots, root)
		only[root] = []string{tc.file}
	}
	results, ok := runKQLCheck(t, roots, only)
	if ok {
		t.Errorf("check.js exited 0")
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var report []string
			for _, r := range results {
				if len(r.Errors) == 0 || (r.Root != roots[i] && r.File != "deploy/kql/schema.json") {
					continue
				}
				if r.File != tc.file {
					t.Errorf("unexpected error in %s: %s: %v", r.File, r.Where, r.Errors)
				}
				report = append(report, r.Where+": "+strings.Join(r.Errors, "; "))
			}
			if len(report) == 0 {
				t.Fatalf("check.js found nothing wrong")
			}
			all := strings.Join(report, "\n")
			for _, w := range tc.want {
				if !strings.Contains(all, w) {
					t.Errorf("the report lacks %q:\n%s", w, all)
				}
			}
		})
	}
}

func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "node_modules" {
			return filepath.SkipDir
		}
		rel, _ := filepath.Rel(from, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		copyFile(t, p, filepath.Join(to, rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// kqlSchema is deploy/kql/schema.json.
type kqlSchema struct {
	Tables map[string]struct {
		Source  string      `json:"source"`
		Columns [][2]string `json:"columns"`
	} `json:"tables"`
	Functions map[string]struct {
		Source, Parameters, Body string
	} `json:"functions"`
}

// TestKQLSchema ties the schemas check.js resolves against to the tables the
// rest of the project models: the ASIM tables of azmontest (Microsoft's table
// reference), the Keeper tables the DCR templates create, and the ASIM
// functions the README and the rules call.
func TestKQLSchema(t *testing.T) {
	var s kqlSchema
	if err := json.Unmarshal([]byte(readRepoFile(t, "deploy/kql/schema.json")), &s); err != nil {
		t.Fatal(err)
	}
	cols := func(name string) []column {
		var out []column
		for _, c := range s.Tables[name].Columns {
			out = append(out, column{c[0], c[1]})
		}
		return out
	}
	for _, table := range []string{azmontest.TableASimAuthentication, azmontest.TableASimUserManagement, azmontest.TableASimAudit} {
		var want []column
		for _, c := range azmontest.ASIMTableColumns(table) {
			want = append(want, column{c.Name, c.Type})
		}
		if got := cols(table); !slices.Equal(got, want) {
			t.Errorf("schema.json %s:\n  %v\nwant azmontest's\n  %v", table, got, want)
		}
	}
	if got := cols("KeeperLogs_CL"); !slices.Equal(got, keeperShape()) {
		t.Errorf("schema.json KeeperLogs_CL %v, want %v", got, keeperShape())
	}
	var market []column
	for _, c := range marketplaceTable() {
		market = append(market, c.column)
	}
	if got := cols("KeeperSecurityEventNewLogs_CL"); !slices.Equal(got, market) {
		t.Errorf("schema.json KeeperSecurityEventNewLogs_CL %v, want %v", got, market)
	}
	for name, tbl := range s.Tables {
		if tbl.Source == "" {
			t.Errorf("schema.json table %s names no source", name)
		}
	}
	for _, f := range []string{"_Im_Authentication", "_Im_UserManagement", "_Im_AuditEvent"} {
		fn, ok := s.Functions[f]
		if !ok || fn.Source == "" || !strings.Contains(fn.Parameters, "starttime:datetime") {
			t.Errorf("schema.json function %s: %+v", f, fn)
		}
	}
}

// sentinelTemplate is the part of rules.json and workbook.json these tests read.
type sentinelTemplate struct {
	armTemplate
	Parameters map[string]struct {
		Type          string `json:"type"`
		DefaultValue  any    `json:"defaultValue"`
		AllowedValues []any  `json:"allowedValues"`
		MinValue      *int   `json:"minValue"`
		MaxValue      *int   `json:"maxValue"`
	} `json:"parameters"`
	Resources []struct {
		Type       string         `json:"type"`
		APIVersion string         `json:"apiVersion"`
		Name       string         `json:"name"`
		Scope      string         `json:"scope"`
		Kind       string         `json:"kind"`
		Properties map[string]any `json:"properties"`
	} `json:"resources"`
}

func readSentinelTemplate(t *testing.T, name string) (sentinelTemplate, string) {
	t.Helper()
	raw := readRepoFile(t, name)
	var tpl sentinelTemplate
	if err := json.Unmarshal([]byte(raw), &tpl); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if err := json.Unmarshal([]byte(raw), &tpl.armTemplate); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if !strings.HasSuffix(tpl.Schema, "/deploymentTemplate.json#") {
		t.Errorf("%s: $schema %q", name, tpl.Schema)
	}
	var whole any
	_ = json.Unmarshal([]byte(raw), &whole)
	tpl.checkExpressions(t, name, whole)
	for kind, names := range map[string][]string{"parameters": mapKeys(tpl.armTemplate.Parameters), "variables": mapKeys(tpl.Variables)} {
		for _, n := range names {
			if !strings.Contains(raw, kind+"('"+n+"')") {
				t.Errorf("%s: %s %s is never used", name, kind, n)
			}
		}
	}
	fam := tpl.Parameters["family"]
	var got []string
	for _, v := range fam.AllowedValues {
		got = append(got, fmt.Sprint(v))
	}
	if want := []string{"KeeperLogs_CL", "KeeperSecurityEventNewLogs_CL", "ASIM"}; !slices.Equal(got, want) {
		t.Errorf("%s: family allows %v, want %v", name, got, want)
	}
	prelude, _ := tpl.Variables["keeperEvents"].(map[string]any)
	for _, f := range got {
		if q, _ := prelude[f].(string); !strings.Contains(q, "let KeeperEvents =") {
			t.Errorf("%s: variables.keeperEvents has no KeeperEvents for family %s", name, f)
		}
	}
	return tpl, raw
}

// keeperEventNames returns the quoted snake_case names in a query: the
// Keeper audit events it filters on.
func keeperEventNames(q string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`"([a-z0-9]+(?:_[a-z0-9]+)+)"`).FindAllStringSubmatch(q, -1) {
		out = append(out, m[1])
	}
	return out
}

// convertCatalogue returns the names of the Keeper audit events the plugin knows.
func convertCatalogue() []string {
	var out []string
	for _, e := range convert.ASIMCatalogue() {
		out = append(out, e.Event)
	}
	return out
}

// checkEventNames checks that every event name a query uses is one of Keeper's.
func checkEventNames(t *testing.T, where, q string) {
	t.Helper()
	known := map[string]bool{}
	for _, e := range convertCatalogue() {
		known[e] = true
	}
	for _, e := range keeperEventNames(q) {
		if !known[e] {
			t.Errorf("%s: %q is not a Keeper audit event (convert's catalogue)", where, e)
		}
	}
}

var isoDuration = regexp.MustCompile(`^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?$`)

// TestSentinelRules checks the analytic rules template: each a scheduled
// rule at the top level scoped to the workspace, with what Sentinel needs and
// what a SOC reads (description with response, severity, MITRE, entities),
// the Keeper solution's two rules as the seed describes them, a health rule,
// thresholds as parameters, Keeper's real event names, and a README entry.
func TestSentinelRules(t *testing.T) {
	const name = "deploy/azure/sentinel/rules.json"
	tpl, raw := readSentinelTemplate(t, name)
	readme := readRepoFile(t, "deploy/azure/README.md")
	tactics := setOf("Reconnaissance", "ResourceDevelopment", "InitialAccess", "Execution", "Persistence", "PrivilegeEscalation",
		"DefenseEvasion", "CredentialAccess", "Discovery", "LateralMovement", "Collection", "Exfiltration", "CommandAndControl", "Impact")
	names := map[string]map[string]any{}
	health := 0
	for i, r := range tpl.Resources {
		where := fmt.Sprintf("%s: resources[%d]", name, i)
		if r.Type != "Microsoft.SecurityInsights/alertRules" || r.Kind != "Scheduled" || r.APIVersion == "" {
			t.Errorf("%s: %s kind %s apiVersion %q, want a Scheduled Microsoft.SecurityInsights/alertRules", where, r.Type, r.Kind, r.APIVersion)
		}
		if !strings.Contains(r.Scope, "Microsoft.OperationalInsights/workspaces") || !strings.Contains(r.Scope, "parameters('workspaceName')") {
			t.Errorf("%s: scope %q is not the workspace", where, r.Scope)
		}
		if !strings.Contains(r.Name, "parameters('family')") {
			t.Errorf("%s: name %q does not depend on the family: two families would overwrite each other", where, r.Name)
		}
		p := r.Properties
		display, _ := p["displayName"].(string)
		where += " " + display
		if !strings.HasPrefix(display, "Keeper Security - ") || names[display] != nil {
			t.Errorf("%s: displayName must be unique and start with \"Keeper Security - \"", where)
		}
		names[display] = p
		if d, _ := p["description"].(string); len(d) < 150 || !strings.Contains(d, "Response:") {
			t.Errorf("%s: the description must say what it means and how to respond (Response: ...): %q", where, d)
		}
		if !slices.Contains([]string{"Informational", "Low", "Medium", "High"}, fmt.Sprint(p["severity"])) {
			t.Errorf("%s: severity %v", where, p["severity"])
		}
		ts, _ := p["tactics"].([]any)
		techs, _ := p["techniques"].([]any)
		if len(ts) == 0 || len(techs) == 0 {
			t.Errorf("%s: needs MITRE tactics and techniques", where)
		}
		for _, x := range ts {
			if !tactics[fmt.Sprint(x)] {
				t.Errorf("%s: tactic %v", where, x)
			}
		}
		for _, x := range techs {
			if !regexp.MustCompile(`^T\d{4}$`).MatchString(fmt.Sprint(x)) {
				t.Errorf("%s: technique %v", where, x)
			}
		}
		freq, period := fmt.Sprint(p["queryFrequency"]), fmt.Sprint(p["queryPeriod"])
		if !isoDuration.MatchString(freq) || (!isoDuration.MatchString(period) && !strings.HasPrefix(period, "[format(")) {
			t.Errorf("%s: queryFrequency %s, queryPeriod %s", where, freq, period)
		}
		if p["triggerOperator"] != "GreaterThan" || p["triggerThreshold"] != float64(0) {
			t.Errorf("%s: trigger %v %v, want GreaterThan 0 (the query decides)", where, p["triggerOperator"], p["triggerThreshold"])
		}
		if inc, _ := p["incidentConfiguration"].(map[string]any); inc["createIncident"] != true {
			t.Errorf("%s: incidentConfiguration %v", where, inc)
		}
		if p["enabled"] != "[parameters('rulesEnabled')]" {
			t.Errorf("%s: enabled %v", where, p["enabled"])
		}
		query, _ := p["query"].(string)
		m := regexp.MustCompile(`variables\('(query_[a-z_]+)'\)\)\]$`).FindStringSubmatch(query)
		if !strings.HasPrefix(query, "[concat(") || !strings.Contains(query, "variables('keeperEvents')[parameters('family')]") || m == nil {
			t.Errorf("%s: query %q: want concat(thresholds, the family's KeeperEvents, the rule's query variable)", where, query)
			continue
		}
		body, _ := tpl.Variables[m[1]].(string)
		p["body"] = body
		checkEventNames(t, where, body)
		entities := map[string]string{}
		mappings, _ := p["entityMappings"].([]any)
		for _, e := range mappings {
			em := e.(map[string]any)
			for _, f := range em["fieldMappings"].([]any) {
				fm := f.(map[string]any)
				entities[fmt.Sprint(em["entityType"], ".", fm["identifier"])] = fmt.Sprint(fm["columnName"])
			}
		}
		p["entities"] = entities
		if strings.Contains(display, "stopped arriving") {
			health++
			if !strings.Contains(query, "parameters('silenceHours')") || !strings.Contains(period, "silenceHours") {
				t.Errorf("%s: the health rule must take its hours from silenceHours", where)
			}
		} else if entities["Account.FullName"] != "Username" && entities["IP.Address"] != "RemoteAddress" {
			t.Errorf("%s: entity mappings %v: want Account.FullName=Username and/or IP.Address=RemoteAddress", where, entities)
		}
		if !strings.Contains(readme, display) {
			t.Errorf("deploy/azure/README.md does not describe the rule %q", display)
		}
	}
	if health != 1 {
		t.Errorf("%s: %d health rules (events stopped arriving), want 1", name, health)
	}
	if len(tpl.Resources) < 15 {
		t.Errorf("%s: %d rules", name, len(tpl.Resources))
	}

	// The Keeper solution's two rules, as the seed describes them.
	for display, where := range map[string]string{
		"Keeper Security - Password Changed": `| where AuditEvent == "change_master_password"`,
		"Keeper Security - User MFA Changed": `| where AuditEvent in ("set_two_factor_off", "set_two_factor_on")`,
	} {
		p := names[display]
		if p == nil {
			t.Errorf("%s: no rule %q", name, display)
			continue
		}
		if p["severity"] != "Informational" || fmt.Sprint(p["tactics"]) != "[Persistence]" || fmt.Sprint(p["techniques"]) != "[T1556]" {
			t.Errorf("%s: %s: %v %v %v, want Informational, Persistence, T1556", name, display, p["severity"], p["tactics"], p["techniques"])
		}
		if g, _ := p["eventGroupingSettings"].(map[string]any); g["aggregationKind"] != "AlertPerResult" {
			t.Errorf("%s: %s: event grouping %v, want an alert per event", name, display, g)
		}
		if e := p["entities"].(map[string]string); e["Account.FullName"] != "Username" || e["IP.Address"] != "RemoteAddress" {
			t.Errorf("%s: %s: entities %v", name, display, e)
		}
		if !strings.Contains(p["body"].(string), "KeeperEvents\n"+where) {
			t.Errorf("%s: %s: the query does not keep the seed's %s", name, display, where)
		}
	}

	// Thresholds are parameters, with bounds.
	for pn, p := range tpl.Parameters {
		if p.Type == "int" && (p.MinValue == nil || p.DefaultValue == nil) {
			t.Errorf("%s: threshold %s needs a default and a minValue", name, pn)
		}
	}
	if !strings.Contains(raw, "string(parameters('bruteForceFailures'))") {
		t.Errorf("%s: the brute force threshold is not a parameter", name)
	}
}

// TestSentinelWorkbook checks the workbook template: one shared workbook in
// Sentinel's category tied to the workspace, with the seed dashboard's views
// and ingestion health, for every family.
func TestSentinelWorkbook(t *testing.T) {
	const name = "deploy/azure/sentinel/workbook.json"
	tpl, _ := readSentinelTemplate(t, name)
	if len(tpl.Resources) != 1 {
		t.Fatalf("%s: %d resources, want the workbook", name, len(tpl.Resources))
	}
	r := tpl.Resources[0]
	if r.Type != "Microsoft.Insights/workbooks" || r.Kind != "shared" || r.Properties["category"] != "sentinel" ||
		r.Properties["serializedData"] != "[string(variables('workbook'))]" || !strings.Contains(fmt.Sprint(r.Properties["sourceId"]), "Microsoft.OperationalInsights/workspaces") {
		t.Errorf("%s: %s %s %v", name, r.Type, r.Kind, r.Properties)
	}
	wb, _ := tpl.Variables["workbook"].(map[string]any)
	if wb["version"] != "Notebook/1.0" {
		t.Errorf("%s: workbook version %v", name, wb["version"])
	}
	var titles []string
	for _, it := range wb["items"].([]any) {
		c, _ := it.(map[string]any)["content"].(map[string]any)
		if q, ok := c["query"].(string); ok {
			titles = append(titles, fmt.Sprint(c["title"]))
			if m := regexp.MustCompile(`variables\('(wb_[a-z_]+)'\)`).FindAllStringSubmatch(q, -1); m != nil {
				body, _ := tpl.Variables[m[len(m)-1][1]].(string)
				checkEventNames(t, name+": "+fmt.Sprint(c["title"]), body)
			}
		}
	}
	all := strings.Join(titles, "\n")
	for _, view := range []string{"Password changes", "MFA", "User activity", "Security events", "Alerts of the Keeper Security analytic rules", "Ingestion: events per hour", "Ingestion: last Keeper event"} {
		if !strings.Contains(all, view) {
			t.Errorf("%s: no view %q among\n%s", name, view, all)
		}
	}
}
