package stepfunctions

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/ohler55/ojg/jp"
)

// path is a compiled JSONPath. Reference paths ($.a.b, $['a'], $.a[0]) are
// walked here: ojg rejects names such as "error-info", which ASL allows, and
// ResultPath needs to write through them. Anything else (wildcards, slices,
// filters) goes to ojg and yields the list of matches.
type path struct {
	src     string
	context bool // "$$…": evaluated against the context object
	steps   []step
	expr    jp.Expr // nil for a reference path
}

type step struct {
	name  string
	index int // used when name == "" (an array index)
}

func parsePath(s string) (*path, error) {
	p := &path{src: s}
	if strings.HasPrefix(s, "$$") {
		p.context = true
		s = s[1:]
	}
	if !strings.HasPrefix(s, "$") {
		return nil, fmt.Errorf("path %q must start with $", p.src)
	}
	if steps, ok := referenceSteps(s[1:]); ok {
		p.steps = steps
		return p, nil
	}
	x, err := jp.ParseString(s)
	if err != nil {
		return nil, fmt.Errorf("path %q: %v", p.src, err)
	}
	p.expr = x
	return p, nil
}

// parseRefPath accepts only reference paths, which always name one node.
func parseRefPath(s string) (*path, error) {
	p, err := parsePath(s)
	if err != nil {
		return nil, err
	}
	if p.expr != nil || p.context {
		return nil, fmt.Errorf("%q is not a reference path (only .name, ['name'] and [n] are allowed)", s)
	}
	return p, nil
}

// referenceSteps parses what follows the "$" of a reference path.
func referenceSteps(s string) ([]step, bool) {
	var steps []step
	for s != "" {
		switch {
		case s[0] == '.':
			end := strings.IndexAny(s[1:], ".[")
			if end < 0 {
				end = len(s) - 1
			}
			name := s[1 : 1+end]
			if name == "" || strings.ContainsAny(name, "@,:?*()'\" ") {
				return nil, false
			}
			steps = append(steps, step{name: name})
			s = s[1+end:]
		case strings.HasPrefix(s, "['"):
			end := strings.Index(s[2:], "']")
			if end <= 0 {
				return nil, false
			}
			steps = append(steps, step{name: s[2 : 2+end]})
			s = s[2+end+2:]
		case s[0] == '[':
			end := strings.IndexByte(s, ']')
			if end < 0 {
				return nil, false
			}
			n, err := strconv.Atoi(s[1:end])
			if err != nil || n < 0 {
				return nil, false
			}
			steps = append(steps, step{index: n})
			s = s[end+1:]
		default:
			return nil, false
		}
	}
	return steps, true
}

// get returns the value at the path. A reference path reports whether the
// node exists; any other path returns its (possibly empty) list of matches.
func (p *path) get(data any) (any, bool) {
	if p.expr != nil {
		matches := p.expr.Get(data)
		if matches == nil {
			matches = []any{}
		}
		return matches, true
	}
	cur := data
	for _, st := range p.steps {
		switch v := cur.(type) {
		case map[string]any:
			next, ok := v[st.name]
			if st.name == "" || !ok {
				return nil, false
			}
			cur = next
		case []any:
			if st.name != "" || st.index >= len(v) {
				return nil, false
			}
			cur = v[st.index]
		default:
			return nil, false
		}
	}
	return cur, true
}

// set writes v at the reference path inside root, creating missing
// objects on the way, as ResultPath does, and returns the new root.
func (p *path) set(root, v any) (any, error) {
	if len(p.steps) == 0 {
		return v, nil
	}
	cur := root
	for i, st := range p.steps {
		last := i == len(p.steps)-1
		switch c := cur.(type) {
		case map[string]any:
			if st.name == "" {
				return nil, fmt.Errorf("cannot index an object with [%d]", st.index)
			}
			if last {
				c[st.name] = v
				return root, nil
			}
			next, ok := c[st.name]
			if !ok || next == nil {
				next = map[string]any{}
				c[st.name] = next
			}
			cur = next
		case []any:
			if st.name != "" || st.index >= len(c) {
				return nil, errors.New("array index out of range")
			}
			if last {
				c[st.index] = v
				return root, nil
			}
			cur = c[st.index]
		default:
			return nil, fmt.Errorf("cannot set %q inside a %s", p.src, typeName(cur))
		}
	}
	return root, nil
}

func (p *path) String() string { return p.src }

// optPath is an InputPath, OutputPath or ResultPath: absent means "$",
// JSON null means "discard".
type optPath struct {
	null bool
	p    *path // nil: "$"
}

func loadOptPath(raw json.RawMessage, reference bool) (optPath, error) {
	if raw == nil {
		return optPath{}, nil
	}
	if string(raw) == "null" {
		return optPath{null: true}, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return optPath{}, errors.New("must be a string or null")
	}
	parse := parsePath
	if reference {
		parse = parseRefPath
	}
	p, err := parse(s)
	if err != nil {
		return optPath{}, err
	}
	if p.context {
		return optPath{}, errors.New("the context object ($$) is not supported here")
	}
	return optPath{p: p}, nil
}

// selectFrom applies an InputPath or OutputPath.
func (o optPath) selectFrom(v any) (any, error) {
	switch {
	case o.null:
		return map[string]any{}, nil
	case o.p == nil:
		return v, nil
	}
	out, ok := o.p.get(v)
	if !ok {
		return nil, fmt.Errorf("invalid path %q: no such field in the input", o.p)
	}
	return out, nil
}

// merge applies a ResultPath: result placed into a copy of the state's raw
// input (the original may still be in use, e.g. by a Catch after a failure).
func (o optPath) merge(input, result any) (any, error) {
	switch {
	case o.null:
		return input, nil
	case o.p == nil:
		return result, nil
	}
	return o.p.set(deepCopy(input), deepCopy(result))
}

// A template is a compiled Parameters or ResultSelector: JSON whose
// "key.$" fields became pathField values.
type pathField struct {
	key string // the original "name.$", for error messages
	p   *path
}

// contextPaths are the context object fields the executor fills in.
var contextPaths = map[string]bool{
	"$$.Execution.Id": true, "$$.Execution.Name": true, "$$.Execution.StartTime": true,
	"$$.State.EnteredTime": true, "$$.Task.Token": true,
	"$$.Map.Item.Value": true, "$$.Map.Item.Index": true, // ItemSelector only
}

// compileTemplate turns "key.$" fields into paths. usesToken reports a
// $$.Task.Token reference, which only callback tasks may make.
func compileTemplate(v any, where string, usesToken *bool) (any, error) {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, val := range t {
			name, isPath := strings.CutSuffix(k, ".$")
			if _, dup := out[name]; dup {
				return nil, fmt.Errorf("%s: both %q and %q", where, name, name+".$")
			}
			if !isPath {
				c, err := compileTemplate(val, where+"."+k, usesToken)
				if err != nil {
					return nil, err
				}
				out[name] = c
				continue
			}
			s, ok := val.(string)
			if !ok {
				return nil, fmt.Errorf("%s.%s: must be a string path", where, k)
			}
			if !strings.HasPrefix(s, "$") {
				return nil, fmt.Errorf("%s.%s: intrinsic functions are not supported (%q)", where, k, s)
			}
			p, err := parsePath(s)
			if err != nil {
				return nil, fmt.Errorf("%s.%s: %v", where, k, err)
			}
			if p.context && !contextPaths[s] && !strings.HasPrefix(s, "$$.Map.Item.Value.") {
				return nil, fmt.Errorf("%s.%s: context path %q is not supported", where, k, s)
			}
			if s == "$$.Task.Token" {
				*usesToken = true
			}
			out[name] = pathField{key: k, p: p}
		}
		return out, nil
	case []any:
		out := make([]any, len(t))
		for i, item := range t {
			c, err := compileTemplate(item, fmt.Sprintf("%s[%d]", where, i), usesToken)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	}
	return v, nil
}

// render evaluates a compiled template against input and the context object.
func render(t, input any, ctxObj map[string]any) (any, error) {
	switch v := t.(type) {
	case pathField:
		src := input
		if v.p.context {
			src = ctxObj
		}
		out, ok := v.p.get(src)
		if !ok {
			return nil, fmt.Errorf("the JSONPath %q specified for the field %q could not be found in the input", v.p, v.key)
		}
		return deepCopy(out), nil
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, item := range v {
			r, err := render(item, input, ctxObj)
			if err != nil {
				return nil, err
			}
			out[k] = r
		}
		return out, nil
	case []any:
		out := make([]any, len(v))
		for i, item := range v {
			r, err := render(item, input, ctxObj)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	}
	return t, nil
}

// decode parses JSON with integers kept exact as int64 (json.Number would
// confuse ojg filters; float64 would round large ids).
func decode(data []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if d.More() {
		return nil, errors.New("trailing data after the JSON value")
	}
	return numbers(v), nil
}

func numbers(v any) any {
	switch t := v.(type) {
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i
		}
		f, _ := t.Float64()
		return f
	case map[string]any:
		for k, item := range t {
			t[k] = numbers(item)
		}
	case []any:
		for i, item := range t {
			t[i] = numbers(item)
		}
	}
	return v
}

// encode writes compact JSON without HTML escaping, as Step Functions does.
func encode(v any) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, item := range t {
			out[k] = deepCopy(item)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, item := range t {
			out[i] = deepCopy(item)
		}
		return out
	}
	return v
}

func typeName(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case int64, float64:
		return "number"
	case bool:
		return "boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}
