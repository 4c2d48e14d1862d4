package api

import (
	"encoding/json"
	"net/http"

	"github.com/parley-inbox/parley/shared/handler/problem"
)

func (a *API) writeError(w http.ResponseWriter, r *http.Request, err error) {
	problem.Write(w, r, a.log, err)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
