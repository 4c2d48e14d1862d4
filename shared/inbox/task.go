package inbox

import "time"

// ManualActionKind is what a manual action asks a person to do (seed 001).
type ManualActionKind string

const (
	ManualCall    ManualActionKind = "call"
	ManualMessage ManualActionKind = "message"
)

// TaskStatus is where a manual action stands. Open tasks are in their
// assignee's queue; the others are history.
type TaskStatus string

const (
	TaskOpen     TaskStatus = "open"
	TaskDone     TaskStatus = "done"
	TaskSkipped  TaskStatus = "skipped"
	TaskCanceled TaskStatus = "canceled"
)

// Unassigned is the queue of manual actions nobody was assigned.
const Unassigned = "unassigned"

// ManualTask is a manual action waiting for a person. Its automation run is
// parked on Token until the task is done or skipped.
type ManualTask struct {
	ID             string           `json:"id"`
	WorkspaceID    string           `json:"workspaceId"`
	AssigneeID     string           `json:"assigneeId"`
	Action         ManualActionKind `json:"action"`
	Instructions   string           `json:"instructions"`
	Status         TaskStatus       `json:"status"`
	AutomationID   string           `json:"automationId"`
	AutomationName string           `json:"automationName"`
	RunID          string           `json:"runId"`
	Step           int              `json:"step"`
	ContactID      string           `json:"contactId"`
	ConversationID string           `json:"conversationId,omitempty"`
	Token          string           `json:"-"`
	CreatedAt      time.Time        `json:"createdAt"`
	DoneAt         *time.Time       `json:"doneAt,omitempty"`
	DoneBy         string           `json:"doneBy,omitempty"`
}

// TaskOutcome is what resumes a parked run.
type TaskOutcome struct {
	TaskID string     `json:"taskId"`
	Status TaskStatus `json:"status"`
}
