// Package stripelink makes and deactivates Stripe Payment Links for
// payment requests.
//
// It calls Stripe's REST API (two form-encoded POSTs) with net/http rather
// than through stripe-go: stripe-go's client links about 1.4 MB into the
// api Lambda (measured on linux/arm64 with -s -w), which is past the api's
// size budget for two calls. The requests are the ones stripe-go sends
// (same fields, Stripe-Version and Idempotency-Key headers), and the tests
// compare them with stripe-go's own form encoding. The webhook side, which
// is security-critical, uses stripe-go's signature verification
// (shared/adapter/stripehook).
package stripelink

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/parley-inbox/parley/shared/inbox"
)

// APIVersion is the Stripe API version of stripe-go v82, which the webhook
// side verifies events with.
const APIVersion = "2025-08-27.basil"

// DefaultBaseURL is Stripe's API.
const DefaultBaseURL = "https://api.stripe.com"

const maxResponse = 1 << 20

// Links is an inbox.PaymentProvider on Stripe Payment Links.
type Links struct {
	// SecretKey returns a workspace's Stripe secret key (sk_… or rk_…).
	SecretKey func(workspaceID string) (string, error)
	// BaseURL is Stripe's API (DefaultBaseURL when empty); the local stack
	// points it at its stand-in.
	BaseURL string
	HTTP    *http.Client
}

var _ inbox.PaymentProvider = (*Links)(nil)

// Link is the part of Stripe's Payment Link object Parley reads.
type Link struct {
	ID     string `json:"id"`
	Object string `json:"object"`
	URL    string `json:"url"`
	Active bool   `json:"active"`
}

// LinkForm is the form that creates a one-line, one-payment link for l.
// Metadata names the request on the link and on the payment, so the
// checkout.session.completed event leads back to it.
func LinkForm(l inbox.PaymentLink) url.Values {
	f := url.Values{}
	f.Set("line_items[0][price_data][currency]", l.Currency)
	f.Set("line_items[0][price_data][product_data][name]", l.Description)
	f.Set("line_items[0][price_data][unit_amount]", strconv.FormatInt(l.Amount, 10))
	f.Set("line_items[0][quantity]", "1")
	// A request is paid once: the link closes after one completed checkout.
	f.Set("restrictions[completed_sessions][limit]", "1")
	for k, v := range map[string]string{"workspace_id": l.WorkspaceID, "conversation_id": l.ConversationID, "payment_request_id": l.RequestID} {
		f.Set("metadata["+k+"]", v)
		f.Set("payment_intent_data[metadata]["+k+"]", v)
	}
	return f
}

// CreateLink makes the payment link.
func (s *Links) CreateLink(ctx context.Context, ws string, l inbox.PaymentLink) (string, string, error) {
	var link Link
	if err := s.post(ctx, ws, "/v1/payment_links", LinkForm(l), l.IdempotencyKey, &link); err != nil {
		return "", "", err
	}
	if link.ID == "" || link.URL == "" {
		return "", "", &inbox.Error{Kind: inbox.KindUnavailable, Message: "Stripe returned a payment link without an id or URL"}
	}
	return link.ID, link.URL, nil
}

// DeactivateLink closes a link: it can no longer be paid.
func (s *Links) DeactivateLink(ctx context.Context, ws, id string) error {
	if id == "" || strings.ContainsAny(id, "/?#") {
		return inbox.Invalid("", "no payment link to deactivate")
	}
	var link Link
	return s.post(ctx, ws, "/v1/payment_links/"+id, url.Values{"active": {"false"}}, "", &link)
}

func (s *Links) post(ctx context.Context, ws, path string, form url.Values, idempotencyKey string, out any) error {
	key, err := s.SecretKey(ws)
	if err != nil || key == "" {
		return inbox.Invalid("", "payment requests are not set up for this workspace: it has no Stripe secret key")
	}
	base := s.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+path, strings.NewReader(form.Encode()))
	if err != nil {
		return inbox.Internal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Stripe-Version", APIVersion)
	if idempotencyKey != "" {
		req.Header.Set("Idempotency-Key", idempotencyKey)
	}
	client := s.HTTP
	if client == nil {
		client = &http.Client{Timeout: 20 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return &inbox.Error{Kind: inbox.KindUnavailable, Message: "Stripe could not be reached; retry", Err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return &inbox.Error{Kind: inbox.KindUnavailable, Message: "Stripe's answer could not be read; retry", Err: err}
	}
	if resp.StatusCode/100 != 2 {
		return stripeError(resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return &inbox.Error{Kind: inbox.KindUnavailable, Message: "Stripe's answer is not JSON", Err: err}
	}
	return nil
}

// stripeError maps Stripe's error answer to a kind: what the request got
// wrong is the agent's to fix (400), a key Stripe refuses is the admin's
// (400 too, saying so), and the rest is worth a retry (503).
func stripeError(status int, body []byte) error {
	var e struct {
		Error struct {
			Type    string `json:"type"`
			Code    string `json:"code"`
			Message string `json:"message"`
			Param   string `json:"param"`
		} `json:"error"`
	}
	_ = json.Unmarshal(body, &e)
	cause := fmt.Errorf("stripe: %d %s %s: %s", status, e.Error.Type, e.Error.Code, e.Error.Message)
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return &inbox.Error{Kind: inbox.KindInvalid, Message: "Stripe refused this workspace's secret key; an admin must update it", Err: cause}
	case status == http.StatusBadRequest || status == http.StatusPaymentRequired || status == http.StatusNotFound:
		msg := e.Error.Message
		if len(msg) > 300 {
			msg = msg[:300]
		}
		return &inbox.Error{Kind: inbox.KindInvalid, Message: "Stripe refused the payment link: " + msg, Err: cause}
	}
	return &inbox.Error{Kind: inbox.KindUnavailable, Message: "Stripe is unavailable; retry", Err: cause}
}
