package api

import (
	"net/http"
	"time"

	"github.com/parley-inbox/parley/shared/inbox"
)

// Outbound webhooks for integrators, under /integrations/webhooks:
// /webhooks/ is the providers' public prefix.

// WithIntegrations serves /integrations/webhooks: subscriptions' URLs are
// checked through transport (never posted to from the api), replays are
// queued on queue. allowHTTP admits http:// URLs to loopback receivers,
// which only the local stack's transport lets through.
func WithIntegrations(transport inbox.WebhookTransport, queue inbox.WebhookQueue, allowHTTP bool) Option {
	return func(o *options) {
		o.webhookTransport, o.webhookQueue, o.webhookHTTP = transport, queue, allowHTTP
	}
}

func (a *API) integrationRoutes() {
	const base = "/integrations/webhooks/subscriptions"
	a.handle("GET "+base, a.withIntegrations(a.listWebhookSubscriptions))
	a.handle("POST "+base, a.withIntegrations(a.createWebhookSubscription))
	a.handle("GET "+base+"/{subscriptionId}", a.withIntegrations(a.getWebhookSubscription))
	a.handle("PATCH "+base+"/{subscriptionId}", a.withIntegrations(a.updateWebhookSubscription))
	a.handle("DELETE "+base+"/{subscriptionId}", a.withIntegrations(a.deleteWebhookSubscription))
	a.handle("POST "+base+"/{subscriptionId}/rotate-secret", a.withIntegrations(a.rotateWebhookSecret))
	a.handle("POST "+base+"/{subscriptionId}/replay", a.withIntegrations(a.replayWebhooks))
	a.handle("GET "+base+"/{subscriptionId}/deliveries", a.withIntegrations(a.listWebhookDeliveries))
	a.handle("GET "+base+"/{subscriptionId}/deliveries/{deliveryId}", a.withIntegrations(a.getWebhookDelivery))
	a.handle("POST "+base+"/{subscriptionId}/deliveries/{deliveryId}/replay", a.withIntegrations(a.replayWebhookDelivery))
}

// withIntegrations answers 503 where the api was built without them.
func (a *API) withIntegrations(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
		if a.integrations == nil {
			return inbox.Errorf(inbox.KindUnavailable, "outbound webhooks are not configured in this deployment")
		}
		return h(w, r, actor)
	}
}

func (a *API) listWebhookSubscriptions(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	subs, err := a.integrations.ListWebhookSubscriptions(r.Context(), actor)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listPage[*inbox.WebhookSubscription]{Items: subs})
	return nil
}

func (a *API) createWebhookSubscription(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	var in inbox.WebhookSubscriptionInput
	if err := decode(r, &in); err != nil {
		return err
	}
	sub, err := a.integrations.CreateWebhookSubscription(r.Context(), actor, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, sub)
	return nil
}

func (a *API) getWebhookSubscription(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	sub, err := a.integrations.GetWebhookSubscription(r.Context(), actor, r.PathValue("subscriptionId"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sub)
	return nil
}

func (a *API) updateWebhookSubscription(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	var in inbox.WebhookSubscriptionInput
	if err := decode(r, &in); err != nil {
		return err
	}
	sub, err := a.integrations.UpdateWebhookSubscription(r.Context(), actor, r.PathValue("subscriptionId"), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sub)
	return nil
}

func (a *API) deleteWebhookSubscription(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	if err := a.integrations.DeleteWebhookSubscription(r.Context(), actor, r.PathValue("subscriptionId")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) rotateWebhookSecret(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	sub, err := a.integrations.RotateWebhookSecret(r.Context(), actor, r.PathValue("subscriptionId"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sub)
	return nil
}

// replayRequest is POST .../replay's body.
type replayRequest struct {
	Since time.Time `json:"since"`
}

func (a *API) replayWebhooks(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	var in replayRequest
	if err := decode(r, &in); err != nil {
		return err
	}
	job, err := a.integrations.ReplayWebhooksSince(r.Context(), actor, r.PathValue("subscriptionId"), in.Since)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"subscriptionId": job.SubscriptionID, "since": job.Since,
		"maxDeliveries": inbox.WebhookReplayMax})
	return nil
}

func (a *API) listWebhookDeliveries(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	p, err := pageRequest(r)
	if err != nil {
		return err
	}
	page, err := a.integrations.ListWebhookDeliveries(r.Context(), actor, r.PathValue("subscriptionId"), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listPage[*inbox.WebhookDelivery]{Items: page.Items, NextCursor: page.NextCursor})
	return nil
}

func (a *API) getWebhookDelivery(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	d, err := a.integrations.GetWebhookDelivery(r.Context(), actor, r.PathValue("subscriptionId"), r.PathValue("deliveryId"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

func (a *API) replayWebhookDelivery(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	d, err := a.integrations.ReplayWebhookDelivery(r.Context(), actor, r.PathValue("subscriptionId"), r.PathValue("deliveryId"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, d)
	return nil
}
