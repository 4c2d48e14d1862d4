package dynamo_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-inbox/parley/shared/dev/dynamotest"
	"github.com/parley-inbox/parley/shared/inbox"
)

// hookClock is a clock the test moves.
type hookClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *hookClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *hookClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// receiver answers with status and records each request.
type receiver struct {
	mu     sync.Mutex
	status int
	got    []inbox.WebhookRequest
}

func (r *receiver) CheckURL(context.Context, string) error { return nil }
func (r *receiver) Post(_ context.Context, req inbox.WebhookRequest) inbox.WebhookResponse {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, req)
	return inbox.WebhookResponse{StatusCode: r.status, Latency: 3 * time.Millisecond, Body: strings.Repeat("é", 600)}
}

// hookQueue records queued retries; the test runs them itself.
type hookQueue struct {
	retries []inbox.WebhookRef
	jobs    []inbox.WebhookReplayJob
}

func (q *hookQueue) RetryDelivery(_ context.Context, ref inbox.WebhookRef, _ time.Duration) error {
	q.retries = append(q.retries, ref)
	return nil
}
func (q *hookQueue) ContinueReplay(_ context.Context, job inbox.WebhookReplayJob) error {
	q.jobs = append(q.jobs, job)
	return nil
}

type published struct{ events []inbox.Event }

func (p *published) Publish(_ context.Context, e []inbox.Event) error {
	p.events = append(p.events, e...)
	return nil
}

type mailbox struct{ to []string }

func (m *mailbox) Send(_ context.Context, out inbox.Outbound) (string, error) {
	m.to = append(m.to, out.To)
	return "mail-1", nil
}

func TestWebhookDeliveryRetriesReplaysAndDisables(t *testing.T) {
	ctx := context.Background()
	store := dynamotest.Store(t)
	clock := &hookClock{now: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
	rcv, queue, bus, mail := &receiver{status: 200}, &hookQueue{}, &published{}, &mailbox{}
	svc := inbox.NewIntegrations(store, clock, rcv, queue, bus, mail)
	ws := "w1"
	for _, u := range []*inbox.User{{ID: "a1", WorkspaceID: ws, Email: "admin@example.com", Role: inbox.RoleAdmin}, {ID: "g1", WorkspaceID: ws, Email: "agent@example.com", Role: inbox.RoleAgent}} {
		if err := store.PutUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	admin := inbox.Actor{WorkspaceID: ws, UserID: "a1", Role: inbox.RoleAdmin}
	agent := inbox.Actor{WorkspaceID: ws, UserID: "g1", Role: inbox.RoleAgent}

	url, types := "https://hooks.example/parley", []inbox.EventType{inbox.EventMessageCreated}
	if _, err := svc.CreateWebhookSubscription(ctx, agent, inbox.WebhookSubscriptionInput{URL: &url, EventTypes: &types}); !inbox.IsKind(err, inbox.KindForbidden) {
		t.Fatalf("agent create: %v, want forbidden", err)
	}
	bad := []inbox.EventType{"typing"}
	if _, err := svc.CreateWebhookSubscription(ctx, admin, inbox.WebhookSubscriptionInput{URL: &url, EventTypes: &bad}); !inbox.IsKind(err, inbox.KindInvalid) {
		t.Fatalf("typing subscription: %v, want invalid", err)
	}
	sub, err := svc.CreateWebhookSubscription(ctx, admin, inbox.WebhookSubscriptionInput{URL: &url, EventTypes: &types})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(sub.Secret, "whsec_") {
		t.Fatalf("created secret %q", sub.Secret)
	}
	read, _ := svc.GetWebhookSubscription(ctx, admin, sub.ID)
	if read.Secret != "" {
		t.Fatal("GET shows the secret")
	}

	event := inbox.Event{ID: "rec1:message.created", Type: inbox.EventMessageCreated, WorkspaceID: ws, OccurredAt: clock.Now(), Body: "hi"}
	// Delivered once, even when the bus delivers the event twice.
	for range 2 {
		if err := svc.HandleEvent(ctx, event); err != nil {
			t.Fatal(err)
		}
	}
	if err := svc.HandleEvent(ctx, inbox.Event{ID: "rec1:typing", Type: "typing", WorkspaceID: ws, OccurredAt: clock.Now()}); err != nil {
		t.Fatal(err)
	}
	if len(rcv.got) != 1 {
		t.Fatalf("receiver got %d requests, want 1", len(rcv.got))
	}
	req := rcv.got[0]
	if err := inbox.VerifyWebhook(sub.Secret, req.Headers["webhook-id"], req.Headers["webhook-timestamp"], req.Headers["webhook-signature"], req.Body, clock.Now()); err != nil || req.Headers["webhook-id"] != event.ID {
		t.Fatalf("signature: %v, id %q", err, req.Headers["webhook-id"])
	}

	// A failing receiver: the delivery stays pending, and a retry queued
	// before it is due goes back on the queue.
	rcv.status = 503
	second := event
	second.ID, second.OccurredAt = "rec2:message.created", clock.Now().Add(time.Second)
	if err := svc.HandleEvent(ctx, second); err != nil {
		t.Fatal(err)
	}
	page, err := svc.ListWebhookDeliveries(ctx, admin, sub.ID, inbox.PageRequest{})
	if err != nil || len(page.Items) != 2 || page.Items[0].EventID != second.ID || page.Items[0].Status != inbox.WebhookPending {
		t.Fatalf("log: %+v, %v; want the pending second first", page.Items, err)
	}
	if a := page.Items[0].Attempts[0]; a.StatusCode != 503 || len(a.Response) > inbox.WebhookExcerptBytes || !strings.HasPrefix(a.Response, "é") {
		t.Fatalf("attempt %+v", a)
	}
	ref := queue.retries[len(queue.retries)-1]
	n := len(queue.retries)
	if err := svc.DeliverWebhook(ctx, ref); err != nil || len(queue.retries) != n+1 || len(rcv.got) != 2 {
		t.Fatalf("early retry: err %v, queued %d, posts %d", err, len(queue.retries)-n, len(rcv.got))
	}
	// Keep failing through every retry: about four days.
	for range inbox.WebhookBackoff {
		clock.add(25 * time.Hour)
		if err := svc.DeliverWebhook(ctx, ref); err != nil {
			t.Fatal(err)
		}
	}
	d, _ := svc.GetWebhookDelivery(ctx, admin, sub.ID, ref.DeliveryID)
	if d.Status != inbox.WebhookFailed || len(d.Attempts) != len(inbox.WebhookBackoff)+1 {
		t.Fatalf("after retries: %s with %d attempts", d.Status, len(d.Attempts))
	}
	got, _ := svc.GetWebhookSubscription(ctx, admin, sub.ID)
	if got.Enabled || got.DisabledReason == "" {
		t.Fatalf("subscription still enabled: %+v", got)
	}
	if len(bus.events) != 1 || bus.events[0].Type != inbox.EventWebhookDisabled || bus.events[0].SubscriptionID != sub.ID {
		t.Fatalf("events %+v", bus.events)
	}
	if len(mail.to) != 1 || mail.to[0] != "admin@example.com" {
		t.Fatalf("emailed %v, want the admin only", mail.to)
	}

	// Enabled again, a replay sends the same webhook-id once more.
	on := true
	if _, err := svc.UpdateWebhookSubscription(ctx, admin, sub.ID, inbox.WebhookSubscriptionInput{Enabled: &on}); err != nil {
		t.Fatal(err)
	}
	rcv.status = 200
	first := page.Items[1]
	if _, err := svc.ReplayWebhookDelivery(ctx, admin, sub.ID, first.ID); err != nil {
		t.Fatal(err)
	}
	if err := svc.DeliverWebhook(ctx, queue.retries[len(queue.retries)-1]); err != nil {
		t.Fatal(err)
	}
	last := rcv.got[len(rcv.got)-1]
	if last.Headers["webhook-id"] != event.ID {
		t.Fatalf("replayed id %q, want %q", last.Headers["webhook-id"], event.ID)
	}
	d, _ = svc.GetWebhookDelivery(ctx, admin, sub.ID, first.ID)
	if d.Status != inbox.WebhookDelivered || len(d.Attempts) != 2 || !d.Attempts[1].Replay {
		t.Fatalf("replayed delivery %+v", d)
	}

	// Rotation: the new secret is answered once, and both sign for a day.
	rotated, err := svc.RotateWebhookSecret(ctx, admin, sub.ID)
	if err != nil || rotated.Secret == sub.Secret {
		t.Fatalf("rotate: %v", err)
	}
	third := event
	third.ID, third.OccurredAt = "rec3:message.created", clock.Now()
	if err := svc.HandleEvent(ctx, third); err != nil {
		t.Fatal(err)
	}
	last = rcv.got[len(rcv.got)-1]
	for _, secret := range []string{rotated.Secret, sub.Secret} {
		if err := inbox.VerifyWebhook(secret, last.Headers["webhook-id"], last.Headers["webhook-timestamp"], last.Headers["webhook-signature"], last.Body, clock.Now()); err != nil {
			t.Errorf("rotated delivery does not verify with %s: %v", secret[:10], err)
		}
	}
	if n := len(strings.Fields(last.Headers["webhook-signature"])); n != 2 {
		t.Errorf("%d signatures, want 2", n)
	}
	// Bulk replay: what was delivered since an hour ago (the third).
	job, err := svc.ReplayWebhooksSince(ctx, admin, sub.ID, clock.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	before := len(queue.retries)
	if err := svc.RunReplay(ctx, job); err != nil {
		t.Fatal(err)
	}
	if len(queue.retries)-before != 1 || queue.retries[before].DeliveryID != inbox.WebhookDeliveryID(sub.ID, third) {
		t.Fatalf("bulk replay queued %v, want the third", queue.retries[before:])
	}
	if _, err := svc.ReplayWebhooksSince(ctx, admin, sub.ID, clock.Now().Add(-8*24*time.Hour)); !inbox.IsKind(err, inbox.KindInvalid) {
		t.Fatalf("replay past 7 days: %v", err)
	}
}
