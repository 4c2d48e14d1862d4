package api

import (
	"net/http"

	"github.com/parley-inbox/parley/shared/inbox"
)

// WithImports serves /contact-imports: uploads read from files, runs
// started with runner (reports go to the exports' object store).
func WithImports(files inbox.ImportFiles, runner inbox.ImportRunner) Option {
	return func(o *options) { o.importFiles, o.importRunner = files, runner }
}

func (a *API) importRoutes() {
	a.handle("POST /contact-imports", a.idempotent(a.startImport))
	a.handle("GET /contact-imports/{importId}", a.getImport)
}

func (a *API) startImport(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	var in inbox.ImportInput
	if err := decode(r, &in); err != nil {
		return err
	}
	im, err := a.imports.StartImport(r.Context(), actor, in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/contact-imports/"+im.ID)
	writeJSON(w, http.StatusAccepted, im)
	return nil
}

func (a *API) getImport(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	im, err := a.imports.GetImport(r.Context(), actor, r.PathValue("importId"))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, im)
	return nil
}
