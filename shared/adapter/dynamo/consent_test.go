package dynamo_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/parley-inbox/parley/shared/adapter/dynamo"
	"github.com/parley-inbox/parley/shared/inbox"
)

// fillContact grows a contact's item as close to DynamoDB's 400 KB as it
// goes, the way unbounded handles or an automation's tag step once could.
func fillContact(t *testing.T, store *dynamo.Store, ws, id string) {
	t.Helper()
	ctx := context.Background()
	base := make([]string, 1950)
	for i := range base {
		base[i] = fmt.Sprintf("%04d-%s", i, strings.Repeat("t", 195))
	}
	lo, hi := 0, 30000 // the length of one more tag: the largest that fits
	for lo < hi {
		mid := (lo + hi + 1) / 2
		prev, err := store.GetContact(ctx, ws, id)
		if err != nil {
			t.Fatal(err)
		}
		next := *prev
		next.Tags = append(append([]string{}, base...), "z"+strings.Repeat("x", mid))
		if err := store.UpdateContact(ctx, prev, &next); err != nil {
			hi = mid - 1
		} else {
			lo = mid
		}
	}
	if lo == 0 || lo == 30000 {
		t.Fatalf("could not fill the contact (last tag %d)", lo)
	}
}

// Issue 9 item 3: whatever else is on the contact, a STOP is recorded and
// honoured, an agent can opt the contact out, and nothing automated goes.
func TestConsentIsRecordedOnAFullContact(t *testing.T) {
	svc, outbox, _, actor, conv := deliverySetup(t)
	ctx := context.Background()
	store := svc.Store.(*dynamo.Store)
	fillContact(t, store, actor.WorkspaceID, conv.ContactID)

	if _, err := svc.Ingest(ctx, sms(actor.WorkspaceID, "+14155550170", "SM-full-stop", "STOP")); err != nil {
		t.Fatalf("STOP from a full contact: %v", err)
	}
	if _, err := svc.SetConsent(ctx, actor, conv.ContactID, "whatsapp", inbox.ConsentOptedOut); err != nil {
		t.Fatalf("opt-out of a full contact: %v", err)
	}
	c, err := svc.GetContact(ctx, actor, conv.ContactID)
	if err != nil {
		t.Fatal(err)
	}
	if cc := c.ConsentOn(inbox.ChannelSMS); cc.Status != inbox.ConsentOptedOut || cc.Source != inbox.ConsentSourceKeyword {
		t.Errorf("sms consent after STOP = %+v, want opted_out by keyword", cc)
	}
	if cc := c.ConsentOn(inbox.ChannelWhatsApp); cc.Status != inbox.ConsentOptedOut || cc.ChangedBy != actor.UserID {
		t.Errorf("whatsapp consent after opt-out = %+v, want opted_out by %s", cc, actor.UserID)
	}
	if _, _, err := svc.PostMessage(ctx, actor, conv.ID, inbox.OutboundInput{Channel: inbox.ChannelSMS, Body: "promo", Automated: true}, ""); !inbox.IsKind(err, inbox.KindInvalid) {
		t.Errorf("automated SMS after STOP: %v, want refused", err)
	}
	if n := len(outbox.List(actor.WorkspaceID)); n != 0 {
		t.Errorf("sent %d messages after STOP, want none", n)
	}
	// A contact too large to grow is bad input, not a server fault.
	name := strings.Repeat("N", 150)
	if _, err := svc.UpdateContact(ctx, actor, conv.ContactID, inbox.ContactPatch{Name: &name}); !inbox.IsKind(err, inbox.KindInvalid) {
		t.Errorf("PATCH of a full contact: %v, want invalid", err)
	}
}

// Every consent change leaves a history entry: who, when, how, from what.
func TestConsentHistory(t *testing.T) {
	svc, _, _, actor, conv := deliverySetup(t)
	ctx := context.Background()
	stop, err := svc.Ingest(ctx, sms(actor.WorkspaceID, "+14155550170", "SM-h1", "Stop!"))
	if err != nil {
		t.Fatal(err)
	}
	// A redelivery and a second STOP change nothing and record nothing.
	for _, sid := range []string{"SM-h1", "SM-h2"} {
		if _, err := svc.Ingest(ctx, sms(actor.WorkspaceID, "+14155550170", sid, "STOP")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.SetConsent(ctx, actor, conv.ContactID, "sms", inbox.ConsentOptedIn); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SetConsent(ctx, actor, conv.ContactID, "whatsapp", inbox.ConsentOptedIn); err != nil {
		t.Fatal(err)
	}
	page, err := svc.ConsentHistory(ctx, actor, conv.ContactID, inbox.PageRequest{Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	all := page.Items
	for page.NextCursor != "" {
		if page, err = svc.ConsentHistory(ctx, actor, conv.ContactID, inbox.PageRequest{Limit: 2, Cursor: page.NextCursor}); err != nil {
			t.Fatal(err)
		}
		all = append(all, page.Items...)
	}
	var got []string
	for _, r := range all {
		got = append(got, fmt.Sprintf("%s %s %s by=%q msg=%v kw=%q", r.Channel, r.Status, r.Source, r.ChangedBy, r.MessageID == stop.Message.ID, r.Keyword))
		if r.ChangedAt.IsZero() || r.ContactID != conv.ContactID {
			t.Errorf("entry %+v: no time or wrong contact", r)
		}
	}
	want := []string{
		`whatsapp opted_in manual by="admin-1" msg=false kw=""`,
		`sms opted_in manual by="admin-1" msg=false kw=""`,
		`sms opted_out keyword by="" msg=true kw="STOP"`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("history (newest first):\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if _, err := svc.ConsentHistory(ctx, inbox.Actor{WorkspaceID: "other", UserID: "x", Role: inbox.RoleAdmin}, conv.ContactID, inbox.PageRequest{}); !inbox.IsKind(err, inbox.KindNotFound) {
		t.Errorf("another workspace's history: %v, want not found", err)
	}
}

// The cost of a STOP on an existing thread, all of it: the message, the
// consent change and its note. Logged for the report; no budget.
func TestStopCost(t *testing.T) {
	svc, _, actor := newService(t)
	ctx := context.Background()
	if _, err := svc.Ingest(ctx, sms(actor.WorkspaceID, "+14155550177", "SM-c1", "Hi")); err != nil {
		t.Fatal(err)
	}
	var m dynamo.Meter
	if _, err := svc.Ingest(dynamo.WithMeter(ctx, &m), sms(actor.WorkspaceID, "+14155550177", "SM-c2", "STOP")); err != nil {
		t.Fatal(err)
	}
	t.Logf("inbound STOP to an existing thread: %.1f RRU %.1f WRU", m.Read, m.Write)
}
