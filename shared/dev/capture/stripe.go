package capture

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/stripe/stripe-go/v82/webhook"

	"github.com/parley-inbox/parley/shared/adapter/stripelink"
)

// Stripe stands in for Stripe's API and its checkout pages: links are made
// and deactivated as Stripe would (the same form, the same JSON back), and
// "paying" a link posts a checkout.session.completed event to the
// workspace's webhook route, signed with its webhook secret as Stripe signs.
// Serve Handler under BaseURL; point stripelink.Links.BaseURL at it too.
type Stripe struct {
	// BaseURL is where Handler is served (http://host:port/dev/stripe).
	BaseURL string
	// WebhookURL is where a workspace's Stripe events go; Secret is the
	// secret they are signed with.
	WebhookURL func(workspaceID string) string
	Secret     func(workspaceID string) string
	HTTP       *http.Client

	mu    sync.Mutex
	links map[string]*StripeLink // by id
	order []string
	keys  map[string]string // Idempotency-Key -> link id
}

// StripeLink is a payment link the stand-in made.
type StripeLink struct {
	ID          string            `json:"id"`
	URL         string            `json:"url"`
	Active      bool              `json:"active"`
	Amount      int64             `json:"amount"`
	Currency    string            `json:"currency"`
	Name        string            `json:"name"`
	Metadata    map[string]string `json:"metadata"`
	Completed   int               `json:"completedSessions"`
	WorkspaceID string            `json:"workspaceId"`
	CreatedAt   time.Time         `json:"createdAt"`
}

// Links lists a workspace's links, oldest first.
func (s *Stripe) Links(workspaceID string) []StripeLink {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []StripeLink
	for _, id := range s.order {
		if l := s.links[id]; l.WorkspaceID == workspaceID {
			out = append(out, *l)
		}
	}
	return out
}

// Handler serves Stripe's two Payment Link calls (/v1/payment_links),
// the checkout page (GET /pay/{id}; POST pays), and GET /links.
func (s *Stripe) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/payment_links", s.create)
	mux.HandleFunc("POST /v1/payment_links/{id}", s.update)
	mux.HandleFunc("GET /pay/{id}", s.page)
	mux.HandleFunc("POST /pay/{id}", s.pay)
	mux.HandleFunc("GET /links", func(w http.ResponseWriter, r *http.Request) {
		writeStripeJSON(w, http.StatusOK, map[string]any{"items": s.Links(r.URL.Query().Get("workspace"))})
	})
	return mux
}

func stripeError(w http.ResponseWriter, status int, typ, msg, param string) {
	writeStripeJSON(w, status, map[string]any{"error": map[string]string{"type": typ, "message": msg, "param": param}})
}

func writeStripeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func stripeID(prefix string) string {
	b := make([]byte, 12)
	rand.Read(b) // never fails
	return prefix + hex.EncodeToString(b)
}

// authorized checks the secret key's shape, as Stripe answers 401 without one.
func authorized(w http.ResponseWriter, r *http.Request) bool {
	key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || !(strings.HasPrefix(key, "sk_") || strings.HasPrefix(key, "rk_")) {
		stripeError(w, http.StatusUnauthorized, "invalid_request_error", "Invalid API Key provided", "")
		return false
	}
	return true
}

func (s *Stripe) create(w http.ResponseWriter, r *http.Request) {
	if !authorized(w, r) {
		return
	}
	if err := r.ParseForm(); err != nil {
		stripeError(w, http.StatusBadRequest, "invalid_request_error", "Invalid form body", "")
		return
	}
	f := r.PostForm
	amount, err := strconv.ParseInt(f.Get("line_items[0][price_data][unit_amount]"), 10, 64)
	switch {
	case err != nil || amount <= 0:
		stripeError(w, http.StatusBadRequest, "invalid_request_error", "Invalid integer", "line_items[0][price_data][unit_amount]")
		return
	case len(f.Get("line_items[0][price_data][currency]")) != 3:
		stripeError(w, http.StatusBadRequest, "invalid_request_error", "Invalid currency", "line_items[0][price_data][currency]")
		return
	case f.Get("line_items[0][price_data][product_data][name]") == "":
		stripeError(w, http.StatusBadRequest, "invalid_request_error", "Missing required param: line_items[0][price_data][product_data][name].", "line_items[0][price_data][product_data][name]")
		return
	}
	meta := map[string]string{}
	for k, v := range f {
		if name, ok := strings.CutPrefix(k, "metadata["); ok {
			meta[strings.TrimSuffix(name, "]")] = v[0]
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.links == nil {
		s.links, s.keys = map[string]*StripeLink{}, map[string]string{}
	}
	key := r.Header.Get("Idempotency-Key")
	if id, ok := s.keys[key]; ok && key != "" {
		w.Header().Set("Idempotent-Replayed", "true")
		writeStripeJSON(w, http.StatusOK, s.linkJSON(s.links[id]))
		return
	}
	id := stripeID("plink_")
	l := &StripeLink{ID: id, URL: s.BaseURL + "/pay/" + id, Active: true, Amount: amount,
		Currency: f.Get("line_items[0][price_data][currency]"), Name: f.Get("line_items[0][price_data][product_data][name]"),
		Metadata: meta, WorkspaceID: meta["workspace_id"], CreatedAt: time.Now().UTC()}
	s.links[id] = l
	s.order = append(s.order, id)
	if key != "" {
		s.keys[key] = id
	}
	writeStripeJSON(w, http.StatusOK, s.linkJSON(l))
}

// linkJSON is a Payment Link object as Stripe's API returns it.
func (s *Stripe) linkJSON(l *StripeLink) map[string]any {
	return map[string]any{"id": l.ID, "object": "payment_link", "active": l.Active, "url": l.URL, "currency": l.Currency,
		"livemode": false, "metadata": l.Metadata, "billing_address_collection": "auto", "payment_method_collection": "always",
		"customer_creation": "if_required", "allow_promotion_codes": false, "submit_type": "auto",
		"restrictions": map[string]any{"completed_sessions": map[string]any{"count": l.Completed, "limit": 1}}}
}

func (s *Stripe) find(w http.ResponseWriter, id string) *StripeLink {
	l := s.links[id]
	if l == nil {
		stripeError(w, http.StatusNotFound, "invalid_request_error", "No such payment_link: '"+id+"'", "id")
	}
	return l
}

func (s *Stripe) update(w http.ResponseWriter, r *http.Request) {
	if !authorized(w, r) {
		return
	}
	if err := r.ParseForm(); err != nil {
		stripeError(w, http.StatusBadRequest, "invalid_request_error", "Invalid form body", "")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.find(w, r.PathValue("id"))
	if l == nil {
		return
	}
	if v := r.PostForm.Get("active"); v != "" {
		l.Active = v == "true"
	}
	writeStripeJSON(w, http.StatusOK, s.linkJSON(l))
}

func (s *Stripe) page(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	l := s.links[r.PathValue("id")]
	s.mu.Unlock()
	if l == nil || !l.Active {
		http.Error(w, "This link is no longer active.", http.StatusGone)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, `<!doctype html><title>Pay</title><form method="post"><p>%s: %d %s</p><button>Pay (Stripe stand-in)</button></form>`,
		html.EscapeString(l.Name), l.Amount, html.EscapeString(strings.ToUpper(l.Currency)))
}

// pay completes a checkout on the link, as a customer paying would, and
// delivers Stripe's event; it answers with the event and the webhook's
// status. A link pays once (its completed-sessions limit), then closes.
func (s *Stripe) pay(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	l := s.links[r.PathValue("id")]
	if l == nil || !l.Active {
		s.mu.Unlock()
		stripeError(w, http.StatusGone, "invalid_request_error", "This payment link is no longer active.", "")
		return
	}
	l.Completed++
	l.Active = false
	link := *l
	s.mu.Unlock()
	body := CheckoutCompletedEvent(link, r.FormValue("email"), time.Now())
	status, answer, err := s.deliver(link.WorkspaceID, body)
	if err != nil {
		stripeError(w, http.StatusBadGateway, "api_error", err.Error(), "")
		return
	}
	writeStripeJSON(w, http.StatusOK, map[string]any{"event": json.RawMessage(body), "webhookStatus": status, "webhookResponse": answer})
}

// deliver posts a signed event to the workspace's webhook route.
func (s *Stripe) deliver(ws string, body []byte) (int, string, error) {
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: s.Secret(ws), Timestamp: time.Now()})
	req, err := http.NewRequest(http.MethodPost, s.WebhookURL(ws), bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)")
	req.Header.Set("Stripe-Signature", signed.Header)
	client := s.HTTP
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	res, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	return res.StatusCode, string(answer), nil
}

// CheckoutCompletedEvent is the event Stripe sends when a link's checkout
// is paid by card, in the shape of the API version stripe-go v82 reads.
func CheckoutCompletedEvent(l StripeLink, email string, at time.Time) []byte {
	if email == "" {
		email = "jo@example.com"
	}
	session := map[string]any{
		"id": stripeID("cs_test_"), "object": "checkout.session", "amount_subtotal": l.Amount, "amount_total": l.Amount,
		"currency": l.Currency, "created": at.Unix() - 60, "expires_at": at.Unix() + 86340, "livemode": false, "mode": "payment",
		"customer": nil, "customer_creation": "if_required",
		"customer_details": map[string]any{"email": email, "name": "Jo Customer", "phone": nil, "tax_exempt": "none"},
		"metadata":         l.Metadata, "payment_intent": stripeID("pi_"), "payment_link": l.ID, "payment_method_types": []string{"card"},
		"payment_status": "paid", "status": "complete", "submit_type": "auto", "success_url": "https://stripe.com", "url": nil,
		"total_details": map[string]any{"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
	}
	event := map[string]any{
		"id": stripeID("evt_"), "object": "event", "api_version": stripelink.APIVersion, "created": at.Unix(),
		"data": map[string]any{"object": session}, "livemode": false, "pending_webhooks": 1,
		"request": map[string]any{"id": nil, "idempotency_key": nil}, "type": "checkout.session.completed",
	}
	raw, _ := json.MarshalIndent(event, "", "  ")
	return raw
}
