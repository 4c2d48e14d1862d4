package e2e_test

// Payment requests end to end: an agent requests a payment, the link goes
// out as an SMS (the capture outbox), the Stripe stand-in "pays" it by
// posting a signed checkout.session.completed to the webhook route, as
// Stripe would, and the request is paid once, with an activity in the
// thread and an order.placed on the bus.

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v82/webhook"
)

// The test Stripe keys writeProviders gives the demo workspace.
const (
	stripeSecretKey     = "sk_test_e2e_parley"
	stripeWebhookSecret = "whsec_e2e_parley_signing_secret"
)

type PaymentRequest struct {
	ID             string     `json:"id"`
	ConversationID string     `json:"conversationId"`
	ContactID      string     `json:"contactId"`
	Amount         int64      `json:"amount"`
	Currency       string     `json:"currency"`
	Description    string     `json:"description"`
	Status         string     `json:"status"`
	URL            string     `json:"url"`
	ProviderID     string     `json:"providerId"`
	MessageID      string     `json:"messageId"`
	CheckoutID     string     `json:"checkoutId"`
	CreatedBy      string     `json:"createdBy"`
	UpdatedAt      time.Time  `json:"updatedAt"`
	PaidAt         *time.Time `json:"paidAt"`
}

type orderEvent struct {
	ID             string `json:"id"`
	Type           string `json:"type"`
	WorkspaceID    string `json:"workspaceId"`
	ContactID      string `json:"contactId"`
	ConversationID string `json:"conversationId"`
	Reference      string `json:"reference"`
	Amount         int64  `json:"amount"`
	Currency       string `json:"currency"`
}

func paymentsPath(convID string) string { return "/conversations/" + convID + "/payment-requests" }

func getPayment(t testing.TB, convID, id string) PaymentRequest {
	t.Helper()
	return wantJSON[PaymentRequest](t, do(t, "GET", paymentsPath(convID)+"/"+id, tok.agent, nil), http.StatusOK)
}

// stripeEvent posts a Stripe event body to the workspace's webhook route,
// signed with secret now, as Stripe signs.
func stripeEvent(t testing.TB, ws string, body []byte, secret string) *reply {
	t.Helper()
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: secret})
	return do(t, "POST", "/webhooks/"+ws+"/stripe", "", body, "Content-Type", "application/json; charset=utf-8", "Stripe-Signature", signed.Header)
}

// orderEvents lists the order.placed events the bus published for a reference.
func orderEvents(t testing.TB, reference string) []orderEvent {
	t.Helper()
	r := do(t, "GET", "/dev/events?workspace="+url.QueryEscape(demoWS), "", nil)
	var out []orderEvent
	for _, e := range wantJSON[Page[orderEvent]](t, r, http.StatusOK).Items {
		if e.Type == "order.placed" && e.Reference == reference {
			out = append(out, e)
		}
	}
	return out
}

func paymentNotes(t testing.TB, convID, prefix string) []Message {
	t.Helper()
	var out []Message
	for _, m := range listMessages(t, tok.agent, convID, "") {
		if m.Kind == "activity" && strings.HasPrefix(m.Body, prefix) {
			out = append(out, m)
		}
	}
	return out
}

func TestPaymentRequestPaid(t *testing.T) {
	t.Parallel()
	if r := do(t, "GET", "/dev/stripe/links?workspace="+demoWS, "", nil); r.Status == http.StatusNotFound {
		t.Skip("the server has no Stripe stand-in (not the local stack)")
	}
	phone := newPhone(t)
	conv := startConversation(t, tok.agent, map[string]any{"phone": phone, "name": "Payer " + uniq()}, http.StatusCreated)
	path := paymentsPath(conv.ID)

	// Bad input: 400, and nothing made, stored or sent.
	for _, bad := range []struct {
		in    map[string]any
		field string
	}{
		{map[string]any{"amount": 0, "currency": "usd", "description": "Nothing"}, "amount"},
		{map[string]any{"amount": 1200, "currency": "xyz", "description": "Order"}, "currency"},
		{map[string]any{"amount": 100_000_000, "currency": "usd", "description": "Too much"}, "amount"},
		{map[string]any{"amount": 1200, "currency": "usd", "description": ""}, "description"},
		// The link's message would be refused: the contact has no email.
		{map[string]any{"amount": 1200, "currency": "usd", "description": "Order", "channel": "email"}, "channel"},
	} {
		wantProblem(t, do(t, "POST", path, tok.agent, bad.in), http.StatusBadRequest, "invalid", bad.field)
	}
	links := wantJSON[struct {
		Items []struct {
			Metadata map[string]string `json:"metadata"`
		} `json:"items"`
	}](t, do(t, "GET", "/dev/stripe/links?workspace="+demoWS, "", nil), http.StatusOK).Items
	for _, l := range links {
		if l.Metadata["conversation_id"] == conv.ID {
			t.Fatalf("a refused request made a Stripe link: %+v", l)
		}
	}
	if got := wantJSON[Page[PaymentRequest]](t, do(t, "GET", path, tok.agent, nil), http.StatusOK).Items; len(got) != 0 {
		t.Fatalf("after refused requests the conversation has %d payment requests, want none", len(got))
	}

	// An agent requests $12.00; a retry with the same key is the same request.
	desc := "Order #" + uniq()
	key := "pay-" + uniq()
	in := map[string]any{"amount": 1200, "currency": "USD", "description": desc}
	p := wantJSON[PaymentRequest](t, do(t, "POST", path, tok.agent, in, "Idempotency-Key", key), http.StatusCreated)
	if p.Status != "requested" || p.Amount != 1200 || p.Currency != "usd" || p.Description != desc || p.ContactID != conv.ContactID ||
		!strings.HasPrefix(p.ProviderID, "plink_") || !strings.HasSuffix(p.URL, "/dev/stripe/pay/"+p.ProviderID) || p.MessageID == "" || p.CreatedBy != demoAgent {
		t.Fatalf("payment request = %+v, want $12.00 requested, with a Stripe link and its message", p)
	}
	again := do(t, "POST", path, tok.agent, in, "Idempotency-Key", key)
	if got := wantJSON[PaymentRequest](t, again, http.StatusCreated); got.ID != p.ID || !again.replayed() {
		t.Errorf("a retry with the same Idempotency-Key = %s (replayed %v), want request %s again", got.ID, again.replayed(), p.ID)
	}

	// The link goes out as an SMS.
	sent := waitSent(t, demoWS, p.MessageID)
	if sent.Channel != "sms" || sent.To != phone || !strings.Contains(sent.Body, p.URL) || !strings.Contains(sent.Body, "$12.00") || !strings.Contains(sent.Body, desc) {
		t.Errorf("send = %+v, want an SMS to %s with the link %s and $12.00", sent, phone, p.URL)
	}

	// The event Stripe will send for it; forged or misdirected copies first.
	forged := checkoutEvent(p, demoWS)
	wantProblem(t, stripeEvent(t, demoWS, forged, "whsec_not_the_workspace_secret"), http.StatusForbidden, "forbidden", "")
	wantProblem(t, stripeEvent(t, demoWS, checkoutEvent(p, otherWS), stripeWebhookSecret), http.StatusForbidden, "forbidden", "")
	if got := getPayment(t, conv.ID, p.ID); got.Status != "requested" || got.PaidAt != nil {
		t.Fatalf("after a forged and a misdirected event the request is %+v, want still requested", got)
	}

	// The contact is in an automation, waiting a day for its follow-up.
	// Stripe dates events to the second, and a purchase converts runs
	// started before it: start the run, then pay in a later second.
	needTimeScale(t)
	tag := "pay-" + uniq()
	automation := createAutomation(t, map[string]any{"type": "contact.tagged", "tag": tag},
		map[string]any{"type": "delay", "minutes": 24 * 60},
		map[string]any{"type": "message", "mode": "send_now", "channel": "sms", "body": "Still want it?"})
	wantStatus(t, do(t, "PUT", "/contacts/"+conv.ContactID+"/tags/"+tag, tok.agent, nil), http.StatusNoContent)
	run := waitRun(t, conv.ContactID, automation, "started", 10*time.Second)
	time.Sleep(time.Until(run.StartedAt.Truncate(time.Second).Add(1100 * time.Millisecond)))

	// The contact pays: the stand-in posts Stripe's signed event.
	paid := wantJSON[struct {
		Event         json.RawMessage `json:"event"`
		WebhookStatus int             `json:"webhookStatus"`
	}](t, do(t, "POST", "/dev/stripe/pay/"+p.ProviderID, "", nil), http.StatusOK)
	if paid.WebhookStatus != http.StatusOK {
		t.Fatalf("the webhook answered the stand-in's event with %d, want 200", paid.WebhookStatus)
	}
	got := getPayment(t, conv.ID, p.ID)
	if got.Status != "paid" || got.PaidAt == nil || !strings.HasPrefix(got.CheckoutID, "cs_test_") {
		t.Fatalf("after paying the request is %+v, want paid with its checkout", got)
	}
	if notes := paymentNotes(t, conv.ID, "Payment of $12.00 received"); len(notes) != 1 {
		t.Errorf("thread has %d 'Payment of $12.00 received' activities, want 1", len(notes))
	}
	deadline := time.Now().Add(5 * time.Second)
	var orders []orderEvent
	for len(orders) == 0 && time.Now().Before(deadline) {
		if orders = orderEvents(t, p.ID); len(orders) == 0 {
			time.Sleep(100 * time.Millisecond)
		}
	}
	if len(orders) == 0 {
		t.Fatalf("no order.placed for payment request %s on the bus", p.ID)
	}
	if o := orders[0]; o.ContactID != conv.ContactID || o.ConversationID != conv.ID || o.Amount != 1200 || o.Currency != "usd" {
		t.Errorf("order.placed = %+v, want the contact's, $12.00", o)
	}

	if r := waitRun(t, conv.ContactID, automation, "converted", 10*time.Second); r.Reason != "converted" {
		t.Errorf("the automation run after the payment: %+v, want converted", r)
	}

	// Stripe redelivers: accepted, and nothing changes.
	wantJSON[map[string]any](t, stripeEvent(t, demoWS, paid.Event, stripeWebhookSecret), http.StatusOK)
	if again := getPayment(t, conv.ID, p.ID); again.Status != "paid" || !again.UpdatedAt.Equal(got.UpdatedAt) || !again.PaidAt.Equal(*got.PaidAt) {
		t.Errorf("after a redelivery the request is %+v, want it unchanged from %+v", again, got)
	}
	if notes := paymentNotes(t, conv.ID, "Payment of"); len(notes) != 1 {
		t.Errorf("after a redelivery the thread has %d payment activities, want 1", len(notes))
	}
	ids := map[string]bool{}
	for _, o := range orderEvents(t, p.ID) {
		ids[o.ID] = true
	}
	if len(ids) != 1 {
		t.Errorf("order.placed ids for the request: %v, want one (a redelivery republishes the same id)", ids)
	}
	// The link closed after its one payment, and a paid request cannot be canceled.
	wantStatus(t, do(t, "POST", "/dev/stripe/pay/"+p.ProviderID, "", nil), http.StatusGone)
	wantProblem(t, do(t, "POST", path+"/"+p.ID+"/cancel", tok.agent, nil), http.StatusConflict, "conflict", "")
}

func TestPaymentRequestCanceled(t *testing.T) {
	t.Parallel()
	if r := do(t, "GET", "/dev/stripe/links?workspace="+demoWS, "", nil); r.Status == http.StatusNotFound {
		t.Skip("the server has no Stripe stand-in (not the local stack)")
	}
	conv := newConversation(t, tok.agent, "Canceler "+uniq())
	path := paymentsPath(conv.ID)
	first := wantJSON[PaymentRequest](t, do(t, "POST", path, tok.agent, map[string]any{"amount": 1500, "currency": "jpy", "description": "Deposit"}), http.StatusCreated)
	p := wantJSON[PaymentRequest](t, do(t, "POST", path, tok.agent, map[string]any{"amount": 2599, "currency": "eur", "description": "Repair"}), http.StatusCreated)
	sent := waitSent(t, demoWS, first.MessageID)
	if !strings.Contains(sent.Body, "¥1500") {
		t.Errorf("yen request body = %q, want ¥1500 (jpy has no minor unit)", sent.Body)
	}
	canceled := wantJSON[PaymentRequest](t, do(t, "POST", path+"/"+p.ID+"/cancel", tok.agent, nil), http.StatusOK)
	if canceled.Status != "canceled" {
		t.Fatalf("canceled request = %+v", canceled)
	}
	// Twice is the same; the link no longer pays; the thread says so.
	wantJSON[PaymentRequest](t, do(t, "POST", path+"/"+p.ID+"/cancel", tok.agent, nil), http.StatusOK)
	wantStatus(t, do(t, "POST", "/dev/stripe/pay/"+p.ProviderID, "", nil), http.StatusGone)
	if notes := paymentNotes(t, conv.ID, "Payment request for €25.99 (Repair) canceled"); len(notes) != 1 {
		t.Errorf("thread has %d cancel activities, want 1", len(notes))
	}
	list := wantJSON[Page[PaymentRequest]](t, do(t, "GET", path, tok.agent, nil), http.StatusOK).Items
	if len(list) != 2 || list[0].ID != p.ID || list[1].ID != first.ID || list[0].Status != "canceled" || list[1].Status != "requested" {
		t.Errorf("list = %+v, want the canceled request, then the requested one (newest first)", list)
	}
	// Another workspace sees none of it.
	wantProblem(t, do(t, "GET", path+"/"+p.ID, tok.other, nil), http.StatusNotFound, "not_found", "")
}

// checkoutEvent is a checkout.session.completed for p, as Stripe would
// send it, its metadata naming workspace ws.
func checkoutEvent(p PaymentRequest, ws string) []byte {
	session := map[string]any{
		"id": "cs_test_" + uniq(), "object": "checkout.session", "amount_total": p.Amount, "currency": p.Currency,
		"payment_status": "paid", "status": "complete", "mode": "payment", "payment_link": p.ProviderID,
		"metadata": map[string]string{"workspace_id": ws, "conversation_id": p.ConversationID, "payment_request_id": p.ID},
	}
	raw, _ := json.Marshal(map[string]any{"id": "evt_" + uniq(), "object": "event", "api_version": "2025-08-27.basil",
		"created": time.Now().Unix(), "type": "checkout.session.completed", "data": map[string]any{"object": session}})
	return raw
}
