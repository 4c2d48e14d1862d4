package dynamo_test

import (
	"context"
	"errors"
	"testing"

	"github.com/parley-inbox/parley/shared/dev/inboxtest"
	"github.com/parley-inbox/parley/shared/inbox"
)

// flakySequencer refuses to start executions until healed.
type flakySequencer struct {
	down    bool
	started []string
	stopped []string
}

func (f *flakySequencer) Start(_ context.Context, _ inbox.SequenceKind, name string, _ []byte) error {
	if f.down {
		return inbox.Errorf(inbox.KindUnavailable, "Step Functions is throttling")
	}
	f.started = append(f.started, name)
	return nil
}

func (f *flakySequencer) Stop(_ context.Context, _ inbox.SequenceKind, name, _ string) error {
	f.stopped = append(f.stopped, name)
	return nil
}

func (f *flakySequencer) ResumeTask(context.Context, string, []byte) error {
	return errors.New("no tasks here")
}

func runStarted(r *inbox.Run) inbox.Event {
	return inbox.Event{ID: "ev:" + r.ID, Type: inbox.EventRunStarted, WorkspaceID: r.WorkspaceID, OccurredAt: r.StartedAt,
		ContactID: r.ContactID, RunID: r.ID, SequenceID: r.SequenceID, SequenceKind: r.Kind}
}

// Applying a campaign only writes the run; its run.started event starts
// the execution, retried until Step Functions takes it, and never for a
// run that ended first.
func TestRunsStartFromTheirEvent(t *testing.T) {
	_, store, actor := newService(t)
	ctx := context.Background()
	seq := &flakySequencer{down: true}
	svc := inboxtest.New(store, inboxtest.Deps{Sequencer: seq})
	campaign, err := svc.CreateCampaign(ctx, actor, inbox.CampaignInput{Name: "Welcome", Steps: []inbox.DripStep{{AfterMinutes: 60, Channel: inbox.ChannelSMS, Body: "Hi"}}})
	if err != nil {
		t.Fatal(err)
	}
	contact := func(phone string) *inbox.Contact {
		c, err := svc.CreateContact(ctx, actor, inbox.ContactInput{Name: "Sam " + phone, Phones: []string{phone}})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}

	run, created, err := svc.ApplyCampaign(ctx, actor, campaign.ID, contact("+14155550181").ID)
	if err != nil || !created || run.Status != inbox.RunStarted {
		t.Fatalf("apply while Step Functions is down: %+v %v %v", run, created, err)
	}
	if err := svc.HandleEvent(ctx, runStarted(run)); !inbox.IsKind(err, inbox.KindUnavailable) {
		t.Fatalf("start while down: %v, want unavailable (the bus retries)", err)
	}
	seq.down = false
	for range 2 { // the retry, then a redelivery
		if err := svc.HandleEvent(ctx, runStarted(run)); err != nil {
			t.Fatal(err)
		}
	}
	if len(seq.started) != 2 || seq.started[0] != run.Execution || seq.started[1] != run.Execution {
		t.Errorf("started %v, want %s (by name, so the repeat is a no-op)", seq.started, run.Execution)
	}

	canceled, _, err := svc.ApplyCampaign(ctx, actor, campaign.ID, contact("+14155550182").ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CancelRun(ctx, actor, canceled.ContactID, canceled.ID); err != nil {
		t.Fatal(err)
	}
	if err := svc.HandleEvent(ctx, runStarted(canceled)); err != nil {
		t.Fatal(err)
	}
	if len(seq.started) != 2 {
		t.Errorf("a run canceled before its event was started: %v", seq.started)
	}
}
