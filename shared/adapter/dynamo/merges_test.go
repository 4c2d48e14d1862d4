package dynamo_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-inbox/parley/shared/adapter/dynamo"
	"github.com/parley-inbox/parley/shared/inbox"
)

// mergePair makes a phone contact with an SMS thread and a Messenger
// contact with n Messenger messages, opted out of Messenger.
func (f *claimsFixture) mergePair(t *testing.T, n int) (survivor, absorbed *inbox.Contact, handle string) {
	t.Helper()
	ctx := context.Background()
	phone := fmt.Sprintf("+1415555%04d", time.Now().UnixNano()%10000)
	if _, err := f.svc.Ingest(ctx, inbox.Inbound{WorkspaceID: f.actor.WorkspaceID, Channel: inbox.ChannelSMS, Kind: inbox.KindMessage,
		ProviderID: "SM" + inbox.NewID(time.Now()), From: inbox.Correspondent{Phone: phone}, Body: "sms"}); err != nil {
		t.Fatal(err)
	}
	s, err := f.store.FindContactByPhone(ctx, f.actor.WorkspaceID, phone)
	if err != nil {
		t.Fatal(err)
	}
	if s, err = f.svc.UpdateContact(ctx, f.actor, s.ID, inbox.ContactPatch{Tags: &[]string{"both", "phone"}}); err != nil {
		t.Fatal(err)
	}
	handle = inbox.Handle(inbox.ChannelMessenger, inbox.NewID(time.Now()))
	for i := range n {
		if _, err := f.svc.Ingest(ctx, inbox.Inbound{WorkspaceID: f.actor.WorkspaceID, Channel: inbox.ChannelMessenger, Kind: inbox.KindMessage,
			ProviderID: fmt.Sprintf("m_%s_%d", handle, i), From: inbox.Correspondent{Handle: handle}, Body: fmt.Sprintf("fb %d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	id, _, err := f.store.FindCorrespondent(ctx, f.actor.WorkspaceID, inbox.Correspondent{Handle: handle})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.UpdateContact(ctx, f.actor, id, inbox.ContactPatch{Tags: &[]string{"both", "fb"}}); err != nil {
		t.Fatal(err)
	}
	a, err := f.svc.SetConsent(ctx, f.actor, id, "messenger", inbox.ConsentOptedOut)
	if err != nil {
		t.Fatal(err)
	}
	return s, a, handle
}

// checkMerged checks the end state of a merge of mergePair's contacts.
func (f *claimsFixture) checkMerged(t *testing.T, survivor, absorbed *inbox.Contact, handle string, n int) {
	t.Helper()
	ctx := context.Background()
	got, err := f.store.GetContact(ctx, f.actor.WorkspaceID, survivor.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Phones, survivor.Phones) || !slices.Equal(got.Handles, []string{handle}) || !slices.Equal(got.Tags, []string{"both", "fb", "phone"}) {
		t.Errorf("merged contact: phones %v handles %v tags %v", got.Phones, got.Handles, got.Tags)
	}
	if cc := got.ConsentOn(inbox.ChannelMessenger); cc.Status != inbox.ConsentOptedOut || cc.Source != inbox.ConsentSourceMerge {
		t.Errorf("merged contact's Messenger consent = %+v, want opted out by merge", cc)
	}
	if _, err := f.store.GetContact(ctx, f.actor.WorkspaceID, absorbed.ID); !inbox.IsKind(err, inbox.KindNotFound) {
		t.Errorf("absorbed contact: err = %v, want not found", err)
	}
	owner, conv, err := f.store.FindCorrespondent(ctx, f.actor.WorkspaceID, inbox.Correspondent{Handle: handle})
	if err != nil || owner != survivor.ID || conv != survivor.ConversationID {
		t.Errorf("the handle routes to %s/%s (%v), want %s/%s", owner, conv, err, survivor.ID, survivor.ConversationID)
	}
	page, err := f.store.ListMessages(ctx, f.actor.WorkspaceID, survivor.ConversationID, inbox.PageRequest{Limit: inbox.MaxPageSize})
	if err != nil {
		t.Fatal(err)
	}
	var fb, notes int
	for _, m := range page.Items {
		switch {
		case m.Channel == inbox.ChannelMessenger && m.Kind == inbox.KindMessage:
			fb++
		case m.Kind == inbox.KindActivity && strings.HasPrefix(m.Body, "Merged "):
			notes++
		}
	}
	if fb != n || notes != 1 {
		t.Errorf("the survivor's thread holds %d Messenger messages and %d merge notes, want %d and 1", fb, notes, n)
	}
	history, err := f.store.ListConsentHistory(ctx, f.actor.WorkspaceID, survivor.ID, inbox.PageRequest{Limit: inbox.MaxPageSize})
	if err != nil {
		t.Fatal(err)
	}
	var copied, merged int
	for _, r := range history.Items {
		if r.MergedFrom == absorbed.ID {
			copied++
		}
		if r.Source == inbox.ConsentSourceMerge {
			merged++
		}
	}
	if copied != 1 || merged != 1 {
		t.Errorf("the survivor's consent history has %d entries copied and %d merge entries, want 1 and 1: %+v", copied, merged, history.Items)
	}
	tags, err := f.store.ListTags(ctx, f.actor.WorkspaceID, "", inbox.PageRequest{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int64{}
	for _, tc := range tags.Items {
		counts[tc.Name] = tc.Count
	}
	if counts["both"] != 1 || counts["fb"] != 1 || counts["phone"] != 1 {
		t.Errorf("tag counts %v, want 1 each", counts)
	}
}

// A merge crashing at any write is finished by repeating the request: the
// contacts, claims, thread, consent and tag counts end as after a merge
// that never failed, with one note.
func TestInterruptedMergeFinishesOnRetry(t *testing.T) {
	for failAt := int64(1); ; failAt++ {
		var done bool
		for _, after := range []bool{false, true} {
			t.Run(fmt.Sprintf("write%d/after=%v", failAt, after), func(t *testing.T) {
				f := newClaimsFixture(t)
				ctx := context.Background()
				survivor, absorbed, handle := f.mergePair(t, 3)
				crashing, db := f.crashing(failAt, after)
				_, err := crashing.MergeContacts(ctx, f.actor, survivor.ID, absorbed.ID, 0)
				if db.writes.Load() < failAt {
					done = true
					if err != nil {
						t.Fatalf("uninterrupted merge: %v", err)
					}
				} else {
					m, err := f.svc.MergeContacts(ctx, f.actor, survivor.ID, absorbed.ID, 0)
					if err != nil || m.Status != inbox.MergeDone {
						t.Fatalf("repeated merge after a crash at write %d: %+v, %v", failAt, m, err)
					}
				}
				f.checkMerged(t, survivor, absorbed, handle, 3)
			})
		}
		if done || t.Failed() {
			return
		}
	}
}

// A long thread moves in batches: a merge limited to fewer messages than
// the thread stops part way and reports it, and the next run finishes it.
// It logs the write units per message moved.
func TestMergeMovesInBatches(t *testing.T) {
	f := newClaimsFixture(t)
	ctx := context.Background()
	const n = 60
	survivor, absorbed, handle := f.mergePair(t, n)
	_, svc := f.billed()
	var meter dynamo.Meter
	start := time.Now()
	m, err := svc.MergeContacts(dynamo.WithMeter(ctx, &meter), f.actor, survivor.ID, absorbed.ID, inbox.MergeBatch)
	if err != nil || m.Status != inbox.MergeRunning || m.Moved != inbox.MergeBatch {
		t.Fatalf("first run = %+v, %v; want running with %d moved", m, err, inbox.MergeBatch)
	}
	if m, err = svc.ContinueMerge(dynamo.WithMeter(ctx, &meter), f.actor.WorkspaceID, m.ID); err != nil || m.Status != inbox.MergeDone || m.Moved != n {
		t.Fatalf("continued = %+v, %v; want done with %d moved", m, err, n)
	}
	elapsed := time.Since(start)
	f.checkMerged(t, survivor, absorbed, handle, n)
	t.Logf("merge of %d messages in %s: %.1f WRU (transactions as billed), %.1f RRU, %d calls", n, elapsed.Round(time.Millisecond), meter.Write, meter.Read, meter.Calls)
}

// Refused merges change nothing: past a contact's limits, into itself, or
// touching a contact already under another merge.
func TestMergeRefusals(t *testing.T) {
	f := newClaimsFixture(t)
	ctx := context.Background()
	var six, five []string
	for i := range 6 {
		six = append(six, fmt.Sprintf("+1415555%04d", 1000+i))
	}
	for i := range 5 {
		five = append(five, fmt.Sprintf("+1415555%04d", 2000+i))
	}
	a, err := f.svc.CreateContact(ctx, f.actor, inbox.ContactInput{Name: "A", Phones: six})
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.svc.CreateContact(ctx, f.actor, inbox.ContactInput{Name: "B", Phones: five})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.MergeContacts(ctx, f.actor, a.ID, b.ID, 0); !inbox.IsKind(err, inbox.KindConflict) {
		t.Errorf("11 phones: err = %v, want conflict", err)
	}
	if _, err := f.svc.MergeContacts(ctx, f.actor, a.ID, a.ID, 0); !inbox.IsKind(err, inbox.KindInvalid) {
		t.Errorf("self-merge: err = %v, want invalid", err)
	}
	if _, err := f.store.GetMerge(ctx, f.actor.WorkspaceID, b.ID); !inbox.IsKind(err, inbox.KindNotFound) {
		t.Errorf("a refused merge left a job: %v", err)
	}
	if got, _ := f.store.GetContact(ctx, f.actor.WorkspaceID, b.ID); got == nil || len(got.Phones) != 5 {
		t.Errorf("a refused merge changed B: %+v", got)
	}
	c, err := f.svc.CreateContact(ctx, f.actor, inbox.ContactInput{Name: "C"})
	if err != nil {
		t.Fatal(err)
	}
	// A merge of B into C under way (stopped before its first batch).
	now := time.Now().UTC()
	if err := f.store.StartMerge(ctx, &inbox.Merge{ID: b.ID, WorkspaceID: f.actor.WorkspaceID, ContactID: c.ID, From: b.ID,
		Status: inbox.MergeRunning, CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	for _, pair := range [][2]string{{a.ID, c.ID}, {c.ID, a.ID}, {a.ID, b.ID}} {
		if _, err := f.svc.MergeContacts(ctx, f.actor, pair[0], pair[1], 0); !inbox.IsKind(err, inbox.KindConflict) {
			t.Errorf("merge %s into %s while B merges into C: err = %v, want conflict", pair[1], pair[0], err)
		}
	}
}

// Two runs of one merge at once (a repeated request while the background
// run goes on) move each message once and count it once.
func TestConcurrentRunsOfOneMerge(t *testing.T) {
	f := newClaimsFixture(t)
	ctx := context.Background()
	const n = 80
	survivor, absorbed, handle := f.mergePair(t, n)
	m, err := f.svc.MergeContacts(ctx, f.actor, survivor.ID, absorbed.ID, 1)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = f.svc.ContinueMerge(ctx, f.actor.WorkspaceID, m.ID)
		}()
	}
	wg.Wait()
	if _, err := f.svc.ContinueMerge(ctx, f.actor.WorkspaceID, m.ID); err != nil {
		t.Fatalf("runs ended with %v; the last: %v", errs, err)
	}
	done, err := f.store.GetMerge(ctx, f.actor.WorkspaceID, m.ID)
	if err != nil || done.Status != inbox.MergeDone || done.Moved != n {
		t.Errorf("merge = %+v, %v; want done with %d moved (runs: %v)", done, err, n, errs)
	}
	f.checkMerged(t, survivor, absorbed, handle, n)
}
