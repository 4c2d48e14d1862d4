package email_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/parley-inbox/parley/shared/adapter/email"
	"github.com/parley-inbox/parley/shared/inbox"
)

// sampleMessage returns the parsed SNS message of a committed sample.
func sampleMessage(t testing.TB, file string) *email.SNSMessage {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(eventsDir, file))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	m, err := email.ParseSNS([]byte(ev.Body))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestParseSNSRejects(t *testing.T) {
	valid := map[string]any{
		"Type": "Notification", "MessageId": "m1", "TopicArn": topicARN, "Message": "{}",
		"Timestamp": "2026-11-21T09:12:44.118Z", "SignatureVersion": "2", "Signature": "c2ln", "SigningCertURL": certURL,
	}
	with := func(key string, value any) []byte {
		m := map[string]any{}
		for k, v := range valid {
			m[k] = v
		}
		if value == nil {
			delete(m, key)
		} else {
			m[key] = value
		}
		b, _ := json.Marshal(m)
		return b
	}
	tests := []struct {
		name string
		body []byte
	}{
		{"not JSON", []byte("Type=Notification")},
		{"JSON array", []byte("[]")},
		{"empty", nil},
		{"unknown type", with("Type", "Telegram")},
		{"no type", with("Type", nil)},
		{"no message", with("Message", nil)},
		{"no message id", with("MessageId", nil)},
		{"no topic", with("TopicArn", nil)},
		{"no signature", with("Signature", nil)},
		{"no signature version", with("SignatureVersion", nil)},
		{"no cert URL", with("SigningCertURL", nil)},
		{"bad timestamp", with("Timestamp", "yesterday")},
		{"wrong JSON type", with("Message", 42)},
		{"confirmation without SubscribeURL", with("Type", "SubscriptionConfirmation")},
		{"too large", append(with("Message", strings.Repeat("x", 1<<20)), ' ')},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := email.ParseSNS(tt.body)
			wantKind(t, err, inbox.KindInvalid)
		})
	}
	if _, err := email.ParseSNS(with("Subject", "hello")); err != nil {
		t.Fatalf("valid message: %v", err)
	}
}

// anyCert serves the test certificate whatever the URL, so that a refusal
// can only come from Verify's own URL checks.
type anyCert struct{ cert *x509.Certificate }

func (c anyCert) Certificate(context.Context, string) (*x509.Certificate, error) { return c.cert, nil }

func TestVerifyRejects(t *testing.T) {
	ctx := context.Background()
	base := sampleMessage(t, "ses-sns-inbound.json")
	v := &email.Verifier{TopicARN: topicARN, Certs: anyCert{testCert(t)}}
	if err := v.Verify(ctx, base); err != nil {
		t.Fatalf("untouched sample: %v", err)
	}
	tests := []struct {
		name   string
		change func(m *email.SNSMessage)
	}{
		{"tampered message", func(m *email.SNSMessage) { m.Message = strings.Replace(m.Message, "inbound/", "inbound/x", 1) }},
		{"tampered subject", func(m *email.SNSMessage) { m.Subject = "" }},
		{"tampered timestamp", func(m *email.SNSMessage) { m.Timestamp = "2026-11-21T17:41:10.402Z" }},
		{"as a confirmation", func(m *email.SNSMessage) { m.Type = email.TypeSubscriptionConfirmation }},
		{"other topic, resigned", func(m *email.SNSMessage) {
			m.TopicArn = "arn:aws:sns:us-east-1:999999999999:parley-inbound-email"
			sign(t, m)
		}},
		{"signature version 3", func(m *email.SNSMessage) { m.SignatureVersion = "3" }},
		{"signature version 1 with a version 2 signature", func(m *email.SNSMessage) { m.SignatureVersion = "1" }},
		{"signature not base64", func(m *email.SNSMessage) { m.Signature = "%%%" }},
		{"empty signature", func(m *email.SNSMessage) { m.Signature = "" }},
	}
	for _, u := range []string{
		"https://evil.com/SimpleNotificationService-testonly.pem",
		"http://sns.us-east-1.amazonaws.com/SimpleNotificationService-testonly.pem",
		"https://sns.us-east-1.amazonaws.com.evil.com/SimpleNotificationService-testonly.pem",
		"https://evil.com/sns.us-east-1.amazonaws.com/x.pem",
		"https://sns.us-east-1.amazonaws.com@evil.com/x.pem",
		"https://evil.com@sns.us-east-1.amazonaws.com/x.pem",
		"https://sns.us-east-1.amazonaws.com:8443/x.pem",
		"https://sns.us-east-1.amazonaws.com:/x.pem",
		"https://SNS.us-east-1.amazonaws.com/x.pem",
		"HTTPS://sns.us-east-1.amazonaws.com/x.pem",
		"https://sns.us-east-1.amazonaws%2Ecom/x.pem",
		"https://sns.us-east-1.amazonaws.com/x.pem?evil=1",
		"https://sns.us-east-1.amazonaws.com/x.pem#frag",
		"https://sns.us-east-1.amazonaws.com/x.txt",
		"https://sns.us-east-1.amazonaws.com",
		"//sns.us-east-1.amazonaws.com/x.pem",
		"",
	} {
		tests = append(tests, struct {
			name   string
			change func(m *email.SNSMessage)
		}{"cert URL " + u, func(m *email.SNSMessage) { m.SigningCertURL = u }})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := *base
			tt.change(&m)
			wantKind(t, v.Verify(ctx, &m), inbox.KindForbidden)
		})
	}

	t.Run("wrong pinned topic", func(t *testing.T) {
		other := &email.Verifier{TopicARN: topicARN + "-other", Certs: anyCert{testCert(t)}}
		wantKind(t, other.Verify(ctx, base), inbox.KindForbidden)
	})
	t.Run("no pinned topic", func(t *testing.T) {
		wantKind(t, (&email.Verifier{Certs: anyCert{testCert(t)}}).Verify(ctx, base), inbox.KindForbidden)
	})
	t.Run("nil message", func(t *testing.T) {
		wantKind(t, v.Verify(ctx, nil), inbox.KindForbidden)
	})
	t.Run("certificate refused", func(t *testing.T) {
		m := *base
		m.SigningCertURL = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-other.pem"
		wantKind(t, testVerifier(t).Verify(ctx, &m), inbox.KindForbidden)
	})
	t.Run("certificate unavailable is retryable", func(t *testing.T) {
		down := &email.Verifier{TopicARN: topicARN, Certs: failingCerts{inbox.Errorf(inbox.KindUnavailable, "down")}}
		wantKind(t, down.Verify(ctx, base), inbox.KindUnavailable)
	})
}

type failingCerts struct{ err error }

func (c failingCerts) Certificate(context.Context, string) (*x509.Certificate, error) {
	return nil, c.err
}

func TestVerifySignatureVersions(t *testing.T) {
	for _, version := range []string{"1", "2"} {
		t.Run(version, func(t *testing.T) {
			m := &email.SNSMessage{
				Type: email.TypeNotification, MessageID: "id-" + version, TopicArn: topicARN, Message: "hello\nworld",
				Timestamp: "2026-11-21T09:00:00.000Z", SignatureVersion: version, SigningCertURL: certURL,
			}
			sign(t, m)
			if err := testVerifier(t).Verify(context.Background(), m); err != nil {
				t.Fatalf("Verify: %v", err)
			}
		})
	}
}

// transport answers HTTP requests in-process and records them.
type transport struct {
	status int
	body   string
	got    []string
}

func (tr *transport) RoundTrip(r *http.Request) (*http.Response, error) {
	tr.got = append(tr.got, r.Method+" "+r.URL.String())
	return &http.Response{
		StatusCode: tr.status, Status: http.StatusText(tr.status), Body: io.NopCloser(strings.NewReader(tr.body)),
		Header: http.Header{}, Request: r,
	}, nil
}

func TestConfirm(t *testing.T) {
	ctx := context.Background()
	conf := sampleMessage(t, "ses-sns-subscription-confirmation.json")

	t.Run("visits the SubscribeURL", func(t *testing.T) {
		tr := &transport{status: 200, body: "<ConfirmSubscriptionResponse/>"}
		if err := testVerifier(t).Confirm(ctx, &http.Client{Transport: tr}, conf); err != nil {
			t.Fatalf("Confirm: %v", err)
		}
		if want := []string{"GET " + conf.SubscribeURL}; len(tr.got) != 1 || tr.got[0] != want[0] {
			t.Errorf("requests = %q, want %q", tr.got, want)
		}
	})
	t.Run("SNS refuses", func(t *testing.T) {
		tr := &transport{status: 403}
		wantKind(t, testVerifier(t).Confirm(ctx, &http.Client{Transport: tr}, conf), inbox.KindUnavailable)
	})

	refused := map[string]string{
		"foreign host":    "https://evil.example/?Action=ConfirmSubscription&TopicArn=" + topicARN + "&Token=t",
		"lookalike host":  "https://sns.us-east-1.amazonaws.com.evil.example/?Action=ConfirmSubscription&TopicArn=" + topicARN + "&Token=t",
		"http":            "http://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=" + topicARN + "&Token=t",
		"other topic":     "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=" + topicARN + "-other&Token=t",
		"other action":    "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&TopicArn=" + topicARN + "&Token=t",
		"no token":        "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=" + topicARN,
		"userinfo":        "https://sns.us-east-1.amazonaws.com@evil.example/?Action=ConfirmSubscription&TopicArn=" + topicARN + "&Token=t",
		"port":            "https://sns.us-east-1.amazonaws.com:444/?Action=ConfirmSubscription&TopicArn=" + topicARN + "&Token=t",
		"duplicate topic": "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=" + topicARN + "-other&TopicArn=" + topicARN + "&Token=t",
	}
	for name, u := range refused {
		t.Run(name, func(t *testing.T) {
			m := *conf
			m.SubscribeURL = u
			sign(t, &m) // validly signed, so only the URL checks can refuse it
			tr := &transport{status: 200}
			wantKind(t, testVerifier(t).Confirm(ctx, &http.Client{Transport: tr}, &m), inbox.KindForbidden)
			if len(tr.got) != 0 {
				t.Errorf("requests = %q, want none", tr.got)
			}
		})
	}
	t.Run("not a confirmation", func(t *testing.T) {
		tr := &transport{status: 200}
		wantKind(t, testVerifier(t).Confirm(ctx, &http.Client{Transport: tr}, sampleMessage(t, "ses-sns-inbound.json")), inbox.KindForbidden)
	})
	t.Run("tampered", func(t *testing.T) {
		m := *conf
		m.SubscribeURL += "&x=1"
		tr := &transport{status: 200}
		wantKind(t, testVerifier(t).Confirm(ctx, &http.Client{Transport: tr}, &m), inbox.KindForbidden)
	})
}

func TestHTTPCerts(t *testing.T) {
	ctx := context.Background()
	pem, err := os.ReadFile(filepath.Join(fixtures, "sns-test-signing.pem"))
	if err != nil {
		t.Fatal(err)
	}

	t.Run("fetches once and caches", func(t *testing.T) {
		tr := &transport{status: 200, body: string(pem)}
		certs := &email.HTTPCerts{Client: &http.Client{Transport: tr}}
		for range 2 {
			cert, err := certs.Certificate(ctx, certURL)
			if err != nil {
				t.Fatal(err)
			}
			if !cert.Equal(testCert(t)) {
				t.Fatal("got a different certificate")
			}
		}
		if want := []string{"GET " + certURL}; len(tr.got) != 1 || tr.got[0] != want[0] {
			t.Errorf("requests = %q, want %q", tr.got, want)
		}
		// The whole chain, as Verify runs it.
		v := &email.Verifier{TopicARN: topicARN, Certs: certs}
		if err := v.Verify(ctx, sampleMessage(t, "ses-sns-inbound.json")); err != nil {
			t.Fatalf("Verify: %v", err)
		}
	})

	tests := []struct {
		name   string
		url    string
		status int
		body   string
		kind   inbox.Kind
	}{
		{"server error", certURL, 503, "", inbox.KindUnavailable},
		{"missing", certURL, 404, "", inbox.KindForbidden},
		{"not PEM", certURL, 200, "hello", inbox.KindForbidden},
		{"not a certificate", certURL, 200, "-----BEGIN CERTIFICATE-----\naGVsbG8=\n-----END CERTIFICATE-----\n", inbox.KindForbidden},
		{"too large", certURL, 200, string(pem) + strings.Repeat("#", 64<<10), inbox.KindForbidden},
		{"untrusted URL", "https://evil.example/cert.pem", 200, string(pem), inbox.KindForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			certs := &email.HTTPCerts{Client: &http.Client{Transport: &transport{status: tt.status, body: tt.body}}}
			_, err := certs.Certificate(ctx, tt.url)
			wantKind(t, err, tt.kind)
		})
	}

	t.Run("network error", func(t *testing.T) {
		certs := &email.HTTPCerts{Client: &http.Client{Transport: errTransport{}}}
		_, err := certs.Certificate(ctx, certURL)
		wantKind(t, err, inbox.KindUnavailable)
	})
}

type errTransport struct{}

func (errTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("connection refused")
}
