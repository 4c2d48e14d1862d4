package statemachines_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-inbox/parley/shared/dev/stepfunctions"
	"github.com/parley-inbox/parley/shared/inbox"
	"github.com/parley-inbox/parley/statemachines"
)

// The reference implementation lives in test/ (make deps installs it); the
// test runs in statemachines/.
const (
	referenceRunner  = "../test/aslref/run.mjs"
	referencePackage = "../test/node_modules/aws-local-stepfunctions"
	sequencesARN     = "arn:aws:lambda:us-east-1:123456789012:function:sequences"
)

// differentialScenario is one execution run on both engines.
type differentialScenario struct {
	name       string
	definition []byte
	input      any // an inbox.RunState for Parley's definitions
	// results are each Task state's scripted answers, in call order: a
	// value the function returns (or, for a waitForTaskToken task, the
	// output sent with SendTaskSuccess), or a taskFailure.
	results map[string][]any
}

// taskFailure is a scripted task error. It always carries a name: given a
// bare error, shared/dev/stepfunctions reports States.TaskFailed while the reference
// reports the JavaScript error's name ("Error"), and neither is what a
// real Lambda would report (its errorType).
type taskFailure struct {
	Error string `json:"error"`
	Cause string `json:"cause"`
}

// engineRun is what one engine did; its JSON form is what
// test/aslref/run.mjs prints.
type engineRun struct {
	Status string          `json:"status"`
	Output json.RawMessage `json:"output"`
	Error  string          `json:"error"`
	Cause  string          `json:"cause"`
	Calls  []taskCall      `json:"calls"`
	// States lists the states entered, in order; a retry enters none.
	States []string `json:"states"`
}

// taskCall is one function invocation: the Task state, the function and
// the Payload it received, and the task token of a waitForTaskToken task.
type taskCall struct {
	State    string          `json:"state"`
	Function string          `json:"function"`
	Payload  json.RawMessage `json:"payload"`
	Token    string          `json:"token,omitempty"`
}

// TestDifferentialAgainstAWSLocalStepFunctions runs Parley's definitions on
// shared/dev/stepfunctions and on aws-local-stepfunctions with the same input and the
// same scripted function results, and requires the same function calls,
// states entered, final status and output.
func TestDifferentialAgainstAWSLocalStepFunctions(t *testing.T) {
	if _, err := os.Stat(referencePackage); err != nil {
		t.Skip("aws-local-stepfunctions is not installed in test/node_modules: run make deps")
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed: run make deps on a machine with Node.js")
	}

	// Wait states end at once in both engines because every waitUntil is
	// in the past; the reference still evaluates the TimestampPath.
	day := func(n int) time.Time { return time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, n) }
	drip := inbox.RunState{WorkspaceID: "ws-1", Kind: inbox.SequenceDrip, ContactID: "contact-1", RunID: "run-1", WaitUntil: day(0), Next: inbox.NextWait}
	dripStep := func(step int, next string, waitUntil time.Time) inbox.RunState {
		r := drip
		r.Step, r.Next, r.WaitUntil = step, next, waitUntil
		return r
	}
	automation := inbox.RunState{WorkspaceID: "ws-1", Kind: inbox.SequenceAutomation, ContactID: "contact-1", RunID: "run-2", WaitUntil: day(0), Next: inbox.NextWait}
	automationStep := func(step int, next string, waitUntil time.Time) inbox.RunState {
		r := automation
		r.Step, r.Next, r.WaitUntil = step, next, waitUntil
		return r
	}
	repeat := func(n int, f taskFailure) []any {
		out := make([]any, n)
		for i := range out {
			out[i] = f
		}
		return out
	}
	notFound := taskFailure{Error: "Sequences.CampaignNotFound", Cause: "campaign c-1 was deleted"}
	serviceError := taskFailure{Error: "Lambda.ServiceException", Cause: "Lambda is unavailable"}

	scenarios := []differentialScenario{{
		name:       "drip-three-steps",
		definition: statemachines.Drip,
		input:      drip,
		results: map[string][]any{"RunStep": {
			dripStep(1, inbox.NextWait, day(2)),
			dripStep(2, inbox.NextWait, day(4)),
			dripStep(3, inbox.NextDone, time.Time{}),
		}},
	}, {
		// States.TaskFailed in a Retry matches every error but
		// States.Timeout, so a custom error is retried 5 times before the
		// Catch: six calls.
		name:       "drip-step-keeps-failing",
		definition: statemachines.Drip,
		input:      drip,
		results:    map[string][]any{"RunStep": repeat(6, notFound)},
	}, {
		name:       "drip-lambda-throttled-once",
		definition: statemachines.Drip,
		input:      drip,
		results: map[string][]any{"RunStep": {
			taskFailure{Error: "Lambda.TooManyRequestsException", Cause: "Rate exceeded"},
			dripStep(1, inbox.NextDone, time.Time{}),
		}},
	}, {
		// The first retrier that names the error is the only one consulted:
		// once its 3 retries are spent the error is caught, and the
		// States.TaskFailed retrier after it does not get a turn.
		name:       "drip-lambda-retries-exhausted",
		definition: statemachines.Drip,
		input:      drip,
		results:    map[string][]any{"RunStep": repeat(4, serviceError)},
	}, {
		name:       "automation-wait-then-done",
		definition: statemachines.Automation,
		input:      automation,
		results: map[string][]any{"RunStep": {
			automationStep(1, inbox.NextWait, day(1)),
			automationStep(2, inbox.NextDone, time.Time{}),
		}},
	}, {
		// aws-local-stepfunctions has no callback pattern (it only invokes
		// Lambda functions or local handlers). run.mjs emulates it: a
		// mocked Context Object supplies $$.Task.Token and the handler's
		// return value stands in for SendTaskSuccess's output. What is
		// compared is the Parameters rendering (token included), the
		// ResultPath merge and the routing; the token's lifecycle is
		// covered by shared/dev/stepfunctions's own tests.
		name:       "automation-manual-action-done",
		definition: statemachines.Automation,
		input:      automation,
		results: map[string][]any{
			"RunStep": {
				automationStep(1, inbox.NextManual, day(1)),
				automationStep(2, inbox.NextDone, time.Time{}),
			},
			"AwaitManualAction": {inbox.TaskOutcome{TaskID: "task-1", Status: inbox.TaskDone}},
		},
	}, {
		name:       "automation-manual-action-fails",
		definition: statemachines.Automation,
		input:      automation,
		results: map[string][]any{
			"RunStep":           {automationStep(1, inbox.NextManual, day(1))},
			"AwaitManualAction": {taskFailure{Error: "Sequences.TaskGone", Cause: "the task was deleted"}},
		},
	}}

	scenarios = append(scenarios, mapScenarios()...)

	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			var reference engineRun
			var referenceErr error
			done := make(chan struct{})
			go func() {
				defer close(done)
				reference, referenceErr = runOnReference(sc)
			}()
			local := runOnExecutor(t, sc)
			<-done
			if referenceErr != nil {
				t.Fatalf("aws-local-stepfunctions: %v", referenceErr)
			}
			compareRuns(t, local, reference)
		})
	}
}

// substituted replaces the definition's placeholder as CloudFormation's
// DefinitionSubstitutions (and stepfunctions.Load) do: verbatim, in the text.
func substituted(definition []byte) []byte {
	return bytes.ReplaceAll(definition, []byte("${"+statemachines.FunctionPlaceholder+"}"), []byte(sequencesARN))
}

// runOnReference runs the scenario with test/aslref/run.mjs.
func runOnReference(sc differentialScenario) (engineRun, error) {
	request, err := json.Marshal(map[string]any{
		"definition": json.RawMessage(substituted(sc.definition)),
		"input":      sc.input,
		"results":    sc.results,
	})
	if err != nil {
		return engineRun{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", referenceRunner)
	cmd.Stdin = bytes.NewReader(request)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return engineRun{}, fmt.Errorf("node %s: %v\n%s", referenceRunner, err, stderr.String())
	}
	var run engineRun
	if err := json.Unmarshal(stdout.Bytes(), &run); err != nil {
		return engineRun{}, fmt.Errorf("node %s printed %q: %v", referenceRunner, stdout.String(), err)
	}
	return run, nil
}

// runOnExecutor runs the scenario on shared/dev/stepfunctions, persisted in DynamoDB
// Local, with Wait and Retry delays scaled to almost nothing.
func runOnExecutor(t *testing.T, sc differentialScenario) engineRun {
	t.Helper()
	e, ctx := executor(t)
	machine, err := stepfunctions.Load(sc.definition, map[string]string{statemachines.FunctionPlaceholder: sequencesARN})
	if err != nil {
		t.Fatal(err)
	}
	name := "diff-" + sc.name

	var mu sync.Mutex
	var calls []taskCall
	script := map[string][]any{}
	for state, results := range sc.results {
		script[state] = append([]any(nil), results...)
	}
	invoker := stepfunctions.InvokerFunc(func(callCtx context.Context, function string, payload json.RawMessage, token string) (json.RawMessage, error) {
		// The Invoker is not told which state calls it; the execution's
		// current state is that Task state.
		ex, err := e.Describe(callCtx, name)
		if err != nil {
			return nil, err
		}
		mu.Lock()
		calls = append(calls, taskCall{State: ex.State, Function: function, Payload: payload, Token: token})
		var result any
		left := script[ex.State]
		if len(left) > 0 {
			result, script[ex.State] = left[0], left[1:]
		}
		mu.Unlock()
		if result == nil {
			return nil, &stepfunctions.TaskError{Name: "Test.Unscripted", Cause: "no scripted result left for " + ex.State}
		}
		if token != "" {
			// A waitForTaskToken function only parks the run; the result
			// comes back through the token, as an agent would send it.
			go answerTask(ctx, t, e, name, ex.State, token, result)
			return json.RawMessage(`{}`), nil
		}
		if f, ok := result.(taskFailure); ok {
			return nil, &stepfunctions.TaskError{Name: f.Error, Cause: f.Cause}
		}
		return json.Marshal(result)
	})
	e.Register(sc.name, machine, invoker)

	input, err := json.Marshal(sc.input)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.StartExecution(ctx, sc.name, name, input); err != nil {
		t.Fatal(err)
	}
	ex := waitForEnd(t, e, name)

	mu.Lock()
	defer mu.Unlock()
	for state, left := range script {
		if len(left) > 0 {
			t.Errorf("%d scripted results for %s were never used: the scenario does not test what it says", len(left), state)
		}
	}
	if len(ex.History) >= 100 {
		t.Fatalf("%s entered 100 states or more: Describe's History is cut short", name)
	}
	return engineRun{Status: string(ex.Status), Output: ex.Output, Error: ex.Error, Cause: ex.Cause, Calls: calls, States: ex.History}
}

// answerTask completes a waitForTaskToken task once the run is parked on
// it (no wake-up time), with the scripted output or failure.
func answerTask(ctx context.Context, t *testing.T, e *stepfunctions.Executor, name, state, token string, result any) {
	// Shorter than waitForEnd's limit, so this reports before the test ends.
	deadline := time.Now().Add(8 * time.Second)
	for {
		ex, err := e.Describe(ctx, name)
		if err == nil && ex.Status == stepfunctions.StatusRunning && ex.State == state && ex.WakeAt.IsZero() {
			break
		}
		if ctx.Err() != nil {
			return // the test is over
		}
		if time.Now().After(deadline) {
			t.Errorf("%s never parked in %s: %+v %v", name, state, ex, err)
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	if f, ok := result.(taskFailure); ok {
		err := e.SendTaskFailure(ctx, token, f.Error, f.Cause)
		if err != nil {
			t.Errorf("SendTaskFailure: %v", err)
		}
		return
	}
	output, err := json.Marshal(result)
	if err == nil {
		err = e.SendTaskSuccess(ctx, token, output)
	}
	if err != nil {
		t.Errorf("SendTaskSuccess: %v", err)
	}
}

// waitForEnd polls until the execution is no longer running.
func waitForEnd(t *testing.T, e *stepfunctions.Executor, name string) *stepfunctions.Execution {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ex, err := e.Describe(context.Background(), name)
		if err == nil && ex.Status != stepfunctions.StatusRunning {
			return ex
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still running after 10 s: %+v %v", name, ex, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// compareRuns reports every difference between the two engines' runs.
func compareRuns(t *testing.T, local, reference engineRun) {
	t.Helper()
	if local.Status != reference.Status {
		t.Errorf("status: shared/dev/stepfunctions %s, aws-local-stepfunctions %s", local.Status, reference.Status)
	}
	if a, b := canonicalJSON(t, local.Output, ""), canonicalJSON(t, reference.Output, ""); a != b {
		t.Errorf("output differs:\n  shared/dev/stepfunctions:           %s\n  aws-local-stepfunctions: %s", a, b)
	}
	if local.Error != reference.Error || local.Cause != reference.Cause {
		t.Errorf("error differs:\n  shared/dev/stepfunctions:           %s: %s\n  aws-local-stepfunctions: %s: %s", local.Error, local.Cause, reference.Error, reference.Cause)
	}
	if a, b := strings.Join(local.States, " > "), strings.Join(reference.States, " > "); a != b {
		t.Errorf("states entered differ:\n  shared/dev/stepfunctions:           %s\n  aws-local-stepfunctions: %s", a, b)
	}
	localCalls, referenceCalls := comparableCalls(t, local.Calls), comparableCalls(t, reference.Calls)
	for i := range max(len(localCalls), len(referenceCalls)) {
		a, b := "(none)", "(none)"
		if i < len(localCalls) {
			a = localCalls[i]
		}
		if i < len(referenceCalls) {
			b = referenceCalls[i]
		}
		if a != b {
			t.Errorf("call %d of %d/%d differs:\n  shared/dev/stepfunctions:           %s\n  aws-local-stepfunctions: %s", i+1, len(localCalls), len(referenceCalls), a, b)
		}
	}
	if !t.Failed() {
		t.Logf("agree: %s after %d calls", local.Status, len(localCalls))
	}
}

// comparableCalls renders calls as one line each. Task tokens differ by
// design (random here, mocked in the reference), so the token a call was
// given is replaced by a marker wherever its payload carries it.
func comparableCalls(t *testing.T, calls []taskCall) []string {
	out := make([]string, len(calls))
	for i, c := range calls {
		callback := ""
		if c.Token != "" {
			callback = " (waitForTaskToken)"
		}
		out[i] = fmt.Sprintf("%s -> %s%s %s", c.State, c.Function, callback, canonicalJSON(t, c.Payload, c.Token))
	}
	return out
}

// canonicalJSON re-encodes raw with sorted keys, so that key order and
// number spelling do not count as differences. A non-empty token is
// replaced by "(task token)".
func canonicalJSON(t *testing.T, raw json.RawMessage, token string) string {
	if len(raw) == 0 {
		raw = json.RawMessage("null")
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Errorf("not JSON: %s: %v", raw, err)
		return string(raw)
	}
	if token != "" {
		v = maskToken(v, token)
	}
	out, err := json.Marshal(v)
	if err != nil {
		t.Errorf("re-encode %s: %v", raw, err)
		return string(raw)
	}
	return string(out)
}

func maskToken(v any, token string) any {
	switch x := v.(type) {
	case string:
		if x == token {
			return "(task token)"
		}
	case map[string]any:
		for k, item := range x {
			x[k] = maskToken(item, token)
		}
	case []any:
		for i, item := range x {
			x[i] = maskToken(item, token)
		}
	}
	return v
}

// mapScenarios cover the Map state. No definition in statemachines/ has one
// yet, so they bring their own.
//
// What aws-local-stepfunctions 3.0.0 can be compared on: INLINE Maps with
// ItemsPath, ItemSelector ($$.Map.Item.Index and .Value), MaxConcurrency,
// Pass, Choice, Succeed and Fail inside, and Catch and ResultPath on the Map.
// Left out:
//   - Task states inside a Map: run.mjs scripts only top-level Task states,
//     and this test's Invoker tells the calling state from Describe, which
//     names the Map state during its iterations.
//   - ItemReader, ItemBatcher, ToleratedFailurePercentage/Count and
//     DISTRIBUTED mode: the reference does not implement them (its
//     Map runs every item inline and ignores those fields), so they are
//     covered by shared/dev/stepfunctions's own tests only.
//   - The states entered when iterations run concurrently: the reference
//     interleaves them as they happen, the executor lists them iteration
//     by iteration; the scenarios below run one iteration at a time, or
//     iterations of a single state.
//   - An iteration failing before the last one: the reference still
//     starts the next iteration (one more state entered) after an
//     iteration fails; the executor starts none.
func mapScenarios() []differentialScenario {
	selectAndRoute := []byte(`{"StartAt": "Each", "States": {
	  "Each": {"Type": "Map", "ItemsPath": "$.ids", "MaxConcurrency": 1, "ResultPath": "$.out",
	    "ItemSelector": {"index.$": "$$.Map.Item.Index", "v.$": "$$.Map.Item.Value", "list.$": "$.list"},
	    "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "Big?", "States": {
	      "Big?": {"Type": "Choice", "Choices": [{"Variable": "$.v.n", "NumericGreaterThan": 1, "Next": "Big"}], "Default": "Small"},
	      "Big": {"Type": "Pass", "Parameters": {"big.$": "$.v.n", "at.$": "$.index"}, "End": true},
	      "Small": {"Type": "Pass", "Result": "small", "End": true}}},
	    "Next": "Report"},
	  "Report": {"Type": "Task", "Resource": "` + sequencesARN + `", "Parameters": {"out.$": "$.out"}, "End": true}}}`)
	unbounded := []byte(`{"StartAt": "Each", "States": {
	  "Each": {"Type": "Map", "ItemsPath": "$.batch.ids", "MaxConcurrency": 0,
	    "ItemSelector": {"id.$": "$$.Map.Item.Value", "i.$": "$$.Map.Item.Index"},
	    "ItemProcessor": {"StartAt": "Shape", "States": {
	      "Shape": {"Type": "Pass", "Parameters": {"contact.$": "$.id", "position.$": "$.i"}, "End": true}}},
	    "OutputPath": "$", "End": true}}}`)
	failing := []byte(`{"StartAt": "Each", "States": {
	  "Each": {"Type": "Map", "ItemsPath": "$.ids", "MaxConcurrency": 1,
	    "ItemProcessor": {"StartAt": "Check", "States": {
	      "Check": {"Type": "Choice", "Choices": [{"Variable": "$", "NumericEquals": 2, "Next": "Boom"}], "Default": "Ok"},
	      "Boom": {"Type": "Fail", "Error": "Item.Bad", "Cause": "two"},
	      "Ok": {"Type": "Succeed"}}},
	    "Catch": [{"ErrorEquals": ["Item.Bad"], "ResultPath": "$.error", "Next": "Caught"}],
	    "End": true},
	  "Caught": {"Type": "Pass", "End": true}}}`)
	uncaught := bytes.Replace(failing, []byte(`"Item.Bad"]`), []byte(`"Other"]`), 1)
	ids := make([]string, 25)
	for i := range ids {
		ids[i] = fmt.Sprintf("contact-%d", i)
	}
	return []differentialScenario{{
		name:       "map-inline-select-and-route",
		definition: selectAndRoute,
		input:      map[string]any{"ids": []any{map[string]any{"n": 1}, map[string]any{"n": 2}, map[string]any{"n": 3}}, "list": "l-1"},
		results:    map[string][]any{"Report": {"reported"}},
	}, {
		name:       "map-inline-unbounded",
		definition: unbounded,
		input:      map[string]any{"batch": map[string]any{"ids": ids}},
	}, {
		name:       "map-inline-empty",
		definition: unbounded,
		input:      map[string]any{"batch": map[string]any{"ids": []string{}}},
	}, {
		name:       "map-inline-iteration-fails-caught",
		definition: failing,
		input:      map[string]any{"ids": []int{1, 3, 2}},
	}, {
		name:       "map-inline-iteration-fails-uncaught",
		definition: uncaught,
		input:      map[string]any{"ids": []int{1, 3, 2}},
	}}
}
