package signing_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"net/url"
	"testing"
	"time"

	"github.com/parley-inbox/parley/shared/adapter/email"
	"github.com/parley-inbox/parley/shared/adapter/meta"
	"github.com/parley-inbox/parley/shared/adapter/twilio"
	"github.com/parley-inbox/parley/shared/dev/signing"
	"github.com/parley-inbox/parley/shared/handler/webhooks"
	"github.com/parley-inbox/parley/shared/inbox"
)

// Each signer is checked against the production verifier: what it signs
// verifies, and the same signature over a changed body does not.

func TestTwilioVerifies(t *testing.T) {
	const token, u = "twilio-test-auth-token", "https://api.parley.example/webhooks/ws1/twilio/messages?ref=a%20b"
	form := url.Values{"From": {"+14155550142"}, "To": {"+14155550100"}, "Body": {"hello"}, "MessageSid": {"SM0123"}}
	sig := signing.Twilio(token, u, form)
	if !twilio.VerifySignature(token, u, form, sig) {
		t.Fatal("twilio.VerifySignature rejects signing.Twilio")
	}
	tampered := url.Values{"From": {"+14155550142"}, "To": {"+14155550100"}, "Body": {"hellO"}, "MessageSid": {"SM0123"}}
	if twilio.VerifySignature(token, u, tampered, sig) {
		t.Error("a tampered form verifies")
	}
	if twilio.VerifySignature(token, u+"x", form, sig) {
		t.Error("another URL verifies")
	}
	if twilio.VerifySignature("other-token", u, form, sig) {
		t.Error("another auth token verifies")
	}
}

func TestMetaVerifies(t *testing.T) {
	const secret = "meta-test-app-secret"
	body := []byte(`{"object":"whatsapp_business_account","entry":[]}`)
	sig := signing.Meta(secret, body)
	if !meta.VerifySignature(secret, body, sig) {
		t.Fatal("meta.VerifySignature rejects signing.Meta")
	}
	if meta.VerifySignature(secret, []byte(`{"object":"page","entry":[]}`), sig) {
		t.Error("a tampered body verifies")
	}
	if meta.VerifySignature("other-secret", body, sig) {
		t.Error("another app secret verifies")
	}
}

func TestEventVerifies(t *testing.T) {
	const secret = "events-test-secret"
	now := time.Now()
	body := []byte(`{"id":"evt_1","type":"order.placed"}`)
	sig := signing.Event(secret, now, body)
	if !webhooks.VerifyEventSignature(secret, sig, body, now) {
		t.Fatal("webhooks.VerifyEventSignature rejects signing.Event")
	}
	if webhooks.VerifyEventSignature(secret, sig, []byte(`{"id":"evt_2","type":"order.placed"}`), now) {
		t.Error("a tampered body verifies")
	}
	if webhooks.VerifyEventSignature(secret, signing.Event(secret, now.Add(-time.Hour), body), body, now) {
		t.Error("an hour-old signature verifies")
	}
}

func TestWebChatIdentityVerifies(t *testing.T) {
	const secret = "identity-test-secret-0123456789abcdef"
	hash := signing.WebChatIdentity(secret, "ada@example.com")
	if err := inbox.CheckIdentityHash(secret, "ada@example.com", hash); err != nil {
		t.Fatalf("inbox.CheckIdentityHash rejects signing.WebChatIdentity: %v", err)
	}
	if err := inbox.CheckIdentityHash(secret, "eve@example.com", hash); err == nil {
		t.Error("the hash of another identifier verifies")
	}
}

func TestSNSVerifies(t *testing.T) {
	v := &email.Verifier{TopicARN: "arn:aws:sns:us-east-1:123456789012:parley-inbound-email", Certs: signing.SNSCerts{}}
	messages := map[string]email.SNSMessage{
		"notification": {Type: email.TypeNotification, Subject: "Amazon SES Email Receipt Notification"},
		"no subject":   {Type: email.TypeNotification},
		"confirmation": {Type: email.TypeSubscriptionConfirmation, Token: "tok",
			SubscribeURL: "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&Token=tok"},
	}
	for name, m := range messages {
		for _, version := range []string{"1", "2"} {
			t.Run(name+"/v"+version, func(t *testing.T) {
				m.MessageID, m.TopicArn, m.Message = "msg-1", v.TopicARN, `{"notificationType":"Received"}`
				m.Timestamp, m.SignatureVersion, m.SigningCertURL = "2026-11-21T09:12:44.118Z", version, signing.SNSCertURL
				if err := signing.SNS(&m, nil); err != nil {
					t.Fatal(err)
				}
				if err := v.Verify(context.Background(), &m); err != nil {
					t.Fatalf("email.Verifier rejects signing.SNS: %v", err)
				}
				m.Message += " "
				if err := v.Verify(context.Background(), &m); !inbox.IsKind(err, inbox.KindForbidden) {
					t.Errorf("a tampered message: err = %v, want forbidden", err)
				}
			})
		}
	}
	t.Run("another key", func(t *testing.T) {
		other, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		m := email.SNSMessage{Type: email.TypeNotification, MessageID: "msg-2", TopicArn: v.TopicARN, Message: "hello",
			Timestamp: "2026-11-21T09:12:44.118Z", SignatureVersion: "2", SigningCertURL: signing.SNSCertURL}
		if err := signing.SNS(&m, other); err != nil {
			t.Fatal(err)
		}
		if err := v.Verify(context.Background(), &m); !inbox.IsKind(err, inbox.KindForbidden) {
			t.Errorf("err = %v, want forbidden", err)
		}
	})
	if _, err := (signing.SNSCerts{}).Certificate(context.Background(), signing.SNSCertURL+"x"); err == nil {
		t.Error("SNSCerts serves another URL")
	}
}

// An SES notification verifies, and reads back as the receipt it describes.
func TestSESNotificationVerifiesAndParses(t *testing.T) {
	r := signing.SESReceipt{TopicARN: "arn:aws:sns:us-east-1:123456789012:parley-inbound-email", Bucket: "mail", Key: "inbound/demo/abc",
		SESMessageID: "abc", SNSMessageID: "00000000-0000-4000-8000-000000000001", From: "jo@example.com",
		To: []string{"support@inbox.example"}, At: time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC), DMARC: "FAIL"}
	m, err := signing.SESNotification(r)
	if err != nil {
		t.Fatal(err)
	}
	v := &email.Verifier{TopicARN: r.TopicARN, Certs: signing.SNSCerts{}}
	if err := v.Verify(context.Background(), m); err != nil {
		t.Fatalf("email.Verifier rejects it: %v", err)
	}
	got, err := email.ParseSESNotification(m.Message)
	if err != nil {
		t.Fatal(err)
	}
	if got.Bucket != r.Bucket || got.Key != r.Key || got.MessageID != r.SESMessageID || got.Source != r.From ||
		!got.ReceivedAt.Equal(r.At) || got.DMARC != "FAIL" || got.SPF != "PASS" || len(got.Recipients) != 1 {
		t.Errorf("parsed %+v from %+v", got, r)
	}
	again, _ := signing.SESNotification(r)
	if again.Signature != m.Signature || again.Message != m.Message {
		t.Error("the same receipt gave another notification")
	}
}
