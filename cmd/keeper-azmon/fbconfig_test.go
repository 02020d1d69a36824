package main

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestLoadFBConfig reads classic and YAML configurations and picks the
// keeper_azmon output's properties as the plugin would get them.
func TestLoadFBConfig(t *testing.T) {
	env := map[string]string{"SECRET": "from-env", "TENANT": "t-env", "DIR": "conf.d"}
	getenv := func(k string) string { return env[k] }
	tests := []struct {
		name  string
		files map[string]string // relative path -> content; the first key sorted is not special
		main  string
		spec  string
		want  map[string]string // expected properties (subset)
		unset map[string][]string
		label string
		err   string // substring of the expected error
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
			name: "@INCLUDE relative to the including file, globs, nested",
			main: "etc/fluent-bit.conf",
			files: map[string]string{
				"etc/fluent-bit.conf":     "[SERVICE]\n    Flush 1\n@INCLUDE ${DIR}/*.conf\n",
				"etc/conf.d/10-in.conf":   "[INPUT]\n    Name tail\n",
				"etc/conf.d/20-out.conf":  "@INCLUDE ../more/out.conf\n",
				"etc/more/out.conf":       "[OUTPUT]\n    Name keeper_azmon\n    Alias sentinel\n    client_id inc\n",
				"etc/conf.d/ignored.yaml": "not: read",
			},
			want:  map[string]string{"client_id": "inc", "alias": "sentinel"},
			label: "keeper_azmon.0 (alias sentinel)",
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
			want:  map[string]string{"client_id": "second"},
			label: "keeper_azmon.1 (alias marketplace)",
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
				writeFile(t, dir, name, content)
			}
			path := filepath.Join(dir, tc.main)
			cfg, err := loadFBConfig(path, getenv)
			var out fbOutput
			if err == nil {
				out, err = cfg.output(tc.spec)
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
			path := writeFile(t, t.TempDir(), "fluent-bit"+ext, data)
			cfg, err := loadFBConfig(path, func(k string) string { return env[k] })
			if err != nil {
				t.Fatal(err)
			}
			out, err := cfg.output("")
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
