package events_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"
	"github.com/stripe/stripe-go/v82/webhook"

	"github.com/parley-inbox/parley/shared/config/providers"
	"github.com/parley-inbox/parley/shared/dev/dynamotest"
	"github.com/parley-inbox/parley/shared/dev/inboxtest"
	"github.com/parley-inbox/parley/shared/dev/localstack"
	"github.com/parley-inbox/parley/shared/handler/webhooks"
	"github.com/parley-inbox/parley/shared/inbox"
)

// The sample's signing secret: the local stack's demo workspace's.
const stripeSampleSecret = "whsec_test_parley_demo"

type recordedEvents struct {
	mu     sync.Mutex
	events []inbox.Event
}

func (r *recordedEvents) Publish(_ context.Context, es []inbox.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, es...)
	return nil
}

// The signed Stripe sample, run through the webhook handler as Lambda
// runs it: its metadata pointed at a real payment request and signed
// again now (Stripe refuses signatures older than five minutes), it marks
// the request paid once; the stale original and a tampered copy are refused.
func TestStripeCheckoutSampleThroughWebhookHandler(t *testing.T) {
	ev := readEvent(t, "stripe-checkout-session-completed.json")
	if err := webhook.ValidatePayloadIgnoringTolerance([]byte(ev.Body), ev.Headers["stripe-signature"], stripeSampleSecret); err != nil {
		t.Fatalf("the sample's own signature does not verify: %v", err)
	}
	ctx := context.Background()
	store := dynamotest.Store(t)
	if err := localstack.Seed(ctx, store); err != nil {
		t.Fatal(err)
	}
	svc := inboxtest.New(store, inboxtest.Deps{})
	actor := inbox.Actor{WorkspaceID: localstack.DemoWorkspace, UserID: localstack.DemoAgent, Role: inbox.RoleAgent}
	conv, _, err := svc.StartConversation(ctx, actor, inbox.StartInput{Phone: "+14155550142", Name: "Jo Customer"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	p := &inbox.PaymentRequest{ID: inbox.NewID(now), WorkspaceID: actor.WorkspaceID, ConversationID: conv.ID, ContactID: conv.ContactID,
		Amount: 1200, Currency: "usd", Description: "Order #1042", Status: inbox.PaymentRequested, URL: "https://buy.stripe.com/test_1",
		ProviderID: "plink_1SVw3fLkdIwHu7ixYk2mQ8rT", MessageID: inbox.NewID(now), CreatedBy: actor.UserID, CreatedAt: now, UpdatedAt: now}
	if err := store.CreatePaymentRequest(ctx, p); err != nil {
		t.Fatal(err)
	}
	bus := &recordedEvents{}
	h := &webhooks.Handler{Intake: svc.Intake, Payments: store, Events: bus,
		Credentials: providers.Set{localstack.DemoWorkspace: {StripeWebhookSecret: stripeSampleSecret}},
		Log:         slog.New(slog.NewTextHandler(io.Discard, nil))}
	handler := httpadapter.NewV2(h.Routes()).ProxyWithContext

	stale, err := handler(ctx, ev)
	if err != nil || stale.StatusCode != 403 {
		t.Fatalf("the sample as recorded (signed in 2026-11, past the tolerance): %d %v, want 403", stale.StatusCode, err)
	}
	body := strings.NewReplacer("01KAK3Q1R8T6W2Y4Z9B5C7D3F1", conv.ID, "01KAK3QAV5M0N8P2R6S4T9W7X3", p.ID).Replace(ev.Body)
	ev.Body = body
	ev.Headers["stripe-signature"] = webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: []byte(body), Secret: stripeSampleSecret}).Header
	for i := range 2 { // Stripe redelivers: the second changes nothing
		res, err := handler(ctx, ev)
		if err != nil || res.StatusCode != 200 || !strings.Contains(res.Body, p.ID) {
			t.Fatalf("delivery %d: %d %s %v, want 200 naming the request", i+1, res.StatusCode, res.Body, err)
		}
	}
	got, err := store.GetPaymentRequest(ctx, actor.WorkspaceID, conv.ID, p.ID)
	if err != nil || got.Status != inbox.PaymentPaid || got.PaidAt == nil || !got.PaidAt.Equal(time.Unix(1795253377, 0)) ||
		got.CheckoutID != "cs_test_a1PDkY3Qx7vW9bN2mR5tL8cF0hJ4gK6sE3uZ1yX7wV9qT2pB5nM8" {
		t.Fatalf("request after the event = %+v, %v; want paid at the event's time with its checkout", got, err)
	}
	msgs, err := store.ListMessages(ctx, actor.WorkspaceID, conv.ID, inbox.PageRequest{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	notes := 0
	for _, m := range msgs.Items {
		if m.Kind == inbox.KindActivity && strings.HasPrefix(m.Body, "Payment of $12.00 received") {
			notes++
		}
	}
	if notes != 1 {
		t.Errorf("thread has %d payment activities, want 1", notes)
	}
	if len(bus.events) != 2 || bus.events[0].ID != bus.events[1].ID || bus.events[0].Type != inbox.EventOrderPlaced ||
		bus.events[0].Reference != p.ID || bus.events[0].Amount != 1200 || bus.events[0].ContactID != conv.ContactID {
		t.Errorf("published %+v, want the same order.placed for the request on each delivery", bus.events)
	}

	tampered := ev
	tampered.Body = strings.Replace(body, `"amount_total": 1200`, `"amount_total": 1`, 1)
	if res, _ := handler(ctx, tampered); res.StatusCode != 403 {
		t.Errorf("tampered body: %d, want 403", res.StatusCode)
	}
	// A request that is gone (its thread deleted): acknowledged, nothing recorded.
	gone := strings.Replace(body, p.ID, inbox.NewID(time.Now()), 1)
	ev.Body = gone
	ev.Headers["stripe-signature"] = webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: []byte(gone), Secret: stripeSampleSecret}).Header
	if res, err := handler(ctx, ev); err != nil || res.StatusCode != 200 || len(bus.events) != 2 {
		t.Errorf("an unknown request: %d %s %v (%d events), want 200 and nothing published", res.StatusCode, res.Body, err, len(bus.events))
	}
}
