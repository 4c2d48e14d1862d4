package api

import (
	"net/http"

	"github.com/parley-inbox/parley/shared/inbox"
)

// WithMergeRunner lets a merge too long for one request go on in the
// background. Without it (in AWS, for now) a request moves up to
// mergeInlineWithoutRunner messages, and a longer merge answers 202 and
// each repeat of the request moves the next ones.
func WithMergeRunner(r inbox.MergeRunner) Option {
	return func(o *options) { o.merges = r }
}

// mergeInlineWithoutRunner is 80 transactions of 25 messages, a few
// seconds: well inside API Gateway's 29 s.
const mergeInlineWithoutRunner = 2000

func (a *API) mergeRoutes() {
	a.handle("POST /contacts/{contactId}/merge", a.mergeContacts)
	a.handle("GET /contacts/{contactId}/merges/{mergeId}", a.getMerge)
}

// mergeContacts answers 200 with the done merge, or 202 with the job while
// the rest goes on in the background.
func (a *API) mergeContacts(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	var in struct {
		From string `json:"from"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	id := r.PathValue("contactId")
	inline := inbox.MergeInlineMax
	if a.merges == nil {
		inline = mergeInlineWithoutRunner
	}
	m, err := a.svc.MergeContacts(r.Context(), actor, id, in.From, inline)
	if err != nil {
		return err
	}
	if m.Status == inbox.MergeDone {
		writeJSON(w, http.StatusOK, m)
		return nil
	}
	if a.merges != nil {
		if err := a.merges.RunMergeAsync(r.Context(), actor.WorkspaceID, m.ID); err != nil {
			return err
		}
	}
	w.Header().Set("Location", "/contacts/"+id+"/merges/"+m.ID)
	writeJSON(w, http.StatusAccepted, m)
	return nil
}

func (a *API) getMerge(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	m, err := a.svc.GetMerge(r.Context(), actor, r.PathValue("contactId"), r.PathValue("mergeId"))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, m)
	return nil
}
