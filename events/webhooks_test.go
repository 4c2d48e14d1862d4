package events_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/parley-inbox/parley/shared/adapter/email"
	"github.com/parley-inbox/parley/shared/config/providers"
	"github.com/parley-inbox/parley/shared/dev/dynamotest"
	"github.com/parley-inbox/parley/shared/dev/inboxtest"
	"github.com/parley-inbox/parley/shared/dev/localstack"
	"github.com/parley-inbox/parley/shared/dev/objectstore"
	"github.com/parley-inbox/parley/shared/dev/signing"
	"github.com/parley-inbox/parley/shared/handler/webhooks"
)

func webhookHandler(t testing.TB) func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	t.Helper()
	store := dynamotest.Store(t)
	if err := localstack.Seed(context.Background(), store); err != nil {
		t.Fatal(err)
	}
	mail := t.TempDir()
	stageMail(t, mail)
	h := &webhooks.Handler{
		Intake: inboxtest.New(store, inboxtest.Deps{}).Intake,
		Credentials: providers.Set{localstack.DemoWorkspace: {
			TwilioAuthToken: "twilio-test-auth-token", MetaAppSecret: "meta-test-app-secret", MetaVerifyToken: "meta-test-verify-token",
			SNSTopicARN: "arn:aws:sns:us-east-1:123456789012:parley-inbound-email", WebChat: true,
		}},
		PublicURL: "https://api.parley.example",
		Email:     &webhooks.EmailIntake{Certs: signing.SNSCerts{}, Objects: objectstore.Dir{Root: mail}},
		Chat:      &webhooks.Chat{Key: []byte("chat-key")},
		Log:       slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	// As API Gateway's route keys do: inbound email to functions/mail's
	// routes, the rest to functions/webhooks'.
	routes := http.NewServeMux()
	routes.Handle("/", h.Routes())
	routes.Handle("POST /webhooks/{workspaceId}/email", h.MailRoutes())
	return httpadapter.NewV2(routes).ProxyWithContext
}

// stageMail puts each fixture email where the SES samples say S3 holds it.
func stageMail(t testing.TB, root string) {
	t.Helper()
	samples, _ := filepath.Glob("ses-sns-inbound*.json")
	for _, s := range samples {
		ev := readEvent(t, s)
		msg, err := email.ParseSNS([]byte(ev.Body))
		if err != nil {
			t.Fatal(err)
		}
		receipt, err := email.ParseSESNotification(msg.Message)
		if err != nil {
			t.Fatal(err)
		}
		fixtures, _ := filepath.Glob("testdata/*.eml")
		for _, f := range fixtures {
			eml, _ := os.ReadFile(f)
			if strings.Contains(msg.Message, strings.Trim(headerValue(string(eml), "Message-ID:"), "<>")) {
				dest := filepath.Join(root, receipt.Bucket, filepath.FromSlash(receipt.Key))
				_ = os.MkdirAll(filepath.Dir(dest), 0o755)
				if err := os.WriteFile(dest, eml, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

func headerValue(msg, name string) string {
	for _, line := range strings.Split(msg, "\n") {
		if v, ok := strings.CutPrefix(line, name); ok {
			return strings.TrimSpace(v)
		}
	}
	return "\x00"
}

func readEvent(t testing.TB, file string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return ev
}

func TestProviderEventsThroughWebhookHandler(t *testing.T) {
	handler := webhookHandler(t)
	files, _ := filepath.Glob("*.json")
	ran := 0
	for _, f := range files {
		if !strings.HasPrefix(f, "twilio-") && !strings.HasPrefix(f, "meta-") && !strings.HasPrefix(f, "ses-") {
			continue
		}
		ran++
		t.Run(f, func(t *testing.T) {
			ev := readEvent(t, f)
			res, err := handler(context.Background(), ev)
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != 200 && res.StatusCode != 204 {
				t.Fatalf("status %d: %s", res.StatusCode, res.Body)
			}
			// Providers redeliver: the same event again is accepted and changes nothing.
			again, err := handler(context.Background(), ev)
			if err != nil || again.StatusCode != res.StatusCode {
				t.Fatalf("redelivery: %d %v", again.StatusCode, err)
			}
		})
		t.Run(f+"/tampered", func(t *testing.T) {
			ev := readEvent(t, f)
			if ev.RequestContext.HTTP.Method != "POST" {
				t.Skip("GET verification carries no body to tamper with")
			}
			body := ev.Body
			if ev.IsBase64Encoded {
				raw, _ := base64.StdEncoding.DecodeString(body)
				body = string(raw)
			}
			if strings.HasPrefix(f, "ses-") {
				// A signed field that still parses, so the signature check decides.
				body = strings.Replace(body, `"Timestamp" : "2026`, `"Timestamp" : "2027`, 1)
			} else {
				body = strings.Replace(body, "a", "b", 1)
			}
			ev.Body, ev.IsBase64Encoded = body, false
			res, err := handler(context.Background(), ev)
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != 403 {
				t.Errorf("tampered body: status %d, want 403: %s", res.StatusCode, res.Body)
			}
		})
	}
	if ran < 15 {
		t.Errorf("ran %d provider samples, want every one of them (at least 15)", ran)
	}
}

// BenchmarkTwilioInboundWebhook times the whole webhook path as Lambda runs
// it: API Gateway event → adapter → signature check → parse → ingest into
// DynamoDB Local, one new message per iteration on one thread.
func BenchmarkTwilioInboundWebhook(b *testing.B) {
	handler := webhookHandler(b)
	const path = "/webhooks/demo/twilio/messages"
	b.ResetTimer()
	for i := range b.N {
		form := url.Values{"MessageSid": {fmt.Sprintf("SM%032x", i)}, "From": {"+14155550177"}, "To": {"+14155550100"},
			"Body": {"Running ten minutes late, sorry!"}, "NumMedia": {"0"}}
		ev := events.APIGatewayV2HTTPRequest{
			RawPath: path, Body: form.Encode(),
			Headers: map[string]string{
				"content-type":       "application/x-www-form-urlencoded",
				"x-twilio-signature": signing.Twilio("twilio-test-auth-token", "https://api.parley.example"+path, form),
			},
			RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST", Path: path}},
		}
		res, err := handler(context.Background(), ev)
		if err != nil || res.StatusCode != 200 {
			b.Fatalf("status %d: %v %s", res.StatusCode, err, res.Body)
		}
	}
}
