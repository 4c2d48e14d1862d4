package dynamo

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/parley-inbox/parley/shared/inbox"
)

// Tasks, run counters and automations are not domain events on the
// stream, and runs are one only when written; none looks like a message
// to send.
func TestSequenceItemsAreNotEventsOrQueuedMessages(t *testing.T) {
	now := time.Now().UTC()
	run := &inbox.Run{ID: "01RUN", WorkspaceID: "w1", Kind: inbox.SequenceDrip, SequenceID: "s1", ContactID: "c1", ConversationID: "v1", Status: inbox.RunStarted, StartedAt: now}
	runImage, err := runRecord(run)
	if err != nil {
		t.Fatal(err)
	}
	run.Status = inbox.RunExited
	exitedImage, _ := runRecord(run)
	task := &inbox.ManualTask{ID: "01TASK", WorkspaceID: "w1", AssigneeID: inbox.Unassigned, Status: inbox.TaskOpen, ContactID: "c1", Token: "tok", CreatedAt: now}
	taskImage, err := marshal(taskRecord(task))
	if err != nil {
		t.Fatal(err)
	}
	automationImage, err := marshal(automationItem{PK: workspacePK("w1"), SK: prefixAutomation + "a1",
		Automation: inbox.Automation{ID: "a1", WorkspaceID: "w1", Name: "A", Trigger: inbox.Trigger{Type: inbox.TriggerConversationCreated}}})
	if err != nil {
		t.Fatal(err)
	}
	counter := runCountKey("w1", "s1")
	counter["started"] = num(1)
	images := map[string]map[string]types.AttributeValue{"run": runImage, "task": taskImage, "automation": automationImage, "counter": counter}
	for name, img := range images {
		for kind, c := range map[string]Change{
			"insert": {EventID: "e1", At: now, New: img},
			"modify": {EventID: "e2", At: now, Old: img, New: img},
			"remove": {EventID: "e3", At: now, Old: img},
		} {
			if _, _, ok := QueuedMessage(c); ok {
				t.Errorf("%s %s was taken for a queued message", kind, name)
			}
			if name == "run" && kind == "insert" {
				continue
			}
			if events, err := Events(c); err != nil || len(events) != 0 {
				t.Errorf("%s %s: events %+v, %v", kind, name, events, err)
			}
		}
	}
	if events, err := Events(Change{EventID: "e4", At: now, Old: runImage, New: exitedImage}); err != nil || len(events) != 0 {
		t.Errorf("run status change: events %+v, %v", events, err)
	}
	if events, err := Events(Change{EventID: "e5", At: now, New: exitedImage}); err != nil || len(events) != 0 {
		t.Errorf("a run written already ended: events %+v, %v", events, err)
	}
	events, err := Events(Change{EventID: "e1", At: now, New: runImage})
	want := inbox.Event{ID: "e1:run.started", Type: inbox.EventRunStarted, WorkspaceID: "w1", OccurredAt: now, ContactID: "c1",
		ConversationID: "v1", RunID: "01RUN", SequenceID: "s1", SequenceKind: inbox.SequenceDrip}
	if err != nil || len(events) != 1 || !reflect.DeepEqual(events[0], want) {
		t.Errorf("run written: events %+v, %v; want %+v", events, err, want)
	}
	if _, ok := taskImage["token"]; !ok {
		t.Error("the task's token is not stored")
	}
}

// conflictingDB cancels the first n transactions as if another
// transaction held the sequence's counter.
type conflictingDB struct {
	API
	n, calls int
}

func (db *conflictingDB) TransactWriteItems(context.Context, *dynamodb.TransactWriteItemsInput, ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	db.calls++
	if db.calls <= db.n {
		return nil, &types.TransactionCanceledException{CancellationReasons: []types.CancellationReason{
			{Code: aws.String("None")}, {Code: aws.String("TransactionConflict")},
		}}
	}
	return &dynamodb.TransactWriteItemsOutput{}, nil
}

func TestRunTransactionsRetryContention(t *testing.T) {
	ctx := context.Background()
	run := &inbox.Run{ID: "01RUN", WorkspaceID: "w1", SequenceID: "s1", ContactID: "c1", Status: inbox.RunStarted}
	db := &conflictingDB{n: 2}
	if err := New(db, "t", nil).CreateRun(ctx, run); err != nil || db.calls != 3 {
		t.Errorf("CreateRun after 2 conflicts: %v in %d calls", err, db.calls)
	}
	db = &conflictingDB{n: 100}
	run.Status = inbox.RunExited
	err := New(db, "t", nil).UpdateRun(ctx, run, inbox.RunStarted)
	if inbox.ErrorKind(err) != inbox.KindUnavailable || db.calls > 10 {
		t.Errorf("UpdateRun under lasting contention: %v in %d calls, want unavailable", err, db.calls)
	}
	failed := &types.TransactionCanceledException{CancellationReasons: []types.CancellationReason{
		{Code: aws.String("ConditionalCheckFailed")}, {Code: aws.String("TransactionConflict")},
	}}
	if transactionConflict(failed) || !errors.Is(runTxError("op", failed, inbox.ErrVersionConflict), inbox.ErrVersionConflict) {
		t.Error("a failed condition was taken for contention")
	}
}
