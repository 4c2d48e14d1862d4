package dynamo_test

import (
	"context"
	"testing"
	"time"

	"github.com/parley-inbox/parley/shared/inbox"
)

func TestDeliveryUpdatesMoveForwardOnly(t *testing.T) {
	svc, store, actor := newService(t)
	ctx := context.Background()
	conv, _, err := svc.StartConversation(ctx, actor, inbox.StartInput{Phone: "+14155550140"})
	if err != nil {
		t.Fatal(err)
	}
	msg, _, err := svc.PostMessage(ctx, actor, conv.ID, inbox.OutboundInput{Channel: inbox.ChannelSMS, Body: "Your table is ready"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := store.PutProviderRef(ctx, actor.WorkspaceID, inbox.ChannelSMS, "SMout1", inbox.ProviderRef{ConversationID: conv.ID, MessageID: msg.ID}); err != nil {
		t.Fatal(err)
	}
	report := func(status inbox.MessageStatus, code string) *inbox.Message {
		t.Helper()
		m, err := svc.ApplyDelivery(ctx, inbox.DeliveryUpdate{WorkspaceID: actor.WorkspaceID, Channel: inbox.ChannelSMS, ProviderID: "SMout1", Status: status, ErrorCode: code, ErrorReason: "reason " + code, At: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	if got := report(inbox.MessageDelivered, "").Status; got != inbox.MessageDelivered {
		t.Errorf("after delivered: %s", got)
	}
	if got := report(inbox.MessageSent, "").Status; got != inbox.MessageDelivered {
		t.Errorf("a late 'sent' moved the message back to %s", got)
	}
	failed := report(inbox.MessageFailed, inbox.TwilioOptedOutCode)
	if failed.Status != inbox.MessageFailed || failed.Error == nil || failed.Error.Code != "21610" {
		t.Errorf("after failed: %+v", failed)
	}
	contact, err := svc.GetContact(ctx, actor, conv.ContactID)
	if err != nil {
		t.Fatal(err)
	}
	if c := contact.ConsentOn(inbox.ChannelSMS); c.Status != inbox.ConsentOptedOut || c.Source != inbox.ConsentSourceProvider {
		t.Errorf("21610 should opt the contact out: %+v", c)
	}
	unknown, err := svc.ApplyDelivery(ctx, inbox.DeliveryUpdate{WorkspaceID: actor.WorkspaceID, Channel: inbox.ChannelSMS, ProviderID: "SMunknown", Status: inbox.MessageDelivered})
	if err != nil || unknown != nil {
		t.Errorf("an unknown id: %v, %v; want ignored", unknown, err)
	}
}
