package dynamo_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/parley-inbox/parley/shared/adapter/dynamo"
	"github.com/parley-inbox/parley/shared/inbox"
)

func TestChangingAPhoneReleasesTheOldOne(t *testing.T) {
	svc, _, actor := newService(t)
	ctx := context.Background()
	a, err := svc.CreateContact(ctx, actor, inbox.ContactInput{Name: "A", Phones: []string{"+14155550110"}})
	if err != nil {
		t.Fatal(err)
	}
	newPhones := []string{"+14155550111"}
	if _, err := svc.UpdateContact(ctx, actor, a.ID, inbox.ContactPatch{Phones: &newPhones}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateContact(ctx, actor, inbox.ContactInput{Name: "B", Phones: []string{"+14155550110"}}); err != nil {
		t.Errorf("the released phone could not be reused: %v", err)
	}
	page, err := svc.SearchContacts(ctx, actor, inbox.ContactQuery{Phone: "+14155550111"}, inbox.PageRequest{})
	found := page.Items
	if err != nil || len(found) != 1 || found[0].ID != a.ID {
		t.Errorf("search by the new phone = %v, %v; want contact %s", found, err, a.ID)
	}
	taken := []string{"+14155550110"}
	_, err = svc.UpdateContact(ctx, actor, a.ID, inbox.ContactPatch{Phones: &taken})
	if got := inbox.ErrorKind(err); got != inbox.KindConflict {
		t.Errorf("taking another contact's phone: kind %q, want conflict", got)
	}
}

func TestFilteredInboxPagesCoverEveryMatchOnce(t *testing.T) {
	svc, _, actor := newService(t)
	ctx := context.Background()
	want := map[string]bool{}
	for i := range 30 {
		c, _, err := svc.StartConversation(ctx, actor, inbox.StartInput{Phone: fmt.Sprintf("+1415555%04d", 200+i)})
		if err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 {
			if _, err := svc.SetUnread(ctx, actor, c.ID, true); err != nil {
				t.Fatal(err)
			}
			want[c.ID] = true
		}
	}
	unread := true
	seen := map[string]bool{}
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 20 {
			t.Fatal("pagination does not end")
		}
		page, err := svc.Inbox(ctx, actor, inbox.InboxFilter{Unread: &unread}, inbox.PageRequest{Limit: 3, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range page.Items {
			if seen[c.ID] || !want[c.ID] {
				t.Fatalf("page returned %s: duplicate=%v unexpected=%v", c.ID, seen[c.ID], !want[c.ID])
			}
			seen[c.ID] = true
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	if len(seen) != len(want) {
		t.Errorf("saw %d unread conversations, want %d", len(seen), len(want))
	}
}

func TestDeleteConversationRemovesMessagesAndUnlinksContact(t *testing.T) {
	svc, _, actor := newService(t)
	ctx := context.Background()
	conv, _, err := svc.StartConversation(ctx, actor, inbox.StartInput{Phone: "+14155550120"})
	if err != nil {
		t.Fatal(err)
	}
	for range 30 {
		if _, _, err := svc.PostMessage(ctx, actor, conv.ID, inbox.OutboundInput{Channel: inbox.ChannelSMS, Body: "x"}, ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := svc.DeleteConversation(ctx, actor, conv.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.GetConversation(ctx, actor, conv.ID); inbox.ErrorKind(err) != inbox.KindNotFound {
		t.Errorf("deleted conversation: %v, want not found", err)
	}
	if _, err := svc.ListMessages(ctx, actor, conv.ID, inbox.PageRequest{}); inbox.ErrorKind(err) != inbox.KindNotFound {
		t.Errorf("messages of a deleted conversation: %v, want not found", err)
	}
	again, created, err := svc.StartConversation(ctx, actor, inbox.StartInput{Phone: "+14155550120"})
	if err != nil || !created || again.ID == conv.ID {
		t.Errorf("restart after delete = %v created=%v err=%v; want a new thread", again, created, err)
	}
	page, err := svc.ListMessages(ctx, actor, again.ID, inbox.PageRequest{})
	if err != nil || len(page.Items) != 0 {
		t.Errorf("the new thread has %d messages, want 0 (%v)", len(page.Items), err)
	}
}

func TestLabelNamesAreUniqueIgnoringCase(t *testing.T) {
	svc, _, actor := newService(t)
	ctx := context.Background()
	l, err := svc.CreateLabel(ctx, actor, inbox.LabelInput{Name: "Billing"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateLabel(ctx, actor, inbox.LabelInput{Name: "billing"}); inbox.ErrorKind(err) != inbox.KindConflict {
		t.Errorf("duplicate name: %v, want conflict", err)
	}
	name := "Invoices"
	if _, err := svc.UpdateLabel(ctx, actor, l.ID, inbox.LabelPatch{Name: &name}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateLabel(ctx, actor, inbox.LabelInput{Name: "Billing"}); err != nil {
		t.Errorf("the old name was not released by the rename: %v", err)
	}
}

func TestRequestLogClaimsOnce(t *testing.T) {
	_, store, actor := newService(t)
	ctx := context.Background()
	prev, err := store.ClaimRequest(ctx, actor.WorkspaceID, "h1", "f1")
	if err != nil || prev != nil {
		t.Fatalf("first claim = %v, %v; want nil, nil", prev, err)
	}
	prev, err = store.ClaimRequest(ctx, actor.WorkspaceID, "h1", "f1")
	if err != nil || prev == nil || prev.Status != 0 {
		t.Fatalf("claim while running = %+v, %v; want the in-progress record", prev, err)
	}
	if err := store.CompleteRequest(ctx, actor.WorkspaceID, "h1", 201, []byte(`{"id":"x"}`)); err != nil {
		t.Fatal(err)
	}
	prev, err = store.ClaimRequest(ctx, actor.WorkspaceID, "h1", "f1")
	if err != nil || prev == nil || prev.Status != 201 || string(prev.Body) != `{"id":"x"}` || prev.Fingerprint != "f1" {
		t.Fatalf("claim after completion = %+v, %v", prev, err)
	}
	if err := store.ReleaseRequest(ctx, actor.WorkspaceID, "h1"); err != nil {
		t.Fatal(err)
	}
	if prev, err := store.ClaimRequest(ctx, actor.WorkspaceID, "h1", "f2"); err != nil || prev != nil {
		t.Fatalf("claim after release = %v, %v; want a fresh claim", prev, err)
	}
}

// New inbound activity makes a conversation unread and sorts it first, so
// the unread view's matches sit at the top of the index: such a page must
// cost what the plain page does, not the four pages a sparse view may read.
func TestAFilteredPageStopsReadingWhenItIsFull(t *testing.T) {
	svc, _, actor := newService(t)
	ctx := context.Background()
	for i := range 60 {
		c, _, err := svc.StartConversation(ctx, actor, inbox.StartInput{Phone: fmt.Sprintf("+1415555%04d", 300+i)})
		if err != nil {
			t.Fatal(err)
		}
		if i >= 30 { // the 30 most recent
			if _, err := svc.SetUnread(ctx, actor, c.ID, true); err != nil {
				t.Fatal(err)
			}
		}
	}
	page := func(f inbox.InboxFilter) float64 {
		var m dynamo.Meter
		got, err := svc.Inbox(dynamo.WithMeter(ctx, &m), actor, f, inbox.PageRequest{Limit: 25})
		if err != nil || len(got.Items) != 25 || got.NextCursor == "" {
			t.Fatalf("page %+v: %d items, cursor %q, %v", f, len(got.Items), got.NextCursor, err)
		}
		return m.Read
	}
	unread := true
	plain, filtered := page(inbox.InboxFilter{}), page(inbox.InboxFilter{Unread: &unread})
	t.Logf("plain page %.1f RRU, unread page %.1f RRU", plain, filtered)
	if filtered > plain {
		t.Errorf("a full unread page cost %.1f RRU, the plain page %.1f", filtered, plain)
	}
	// A sparse view still ends: nobody is assigned, so it examines its
	// bounded share of the index and returns a cursor to go on.
	var m dynamo.Meter
	if _, err := svc.Inbox(dynamo.WithMeter(ctx, &m), actor, inbox.InboxFilter{Assignee: "nobody-has-this"}, inbox.PageRequest{Limit: 25}); err != nil {
		t.Fatal(err)
	}
	if m.Read > 4*plain {
		t.Errorf("a sparse view cost %.1f RRU, over four plain pages (%.1f)", m.Read, 4*plain)
	}
}
