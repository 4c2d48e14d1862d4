package api

import (
	"net/http"

	"github.com/parley-inbox/parley/shared/inbox"
)

func (a *API) contactFieldRoutes() {
	a.handle("GET /contact-fields", a.listContactFields)
	a.handle("PUT /contact-fields/{key}", a.putContactField)
	a.handle("DELETE /contact-fields/{key}", a.deleteContactField)
}

func (a *API) listContactFields(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	set, err := a.svc.ContactFields(r.Context(), actor)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listPage[inbox.ContactField]{Items: set.Fields})
	return nil
}

func (a *API) putContactField(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	var in inbox.ContactFieldInput
	if err := decode(r, &in); err != nil {
		return err
	}
	f, err := a.svc.PutContactField(r.Context(), actor, r.PathValue("key"), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, f)
	return nil
}

func (a *API) deleteContactField(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	if err := a.svc.DeleteContactField(r.Context(), actor, r.PathValue("key")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
