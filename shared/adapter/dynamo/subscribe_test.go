package dynamo_test

import (
	"context"
	"testing"
	"time"

	"github.com/parley-inbox/parley/shared/adapter/dynamo"
	"github.com/parley-inbox/parley/shared/inbox"
)

// Issue 9 items 3 and 12: a signup form's subscription is recorded as
// consent even on a contact too large to take its marketing flag.
func TestSubscribeRecordsConsentOnAFullContact(t *testing.T) {
	svc, _, _, actor, conv := deliverySetup(t)
	ctx := context.Background()
	fillContact(t, svc.Store.(*dynamo.Store), actor.WorkspaceID, conv.ContactID)
	at := time.Now().Add(-time.Minute)
	_, err := svc.AcceptExternalEvent(ctx, actor.WorkspaceID, inbox.ExternalEvent{ID: "form-full", Type: inbox.EventContactSubscribed,
		OccurredAt: &at, Channel: inbox.ChannelWhatsApp, Marketing: true, Contact: inbox.ExternalContact{ID: conv.ContactID}})
	if !inbox.IsKind(err, inbox.KindInvalid) {
		t.Errorf("signup with marketing on a full contact: %v, want invalid (the marketing flag does not fit)", err)
	}
	c, err := svc.GetContact(ctx, actor, conv.ContactID)
	if err != nil {
		t.Fatal(err)
	}
	if cc := c.ConsentOn(inbox.ChannelWhatsApp); cc.Status != inbox.ConsentOptedIn || cc.Source != inbox.ConsentSourceForm {
		t.Errorf("whatsapp consent = %+v, want opted_in by form", cc)
	}
}

// A signup older than the recorded consent (delivered late, or again after
// the contact opted out) does not subscribe the contact again.
func TestSubscribeNeverUndoesALaterOptOut(t *testing.T) {
	svc, _, _, actor, conv := deliverySetup(t)
	ctx := context.Background()
	if _, err := svc.SetConsent(ctx, actor, conv.ContactID, "sms", inbox.ConsentOptedOut); err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(-time.Hour)
	if _, err := svc.AcceptExternalEvent(ctx, actor.WorkspaceID, inbox.ExternalEvent{ID: "form-late", Type: inbox.EventContactSubscribed,
		OccurredAt: &at, Channel: inbox.ChannelMMS, Contact: inbox.ExternalContact{Phone: "+14155550170"}}); err != nil {
		t.Fatal(err)
	}
	c, err := svc.GetContact(ctx, actor, conv.ContactID)
	if err != nil {
		t.Fatal(err)
	}
	if cc := c.ConsentOn(inbox.ChannelSMS); cc.Status != inbox.ConsentOptedOut || cc.Source != inbox.ConsentSourceManual {
		t.Errorf("sms consent after a late signup = %+v, want the manual opt-out kept", cc)
	}
	h, err := svc.ConsentHistory(ctx, actor, conv.ContactID, inbox.PageRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Items) != 1 {
		t.Errorf("consent history has %d entries, want the opt-out only", len(h.Items))
	}
}
