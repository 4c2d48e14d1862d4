// Package stripehook reads Stripe's signed webhook events, verified with
// stripe-go's webhook package, into the payments Parley records.
package stripehook

import (
	"encoding/json"
	"time"

	"github.com/stripe/stripe-go/v82/webhook"

	"github.com/parley-inbox/parley/shared/inbox"
)

// SignatureHeader is where Stripe signs an event.
const SignatureHeader = "Stripe-Signature"

// The events that mean a checkout was paid: at once (cards), or later
// (bank debits and other asynchronous methods).
const (
	EventCheckoutCompleted     = "checkout.session.completed"
	EventAsyncPaymentSucceeded = "checkout.session.async_payment_succeeded"
	metadataWorkspace          = "workspace_id"
	metadataConversation       = "conversation_id"
	metadataRequest            = "payment_request_id"
	paymentStatusPaid          = "paid"
)

var (
	// ErrSignature is a missing, wrong or stale (past stripe-go's
	// 5-minute tolerance) Stripe-Signature.
	ErrSignature = &inbox.Error{Kind: inbox.KindForbidden, Message: "the request signature is missing or invalid"}
	// ErrOtherWorkspace is an event whose metadata names another workspace
	// than the route's: it must not touch either.
	ErrOtherWorkspace = &inbox.Error{Kind: inbox.KindForbidden, Message: "the event belongs to another workspace"}
)

// checkoutSession is the part of Stripe's Checkout Session Parley reads.
type checkoutSession struct {
	ID            string            `json:"id"`
	Object        string            `json:"object"`
	PaymentStatus string            `json:"payment_status"`
	PaymentLink   string            `json:"payment_link"`
	AmountTotal   int64             `json:"amount_total"`
	Currency      string            `json:"currency"`
	Metadata      map[string]string `json:"metadata"`
}

// Parse verifies a Stripe event for workspace ws with its signing secret
// and reads the payment it reports. ok is false for an event that records
// nothing: another type, a checkout not yet paid, or a link Parley did not
// make (no payment request in its metadata); Stripe gets a 200 for those.
//
// The event's API version is not checked against stripe-go's: Parley
// reads only fields every version since 2020 has, and an account whose
// webhook endpoint is pinned to an older version must still be heard.
func Parse(ws string, body []byte, signature, secret string) (p inbox.PaymentReceived, ok bool, err error) {
	if secret == "" {
		return p, false, ErrSignature
	}
	if err := webhook.ValidatePayload(body, signature, secret); err != nil {
		return p, false, ErrSignature
	}
	event, err := webhook.ConstructEventWithOptions(body, signature, secret, webhook.ConstructEventOptions{IgnoreAPIVersionMismatch: true})
	if err != nil {
		return p, false, inbox.Invalid("", "the event is not a Stripe event")
	}
	if event.Type != EventCheckoutCompleted && event.Type != EventAsyncPaymentSucceeded {
		return p, false, nil
	}
	var cs checkoutSession
	if event.Data == nil || json.Unmarshal(event.Data.Raw, &cs) != nil || cs.Object != "checkout.session" {
		return p, false, inbox.Invalid("", "the event holds no checkout session")
	}
	requestID := cs.Metadata[metadataRequest]
	if requestID == "" {
		return p, false, nil
	}
	if cs.Metadata[metadataWorkspace] != ws {
		return p, false, ErrOtherWorkspace
	}
	if cs.PaymentStatus != paymentStatusPaid {
		return p, false, nil
	}
	return inbox.PaymentReceived{WorkspaceID: ws, ConversationID: cs.Metadata[metadataConversation], RequestID: requestID,
		LinkID: cs.PaymentLink, CheckoutID: cs.ID, Amount: cs.AmountTotal, Currency: cs.Currency,
		PaidAt: time.Unix(event.Created, 0).UTC()}, true, nil
}
