package webhooks_test

import (
	"testing"
	"time"

	"github.com/parley-inbox/parley/shared/dev/signing"
	"github.com/parley-inbox/parley/shared/handler/webhooks"
)

func TestEventSignature(t *testing.T) {
	body := []byte(`{"id":"1","type":"order.placed"}`)
	now := time.Unix(1_800_000_000, 0)
	sig := signing.Event("secret", now, body)
	for _, tc := range []struct {
		name, secret, header string
		body                 []byte
		at                   time.Time
		want                 bool
	}{
		{"valid", "secret", sig, body, now, true},
		{"rotating: second v1 matches", "secret", sig + ",v1=00ff", body, now.Add(time.Minute), true},
		{"other body", "secret", sig, []byte(`{"id":"2"}`), now, false},
		{"other secret", "other", sig, body, now, false},
		{"too old", "secret", sig, body, now.Add(6 * time.Minute), false},
		{"from the future", "secret", sig, body, now.Add(-6 * time.Minute), false},
		{"no secret configured", "", sig, body, now, false},
		{"no v1", "secret", "t=1800000000", body, now, false},
		{"empty", "secret", "", body, now, false},
	} {
		if got := webhooks.VerifyEventSignature(tc.secret, tc.header, tc.body, tc.at); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// FuzzExternalEvent: signature headers and event bodies from anyone on the
// internet are refused or accepted, never a panic, and any body verifies
// under its own fresh signature.
func FuzzExternalEvent(f *testing.F) {
	f.Add("t=1800000000,v1=abcd", []byte(`{"id":"o-1","type":"order.placed","contact":{"phone":"+14155550123"},"reference":"o-1"}`))
	f.Add("v1=,t=", []byte(`{"id":"l","type":"contact.added_to_list","list":"VIP","contact":{"email":"a@b.c"}}`))
	f.Add("v1=,t=", []byte(`{"id":"f","type":"contact.subscribed","channel":"whatsapp","marketing":true,"contact":{"phone":"+14155550190"}}`))
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		now := time.Unix(1_800_000_000, 0)
		_ = webhooks.VerifyEventSignature("secret", header, body, now)
		if !webhooks.VerifyEventSignature("secret", signing.Event("secret", now, body), body, now) {
			t.Fatalf("a fresh signature of %q does not verify", body)
		}
		_, _ = webhooks.ParseExternalEvent(body)
	})
}
