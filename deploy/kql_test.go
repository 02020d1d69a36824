package deploy

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// A small evaluator of DCR transformations, enough to run a transformKql
// on one input row the way a data collection rule does, offline. It knows
// the pipeline `source | project ... | extend ...`, column references,
// string literals, dynamic member access (d.k, d['k']) and the conversion
// functions of Microsoft's "Supported KQL features in Azure Monitor
// transformations" list. Anything else is an error, so a transformation
// that leaves this subset fails the test instead of passing unchecked.

// kqlValue is a typed KQL scalar; v is nil for null. Types: string, int,
// long, real, bool, datetime, dynamic (v is decoded JSON).
type kqlValue struct {
	typ string
	v   any
}

// kqlColumn is one column of a row, in order.
type kqlColumn struct {
	name string
	val  kqlValue
}

// kqlRow is a row: its columns in order.
type kqlRow []kqlColumn

func (r kqlRow) get(name string) (kqlValue, bool) {
	for _, c := range r {
		if c.name == name {
			return c.val, true
		}
	}
	return kqlValue{}, false
}

func (r kqlRow) set(name string, v kqlValue) kqlRow {
	for i, c := range r {
		if c.name == name {
			r[i].val = v
			return r
		}
	}
	return append(r, kqlColumn{name, v})
}

// kqlToken is a token: an identifier, a string literal (text unquoted) or
// punctuation.
type kqlToken struct {
	kind string // "id", "str", "punct"
	text string
}

func kqlLex(q string) ([]kqlToken, error) {
	var toks []kqlToken
	rs := []rune(q)
	for i := 0; i < len(rs); {
		r := rs[i]
		switch {
		case unicode.IsSpace(r):
			i++
		case r == '_' || unicode.IsLetter(r):
			j := i
			// Operator names such as project-away are one token.
			for j < len(rs) && (rs[j] == '_' || rs[j] == '-' || unicode.IsLetter(rs[j]) || unicode.IsDigit(rs[j])) {
				j++
			}
			toks = append(toks, kqlToken{"id", string(rs[i:j])})
			i = j
		case r == '\'' || r == '"':
			j := i + 1
			var b strings.Builder
			for ; j < len(rs) && rs[j] != r; j++ {
				if rs[j] == '\\' && j+1 < len(rs) {
					j++
				}
				b.WriteRune(rs[j])
			}
			if j == len(rs) {
				return nil, fmt.Errorf("unterminated string at %d", i)
			}
			toks = append(toks, kqlToken{"str", b.String()})
			i = j + 1
		case strings.ContainsRune("|,=()[].", r):
			toks = append(toks, kqlToken{"punct", string(r)})
			i++
		default:
			return nil, fmt.Errorf("unexpected %q at %d", r, i)
		}
	}
	return toks, nil
}

// kqlAssign is one item of project or extend: name, or name = expr.
type kqlAssign struct {
	name string
	expr kqlExpr
}

// kqlExpr is an expression node.
type kqlExpr struct {
	kind string // "col", "str", "call", "member"
	name string // column, function or member name; literal text
	args []kqlExpr
}

// kqlStage is one operator of the pipeline.
type kqlStage struct {
	op      string // project or extend
	assigns []kqlAssign
}

type kqlParser struct {
	toks []kqlToken
	pos  int
}

func (p *kqlParser) peek() kqlToken {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return kqlToken{}
}

func (p *kqlParser) next() kqlToken { t := p.peek(); p.pos++; return t }

func (p *kqlParser) expect(kind, text string) error {
	if t := p.next(); t.kind != kind || t.text != text {
		return fmt.Errorf("want %q, have %q", text, t.text)
	}
	return nil
}

// parseKQL parses a transformation into its stages.
func parseKQL(q string) ([]kqlStage, error) {
	toks, err := kqlLex(q)
	if err != nil {
		return nil, err
	}
	p := &kqlParser{toks: toks}
	if err := p.expect("id", "source"); err != nil {
		return nil, fmt.Errorf("a transformation starts from source: %w", err)
	}
	var stages []kqlStage
	for p.pos < len(p.toks) {
		if err := p.expect("punct", "|"); err != nil {
			return nil, err
		}
		op := p.next()
		if op.kind != "id" || (op.text != "project" && op.text != "extend") {
			return nil, fmt.Errorf("operator %q is not one this evaluator knows", op.text)
		}
		st := kqlStage{op: op.text}
		for {
			a, err := p.assign(op.text == "project")
			if err != nil {
				return nil, fmt.Errorf("%s: %w", op.text, err)
			}
			st.assigns = append(st.assigns, a)
			if p.peek().text != "," {
				break
			}
			p.next()
		}
		stages = append(stages, st)
	}
	return stages, nil
}

func (p *kqlParser) assign(bareAllowed bool) (kqlAssign, error) {
	id := p.next()
	if id.kind != "id" {
		return kqlAssign{}, fmt.Errorf("want a column name, have %q", id.text)
	}
	if p.peek().text != "=" {
		if !bareAllowed {
			return kqlAssign{}, fmt.Errorf("%s needs = expression", id.text)
		}
		return kqlAssign{id.text, kqlExpr{kind: "col", name: id.text}}, nil
	}
	p.next()
	e, err := p.expr()
	return kqlAssign{id.text, e}, err
}

func (p *kqlParser) expr() (kqlExpr, error) {
	t := p.next()
	var e kqlExpr
	switch {
	case t.kind == "str":
		e = kqlExpr{kind: "str", name: t.text}
	case t.kind == "id" && p.peek().text == "(":
		p.next()
		e = kqlExpr{kind: "call", name: t.text}
		for p.peek().text != ")" {
			a, err := p.expr()
			if err != nil {
				return e, err
			}
			e.args = append(e.args, a)
			if p.peek().text == "," {
				p.next()
			}
		}
		p.next()
	case t.kind == "id":
		e = kqlExpr{kind: "col", name: t.text}
	default:
		return e, fmt.Errorf("unexpected %q", t.text)
	}
	for {
		switch p.peek().text {
		case ".":
			p.next()
			m := p.next()
			if m.kind != "id" {
				return e, fmt.Errorf("want a member name after ., have %q", m.text)
			}
			e = kqlExpr{kind: "member", name: m.text, args: []kqlExpr{e}}
		case "[":
			p.next()
			m := p.next()
			if m.kind != "str" {
				return e, fmt.Errorf("want a string index, have %q", m.text)
			}
			if err := p.expect("punct", "]"); err != nil {
				return e, err
			}
			e = kqlExpr{kind: "member", name: m.text, args: []kqlExpr{e}}
		default:
			return e, nil
		}
	}
}

// runKQL applies a transformation's stages to one input row.
func runKQL(stages []kqlStage, in kqlRow) (kqlRow, error) {
	row := append(kqlRow(nil), in...)
	for _, st := range stages {
		var out kqlRow
		if st.op == "extend" {
			out = append(out, row...)
		}
		for _, a := range st.assigns {
			v, err := evalKQL(a.expr, row)
			if err != nil {
				return nil, fmt.Errorf("%s = %w", a.name, err)
			}
			if st.op == "project" {
				if _, dup := out.get(a.name); dup {
					return nil, fmt.Errorf("project names %s twice", a.name)
				}
			}
			out = out.set(a.name, v)
		}
		row = out
	}
	return row, nil
}

func evalKQL(e kqlExpr, row kqlRow) (kqlValue, error) {
	switch e.kind {
	case "str":
		return kqlValue{"string", e.name}, nil
	case "col":
		v, ok := row.get(e.name)
		if !ok {
			return v, fmt.Errorf("no column %s", e.name)
		}
		return v, nil
	case "member":
		base, err := evalKQL(e.args[0], row)
		if err != nil {
			return base, err
		}
		if base.typ != "dynamic" {
			return base, fmt.Errorf("%s is %s, not dynamic", e.name, base.typ)
		}
		m, _ := base.v.(map[string]any)
		return kqlValue{"dynamic", m[e.name]}, nil
	}
	switch e.name {
	case "tostring", "toreal", "todouble", "tobool", "toboolean", "todatetime":
	default:
		// bag_remove_keys, bag_keys and the like are not in the list of
		// functions a DCR transformation supports.
		return kqlValue{}, fmt.Errorf("function %s is not one this evaluator knows", e.name)
	}
	if len(e.args) != 1 {
		return kqlValue{}, fmt.Errorf("%s takes one argument here", e.name)
	}
	arg, err := evalKQL(e.args[0], row)
	if err != nil {
		return arg, err
	}
	switch e.name {
	case "tostring":
		return kqlValue{"string", kqlToString(arg)}, nil
	case "toreal", "todouble":
		f, ok := kqlToReal(arg)
		if !ok {
			return kqlValue{"real", nil}, nil
		}
		return kqlValue{"real", f}, nil
	case "tobool", "toboolean":
		b, ok := kqlToBool(arg)
		if !ok {
			return kqlValue{"bool", nil}, nil
		}
		return kqlValue{"bool", b}, nil
	case "todatetime":
		t, ok := kqlToDatetime(arg)
		if !ok {
			return kqlValue{"datetime", nil}, nil
		}
		return kqlValue{"datetime", t}, nil
	}
	return kqlValue{}, fmt.Errorf("function %s is not one this evaluator knows", e.name)
}

// kqlToString is tostring(): "" for null, JSON text for a bag or array.
func kqlToString(v kqlValue) string {
	switch x := v.v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case int64:
		return strconv.FormatInt(x, 10)
	case json.Number:
		return x.String()
	case time.Time:
		return x.UTC().Format("2006-01-02T15:04:05.0000000Z")
	}
	b, _ := json.Marshal(v.v)
	return string(b)
}

func kqlToReal(v kqlValue) (float64, bool) {
	switch x := v.v.(type) {
	case float64:
		return x, true
	case int64:
		return float64(x), true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case string:
		f, err := strconv.ParseFloat(x, 64)
		return f, err == nil && !math.IsInf(f, 0)
	}
	return 0, false
}

func kqlToBool(v kqlValue) (bool, bool) {
	switch x := v.v.(type) {
	case bool:
		return x, true
	case string:
		b, err := strconv.ParseBool(strings.ToLower(x))
		return b, err == nil
	case json.Number, float64, int64:
		f, _ := kqlToReal(v)
		return f != 0, true
	}
	return false, false
}

func kqlToDatetime(v kqlValue) (time.Time, bool) {
	switch x := v.v.(type) {
	case time.Time:
		return x, true
	case string:
		t, err := time.Parse(time.RFC3339Nano, x)
		return t, err == nil
	}
	return time.Time{}, false
}

// kqlInputRow is what a DCR makes of one JSON record for a stream that
// declares cols: each declared column, typed (absent ones null), and no
// other field.
func kqlInputRow(record []byte, cols []column) (kqlRow, error) {
	dec := json.NewDecoder(strings.NewReader(string(record)))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	var row kqlRow
	for _, c := range cols {
		raw, ok := m[c.Name]
		v := kqlValue{c.Type, nil}
		if ok && raw != nil {
			switch c.Type {
			case "string":
				s, ok := raw.(string)
				if !ok {
					return nil, fmt.Errorf("%s: %v is not a string", c.Name, raw)
				}
				v.v = s
			case "int", "long":
				n, err := strconv.ParseInt(fmt.Sprint(raw), 10, 64)
				if err != nil {
					return nil, fmt.Errorf("%s: %v", c.Name, err)
				}
				v.v = n
			case "real":
				f, err := strconv.ParseFloat(fmt.Sprint(raw), 64)
				if err != nil {
					return nil, fmt.Errorf("%s: %v", c.Name, err)
				}
				v.v = f
			case "boolean":
				b, ok := raw.(bool)
				if !ok {
					return nil, fmt.Errorf("%s: %v is not a bool", c.Name, raw)
				}
				v.typ, v.v = "bool", b
			case "datetime":
				t, err := time.Parse(time.RFC3339Nano, fmt.Sprint(raw))
				if err != nil {
					return nil, fmt.Errorf("%s: %v", c.Name, err)
				}
				v.v = t
			case "dynamic":
				v.v = raw
			default:
				return nil, fmt.Errorf("%s: column type %s", c.Name, c.Type)
			}
		} else if c.Type == "boolean" {
			v.typ = "bool"
		}
		row = append(row, kqlColumn{c.Name, v})
	}
	return row, nil
}

// tableType is the table column type a KQL result type is stored as.
func tableType(kqlType string) string {
	if kqlType == "bool" {
		return "boolean"
	}
	return kqlType
}
