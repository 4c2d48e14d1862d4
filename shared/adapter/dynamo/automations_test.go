package dynamo_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/parley-inbox/parley/shared/dev/dynamotest"
	"github.com/parley-inbox/parley/shared/inbox"
)

func TestAutomationCRUDAndVersions(t *testing.T) {
	store := dynamotest.Store(t)
	ctx := context.Background()
	ws := inbox.NewID(time.Now())
	now := time.Now().UTC().Truncate(time.Millisecond)
	newAutomation := func(name string) *inbox.Automation {
		return &inbox.Automation{
			ID: inbox.NewID(now), WorkspaceID: ws, Name: name, Enabled: true,
			Trigger:   inbox.Trigger{Type: inbox.TriggerTagged, Tag: "vip"},
			Steps:     []inbox.AutomationStep{{Type: inbox.StepDelay, Minutes: 60}, {Type: inbox.StepMessage, Mode: inbox.ModeSendNow, Channel: inbox.ChannelSMS, Body: "Hi"}},
			CreatedAt: now, UpdatedAt: now,
		}
	}
	welcome, beta := newAutomation("welcome"), newAutomation("Beta")
	for _, a := range []*inbox.Automation{welcome, beta} {
		if err := store.PutAutomation(ctx, a); err != nil || a.Version != 1 {
			t.Fatalf("create %s: version %d, %v", a.Name, a.Version, err)
		}
	}
	again := newAutomation("welcome")
	again.ID = welcome.ID
	if err := store.PutAutomation(ctx, again); !errors.Is(err, inbox.ErrVersionConflict) {
		t.Errorf("creating an existing automation: %v, want a version conflict", err)
	}

	got, err := store.GetAutomation(ctx, ws, welcome.ID)
	if err != nil || got.Name != "welcome" || got.Version != 1 || len(got.Steps) != 2 || got.Trigger.Tag != "vip" || !got.CreatedAt.Equal(now) {
		t.Fatalf("get = %+v, %v", got, err)
	}
	stale := *got
	got.Name, got.Enabled = "Welcome (v2)", false
	if err := store.PutAutomation(ctx, got); err != nil || got.Version != 2 {
		t.Fatalf("update: version %d, %v", got.Version, err)
	}
	stale.Name = "lost update"
	if err := store.PutAutomation(ctx, &stale); inbox.ErrorKind(err) != inbox.KindConflict {
		t.Errorf("update from a stale copy: %v, want a conflict", err)
	}

	list, err := store.ListAutomations(ctx, ws)
	if err != nil || len(list) != 2 || list[0].Name != "Beta" || list[1].Name != "Welcome (v2)" || list[1].Enabled {
		t.Fatalf("list = %+v, %v", list, err)
	}
	if other, err := store.ListAutomations(ctx, inbox.NewID(now)); err != nil || len(other) != 0 {
		t.Errorf("another workspace lists %d automations, %v", len(other), err)
	}

	// Deleting removes the automation and its counts; runs stay as history.
	run := newRun(ws, welcome.ID, "contact-1")
	run.Kind = inbox.SequenceAutomation
	if err := store.CreateRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	if err := store.DeleteAutomation(ctx, got); err != nil {
		t.Fatal(err)
	}
	if _, err := store.GetAutomation(ctx, ws, welcome.ID); inbox.ErrorKind(err) != inbox.KindNotFound {
		t.Errorf("after delete: %v, want not found", err)
	}
	wantCounts(t, store, ws, welcome.ID, map[inbox.RunStatus]int{})
	if _, err := store.GetRun(ctx, ws, "contact-1", run.ID); err != nil {
		t.Errorf("the run went with its automation: %v", err)
	}
	if list, _ := store.ListAutomations(ctx, ws); len(list) != 1 {
		t.Errorf("after delete the list has %d automations, want 1", len(list))
	}
}

func TestDeleteCampaignDeletesItsRunCounts(t *testing.T) {
	store := dynamotest.Store(t)
	ctx := context.Background()
	ws := inbox.NewID(time.Now())
	c := &inbox.Campaign{ID: inbox.NewID(time.Now()), WorkspaceID: ws, Name: "Drip",
		Steps: []inbox.DripStep{{AfterMinutes: 5, Channel: inbox.ChannelSMS, Body: "Hi"}}}
	if err := store.PutCampaign(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := store.CreateRun(ctx, newRun(ws, c.ID, "contact-1")); err != nil {
		t.Fatal(err)
	}
	wantCounts(t, store, ws, c.ID, map[inbox.RunStatus]int{inbox.RunStarted: 1})
	if err := store.DeleteCampaign(ctx, c); err != nil {
		t.Fatal(err)
	}
	if _, err := store.GetCampaign(ctx, ws, c.ID); inbox.ErrorKind(err) != inbox.KindNotFound {
		t.Errorf("after delete: %v, want not found", err)
	}
	wantCounts(t, store, ws, c.ID, map[inbox.RunStatus]int{})
}
