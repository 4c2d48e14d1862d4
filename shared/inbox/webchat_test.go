package inbox_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	"github.com/parley-inbox/parley/shared/inbox"
)

// A web chat handle that never proved being the contact (one joined before
// claims needed proof) gets none of the contact's replies, online or not.
func TestDefaultChannelSkipsUnprovenVisitor(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	online := now.Add(time.Minute)
	conv := &inbox.Conversation{VisitorOnlineUntil: &online, LastInboundAt: map[inbox.Channel]time.Time{inbox.ChannelWebchat: now}}
	tests := []struct {
		name    string
		contact inbox.Contact
		want    inbox.Channel
		address string
	}{
		{"a visitor's own contact", inbox.Contact{Handles: []string{"webchat:V1"}, VerifiedHandles: []string{"webchat:V1"}}, inbox.ChannelWebchat, "V1"},
		{"a visitor contact from before verification", inbox.Contact{Handles: []string{"webchat:V1"}}, inbox.ChannelWebchat, "V1"},
		{"a customer with a proved visitor", inbox.Contact{Emails: []string{"a@example.com"}, Handles: []string{"webchat:V1"}, VerifiedHandles: []string{"webchat:V1"}}, inbox.ChannelWebchat, "V1"},
		{"a customer with an unproved visitor", inbox.Contact{Emails: []string{"a@example.com"}, Handles: []string{"webchat:V1"}}, inbox.ChannelEmail, ""},
		{"the newest proved visitor", inbox.Contact{Emails: []string{"a@example.com"}, Handles: []string{"webchat:V1", "webchat:V2"}, VerifiedHandles: []string{"webchat:V1"}}, inbox.ChannelWebchat, "V1"},
	}
	for _, tt := range tests {
		got, err := inbox.DefaultChannel(conv, &tt.contact, now)
		if err != nil || got != tt.want {
			t.Errorf("%s: DefaultChannel = %q, %v; want %q", tt.name, got, err, tt.want)
		}
		if got := inbox.Address(&tt.contact, inbox.ChannelWebchat); got != tt.address {
			t.Errorf("%s: web chat address = %q, want %q", tt.name, got, tt.address)
		}
	}
}

func TestCheckIdentityHash(t *testing.T) {
	const secret = "0123456789abcdef0123456789abcdef"
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("Ann@Example.com"))
	good := hex.EncodeToString(m.Sum(nil))
	if err := inbox.CheckIdentityHash(secret, "Ann@Example.com", good); err != nil {
		t.Errorf("the site's own hash: %v", err)
	}
	for _, c := range []struct{ secret, id, hash string }{
		{"", "Ann@Example.com", good},                // no secret set: nothing verifies
		{secret, "ann@example.com", good},            // the email exactly as signed
		{secret, "Ann@Example.com", good[:62]},       // truncated
		{secret, "Ann@Example.com", "zz" + good[2:]}, // not hex
		{secret + "x", "Ann@Example.com", good},      // another secret
	} {
		if err := inbox.CheckIdentityHash(c.secret, c.id, c.hash); inbox.ErrorKind(err) != inbox.KindForbidden {
			t.Errorf("CheckIdentityHash(%q, %q, %q) = %v, want forbidden", c.secret, c.id, c.hash, err)
		}
	}
}

func FuzzCheckIdentityHash(f *testing.F) {
	f.Add("0123456789abcdef0123456789abcdef", "ann@example.com", "00")
	f.Add("", "", "")
	f.Fuzz(func(t *testing.T, secret, id, hash string) {
		m := hmac.New(sha256.New, []byte(secret))
		m.Write([]byte(id))
		want := hex.EncodeToString(m.Sum(nil))
		err := inbox.CheckIdentityHash(secret, id, hash)
		if secret != "" && hash == want && err != nil {
			t.Fatalf("the right hash was refused: %v", err)
		}
		if err == nil && (secret == "" || !hmac.Equal([]byte(hex.EncodeToString(mustHex(hash))), []byte(want))) {
			t.Fatalf("CheckIdentityHash(%q, %q, %q) accepted a wrong hash", secret, id, hash)
		}
	})
}

func mustHex(s string) []byte {
	b, _ := hex.DecodeString(s)
	return b
}
