// Package fbconfig reads Fluent Bit configurations, classic and YAML, the
// way Fluent Bit does (@INCLUDE, @SET, ${VAR}, includes, the format by
// extension), and finds the keeper_azmon outputs in them: the one reader
// that keeper-azmon check and the tests use.
package fbconfig

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/keeper-azmon/keeper-azmon/plugin"
)

// maxIncludeDepth bounds @INCLUDE / includes nesting (and so include cycles).
const maxIncludeDepth = 16

// Section is one section of a Fluent Bit configuration: its kind
// (service, input, output, ...; lower case) and its properties, keys in
// lower case, values with ${VAR} substituted.
type Section struct {
	Kind  string
	Props []Prop
	File  string // where the section starts
	Line  int
}

// Prop is one `key value` line of a section.
type Prop struct {
	Key, Value string
	Raw        string // the value as written, before ${VAR} substitution
	// Unset lists the ${VAR} references of the value that had no value.
	Unset []string
}

// Get returns the first value of key, "" if absent. Fluent Bit keeps every
// occurrence of a key in a section: the plugin name is the first "name"
// (flb_cf_section_property_get_string) and a plugin reads the first
// occurrence of its own properties (flb_output_get_property).
func (s *Section) Get(key string) string {
	for _, p := range s.Props {
		if strings.EqualFold(p.Key, key) {
			return p.Value
		}
	}
	return ""
}

// InstanceProp returns the value Fluent Bit gives one of its own instance
// properties (alias, match, match_regex): flb_output_set_property applies
// the occurrences in order, so the last wins; alias and match_regex skip
// an empty value.
func (s *Section) InstanceProp(key string) string {
	v := ""
	for _, p := range s.Props {
		if strings.EqualFold(p.Key, key) && (p.Value != "" || strings.EqualFold(key, "match")) {
			v = p.Value
		}
	}
	return v
}

// Config is a Fluent Bit configuration file with its includes resolved.
type Config struct {
	Path     string
	Sections []Section
}

// Load reads a Fluent Bit configuration: YAML when the file name's
// last extension is .yaml or .yml, else the classic format, as Fluent Bit
// picks (flb_cf_create_from_file; fluent-bit.yaml.example is classic to
// both). Variables come from @SET (or the YAML env section) first, then
// from getenv, as in Fluent Bit.
func Load(path string, getenv func(string) string) (*Config, error) {
	vars := &fbVars{set: map[string]string{}, getenv: getenv}
	cfg := &Config{Path: path}
	var err error
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yaml", ".yml":
		err = readYAML(cfg, vars, path, 0)
	default:
		if err = readClassic(cfg, vars, path); err != nil && looksYAML(path) {
			err = fmt.Errorf("%w (the file looks like YAML, but Fluent Bit reads a file as YAML only when its name ends in .yaml or .yml)", err)
		}
	}
	if err != nil {
		return nil, err
	}
	return cfg, nil
}

// looksYAML reports whether a file has a top-level key of Fluent Bit's YAML
// format (service:, pipeline:, ...) in column 0.
func looksYAML(path string) bool {
	data, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(data), "\n") {
		key, _, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch strings.ToLower(key) {
		case "service", "pipeline", "env", "includes", "parsers", "multiline_parsers", "plugins", "customs":
			return true
		}
	}
	return false
}

// fbVars resolves ${VAR}: variables set in the configuration, then the
// environment. An unknown variable reads "" (Fluent Bit warns and does the same).
type fbVars struct {
	set    map[string]string
	getenv func(string) string
}

// expand substitutes every ${VAR} of s and returns the names that had no value.
func (v *fbVars) expand(s string) (string, []string) {
	if !strings.Contains(s, "${") {
		return s, nil
	}
	var b strings.Builder
	var unset []string
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			break
		}
		j := strings.IndexByte(s[i+2:], '}')
		if j < 0 {
			break
		}
		name := s[i+2 : i+2+j]
		b.WriteString(s[:i])
		val, ok := v.set[name]
		if !ok && v.getenv != nil {
			val = v.getenv(name)
		}
		if val == "" {
			unset = append(unset, name)
		}
		b.WriteString(val)
		s = s[i+2+j+1:]
	}
	b.WriteString(s)
	return b.String(), unset
}

// resolveInclude turns a YAML include pattern, relative to the directory of
// the file that names it, into the files it matches, sorted.
func resolveInclude(from, pattern string) ([]string, error) {
	p := pattern
	if !filepath.IsAbs(p) {
		p = filepath.Join(filepath.Dir(from), p)
	}
	if !strings.ContainsAny(p, "*?[") {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("include %s: %w", pattern, err)
		}
		return []string{p}, nil
	}
	files, err := filepath.Glob(p)
	if err != nil {
		return nil, fmt.Errorf("include %s: %w", pattern, err)
	}
	sort.Strings(files)
	return files, nil
}

// readClassic reads a classic configuration as Fluent Bit's
// flb_cf_fluentbit.c does: [SECTION] headers and @INCLUDE / @SET in column
// 0, `key value` lines indented the same throughout a file, split at the
// first space, # comments on their own lines.
func readClassic(cfg *Config, vars *fbVars, path string) error {
	r := &classicReader{cfg: cfg, vars: vars, root: mainDir(path)}
	return r.read(path, 0)
}

// classicReader reads a classic file and the files it includes.
type classicReader struct {
	cfg  *Config
	vars *fbVars
	// root is the directory of the main file (symbolic links resolved):
	// Fluent Bit reads a relative glob against it, and a relative path
	// not found in the working directory, whichever file names them.
	root string
}

// mainDir is the directory Fluent Bit resolves relative includes against:
// that of the main file's real path.
func mainDir(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	}
	return filepath.Dir(path)
}

// isBlank is C's isblank: a space or a tab.
func isBlank(c byte) bool { return c == ' ' || c == '\t' }

// read reads one classic file. Its current section, indentation and group
// are its own: an included file starts outside any section and does not
// end the section of the file that includes it.
func (r *classicReader) read(path string, depth int) error {
	if depth > maxIncludeDepth {
		return fmt.Errorf("%s: includes nested deeper than %d (an include cycle?)", path, maxIncludeDepth)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	f := &classicFile{r: r, path: path, depth: depth, cur: -1}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if n == 1 {
			line = strings.TrimPrefix(line, "\ufeff")
		}
		if err := f.line(n, line); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return nil
}

// classicFile is the state of one classic file while it is read.
type classicFile struct {
	r          *classicReader
	path       string
	depth      int
	cur        int // index in r.cfg.Sections of this file's current section; -1 before the first
	indent     string
	haveIndent bool
	inGroup    bool // inside an indented [GROUP] of the current section
	nKeys      int  // keys of the current section or group
}

// line reads line n: a comment, a command, a section header or an entry.
func (f *classicFile) line(n int, line string) error {
	if line == "" || line[0] == '#' {
		return nil
	}
	where := fmt.Sprintf("%s:%d", f.path, n)
	switch line[0] {
	case '@':
		return f.command(where, line)
	case '[':
		// The name ends at the first ']'; the rest of the line is ignored.
		end := strings.IndexByte(line, ']')
		if end < 0 {
			return fmt.Errorf("%s: malformed section header %q (no ']')", where, line)
		}
		f.r.cfg.Sections = append(f.r.cfg.Sections, Section{Kind: sectionKind(line[1:end]), File: f.path, Line: n})
		f.cur, f.inGroup, f.nKeys = len(f.r.cfg.Sections)-1, false, 0
		return nil
	}
	return f.entry(where, line)
}

// command reads an @INCLUDE or @SET line.
func (f *classicFile) command(where, line string) error {
	r := f.r
	if len(line) > len("@INCLUDE ") && strings.EqualFold(line[:len("@INCLUDE ")], "@INCLUDE ") {
		// The rest of the line, as written, is the file or pattern.
		arg, _ := r.vars.expand(line[len("@INCLUDE "):])
		return r.include(where, arg, f.depth)
	}
	cmd, arg, _ := strings.Cut(line, " ")
	arg = strings.TrimSpace(arg)
	switch strings.ToUpper(cmd) {
	case "@INCLUDE":
		return fmt.Errorf("%s: @INCLUDE without a file", where)
	case "@SET":
		k, v, ok := strings.Cut(arg, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return fmt.Errorf("%s: @SET wants KEY=VALUE", where)
		}
		v, _ = r.vars.expand(strings.TrimSpace(v))
		r.vars.set[strings.TrimSpace(k)] = v
		return nil
	}
	return fmt.Errorf("%s: unknown command %s (want @INCLUDE or @SET)", where, cmd)
}

// entry reads an indented line: a key and its value, or a [GROUP] header.
func (f *classicFile) entry(where, line string) error {
	// The first such line of the file sets the indentation.
	if !f.haveIndent {
		i := 0
		for i < len(line) && isBlank(line[i]) {
			i++
		}
		if i == 0 {
			return fmt.Errorf("%s: invalid indentation level: %.60q starts in column 0; indent the keys of a section (only [SECTION], @INCLUDE, @SET and # comments start in column 0)", where, line)
		}
		f.indent, f.haveIndent = line[:i], true
		if i == len(line) {
			return nil // a line of blanks
		}
	}
	level, group, err := checkIndent(line, f.indent)
	if err != nil {
		return fmt.Errorf("%s: invalid indentation level: %v", where, err)
	}
	if !group {
		f.inGroup = false
	}
	if level == len(line) || line[level] == '#' {
		return nil // a comment, or blanks, at the keys' indentation
	}
	rest := line[level:]
	sp := strings.IndexByte(rest, ' ')
	if sp < 0 {
		if rest[0] == '[' {
			return fmt.Errorf("%s: section header %q is indented; [SECTION] lines start in column 0", where, rest)
		}
		return fmt.Errorf("%s: key %.60q has no value (key and value are separated by a space; a tab does not separate them)", where, rest)
	}
	key := rest[:sp]
	if key[0] == '[' {
		return f.group(where, rest)
	}
	raw := rest[sp+1:]
	if raw == "" {
		return fmt.Errorf("%s: key %q has no value", where, key)
	}
	if f.cur < 0 {
		return fmt.Errorf("%s: %.60q is outside any [SECTION]", where, rest)
	}
	f.nKeys++
	if f.inGroup {
		return nil
	}
	val, unset := f.r.vars.expand(strings.TrimSpace(raw))
	s := &f.r.cfg.Sections[f.cur]
	s.Props = append(s.Props, Prop{Key: strings.ToLower(strings.TrimSpace(key)), Value: val, Raw: strings.TrimSpace(raw), Unset: unset})
	return nil
}

// group reads an indented [GROUP] header within the section: its keys are
// not the section's properties.
func (f *classicFile) group(where, rest string) error {
	if !strings.Contains(rest, "]") {
		return fmt.Errorf("%s: malformed group header %q", where, rest)
	}
	if f.cur < 0 {
		return fmt.Errorf("%s: group %q is outside any [SECTION]", where, rest)
	}
	if f.inGroup && f.nKeys == 0 {
		return fmt.Errorf("%s: the previous group has no keys", where)
	}
	f.inGroup, f.nKeys = true, 0
	return nil
}

// checkIndent checks line against the file's indentation as Fluent Bit's
// check_indent does. level is where the key starts; group is true for a
// line indented twice (the content of a [GROUP]).
func checkIndent(line, indent string) (level int, group bool, err error) {
	n := 0
	for n < len(indent) && n < len(line) && line[n] == indent[n] {
		n++
	}
	if n < len(indent) {
		if n < len(line) && isBlank(line[n]) {
			return 0, false, fmt.Errorf("inconsistent use of tab and space (the keys of this file are indented %q)", indent)
		}
		return 0, false, fmt.Errorf("indentation level is too low (the keys of this file are indented %q)", indent)
	}
	if n < len(line) && isBlank(line[n]) {
		extra := 0
		for n+extra < len(line) && isBlank(line[n+extra]) {
			extra++
		}
		if extra != n {
			return 0, false, fmt.Errorf("extra indentation level found (the keys of this file are indented %q)", indent)
		}
		return 2 * n, true, nil
	}
	return n, false, nil
}

// sectionKind types a [SECTION] name as Fluent Bit does (get_section_type):
// the name as written, not trimmed, is a type when it matches the start of
// that type's name, case-insensitively, types tried in this order. Other
// names are kept in lower case.
func sectionKind(name string) string {
	for _, t := range [][]string{
		{"service"}, {"parser"}, {"multiline_parser"}, {"stream_processor"},
		{"plugins"}, {"upstream_servers"}, {"custom", "customs"},
		{"input", "inputs"}, {"filter", "filters"}, {"output", "outputs"},
	} {
		for _, full := range t {
			if name != "" && len(name) <= len(full) && strings.EqualFold(name, full[:len(name)]) {
				return t[0]
			}
		}
	}
	return strings.ToLower(name)
}

// include reads the files of an @INCLUDE as Fluent Bit does. A pattern
// with '*' is a glob, relative to the main file's directory, and must
// match something; another path is tried relative to the working
// directory first, then to the main file's directory.
func (r *classicReader) include(where, pattern string, depth int) error {
	if strings.Contains(pattern, "*") {
		p := pattern
		if !filepath.IsAbs(p) {
			p = filepath.Join(r.root, p)
		}
		files, err := filepath.Glob(p)
		if err != nil {
			return fmt.Errorf("%s: include %s: %w", where, pattern, err)
		}
		files = dropHidden(p, files)
		if len(files) == 0 {
			return fmt.Errorf("%s: include %s: no file matches %s (Fluent Bit stops on a pattern that matches nothing)", where, pattern, p)
		}
		sort.Strings(files)
		for _, f := range files {
			if err := r.read(f, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	p := pattern
	if _, err := os.Stat(p); err != nil {
		if !errors.Is(err, fs.ErrNotExist) || filepath.IsAbs(p) {
			return fmt.Errorf("%s: include %s: %w", where, pattern, err)
		}
		p = filepath.Join(r.root, pattern)
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("%s: include %s: not found in the working directory nor in %s: %w", where, pattern, r.root, err)
		}
	}
	return r.read(p, depth+1)
}

// dropHidden removes the matches of pattern that glob(3) leaves out: a
// name starting with '.' matched by a pattern element that does not.
func dropHidden(pattern string, files []string) []string {
	pe := strings.Split(filepath.ToSlash(pattern), "/")
	kept := files[:0]
	for _, f := range files {
		fe := strings.Split(filepath.ToSlash(f), "/")
		hidden := false
		for i := range fe {
			if i < len(pe) && strings.HasPrefix(fe[i], ".") && !strings.HasPrefix(pe[i], ".") {
				hidden = true
				break
			}
		}
		if !hidden {
			kept = append(kept, f)
		}
	}
	return kept
}

// readYAML reads a YAML configuration: env (variables), includes (files
// relative to this one) and pipeline.outputs / pipeline.inputs / pipeline.filters
// (lists of maps). Other top-level sections are kept as one section each
// when they are maps of scalars (service), ignored otherwise.
func readYAML(cfg *Config, vars *fbVars, path string, depth int) error {
	if depth > maxIncludeDepth {
		return fmt.Errorf("%s: includes nested deeper than %d (an include cycle?)", path, maxIncludeDepth)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if len(doc.Content) == 0 {
		return nil // an empty file
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return fmt.Errorf("%s:%d: the top level is not a map", path, root.Line)
	}
	// env first: its variables apply to the whole file.
	if env := mapValue(root, "env"); env != nil {
		if env.Kind != yaml.MappingNode {
			return fmt.Errorf("%s:%d: env is not a map", path, env.Line)
		}
		for i := 0; i+1 < len(env.Content); i += 2 {
			v, _ := vars.expand(env.Content[i+1].Value)
			vars.set[env.Content[i].Value] = v
		}
	}
	if err := readYAMLIncludes(cfg, vars, path, root, depth); err != nil {
		return err
	}
	readYAMLTopSections(cfg, vars, path, root)
	return readYAMLPipeline(cfg, vars, path, root)
}

// readYAMLIncludes reads the files that includes names, in order.
func readYAMLIncludes(cfg *Config, vars *fbVars, path string, root *yaml.Node, depth int) error {
	inc := mapValue(root, "includes")
	if inc == nil {
		return nil
	}
	if inc.Kind != yaml.SequenceNode {
		return fmt.Errorf("%s:%d: includes is not a list", path, inc.Line)
	}
	for _, n := range inc.Content {
		pat, _ := vars.expand(n.Value)
		files, err := resolveInclude(path, pat)
		if err != nil {
			return fmt.Errorf("%s:%d: %w", path, n.Line, err)
		}
		for _, f := range files {
			if err := readYAML(cfg, vars, f, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// readYAMLTopSections reads service, parsers, multiline_parsers and plugins.
func readYAMLTopSections(cfg *Config, vars *fbVars, path string, root *yaml.Node) {
	if svc := mapValue(root, "service"); svc != nil && svc.Kind == yaml.MappingNode {
		cfg.Sections = append(cfg.Sections, yamlSection(vars, "service", path, svc))
	}
	for _, kind := range []string{"parsers", "multiline_parsers"} {
		if list := mapValue(root, kind); list != nil && list.Kind == yaml.SequenceNode {
			for _, item := range list.Content {
				if item.Kind == yaml.MappingNode {
					cfg.Sections = append(cfg.Sections, yamlSection(vars, strings.TrimSuffix(kind, "s"), path, item))
				}
			}
		}
	}
	if list := mapValue(root, "plugins"); list != nil && list.Kind == yaml.SequenceNode {
		s := Section{Kind: "plugins", File: path, Line: list.Line}
		for _, n := range list.Content {
			if n.Kind == yaml.ScalarNode {
				val, unset := vars.expand(n.Value)
				s.Props = append(s.Props, Prop{Key: "path", Value: val, Raw: n.Value, Unset: unset})
			}
		}
		cfg.Sections = append(cfg.Sections, s)
	}
}

// readYAMLPipeline reads pipeline's inputs, filters and outputs, in order.
func readYAMLPipeline(cfg *Config, vars *fbVars, path string, root *yaml.Node) error {
	pl := mapValue(root, "pipeline")
	if pl == nil {
		return nil
	}
	if pl.Kind != yaml.MappingNode {
		return fmt.Errorf("%s:%d: pipeline is not a map", path, pl.Line)
	}
	for _, kind := range []string{"inputs", "filters", "outputs"} {
		list := mapValue(pl, kind)
		if list == nil {
			continue
		}
		if list.Kind != yaml.SequenceNode {
			return fmt.Errorf("%s:%d: pipeline.%s is not a list", path, list.Line, kind)
		}
		for _, item := range list.Content {
			if item.Kind != yaml.MappingNode {
				return fmt.Errorf("%s:%d: an entry of pipeline.%s is not a map", path, item.Line, kind)
			}
			cfg.Sections = append(cfg.Sections, yamlSection(vars, strings.TrimSuffix(kind, "s"), path, item))
		}
	}
	return nil
}

// mapValue returns the value of key in a YAML mapping node (keys matched
// case-insensitively), nil if absent.
func mapValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if strings.EqualFold(m.Content[i].Value, key) {
			return m.Content[i+1]
		}
	}
	return nil
}

// yamlSection keeps the scalar entries of a YAML map, as written (30s stays
// "30s", on stays "on"); nested values (processors) are not properties.
// Keys are translated as Fluent Bit translates them (yamlKey).
func yamlSection(vars *fbVars, kind, path string, m *yaml.Node) Section {
	s := Section{Kind: kind, File: path, Line: m.Line}
	for i := 0; i+1 < len(m.Content); i += 2 {
		v := m.Content[i+1]
		if v.Kind == yaml.AliasNode && v.Alias != nil {
			v = v.Alias
		}
		if v.Kind != yaml.ScalarNode {
			continue
		}
		val, unset := vars.expand(v.Value)
		s.Props = append(s.Props, Prop{Key: yamlKey(m.Content[i].Value), Value: val, Raw: v.Value, Unset: unset})
	}
	return s
}

// yamlKey is the property name Fluent Bit makes of a YAML key
// (flb_cf_key_translate): a key that starts with a lower-case letter and
// has no '_' is camelCase, and gets a '_' before each upper-case letter
// (endpointUrl is endpoint_url). Keys are then kept in lower case: Fluent
// Bit matches them case-insensitively.
func yamlKey(k string) string {
	k = strings.TrimSpace(k)
	if k == "" || k[0] < 'a' || k[0] > 'z' || strings.Contains(k, "_") {
		return strings.ToLower(k)
	}
	var b strings.Builder
	for i := 0; i < len(k); i++ {
		c := k[i]
		if 'A' <= c && c <= 'Z' {
			b.WriteByte('_')
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
	return b.String()
}

// Output is one keeper_azmon output of a configuration.
type Output struct {
	Index int // among the keeper_azmon outputs, in file order
	// ID is Fluent Bit's id of the instance: its place among all outputs,
	// whatever their plugin, in file order.
	ID int
	// Name is Fluent Bit's name of the instance, the one its log lines and
	// metrics carry: the alias when set, else keeper_azmon.<ID>.
	Name    string
	Section *Section
}

// Label names the output for messages: keeper_azmon.1 (match y), or
// prod (keeper_azmon.1, match y) when it has an alias.
func (o Output) Label() string {
	var extra []string
	if id := Name(o.ID); id != o.Name {
		extra = append(extra, id)
	}
	if m := o.Section.InstanceProp("match"); m != "" {
		extra = append(extra, "match "+m)
	} else if m := o.Section.InstanceProp("match_regex"); m != "" {
		extra = append(extra, "match_regex "+m)
	}
	if len(extra) == 0 {
		return o.Name
	}
	return o.Name + " (" + strings.Join(extra, ", ") + ")"
}

// Properties returns the section as the plugin would read it: the first
// occurrence of each key (flb_output_get_property).
func (o Output) Properties() plugin.MapProperties {
	p := plugin.MapProperties{}
	for _, kv := range o.Section.Props {
		if _, seen := p[kv.Key]; !seen {
			p[kv.Key] = kv.Value
		}
	}
	return p
}

// UnsetVars maps each property whose value (its first occurrence, the one
// the plugin reads) used an unset ${VAR} to those variables.
func (o Output) UnsetVars() map[string][]string {
	m := map[string][]string{}
	seen := map[string]bool{}
	for _, kv := range o.Section.Props {
		if seen[kv.Key] {
			continue
		}
		seen[kv.Key] = true
		if len(kv.Unset) > 0 {
			m[kv.Key] = append([]string(nil), kv.Unset...)
		}
	}
	return m
}

// Name is Fluent Bit's name of a keeper_azmon instance without an alias.
func Name(id int) string { return plugin.Name + "." + strconv.Itoa(id) }

// Outputs returns the keeper_azmon outputs, named as Fluent Bit names the
// instances: each output, whatever its plugin, takes the next id in file
// order (flb_output_new), and an alias replaces the name.
func (c *Config) Outputs() []Output {
	var outs []Output
	id := 0
	for i := range c.Sections {
		s := &c.Sections[i]
		if s.Kind != "output" {
			continue
		}
		if strings.EqualFold(s.Get("name"), plugin.Name) {
			name := s.InstanceProp("alias")
			if name == "" {
				name = Name(id)
			}
			outs = append(outs, Output{Index: len(outs), ID: id, Name: name, Section: s})
		}
		id++
	}
	return outs
}

// Pick picks the keeper_azmon output named by spec: its index among the
// keeper_azmon outputs (0, 1, ...), or any name Fluent Bit prints for it:
// keeper_azmon.<id> or its alias. An empty spec is fine when there is
// exactly one.
func (c *Config) Pick(spec string) (Output, error) {
	outs := c.Outputs()
	if len(outs) == 0 {
		var names []string
		for _, s := range c.Sections {
			if s.Kind == "output" {
				names = append(names, s.Get("name"))
			}
		}
		msg := fmt.Sprintf("%s has no output with name %s", c.Path, plugin.Name)
		if len(names) > 0 {
			msg += " (its outputs: " + strings.Join(names, ", ") + ")"
		}
		return Output{}, fmt.Errorf("%s", msg)
	}
	list := func() string {
		var l []string
		for _, o := range outs {
			l = append(l, o.Label())
		}
		return strings.Join(l, "; ")
	}
	spec = strings.TrimSpace(spec)
	if spec == "" {
		if len(outs) == 1 {
			return outs[0], nil
		}
		return Output{}, fmt.Errorf("%s has %d %s outputs; pick one with -output (index, name or alias): %s", c.Path, len(outs), plugin.Name, list())
	}
	if n, err := strconv.Atoi(spec); err == nil {
		if n >= 0 && n < len(outs) {
			return outs[n], nil
		}
		return Output{}, fmt.Errorf("-output %s: no such %s output; there are: %s", spec, plugin.Name, list())
	}
	for _, o := range outs {
		if strings.EqualFold(o.Name, spec) || strings.EqualFold(Name(o.ID), spec) {
			return o, nil
		}
	}
	return Output{}, fmt.Errorf("-output %s: no %s output has that index, name or alias; there are: %s", spec, plugin.Name, list())
}
