package stepfunctions

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"
)

// choiceRule is one compiled Choice rule: a comparison, or And/Or/Not.
type choiceRule struct {
	next     string // top-level rules only
	op       string
	variable *path
	value    any   // string, float64, bool or time.Time
	other    *path // StringEqualsPath
	rules    []*choiceRule
}

// comparators maps each supported operator to the type of its operand.
var comparators = map[string]string{
	"StringEquals":               "string",
	"StringEqualsPath":           "path",
	"NumericEquals":              "number",
	"NumericLessThan":            "number",
	"NumericLessThanEquals":      "number",
	"NumericGreaterThan":         "number",
	"NumericGreaterThanEquals":   "number",
	"BooleanEquals":              "bool",
	"TimestampLessThan":          "timestamp",
	"TimestampLessThanEquals":    "timestamp",
	"TimestampGreaterThan":       "timestamp",
	"TimestampGreaterThanEquals": "timestamp",
	"IsPresent":                  "bool",
	"IsNull":                     "bool",
}

// loadChoice compiles the rule at where (e.g. "Choices[0].And[1]").
// It returns the offending field and a message on failure.
func loadChoice(raw json.RawMessage, where string, top bool) (*choiceRule, string, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, where, fmt.Errorf("must be an object")
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	r := &choiceRule{}
	for _, k := range keys {
		switch _, isComparator := comparators[k]; {
		case k == "Variable" || (k == "Next" && top):
		case isComparator || k == "And" || k == "Or" || k == "Not":
			if r.op != "" {
				return nil, where + "." + k, fmt.Errorf("a rule has one operator, this one also has %s", r.op)
			}
			r.op = k
		default:
			return nil, where + "." + k, fmt.Errorf("not supported in a choice rule")
		}
	}
	if r.op == "" {
		return nil, where, fmt.Errorf("no supported comparison operator")
	}
	if top {
		if err := json.Unmarshal(fields["Next"], &r.next); err != nil || r.next == "" {
			return nil, where + ".Next", fmt.Errorf("a top-level choice rule needs a Next state")
		}
	}
	opField := where + "." + r.op
	switch r.op {
	case "And", "Or":
		var subs []json.RawMessage
		if err := json.Unmarshal(fields[r.op], &subs); err != nil || len(subs) == 0 {
			return nil, opField, fmt.Errorf("must be a non-empty array of rules")
		}
		for i, sub := range subs {
			c, f, err := loadChoice(sub, fmt.Sprintf("%s[%d]", opField, i), false)
			if err != nil {
				return nil, f, err
			}
			r.rules = append(r.rules, c)
		}
	case "Not":
		c, f, err := loadChoice(fields["Not"], opField, false)
		if err != nil {
			return nil, f, err
		}
		r.rules = []*choiceRule{c}
	}
	if r.rules != nil {
		if _, ok := fields["Variable"]; ok {
			return nil, where + ".Variable", fmt.Errorf("not allowed beside %s", r.op)
		}
		return r, "", nil
	}

	var variable string
	if err := json.Unmarshal(fields["Variable"], &variable); err != nil || variable == "" {
		return nil, where + ".Variable", fmt.Errorf("a comparison needs a Variable path")
	}
	p, err := parseRefPath(variable)
	if err != nil {
		return nil, where + ".Variable", err
	}
	r.variable = p
	operand, err := decode(fields[r.op])
	if err != nil {
		return nil, opField, err
	}
	switch comparators[r.op] {
	case "string":
		r.value, err = as[string](operand)
	case "number":
		var ok bool
		if r.value, ok = number(operand); !ok {
			err = fmt.Errorf("must be a number")
		}
	case "bool":
		r.value, err = as[bool](operand)
	case "timestamp":
		var s string
		if s, err = as[string](operand); err == nil {
			r.value, err = time.Parse(time.RFC3339Nano, s)
		}
	case "path":
		var s string
		if s, err = as[string](operand); err == nil {
			r.other, err = parseRefPath(s)
		}
	}
	if err != nil {
		return nil, opField, err
	}
	return r, "", nil
}

func as[T any](v any) (T, error) {
	t, ok := v.(T)
	if !ok {
		return t, fmt.Errorf("must be a %T, not a %s", t, typeName(v))
	}
	return t, nil
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int64:
		return float64(n), true
	case float64:
		return n, true
	}
	return 0, false
}

// eval applies the rule. A Variable missing from the input is an error
// (States.Runtime), except for IsPresent; a value of the wrong type only
// fails to match, as in Step Functions.
func (r *choiceRule) eval(in any) (bool, error) {
	switch r.op {
	case "And", "Or":
		for _, sub := range r.rules {
			ok, err := sub.eval(in)
			if err != nil || ok == (r.op == "Or") {
				return ok, err
			}
		}
		return r.op == "And", nil
	case "Not":
		ok, err := r.rules[0].eval(in)
		return !ok, err
	}
	v, found := r.variable.get(in)
	if r.op == "IsPresent" {
		return found == r.value.(bool), nil
	}
	if !found {
		return false, fmt.Errorf("invalid path %q: the choice state's condition path references an invalid value", r.variable)
	}
	switch r.op {
	case "IsNull":
		return (v == nil) == r.value.(bool), nil
	case "StringEquals":
		s, ok := v.(string)
		return ok && s == r.value.(string), nil
	case "StringEqualsPath":
		other, found := r.other.get(in)
		if !found {
			return false, fmt.Errorf("invalid path %q: the choice state's condition path references an invalid value", r.other)
		}
		s, ok := v.(string)
		o, ok2 := other.(string)
		return ok && ok2 && s == o, nil
	case "BooleanEquals":
		b, ok := v.(bool)
		return ok && b == r.value.(bool), nil
	}
	if comparators[r.op] == "number" {
		n, ok := number(v)
		if !ok {
			return false, nil
		}
		want := r.value.(float64)
		switch r.op {
		case "NumericEquals":
			return n == want, nil
		case "NumericLessThan":
			return n < want, nil
		case "NumericLessThanEquals":
			return n <= want, nil
		case "NumericGreaterThan":
			return n > want, nil
		default:
			return n >= want, nil
		}
	}
	s, ok := v.(string)
	if !ok {
		return false, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return false, nil
	}
	want := r.value.(time.Time)
	switch r.op {
	case "TimestampLessThan":
		return t.Before(want), nil
	case "TimestampLessThanEquals":
		return !t.After(want), nil
	case "TimestampGreaterThan":
		return t.After(want), nil
	default:
		return !t.Before(want), nil
	}
}
