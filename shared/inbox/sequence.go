package inbox

import (
	"context"
	"time"
)

// SequenceKind says which state machine runs a sequence.
type SequenceKind string

const (
	SequenceDrip       SequenceKind = "drip"
	SequenceAutomation SequenceKind = "automation"
)

// RunStatus is where a contact stands in a sequence (seed 003). Started is
// the only active status; the others are final.
type RunStatus string

const (
	RunStarted   RunStatus = "started"
	RunConverted RunStatus = "converted"
	RunExited    RunStatus = "exited"
	RunCompleted RunStatus = "completed"
)

// RunStatuses lists every status, for counts.
var RunStatuses = []RunStatus{RunStarted, RunConverted, RunExited, RunCompleted}

func (s RunStatus) Valid() bool {
	switch s {
	case RunStarted, RunConverted, RunExited, RunCompleted:
		return true
	}
	return false
}

// StopReason says why a run ended before its last step.
type StopReason string

const (
	StopReplied   StopReason = "replied"
	StopOptedOut  StopReason = "opted_out"
	StopConverted StopReason = "converted"
	StopCanceled  StopReason = "canceled"
	// StopRestarted: a new cart abandonment replaced the run (seed 003).
	StopRestarted StopReason = "restarted"
)

// Run is one contact going through one drip campaign (an enrollment) or
// one automation. Its Step Functions execution does the waiting; the run
// item is what the API shows and what each step checks before acting.
type Run struct {
	ID          string       `json:"id"`
	WorkspaceID string       `json:"workspaceId"`
	Kind        SequenceKind `json:"kind"`
	// SequenceID is the campaign or automation.
	SequenceID     string     `json:"sequenceId"`
	SequenceName   string     `json:"sequenceName"`
	ContactID      string     `json:"contactId"`
	ConversationID string     `json:"conversationId,omitempty"`
	Status         RunStatus  `json:"status"`
	Reason         StopReason `json:"reason,omitempty"`
	// Step is the next step to run; StepsDone counts the steps that took
	// effect (a message created, a tag changed…).
	Step      int        `json:"step"`
	StepsDone int        `json:"stepsDone"`
	NextAt    *time.Time `json:"nextAt,omitempty"`
	// LastError explains a step that could not take effect and was skipped.
	LastError string `json:"lastError,omitempty"`
	// Steps are the campaign's steps when it was applied (drip runs only):
	// editing a campaign does not change running enrollments.
	Steps []DripStep `json:"steps,omitempty"`
	// Trigger, TriggerEventID and TriggeredAt say what started an
	// automation run.
	Trigger        TriggerType `json:"trigger,omitempty"`
	TriggerEventID string      `json:"triggerEventId,omitempty"`
	TriggeredAt    *time.Time  `json:"triggeredAt,omitempty"`
	// Reference is the order or cart the trigger named.
	Reference string `json:"reference,omitempty"`
	// TaskID is the manual action the run waits on.
	TaskID    string     `json:"taskId,omitempty"`
	Execution string     `json:"execution"`
	StartedBy string     `json:"startedBy,omitempty"`
	StartedAt time.Time  `json:"startedAt"`
	EndedAt   *time.Time `json:"endedAt,omitempty"`
	UpdatedAt time.Time  `json:"updatedAt"`
}

// RunState is a run's execution state, passed between the state machine's
// states. Next tells the Choice state what follows: wait (until WaitUntil,
// then run Step), manual (park on a task token) or done.
type RunState struct {
	WorkspaceID string       `json:"workspaceId"`
	Kind        SequenceKind `json:"kind"`
	ContactID   string       `json:"contactId"`
	RunID       string       `json:"runId"`
	Step        int          `json:"step"`
	WaitUntil   time.Time    `json:"waitUntil"`
	Next        string       `json:"next"`
	// Manual is the outcome of the manual action the run waited on.
	Manual *TaskOutcome `json:"manual,omitempty"`
}

const (
	NextWait   = "wait"
	NextManual = "manual"
	NextDone   = "done"
)

// ExecutionName is the deterministic Step Functions name of a run, so
// starting it twice starts it once.
func ExecutionName(kind SequenceKind, runID string) string {
	if kind == SequenceDrip {
		return "drip-" + runID
	}
	return "auto-" + runID
}

// Sequencer runs sequences' executions: Step Functions in AWS, the local
// executor in make dev.
type Sequencer interface {
	// Start starts the named execution; starting a running one again with
	// the same input does nothing.
	Start(ctx context.Context, kind SequenceKind, name string, input []byte) error
	// Stop aborts an execution; stopping a finished one does nothing.
	Stop(ctx context.Context, kind SequenceKind, name, cause string) error
	// ResumeTask completes the manual-action task holding token. A token of
	// a run that no longer waits for it is ignored.
	ResumeTask(ctx context.Context, token string, output []byte) error
}

// Active reports whether the run may still act.
func (r *Run) Active() bool { return r.Status == RunStarted }
