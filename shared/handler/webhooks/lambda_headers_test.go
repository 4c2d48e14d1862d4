package webhooks_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/parley-inbox/parley/shared/config/providers"
	"github.com/parley-inbox/parley/shared/dev/signing"
	"github.com/parley-inbox/parley/shared/handler/webhooks"
	"github.com/parley-inbox/parley/shared/inbox"
)

type noBus struct{}

func (noBus) Publish(context.Context, []inbox.Event) error { return nil }

// Lambda's API Gateway adapter splits a header value at its commas; the
// "t=…,v1=…" signatures (external events, Stripe) must still be read
// whole. The body is signed but
// names no event id, so a verified signature answers 400, a broken one 403.
func TestCommaSignaturesSurviveLambdasAdapter(t *testing.T) {
	h := &webhooks.Handler{Intake: inbox.NewIntake(nil, nil), Events: noBus{},
		Credentials: providers.Set{"ws": {EventsSigningSecret: "events-secret", StripeWebhookSecret: "whsec_x"}},
		Log:         slog.New(slog.NewTextHandler(io.Discard, nil))}
	handler := httpadapter.NewV2(h.Routes()).ProxyWithContext
	body := `{"type":"order.placed"}`
	ev := events.APIGatewayV2HTTPRequest{Version: "2.0", RawPath: "/webhooks/ws/events", Body: body,
		Headers: map[string]string{"content-type": "application/json", "x-parley-signature": signing.Event("events-secret", time.Now(), []byte(body))}}
	ev.RequestContext.HTTP.Method, ev.RequestContext.HTTP.Path = "POST", ev.RawPath
	res, err := handler(context.Background(), ev)
	if err != nil || res.StatusCode != 400 {
		t.Errorf("signed external event through the adapter: %d %s %v, want 400 (signature read whole, then the missing id)", res.StatusCode, res.Body, err)
	}
}
