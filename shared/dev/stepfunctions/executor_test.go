package stepfunctions_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-inbox/parley/shared/dev/background"
	"github.com/parley-inbox/parley/shared/dev/dynamotest"
	"github.com/parley-inbox/parley/shared/dev/stepfunctions"
)

const linearDef = `{
  "Comment": "InputPath, Parameters, ResultSelector, ResultPath and OutputPath in a row",
  "StartAt": "Prepare",
  "States": {
    "Prepare": {
      "Type": "Pass",
      "InputPath": "$.order",
      "Parameters": {"id.$": "$.id", "qty.$": "$.qty", "source": "web"},
      "ResultPath": "$.prepared",
      "Next": "Price"
    },
    "Price": {
      "Type": "Task",
      "Resource": "arn:aws:states:::lambda:invoke",
      "Parameters": {
        "FunctionName": "${PriceFunction}",
        "Payload": {"item.$": "$.prepared", "execution.$": "$$.Execution.Name", "tags": ["a", {"customer.$": "$.customer"}]}
      },
      "ResultSelector": {"total.$": "$.Payload.total", "status.$": "$.StatusCode"},
      "ResultPath": "$.price",
      "OutputPath": "$.price",
      "Next": "Audit"
    },
    "Audit": {
      "Type": "Task",
      "Resource": "arn:aws:lambda:us-east-1:123456789012:function:audit",
      "ResultPath": "$.audit-result",
      "End": true
    }
  }
}`

func TestLinearMachineShapesData(t *testing.T) {
	db, table := dynamotest.Table(t)
	e := newExecutor(db, table, nil)
	fns := newLambdas()
	fns.on("price-fn", func(json.RawMessage, string) (json.RawMessage, error) {
		return json.RawMessage(`{"total": 30, "currency": "USD"}`), nil
	})
	fns.on("arn:aws:lambda:us-east-1:123456789012:function:audit", func(json.RawMessage, string) (json.RawMessage, error) {
		return json.RawMessage(`"ok"`), nil
	})
	e.Register("orders", mustLoad(t, linearDef, map[string]string{"PriceFunction": "price-fn"}), fns)
	background.RunT(t, e.Run)

	startExecution(t, e, "orders", "linear-1", `{"order": {"id": "o-1", "qty": 3, "note": "x"}, "customer": "c-9"}`)
	x := waitDone(t, e, "linear-1")
	succeeded(t, x)
	sameJSON(t, "output", x.Output, `{"total": 30, "status": 200, "audit-result": "ok"}`)

	calls := fns.snapshot()
	if len(calls) != 2 || calls[0].Resource != "price-fn" || calls[0].Token != "" {
		t.Fatalf("calls = %+v", calls)
	}
	sameJSON(t, "price payload", []byte(calls[0].Input),
		`{"item": {"id": "o-1", "qty": 3, "source": "web"}, "execution": "linear-1", "tags": ["a", {"customer": "c-9"}]}`)
	sameJSON(t, "audit input", []byte(calls[1].Input), `{"total": 30, "status": 200}`)

	if want := []string{"Prepare", "Price", "Audit"}; x.Transitions != 3 || !slices.Equal(x.History, want) {
		t.Errorf("transitions %d history %v, want 3 %v", x.Transitions, x.History, want)
	}
	if !strings.HasSuffix(x.ARN, ":execution:orders:linear-1") || x.StopTime.Before(x.StartTime) {
		t.Errorf("ARN %s, start %v, stop %v", x.ARN, x.StartTime, x.StopTime)
	}
}

func TestChoiceOperators(t *testing.T) {
	rules := `[
	  {"Variable": "$.kind", "StringEquals": "email", "Next": "Email"},
	  {"Variable": "$.kind", "StringEqualsPath": "$.expected", "Next": "Matched"},
	  {"And": [{"Variable": "$.n", "NumericGreaterThanEquals": 10}, {"Variable": "$.n", "NumericLessThan": 20}], "Next": "Teens"},
	  {"Or": [{"Variable": "$.n", "NumericEquals": 0}, {"Variable": "$.n", "NumericLessThanEquals": -1}], "Next": "NonPositive"},
	  {"Variable": "$.n", "NumericGreaterThan": 100, "Next": "Big"},
	  {"Variable": "$.vip", "BooleanEquals": true, "Next": "Vip"},
	  {"Variable": "$.at", "TimestampLessThan": "2020-01-01T00:00:00Z", "Next": "Old"},
	  {"Variable": "$.at", "TimestampGreaterThanEquals": "2030-01-01T00:00:00Z", "Next": "Future"},
	  {"And": [{"Variable": "$.at", "TimestampGreaterThan": "2024-01-01T00:00:00Z"}, {"Variable": "$.at", "TimestampLessThanEquals": "2024-12-31T00:00:00Z"}], "Next": "In2024"},
	  {"Not": {"Variable": "$.optional", "IsPresent": true}, "Next": "NoOptional"},
	  {"Variable": "$.optional", "IsNull": true, "Next": "NullOptional"}
	]`
	branches := []string{"Email", "Matched", "Teens", "NonPositive", "Big", "Vip", "Old", "Future", "In2024", "NoOptional", "NullOptional", "Other"}
	states := []string{fmt.Sprintf(`"Route": {"Type": "Choice", "Choices": %s, "Default": "Other"}`, rules)}
	for _, b := range branches {
		states = append(states, fmt.Sprintf(`%q: {"Type": "Pass", "Result": %q, "End": true}`, b, b))
	}
	def := fmt.Sprintf(`{"StartAt": "Route", "States": {%s}}`, strings.Join(states, ","))

	db, table := dynamotest.Table(t)
	e := newExecutor(db, table, nil)
	e.Register("route", mustLoad(t, def, nil), newLambdas())
	e.Register("strict", mustLoad(t, `{"StartAt": "C", "States": {
	  "C": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericEquals": 1, "Next": "D"}]},
	  "D": {"Type": "Succeed"}}}`, nil), newLambdas())
	background.RunT(t, e.Run)

	base := map[string]any{"kind": "sms", "expected": "none", "n": 5, "vip": false, "at": "2025-06-01T00:00:00Z", "optional": "x"}
	cases := []struct {
		name   string
		change func(map[string]any)
		want   string
	}{
		{"string", func(m map[string]any) { m["kind"] = "email" }, "Email"},
		{"string-path", func(m map[string]any) { m["expected"] = "sms" }, "Matched"},
		{"and", func(m map[string]any) { m["n"] = 15 }, "Teens"},
		{"or-equals", func(m map[string]any) { m["n"] = 0 }, "NonPositive"},
		{"or-less", func(m map[string]any) { m["n"] = -3.5 }, "NonPositive"},
		{"greater", func(m map[string]any) { m["n"] = 101 }, "Big"},
		{"boolean", func(m map[string]any) { m["vip"] = true }, "Vip"},
		{"ts-less", func(m map[string]any) { m["at"] = "2019-05-01T10:00:00+02:00" }, "Old"},
		{"ts-greater-equals", func(m map[string]any) { m["at"] = "2030-01-01T00:00:00Z" }, "Future"},
		{"ts-between", func(m map[string]any) { m["at"] = "2024-06-01T00:00:00Z" }, "In2024"},
		{"not-present", func(m map[string]any) { delete(m, "optional") }, "NoOptional"},
		{"null", func(m map[string]any) { m["optional"] = nil }, "NullOptional"},
		{"wrong-type-fails-to-match", func(m map[string]any) { m["n"] = "15" }, "Other"},
		{"default", func(map[string]any) {}, "Other"},
	}
	for _, c := range cases {
		in := map[string]any{}
		for k, v := range base {
			in[k] = v
		}
		c.change(in)
		b, _ := json.Marshal(in)
		startExecution(t, e, "route", c.name, string(b))
	}
	for _, c := range cases {
		x := waitDone(t, e, c.name)
		succeeded(t, x)
		sameJSON(t, c.name, x.Output, fmt.Sprintf("%q", c.want))
	}

	// A Variable missing from the input fails the execution, as in AWS.
	startExecution(t, e, "route", "missing-variable", `{"kind": "sms", "expected": "none"}`)
	if x := waitDone(t, e, "missing-variable"); x.Status != stepfunctions.StatusFailed || x.Error != "States.Runtime" {
		t.Errorf("missing variable: %s %s %s", x.Status, x.Error, x.Cause)
	}
	startExecution(t, e, "strict", "no-match", `{"n": 2}`)
	if x := waitDone(t, e, "no-match"); x.Status != stepfunctions.StatusFailed || x.Error != "States.NoChoiceMatched" {
		t.Errorf("no match: %s %s %s", x.Status, x.Error, x.Cause)
	}
}

func TestWaitTimestampPathIsScaled(t *testing.T) {
	db, table := dynamotest.Table(t)
	e := newExecutor(db, table, nil)
	e.Scale = 72000 // an hour lasts 50 ms
	e.Register("wait", mustLoad(t, `{"StartAt": "Sleep", "States": {
	  "Sleep": {"Type": "Wait", "TimestampPath": "$.until", "Next": "Done"},
	  "Done": {"Type": "Succeed"}}}`, nil), newLambdas())
	background.RunT(t, e.Run)

	began := time.Now()
	until := began.Add(time.Hour).UTC().Format(time.RFC3339Nano)
	startExecution(t, e, "wait", "hour", fmt.Sprintf(`{"until": %q}`, until))
	x := waitDone(t, e, "hour")
	took := time.Since(began)
	succeeded(t, x)
	if took < 45*time.Millisecond || took > 2*time.Second {
		t.Errorf("a scaled hour took %v, want about 50ms", took)
	}
	if x.Transitions != 2 {
		t.Errorf("transitions = %d, want 2", x.Transitions)
	}
}

const retryDef = `{"StartAt": "Call", "States": {
  "Call": {
    "Type": "Task",
    "Resource": "arn:aws:lambda:us-east-1:123456789012:function:flaky",
    "Retry": [
      {"ErrorEquals": ["States.Timeout"], "MaxAttempts": 0},
      {"ErrorEquals": ["Lambda.ServiceException"], "IntervalSeconds": 2, "BackoffRate": 3, "MaxDelaySeconds": 3, "MaxAttempts": 3}
    ],
    "Next": "Done"
  },
  "Done": {"Type": "Succeed"}}}`

func TestRetryBacksOffThenSucceeds(t *testing.T) {
	db, table := dynamotest.Table(t)
	clk := newClock()
	t0 := clk.Now()
	e := newExecutor(db, table, clk.Now)
	fns := newLambdas()
	var failures atomic.Int32
	failures.Store(2)
	fns.on("arn:aws:lambda:us-east-1:123456789012:function:flaky", func(json.RawMessage, string) (json.RawMessage, error) {
		if failures.Add(-1) >= 0 {
			return nil, &stepfunctions.TaskError{Name: "Lambda.ServiceException", Cause: "rate exceeded"}
		}
		return json.RawMessage(`{"ok": true}`), nil
	})
	e.Register("retry", mustLoad(t, retryDef, nil), fns)
	background.RunT(t, e.Run)

	startExecution(t, e, "retry", "flaky", `{}`)
	fns.waitCalls(t, 1)
	// First retry after IntervalSeconds.
	waitUntil(t, e, "flaky", func(x *stepfunctions.Execution) bool { return x.WakeAt.Equal(t0.Add(2 * time.Second)) })
	time.Sleep(30 * time.Millisecond)
	if n := len(fns.snapshot()); n != 1 {
		t.Fatalf("%d calls before the backoff elapsed, want 1", n)
	}
	clk.Add(2 * time.Second)
	fns.waitCalls(t, 2)
	// 2 s × 3 = 6 s, capped by MaxDelaySeconds.
	waitUntil(t, e, "flaky", func(x *stepfunctions.Execution) bool { return x.WakeAt.Equal(t0.Add(5 * time.Second)) })
	clk.Add(3 * time.Second)
	x := waitDone(t, e, "flaky")
	succeeded(t, x)
	sameJSON(t, "output", x.Output, `{"ok": true}`)
	// Two states entered plus two retries, which Step Functions bills too.
	if x.Transitions != 4 || !slices.Equal(x.History, []string{"Call", "Done"}) {
		t.Errorf("transitions %d history %v, want 4 [Call Done]", x.Transitions, x.History)
	}
}

func TestCatchRoutesErrors(t *testing.T) {
	db, table := dynamotest.Table(t)
	e := newExecutor(db, table, nil)
	fns := newLambdas()
	fns.on("check", func(in json.RawMessage, _ string) (json.RawMessage, error) {
		if strings.Contains(string(in), "crash") {
			return nil, errors.New("boom")
		}
		return nil, &stepfunctions.TaskError{Name: "Order.Invalid", Cause: "qty must be positive"}
	})
	e.Register("catch", mustLoad(t, `{"StartAt": "Check", "States": {
	  "Check": {
	    "Type": "Task",
	    "Resource": "arn:aws:states:::lambda:invoke",
	    "Parameters": {"FunctionName": "check", "Payload.$": "$"},
	    "Retry": [{"ErrorEquals": ["Lambda.ServiceException"]}],
	    "Catch": [
	      {"ErrorEquals": ["Order.Invalid"], "ResultPath": "$.error", "Next": "Rejected"},
	      {"ErrorEquals": ["States.TaskFailed"], "Next": "Crashed"}
	    ],
	    "Next": "Accepted"
	  },
	  "Accepted": {"Type": "Succeed"},
	  "Rejected": {"Type": "Pass", "End": true},
	  "Crashed": {"Type": "Pass", "End": true}}}`, nil), fns)
	e.Register("uncaught", mustLoad(t, `{"StartAt": "Check", "States": {
	  "Check": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "check"}, "End": true}}}`, nil), fns)
	background.RunT(t, e.Run)

	startExecution(t, e, "catch", "invalid", `{"qty": 0}`)
	startExecution(t, e, "catch", "crash", `{"qty": "crash"}`)
	startExecution(t, e, "uncaught", "uncaught", `{}`)

	x := waitDone(t, e, "invalid")
	succeeded(t, x)
	sameJSON(t, "caught output", x.Output, `{"qty": 0, "error": {"Error": "Order.Invalid", "Cause": "qty must be positive"}}`)
	if x.Transitions != 2 || !slices.Equal(x.History, []string{"Check", "Rejected"}) {
		t.Errorf("transitions %d history %v", x.Transitions, x.History)
	}

	x = waitDone(t, e, "crash")
	succeeded(t, x)
	sameJSON(t, "generic error", x.Output, `{"Error": "States.TaskFailed", "Cause": "boom"}`)

	x = waitDone(t, e, "uncaught")
	if x.Status != stepfunctions.StatusFailed || x.Error != "Order.Invalid" || x.Cause != "qty must be positive" {
		t.Errorf("uncaught: %s %s %s", x.Status, x.Error, x.Cause)
	}
}

const approvalDef = `{"StartAt": "Approve", "States": {
  "Approve": {
    "Type": "Task",
    "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
    "Parameters": {"FunctionName": "ask", "Payload": {"token.$": "$$.Task.Token", "id.$": "$.id", "auto.$": "$.auto"}},
    "ResultPath": "$.approval",
    "Catch": [{"ErrorEquals": ["Rejected"], "ResultPath": "$.error", "Next": "Declined"}],
    "Next": "Approved"
  },
  "Approved": {"Type": "Pass", "End": true},
  "Declined": {"Type": "Pass", "End": true}}}`

func TestWaitForTaskToken(t *testing.T) {
	db, table := dynamotest.Table(t)
	e := newExecutor(db, table, nil)
	ctx := context.Background()
	fns := newLambdas()
	// An "auto" request replies from inside the invocation, before the
	// executor has recorded that it invoked the function.
	fns.on("ask", func(in json.RawMessage, token string) (json.RawMessage, error) {
		if strings.Contains(string(in), `"auto":true`) {
			if err := e.SendTaskSuccess(ctx, token, json.RawMessage(`{"ok": "auto"}`)); err != nil {
				return nil, err
			}
		}
		return json.RawMessage(`{"ignored": true}`), nil
	})
	e.Register("approval", mustLoad(t, approvalDef, nil), fns)
	background.RunT(t, e.Run)

	startExecution(t, e, "approval", "yes", `{"id": "c-1", "auto": false}`)
	calls := fns.waitCalls(t, 1)
	token := calls[0].Token
	if token == "" {
		t.Fatal("the callback task got no token")
	}
	sameJSON(t, "payload", []byte(calls[0].Input), fmt.Sprintf(`{"token": %q, "id": "c-1", "auto": false}`, token))
	time.Sleep(30 * time.Millisecond)
	x := waitUntil(t, e, "yes", func(x *stepfunctions.Execution) bool { return x.WakeAt.IsZero() })
	if x.Status != stepfunctions.StatusRunning || x.State != "Approve" {
		t.Fatalf("while waiting for the token: %s in %s", x.Status, x.State)
	}
	if err := e.SendTaskSuccess(ctx, token, json.RawMessage(`{"ok": true}`)); err != nil {
		t.Fatalf("SendTaskSuccess: %v", err)
	}
	x = waitDone(t, e, "yes")
	succeeded(t, x)
	sameJSON(t, "output", x.Output, `{"id": "c-1", "auto": false, "approval": {"ok": true}}`)
	if x.Transitions != 2 {
		t.Errorf("transitions = %d, want 2", x.Transitions)
	}
	if err := e.SendTaskSuccess(ctx, token, json.RawMessage(`{}`)); !errors.Is(err, stepfunctions.ErrTaskDoesNotExist) {
		t.Errorf("reusing a token: %v, want ErrTaskDoesNotExist", err)
	}
	if err := e.SendTaskFailure(ctx, "no-such-token", "X", ""); !errors.Is(err, stepfunctions.ErrTaskDoesNotExist) {
		t.Errorf("unknown token: %v, want ErrTaskDoesNotExist", err)
	}

	startExecution(t, e, "approval", "no", `{"id": "c-2", "auto": false}`)
	calls = fns.waitCalls(t, 2)
	if err := e.SendTaskFailure(ctx, calls[1].Token, "Rejected", "nope"); err != nil {
		t.Fatalf("SendTaskFailure: %v", err)
	}
	x = waitDone(t, e, "no")
	succeeded(t, x)
	sameJSON(t, "declined output", x.Output, `{"id": "c-2", "auto": false, "error": {"Error": "Rejected", "Cause": "nope"}}`)
	if !slices.Equal(x.History, []string{"Approve", "Declined"}) {
		t.Errorf("history %v", x.History)
	}

	startExecution(t, e, "approval", "auto", `{"id": "c-3", "auto": true}`)
	x = waitDone(t, e, "auto")
	succeeded(t, x)
	sameJSON(t, "auto output", x.Output, `{"id": "c-3", "auto": true, "approval": {"ok": "auto"}}`)

	// A stopped execution's token is dead.
	startExecution(t, e, "approval", "stopped", `{"id": "c-4", "auto": false}`)
	calls = fns.waitCalls(t, 4)
	waitUntil(t, e, "stopped", func(x *stepfunctions.Execution) bool { return x.WakeAt.IsZero() })
	if err := e.StopExecution(ctx, "stopped", "Cancelled", "customer left"); err != nil {
		t.Fatal(err)
	}
	if err := e.SendTaskSuccess(ctx, calls[3].Token, json.RawMessage(`{}`)); !errors.Is(err, stepfunctions.ErrTaskDoesNotExist) {
		t.Errorf("token of a stopped execution: %v, want ErrTaskDoesNotExist", err)
	}
}

const sleepThenSendDef = `{"StartAt": "Sleep", "TimeoutSeconds": 864000, "States": {
  "Sleep": {"Type": "Wait", "SecondsPath": "$.delay", "Next": "Send"},
  "Send": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:send", "End": true}}}`

func TestStopExecutionAbortsAWait(t *testing.T) {
	db, table := dynamotest.Table(t)
	clk := newClock()
	e := newExecutor(db, table, clk.Now)
	fns := newLambdas()
	e.Register("drip", mustLoad(t, sleepThenSendDef, nil), fns)
	background.RunT(t, e.Run)
	ctx := context.Background()

	startExecution(t, e, "drip", "d-1", `{"delay": 86400}`)
	waitUntil(t, e, "d-1", func(x *stepfunctions.Execution) bool { return x.WakeAt.Equal(clk.Now().Add(24 * time.Hour)) })
	if err := e.StopExecution(ctx, "d-1", "Unsubscribed", "the contact opted out"); err != nil {
		t.Fatalf("StopExecution: %v", err)
	}
	clk.Add(48 * time.Hour)
	time.Sleep(50 * time.Millisecond) // many polls
	x, err := e.Describe(ctx, "d-1")
	if err != nil {
		t.Fatal(err)
	}
	if x.Status != stepfunctions.StatusAborted || x.Error != "Unsubscribed" || x.Cause != "the contact opted out" || x.Transitions != 1 {
		t.Errorf("after stop: %+v", x)
	}
	if calls := fns.snapshot(); len(calls) != 0 {
		t.Errorf("a stopped execution invoked %+v", calls)
	}
	if err := e.StopExecution(ctx, "nope", "", ""); !errors.Is(err, stepfunctions.ErrExecutionDoesNotExist) {
		t.Errorf("stopping an unknown execution: %v", err)
	}
}

func TestExecutionTimeout(t *testing.T) {
	db, table := dynamotest.Table(t)
	clk := newClock()
	e := newExecutor(db, table, clk.Now)
	e.Register("drip", mustLoad(t, sleepThenSendDef, nil), newLambdas())
	background.RunT(t, e.Run)

	startExecution(t, e, "drip", "long", `{"delay": 8640000}`) // 100 days > TimeoutSeconds
	waitUntil(t, e, "long", func(x *stepfunctions.Execution) bool { return x.State == "Sleep" && !x.WakeAt.IsZero() })
	clk.Add(10 * 24 * time.Hour)
	x := waitDone(t, e, "long")
	if x.Status != stepfunctions.StatusTimedOut || x.Error != "States.Timeout" {
		t.Errorf("%s %s %s, want TIMED_OUT", x.Status, x.Error, x.Cause)
	}
}

func TestStartExecutionIsIdempotent(t *testing.T) {
	db, table := dynamotest.Table(t)
	clk := newClock()
	e := newExecutor(db, table, clk.Now)
	e.Register("drip", mustLoad(t, sleepThenSendDef, nil), newLambdas())
	ctx := context.Background()

	arn, err := e.StartExecution(ctx, "drip", "once", json.RawMessage(`{"delay": 60, "who": "c-1"}`))
	if err != nil {
		t.Fatal(err)
	}
	again, err := e.StartExecution(ctx, "drip", "once", json.RawMessage(`{ "who": "c-1", "delay": 60 }`))
	if err != nil || again != arn {
		t.Errorf("same name and input: %q, %v; want %q", again, err, arn)
	}
	if _, err := e.StartExecution(ctx, "drip", "once", json.RawMessage(`{"delay": 60, "who": "c-2"}`)); !errors.Is(err, stepfunctions.ErrExecutionAlreadyExists) {
		t.Errorf("same name, other input: %v, want ErrExecutionAlreadyExists", err)
	}
	x, err := e.Describe(ctx, "once")
	if err != nil || x.Transitions != 1 {
		t.Fatalf("Describe: %+v, %v", x, err)
	}
	// Like AWS, a closed execution's name cannot be reused, whatever the input.
	if err := e.StopExecution(ctx, "once", "", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.StartExecution(ctx, "drip", "once", json.RawMessage(`{"delay": 60, "who": "c-1"}`)); !errors.Is(err, stepfunctions.ErrExecutionAlreadyExists) {
		t.Errorf("restarting a closed execution: %v, want ErrExecutionAlreadyExists", err)
	}
	if _, err := e.StartExecution(ctx, "drip", "bad#name", nil); !errors.Is(err, stepfunctions.ErrInvalidName) {
		t.Errorf("bad name: %v", err)
	}
	if _, err := e.StartExecution(ctx, "nope", "x", nil); !errors.Is(err, stepfunctions.ErrStateMachineDoesNotExist) {
		t.Errorf("unknown machine: %v", err)
	}
	if _, err := e.StartExecution(ctx, "drip", "x", json.RawMessage(`{`)); !errors.Is(err, stepfunctions.ErrInvalidInput) {
		t.Errorf("bad input: %v", err)
	}
}

func TestRestartResumesAWaitingExecution(t *testing.T) {
	db, table := dynamotest.Table(t)
	clk := newClock()
	first := newExecutor(db, table, clk.Now)
	before := newLambdas()
	first.Register("drip", mustLoad(t, sleepThenSendDef, nil), before)
	stop := background.RunT(t, first.Run)
	startExecution(t, first, "drip", "resume", `{"delay": 3600}`)
	waitUntil(t, first, "resume", func(x *stepfunctions.Execution) bool { return x.WakeAt.Equal(clk.Now().Add(time.Hour)) })
	stop()

	clk.Add(time.Hour)
	second := newExecutor(db, table, clk.Now)
	after := newLambdas()
	after.on("arn:aws:lambda:us-east-1:123456789012:function:send", func(in json.RawMessage, _ string) (json.RawMessage, error) {
		return json.RawMessage(`{"sent": true}`), nil
	})
	second.Register("drip", mustLoad(t, sleepThenSendDef, nil), after)
	background.RunT(t, second.Run)
	x := waitDone(t, second, "resume")
	succeeded(t, x)
	sameJSON(t, "output", x.Output, `{"sent": true}`)
	if len(before.snapshot()) != 0 || len(after.snapshot()) != 1 {
		t.Errorf("calls before restart %v, after %v", before.snapshot(), after.snapshot())
	}
	if x.Transitions != 2 {
		t.Errorf("transitions = %d, want 2", x.Transitions)
	}
}

func TestLoopCountsThreeTransitionsPerIteration(t *testing.T) {
	db, table := dynamotest.Table(t)
	e := newExecutor(db, table, nil)
	e.Scale = 1000
	fns := newLambdas()
	fns.on("arn:aws:lambda:us-east-1:123456789012:function:tick", func(in json.RawMessage, _ string) (json.RawMessage, error) {
		var v struct{ I int }
		if err := json.Unmarshal(in, &v); err != nil {
			return nil, err
		}
		return json.Marshal(map[string]int{"i": v.I + 1})
	})
	e.Register("loop", mustLoad(t, `{"StartAt": "Wait", "States": {
	  "Wait": {"Type": "Wait", "Seconds": 1, "Next": "Tick"},
	  "Tick": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:tick", "Next": "More?"},
	  "More?": {"Type": "Choice", "Choices": [{"Variable": "$.i", "NumericLessThan": 3, "Next": "Wait"}], "Default": "Done"},
	  "Done": {"Type": "Succeed"}}}`, nil), fns)
	background.RunT(t, e.Run)

	startExecution(t, e, "loop", "loop", `{"i": 0}`)
	x := waitDone(t, e, "loop")
	succeeded(t, x)
	sameJSON(t, "output", x.Output, `{"i": 3}`)
	iteration := []string{"Wait", "Tick", "More?"}
	want := append(slices.Concat(iteration, iteration, iteration), "Done")
	if x.Transitions != 3*3+1 || !slices.Equal(x.History, want) {
		t.Errorf("transitions %d history %v, want %d %v", x.Transitions, x.History, 3*3+1, want)
	}
}

func TestTaskTimeouts(t *testing.T) {
	db, table := dynamotest.Table(t)
	clk := newClock()
	e := newExecutor(db, table, clk.Now)
	fns := newLambdas()
	fns.on("arn:aws:lambda:us-east-1:123456789012:function:slow", func(json.RawMessage, string) (json.RawMessage, error) {
		time.Sleep(3 * time.Second) // ignores its context, as a stuck function would
		return json.RawMessage(`"late"`), nil
	})
	// A synchronous call times out in real time; a callback's wait for its
	// token is business time, so it follows the (fake) clock and Scale.
	e.Register("timeouts", mustLoad(t, `{"StartAt": "Slow", "States": {
	  "Slow": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:slow", "TimeoutSeconds": 1,
	    "Catch": [{"ErrorEquals": ["States.Timeout"], "ResultPath": "$.slow", "Next": "Ask"}], "Next": "Ask"},
	  "Ask": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken", "TimeoutSeconds": 3600,
	    "Parameters": {"FunctionName": "ask", "Payload": {"token.$": "$$.Task.Token"}},
	    "Catch": [{"ErrorEquals": ["States.TaskFailed"], "Next": "Wrong"}, {"ErrorEquals": ["States.ALL"], "ResultPath": "$.ask", "Next": "Done"}],
	    "Next": "Done"},
	  "Wrong": {"Type": "Fail", "Error": "Wrong", "Cause": "States.TaskFailed must not match States.Timeout"},
	  "Done": {"Type": "Succeed"}}}`, nil), fns)
	background.RunT(t, e.Run)

	began := time.Now()
	startExecution(t, e, "timeouts", "t-1", `{}`)
	calls := fns.waitCalls(t, 2)
	if took := time.Since(began); took < time.Second || took > 2500*time.Millisecond {
		t.Errorf("the 1 s task timeout took %v", took)
	}
	waitUntil(t, e, "t-1", func(x *stepfunctions.Execution) bool { return x.WakeAt.Equal(clk.Now().Add(time.Hour)) })
	clk.Add(time.Hour)
	x := waitDone(t, e, "t-1")
	succeeded(t, x)
	var out struct{ Slow, Ask struct{ Error string } }
	if err := json.Unmarshal(x.Output, &out); err != nil || out.Slow.Error != "States.Timeout" || out.Ask.Error != "States.Timeout" {
		t.Errorf("output %s (%v), want both tasks timed out", x.Output, err)
	}
	if err := e.SendTaskSuccess(context.Background(), calls[1].Token, json.RawMessage(`{}`)); !errors.Is(err, stepfunctions.ErrTaskDoesNotExist) {
		t.Errorf("token after its timeout: %v, want ErrTaskDoesNotExist", err)
	}
}
