package inbox_test

import (
	"strings"
	"testing"
	"time"

	"github.com/parley-inbox/parley/shared/inbox"
)

func TestNormalizePhone(t *testing.T) {
	tests := []struct{ in, want string }{
		{"+1 415 555 0100", "+14155550100"},
		{"(415) 555-0100", "+14155550100"}, // no country code: read as US
		{"+44 7911 123456", "+447911123456"},
		{"  +14155550100 ", "+14155550100"},
	}
	for _, tt := range tests {
		got, err := inbox.NormalizePhone("phone", tt.in)
		if err != nil || got != tt.want {
			t.Errorf("NormalizePhone(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "123", "+1 555", "not a phone", "+999 1234567"} {
		if _, err := inbox.NormalizePhone("phone", bad); inbox.ErrorKind(err) != inbox.KindInvalid {
			t.Errorf("NormalizePhone(%q) error kind = %q, want invalid", bad, inbox.ErrorKind(err))
		}
	}
}

func TestNormalizeEmail(t *testing.T) {
	got, err := inbox.NormalizeEmail("email", " Ann.Lee@Example.COM ")
	if err != nil || got != "ann.lee@example.com" {
		t.Fatalf("NormalizeEmail = %q, %v; want ann.lee@example.com", got, err)
	}
	for _, bad := range []string{"", "ann", "ann@localhost", "Ann <ann@example.com>", "a@b@c.com", strings.Repeat("a", 250) + "@example.com"} {
		if _, err := inbox.NormalizeEmail("email", bad); inbox.ErrorKind(err) != inbox.KindInvalid {
			t.Errorf("NormalizeEmail(%q) accepted, want invalid", bad)
		}
	}
}

func TestPreviewIsShortAndSingleLine(t *testing.T) {
	got := inbox.Preview("Hello\n\n  there " + strings.Repeat("é", 300))
	if strings.ContainsAny(got, "\n") {
		t.Errorf("preview keeps newlines: %q", got)
	}
	if n := len([]rune(got)); n != 140 {
		t.Errorf("preview has %d runes, want 140", n)
	}
	if !strings.HasSuffix(got, "…") {
		t.Errorf("a cut preview should end with an ellipsis: %q", got)
	}
}

func TestConsentDefaultsToOptedInAndMMSSharesSMS(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	c := &inbox.Contact{CreatedAt: now}
	if got := c.ConsentOn(inbox.ChannelSMS).Status; got != inbox.ConsentOptedIn {
		t.Fatalf("default consent = %q, want opted_in", got)
	}
	if !c.SetConsent(inbox.ChannelMMS, inbox.ConsentOptedOut, inbox.ConsentSourceManual, "u1", now) {
		t.Fatal("opting out reported no change")
	}
	got := c.ConsentOn(inbox.ChannelSMS)
	if got.Status != inbox.ConsentOptedOut || got.Source != inbox.ConsentSourceManual || got.ChangedBy != "u1" || !got.ChangedAt.Equal(now) {
		t.Errorf("SMS consent after MMS opt-out = %+v", got)
	}
	if c.SetConsent(inbox.ChannelSMS, inbox.ConsentOptedOut, inbox.ConsentSourceKeyword, "", now) {
		t.Error("opting out twice reported a change")
	}
	if got := c.ConsentOn(inbox.ChannelEmail).Status; got != inbox.ConsentOptedIn {
		t.Errorf("email consent = %q, want opted_in (channels are independent)", got)
	}
}

func TestRecordMessage(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	contact := &inbox.Contact{ID: inbox.NewID(t0), WorkspaceID: "w", Name: "Jo"}
	c := inbox.NewConversation(contact, t0)
	c.Unread = true
	start := c.ActivityID

	comment := &inbox.Message{ID: inbox.NewID(t0.Add(time.Minute)), Kind: inbox.KindComment, Body: "note", CreatedAt: t0.Add(time.Minute)}
	c.RecordMessage(comment)
	if c.ActivityID != start || c.Preview != "" || !c.Unread {
		t.Errorf("an internal comment moved the thread: activity %s preview %q unread %v", c.ActivityID, c.Preview, c.Unread)
	}

	out := &inbox.Message{ID: inbox.NewID(t0.Add(2 * time.Minute)), Kind: inbox.KindMessage, Direction: inbox.DirectionOut, Channel: inbox.ChannelSMS, Body: "hi", CreatedAt: t0.Add(2 * time.Minute)}
	c.RecordMessage(out)
	c.RecordMessage(out)
	if c.ActivityID <= start || c.Preview != "hi" || c.Unread || len(c.Channels) != 1 {
		t.Errorf("after a reply: activity %s preview %q unread %v channels %v", c.ActivityID, c.Preview, c.Unread, c.Channels)
	}
}

func TestInboxFilterMatches(t *testing.T) {
	yes := true
	c := &inbox.Conversation{Status: inbox.StatusOpen, AssigneeID: "u1", Labels: []string{"L1"}, Channels: []inbox.Channel{inbox.ChannelEmail}, Unread: true}
	tests := []struct {
		f    inbox.InboxFilter
		want bool
	}{
		{inbox.InboxFilter{}, true},
		{inbox.InboxFilter{Status: inbox.StatusComplete}, false},
		{inbox.InboxFilter{Assignee: "u1"}, true},
		{inbox.InboxFilter{Assignee: inbox.AssigneeNone}, false},
		{inbox.InboxFilter{Label: "L2"}, false},
		{inbox.InboxFilter{Channel: inbox.ChannelEmail, Unread: &yes, Label: "L1"}, true},
		{inbox.InboxFilter{Channel: inbox.ChannelSMS}, false},
	}
	for _, tt := range tests {
		if got := tt.f.Matches(c); got != tt.want {
			t.Errorf("%+v.Matches = %v, want %v", tt.f, got, tt.want)
		}
	}
}

func TestErrorKind(t *testing.T) {
	if got := inbox.ErrorKind(inbox.Invalid("f", "bad")); got != inbox.KindInvalid {
		t.Errorf("kind = %q", got)
	}
	if got := inbox.ErrorKind(strings.NewReader("").UnreadByte()); got != inbox.KindInternal {
		t.Errorf("a foreign error's kind = %q, want internal", got)
	}
}

func TestLateOlderMessageKeepsTheSummary(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := inbox.NewConversation(&inbox.Contact{ID: inbox.NewID(t0), WorkspaceID: "w"}, t0)
	newer := &inbox.Message{ID: inbox.NewID(t0.Add(time.Hour)), Kind: inbox.KindMessage, Direction: inbox.DirectionIn, Channel: inbox.ChannelSMS, Body: "newer", CreatedAt: t0.Add(time.Hour)}
	older := &inbox.Message{ID: inbox.NewID(t0.Add(time.Minute)), Kind: inbox.KindMessage, Direction: inbox.DirectionIn, Channel: inbox.ChannelWhatsApp, Body: "older", CreatedAt: t0.Add(time.Minute)}
	c.RecordMessage(newer)
	activity := c.ActivityID
	c.RecordMessage(older)
	if c.Preview != "newer" || c.ActivityID != activity {
		t.Errorf("a late older message replaced the summary: preview %q", c.Preview)
	}
	if len(c.Channels) != 2 {
		t.Errorf("channels = %v, want both", c.Channels)
	}
}
