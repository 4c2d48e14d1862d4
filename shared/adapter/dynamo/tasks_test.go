package dynamo_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/parley-inbox/parley/shared/adapter/dynamo"
	"github.com/parley-inbox/parley/shared/dev/dynamotest"
	"github.com/parley-inbox/parley/shared/inbox"
)

func newTask(ws, assigneeID string) *inbox.ManualTask {
	now := time.Now().UTC().Truncate(time.Millisecond)
	return &inbox.ManualTask{
		ID: inbox.NewID(now), WorkspaceID: ws, AssigneeID: assigneeID, Action: inbox.ManualCall, Instructions: "Call about the order",
		Status: inbox.TaskOpen, AutomationID: "automation-1", AutomationName: "Orders", RunID: inbox.NewID(now), Step: 2,
		ContactID: "contact-1", Token: "token-1", CreatedAt: now,
	}
}

func queue(t *testing.T, store *dynamo.Store, ws, assigneeID string) []string {
	t.Helper()
	page, err := store.ListTasks(context.Background(), ws, assigneeID, inbox.PageRequest{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(page.Items))
	for i, task := range page.Items {
		ids[i] = task.ID
		if task.Status != inbox.TaskOpen {
			t.Errorf("queue lists a %s task", task.Status)
		}
	}
	return ids
}

func TestTaskQueues(t *testing.T) {
	store := dynamotest.Store(t)
	ctx := context.Background()
	ws := inbox.NewID(time.Now())
	task, other, shared := newTask(ws, "agent-1"), newTask(ws, "agent-1"), newTask(ws, inbox.Unassigned)
	for _, tk := range []*inbox.ManualTask{task, other, shared} {
		if err := store.PutTask(ctx, tk); err != nil {
			t.Fatal(err)
		}
	}
	// A retried step re-parks the same task with a new token.
	task.Token = "token-2"
	if err := store.PutTask(ctx, task); err != nil {
		t.Fatal(err)
	}
	if ids := queue(t, store, ws, "agent-1"); len(ids) != 2 || ids[0] != task.ID || ids[1] != other.ID {
		t.Fatalf("agent-1's queue = %v, want [%s %s]", ids, task.ID, other.ID)
	}
	if ids := queue(t, store, ws, inbox.Unassigned); len(ids) != 1 || ids[0] != shared.ID {
		t.Fatalf("unassigned queue = %v, want [%s]", ids, shared.ID)
	}
	if ids := queue(t, store, ws, "agent-2"); len(ids) != 0 {
		t.Errorf("agent-2's queue = %v", ids)
	}

	stale := *task
	done := time.Now().UTC().Truncate(time.Millisecond)
	task.Status, task.DoneAt, task.DoneBy = inbox.TaskDone, &done, "agent-1"
	if err := store.UpdateTask(ctx, task, inbox.TaskOpen); err != nil {
		t.Fatal(err)
	}
	if ids := queue(t, store, ws, "agent-1"); len(ids) != 1 || ids[0] != other.ID {
		t.Errorf("after done, agent-1's queue = %v, want [%s]", ids, other.ID)
	}
	got, err := store.GetTask(ctx, ws, task.ID)
	if err != nil || got.Status != inbox.TaskDone || got.Token != "token-2" || got.DoneBy != "agent-1" || got.DoneAt == nil || !got.DoneAt.Equal(done) || got.RunID != task.RunID {
		t.Fatalf("get done task = %+v, %v", got, err)
	}

	stale.Status = inbox.TaskSkipped
	if err := store.UpdateTask(ctx, &stale, inbox.TaskOpen); !errors.Is(err, inbox.ErrVersionConflict) {
		t.Errorf("skipping a task already done: %v, want a version conflict", err)
	}
	if got, _ := store.GetTask(ctx, ws, task.ID); got.Status != inbox.TaskDone {
		t.Errorf("the stale update wrote: %s", got.Status)
	}
	if _, err := store.GetTask(ctx, ws, "missing"); inbox.ErrorKind(err) != inbox.KindNotFound {
		t.Errorf("missing task: %v", err)
	}
	if ids := queue(t, store, inbox.NewID(time.Now()), inbox.Unassigned); len(ids) != 0 {
		t.Errorf("another workspace's unassigned queue = %v", ids)
	}
}

func TestTaskQueuePages(t *testing.T) {
	store := dynamotest.Store(t)
	ctx := context.Background()
	ws := inbox.NewID(time.Now())
	var want []string
	for range 3 {
		tk := newTask(ws, inbox.Unassigned)
		if err := store.PutTask(ctx, tk); err != nil {
			t.Fatal(err)
		}
		want = append(want, tk.ID)
	}
	page, err := store.ListTasks(ctx, ws, inbox.Unassigned, inbox.PageRequest{Limit: 2})
	if err != nil || len(page.Items) != 2 || page.NextCursor == "" {
		t.Fatalf("first page: %d tasks, cursor %q, %v", len(page.Items), page.NextCursor, err)
	}
	if _, err := store.ListTasks(ctx, ws, "agent-1", inbox.PageRequest{Limit: 2, Cursor: page.NextCursor}); inbox.ErrorKind(err) != inbox.KindInvalid {
		t.Errorf("the unassigned queue's cursor was accepted for agent-1's: %v", err)
	}
	rest, err := store.ListTasks(ctx, ws, inbox.Unassigned, inbox.PageRequest{Limit: 2, Cursor: page.NextCursor})
	if err != nil || len(rest.Items) != 1 || rest.Items[0].ID != want[2] || page.Items[0].ID != want[0] {
		t.Fatalf("second page: %+v, %v", rest.Items, err)
	}
}
