package inbox_test

import (
	"strings"
	"testing"
	"time"

	"github.com/parley-inbox/parley/shared/inbox"
)

func TestQuietHoursNextAllowed(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	overnight := inbox.QuietHours{Start: "21:00", End: "08:00"}
	lunch := inbox.QuietHours{Start: "12:00", End: "13:30"}
	at := func(day, h, m int) time.Time { return time.Date(2026, 11, day, h, m, 0, 0, ny) }
	tests := []struct {
		q        inbox.QuietHours
		in, want time.Time
	}{
		{overnight, at(20, 20, 59), at(20, 20, 59)}, // before the window
		{overnight, at(20, 21, 0), at(21, 8, 0)},    // evening: next morning
		{overnight, at(21, 3, 15), at(21, 8, 0)},    // small hours: this morning
		{overnight, at(21, 8, 0), at(21, 8, 0)},     // the window has ended
		{lunch, at(20, 12, 45), at(20, 13, 30)},
		{lunch, at(20, 13, 30), at(20, 13, 30)},
	}
	for _, tt := range tests {
		if got := tt.q.NextAllowed(tt.in.UTC(), ny); !got.Equal(tt.want) {
			t.Errorf("%v at %s: got %s, want %s", tt.q, tt.in, got.In(ny), tt.want)
		}
	}
	if err := (inbox.QuietHours{Start: "25:00", End: "08:00"}).Validate(); inbox.ErrorKind(err) != inbox.KindInvalid {
		t.Errorf("25:00 accepted: %v", err)
	}
}

func TestContactLocation(t *testing.T) {
	if got := inbox.ContactLocation(&inbox.Contact{Timezone: "Europe/Paris", Phones: []string{"+14155550100"}}, "UTC").String(); got != "Europe/Paris" {
		t.Errorf("own timezone: %s", got)
	}
	if got := inbox.ContactLocation(&inbox.Contact{Phones: []string{"+33612345678"}}, "America/New_York").String(); got != "Europe/Paris" {
		t.Errorf("French number: %s, want Europe/Paris", got)
	}
	// A US area code pins the zone...
	if got := inbox.ContactLocation(&inbox.Contact{Phones: []string{"+14155550100"}}, "America/Chicago").String(); got != "America/Los_Angeles" {
		t.Errorf("415 number: %s, want America/Los_Angeles", got)
	}
	// ...a toll-free number does not, so the workspace's wins.
	if got := inbox.ContactLocation(&inbox.Contact{Phones: []string{"+18005550100"}}, "America/Chicago").String(); got != "America/Chicago" {
		t.Errorf("toll-free number: %s, want the workspace's", got)
	}
	if got := inbox.ContactLocation(&inbox.Contact{}, "").String(); got != "UTC" {
		t.Errorf("nothing known: %s", got)
	}
}

func TestSMSSegments(t *testing.T) {
	tests := []struct {
		body string
		want int
	}{
		{"", 1},
		{strings.Repeat("a", 160), 1},
		{strings.Repeat("a", 161), 2},
		{strings.Repeat("a", 306), 2},
		{strings.Repeat("a", 307), 3},
		{strings.Repeat("€", 80), 1}, // two units each in GSM-7
		{strings.Repeat("€", 81), 2},
		{strings.Repeat("é", 160), 1}, // é is in GSM-7
		{strings.Repeat("ł", 70), 1},  // UCS-2
		{strings.Repeat("ł", 71), 2},
		{strings.Repeat("😀", 35), 1}, // surrogate pairs: 70 units
		{strings.Repeat("😀", 36), 2},
	}
	for _, tt := range tests {
		if got := inbox.SMSSegments(tt.body); got != tt.want {
			t.Errorf("SMSSegments(%d x %q) = %d, want %d", len([]rune(tt.body)), []rune(tt.body + " ")[0], got, tt.want)
		}
	}
}

func TestReplyWindows(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		ch   inbox.Channel
		ago  time.Duration
		want inbox.WindowDecision
	}{
		{inbox.ChannelWhatsApp, 23 * time.Hour, inbox.WindowOpen},
		{inbox.ChannelWhatsApp, 25 * time.Hour, inbox.WindowClosed},
		{inbox.ChannelMessenger, 2 * time.Hour, inbox.WindowOpen},
		{inbox.ChannelMessenger, 3 * 24 * time.Hour, inbox.WindowHumanAgent},
		{inbox.ChannelInstagram, 8 * 24 * time.Hour, inbox.WindowClosed},
		{inbox.ChannelSMS, 400 * 24 * time.Hour, inbox.WindowOpen},
	}
	for _, tt := range tests {
		if got := inbox.ReplyWindowFor(tt.ch, now.Add(-tt.ago), now); got != tt.want {
			t.Errorf("%s, last inbound %s ago: %v, want %v", tt.ch, tt.ago, got, tt.want)
		}
	}
	if got := inbox.ReplyWindowFor(inbox.ChannelWhatsApp, time.Time{}, now); got != inbox.WindowClosed {
		t.Errorf("WhatsApp contact who never wrote: %v, want closed", got)
	}
}

func TestCheckBodyLength(t *testing.T) {
	if err := inbox.CheckBodyLength(inbox.ChannelInstagram, strings.Repeat("x", 1001)); inbox.ErrorKind(err) != inbox.KindInvalid {
		t.Errorf("1001 characters on Instagram accepted")
	}
	if err := inbox.CheckBodyLength(inbox.ChannelEmail, strings.Repeat("x", 5000)); err != nil {
		t.Errorf("a 5000-character email refused: %v", err)
	}
}
