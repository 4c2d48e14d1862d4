package stepfunctions

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"slices"
	"time"
)

// Error names from the States Language.
const (
	errAll           = "States.ALL"
	errTaskFailed    = "States.TaskFailed"
	errTimeout       = "States.Timeout"
	errRuntime       = "States.Runtime"
	errResultPath    = "States.ResultPathMatchFailure"
	errNoChoiceMatch = "States.NoChoiceMatched"
)

// TaskError is a task failure with its States Language error name, which
// Retry and Catch match on. An Invoker returns one to name the error
// (e.g. "Lambda.ServiceException"); any other error is States.TaskFailed.
type TaskError struct {
	Name  string
	Cause string
}

func (e *TaskError) Error() string { return e.Name + ": " + e.Cause }

// Invoker runs the Lambda functions of Task states. resource is the
// function: the FunctionName parameter of the lambda:invoke integrations,
// or the Task's Resource when that is a function ARN. taskToken is set for
// waitForTaskToken tasks only. A Map state's iterations call it
// concurrently (up to its MaxConcurrency, at most 40 at once).
type Invoker interface {
	Invoke(ctx context.Context, resource string, input json.RawMessage, taskToken string) (json.RawMessage, error)
}

// InvokerFunc adapts a function to Invoker.
type InvokerFunc func(ctx context.Context, resource string, input json.RawMessage, taskToken string) (json.RawMessage, error)

// Invoke calls f.
func (f InvokerFunc) Invoke(ctx context.Context, resource string, input json.RawMessage, taskToken string) (json.RawMessage, error) {
	return f(ctx, resource, input, taskToken)
}

// step does the work due in x's current state and returns the record to
// save. It returns an error only when the work must be redone later (ctx
// ended mid-invoke); everything else is the execution's own outcome.
func (e *Executor) step(ctx context.Context, reg registration, x *record, now time.Time) (*record, error) {
	n := *x
	n.History = slices.Clone(x.History)
	n.Retries = slices.Clone(x.Retries)
	if x.Deadline != "" && stamp(now) >= x.Deadline {
		n.finish(StatusTimedOut, errTimeout, "the execution ran longer than its TimeoutSeconds", now)
		return &n, nil
	}
	s, ok := reg.machine.states[x.State]
	if !ok {
		n.finish(StatusFailed, errRuntime, fmt.Sprintf("state %q is not in the machine's definition any more", x.State), now)
		return &n, nil
	}
	raw, err := decode([]byte(x.StateInput))
	if err != nil {
		n.finish(StatusFailed, errRuntime, "stored state input is not JSON: "+err.Error(), now)
		return &n, nil
	}

	switch x.Phase {
	case phaseRun:
		return &n, e.enterState(ctx, reg, s, &n, raw, now)
	case phaseWait:
		in, err := s.inputPath.selectFrom(raw)
		if err == nil {
			in, err = s.outputPath.selectFrom(in)
		}
		if err != nil {
			n.finish(StatusFailed, errRuntime, err.Error(), now)
			return &n, nil
		}
		n.advance(s, in, now)
	case phaseCallback:
		if x.Invoked {
			e.failed(s, &n, raw, errTimeout, "no SendTaskSuccess or SendTaskFailure within TimeoutSeconds", now)
			return &n, nil
		}
		return &n, e.startCallback(ctx, reg, s, &n, raw, now)
	case phaseReplied:
		if n.ReplyError != "" {
			e.failed(s, &n, raw, n.ReplyError, n.ReplyCause, now)
			return &n, nil
		}
		result, err := decode([]byte(n.Reply)) // validated by SendTaskSuccess
		if err != nil {
			n.finish(StatusFailed, errRuntime, "stored task output is not JSON: "+err.Error(), now)
			return &n, nil
		}
		e.succeeded(s, &n, raw, result, now)
	default:
		n.finish(StatusFailed, errRuntime, fmt.Sprintf("unknown phase %q", x.Phase), now)
	}
	return &n, nil
}

// enterState runs a state that has just been entered (or is retried).
func (e *Executor) enterState(ctx context.Context, reg registration, s *state, n *record, raw any, now time.Time) error {
	in, err := s.inputPath.selectFrom(raw)
	if err != nil {
		n.finish(StatusFailed, errRuntime, err.Error(), now)
		return nil
	}
	switch s.typ {
	case "Pass":
		result := in
		if s.hasParameters {
			if result, err = render(s.parameters, in, contextObject(n, "")); err != nil {
				n.finish(StatusFailed, errRuntime, err.Error(), now)
				return nil
			}
		}
		if s.hasResult {
			result = deepCopy(s.result)
		}
		out, err := s.resultPath.merge(raw, result)
		if err != nil {
			n.finish(StatusFailed, errResultPath, err.Error(), now)
			return nil
		}
		if out, err = s.outputPath.selectFrom(out); err != nil {
			n.finish(StatusFailed, errRuntime, err.Error(), now)
			return nil
		}
		n.advance(s, out, now)

	case "Task":
		if s.resource == ResourceLambdaCallback {
			// Persist the token before the function can see it, so that a
			// SendTaskSuccess arriving at once finds the execution.
			n.Token, n.Phase, n.Invoked = newToken(), phaseCallback, false
			n.sleepUntil(now)
			return nil
		}
		params, err := e.parameters(s, n, in, "")
		if err != nil {
			n.finish(StatusFailed, errRuntime, err.Error(), now)
			return nil
		}
		result, terr := e.call(ctx, reg.invoker, s, params, "")
		if ctx.Err() != nil {
			return ctx.Err() // shutting down: run this state again later
		}
		if terr != nil {
			e.failed(s, n, raw, terr.Name, terr.Cause, now)
			return nil
		}
		e.succeeded(s, n, raw, result, now)

	case "Wait":
		wake, err := e.wakeTime(s, in, now)
		if err != nil {
			n.finish(StatusFailed, errRuntime, err.Error(), now)
			return nil
		}
		n.Phase = phaseWait
		n.sleepUntil(wake)

	case "Choice":
		for _, c := range s.choices {
			ok, err := c.eval(in)
			if err != nil {
				n.finish(StatusFailed, errRuntime, err.Error(), now)
				return nil
			}
			if ok {
				n.route(s, c.next, in, now)
				return nil
			}
		}
		if s.defaultNext == "" {
			n.finish(StatusFailed, errNoChoiceMatch, "no choice rule matched and there is no Default", now)
			return nil
		}
		n.route(s, s.defaultNext, in, now)

	case "Succeed":
		out, err := s.outputPath.selectFrom(in)
		if err != nil {
			n.finish(StatusFailed, errRuntime, err.Error(), now)
			return nil
		}
		n.succeed(out, now)

	case "Fail":
		n.finish(StatusFailed, s.errName, s.cause, now)

	case "Map":
		result, terr, err := e.runMap(ctx, reg, s, n, in)
		if err != nil {
			return err // shutting down: run the Map again later
		}
		if terr != nil {
			e.failed(s, n, raw, terr.Name, terr.Cause, e.now())
			return nil
		}
		e.succeeded(s, n, raw, result, e.now())
	}
	return nil
}

// route leaves a Choice state for next with its OutputPath applied.
func (n *record) route(s *state, next string, in any, now time.Time) {
	out, err := s.outputPath.selectFrom(in)
	if err != nil {
		n.finish(StatusFailed, errRuntime, err.Error(), now)
		return
	}
	n.enter(next, out, now)
}

// startCallback invokes a waitForTaskToken task's function with the token
// saved by enterState, then waits (up to TimeoutSeconds) for the reply.
func (e *Executor) startCallback(ctx context.Context, reg registration, s *state, n *record, raw any, now time.Time) error {
	in, err := s.inputPath.selectFrom(raw)
	if err != nil {
		n.finish(StatusFailed, errRuntime, err.Error(), now)
		return nil
	}
	params, err := e.parameters(s, n, in, n.Token)
	if err != nil {
		n.finish(StatusFailed, errRuntime, err.Error(), now)
		return nil
	}
	_, terr := e.call(ctx, reg.invoker, s, params, n.Token)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if terr != nil {
		e.failed(s, n, raw, terr.Name, terr.Cause, now)
		return nil
	}
	n.Invoked = true
	var wake time.Time // zero: wait for the reply however long it takes
	if s.timeout > 0 {
		wake = now.Add(e.scaled(time.Duration(s.timeout) * time.Second))
	}
	n.sleepUntil(wake)
	return nil
}

func (e *Executor) parameters(s *state, n *record, in any, token string) (any, error) {
	if !s.hasParameters {
		return in, nil
	}
	return render(s.parameters, in, contextObject(n, token))
}

// contextObject is what "$$" paths read.
func contextObject(n *record, token string) map[string]any {
	c := map[string]any{
		"Execution": map[string]any{
			"Id":        executionARN(n.Machine, n.Name),
			"Name":      n.Name,
			"StartTime": contextTime(n.StartTime),
		},
		"State": map[string]any{"EnteredTime": contextTime(n.EnteredTime)},
	}
	if token != "" {
		c["Task"] = map[string]any{"Token": token}
	}
	return c
}

// contextTime formats a stored stamp the way Step Functions shows times.
func contextTime(s string) string {
	t, err := time.Parse(stampLayout, s)
	if err != nil {
		return s
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// call invokes the task's function and shapes its result like the
// integration does. A nil *TaskError with a nil result can also mean ctx
// ended; callers check ctx first.
func (e *Executor) call(ctx context.Context, inv Invoker, s *state, params any, token string) (any, *TaskError) {
	resource, payload := s.resource, params
	integration := s.resource == ResourceLambdaInvoke || s.resource == ResourceLambdaCallback
	if integration {
		p, _ := params.(map[string]any)
		fn, ok := p["FunctionName"].(string)
		if !ok {
			return nil, &TaskError{errTaskFailed, "FunctionName must be a string"}
		}
		resource = fn
		if payload, ok = p["Payload"]; !ok {
			payload = map[string]any{}
		}
	}
	callCtx := ctx
	if s.timeout > 0 && token == "" {
		// Synchronous calls time out in real time: Scale is for business
		// waits, not for how long a function may run.
		var cancel context.CancelFunc
		callCtx, cancel = context.WithTimeout(ctx, time.Duration(s.timeout)*time.Second)
		defer cancel()
	}
	type reply struct {
		out json.RawMessage
		err error
	}
	input := json.RawMessage(mustEncode(payload))
	done := make(chan reply, 1)
	go func() {
		out, err := inv.Invoke(callCtx, resource, input, token)
		done <- reply{out, err}
	}()
	var r reply
	select {
	case r = <-done:
	case <-callCtx.Done():
	}
	if ctx.Err() != nil {
		return nil, nil
	}
	if errors.Is(callCtx.Err(), context.DeadlineExceeded) {
		return nil, &TaskError{errTimeout, fmt.Sprintf("the task ran longer than %d seconds", s.timeout)}
	}
	if r.err != nil {
		var te *TaskError
		if errors.As(r.err, &te) {
			return nil, te
		}
		return nil, &TaskError{errTaskFailed, r.err.Error()}
	}
	var out any
	if len(r.out) > 0 {
		var err error
		if out, err = decode(r.out); err != nil {
			return nil, &TaskError{errTaskFailed, "the function returned invalid JSON: " + err.Error()}
		}
	}
	if s.resource == ResourceLambdaInvoke {
		out = map[string]any{"Payload": out, "StatusCode": int64(200)}
	}
	return out, nil
}

// succeeded applies ResultSelector, ResultPath and OutputPath to a task result.
func (e *Executor) succeeded(s *state, n *record, raw, result any, now time.Time) {
	var err error
	if s.hasResultSelector {
		if result, err = render(s.resultSelector, result, contextObject(n, "")); err != nil {
			n.finish(StatusFailed, errRuntime, err.Error(), now)
			return
		}
	}
	out, err := s.resultPath.merge(raw, result)
	if err != nil {
		e.failed(s, n, raw, errResultPath, err.Error(), now)
		return
	}
	if out, err = s.outputPath.selectFrom(out); err != nil {
		n.finish(StatusFailed, errRuntime, err.Error(), now)
		return
	}
	n.advance(s, out, now)
}

// failed handles a task error: the first matching retrier retries it if
// it has attempts left, else the first matching catcher routes it, else
// the execution fails.
func (e *Executor) failed(s *state, n *record, raw any, name, cause string, now time.Time) {
	n.Token, n.Invoked = "", false
	for i, r := range s.retry {
		if !matches(r.errorEquals, name) {
			continue
		}
		if len(n.Retries) < len(s.retry) {
			n.Retries = append(n.Retries, make([]int, len(s.retry)-len(n.Retries))...)
		}
		if n.Retries[i] >= r.maxAttempts {
			break
		}
		delay := r.delay(n.Retries[i])
		n.Retries[i]++
		n.Transitions++ // Step Functions bills each retry as a state transition
		n.Phase = phaseRun
		n.sleepUntil(now.Add(e.scaled(delay)))
		return
	}
	for _, c := range s.catch {
		if !matches(c.errorEquals, name) {
			continue
		}
		out, err := c.resultPath.merge(raw, map[string]any{"Error": name, "Cause": cause})
		if err != nil {
			n.finish(StatusFailed, errResultPath, err.Error(), now)
			return
		}
		n.enter(c.next, out, now)
		return
	}
	n.finish(StatusFailed, name, cause, now)
}

// matches applies ErrorEquals. States.Runtime is never retried or caught.
func matches(errorEquals []string, name string) bool {
	if name == errRuntime {
		return false
	}
	for _, want := range errorEquals {
		if want == name || want == errAll || (want == errTaskFailed && name != errTimeout) {
			return true
		}
	}
	return false
}

// delay is the wait before retry number attempt+1.
func (r retrier) delay(attempt int) time.Duration {
	d := r.interval * math.Pow(r.backoff, float64(attempt))
	if r.maxDelay > 0 && d > r.maxDelay {
		d = r.maxDelay
	}
	if r.fullJitter {
		d *= mrand.Float64()
	}
	return time.Duration(d * float64(time.Second))
}

// wakeTime is when a Wait state entered now ends, with Scale applied to
// the time left.
func (e *Executor) wakeTime(s *state, in any, now time.Time) (time.Time, error) {
	switch {
	case s.secondsPath != nil:
		v, ok := s.secondsPath.get(in)
		secs, isNum := number(v)
		if !ok || !isNum || secs < 0 || secs != math.Trunc(secs) {
			return time.Time{}, fmt.Errorf("SecondsPath %q must name a non-negative integer", s.secondsPath)
		}
		return now.Add(e.scaled(time.Duration(secs) * time.Second)), nil
	case s.timestampPath != nil:
		v, _ := s.timestampPath.get(in)
		str, _ := v.(string)
		t, err := time.Parse(time.RFC3339Nano, str)
		if err != nil {
			return time.Time{}, fmt.Errorf("TimestampPath %q must name an RFC 3339 timestamp", s.timestampPath)
		}
		return now.Add(e.scaled(max(t.Sub(now), 0))), nil
	case !s.timestamp.IsZero():
		return now.Add(e.scaled(max(s.timestamp.Sub(now), 0))), nil
	}
	return now.Add(e.scaled(time.Duration(s.seconds) * time.Second)), nil
}

func newToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand panics instead)
	return base64.RawURLEncoding.EncodeToString(b)
}

func mustEncode(v any) string {
	s, err := encode(v)
	if err != nil {
		// Values come from decode or are built here: always encodable.
		panic(fmt.Sprintf("stepfn: encode %T: %v", v, err))
	}
	return s
}
