package events_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/parley-inbox/parley/shared/adapter/email"
	"github.com/parley-inbox/parley/shared/config/providers"
	"github.com/parley-inbox/parley/shared/dev/dynamotest"
	"github.com/parley-inbox/parley/shared/dev/inboxtest"
	"github.com/parley-inbox/parley/shared/dev/objectstore"
	"github.com/parley-inbox/parley/shared/dev/signing"
	"github.com/parley-inbox/parley/shared/handler/webhooks"
	"github.com/parley-inbox/parley/shared/inbox"
)

// Two workspaces share the inbound topic, as in the deployed stack; what
// ties a notification to one of them is where SES stored the mail
// (inbound/<ws>/). An SNS-action notification, which carries the mail
// inline, must not get past that check by naming no object at all: signed
// notifications are replayable, so workspace a's mail posted to b's webhook
// would otherwise be filed in b.
func TestEmailNotificationMustBelongToTheWorkspace(t *testing.T) {
	const topic = "arn:aws:sns:us-east-1:123456789012:parley-inbound-email"
	store := dynamotest.Store(t)
	mail := t.TempDir()
	creds := providers.Credentials{SNSTopicARN: topic}
	h := &webhooks.Handler{
		Intake:      inboxtest.New(store, inboxtest.Deps{}).Intake,
		Credentials: providers.Set{"ws-a": creds, "ws-b": creds},
		PublicURL:   "https://api.parley.example",
		Email: &webhooks.EmailIntake{Certs: signing.SNSCerts{}, Objects: objectstore.Dir{Root: mail},
			KeyPrefix: func(ws string) string { return "inbound/" + ws + "/" }},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	handler := httpadapter.NewV2(h.MailRoutes()).ProxyWithContext

	raw := "From: Ann <ann@example.com>\r\nTo: support@a.example\r\nMessage-ID: <m1@example.com>\r\nSubject: hi\r\n\r\nfor workspace a only\r\n"
	objectKey := "inbound/ws-a/ses-1"
	if err := os.MkdirAll(filepath.Join(mail, "bucket", "inbound", "ws-a"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mail, "bucket", filepath.FromSlash(objectKey)), []byte(raw), 0o644); err != nil {
		t.Fatal(err)
	}
	s3Action := map[string]any{"type": "S3", "topicArn": topic, "bucketName": "bucket", "objectKey": objectKey}
	snsAction := map[string]any{"type": "SNS", "topicArn": topic, "encoding": "BASE64"}
	post := func(t *testing.T, ws string, action map[string]any) int {
		t.Helper()
		n := map[string]any{
			"notificationType": "Received",
			"mail":             map[string]any{"timestamp": "2026-11-21T09:00:00.000Z", "source": "ann@example.com", "messageId": "ses-1", "destination": []string{"support@a.example"}},
			"receipt": map[string]any{"recipients": []string{"support@a.example"}, "action": action,
				"spamVerdict": map[string]string{"status": "PASS"}, "virusVerdict": map[string]string{"status": "PASS"},
				"dmarcVerdict": map[string]string{"status": "PASS"}},
		}
		if action["type"] == "SNS" {
			n["content"] = base64.StdEncoding.EncodeToString([]byte(raw))
		}
		body, _ := json.Marshal(n)
		m := &email.SNSMessage{Type: email.TypeNotification, MessageID: "sns-" + ws, TopicArn: topic, Message: string(body),
			Timestamp: "2026-11-21T09:00:01.000Z", SignatureVersion: "2",
			SigningCertURL: signing.SNSCertURL}
		if err := signing.SNS(m, nil); err != nil {
			t.Fatal(err)
		}
		envelope, _ := json.Marshal(m)
		path := "/webhooks/" + ws + "/email"
		res, err := handler(context.Background(), events.APIGatewayV2HTTPRequest{RawPath: path, Body: string(envelope),
			Headers:        map[string]string{"content-type": "text/plain; charset=UTF-8"},
			RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST", Path: path}}})
		if err != nil {
			t.Fatal(err)
		}
		return res.StatusCode
	}
	filedIn := func(ws string) bool {
		_, _, err := store.FindCorrespondent(context.Background(), ws, inbox.Correspondent{Email: "ann@example.com"})
		return err == nil
	}

	for name, action := range map[string]map[string]any{"S3 action": s3Action, "SNS action": snsAction} {
		t.Run(name+" for another workspace", func(t *testing.T) {
			if got := post(t, "ws-b", action); got != 403 {
				t.Errorf("status %d, want 403", got)
			}
			if filedIn("ws-b") {
				t.Fatal("workspace a's mail was filed in workspace b")
			}
		})
	}
	t.Run("S3 action for its workspace", func(t *testing.T) {
		if got := post(t, "ws-a", s3Action); got != 204 {
			t.Fatalf("status %d, want 204", got)
		}
		if !filedIn("ws-a") {
			t.Fatal("not filed")
		}
	})
}
