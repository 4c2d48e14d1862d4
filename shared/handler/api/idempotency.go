package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"strconv"

	"github.com/parley-inbox/parley/shared/inbox"
)

const (
	headerIdempotencyKey = "Idempotency-Key"
	headerReplayed       = "Idempotent-Replayed"
	maxIdempotencyKey    = 255
)

// idempotent wraps a create handler: the first request with a key runs and
// its 2xx response is stored; a retry gets that response back; a retry
// while the first still runs, or with a different body, is refused.
func (a *API) idempotent(next handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
		key := r.Header.Get(headerIdempotencyKey)
		if key == "" {
			return next(w, r, actor)
		}
		if len(key) > maxIdempotencyKey {
			return inbox.Invalid(headerIdempotencyKey, "Idempotency-Key is at most %d characters", maxIdempotencyKey)
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
		if err != nil {
			return inbox.Invalid("", "could not read the request body")
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		hash := digest(actor.UserID, key)
		fingerprint := digest(r.Method, r.URL.Path, string(body))
		prev, err := a.idem.ClaimRequest(r.Context(), actor.WorkspaceID, hash, fingerprint)
		if err != nil {
			return err
		}
		if prev != nil {
			switch {
			case prev.Fingerprint != fingerprint:
				return inbox.Invalid(headerIdempotencyKey, "this Idempotency-Key was used for a different request")
			case prev.Status == 0:
				return inbox.Errorf(inbox.KindConflict, "a request with this Idempotency-Key is still being processed; retry shortly")
			}
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set(headerReplayed, "true")
			w.WriteHeader(prev.Status)
			_, _ = w.Write(prev.Body)
			return nil
		}
		rec := &recorder{ResponseWriter: w}
		err = next(rec, r, actor)
		if err != nil || rec.status >= 300 {
			// Failures are not remembered: the retry should run again.
			_ = a.idem.ReleaseRequest(context.WithoutCancel(r.Context()), actor.WorkspaceID, hash)
			return err
		}
		return a.idem.CompleteRequest(context.WithoutCancel(r.Context()), actor.WorkspaceID, hash, rec.status, rec.body.Bytes())
	}
}

func digest(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(strconv.Itoa(len(p))))
		h.Write([]byte{':'})
		h.Write([]byte(p))
	}
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:18])
}

// recorder keeps a copy of what a handler writes.
type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (r *recorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}
