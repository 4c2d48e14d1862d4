package dynamo_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/parley-inbox/parley/shared/adapter/dynamo"
	"github.com/parley-inbox/parley/shared/dev/inboxtest"
	"github.com/parley-inbox/parley/shared/inbox"
)

func sms(ws, from, sid, body string) inbox.Inbound {
	return inbox.Inbound{WorkspaceID: ws, Channel: inbox.ChannelSMS, Kind: inbox.KindMessage, ProviderID: sid,
		From: inbox.Correspondent{Phone: from}, To: "+14155550100", Body: body}
}

func thread(t *testing.T, svc inboxtest.UseCases, actor inbox.Actor, convID string) []*inbox.Message {
	t.Helper()
	page, err := svc.ListMessages(context.Background(), actor, convID, inbox.PageRequest{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return page.Items
}

func TestIngestNewSenderThenDuplicates(t *testing.T) {
	svc, _, actor := newService(t)
	ctx := context.Background()
	first, err := svc.Ingest(ctx, sms(actor.WorkspaceID, "+14155550130", "SM1", "Hi, is my order ready?"))
	if err != nil {
		t.Fatal(err)
	}
	if first.Duplicate || !first.Conversation.Unread || first.Conversation.Preview != "Hi, is my order ready?" {
		t.Fatalf("first delivery: %+v", first.Conversation)
	}
	// The same webhook, 8 times at once and once more later.
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := svc.Ingest(ctx, sms(actor.WorkspaceID, "+14155550130", "SM1", "Hi, is my order ready?")); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for i := range 5 { // other traffic in between
		if _, err := svc.Ingest(ctx, sms(actor.WorkspaceID, "+14155550130", fmt.Sprintf("SM-other-%d", i), "more")); err != nil {
			t.Fatal(err)
		}
	}
	late, err := svc.Ingest(ctx, sms(actor.WorkspaceID, "+14155550130", "SM1", "Hi, is my order ready?"))
	if err != nil || !late.Duplicate || late.Message.ID != first.Message.ID {
		t.Fatalf("late duplicate = %+v, %v; want a duplicate of %s", late, err, first.Message.ID)
	}
	msgs := thread(t, svc, actor, first.Conversation.ID)
	if len(msgs) != 6 {
		t.Fatalf("thread has %d messages, want 6 (1 + 5 others)", len(msgs))
	}
	found, err := svc.SearchContacts(ctx, actor, inbox.ContactQuery{Phone: "+14155550130"}, inbox.PageRequest{})
	contacts := found.Items
	if err != nil || len(contacts) != 1 || contacts[0].ConversationID != first.Conversation.ID {
		t.Fatalf("contact for the sender = %+v, %v", contacts, err)
	}
}

func TestIngestReopensUnarchivesAndMarksUnread(t *testing.T) {
	svc, _, actor := newService(t)
	ctx := context.Background()
	conv, _, err := svc.StartConversation(ctx, actor, inbox.StartInput{Phone: "+14155550131"})
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []func() (*inbox.Conversation, error){
		func() (*inbox.Conversation, error) { return svc.SetStatus(ctx, actor, conv.ID, inbox.StatusComplete) },
		func() (*inbox.Conversation, error) { return svc.SetArchived(ctx, actor, conv.ID, true) },
	} {
		if _, err := step(); err != nil {
			t.Fatal(err)
		}
	}
	res, err := svc.Ingest(ctx, sms(actor.WorkspaceID, "+14155550131", "SM2", "Back again"))
	if err != nil {
		t.Fatal(err)
	}
	got := res.Conversation
	if got.ID != conv.ID || got.Status != inbox.StatusOpen || got.Archived || !got.Unread || got.LastInboundAt[inbox.ChannelSMS].IsZero() {
		t.Errorf("after an inbound message: %+v", got)
	}
	page, err := svc.Inbox(ctx, actor, inbox.InboxFilter{}, inbox.PageRequest{})
	if err != nil || len(page.Items) != 1 || page.Items[0].ID != conv.ID {
		t.Errorf("the conversation is not back in the inbox: %+v, %v", page.Items, err)
	}
}

func TestSMSKeywords(t *testing.T) {
	svc, _, actor := newService(t)
	ctx := context.Background()
	stop, err := svc.Ingest(ctx, sms(actor.WorkspaceID, "+14155550132", "SM3", "  stop "))
	if err != nil {
		t.Fatal(err)
	}
	contact, err := svc.GetContact(ctx, actor, stop.Message.ContactID)
	if err != nil {
		t.Fatal(err)
	}
	if c := contact.ConsentOn(inbox.ChannelSMS); c.Status != inbox.ConsentOptedOut || c.Source != inbox.ConsentSourceKeyword {
		t.Errorf("consent after STOP = %+v", c)
	}
	// A redelivered STOP adds no second activity.
	if _, err := svc.Ingest(ctx, sms(actor.WorkspaceID, "+14155550132", "SM3", "  stop ")); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Ingest(ctx, sms(actor.WorkspaceID, "+14155550132", "SM4", "Start")); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Ingest(ctx, sms(actor.WorkspaceID, "+14155550132", "SM5", "help")); err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, m := range thread(t, svc, actor, stop.Conversation.ID) {
		kinds = append(kinds, fmt.Sprintf("%s/%s/%s", m.Kind, m.Direction, m.Status))
	}
	want := []string{"message/in/received", "activity//received", "message/in/received", "activity//received", "message/in/received", "message/out/queued"}
	if fmt.Sprint(kinds) != fmt.Sprint(want) {
		t.Errorf("thread = %v\nwant     %v", kinds, want)
	}
	contact, _ = svc.GetContact(ctx, actor, stop.Message.ContactID)
	if c := contact.ConsentOn(inbox.ChannelSMS); c.Status != inbox.ConsentOptedIn {
		t.Errorf("consent after START = %+v", c)
	}
	// A keyword inside a sentence is just a message.
	if inbox.Keyword("please stop calling") != inbox.NoKeyword {
		t.Error("a sentence containing STOP was read as a keyword")
	}
}

func TestIngestCost(t *testing.T) {
	svc, _, actor := newService(t)
	ctx := context.Background()
	if _, err := svc.Ingest(ctx, sms(actor.WorkspaceID, "+14155550133", "SM-a", "first")); err != nil {
		t.Fatal(err)
	}
	for i := range 50 { // a long thread must not cost more
		if _, err := svc.Ingest(ctx, sms(actor.WorkspaceID, "+14155550133", fmt.Sprintf("SM-b%d", i), "more")); err != nil {
			t.Fatal(err)
		}
	}
	var m dynamo.Meter
	if _, err := svc.Ingest(dynamo.WithMeter(ctx, &m), sms(actor.WorkspaceID, "+14155550133", "SM-c", "What time do you open tomorrow?")); err != nil {
		t.Fatal(err)
	}
	t.Logf("inbound SMS to an existing thread: %.1f RRU %.1f WRU", m.Read, m.Write)
	if m.Write > 4 || m.Read > 1 {
		t.Errorf("inbound SMS cost %.1f RRU / %.1f WRU; budget 1 RRU / 4 WRU", m.Read, m.Write)
	}
}

// A refused message raises its thread in the inbox, and the row says when:
// the inbox lists by the thread's activity and shows lastMessageAt, so the
// two must agree (a thread listed first must not show an older time).
func TestRefusedMessageRaisesTheRowWithItsTime(t *testing.T) {
	svc, store, actor := newService(t)
	ctx := context.Background()
	first, err := svc.Ingest(ctx, sms(actor.WorkspaceID, "+14155550131", "SM10", "Hello"))
	if err != nil {
		t.Fatal(err)
	}
	refused, err := svc.Refuse(ctx, sms(actor.WorkspaceID, "+14155550131", "SM11", ""), "the body was over the limit")
	if err != nil {
		t.Fatal(err)
	}
	conv, err := store.GetConversation(ctx, actor.WorkspaceID, first.Conversation.ID)
	if err != nil {
		t.Fatal(err)
	}
	if conv.ActivityID != refused.Message.ID || conv.LastMessageAt == nil || !conv.LastMessageAt.Equal(refused.Message.CreatedAt) {
		t.Errorf("after a refusal: activity %s, lastMessageAt %v; want the refusal's %s at %v",
			conv.ActivityID, conv.LastMessageAt, refused.Message.ID, refused.Message.CreatedAt)
	}
}
