package api

import (
	"net/http"

	"github.com/parley-inbox/parley/shared/inbox"
)

// WithPayments lets agents request payments through provider (Stripe
// Payment Links). Without it the payment request routes answer 503.
func WithPayments(provider inbox.PaymentProvider) Option {
	return func(o *options) { o.payments = provider }
}

var errNoPayments = &inbox.Error{Kind: inbox.KindUnavailable, Message: "payment requests are not available in this deployment"}

func (a *API) paymentRoutes() {
	a.handle("POST /conversations/{conversationId}/payment-requests", a.idempotent(a.requestPayment))
	a.handle("GET /conversations/{conversationId}/payment-requests", a.listPaymentRequests)
	a.handle("GET /conversations/{conversationId}/payment-requests/{paymentRequestId}", a.getPaymentRequest)
	a.handle("POST /conversations/{conversationId}/payment-requests/{paymentRequestId}/cancel", a.cancelPaymentRequest)
}

func (a *API) requestPayment(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	if a.payments == nil {
		return errNoPayments
	}
	var in inbox.PaymentInput
	if err := decode(r, &in); err != nil {
		return err
	}
	key, err := idempotencyKey(r)
	if err != nil {
		return err
	}
	p, err := a.payments.Request(r.Context(), actor, r.PathValue("conversationId"), in, key)
	return writeCreated(w, p, false, err)
}

func (a *API) listPaymentRequests(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	if a.payments == nil {
		return errNoPayments
	}
	p, err := pageRequest(r)
	if err != nil {
		return err
	}
	page, err := a.payments.ListRequests(r.Context(), actor, r.PathValue("conversationId"), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

func (a *API) getPaymentRequest(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	if a.payments == nil {
		return errNoPayments
	}
	p, err := a.payments.GetRequest(r.Context(), actor, r.PathValue("conversationId"), r.PathValue("paymentRequestId"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

func (a *API) cancelPaymentRequest(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	if a.payments == nil {
		return errNoPayments
	}
	p, err := a.payments.CancelRequest(r.Context(), actor, r.PathValue("conversationId"), r.PathValue("paymentRequestId"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}
