package stripelink_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/stripe/stripe-go/v82"
	"github.com/stripe/stripe-go/v82/form"

	"github.com/parley-inbox/parley/shared/adapter/stripelink"
	"github.com/parley-inbox/parley/shared/dev/capture"
	"github.com/parley-inbox/parley/shared/inbox"
)

var link = inbox.PaymentLink{RequestID: "01J9ZQ4V7KX3M8N2P5R6S7T8VW", WorkspaceID: "ws-1", ConversationID: "01J9ZQ4V7KX3M8N2P5R6S7T8VX",
	Amount: 1200, Currency: "usd", Description: "Order #1042", IdempotencyKey: "parley-abc"}

// The form is the one stripe-go would send for the same Payment Link.
func TestLinkFormIsStripeGos(t *testing.T) {
	meta := map[string]string{"workspace_id": link.WorkspaceID, "conversation_id": link.ConversationID, "payment_request_id": link.RequestID}
	params := &stripe.PaymentLinkParams{
		LineItems: []*stripe.PaymentLinkLineItemParams{{
			PriceData: &stripe.PaymentLinkLineItemPriceDataParams{Currency: stripe.String("usd"), UnitAmount: stripe.Int64(1200),
				ProductData: &stripe.PaymentLinkLineItemPriceDataProductDataParams{Name: stripe.String("Order #1042")}},
			Quantity: stripe.Int64(1),
		}},
		Metadata:          meta,
		PaymentIntentData: &stripe.PaymentLinkPaymentIntentDataParams{Metadata: meta},
		Restrictions:      &stripe.PaymentLinkRestrictionsParams{CompletedSessions: &stripe.PaymentLinkRestrictionsCompletedSessionsParams{Limit: stripe.Int64(1)}},
	}
	want := &form.Values{}
	form.AppendTo(want, params)
	if got, want := stripelink.LinkForm(link).Encode(), want.ToValues().Encode(); got != want {
		t.Errorf("form:\n got %s\nwant %s", got, want)
	}
}

func TestCreateAndDeactivate(t *testing.T) {
	var seen []*http.Request
	var bodies []url.Values
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		f, _ := url.ParseQuery(string(raw))
		seen, bodies = append(seen, r), append(bodies, f)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"id": "plink_123", "object": "payment_link", "url": "https://buy.stripe.com/test_123", "active": f.Get("active") != "false"})
	}))
	defer srv.Close()
	links := &stripelink.Links{SecretKey: func(ws string) (string, error) { return "sk_test_" + ws, nil }, BaseURL: srv.URL}
	id, u, err := links.CreateLink(context.Background(), "ws-1", link)
	if err != nil || id != "plink_123" || u != "https://buy.stripe.com/test_123" {
		t.Fatalf("CreateLink = %q, %q, %v", id, u, err)
	}
	if err := links.DeactivateLink(context.Background(), "ws-1", id); err != nil {
		t.Fatal(err)
	}
	for i, want := range []struct{ path, idem string }{{"/v1/payment_links", "parley-abc"}, {"/v1/payment_links/plink_123", ""}} {
		r := seen[i]
		if r.Method != http.MethodPost || r.URL.Path != want.path || r.Header.Get("Authorization") != "Bearer sk_test_ws-1" ||
			r.Header.Get("Stripe-Version") != stripe.APIVersion || r.Header.Get("Idempotency-Key") != want.idem ||
			r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			t.Errorf("request %d: %s %s headers %v, want POST %s with the key, Stripe-Version %s and Idempotency-Key %q", i, r.Method, r.URL.Path, r.Header, want.path, stripe.APIVersion, want.idem)
		}
	}
	if got := bodies[1].Encode(); got != "active=false" {
		t.Errorf("deactivate form = %s, want active=false", got)
	}
}

func TestStripeErrors(t *testing.T) {
	for _, tc := range []struct {
		status int
		want   inbox.Kind
	}{{400, inbox.KindInvalid}, {401, inbox.KindInvalid}, {429, inbox.KindUnavailable}, {500, inbox.KindUnavailable}} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(tc.status)
			_, _ = w.Write([]byte(`{"error":{"type":"invalid_request_error","message":"Amount must be at least $0.50 usd","param":"line_items[0][price_data][unit_amount]"}}`))
		}))
		links := &stripelink.Links{SecretKey: func(string) (string, error) { return "sk_test_x", nil }, BaseURL: srv.URL}
		_, _, err := links.CreateLink(context.Background(), "ws", link)
		if inbox.ErrorKind(err) != tc.want {
			t.Errorf("Stripe %d: error %v (kind %q), want %q", tc.status, err, inbox.ErrorKind(err), tc.want)
		}
		srv.Close()
	}
	noKey := &stripelink.Links{SecretKey: func(string) (string, error) { return "", &inbox.SendError{Code: "not_configured"} }}
	if _, _, err := noKey.CreateLink(context.Background(), "ws", link); inbox.ErrorKind(err) != inbox.KindInvalid {
		t.Errorf("no Stripe key: %v, want invalid", err)
	}
}

// The local stand-in answers the adapter as Stripe does, with a Payment
// Link stripe-go itself decodes.
func TestAgainstTheStandIn(t *testing.T) {
	stand := &capture.Stripe{}
	srv := httptest.NewServer(stand.Handler())
	defer srv.Close()
	stand.BaseURL = srv.URL
	links := &stripelink.Links{SecretKey: func(string) (string, error) { return "sk_test_local", nil }, BaseURL: srv.URL}
	id, u, err := links.CreateLink(context.Background(), "ws-1", link)
	if err != nil || u != srv.URL+"/pay/"+id {
		t.Fatalf("CreateLink = %q, %q, %v", id, u, err)
	}
	again, _, err := links.CreateLink(context.Background(), "ws-1", link)
	if err != nil || again != id {
		t.Errorf("a retry with the same Idempotency-Key made %q, want %q", again, id)
	}
	res, err := http.Post(srv.URL+"/v1/payment_links/"+id, "application/x-www-form-urlencoded", nil)
	if err != nil || res.StatusCode != http.StatusUnauthorized {
		t.Errorf("a call without a key: %v %v, want 401", res.StatusCode, err)
	}
	if err := links.DeactivateLink(context.Background(), "ws-1", id); err != nil {
		t.Fatal(err)
	}
	got := stand.Links("ws-1")
	if len(got) != 1 || got[0].Active || got[0].Amount != 1200 || got[0].Metadata["payment_request_id"] != link.RequestID {
		t.Fatalf("stand-in links = %+v", got)
	}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/payment_links/"+id, nil)
	req.Header.Set("Authorization", "Bearer sk_test_local")
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var pl stripe.PaymentLink
	if err := json.NewDecoder(res.Body).Decode(&pl); err != nil || pl.ID != id || pl.Active || pl.Metadata["workspace_id"] != "ws-1" || pl.Restrictions.CompletedSessions.Limit != 1 {
		t.Errorf("stripe-go reads the stand-in's link as %+v, %v", pl, err)
	}
	if err := links.DeactivateLink(context.Background(), "ws-1", "plink_missing"); inbox.ErrorKind(err) != inbox.KindInvalid {
		t.Errorf("deactivating an unknown link: %v, want invalid (Stripe's 404)", err)
	}
}
