package webhooks

import (
	"context"
	"crypto/subtle"
	"net/http"
	"strings"
)

// A path token is a deployment's secret first segment under /webhooks/
// (/webhooks/<token>/<workspace>/twilio/messages). API Gateway throttles each
// route key on its own, and only providers know the token, so junk that
// lacks it lands on other route keys and cannot spend the provider routes'
// buckets. See "Public routes and throttling" in the README; config checks
// the token's form.

type signedPathKey struct{}

// requirePathToken admits /webhooks/ requests only under the token and
// strips it, so the routes stay the same; the path as sent is kept, since
// Twilio signs the URL it called. Other paths (web chat) pass unchanged.
func (h *Handler) requirePathToken(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest, ok := strings.CutPrefix(r.URL.Path, "/webhooks/")
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		token, tail, _ := strings.Cut(rest, "/")
		if subtle.ConstantTimeCompare([]byte(token), []byte(h.PathToken)) != 1 {
			h.fail(w, r, errUnknown)
			return
		}
		stripped := r.Clone(context.WithValue(r.Context(), signedPathKey{}, r.URL.Path))
		stripped.URL.Path, stripped.URL.RawPath = "/webhooks/"+tail, ""
		next.ServeHTTP(w, stripped)
	})
}

// signedURL is the URL the provider called, as it signed it.
func (h *Handler) signedURL(r *http.Request) string {
	path, ok := r.Context().Value(signedPathKey{}).(string)
	if !ok {
		path = r.URL.Path
	}
	u := h.PublicURL + path
	if r.URL.RawQuery != "" {
		u += "?" + r.URL.RawQuery
	}
	return u
}
