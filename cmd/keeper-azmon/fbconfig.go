package main

import (
	"bufio"
	"bytes"
	"fmt"
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

// fbSection is one section of a Fluent Bit configuration: its kind
// (service, input, output, ...; lower case) and its properties, keys in
// lower case, values with ${VAR} substituted.
type fbSection struct {
	Kind  string
	Props []fbProp
	File  string // where the section starts
	Line  int
}

// fbProp is one `key value` line of a section.
type fbProp struct {
	Key, Value string
	// Unset lists the ${VAR} references of the value that had no value.
	Unset []string
}

// get returns the last value of key (Fluent Bit keeps the last one), "" if absent.
func (s *fbSection) get(key string) string {
	v := ""
	for _, p := range s.Props {
		if strings.EqualFold(p.Key, key) {
			v = p.Value
		}
	}
	return v
}

// fbConfig is a Fluent Bit configuration file with its includes resolved.
type fbConfig struct {
	Path     string
	Sections []fbSection
}

// loadFBConfig reads a Fluent Bit configuration: YAML when the file name ends
// in .yaml or .yml, else the classic format. Variables come from @SET (or
// the YAML env section) first, then from getenv, as in Fluent Bit.
func loadFBConfig(path string, getenv func(string) string) (*fbConfig, error) {
	vars := &fbVars{set: map[string]string{}, getenv: getenv}
	cfg := &fbConfig{Path: path}
	var err error
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yaml", ".yml":
		err = readYAML(cfg, vars, path, 0)
	default:
		err = readClassic(cfg, vars, path, 0)
	}
	if err != nil {
		return nil, err
	}
	return cfg, nil
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

// resolveInclude turns an include pattern, relative to the directory of
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

// readClassic reads a classic configuration file: [SECTION] headers, indented
// `key value` lines, # comments on their own lines, @INCLUDE FILE (relative
// to this file; globs allowed) and @SET KEY=VALUE.
func readClassic(cfg *fbConfig, vars *fbVars, path string, depth int) error {
	if depth > maxIncludeDepth {
		return fmt.Errorf("%s: includes nested deeper than %d (an include cycle?)", path, maxIncludeDepth)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	var cur *fbSection
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(strings.TrimPrefix(sc.Text(), "\ufeff"))
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		where := fmt.Sprintf("%s:%d", path, n)
		if line[0] == '@' {
			cmd, arg, _ := strings.Cut(line, " ")
			arg = strings.TrimSpace(arg)
			switch strings.ToUpper(cmd) {
			case "@INCLUDE":
				if arg == "" {
					return fmt.Errorf("%s: @INCLUDE without a file", where)
				}
				arg, _ = vars.expand(arg)
				files, err := resolveInclude(path, arg)
				if err != nil {
					return fmt.Errorf("%s: %w", where, err)
				}
				for _, f := range files {
					if err := readClassic(cfg, vars, f, depth+1); err != nil {
						return err
					}
				}
				// A section continues only within its own file.
				cur = nil
			case "@SET":
				k, v, ok := strings.Cut(arg, "=")
				if !ok || strings.TrimSpace(k) == "" {
					return fmt.Errorf("%s: @SET wants KEY=VALUE", where)
				}
				v, _ = vars.expand(strings.TrimSpace(v))
				vars.set[strings.TrimSpace(k)] = v
			default:
				return fmt.Errorf("%s: unknown command %s (want @INCLUDE or @SET)", where, cmd)
			}
			continue
		}
		if line[0] == '[' {
			if !strings.HasSuffix(line, "]") || len(line) < 3 {
				return fmt.Errorf("%s: malformed section header %q", where, line)
			}
			cfg.Sections = append(cfg.Sections, fbSection{Kind: strings.ToLower(strings.TrimSpace(line[1 : len(line)-1])), File: path, Line: n})
			cur = &cfg.Sections[len(cfg.Sections)-1]
			continue
		}
		if cur == nil {
			return fmt.Errorf("%s: %q is outside any [SECTION]", where, line)
		}
		i := strings.IndexAny(line, " \t")
		if i < 0 {
			return fmt.Errorf("%s: key %q has no value", where, line)
		}
		val, unset := vars.expand(strings.TrimSpace(line[i+1:]))
		cur.Props = append(cur.Props, fbProp{Key: strings.ToLower(line[:i]), Value: val, Unset: unset})
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return nil
}

// readYAML reads a YAML configuration: env (variables), includes (files
// relative to this one) and pipeline.outputs / pipeline.inputs / pipeline.filters
// (lists of maps). Other top-level sections are kept as one section each
// when they are maps of scalars (service), ignored otherwise.
func readYAML(cfg *fbConfig, vars *fbVars, path string, depth int) error {
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
	if inc := mapValue(root, "includes"); inc != nil {
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
	}
	if svc := mapValue(root, "service"); svc != nil && svc.Kind == yaml.MappingNode {
		cfg.Sections = append(cfg.Sections, yamlSection(vars, "service", path, svc))
	}
	if pl := mapValue(root, "pipeline"); pl != nil {
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
func yamlSection(vars *fbVars, kind, path string, m *yaml.Node) fbSection {
	s := fbSection{Kind: kind, File: path, Line: m.Line}
	for i := 0; i+1 < len(m.Content); i += 2 {
		v := m.Content[i+1]
		if v.Kind == yaml.AliasNode && v.Alias != nil {
			v = v.Alias
		}
		if v.Kind != yaml.ScalarNode {
			continue
		}
		val, unset := vars.expand(v.Value)
		s.Props = append(s.Props, fbProp{Key: strings.ToLower(m.Content[i].Value), Value: val, Unset: unset})
	}
	return s
}

// fbOutput is one keeper_azmon output of a configuration.
type fbOutput struct {
	Index   int    // among the keeper_azmon outputs, in file order
	Name    string // Fluent Bit's instance name, keeper_azmon.N
	Section *fbSection
}

// Label names the output for messages: keeper_azmon.0 (alias x, match y).
func (o fbOutput) Label() string {
	var extra []string
	if a := o.Section.get("alias"); a != "" {
		extra = append(extra, "alias "+a)
	}
	if m := o.Section.get("match"); m != "" {
		extra = append(extra, "match "+m)
	} else if m := o.Section.get("match_regex"); m != "" {
		extra = append(extra, "match_regex "+m)
	}
	if len(extra) == 0 {
		return o.Name
	}
	return o.Name + " (" + strings.Join(extra, ", ") + ")"
}

// Properties returns the section as the plugin would read it.
func (o fbOutput) Properties() plugin.MapProperties {
	p := plugin.MapProperties{}
	for _, kv := range o.Section.Props {
		p[kv.Key] = kv.Value
	}
	return p
}

// UnsetVars maps each property whose value used an unset ${VAR} to those variables.
func (o fbOutput) UnsetVars() map[string][]string {
	m := map[string][]string{}
	for _, kv := range o.Section.Props {
		if len(kv.Unset) > 0 {
			m[kv.Key] = append(m[kv.Key], kv.Unset...)
		}
	}
	return m
}

// outputs returns the keeper_azmon outputs, numbered as Fluent Bit numbers
// the instances of one plugin.
func (c *fbConfig) outputs() []fbOutput {
	var outs []fbOutput
	for i := range c.Sections {
		s := &c.Sections[i]
		if s.Kind == "output" && strings.EqualFold(s.get("name"), plugin.Name) {
			n := len(outs)
			outs = append(outs, fbOutput{Index: n, Name: plugin.Name + "." + strconv.Itoa(n), Section: s})
		}
	}
	return outs
}

// output picks the keeper_azmon output named by spec: its index (0, 1, ...),
// its instance name (keeper_azmon.1) or its alias. An empty spec is fine
// when there is exactly one.
func (c *fbConfig) output(spec string) (fbOutput, error) {
	outs := c.outputs()
	if len(outs) == 0 {
		var names []string
		for _, s := range c.Sections {
			if s.Kind == "output" {
				names = append(names, s.get("name"))
			}
		}
		msg := fmt.Sprintf("%s has no output with name %s", c.Path, plugin.Name)
		if len(names) > 0 {
			msg += " (its outputs: " + strings.Join(names, ", ") + ")"
		}
		return fbOutput{}, fmt.Errorf("%s", msg)
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
		return fbOutput{}, fmt.Errorf("%s has %d %s outputs; pick one with -output (index, name or alias): %s", c.Path, len(outs), plugin.Name, list())
	}
	idx := strings.TrimPrefix(strings.ToLower(spec), plugin.Name+".")
	if n, err := strconv.Atoi(idx); err == nil {
		if n >= 0 && n < len(outs) {
			return outs[n], nil
		}
		return fbOutput{}, fmt.Errorf("-output %s: no such %s output; there are: %s", spec, plugin.Name, list())
	}
	for _, o := range outs {
		if strings.EqualFold(o.Section.get("alias"), spec) {
			return o, nil
		}
	}
	return fbOutput{}, fmt.Errorf("-output %s: no %s output has that index, name or alias; there are: %s", spec, plugin.Name, list())
}
