package webhooks_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/parley-inbox/parley/shared/adapter/twilio"
	"github.com/parley-inbox/parley/shared/config"
	"github.com/parley-inbox/parley/shared/config/providers"
	"github.com/parley-inbox/parley/shared/dev/signing"
	"github.com/parley-inbox/parley/shared/handler/webhooks"
)

// With a path token, only requests under it reach a provider route: junk
// without it is refused before any work (and, deployed, lands on other
// route keys, so it cannot spend the provider routes' throttle), while
// Twilio's signature still covers the URL it called, token included.
func TestWebhookPathToken(t *testing.T) {
	const (
		public    = "https://api.parley.example"
		authToken = "test-auth-token"
		token     = "Zq3v_8KpLw2Rj5Tn0YbXcA"
	)
	h := &webhooks.Handler{
		Credentials: providers.Set{"demo": {TwilioAuthToken: authToken}},
		PublicURL:   public,
		PathToken:   token,
		Log:         slog.New(slog.DiscardHandler),
	}
	routes := h.Routes()
	// Signed and well-formed up to an unknown status, which the route
	// refuses with 400 only after the signature held.
	form := url.Values{"MessageSid": {"SM0123456789abcdef0123456789abcdef"}, "AccountSid": {"AC0123456789abcdef0123456789abcdef"},
		"MessageStatus": {"bogus"}}
	post := func(path, signedFor string) int {
		t.Helper()
		r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("X-Twilio-Signature", signing.Twilio(authToken, public+signedFor, form))
		w := httptest.NewRecorder()
		routes.ServeHTTP(w, r)
		return w.Code
	}
	base := strings.TrimPrefix(config.WebhookBaseURL(public, token), public)
	for _, tc := range []struct {
		name, path, signedFor string
		want                  int
	}{
		{"under the token, signed for the URL called", base + "/demo/twilio/status", base + "/demo/twilio/status", http.StatusBadRequest},
		{"under the token, signed without it", base + "/demo/twilio/status", "/webhooks/demo/twilio/status", http.StatusForbidden},
		{"no token", "/webhooks/demo/twilio/status", "/webhooks/demo/twilio/status", http.StatusNotFound},
		{"wrong token", "/webhooks/Zq3v_8KpLw2Rj5Tn0YbXcB/demo/twilio/status", "/webhooks/Zq3v_8KpLw2Rj5Tn0YbXcB/demo/twilio/status", http.StatusNotFound},
		{"token prefix only", "/webhooks/Zq3v_8KpLw2/demo/twilio/status", "/webhooks/Zq3v_8KpLw2/demo/twilio/status", http.StatusNotFound},
	} {
		if got := post(tc.path, tc.signedFor); got != tc.want {
			t.Errorf("%s: POST %s: got %d, want %d", tc.name, tc.path, got, tc.want)
		}
	}
}

// Twilio's status callbacks go back under the token.
func TestStatusCallbackUnderPathToken(t *testing.T) {
	got := twilio.StatusCallbackURL(config.WebhookBaseURL("https://api.parley.example", "Zq3v_8KpLw2Rj5Tn0YbXcA"))("demo", "ref 1")
	want := "https://api.parley.example/webhooks/Zq3v_8KpLw2Rj5Tn0YbXcA/demo/twilio/status?ref=ref+1"
	if got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if got := config.WebhookBaseURL("https://api.parley.example", ""); got != "https://api.parley.example/webhooks" {
		t.Errorf("no token: got %s", got)
	}
}
