package api

import (
	"net/http"

	"github.com/parley-inbox/parley/shared/inbox"
)

// ---- snippets ----

func (a *API) listSnippets(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	p, err := pageRequest(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	page, err := a.svc.Snippets(r.Context(), actor, inbox.SnippetQuery{Category: q.Get("category"), Q: q.Get("q"), Page: p})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

func (a *API) createSnippet(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	var in inbox.SnippetInput
	if err := decode(r, &in); err != nil {
		return err
	}
	sn, err := a.svc.CreateSnippet(r.Context(), actor, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, sn)
	return nil
}

func (a *API) getSnippet(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	sn, err := a.svc.GetSnippet(r.Context(), actor, r.PathValue("snippetId"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sn)
	return nil
}

func (a *API) updateSnippet(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	var in inbox.SnippetPatch
	if err := decode(r, &in); err != nil {
		return err
	}
	sn, err := a.svc.UpdateSnippet(r.Context(), actor, r.PathValue("snippetId"), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sn)
	return nil
}

func (a *API) deleteSnippet(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	if err := a.svc.DeleteSnippet(r.Context(), actor, r.PathValue("snippetId")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// renderSnippet fills a snippet for a conversation, for the composer. It
// writes and sends nothing. The body is {} or names the channel.
func (a *API) renderSnippet(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	var in inbox.RenderInput
	if err := decode(r, &in); err != nil {
		return err
	}
	out, err := a.svc.RenderSnippet(r.Context(), actor, r.PathValue("conversationId"), r.PathValue("snippetId"), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
