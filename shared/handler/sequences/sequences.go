// Package sequences is the sequences Lambda: the Task states of the drip
// and automation state machines call it, and the EventBridge rule delivers
// the domain events that start, stop and convert runs.
package sequences

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/parley-inbox/parley/shared/inbox"
)

// Task actions, named in statemachines/*.asl.json.
const (
	ActionDripStep       = "drip.step"
	ActionAutomationStep = "automation.step"
	ActionManual         = "automation.manual"
)

// Handler runs sequence steps and applies events to runs.
type Handler struct {
	Runner *inbox.Runner
	// Assigner applies assignment rules; the function hosts it because it
	// already takes the bus's events (see inbox.AssignmentEvents).
	Assigner *inbox.Assigner
}

// New builds functions/sequences' handler: steps schedule sends with
// scheduler and start, stop and resume executions with sequencer.
func New(store inbox.Store, scheduler inbox.Scheduler, sequencer inbox.Sequencer) *Handler {
	return &Handler{Runner: inbox.NewRunner(store, inbox.SystemClock{}, scheduler, sequencer), Assigner: inbox.NewAssigner(store, inbox.SystemClock{})}
}

// TaskInput is the Payload a Task state sends.
type TaskInput struct {
	Action    string          `json:"action"`
	Run       *inbox.RunState `json:"run"`
	TaskToken string          `json:"taskToken,omitempty"`
}

// eventBridgeEvent is the envelope EventBridge delivers to a rule target.
type eventBridgeEvent struct {
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Detail     json.RawMessage `json:"detail"`
}

// Handle serves both kinds of invocation. A step returns the run state the
// state machine's Choice reads; an event returns nothing. Errors make
// Step Functions retry the step, and Lambda retry the event.
func (h *Handler) Handle(ctx context.Context, raw json.RawMessage) (any, error) {
	inv, err := ParseInvocation(raw)
	if err != nil {
		return nil, err
	}
	if inv.Event != nil {
		if err := h.Runner.HandleEvent(ctx, *inv.Event); err != nil {
			return nil, err
		}
		return nil, h.Assigner.HandleEvent(ctx, *inv.Event)
	}
	return h.Task(ctx, *inv.Task)
}

// Invocation is one call of the function: a Task state's or an event's.
type Invocation struct {
	Task  *TaskInput
	Event *inbox.Event
}

// ParseInvocation tells a Task state's payload from an EventBridge event
// and decodes it.
func ParseInvocation(raw []byte) (Invocation, error) {
	var probe struct {
		DetailType string `json:"detail-type"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return Invocation{}, fmt.Errorf("sequences: not a JSON object: %w", err)
	}
	if probe.DetailType != "" {
		var env eventBridgeEvent
		if err := json.Unmarshal(raw, &env); err != nil {
			return Invocation{}, fmt.Errorf("sequences: malformed EventBridge event: %w", err)
		}
		var e inbox.Event
		if err := json.Unmarshal(env.Detail, &e); err != nil {
			return Invocation{}, fmt.Errorf("sequences: malformed %s detail: %w", env.DetailType, err)
		}
		if string(e.Type) != env.DetailType {
			return Invocation{}, fmt.Errorf("sequences: detail-type %q does not match the event's type %q", env.DetailType, e.Type)
		}
		return Invocation{Event: &e}, nil
	}
	var in TaskInput
	if err := strictUnmarshal(raw, &in); err != nil {
		return Invocation{}, fmt.Errorf("sequences: malformed task input: %w", err)
	}
	if in.Run == nil {
		return Invocation{}, errors.New("sequences: the task input has no run")
	}
	switch in.Action {
	case ActionDripStep, ActionAutomationStep, ActionManual:
	default:
		return Invocation{}, fmt.Errorf("sequences: unknown action %q", in.Action)
	}
	return Invocation{Task: &in}, nil
}

// Task runs one Task state's action.
func (h *Handler) Task(ctx context.Context, in TaskInput) (any, error) {
	switch in.Action {
	case ActionDripStep:
		return h.Runner.RunDripStep(ctx, *in.Run)
	case ActionAutomationStep:
		return h.Runner.RunAutomationStep(ctx, *in.Run)
	case ActionManual:
		return struct{}{}, h.Runner.ParkManual(ctx, *in.Run, in.TaskToken)
	}
	return nil, fmt.Errorf("sequences: unknown action %q", in.Action)
}

func strictUnmarshal(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}
