package dynamo_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/parley-inbox/parley/shared/adapter/dynamo"
	"github.com/parley-inbox/parley/shared/dev/capture"
	"github.com/parley-inbox/parley/shared/dev/inboxtest"
	"github.com/parley-inbox/parley/shared/inbox"
)

// recordingScheduler keeps what was scheduled; Put fails while down.
type recordingScheduler struct {
	mu   sync.Mutex
	put  []inbox.Schedule
	del  []string
	down bool
}

func (r *recordingScheduler) Put(_ context.Context, s inbox.Schedule) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.down {
		return inbox.Errorf(inbox.KindUnavailable, "the scheduler is down")
	}
	r.put = append(r.put, s)
	return nil
}

func (r *recordingScheduler) Delete(_ context.Context, name string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.del = append(r.del, name)
	return nil
}

func deliverySetup(t *testing.T) (inboxtest.UseCases, *capture.Outbox, *recordingScheduler, inbox.Actor, *inbox.Conversation) {
	t.Helper()
	_, store, actor := newService(t)
	outbox := &capture.Outbox{}
	senders := map[inbox.Channel]inbox.ChannelSender{}
	for _, ch := range inbox.Channels {
		senders[ch] = outbox.Sender(ch)
	}
	sched := &recordingScheduler{}
	svc := inboxtest.New(store, inboxtest.Deps{Senders: senders, Scheduler: sched})
	conv, _, err := svc.StartConversation(context.Background(), actor, inbox.StartInput{Phone: "+14155550170"})
	if err != nil {
		t.Fatal(err)
	}
	return svc, outbox, sched, actor, conv
}

func deliver(t *testing.T, svc inboxtest.UseCases, m *inbox.Message) *inbox.Message {
	t.Helper()
	out, err := svc.Deliver(context.Background(), m.WorkspaceID, inbox.ProviderRef{ConversationID: m.ConversationID, MessageID: m.ID})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestConcurrentTriggersSendOnce(t *testing.T) {
	svc, outbox, _, actor, conv := deliverySetup(t)
	m, _, err := svc.PostMessage(context.Background(), actor, conv.ID, inbox.OutboundInput{Channel: inbox.ChannelSMS, Body: "once"}, "")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := svc.Deliver(context.Background(), actor.WorkspaceID, inbox.ProviderRef{ConversationID: conv.ID, MessageID: m.ID}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := len(outbox.List(actor.WorkspaceID)); n != 1 {
		t.Fatalf("sent %d times, want once", n)
	}
	if got := deliver(t, svc, m); got.Status != inbox.MessageSent || got.ProviderID == "" {
		t.Errorf("after delivery: %s %q", got.Status, got.ProviderID)
	}
}

func TestRetryableFailureRequeuesOtherFailuresAreFinal(t *testing.T) {
	svc, outbox, _, actor, conv := deliverySetup(t)
	ctx := context.Background()
	m, _, _ := svc.PostMessage(ctx, actor, conv.ID, inbox.OutboundInput{Channel: inbox.ChannelSMS, Body: "retry me"}, "")
	// A brief throttle is ridden out in process...
	outbox.FailNext(inbox.ChannelSMS, &inbox.SendError{Code: "429", Reason: "throttled", Retryable: true}, 1)
	if got := deliver(t, svc, m); got.Status != inbox.MessageSent {
		t.Errorf("after one throttle: %s, want sent", got.Status)
	}
	// ...a longer one puts the message back for the trigger to retry.
	m1, _, _ := svc.PostMessage(ctx, actor, conv.ID, inbox.OutboundInput{Channel: inbox.ChannelSMS, Body: "retry me later"}, "")
	outbox.FailNext(inbox.ChannelSMS, &inbox.SendError{Code: "429", Reason: "throttled", Retryable: true}, 3)
	if _, err := svc.Deliver(ctx, actor.WorkspaceID, inbox.ProviderRef{ConversationID: conv.ID, MessageID: m1.ID}); inbox.ErrorKind(err) != inbox.KindUnavailable {
		t.Fatalf("a lasting retryable failure should ask for a retry, got %v", err)
	}
	if got := deliver(t, svc, m1); got.Status != inbox.MessageSent {
		t.Errorf("the retry: %s, want sent", got.Status)
	}
	m2, _, _ := svc.PostMessage(ctx, actor, conv.ID, inbox.OutboundInput{Channel: inbox.ChannelSMS, Body: "ambiguous"}, "")
	outbox.FailNext(inbox.ChannelSMS, errors.New("connection reset after the request was written"), 1)
	got := deliver(t, svc, m2)
	if got.Status != inbox.MessageFailed || got.Error == nil || got.Error.Code != "unknown" {
		t.Errorf("an ambiguous failure must be final (never twice): %+v", got)
	}
	if again := deliver(t, svc, m2); again.Status != inbox.MessageFailed || len(outbox.List(actor.WorkspaceID)) != 2 {
		t.Errorf("a failed message was retried")
	}
}

func TestConsentMessagePrecedesTheFirstSMSOnce(t *testing.T) {
	svc, outbox, _, actor, conv := deliverySetup(t)
	ctx := context.Background()
	yes, text := true, "Hi from Acme! Reply STOP to opt out."
	if _, err := svc.UpdateSettings(ctx, actor, inbox.WorkspaceSettingsPatch{RequireConsentMessage: &yes, ConsentMessage: &text}); err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{"first", "second"} {
		m, _, err := svc.PostMessage(ctx, actor, conv.ID, inbox.OutboundInput{Channel: inbox.ChannelSMS, Body: body}, "")
		if err != nil {
			t.Fatal(err)
		}
		deliver(t, svc, m)
	}
	var bodies []string
	for _, s := range outbox.List(actor.WorkspaceID) {
		bodies = append(bodies, s.Body)
	}
	if len(bodies) != 3 || bodies[0] != text || bodies[1] != "first" || bodies[2] != "second" {
		t.Fatalf("sent %q, want the consent message once, then both messages", bodies)
	}
	c, _ := svc.GetContact(ctx, actor, conv.ContactID)
	if !c.ConsentMessage.Sent || c.ConsentMessage.SentAt == nil {
		t.Errorf("consent message status = %+v", c.ConsentMessage)
	}
}

func TestAutomatedSendsRespectOptOutDNDAndQuietHours(t *testing.T) {
	svc, outbox, sched, actor, conv := deliverySetup(t)
	ctx := context.Background()
	// Quiet all day: an automated SMS waits, a manual one goes.
	if _, err := svc.UpdateSettings(ctx, actor, inbox.WorkspaceSettingsPatch{QuietHours: map[inbox.Channel]inbox.QuietHours{inbox.ChannelSMS: {Start: "00:00", End: "23:59"}}}); err != nil {
		t.Fatal(err)
	}
	auto, _, err := svc.PostMessage(ctx, actor, conv.ID, inbox.OutboundInput{Channel: inbox.ChannelSMS, Body: "promo", Automated: true}, "")
	if err != nil {
		t.Fatal(err)
	}
	held := deliver(t, svc, auto)
	if held.Status != inbox.MessageScheduled || held.SendAt == nil || !held.SendAt.After(time.Now()) || len(sched.put) != 1 {
		t.Fatalf("automated SMS in quiet hours: %s at %v, %d schedules", held.Status, held.SendAt, len(sched.put))
	}
	manual, _, _ := svc.PostMessage(ctx, actor, conv.ID, inbox.OutboundInput{Channel: inbox.ChannelSMS, Body: "reply"}, "")
	if got := deliver(t, svc, manual); got.Status != inbox.MessageSent {
		t.Errorf("a manual SMS in quiet hours: %s, want sent", got.Status)
	}
	if _, err := svc.UpdateSettings(ctx, actor, inbox.WorkspaceSettingsPatch{QuietHours: map[inbox.Channel]inbox.QuietHours{}}); err != nil {
		t.Fatal(err)
	}
	// Contact DND blocks automated sends.
	if _, err := svc.UpdateContact(ctx, actor, conv.ContactID, inbox.ContactPatch{DND: map[inbox.Channel]bool{inbox.ChannelSMS: true}}); err != nil {
		t.Fatal(err)
	}
	auto2, _, _ := svc.PostMessage(ctx, actor, conv.ID, inbox.OutboundInput{Channel: inbox.ChannelSMS, Body: "promo 2", Automated: true}, "")
	if got := deliver(t, svc, auto2); got.Status != inbox.MessageFailed || got.Error.Code != "dnd" {
		t.Errorf("automated SMS with DND: %+v", got)
	}
	// An opt-out after queueing stops an automated send at delivery.
	if _, err := svc.UpdateContact(ctx, actor, conv.ContactID, inbox.ContactPatch{DND: map[inbox.Channel]bool{inbox.ChannelSMS: false}}); err != nil {
		t.Fatal(err)
	}
	auto3, _, _ := svc.PostMessage(ctx, actor, conv.ID, inbox.OutboundInput{Channel: inbox.ChannelSMS, Body: "promo 3", Automated: true}, "")
	if _, err := svc.SetConsent(ctx, actor, conv.ContactID, "sms", inbox.ConsentOptedOut); err != nil {
		t.Fatal(err)
	}
	if got := deliver(t, svc, auto3); got.Status != inbox.MessageFailed || got.Error.Code != "opted_out" {
		t.Errorf("automated SMS after opt-out: %+v", got)
	}
	if n := len(outbox.List(actor.WorkspaceID)); n != 1 {
		t.Errorf("sent %d messages, want only the manual one", n)
	}
}

// The api and the sender are separate Lambdas: quiet hours an admin just
// set hold the sender's next automated message, however recently that
// sender last read the workspace.
func TestDeliveryHonoursQuietHoursSetMomentsAgo(t *testing.T) {
	svc, _, sched, actor, conv := deliverySetup(t)
	ctx := context.Background()
	before, _, err := svc.PostMessage(ctx, actor, conv.ID, inbox.OutboundInput{Channel: inbox.ChannelSMS, Body: "promo 1", Automated: true}, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := deliver(t, svc, before); got.Status != inbox.MessageSent {
		t.Fatalf("automated SMS with no quiet hours: %s, want sent", got.Status)
	}
	if _, err := svc.UpdateSettings(ctx, actor, inbox.WorkspaceSettingsPatch{QuietHours: map[inbox.Channel]inbox.QuietHours{inbox.ChannelSMS: {Start: "00:00", End: "23:59"}}}); err != nil {
		t.Fatal(err)
	}
	after, _, err := svc.PostMessage(ctx, actor, conv.ID, inbox.OutboundInput{Channel: inbox.ChannelSMS, Body: "promo 2", Automated: true}, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := deliver(t, svc, after); got.Status != inbox.MessageScheduled || len(sched.put) != 1 {
		t.Errorf("automated SMS right after quiet hours were set: %s with %d schedules, want scheduled", got.Status, len(sched.put))
	}
}

func TestCancelBeatsALateSchedule(t *testing.T) {
	svc, outbox, sched, actor, conv := deliverySetup(t)
	ctx := context.Background()
	at := time.Now().Add(time.Hour)
	m, _, err := svc.PostMessage(ctx, actor, conv.ID, inbox.OutboundInput{Channel: inbox.ChannelSMS, Body: "later", SendAt: &at}, "")
	if err != nil || m.Status != inbox.MessageScheduled || len(sched.put) != 1 {
		t.Fatalf("scheduled post: %+v %v (%d schedules)", m, err, len(sched.put))
	}
	page, err := svc.ScheduledMessages(ctx, actor, inbox.PageRequest{})
	if err != nil || len(page.Items) != 1 || page.Items[0].ID != m.ID || page.Items[0].ConversationID != conv.ID {
		t.Fatalf("scheduled list = %+v, %v", page.Items, err)
	}
	if _, err := svc.CancelScheduled(ctx, actor, conv.ID, m.ID); err != nil {
		t.Fatal(err)
	}
	if got := deliver(t, svc, m); got.Status != inbox.MessageCanceled {
		t.Errorf("a schedule firing after the cancel: %s", got.Status)
	}
	if len(outbox.List(actor.WorkspaceID)) != 0 || len(sched.del) != 1 {
		t.Errorf("sent %d, deleted %d schedules", len(outbox.List(actor.WorkspaceID)), len(sched.del))
	}
	if page, _ := svc.ScheduledMessages(ctx, actor, inbox.PageRequest{}); len(page.Items) != 0 {
		t.Errorf("a canceled message is still listed")
	}
}

// A draft an automation saved is never sent until an agent sends it; then
// it is the agent's message, with their edits, delivered once.
func TestAgentSendsOrDiscardsADraft(t *testing.T) {
	svc, outbox, sched, actor, conv := deliverySetup(t)
	ctx := context.Background()
	draft := func(body string) *inbox.Message {
		t.Helper()
		now := time.Now().UTC()
		m := &inbox.Message{ID: inbox.NewID(now), WorkspaceID: actor.WorkspaceID, ConversationID: conv.ID, ContactID: conv.ContactID,
			Direction: inbox.DirectionOut, Kind: inbox.KindMessage, Channel: inbox.ChannelSMS, Body: body, Attachments: []inbox.Attachment{},
			Status: inbox.MessageDraft, Automated: true, RunID: "run-1", AuthorID: "automation", CreatedAt: now, UpdatedAt: now}
		if err := svc.Store.PutMessage(ctx, m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	m := draft("Welcome to VIP")
	discarded := draft("Not this one")
	if got := deliver(t, svc, m); got.Status != inbox.MessageDraft {
		t.Errorf("a trigger on a draft: %s", got.Status)
	}
	page, err := svc.Drafts(ctx, actor, inbox.PageRequest{})
	if err != nil || len(page.Items) != 2 || page.Items[0].ID != m.ID || page.Items[0].ConversationID != conv.ID {
		t.Fatalf("drafts = %+v, %v; want both, oldest first", page.Items, err)
	}

	empty := ""
	if _, err := svc.SendDraft(ctx, actor, conv.ID, m.ID, inbox.MessageEdit{Body: &empty}); !inbox.IsKind(err, inbox.KindInvalid) {
		t.Errorf("an empty body: %v, want invalid", err)
	}
	edited := "Welcome to VIP, Sam"
	sent, err := svc.SendDraft(ctx, actor, conv.ID, m.ID, inbox.MessageEdit{Body: &edited})
	if err != nil {
		t.Fatal(err)
	}
	if sent.Status != inbox.MessageQueued || sent.Body != edited || sent.Automated || sent.AuthorID != actor.UserID ||
		sent.RunID != "run-1" || !sent.CreatedAt.Equal(m.CreatedAt) || sent.Recipient != "+14155550170" {
		t.Errorf("sent draft = %+v", sent)
	}
	if _, err := svc.SendDraft(ctx, actor, conv.ID, m.ID, inbox.MessageEdit{}); !inbox.IsKind(err, inbox.KindConflict) {
		t.Errorf("sending it again: %v, want conflict", err)
	}
	if got := deliver(t, svc, m); got.Status != inbox.MessageSent {
		t.Errorf("delivered draft: %s", got.Status)
	}
	if out := outbox.List(actor.WorkspaceID); len(out) != 1 || out[0].Body != edited {
		t.Errorf("outbox = %+v, want the edited text once", out)
	}

	if got, err := svc.CancelScheduled(ctx, actor, conv.ID, discarded.ID); err != nil || got.Status != inbox.MessageCanceled {
		t.Fatalf("discard: %+v, %v", got, err)
	}
	if _, err := svc.SendDraft(ctx, actor, conv.ID, discarded.ID, inbox.MessageEdit{}); !inbox.IsKind(err, inbox.KindConflict) {
		t.Errorf("sending a discarded draft: %v, want conflict", err)
	}
	if page, _ := svc.Drafts(ctx, actor, inbox.PageRequest{}); len(page.Items) != 0 {
		t.Errorf("drafts still listed: %+v", page.Items)
	}
	if len(sched.put) != 0 || len(sched.del) != 0 {
		t.Errorf("schedules touched: %d put, %d deleted", len(sched.put), len(sched.del))
	}

	// Sent with a time, a draft is scheduled like an agent's message. If
	// the schedule cannot be made it stays a draft, so the agent can retry.
	later := draft("Tomorrow")
	at := time.Now().Add(24 * time.Hour)
	sched.down = true
	if _, err := svc.SendDraft(ctx, actor, conv.ID, later.ID, inbox.MessageEdit{SendAt: &at}); !inbox.IsKind(err, inbox.KindUnavailable) {
		t.Fatalf("scheduler down: %v, want unavailable", err)
	}
	if got, _ := svc.Store.GetMessage(ctx, actor.WorkspaceID, conv.ID, later.ID); got == nil || got.Status != inbox.MessageDraft {
		t.Fatalf("after a failed schedule the message is %+v, want still a draft", got)
	}
	sched.down = false
	scheduled, err := svc.SendDraft(ctx, actor, conv.ID, later.ID, inbox.MessageEdit{SendAt: &at})
	if err != nil || scheduled.Status != inbox.MessageScheduled || len(sched.put) != 1 {
		t.Fatalf("scheduled draft: %+v, %v (%d schedules)", scheduled, err, len(sched.put))
	}
	if page, _ := svc.ScheduledMessages(ctx, actor, inbox.PageRequest{}); len(page.Items) != 1 || page.Items[0].ID != later.ID {
		t.Errorf("scheduled list = %+v", page.Items)
	}
}

// Delivery reads the message, the contact and the conversation, and the
// workspace's settings fresh on every send: eventually consistent, half a
// unit.
func TestDeliveryCost(t *testing.T) {
	svc, _, _, actor, conv := deliverySetup(t)
	ctx := context.Background()
	var settings dynamo.Meter
	if _, err := svc.Store.WorkspaceSettings(dynamo.WithMeter(ctx, &settings), actor.WorkspaceID); err != nil {
		t.Fatal(err)
	}
	if settings.Read != 0.5 {
		t.Errorf("reading the settings cost %.1f RRU, want 0.5 (eventually consistent)", settings.Read)
	}
	m, _, err := svc.PostMessage(ctx, actor, conv.ID, inbox.OutboundInput{Channel: inbox.ChannelSMS, Body: "metered"}, "")
	if err != nil {
		t.Fatal(err)
	}
	var cost dynamo.Meter
	if _, err := svc.Deliver(dynamo.WithMeter(ctx, &cost), m.WorkspaceID, inbox.ProviderRef{ConversationID: m.ConversationID, MessageID: m.ID}); err != nil {
		t.Fatal(err)
	}
	t.Logf("deliver: %.1f RRU / %.1f WRU", cost.Read, cost.Write)
	if cost.Read > 3.5 {
		t.Errorf("delivery read %.1f RRU, want at most 3.5", cost.Read)
	}
}
