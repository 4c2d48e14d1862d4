package problem_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/parley-inbox/parley/shared/handler/problem"
	"github.com/parley-inbox/parley/shared/inbox"
)

func TestStatusOfEveryKind(t *testing.T) {
	tests := []struct {
		kind inbox.Kind
		want int
	}{
		{inbox.KindInvalid, 400},
		{inbox.KindUnauthorized, 401},
		{inbox.KindForbidden, 403},
		{inbox.KindNotFound, 404},
		{inbox.KindConflict, 409},
		{problem.KindTooLarge, 413},
		{problem.KindUnsupportedMediaType, 415},
		{problem.KindRateLimited, 429},
		{problem.KindInsufficientScope, 403},
		{inbox.KindInternal, 500},
		{inbox.KindUnavailable, 503},
		{"no_such_kind", 500},
	}
	for _, tt := range tests {
		err := &inbox.Error{Kind: tt.kind, Message: "m"}
		if got := problem.Status(err); got != tt.want {
			t.Errorf("Status(%s) = %d, want %d", tt.kind, got, tt.want)
		}
		// Wrapped errors keep their kind.
		if got := problem.Status(fmt.Errorf("wrapped: %w", err)); got != tt.want {
			t.Errorf("Status(wrapped %s) = %d, want %d", tt.kind, got, tt.want)
		}
	}
	if got := problem.Status(errors.New("foreign")); got != 500 {
		t.Errorf("Status(foreign) = %d, want 500", got)
	}
}

// write runs Write and returns the response and what was logged.
func write(t *testing.T, err error) (*httptest.ResponseRecorder, problem.Problem, string) {
	t.Helper()
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	w := httptest.NewRecorder()
	problem.Write(w, httptest.NewRequest("GET", "/x", nil), log, err)
	if ct := w.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type = %q, want application/problem+json", ct)
	}
	var p problem.Problem
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
		t.Fatalf("body %q: %v", w.Body, err)
	}
	if p.Status != w.Code || p.Type != "about:blank" || p.Title != http.StatusText(w.Code) {
		t.Errorf("problem %+v does not match status %d", p, w.Code)
	}
	return w, p, logs.String()
}

func TestWriteClientError(t *testing.T) {
	w, p, logs := write(t, inbox.Invalid("phones", "bad phone"))
	if w.Code != 400 || p.Code != "invalid" || p.Detail != "bad phone" || p.Field != "phones" {
		t.Errorf("got %d %+v, want 400 invalid with detail and field", w.Code, p)
	}
	if logs != "" {
		t.Errorf("a 4xx was logged: %s", logs)
	}
	w, p, _ = write(t, &inbox.Error{Kind: problem.KindRateLimited, Message: "slow down"})
	if w.Code != 429 || p.Code != "rate_limited" || p.Detail != "slow down" {
		t.Errorf("got %d %+v, want 429 rate_limited", w.Code, p)
	}
}

func TestWriteHidesInternalText(t *testing.T) {
	secret := "dynamodb: table parley-prod: AccessDenied"
	for _, err := range []error{
		errors.New(secret),
		inbox.Internal(errors.New(secret)),
		&inbox.Error{Kind: inbox.KindInternal, Message: secret, Field: "x"},
		&inbox.Error{Kind: "no_such_kind", Message: secret},
	} {
		w, p, logs := write(t, err)
		if w.Code != 500 || p.Code != "internal" || p.Detail != "internal error" || p.Field != "" {
			t.Errorf("%v: got %d %+v, want 500 internal with no detail", err, w.Code, p)
		}
		if strings.Contains(w.Body.String(), "AccessDenied") {
			t.Errorf("%v: body leaks internal text: %s", err, w.Body)
		}
		if !strings.Contains(logs, "AccessDenied") {
			t.Errorf("%v: internal text not logged: %q", err, logs)
		}
	}
}

func TestWriteUnavailableKeepsItsMessage(t *testing.T) {
	err := &inbox.Error{Kind: inbox.KindUnavailable, Message: "retry", Field: "x", Err: errors.New("throttled")}
	w, p, logs := write(t, err)
	if w.Code != 503 || p.Code != "unavailable" || p.Detail != "retry" || p.Field != "" {
		t.Errorf("got %d %+v, want 503 unavailable, detail kept, no field", w.Code, p)
	}
	if strings.Contains(w.Body.String(), "throttled") || !strings.Contains(logs, "throttled") {
		t.Errorf("the cause must be logged, not answered: body %s, logs %s", w.Body, logs)
	}
}
