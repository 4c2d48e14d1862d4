// Package stepfunctions runs Amazon States Language state machines locally, with
// executions persisted in DynamoDB, because AWS no longer ships Step
// Functions Local. It supports the subset Parley's statemachines/ use and
// rejects everything else when the definition is loaded, so a machine
// that runs here does not meet an unsupported construct halfway through.
package stepfunctions

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// Task resources the executor understands, besides plain Lambda ARNs.
const (
	ResourceLambdaInvoke   = "arn:aws:states:::lambda:invoke"
	ResourceLambdaCallback = "arn:aws:states:::lambda:invoke.waitForTaskToken"
)

// Machine is a loaded, validated state machine.
type Machine struct {
	Comment        string
	StartAt        string
	TimeoutSeconds int // 0: no execution timeout
	states         map[string]*state
}

// LoadError names the state and field of a definition that Load rejected.
type LoadError struct {
	State string // "" for top-level fields
	Field string // "" when the state as a whole is at fault
	Msg   string
}

func (e *LoadError) Error() string {
	var b strings.Builder
	b.WriteString("stepfn: ")
	if e.State != "" {
		fmt.Fprintf(&b, "state %q: ", e.State)
	}
	if e.Field != "" {
		fmt.Fprintf(&b, "field %q: ", e.Field)
	}
	b.WriteString(e.Msg)
	return b.String()
}

type state struct {
	name, typ string
	next      string
	end       bool

	inputPath, outputPath, resultPath optPath
	parameters, resultSelector        any // compiled templates
	hasParameters, hasResultSelector  bool
	result                            any // Pass
	hasResult                         bool

	resource string // Task
	timeout  int
	retry    []retrier
	catch    []catcher

	seconds       int64 // Wait: exactly one of these four
	secondsPath   *path
	timestamp     time.Time
	timestampPath *path

	choices     []*choiceRule // Choice
	defaultNext string

	errName, cause string // Fail

	mapSpec *mapSpec // Map
}

type retrier struct {
	errorEquals []string
	interval    float64 // seconds
	maxAttempts int
	backoff     float64
	maxDelay    float64 // seconds; 0: no cap
	fullJitter  bool
}

type catcher struct {
	errorEquals []string
	next        string
	resultPath  optPath
}

// Fields each state type may have, beyond Type and Comment.
var stateFields = map[string][]string{
	"Pass":    {"Next", "End", "InputPath", "OutputPath", "Parameters", "Result", "ResultPath"},
	"Task":    {"Next", "End", "InputPath", "OutputPath", "Parameters", "ResultSelector", "ResultPath", "Resource", "TimeoutSeconds", "Retry", "Catch"},
	"Wait":    {"Next", "End", "InputPath", "OutputPath", "Seconds", "SecondsPath", "Timestamp", "TimestampPath"},
	"Choice":  {"InputPath", "OutputPath", "Choices", "Default"},
	"Succeed": {"InputPath", "OutputPath"},
	"Fail":    {"Error", "Cause"},
	"Map": {"Next", "End", "InputPath", "OutputPath", "ResultSelector", "ResultPath", "Retry", "Catch",
		"ItemProcessor", "ItemsPath", "ItemReader", "ItemSelector", "ItemBatcher", "MaxConcurrency",
		"ToleratedFailurePercentage", "ToleratedFailureCount"},
}

// unsupportedHint explains well-known fields the executor leaves out.
var unsupportedHint = map[string]string{
	"Arguments": "JSONata is not supported", "Output": "JSONata is not supported",
	"Assign": "variables are not supported", "QueryLanguage": "only JSONPath is supported",
	"HeartbeatSeconds": "heartbeats are not supported", "Iterator": "use ItemProcessor (Iterator is deprecated)",
	"Branches": "Parallel is not supported", "ResultWriter": "ResultWriter is not supported (results come back in the state output)",
	"Label": "Map Run labels are not supported", "ToleratedFailurePercentagePath": "use ToleratedFailurePercentage",
	"ToleratedFailureCountPath": "use ToleratedFailureCount", "MaxConcurrencyPath": "use MaxConcurrency",
	"ItemsPointer": "JSONata is not supported", "Items": "JSONata is not supported",
}

var substitution = regexp.MustCompile(`\$\{([^}]*)\}`)

// Load parses an ASL definition after replacing each ${Name} with
// substitutions[Name], as CloudFormation's DefinitionSubstitutions do (the
// text is replaced before parsing, so values are inserted verbatim).
func Load(definition []byte, substitutions map[string]string) (*Machine, error) {
	var missing []string
	text := substitution.ReplaceAllStringFunc(string(definition), func(m string) string {
		name := m[2 : len(m)-1]
		v, ok := substitutions[name]
		if !ok {
			missing = append(missing, m)
		}
		return v
	})
	if missing != nil {
		return nil, &LoadError{Msg: fmt.Sprintf("no substitution for %s", strings.Join(missing, ", "))}
	}

	var top map[string]json.RawMessage
	if err := json.Unmarshal([]byte(text), &top); err != nil {
		return nil, &LoadError{Msg: "invalid JSON: " + err.Error()}
	}
	if err := checkFields(top, "", "StartAt", "States", "Comment", "TimeoutSeconds", "QueryLanguage"); err != nil {
		return nil, err
	}
	var def struct {
		Comment        string
		StartAt        string
		TimeoutSeconds int
		States         map[string]json.RawMessage
	}
	if err := json.Unmarshal([]byte(text), &def); err != nil {
		return nil, typeError("", err)
	}
	if def.TimeoutSeconds < 0 {
		return nil, &LoadError{Field: "TimeoutSeconds", Msg: "must not be negative"}
	}
	m, err := loadStates(def.StartAt, def.States)
	if err != nil {
		return nil, err
	}
	m.Comment, m.TimeoutSeconds = def.Comment, def.TimeoutSeconds
	return m, nil
}

// loadStates loads a state graph: a machine's, or a Map's ItemProcessor.
func loadStates(startAt string, states map[string]json.RawMessage) (*Machine, error) {
	def := struct {
		StartAt string
		States  map[string]json.RawMessage
	}{startAt, states}
	m := &Machine{StartAt: def.StartAt, states: map[string]*state{}}
	if def.StartAt == "" {
		return nil, &LoadError{Field: "StartAt", Msg: "required"}
	}
	if len(def.States) == 0 {
		return nil, &LoadError{Field: "States", Msg: "no states"}
	}
	for name, raw := range def.States {
		if name == "" || utf8.RuneCountInString(name) > maxStateName {
			return nil, &LoadError{State: name, Field: "States", Msg: fmt.Sprintf("a state name is 1 to %d characters", maxStateName)}
		}
		s, err := loadState(name, raw)
		if err != nil {
			return nil, err
		}
		m.states[name] = s
	}
	if err := m.checkGraph(); err != nil {
		return nil, err
	}
	return m, nil
}

// maxStateName is the Amazon States Language's limit on state names.
const maxStateName = 80

// checkFields rejects any key not in allowed, naming it.
func checkFields(fields map[string]json.RawMessage, stateName string, allowed ...string) error {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		ok := false
		for _, a := range allowed {
			ok = ok || k == a
		}
		if ok && k == "QueryLanguage" && string(fields[k]) != `"JSONPath"` {
			return &LoadError{State: stateName, Field: k, Msg: unsupportedHint[k]}
		}
		if !ok {
			msg := "not supported"
			if h, known := unsupportedHint[k]; known {
				msg = h
			}
			return &LoadError{State: stateName, Field: k, Msg: msg}
		}
	}
	return nil
}

// typeError turns a JSON type mismatch into a LoadError naming the field.
func typeError(stateName string, err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return &LoadError{State: stateName, Field: te.Field, Msg: fmt.Sprintf("must be a %s, not a %s", te.Type, te.Value)}
	}
	return &LoadError{State: stateName, Msg: err.Error()}
}

type rawState struct {
	Type           string
	Next           string
	End            bool
	InputPath      json.RawMessage
	OutputPath     json.RawMessage
	ResultPath     json.RawMessage
	Parameters     json.RawMessage
	ResultSelector json.RawMessage
	Result         json.RawMessage
	Resource       string
	TimeoutSeconds *int
	Retry          []json.RawMessage
	Catch          []json.RawMessage
	Seconds        *int64
	SecondsPath    *string
	Timestamp      *string
	TimestampPath  *string
	Choices        []json.RawMessage
	Default        string
	Error          string
	Cause          string
}

func loadState(name string, raw json.RawMessage) (*state, error) {
	fail := func(field, format string, args ...any) error {
		return &LoadError{State: name, Field: field, Msg: fmt.Sprintf(format, args...)}
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, fail("", "must be an object")
	}
	var r rawState
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, typeError(name, err)
	}
	allowed, ok := stateFields[r.Type]
	if !ok {
		return nil, fail("Type", "%q is not supported (supported: Task, Wait, Choice, Pass, Succeed, Fail, Map)", r.Type)
	}
	if err := checkFields(fields, name, append([]string{"Type", "Comment", "QueryLanguage"}, allowed...)...); err != nil {
		return nil, err
	}
	s := &state{name: name, typ: r.Type, next: r.Next, end: r.End, resource: r.Resource,
		defaultNext: r.Default, errName: r.Error, cause: r.Cause}

	// Exactly one of Next and End on the states that continue.
	switch r.Type {
	case "Pass", "Task", "Wait", "Map":
		if (r.Next == "") == !r.End {
			return nil, fail("Next", "exactly one of Next and End:true is required")
		}
	}

	var err error
	if s.inputPath, err = loadOptPath(r.InputPath, false); err != nil {
		return nil, fail("InputPath", "%v", err)
	}
	if s.outputPath, err = loadOptPath(r.OutputPath, false); err != nil {
		return nil, fail("OutputPath", "%v", err)
	}
	if s.resultPath, err = loadOptPath(r.ResultPath, true); err != nil {
		return nil, fail("ResultPath", "%v", err)
	}
	var usesToken bool
	if r.Parameters != nil {
		if s.parameters, err = loadTemplate(r.Parameters, "Parameters", &usesToken); err != nil {
			return nil, fail("Parameters", "%v", err)
		}
		s.hasParameters = true
	}
	if r.ResultSelector != nil {
		var selectorToken bool
		if s.resultSelector, err = loadTemplate(r.ResultSelector, "ResultSelector", &selectorToken); err != nil {
			return nil, fail("ResultSelector", "%v", err)
		}
		if selectorToken {
			return nil, fail("ResultSelector", "$$.Task.Token is only available to Parameters")
		}
		s.hasResultSelector = true
	}
	for field, t := range map[string]any{"Parameters": s.parameters, "ResultSelector": s.resultSelector} {
		if usesMapItem(t) {
			return nil, fail(field, "$$.Map.Item is only available to a Map's ItemSelector")
		}
	}
	if r.Result != nil {
		if s.result, err = decode(r.Result); err != nil {
			return nil, fail("Result", "%v", err)
		}
		s.hasResult = true
	}

	switch r.Type {
	case "Task":
		err = s.loadTask(r, usesToken)
	case "Wait":
		err = s.loadWait(r)
	case "Choice":
		err = s.loadChoices(r)
	case "Map":
		if err = s.loadMap(fields); err == nil {
			err = s.loadRetryCatch(r)
		}
	default:
		if usesToken {
			err = fail("Parameters", "$$.Task.Token is only available to %s tasks", ResourceLambdaCallback)
		}
	}
	return s, err
}

func loadTemplate(raw json.RawMessage, where string, usesToken *bool) (any, error) {
	v, err := decode(raw)
	if err != nil {
		return nil, err
	}
	return compileTemplate(v, where, usesToken)
}

func (s *state) loadTask(r rawState, usesToken bool) error {
	fail := func(field, format string, args ...any) error {
		return &LoadError{State: s.name, Field: field, Msg: fmt.Sprintf(format, args...)}
	}
	switch {
	case r.Resource == ResourceLambdaInvoke || r.Resource == ResourceLambdaCallback:
		p, _ := s.parameters.(map[string]any)
		if _, ok := p["FunctionName"]; !ok {
			return fail("Parameters", "%s needs Parameters with a FunctionName", r.Resource)
		}
		if r.Resource == ResourceLambdaCallback && !usesToken {
			return fail("Parameters", "a waitForTaskToken task must pass $$.Task.Token")
		}
	case strings.HasPrefix(r.Resource, "arn:aws:lambda:") && strings.Contains(r.Resource, ":function:"):
	default:
		return fail("Resource", "%q is not supported (use %s, %s or a Lambda function ARN)", r.Resource, ResourceLambdaInvoke, ResourceLambdaCallback)
	}
	if usesToken && r.Resource != ResourceLambdaCallback {
		return fail("Parameters", "$$.Task.Token is only available to %s tasks", ResourceLambdaCallback)
	}
	if r.TimeoutSeconds != nil {
		if *r.TimeoutSeconds <= 0 {
			return fail("TimeoutSeconds", "must be positive")
		}
		s.timeout = *r.TimeoutSeconds
	}
	return s.loadRetryCatch(r)
}

// loadRetryCatch loads the Retry and Catch of a Task or Map state.
func (s *state) loadRetryCatch(r rawState) error {
	fail := func(field, format string, args ...any) error {
		return &LoadError{State: s.name, Field: field, Msg: fmt.Sprintf(format, args...)}
	}
	for i, raw := range r.Retry {
		rt, field, err := loadRetrier(raw, i == len(r.Retry)-1)
		if err != nil {
			return fail(fmt.Sprintf("Retry[%d]%s", i, field), "%v", err)
		}
		s.retry = append(s.retry, rt)
	}
	for i, raw := range r.Catch {
		c, field, err := loadCatcher(raw, i == len(r.Catch)-1)
		if err != nil {
			return fail(fmt.Sprintf("Catch[%d]%s", i, field), "%v", err)
		}
		s.catch = append(s.catch, c)
	}
	return nil
}

func loadRetrier(raw json.RawMessage, last bool) (retrier, string, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return retrier{}, "", errors.New("must be an object")
	}
	if err := checkFields(fields, "", "ErrorEquals", "IntervalSeconds", "MaxAttempts", "BackoffRate", "MaxDelaySeconds", "JitterStrategy"); err != nil {
		return retrier{}, "." + err.(*LoadError).Field, errors.New("not supported")
	}
	r := struct {
		ErrorEquals     []string
		IntervalSeconds *int
		MaxAttempts     *int
		BackoffRate     *float64
		MaxDelaySeconds *int
		JitterStrategy  string
	}{}
	if err := json.Unmarshal(raw, &r); err != nil {
		return retrier{}, "", err
	}
	if err := checkErrorEquals(r.ErrorEquals, last); err != nil {
		return retrier{}, ".ErrorEquals", err
	}
	out := retrier{errorEquals: r.ErrorEquals, interval: 1, maxAttempts: 3, backoff: 2}
	if r.IntervalSeconds != nil {
		if *r.IntervalSeconds < 1 {
			return retrier{}, ".IntervalSeconds", errors.New("must be a positive integer")
		}
		out.interval = float64(*r.IntervalSeconds)
	}
	if r.MaxAttempts != nil {
		if *r.MaxAttempts < 0 {
			return retrier{}, ".MaxAttempts", errors.New("must not be negative")
		}
		out.maxAttempts = *r.MaxAttempts
	}
	if r.BackoffRate != nil {
		if *r.BackoffRate < 1 {
			return retrier{}, ".BackoffRate", errors.New("must be at least 1.0")
		}
		out.backoff = *r.BackoffRate
	}
	if r.MaxDelaySeconds != nil {
		if *r.MaxDelaySeconds < 1 {
			return retrier{}, ".MaxDelaySeconds", errors.New("must be a positive integer")
		}
		out.maxDelay = float64(*r.MaxDelaySeconds)
	}
	switch r.JitterStrategy {
	case "", "NONE":
	case "FULL":
		out.fullJitter = true
	default:
		return retrier{}, ".JitterStrategy", errors.New(`must be "FULL" or "NONE"`)
	}
	return out, "", nil
}

func loadCatcher(raw json.RawMessage, last bool) (catcher, string, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return catcher{}, "", errors.New("must be an object")
	}
	if err := checkFields(fields, "", "ErrorEquals", "Next", "ResultPath"); err != nil {
		return catcher{}, "." + err.(*LoadError).Field, errors.New("not supported")
	}
	var c struct {
		ErrorEquals []string
		Next        string
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return catcher{}, "", err
	}
	if err := checkErrorEquals(c.ErrorEquals, last); err != nil {
		return catcher{}, ".ErrorEquals", err
	}
	if c.Next == "" {
		return catcher{}, ".Next", errors.New("required")
	}
	rp, err := loadOptPath(fields["ResultPath"], true)
	if err != nil {
		return catcher{}, ".ResultPath", err
	}
	return catcher{errorEquals: c.ErrorEquals, next: c.Next, resultPath: rp}, "", nil
}

func checkErrorEquals(names []string, last bool) error {
	if len(names) == 0 {
		return errors.New("must be a non-empty array")
	}
	for _, n := range names {
		if n == errAll && (len(names) > 1 || !last) {
			return errors.New("States.ALL must be alone and in the last entry")
		}
	}
	return nil
}

func (s *state) loadWait(r rawState) error {
	fail := func(field, format string, args ...any) error {
		return &LoadError{State: s.name, Field: field, Msg: fmt.Sprintf(format, args...)}
	}
	set := 0
	for _, isSet := range []bool{r.Seconds != nil, r.SecondsPath != nil, r.Timestamp != nil, r.TimestampPath != nil} {
		if isSet {
			set++
		}
	}
	if set != 1 {
		return fail("Seconds", "exactly one of Seconds, SecondsPath, Timestamp and TimestampPath is required")
	}
	var err error
	switch {
	case r.Seconds != nil:
		if *r.Seconds < 0 {
			return fail("Seconds", "must not be negative")
		}
		s.seconds = *r.Seconds
	case r.SecondsPath != nil:
		if s.secondsPath, err = parseRefPath(*r.SecondsPath); err != nil {
			return fail("SecondsPath", "%v", err)
		}
	case r.Timestamp != nil:
		if s.timestamp, err = time.Parse(time.RFC3339Nano, *r.Timestamp); err != nil {
			return fail("Timestamp", "%v", err)
		}
	default:
		if s.timestampPath, err = parseRefPath(*r.TimestampPath); err != nil {
			return fail("TimestampPath", "%v", err)
		}
	}
	return nil
}

func (s *state) loadChoices(r rawState) error {
	if len(r.Choices) == 0 {
		return &LoadError{State: s.name, Field: "Choices", Msg: "must be a non-empty array"}
	}
	for i, raw := range r.Choices {
		c, field, err := loadChoice(raw, fmt.Sprintf("Choices[%d]", i), true)
		if err != nil {
			return &LoadError{State: s.name, Field: field, Msg: err.Error()}
		}
		s.choices = append(s.choices, c)
	}
	return nil
}

// checkGraph verifies every transition target exists, every state can be
// reached from StartAt, and some state ends the execution.
func (m *Machine) checkGraph() error {
	if _, ok := m.states[m.StartAt]; !ok {
		return &LoadError{Field: "StartAt", Msg: fmt.Sprintf("no state named %q", m.StartAt)}
	}
	names := make([]string, 0, len(m.states))
	for name := range m.states {
		names = append(names, name)
	}
	sort.Strings(names)
	terminal := false
	for _, name := range names {
		s := m.states[name]
		terminal = terminal || s.end || s.typ == "Succeed" || s.typ == "Fail"
		targets := s.targets()
		for _, field := range slices.Sorted(maps.Keys(targets)) {
			if target := targets[field]; m.states[target] == nil {
				return &LoadError{State: name, Field: field, Msg: fmt.Sprintf("no state named %q", target)}
			}
		}
	}
	if !terminal {
		return &LoadError{Field: "States", Msg: "no terminal state (End, Succeed or Fail)"}
	}
	seen := map[string]bool{m.StartAt: true}
	queue := []string{m.StartAt}
	for len(queue) > 0 {
		s := m.states[queue[0]]
		queue = queue[1:]
		for _, target := range s.targets() {
			if !seen[target] {
				seen[target] = true
				queue = append(queue, target)
			}
		}
	}
	for _, name := range names {
		if !seen[name] {
			return &LoadError{State: name, Msg: "not reachable from StartAt"}
		}
	}
	return nil
}

// targets lists the states a state can move to, keyed by the field naming each.
func (s *state) targets() map[string]string {
	t := map[string]string{}
	if s.next != "" {
		t["Next"] = s.next
	}
	if s.defaultNext != "" {
		t["Default"] = s.defaultNext
	}
	for i, c := range s.choices {
		t[fmt.Sprintf("Choices[%d].Next", i)] = c.next
	}
	for i, c := range s.catch {
		t[fmt.Sprintf("Catch[%d].Next", i)] = c.next
	}
	return t
}
