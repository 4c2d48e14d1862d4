// Package problem is Parley's one HTTP error boundary: the RFC 9457 problem
// type, the kinds only the transport produces, the one table from error
// kinds to HTTP statuses, and the writer every handler uses.
package problem

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

// Kinds only the HTTP layer produces (the domain's are in inbox).
const (
	KindTooLarge             inbox.Kind = "too_large"
	KindUnsupportedMediaType inbox.Kind = "unsupported_media_type"
	KindRateLimited          inbox.Kind = "rate_limited"
	// KindInsufficientScope is a machine client calling a route its token
	// has no scope for (RFC 6750's error code); Field is "scope".
	KindInsufficientScope inbox.Kind = "insufficient_scope"
)

// statusOf is the one table from error kinds to HTTP statuses.
var statusOf = map[inbox.Kind]int{
	inbox.KindInvalid:            http.StatusBadRequest,
	inbox.KindUnauthorized:       http.StatusUnauthorized,
	inbox.KindForbidden:          http.StatusForbidden,
	inbox.KindNotFound:           http.StatusNotFound,
	inbox.KindConflict:           http.StatusConflict,
	inbox.KindUnavailable:        http.StatusServiceUnavailable,
	inbox.KindInternal:           http.StatusInternalServerError,
	inbox.KindGone:               http.StatusGone,
	inbox.KindPreconditionFailed: http.StatusPreconditionFailed,
	KindTooLarge:                 http.StatusRequestEntityTooLarge,
	KindUnsupportedMediaType:     http.StatusUnsupportedMediaType,
	KindRateLimited:              http.StatusTooManyRequests,
	KindInsufficientScope:        http.StatusForbidden,
}

// Status is the HTTP status for err: its kind's, or 500 for an unknown kind
// or a foreign error.
func Status(err error) int {
	if status, ok := statusOf[inbox.ErrorKind(err)]; ok {
		return status
	}
	return http.StatusInternalServerError
}

// From builds the problem for err. A 5xx never carries a field, and an
// internal error never carries its text: that goes to the log.
func From(err error) Problem {
	var e *inbox.Error
	if !errors.As(err, &e) {
		e = inbox.Internal(err)
	}
	status := Status(e)
	p := Problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: e.Message, Code: string(e.Kind), Field: e.Field}
	if status >= 500 {
		p.Field = ""
		if e.Kind != inbox.KindUnavailable {
			p.Detail, p.Code = "internal error", string(inbox.KindInternal)
		}
	}
	return p
}

// Write answers err as application/problem+json, and logs it when it is a
// 5xx (the caller sees only the problem, never internal text).
func Write(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	p := From(err)
	if p.Status >= 500 && log != nil {
		log.ErrorContext(r.Context(), "request failed", slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Any("err", err))
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}
