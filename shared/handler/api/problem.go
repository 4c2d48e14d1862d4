package api

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/parley-inbox/parley/shared/inbox"
)

// Problem is an RFC 9457 problem detail.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	// Code is the machine-readable kind; Field names the bad request field.
	Code  string `json:"code"`
	Field string `json:"field,omitempty"`
}

// statusOf is the one table from error kinds to HTTP statuses.
var statusOf = map[inbox.Kind]int{
	inbox.KindInvalid:      http.StatusBadRequest,
	inbox.KindUnauthorized: http.StatusUnauthorized,
	inbox.KindForbidden:    http.StatusForbidden,
	inbox.KindNotFound:     http.StatusNotFound,
	inbox.KindConflict:     http.StatusConflict,
	inbox.KindUnavailable:  http.StatusServiceUnavailable,
	inbox.KindInternal:     http.StatusInternalServerError,
	kindTooLarge:           http.StatusRequestEntityTooLarge,
	kindUnsupportedMedia:   http.StatusUnsupportedMediaType,
}

// Kinds only the HTTP layer produces.
const (
	kindTooLarge         inbox.Kind = "too_large"
	kindUnsupportedMedia inbox.Kind = "unsupported_media_type"
)

func (a *API) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var e *inbox.Error
	if !errors.As(err, &e) {
		e = inbox.Internal(err)
	}
	status, ok := statusOf[e.Kind]
	if !ok {
		status = http.StatusInternalServerError
	}
	p := Problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: e.Message, Code: string(e.Kind), Field: e.Field}
	if status >= 500 {
		// Internal text goes to the log, never to the caller.
		a.log.ErrorContext(r.Context(), "request failed", slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Any("err", err))
		p.Field = ""
		if e.Kind == inbox.KindInternal {
			p.Detail, p.Code = "internal error", string(inbox.KindInternal)
		}
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(p)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
