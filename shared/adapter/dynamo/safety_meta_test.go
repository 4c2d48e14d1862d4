package dynamo_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/parley-inbox/parley/shared/inbox"
)

// A read receipt looks at one page of the thread's newest entries, never
// the whole thread, and a redelivered receipt changes nothing.
func TestReadReceiptIsBoundedAndIdempotent(t *testing.T) {
	svc, _, _, actor, _ := deliverySetup(t)
	ctx := context.Background()
	const psid = "6735418290567182"
	handle := inbox.Handle(inbox.ChannelMessenger, psid)
	in, err := svc.Ingest(ctx, inbox.Inbound{WorkspaceID: actor.WorkspaceID, Channel: inbox.ChannelMessenger, Kind: inbox.KindMessage,
		ProviderID: "m_in", From: inbox.Correspondent{Handle: handle}, Body: "hello"})
	if err != nil {
		t.Fatal(err)
	}
	conv := in.Conversation.ID
	var sent []*inbox.Message
	for i := range 55 {
		m, _, err := svc.PostMessage(ctx, actor, conv, inbox.OutboundInput{Channel: inbox.ChannelMessenger, Body: fmt.Sprint("reply ", i)}, "")
		if err != nil {
			t.Fatal(err)
		}
		if m = deliver(t, svc, m); m.Status != inbox.MessageSent || m.SentAt == nil {
			t.Fatalf("send %d: %+v", i, m)
		}
		sent = append(sent, m)
	}
	time.Sleep(2 * time.Millisecond)
	receipt := inbox.ReadReceipt{WorkspaceID: actor.WorkspaceID, Channel: inbox.ChannelMessenger, Handle: handle, Until: time.Now()}
	if n, err := svc.ApplyRead(ctx, receipt); err != nil || n != 50 {
		t.Fatalf("ApplyRead = %d, %v; want the 50 newest sends marked read", n, err)
	}
	if n, err := svc.ApplyRead(ctx, receipt); err != nil || n != 0 {
		t.Errorf("the same receipt again = %d, %v; want nothing more", n, err)
	}
	for i, m := range sent {
		got, err := svc.Store.GetMessage(ctx, actor.WorkspaceID, conv, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := inbox.MessageRead
		if i < 5 {
			want = inbox.MessageSent // older than the page: left as it was
		}
		if got.Status != want {
			t.Errorf("send %d is %s, want %s", i, got.Status, want)
		}
	}
	// Someone Parley has no thread with, or a receipt on another channel.
	for _, r := range []inbox.ReadReceipt{
		{WorkspaceID: actor.WorkspaceID, Channel: inbox.ChannelMessenger, Handle: "messenger:1", Until: time.Now()},
		{WorkspaceID: actor.WorkspaceID, Channel: inbox.ChannelInstagram, Handle: "instagram:" + psid, Until: time.Now()},
	} {
		if n, err := svc.ApplyRead(ctx, r); err != nil || n != 0 {
			t.Errorf("ApplyRead(%+v) = %d, %v; want nothing", r, n, err)
		}
	}
}

// A refused message is one activity in its sender's thread however often
// it is delivered, and the thread is unread and open to replies.
func TestRefuseFilesOneNote(t *testing.T) {
	svc, _, actor := newService(t)
	ctx := context.Background()
	wrote := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	in := inbox.Inbound{WorkspaceID: actor.WorkspaceID, Channel: inbox.ChannelWhatsApp, Kind: inbox.KindMessage, ProviderID: "wamid.TOOLONG",
		From: inbox.Correspondent{Phone: "+14155550188"}, Body: strings.Repeat("x", 10001), SentAt: wrote}
	_, err := svc.Ingest(ctx, in)
	if !inbox.IsKind(err, inbox.KindInvalid) {
		t.Fatalf("Ingest = %v, want invalid", err)
	}
	for range 3 {
		if _, err := svc.Refuse(ctx, in, inbox.JSONProblem(err, "").Message); err != nil {
			t.Fatal(err)
		}
	}
	_, convID, err := svc.Store.FindCorrespondent(ctx, actor.WorkspaceID, in.From)
	if err != nil {
		t.Fatal(err)
	}
	msgs := thread(t, svc, actor, convID)
	if len(msgs) != 1 || msgs[0].Kind != inbox.KindActivity || !strings.Contains(msgs[0].Body, "could not be filed: body is longer than 10000 characters") {
		t.Fatalf("thread = %+v, want one activity saying why", msgs)
	}
	conv, err := svc.Store.GetConversation(ctx, actor.WorkspaceID, convID)
	if err != nil {
		t.Fatal(err)
	}
	if !conv.Unread || !conv.LastInboundAt[inbox.ChannelWhatsApp].Equal(wrote) {
		t.Errorf("conversation unread %v, lastInboundAt %v; want unread and the contact's time %v", conv.Unread, conv.LastInboundAt, wrote)
	}
	if _, err := svc.Refuse(ctx, inbox.Inbound{WorkspaceID: actor.WorkspaceID, Channel: inbox.ChannelWhatsApp, Kind: inbox.KindMessage, ProviderID: "x"}, "why"); !inbox.IsKind(err, inbox.KindInvalid) {
		t.Errorf("a refusal naming no sender = %v, want invalid", err)
	}
}
