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

func newRun(ws, sequenceID, contactID string) *inbox.Run {
	now := time.Now().UTC().Truncate(time.Millisecond)
	id := inbox.NewID(now)
	return &inbox.Run{
		ID: id, WorkspaceID: ws, Kind: inbox.SequenceDrip, SequenceID: sequenceID, SequenceName: "Follow up",
		ContactID: contactID, Status: inbox.RunStarted, Execution: inbox.ExecutionName(inbox.SequenceDrip, id),
		Steps:     []inbox.DripStep{{AfterMinutes: 60, Channel: inbox.ChannelSMS, Body: "Hi!"}},
		StartedAt: now, UpdatedAt: now,
	}
}

// wantCounts checks every status's count; statuses not in want are 0.
func wantCounts(t *testing.T, store *dynamo.Store, ws, sequenceID string, want map[inbox.RunStatus]int) {
	t.Helper()
	got, err := store.RunCounts(context.Background(), ws, sequenceID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(inbox.RunStatuses) {
		t.Errorf("counts %v do not have every status", got)
	}
	for _, st := range inbox.RunStatuses {
		if n, ok := got[st]; !ok || n != want[st] {
			t.Errorf("%s count = %d (present %v), want %d", st, n, ok, want[st])
		}
	}
}

func runIDs(runs []*inbox.Run) []string {
	ids := make([]string, len(runs))
	for i, r := range runs {
		ids[i] = r.ID
	}
	return ids
}

func TestCreateRunOnceAndCountIt(t *testing.T) {
	store := dynamotest.Store(t)
	ctx := context.Background()
	ws, seq := inbox.NewID(time.Now()), inbox.NewID(time.Now())
	wantCounts(t, store, ws, seq, map[inbox.RunStatus]int{})

	r := newRun(ws, seq, "contact-1")
	var m dynamo.Meter
	if err := store.CreateRun(dynamo.WithMeter(ctx, &m), r); err != nil {
		t.Fatal(err)
	}
	t.Logf("create run: %.1f WRU in %d calls", m.Write, m.Calls)
	dup := *r
	err := store.CreateRun(ctx, &dup)
	var ie *inbox.Error
	if !errors.As(err, &ie) || ie.Kind != inbox.KindConflict {
		t.Errorf("second CreateRun: %v, want a conflict", err)
	}
	wantCounts(t, store, ws, seq, map[inbox.RunStatus]int{inbox.RunStarted: 1})

	got, err := store.GetRun(ctx, ws, "contact-1", r.ID)
	if err != nil || got.Status != inbox.RunStarted || got.SequenceID != seq || len(got.Steps) != 1 || !got.StartedAt.Equal(r.StartedAt) {
		t.Fatalf("get = %+v, %v", got, err)
	}
	if _, err := store.GetRun(ctx, ws, "contact-2", r.ID); inbox.ErrorKind(err) != inbox.KindNotFound {
		t.Errorf("run under another contact: %v, want not found", err)
	}
}

func TestUpdateRunMovesCountsAndLists(t *testing.T) {
	store := dynamotest.Store(t)
	ctx := context.Background()
	ws, seq := inbox.NewID(time.Now()), inbox.NewID(time.Now())
	r := newRun(ws, seq, "contact-1")
	if err := store.CreateRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	listed := func(st inbox.RunStatus) []string {
		t.Helper()
		page, err := store.ListRuns(ctx, ws, seq, st, inbox.PageRequest{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		return runIDs(page.Items)
	}
	if ids := listed(inbox.RunStarted); len(ids) != 1 || ids[0] != r.ID {
		t.Fatalf("started runs = %v", ids)
	}

	// Same status: a plain conditional put, counts untouched.
	r.Step, r.StepsDone = 1, 1
	if err := store.UpdateRun(ctx, r, inbox.RunStarted); err != nil {
		t.Fatal(err)
	}
	wantCounts(t, store, ws, seq, map[inbox.RunStatus]int{inbox.RunStarted: 1})

	stale := *r
	r.Status, r.Reason = inbox.RunExited, inbox.StopReplied
	var m dynamo.Meter
	if err := store.UpdateRun(dynamo.WithMeter(ctx, &m), r, inbox.RunStarted); err != nil {
		t.Fatal(err)
	}
	t.Logf("update run status: %.1f WRU in %d calls", m.Write, m.Calls)
	wantCounts(t, store, ws, seq, map[inbox.RunStatus]int{inbox.RunExited: 1})
	if ids := listed(inbox.RunStarted); len(ids) != 0 {
		t.Errorf("an exited run is still listed as started: %v", ids)
	}
	if ids := listed(inbox.RunExited); len(ids) != 1 || ids[0] != r.ID {
		t.Errorf("exited runs = %v", ids)
	}

	// A writer that still thinks the run is started loses, and moves nothing.
	stale.Status = inbox.RunCompleted
	if err := store.UpdateRun(ctx, &stale, inbox.RunStarted); !errors.Is(err, inbox.ErrVersionConflict) {
		t.Errorf("status change from a stale status: %v, want a version conflict", err)
	}
	stale.Status = inbox.RunStarted
	stale.Step = 2
	if err := store.UpdateRun(ctx, &stale, inbox.RunStarted); !errors.Is(err, inbox.ErrVersionConflict) {
		t.Errorf("same-status update from a stale status: %v, want a version conflict", err)
	}
	wantCounts(t, store, ws, seq, map[inbox.RunStatus]int{inbox.RunExited: 1})
	got, err := store.GetRun(ctx, ws, "contact-1", r.ID)
	if err != nil || got.Status != inbox.RunExited || got.Reason != inbox.StopReplied || got.Step != 1 {
		t.Errorf("after the stale writes: %+v, %v", got, err)
	}
	if _, err := store.GetRun(ctx, ws, "contact-1", "missing"); inbox.ErrorKind(err) != inbox.KindNotFound {
		t.Errorf("missing run: %v", err)
	}
	if err := store.UpdateRun(ctx, newRun(ws, seq, "contact-9"), inbox.RunStarted); !errors.Is(err, inbox.ErrVersionConflict) {
		t.Errorf("updating a run never created: %v, want a version conflict", err)
	}
}

func TestContactRunsSpanSequences(t *testing.T) {
	store := dynamotest.Store(t)
	ctx := context.Background()
	ws := inbox.NewID(time.Now())
	drip, auto := newRun(ws, "campaign-1", "contact-1"), newRun(ws, "automation-1", "contact-1")
	auto.Kind = inbox.SequenceAutomation
	for _, r := range []*inbox.Run{drip, auto, newRun(ws, "campaign-1", "contact-2")} {
		if err := store.CreateRun(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	auto.Status = inbox.RunCompleted
	if err := store.UpdateRun(ctx, auto, inbox.RunStarted); err != nil {
		t.Fatal(err)
	}
	runs, err := store.ContactRuns(ctx, ws, "contact-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 2 || runs[0].ID != drip.ID || runs[1].ID != auto.ID || runs[1].Status != inbox.RunCompleted || runs[1].Kind != inbox.SequenceAutomation {
		t.Fatalf("contact runs = %v", runIDs(runs))
	}
	if runs, err := store.ContactRuns(ctx, ws, "contact-3"); err != nil || len(runs) != 0 {
		t.Errorf("contact without runs: %v, %v", runIDs(runs), err)
	}
}

func TestListRunsPages(t *testing.T) {
	store := dynamotest.Store(t)
	ctx := context.Background()
	ws, seq := inbox.NewID(time.Now()), inbox.NewID(time.Now())
	var want []string
	for i := range 5 {
		r := newRun(ws, seq, inbox.NewID(time.Now()))
		if err := store.CreateRun(ctx, r); err != nil {
			t.Fatal(err)
		}
		want = append(want, r.ID)
		if i == 0 { // another sequence's and another status's runs are not listed
			other := newRun(ws, "other", r.ContactID)
			if err := store.CreateRun(ctx, other); err != nil {
				t.Fatal(err)
			}
		}
	}
	exited := newRun(ws, seq, "contact-x")
	if err := store.CreateRun(ctx, exited); err != nil {
		t.Fatal(err)
	}
	exited.Status = inbox.RunExited
	if err := store.UpdateRun(ctx, exited, inbox.RunStarted); err != nil {
		t.Fatal(err)
	}

	var got []string
	var first string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		page, err := store.ListRuns(ctx, ws, seq, inbox.RunStarted, inbox.PageRequest{Limit: 2, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Items) > 2 {
			t.Fatalf("page of %d runs, limit 2", len(page.Items))
		}
		got = append(got, runIDs(page.Items)...)
		if pages == 0 {
			first = page.NextCursor
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	if len(got) != len(want) {
		t.Fatalf("listed %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("listed %v, want oldest first %v", got, want)
		}
	}

	tampered := []byte(first)
	tampered[len(tampered)/3] ^= 1
	for name, req := range map[string]struct {
		ws, seq string
		status  inbox.RunStatus
		cursor  string
	}{
		"tampered":        {ws, seq, inbox.RunStarted, string(tampered)},
		"other status":    {ws, seq, inbox.RunExited, first},
		"other sequence":  {ws, "other", inbox.RunStarted, first},
		"other workspace": {inbox.NewID(time.Now()), seq, inbox.RunStarted, first},
	} {
		_, err := store.ListRuns(ctx, req.ws, req.seq, req.status, inbox.PageRequest{Limit: 2, Cursor: req.cursor})
		if inbox.ErrorKind(err) != inbox.KindInvalid {
			t.Errorf("%s cursor: %v, want invalid", name, err)
		}
	}
	if _, err := store.ListTasks(ctx, ws, inbox.Unassigned, inbox.PageRequest{Limit: 2, Cursor: first}); inbox.ErrorKind(err) != inbox.KindInvalid {
		t.Errorf("a runs cursor was accepted by the task queue: %v", err)
	}
}
