package fbconfig

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/keeper-azmon/keeper-azmon/internal/testkit"
)

// TestLoadFBConfig reads classic and YAML configurations and picks the
// keeper_azmon output's properties as the plugin would get them.
func TestLoadFBConfig(t *testing.T) {
	env := map[string]string{"SECRET": "from-env", "TENANT": "t-env", "DIR": "conf.d"}
	getenv := func(k string) string { return env[k] }
	tests := []struct {
		name    string
		files   map[string]string // relative path -> content; the first key sorted is not special
		main    string
		cwd     string // working directory, relative to the test's directory ("" leaves it)
		spec    string
		want    map[string]string // expected properties (subset)
		unset   map[string][]string
		label   string
		flbName string // Fluent Bit's name of the output picked
		err     string // substring of the expected error
	}{
		{
			name: "classic with comments and case-insensitive name",
			main: "fb.conf",
			files: map[string]string{"fb.conf": `
# a comment
[SERVICE]
    Flush 5
[INPUT]
    Name tail
    Path /var/log/keeper/*.jsonl
[OUTPUT]
    Name          Keeper_Azmon
    Match         keeper.*
    endpoint_url  https://x.ingest.monitor.azure.com/dataCollectionRules/dcr-1/streams/Custom-KeeperLogs_CL?api-version=2023-01-01
    Client_Secret ${SECRET}
    tenant_id     ${TENANT}-suffix
    value         a # not a comment
`},
			want:  map[string]string{"client_secret": "from-env", "tenant_id": "t-env-suffix", "value": "a # not a comment", "match": "keeper.*"},
			label: "keeper_azmon.0 (match keeper.*)",
		},
		{
			name: "@SET wins over the environment, unset variables are reported",
			main: "fb.conf",
			files: map[string]string{"fb.conf": `@SET SECRET=from-set
@SET CLIENT=c-${TENANT}
[OUTPUT]
    Name keeper_azmon
    client_secret ${SECRET}
    client_id ${CLIENT}
    ca_file ${NOPE}/ca.pem
`},
			want:  map[string]string{"client_secret": "from-set", "client_id": "c-t-env", "ca_file": "/ca.pem"},
			unset: map[string][]string{"ca_file": {"NOPE"}},
		},
		{
			// Relative to the main file's directory, whichever file names it.
			name: "@INCLUDE relative to the main file, globs, nested",
			main: "etc/fluent-bit.conf",
			files: map[string]string{
				"etc/fluent-bit.conf":     "[SERVICE]\n    Flush 1\n@INCLUDE ${DIR}/*.conf\n",
				"etc/conf.d/10-in.conf":   "[INPUT]\n    Name tail\n",
				"etc/conf.d/20-out.conf":  "@INCLUDE more/out.conf\n",
				"etc/more/out.conf":       "[OUTPUT]\n    Name keeper_azmon\n    Alias sentinel\n    client_id inc\n",
				"etc/conf.d/ignored.yaml": "not: read",
			},
			want:    map[string]string{"client_id": "inc", "alias": "sentinel"},
			label:   "sentinel (keeper_azmon.0)",
			flbName: "sentinel",
		},
		{
			name: "choose by index among several outputs",
			main: "fb.conf",
			spec: "1",
			files: map[string]string{"fb.conf": `[OUTPUT]
    Name stdout
[OUTPUT]
    Name keeper_azmon
    client_id first
[OUTPUT]
    Name keeper_azmon
    Alias marketplace
    client_id second
`},
			want:    map[string]string{"client_id": "second"},
			label:   "marketplace (keeper_azmon.2)",
			flbName: "marketplace",
		},
		{
			// Fluent Bit counts every output: with one before it, the first
			// keeper_azmon output is keeper_azmon.1 in Fluent Bit's log.
			name:    "choose by the name Fluent Bit prints, another output first",
			main:    "fb.conf",
			spec:    "keeper_azmon.1",
			files:   map[string]string{"fb.conf": "[OUTPUT]\n    Name null\n[OUTPUT]\n    Name keeper_azmon\n    client_id first\n[OUTPUT]\n    Name keeper_azmon\n    client_id second\n"},
			want:    map[string]string{"client_id": "first"},
			label:   "keeper_azmon.1",
			flbName: "keeper_azmon.1",
		},
		{
			name:  "the id of another plugin's output picks nothing",
			main:  "fb.conf",
			spec:  "keeper_azmon.0",
			files: map[string]string{"fb.conf": "[OUTPUT]\n    Name null\n[OUTPUT]\n    Name keeper_azmon\n[OUTPUT]\n    Name keeper_azmon\n"},
			err:   "no keeper_azmon output has that index, name or alias",
		},
		{
			name: "YAML outputs are counted the same way",
			main: "fb.yaml",
			spec: "keeper_azmon.2",
			files: map[string]string{"fb.yaml": `pipeline:
  outputs:
    - name: stdout
    - name: keeper_azmon
      client_id: first
    - name: keeper_azmon
      client_id: second
`},
			want:    map[string]string{"client_id": "second"},
			flbName: "keeper_azmon.2",
		},
		{
			name:  "choose by instance name",
			main:  "fb.conf",
			spec:  "keeper_azmon.0",
			files: map[string]string{"fb.conf": "[OUTPUT]\n    Name keeper_azmon\n    client_id first\n[OUTPUT]\n    Name keeper_azmon\n    client_id second\n"},
			want:  map[string]string{"client_id": "first"},
		},
		{
			name:  "choose by alias",
			main:  "fb.conf",
			spec:  "MARKETPLACE",
			files: map[string]string{"fb.conf": "[OUTPUT]\n    Name keeper_azmon\n    client_id first\n[OUTPUT]\n    Name keeper_azmon\n    Alias marketplace\n    client_id second\n"},
			want:  map[string]string{"client_id": "second"},
		},
		{
			name:  "several outputs and no choice",
			main:  "fb.conf",
			files: map[string]string{"fb.conf": "[OUTPUT]\n    Name keeper_azmon\n[OUTPUT]\n    Name keeper_azmon\n    Alias b\n"},
			err:   "pick one with -output",
		},
		{
			name:  "unknown choice",
			main:  "fb.conf",
			spec:  "7",
			files: map[string]string{"fb.conf": "[OUTPUT]\n    Name keeper_azmon\n"},
			err:   "no such keeper_azmon output",
		},
		{
			name:  "no keeper_azmon output",
			main:  "fb.conf",
			files: map[string]string{"fb.conf": "[OUTPUT]\n    Name stdout\n"},
			err:   "no output with name keeper_azmon (its outputs: stdout)",
		},
		{
			name:  "missing include",
			main:  "fb.conf",
			files: map[string]string{"fb.conf": "@INCLUDE nope.conf\n"},
			err:   "include nope.conf",
		},
		{
			name:  "include cycle",
			main:  "fb.conf",
			files: map[string]string{"fb.conf": "@INCLUDE fb.conf\n"},
			err:   "nested deeper",
		},
		{
			name:  "entry outside a section",
			main:  "fb.conf",
			files: map[string]string{"fb.conf": "Name keeper_azmon\n"},
			err:   "fb.conf:1",
		},
		{
			name:  "key without value",
			main:  "fb.conf",
			files: map[string]string{"fb.conf": "[OUTPUT]\n    Name\n"},
			err:   "has no value",
		},
		// a. Duplicate keys: Fluent Bit keeps them all; the plugin reads the
		// first (flb_output_get_property), the plugin name is the first, and
		// Fluent Bit's own alias / match are set in turn, the last winning.
		{
			name: "duplicate keys: the first wins",
			main: "fb.conf",
			files: map[string]string{"fb.conf": `[OUTPUT]
    Name      keeper_azmon
    Alias     a1
    Match     m1
    client_id first
    tenant_id ${NOPE}
    client_id second
    tenant_id t-second
    Name      stdout
    Alias     a2
    Match     m2
`},
			spec:  "a2",
			want:  map[string]string{"client_id": "first", "tenant_id": ""},
			unset: map[string][]string{"tenant_id": {"NOPE"}},
			label: "a2 (keeper_azmon.0, match m2)",
		},
		{
			name: "YAML duplicate keys: the first wins",
			main: "fb.yaml",
			files: map[string]string{"fb.yaml": `pipeline:
  outputs:
    - name: keeper_azmon
      client_id: first
      client_id: second
`},
			want: map[string]string{"client_id": "first"},
		},
		// b. YAML keys are translated as flb_cf_key_translate does.
		{
			name: "YAML camelCase keys become snake_case",
			main: "fb.yaml",
			files: map[string]string{"fb.yaml": `pipeline:
  outputs:
    - name: keeper_azmon
      endpointUrl: https://x.ingest.monitor.azure.com/dataCollectionRules/dcr-1/streams/Custom-A_CL?api-version=2023-01-01
      clientSecret: ${SECRET}
      maxRequestBytes: 1000
      storage.totalLimitSize: 5G
      tenant_ID: t-underscore
      Client_Id: c-upper
      TimeKey: ts
`},
			want: map[string]string{
				"endpoint_url":             "https://x.ingest.monitor.azure.com/dataCollectionRules/dcr-1/streams/Custom-A_CL?api-version=2023-01-01",
				"client_secret":            "from-env",
				"max_request_bytes":        "1000",
				"storage.total_limit_size": "5G",
				"tenant_id":                "t-underscore", // has a '_': only lower-cased
				"client_id":                "c-upper",      // starts upper-case: only lower-cased
				"timekey":                  "ts",
				"time_key":                 "",
			},
		},
		// c. Classic indentation and separators, as flb_cf_fluentbit.c reads them.
		{
			name:  "key in column 0 inside a section",
			main:  "fb.conf",
			files: map[string]string{"fb.conf": "[OUTPUT]\nName keeper_azmon\n"},
			err:   "fb.conf:2: invalid indentation level",
		},
		{
			name:  "comment indented less than the keys",
			main:  "fb.conf",
			files: map[string]string{"fb.conf": "[OUTPUT]\n    Name keeper_azmon\n  # a comment\n"},
			err:   "fb.conf:3: invalid indentation level",
		},
		{
			name:  "comment indented more than the keys",
			main:  "fb.conf",
			files: map[string]string{"fb.conf": "[OUTPUT]\n    Name keeper_azmon\n      # a comment\n"},
			err:   "fb.conf:3: invalid indentation level",
		},
		{
			name:  "keys of another section indented differently",
			main:  "fb.conf",
			files: map[string]string{"fb.conf": "[SERVICE]\n    Flush 1\n[OUTPUT]\n  Name keeper_azmon\n"},
			err:   "fb.conf:4: invalid indentation level: indentation level is too low",
		},
		{
			name:  "tab among spaces",
			main:  "fb.conf",
			files: map[string]string{"fb.conf": "[OUTPUT]\n    Name keeper_azmon\n\tclient_id x\n"},
			err:   "inconsistent use of tab and space",
		},
		{
			name:  "blanks-only line shallower than the keys",
			main:  "fb.conf",
			files: map[string]string{"fb.conf": "[OUTPUT]\n    Name keeper_azmon\n  \n    client_id x\n"},
			err:   "fb.conf:3: invalid indentation level",
		},
		{
			name:  "indented section header",
			main:  "fb.conf",
			files: map[string]string{"fb.conf": "[SERVICE]\n    Flush 1\n    [OUTPUT]\n    Name keeper_azmon\n"},
			err:   "fb.conf:3: section header \"[OUTPUT]\" is indented",
		},
		{
			name:  "tab between key and value",
			main:  "fb.conf",
			files: map[string]string{"fb.conf": "[OUTPUT]\n    Name keeper_azmon\n    client_id\tabc\n"},
			err:   "fb.conf:3: key \"client_id\\tabc\" has no value",
		},
		{
			name:  "tab-indented file, a comment and a doubly indented key",
			main:  "fb.conf",
			files: map[string]string{"fb.conf": "[OUTPUT]\n\tName keeper_azmon\n\t# a comment\n\tclient_id\t x\n\t\ttenant_id t\n"},
			want:  map[string]string{"client_id": "x", "tenant_id": "t"},
		},
		{
			name: "an indented @INCLUDE is a key, not a directive",
			main: "fb.conf",
			files: map[string]string{
				"fb.conf":    "[OUTPUT]\n    Name keeper_azmon\n    @INCLUDE other.conf\n",
				"other.conf": "[OUTPUT]\n    Name keeper_azmon\n",
			},
			want: map[string]string{"@include": "other.conf"},
		},
		// d. The section name ends at the first ']', as written.
		{
			name:  "comment after a section header",
			main:  "fb.conf",
			files: map[string]string{"fb.conf": "[OUTPUT]  # keeper\n    Name keeper_azmon\n    client_id x\n"},
			want:  map[string]string{"client_id": "x"},
		},
		{
			name:  "blanks inside the brackets make another section",
			main:  "fb.conf",
			files: map[string]string{"fb.conf": "[ OUTPUT ]\n    Name keeper_azmon\n"},
			err:   "no output with name keeper_azmon",
		},
		// e. A glob @INCLUDE must match a file (glob(3) skips hidden ones).
		{
			name:  "glob @INCLUDE that matches nothing",
			main:  "fb.conf",
			files: map[string]string{"fb.conf": "[OUTPUT]\n    Name keeper_azmon\n@INCLUDE conf.d/*.conf\n"},
			err:   "fb.conf:3: include conf.d/*.conf: no file matches",
		},
		{
			name: "glob @INCLUDE skips hidden files",
			main: "fb.conf",
			files: map[string]string{
				"fb.conf":           "@INCLUDE conf.d/*.conf\n",
				"conf.d/out.conf":   "[OUTPUT]\n    Name keeper_azmon\n    client_id out\n",
				"conf.d/.#out.conf": "[OUTPUT]\n    Name keeper_azmon\n    client_id editor-lock\n",
			},
			want: map[string]string{"client_id": "out"},
		},
		// f. A relative @INCLUDE: the working directory, then the main file's.
		{
			name: "nested relative @INCLUDE reads the main file's directory",
			main: "etc/fb.conf",
			files: map[string]string{
				"etc/fb.conf":           "@INCLUDE conf.d/out.conf\n",
				"etc/conf.d/out.conf":   "@INCLUDE creds.conf\n",
				"etc/creds.conf":        "[OUTPUT]\n    Name keeper_azmon\n    client_id main-dir\n",
				"etc/conf.d/creds.conf": "[OUTPUT]\n    Name keeper_azmon\n    client_id including-dir\n",
			},
			want: map[string]string{"client_id": "main-dir"},
		},
		{
			name: "relative @INCLUDE reads the working directory first",
			main: "etc/fb.conf",
			cwd:  "work",
			files: map[string]string{
				"etc/fb.conf":     "@INCLUDE creds.conf\n",
				"etc/creds.conf":  "[OUTPUT]\n    Name keeper_azmon\n    client_id main-dir\n",
				"work/creds.conf": "[OUTPUT]\n    Name keeper_azmon\n    client_id cwd\n",
			},
			want: map[string]string{"client_id": "cwd"},
		},
		// g. The current section survives an @INCLUDE; it never spans files.
		{
			name: "keys after an @INCLUDE stay in the section",
			main: "fb.conf",
			files: map[string]string{
				"fb.conf":  "[OUTPUT]\n    Name keeper_azmon\n@INCLUDE svc.conf\n    client_id after\n",
				"svc.conf": "[SERVICE]\n    Flush 1\n",
			},
			want: map[string]string{"client_id": "after"},
		},
		{
			name: "an included file does not continue the including file's section",
			main: "fb.conf",
			files: map[string]string{
				"fb.conf":   "[OUTPUT]\n    Name keeper_azmon\n@INCLUDE keys.conf\n",
				"keys.conf": "    client_id x\n",
			},
			err: "keys.conf:1: \"client_id x\" is outside any [SECTION]",
		},
		{
			// Fluent Bit picks the format by the last extension, as check does.
			name:  "YAML in a file not named .yaml is read as classic",
			main:  "fluent-bit.yaml.example",
			files: map[string]string{"fluent-bit.yaml.example": "pipeline:\n  outputs:\n    - name: keeper_azmon\n"},
			err:   "fluent-bit.yaml.example:1: invalid indentation level",
		},
		{
			name:  "YAML in a file not named .yaml: the error says how to name it",
			main:  "fb.conf",
			files: map[string]string{"fb.conf": "# comment\nservice:\n  flush: 1\n"},
			err:   "ends in .yaml or .yml",
		},
		{
			name: "YAML pipeline outputs with env, includes and variables",
			main: "fluent-bit.yaml",
			files: map[string]string{
				"fluent-bit.yaml": `env:
  STREAM: Custom-KeeperLogs_CL
includes:
  - inc/outputs.yaml
service:
  flush: 1
pipeline:
  inputs:
    - name: tail
      path: /var/log/keeper/*.jsonl
  outputs:
    - name: stdout
      match: '*'
`,
				"inc/outputs.yaml": `pipeline:
  outputs:
    - name: keeper_azmon
      match: 'keeper.*'
      workers: 2
      compress: on
      timeout: 30s
      stream_name: ${STREAM}
      client_secret: ${SECRET}
      tenant_id: ${MISSING}
      processors:
        logs:
          - name: content_modifier
`,
			},
			want:  map[string]string{"workers": "2", "compress": "on", "timeout": "30s", "stream_name": "Custom-KeeperLogs_CL", "client_secret": "from-env", "match": "keeper.*"},
			unset: map[string][]string{"tenant_id": {"MISSING"}},
		},
		{
			name:  "YAML with no keeper_azmon output",
			main:  "fb.yml",
			files: map[string]string{"fb.yml": "pipeline:\n  outputs:\n    - name: stdout\n"},
			err:   "no output with name keeper_azmon",
		},
		{
			name:  "YAML syntax error",
			main:  "fb.yaml",
			files: map[string]string{"fb.yaml": "pipeline: [\n"},
			err:   "fb.yaml",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range tc.files {
				testkit.WriteFile(t, dir, name, content)
			}
			if tc.cwd != "" {
				t.Chdir(filepath.Join(dir, tc.cwd))
			}
			path := filepath.Join(dir, tc.main)
			cfg, err := Load(path, getenv)
			var out Output
			if err == nil {
				out, err = cfg.Pick(tc.spec)
			}
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			props := out.Properties()
			for k, v := range tc.want {
				if got := props.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if _, ok := props["processors"]; ok {
				t.Error("a nested YAML value became a property")
			}
			if tc.unset == nil {
				tc.unset = map[string][]string{}
			}
			if got := out.UnsetVars(); !reflect.DeepEqual(got, tc.unset) {
				t.Errorf("unset variables %v, want %v", got, tc.unset)
			}
			if tc.label != "" && out.Label() != tc.label {
				t.Errorf("label %q, want %q", out.Label(), tc.label)
			}
			if tc.flbName != "" && out.Name != tc.flbName {
				t.Errorf("name %q, want %q", out.Name, tc.flbName)
			}
		})
	}
}

// TestExampleConfigs reads the repository's own example configurations.
func TestExampleConfigs(t *testing.T) {
	env := map[string]string{"KEEPER_AZMON_CLIENT_SECRET": "v", "KEEPER_AZMON_ENDPOINT_URL": "https://e"}
	for _, f := range []string{"../../fluent-bit.conf.example", "../../fluent-bit.yaml.example"} {
		t.Run(filepath.Base(f), func(t *testing.T) {
			// The examples' names do not end in .conf / .yaml: copy them.
			ext := ".conf"
			if strings.Contains(f, "yaml") {
				ext = ".yaml"
			}
			data, err := readFileForTest(f)
			if err != nil {
				t.Skipf("no example: %v", err)
			}
			path := testkit.WriteFile(t, t.TempDir(), "fluent-bit"+ext, data)
			cfg, err := Load(path, func(k string) string { return env[k] })
			if err != nil {
				t.Fatal(err)
			}
			out, err := cfg.Pick("")
			if err != nil {
				t.Fatal(err)
			}
			p := out.Properties()
			if p.Get("client_secret") != "v" || p.Get("endpoint_url") != "https://e" || p.Get("schema") != "keeper" {
				t.Errorf("properties %v", p)
			}
			if got := out.UnsetVars(); len(got["tenant_id"]) != 1 || got["tenant_id"][0] != "KEEPER_AZMON_TENANT_ID" {
				t.Errorf("unset variables %v", got)
			}
		})
	}
}

// readFileForTest reads a file as a string.
func readFileForTest(path string) (string, error) {
	b, err := os.ReadFile(path)
	return string(b), err
}
