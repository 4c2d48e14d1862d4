package api

import (
	"net/http"

	"github.com/parley-inbox/parley/shared/inbox"
)

// ---- static contact lists ----

func (a *API) listRoutes() {
	a.handle("GET /lists", a.listLists)
	a.handle("POST /lists", a.idempotent(a.createList))
	a.handle("GET /lists/{listId}", a.getList)
	a.handle("PATCH /lists/{listId}", a.updateList)
	a.handle("DELETE /lists/{listId}", a.deleteList)
	a.handle("GET /lists/{listId}/contacts", a.listMembers)
	a.handle("POST /lists/{listId}/contacts", a.addToList)
	a.handle("DELETE /lists/{listId}/contacts/{contactId}", a.removeFromList)
}

func (a *API) listLists(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	p, err := pageRequest(r)
	if err != nil {
		return err
	}
	page, err := a.svc.ListLists(r.Context(), actor, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

func (a *API) createList(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	var in inbox.ListInput
	if err := decode(r, &in); err != nil {
		return err
	}
	l, err := a.svc.CreateList(r.Context(), actor, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, l)
	return nil
}

func (a *API) getList(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	l, err := a.svc.GetList(r.Context(), actor, r.PathValue("listId"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, l)
	return nil
}

func (a *API) updateList(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	var in inbox.ListPatch
	if err := decode(r, &in); err != nil {
		return err
	}
	l, err := a.svc.UpdateList(r.Context(), actor, r.PathValue("listId"), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, l)
	return nil
}

func (a *API) deleteList(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	if err := a.svc.DeleteList(r.Context(), actor, r.PathValue("listId")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) listMembers(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	p, err := pageRequest(r)
	if err != nil {
		return err
	}
	page, err := a.svc.ListMembers(r.Context(), actor, r.PathValue("listId"), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

// addToList adds up to 1,000 contacts; 400 names ids that are not the
// workspace's contacts, and re-adding a member is counted, not repeated.
func (a *API) addToList(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	var in inbox.AddToListInput
	if err := decode(r, &in); err != nil {
		return err
	}
	res, err := a.svc.AddToList(r.Context(), actor, r.PathValue("listId"), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (a *API) removeFromList(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	if err := a.svc.RemoveFromList(r.Context(), actor, r.PathValue("listId"), r.PathValue("contactId")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
