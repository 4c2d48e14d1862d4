package inbox_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parley-inbox/parley/shared/inbox"
)

// The Standard Webhooks test vector, from the spec repository's Go
// library (libraries/go/webhook_test.go, TestWebhookSign; the same
// values are in its other libraries' tests).
const (
	vectorSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTimestamp = 1614265330
	vectorPayload   = `{"test": 2432232314}`
	vectorSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func TestSignWebhookReproducesTheSpecVector(t *testing.T) {
	got, err := inbox.SignWebhook([]string{vectorSecret}, vectorID, time.Unix(vectorTimestamp, 0), []byte(vectorPayload))
	if err != nil {
		t.Fatal(err)
	}
	if got != vectorSignature {
		t.Fatalf("signature = %s, want %s", got, vectorSignature)
	}
	// The spec's libraries accept the secret without its prefix too.
	bare, _ := inbox.SignWebhook([]string{strings.TrimPrefix(vectorSecret, "whsec_")}, vectorID, time.Unix(vectorTimestamp, 0), []byte(vectorPayload))
	if bare != vectorSignature {
		t.Fatalf("unprefixed secret: %s, want %s", bare, vectorSignature)
	}
}

func TestVerifyWebhook(t *testing.T) {
	at := time.Unix(vectorTimestamp, 0)
	ts := "1614265330"
	other, _ := inbox.NewWebhookSecret()
	both, _ := inbox.SignWebhook([]string{other, vectorSecret}, vectorID, at, []byte(vectorPayload))
	for _, tc := range []struct {
		name, id, ts, sig string
		body              string
		now               time.Time
		ok                bool
	}{
		{"the vector", vectorID, ts, vectorSignature, vectorPayload, at, true},
		{"rotation: two signatures, the old secret's second", vectorID, ts, both, vectorPayload, at, true},
		{"unknown versions are skipped", vectorID, ts, "v2,abc v1a,x " + vectorSignature, vectorPayload, at, true},
		{"body changed", vectorID, ts, vectorSignature, vectorPayload + " ", at, false},
		{"id changed", "msg_other", ts, vectorSignature, vectorPayload, at, false},
		{"partial signature", vectorID, ts, "v1,", vectorPayload, at, false},
		{"too old", vectorID, ts, vectorSignature, vectorPayload, at.Add(inbox.WebhookTolerance + time.Second), false},
		{"too new", vectorID, ts, vectorSignature, vectorPayload, at.Add(-inbox.WebhookTolerance - time.Second), false},
		{"bad timestamp", vectorID, "16142653x0", vectorSignature, vectorPayload, at, false},
		{"no id", "", ts, vectorSignature, vectorPayload, at, false},
	} {
		err := inbox.VerifyWebhook(vectorSecret, tc.id, tc.ts, tc.sig, []byte(tc.body), tc.now)
		if (err == nil) != tc.ok {
			t.Errorf("%s: VerifyWebhook = %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}

func TestNewWebhookSecret(t *testing.T) {
	a, err := inbox.NewWebhookSecret()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := inbox.NewWebhookSecret()
	if !strings.HasPrefix(a, "whsec_") || a == b || len(a) < len("whsec_")+32 {
		t.Fatalf("secrets %q, %q: want distinct whsec_ secrets of 24+ bytes", a, b)
	}
	sig, err := inbox.SignWebhook([]string{a}, "id", time.Now(), []byte("{}"))
	now := time.Now()
	if err != nil || inbox.VerifyWebhook(a, "id", strconv.FormatInt(now.Unix(), 10), sig, []byte("{}"), now) != nil {
		t.Fatalf("a fresh secret does not sign and verify: %v", err)
	}
}

func FuzzParseWebhookSignatures(f *testing.F) {
	f.Add(vectorSignature)
	f.Add("v1,abc v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= v2,x")
	f.Add("")
	f.Fuzz(func(t *testing.T, header string) {
		for _, sig := range inbox.ParseWebhookSignatures(header) {
			if len(sig) != 32 {
				t.Fatalf("signature of %d bytes", len(sig))
			}
		}
		_ = inbox.VerifyWebhook(vectorSecret, vectorID, "1614265330", header, []byte(vectorPayload), time.Unix(vectorTimestamp, 0))
	})
}

func FuzzValidateWebhookURL(f *testing.F) {
	for _, s := range []string{"https://example.com/hook", "http://127.0.0.1:8080/x", "https://[::1]/", "https://u:p@h/", "//x", "https://h/#f", "https://%zz/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := inbox.ValidateWebhookURL(raw, false)
		if err != nil {
			if !inbox.IsKind(err, inbox.KindInvalid) {
				t.Fatalf("error of kind %s", inbox.ErrorKind(err))
			}
			return
		}
		if u.Scheme != "https" || u.Hostname() == "" || u.User != nil || len(raw) > 2048 {
			t.Fatalf("accepted %q", raw)
		}
	})
}
