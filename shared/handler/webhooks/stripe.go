package webhooks

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/parley-inbox/parley/shared/adapter/stripehook"
	"github.com/parley-inbox/parley/shared/inbox"
)

// commaHeader is a header whose value holds commas ("t=…,v1=…"), whole:
// Lambda's API Gateway adapter splits such values into several.
func commaHeader(r *http.Request, name string) string {
	return strings.Join(r.Header.Values(name), ",")
}

// Stripe's events are well under this.
const maxStripeBody = 512 << 10

// stripeEvents records a paid payment request from Stripe's signed
// checkout.session.completed, and publishes its order.placed. Stripe
// retries anything but a 2xx for days, so an event that records nothing
// (another type, a link Parley did not make, a request whose thread was
// deleted) gets a 200.
func (h *Handler) stripeEvents(w http.ResponseWriter, r *http.Request) {
	creds, err := h.credentials(r)
	if err != nil || creds.StripeWebhookSecret == "" || h.Payments == nil || h.Events == nil {
		h.fail(w, r, errUnknown)
		return
	}
	body, err := readBody(r, maxStripeBody)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	paid, ok, err := stripehook.Parse(r.PathValue("workspaceId"), body, commaHeader(r, stripehook.SignatureHeader), creds.StripeWebhookSecret)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	recorded := ""
	if ok {
		e, err := h.Intake.RecordPayment(r.Context(), h.Payments, paid)
		if inbox.IsKind(err, inbox.KindNotFound) {
			// Its thread was deleted (and the request with it): nothing
			// to record, and a retry would not change that.
			h.Log.InfoContext(r.Context(), "stripe webhook: payment of an unknown request", "request", paid.RequestID, "checkout", paid.CheckoutID)
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{"received": true, "paymentRequestId": ""})
			return
		}
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if err := h.Events.Publish(r.Context(), []inbox.Event{e}); err != nil {
			h.fail(w, r, &inbox.Error{Kind: inbox.KindUnavailable, Message: "the payment was recorded but its event could not be published; retry", Err: err})
			return
		}
		recorded = paid.RequestID
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"received": true, "paymentRequestId": recorded})
}
