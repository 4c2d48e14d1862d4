package stepfunctions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/parley-inbox/parley/shared/adapter/dynamo"
)

// Status is an execution's status, as Step Functions names it.
type Status string

const (
	StatusRunning   Status = "RUNNING"
	StatusSucceeded Status = "SUCCEEDED"
	StatusFailed    Status = "FAILED"
	StatusAborted   Status = "ABORTED"
	StatusTimedOut  Status = "TIMED_OUT"
)

// Errors of the Step Functions API, for errors.Is.
var (
	ErrExecutionAlreadyExists   = errors.New("stepfn: ExecutionAlreadyExists")
	ErrExecutionDoesNotExist    = errors.New("stepfn: ExecutionDoesNotExist")
	ErrStateMachineDoesNotExist = errors.New("stepfn: StateMachineDoesNotExist")
	ErrTaskDoesNotExist         = errors.New("stepfn: TaskDoesNotExist")
	ErrInvalidName              = errors.New("stepfn: InvalidName")
	ErrInvalidInput             = errors.New("stepfn: InvalidExecutionInput")
	ErrInvalidOutput            = errors.New("stepfn: InvalidOutput")
)

// Executor runs registered machines' executions, kept in a DynamoDB table
// (dynamo.Schema), so a restarted Executor resumes where the last stopped.
// Each state's work is done at least once: the record is saved after
// every step, and a crash before the save redoes the step.
type Executor struct {
	DB    dynamo.API
	Table string
	// Scale divides business time: Wait states, Retry backoff, callback
	// task and execution timeouts. 86400 turns a 3-day Wait into 3 s.
	// 0 means 1.
	Scale float64
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// PollInterval bounds how long Run sleeps between looks at the due
	// queue; 0 means 100 ms. Local calls (Start, Send…, Stop) wake it early.
	PollInterval time.Duration
	// Workers bounds the executions Run advances at once; 0 means 4.
	Workers int
	// Objects reads the objects of Map ItemReaders (s3:getObject); nil
	// fails such a Map with States.ItemReaderFailed.
	Objects ObjectReader
	// Log gets Run's failures; nil means slog.Default().
	Log *slog.Logger

	mu       sync.Mutex
	machines map[string]registration
	kick     chan struct{}
}

type registration struct {
	machine *Machine
	invoker Invoker
}

// Register makes a machine startable by name; its Task states call invoker.
func (e *Executor) Register(name string, m *Machine, invoker Invoker) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.machines == nil {
		e.machines = map[string]registration{}
	}
	e.machines[name] = registration{machine: m, invoker: invoker}
}

func (e *Executor) registered(name string) (registration, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	r, ok := e.machines[name]
	return r, ok
}

// Execution is what Describe reports.
type Execution struct {
	ARN, Name, Machine string
	Status             Status
	State              string // the current state, or the last one entered
	Input              json.RawMessage
	Output             json.RawMessage // SUCCEEDED only
	Error, Cause       string
	// Transitions counts billed state transitions: states entered plus retries.
	Transitions int
	// ChildExecutions counts Map iterations run: one per item, or per
	// batch with an ItemBatcher. Their state transitions are in Transitions.
	ChildExecutions int
	// History lists the states entered, oldest first (the last 100).
	History   []string
	StartTime time.Time
	StopTime  time.Time // zero while running
	// WakeAt is when Run next looks at a running execution; zero while it
	// awaits a task token.
	WakeAt time.Time
}

const arnPrefix = "arn:aws:states:local:000000000000:"

func executionARN(machine, name string) string {
	return arnPrefix + "execution:" + machine + ":" + name
}

// StartExecution starts name on the machine registered as machineName. As
// in Step Functions, names are unique (here across all machines): starting
// a running execution again with the same input returns it; a different
// input, or a finished execution, is ErrExecutionAlreadyExists.
func (e *Executor) StartExecution(ctx context.Context, machineName, name string, input json.RawMessage) (string, error) {
	reg, ok := e.registered(machineName)
	if !ok {
		return "", fmt.Errorf("%w: %q", ErrStateMachineDoesNotExist, machineName)
	}
	if err := validName(name); err != nil {
		return "", err
	}
	if len(input) == 0 {
		input = json.RawMessage("{}")
	}
	v, err := decode(input)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalidInput, err)
	}
	now := e.now()
	r := &record{Machine: machineName, Name: name, Status: StatusRunning, Input: mustEncode(v), StartTime: stamp(now)}
	if t := reg.machine.TimeoutSeconds; t > 0 {
		r.Deadline = stamp(now.Add(e.scaled(time.Duration(t) * time.Second)))
	}
	r.enter(reg.machine.StartAt, v, now)
	err = e.save(ctx, nil, r)
	if errors.Is(err, errConflict) {
		prev, gerr := e.get(ctx, name)
		if gerr != nil {
			return "", gerr
		}
		if prev != nil && prev.Status == StatusRunning && prev.Machine == machineName && prev.Input == r.Input {
			return executionARN(machineName, name), nil
		}
		return "", fmt.Errorf("%w: %q", ErrExecutionAlreadyExists, name)
	}
	if err != nil {
		return "", err
	}
	e.poke()
	return executionARN(machineName, name), nil
}

// validName applies Step Functions' execution name rules; they also keep
// '#' out of the keys.
func validName(name string) error {
	if name == "" || len(name) > 80 {
		return fmt.Errorf("%w: %q must be 1 to 80 characters", ErrInvalidName, name)
	}
	for _, c := range name {
		if unicode.IsSpace(c) || unicode.IsControl(c) || (c >= 0x7f && c <= 0x9f) || strings.ContainsRune("<>{}[]?*\"#%\\^|~`$&,;:/", c) {
			return fmt.Errorf("%w: %q contains %q", ErrInvalidName, name, c)
		}
	}
	return nil
}

// StopExecution aborts a running execution; nothing of it runs afterwards
// (a task already invoked finishes, but its result is dropped). Stopping a
// finished execution does nothing.
func (e *Executor) StopExecution(ctx context.Context, name, errName, cause string) error {
	return e.update(ctx, name, ErrExecutionDoesNotExist, func(x *record) (*record, error) {
		if x.Status != StatusRunning {
			return nil, nil
		}
		n := *x
		n.finish(StatusAborted, errName, cause, e.now())
		return &n, nil
	})
}

// SendTaskSuccess completes the waitForTaskToken task holding token.
func (e *Executor) SendTaskSuccess(ctx context.Context, token string, output json.RawMessage) error {
	v, err := decode(output)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidOutput, err)
	}
	return e.reply(ctx, token, func(n *record) { n.Reply = mustEncode(v) })
}

// SendTaskFailure fails the waitForTaskToken task holding token with the
// error name (States.TaskFailed if empty) that its Retry and Catch see.
func (e *Executor) SendTaskFailure(ctx context.Context, token, errName, cause string) error {
	if errName == "" {
		errName = errTaskFailed
	}
	return e.reply(ctx, token, func(n *record) { n.ReplyError, n.ReplyCause = errName, cause })
}

// reply records a task token's outcome for Run to apply. A token is used
// once: saving the reply clears it and deletes its token item.
func (e *Executor) reply(ctx context.Context, token string, set func(*record)) error {
	var t tokenItem
	ok, err := e.getItem(ctx, pkToken+token, &t)
	if err != nil {
		return err
	}
	if !ok || token == "" {
		return fmt.Errorf("%w: unknown or already used task token", ErrTaskDoesNotExist)
	}
	return e.update(ctx, t.Name, ErrTaskDoesNotExist, func(x *record) (*record, error) {
		if x.Status != StatusRunning || x.Phase != phaseCallback || x.Token != token {
			return nil, fmt.Errorf("%w: the task is no longer waiting for this token", ErrTaskDoesNotExist)
		}
		n := *x
		set(&n)
		n.Phase, n.Token, n.Invoked = phaseReplied, "", false
		n.sleepUntil(e.now())
		return &n, nil
	})
}

// update applies change to the execution and saves it, starting over if
// it changed meanwhile. change returns nil to leave it as it is.
func (e *Executor) update(ctx context.Context, name string, missing error, change func(*record) (*record, error)) error {
	for try := 0; try < 10; try++ {
		x, err := e.get(ctx, name)
		if err != nil {
			return err
		}
		if x == nil {
			return fmt.Errorf("%w: %q", missing, name)
		}
		n, err := change(x)
		if n == nil || err != nil {
			return err
		}
		if err = e.save(ctx, x, n); !errors.Is(err, errConflict) {
			e.poke()
			return err
		}
	}
	return fmt.Errorf("stepfn: execution %q keeps changing; retry", name)
}

// Describe reports an execution.
func (e *Executor) Describe(ctx context.Context, name string) (*Execution, error) {
	x, err := e.get(ctx, name)
	if err != nil {
		return nil, err
	}
	if x == nil {
		return nil, fmt.Errorf("%w: %q", ErrExecutionDoesNotExist, name)
	}
	parse := func(s string) time.Time {
		t, _ := time.Parse(stampLayout, s)
		return t
	}
	out := &Execution{ARN: executionARN(x.Machine, x.Name), Name: x.Name, Machine: x.Machine,
		Status: x.Status, State: x.State, Input: json.RawMessage(x.Input), Error: x.Error, Cause: x.Cause,
		Transitions: x.Transitions, ChildExecutions: x.ChildExecutions, History: x.History,
		StartTime: parse(x.StartTime), StopTime: parse(x.StopTime), WakeAt: parse(x.WakeAt)}
	if x.Output != "" {
		out.Output = json.RawMessage(x.Output)
	}
	return out, nil
}

// Run advances due executions until ctx ends. Run one per table: two would
// only waste work (saves are conditional, so neither corrupts the other).
func (e *Executor) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	var mu sync.Mutex
	busy := map[string]bool{}
	workers := e.Workers
	if workers <= 0 {
		workers = 4
	}
	slots := make(chan struct{}, workers)
	kick := e.kicks()
	for {
		due, next, err := e.due(ctx, e.now(), 100)
		if err != nil && ctx.Err() == nil {
			e.log().WarnContext(ctx, "stepfn: poll due executions", "err", err)
		}
		for _, d := range due {
			reg, ok := e.registered(d.Machine)
			mu.Lock()
			skip := !ok || busy[d.Name]
			busy[d.Name] = busy[d.Name] || !skip
			mu.Unlock()
			if skip {
				continue // another worker has it, or another Executor runs its machine
			}
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return nil
			}
			wg.Add(1)
			go func(name string) {
				defer wg.Done()
				e.advance(ctx, reg, name)
				<-slots
				mu.Lock()
				delete(busy, name)
				mu.Unlock()
				e.poke()
			}(d.Name)
		}
		wait := e.PollInterval
		if wait <= 0 {
			wait = 100 * time.Millisecond
		}
		if !next.IsZero() {
			wait = min(wait, max(next.Sub(e.now()), time.Millisecond))
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-kick:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// maxChain bounds the steps one advance takes before yielding, so a
// machine looping through Pass states cannot hog a worker.
const maxChain = 100

// advance takes an execution through every step due now.
func (e *Executor) advance(ctx context.Context, reg registration, name string) {
	x, err := e.get(ctx, name)
	for i := 0; i < maxChain && err == nil && x != nil; i++ {
		now := e.now()
		if x.Status != StatusRunning || x.WakeAt == "" || x.WakeAt > stamp(now) {
			return
		}
		var n *record
		if n, err = e.step(ctx, reg, x, now); err != nil {
			return // ctx ended mid-task; the step runs again later
		}
		if err = e.save(ctx, x, n); errors.Is(err, errConflict) {
			return // stopped or replied meanwhile; its new due item brings it back
		}
		x = n
	}
	if err != nil && ctx.Err() == nil {
		e.log().ErrorContext(ctx, "stepfn: advance execution", "execution", name, "err", err)
	}
}

func (e *Executor) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

func (e *Executor) scaled(d time.Duration) time.Duration {
	if e.Scale <= 0 {
		return d
	}
	return time.Duration(float64(d) / e.Scale)
}

func (e *Executor) kicks() chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.kick == nil {
		e.kick = make(chan struct{}, 1)
	}
	return e.kick
}

// poke wakes Run early: there may be work due now.
func (e *Executor) poke() {
	select {
	case e.kicks() <- struct{}{}:
	default:
	}
}

func (e *Executor) log() *slog.Logger {
	if e.Log == nil {
		return slog.Default()
	}
	return e.Log
}
