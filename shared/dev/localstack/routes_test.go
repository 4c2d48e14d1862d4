package localstack

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/parley-inbox/parley/shared/config/providers"
	"github.com/parley-inbox/parley/shared/handler/webhooks"
)

// The email route reaches the mail function's handler and every other
// webhook path the webhooks function's, with and without a path token, as
// API Gateway's route keys send them. A body that is no SNS message tells
// them apart: the mail handler refuses it with 400, while the webhooks
// handler has no email route and answers 404.
func TestEmailRouteGoesToTheMailHandler(t *testing.T) {
	const token = "Zq3v_8KpLw2Rj5Tn0YbXcA"
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	creds := providers.Set{DemoWorkspace: {SNSTopicARN: "arn:aws:sns:us-east-1:123456789012:parley-inbound-email"}}
	for _, tc := range []struct {
		token string
		want  map[string]int
	}{
		{"", map[string]int{
			"POST /webhooks/demo/email":          http.StatusBadRequest,
			"GET /webhooks/demo/email":           http.StatusNotFound,
			"POST /webhooks/demo/email/x":        http.StatusNotFound,
			"POST /webhooks/demo/no-such-source": http.StatusNotFound,
		}},
		{token, map[string]int{
			"POST /webhooks/" + token + "/demo/email":                  http.StatusBadRequest,
			"POST /webhooks/demo/email":                                http.StatusNotFound,
			"POST /webhooks/Zq3v_8KpLw2Rj5Tn0YbXcB/demo/email":         http.StatusNotFound,
			"GET /webhooks/" + token + "/demo/email":                   http.StatusNotFound,
			"GET /webhooks/" + token + "/demo/meta":                    http.StatusForbidden,
			"POST /webhooks/" + token + "/demo/no-such-source":         http.StatusNotFound,
			"POST /webhooks/Zq3v_8KpLw2Rj5Tn0YbXcB/demo/twilio/status": http.StatusNotFound,
		}},
	} {
		settings := webhooks.Settings{Credentials: creds, PublicURL: "https://api.parley.example", PathToken: tc.token}
		f := &functions{desk: http.NotFoundHandler(),
			hooks: webhooks.New(nil, nil, nil, nil, settings, log),
			mail:  webhooks.NewMail(nil, &webhooks.EmailIntake{}, settings, log)}
		routes := f.routes()
		for req, want := range tc.want {
			method, path, _ := strings.Cut(req, " ")
			w := httptest.NewRecorder()
			routes.ServeHTTP(w, httptest.NewRequest(method, path, strings.NewReader("not an SNS message")))
			if w.Code != want {
				t.Errorf("token %q: %s: got %d, want %d: %s", tc.token, req, w.Code, want, w.Body)
			}
		}
	}
}
