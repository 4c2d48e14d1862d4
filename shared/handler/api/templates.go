package api

import (
	"net/http"

	"github.com/parley-inbox/parley/shared/inbox"
)

// Option configures New.
type Option func(*options)

type options struct {
	registry         inbox.TemplateRegistry
	media            inbox.MediaStore
	webhookTransport inbox.WebhookTransport
	webhookQueue     inbox.WebhookQueue
	webhookHTTP      bool
	payments         inbox.PaymentProvider
	merges           inbox.MergeRunner
	importFiles      inbox.ImportFiles
	importRunner     inbox.ImportRunner
}

// WithTemplateRegistry lets POST /templates submit WhatsApp templates to
// Meta for review (and delete and refresh them there). Without it those
// answer 503; SMS templates need no registry.
func WithTemplateRegistry(r inbox.TemplateRegistry) Option {
	return func(o *options) { o.registry = r }
}

func (a *API) templateRoutes() {
	a.handle("GET /templates", a.listTemplates)
	a.handle("POST /templates", a.idempotent(a.createTemplate))
	a.handle("POST /templates/refresh", a.refreshTemplates)
	a.handle("GET /templates/{templateId}", a.getTemplate)
	a.handle("DELETE /templates/{templateId}", a.deleteTemplate)
}

func (a *API) listTemplates(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	list, err := a.templates.Templates(r.Context(), actor, r.URL.Query().Get("channel"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listPage[*inbox.MessageTemplate]{Items: list})
	return nil
}

func (a *API) createTemplate(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	var in inbox.TemplateInput
	if err := decode(r, &in); err != nil {
		return err
	}
	t, err := a.templates.CreateTemplate(r.Context(), actor, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, t)
	return nil
}

func (a *API) getTemplate(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	t, err := a.templates.Template(r.Context(), actor, r.PathValue("templateId"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, t)
	return nil
}

func (a *API) deleteTemplate(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	if err := a.templates.DeleteTemplate(r.Context(), actor, r.PathValue("templateId")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) refreshTemplates(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	list, err := a.templates.RefreshTemplates(r.Context(), actor)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listPage[*inbox.MessageTemplate]{Items: list})
	return nil
}
