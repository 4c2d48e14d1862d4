package inbox

import (
	"fmt"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/parley-inbox/parley/shared/inbox/phone"
)

// QuietHours is a daily window, in the contact's local time, when automated
// messages wait. Start after End means the window crosses midnight
// (21:00-08:00).
type QuietHours struct {
	Start string `json:"start"` // "21:00"
	End   string `json:"end"`   // "08:00"
}

func parseClock(field, s string) (int, error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, Invalid(field, "%q is not a time of day such as 21:00", s)
	}
	return t.Hour()*60 + t.Minute(), nil
}

func (q QuietHours) minutes() (start, end int, err error) {
	if start, err = parseClock("quietHours.start", q.Start); err != nil {
		return
	}
	if end, err = parseClock("quietHours.end", q.End); err != nil {
		return
	}
	if start == end {
		err = Invalid("quietHours", "quiet hours must not start and end at the same time")
	}
	return
}

// Validate reports a malformed window.
func (q QuietHours) Validate() error {
	_, _, err := q.minutes()
	return err
}

// NextAllowed returns t if it falls outside the window, else the first
// minute after the window ends, in loc.
func (q QuietHours) NextAllowed(t time.Time, loc *time.Location) time.Time {
	start, end, err := q.minutes()
	if err != nil {
		return t
	}
	local := t.In(loc)
	m := local.Hour()*60 + local.Minute()
	inside := (start < end && m >= start && m < end) || (start > end && (m >= start || m < end))
	if !inside {
		return t
	}
	day := local
	if start > end && m >= start {
		day = local.AddDate(0, 0, 1) // the window ends tomorrow morning
	}
	return time.Date(day.Year(), day.Month(), day.Day(), end/60, end%60, 0, 0, loc)
}

// ContactLocation is where a contact's clock runs: their own timezone, else
// their phone number's region, else the workspace's, else UTC.
func ContactLocation(c *Contact, workspaceTZ string) *time.Location {
	for _, tz := range contactTimezones(c, workspaceTZ) {
		if loc, err := time.LoadLocation(tz); err == nil && tz != "" {
			return loc
		}
	}
	return time.UTC
}

func contactTimezones(c *Contact, workspaceTZ string) []string {
	out := []string{c.Timezone}
	for _, p := range c.Phones {
		if num, err := phone.Parse(p, ""); err == nil {
			// A region with one timezone says where the person is; a
			// country with several (US, Canada) does not pin it down.
			if zones := phone.Timezones(num); len(zones) == 1 {
				out = append(out, zones[0])
			}
		}
	}
	return append(out, workspaceTZ)
}

// SMS encodings: GSM-7 fits 160 characters in one segment (153 when
// concatenated); anything outside it forces UCS-2 at 70 (67).
const gsm7 = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
const gsm7Extended = "^{}\\[~]|€\f"

// SMSSegments counts the segments a text is billed as.
func SMSSegments(body string) int {
	units, ucs2 := 0, false
	for _, r := range body {
		switch {
		case containsRune(gsm7, r):
			units++
		case containsRune(gsm7Extended, r):
			units += 2
		default:
			ucs2 = true
		}
	}
	if ucs2 {
		units = 0
		for _, r := range body {
			units += utf16.RuneLen(r)
		}
		if units <= 70 {
			return 1
		}
		return (units + 66) / 67
	}
	if units <= 160 {
		return 1
	}
	return (units + 152) / 153
}

func containsRune(set string, r rune) bool {
	for _, x := range set {
		if x == r {
			return true
		}
	}
	return false
}

// bodyLimits are the longest bodies each channel carries (characters).
var bodyLimits = map[Channel]int{
	ChannelSMS: 1600, ChannelMMS: 1600, ChannelWhatsApp: 4096, ChannelMessenger: 2000,
	ChannelInstagram: 1000, ChannelEmail: 100_000, ChannelWebchat: 5000,
}

// CheckBodyLength refuses a body the channel cannot carry.
func CheckBodyLength(ch Channel, body string) error {
	if limit := bodyLimits[ch]; utf8.RuneCountInString(body) > limit {
		return Invalid("body", "a %s message is at most %d characters; this one has %d", ch, limit, utf8.RuneCountInString(body))
	}
	return nil
}

// Reply windows of the Meta platforms.
const (
	// ReplyWindow is the customer-service window after the contact's last
	// message, inside which free-form messages may be sent.
	ReplyWindow = 24 * time.Hour
	// HumanAgentWindow is how long Messenger and Instagram accept a reply
	// tagged HUMAN_AGENT.
	HumanAgentWindow = 7 * 24 * time.Hour
)

// WindowDecision says how a message may go out on a windowed channel.
type WindowDecision int

const (
	WindowOpen       WindowDecision = iota // free-form allowed
	WindowHumanAgent                       // Messenger/Instagram: send with the HUMAN_AGENT tag
	WindowClosed                           // only an approved template (WhatsApp) or nothing
)

// ReplyWindowFor decides, from the contact's last inbound message on the
// channel, how a message may be sent now.
func ReplyWindowFor(ch Channel, lastInbound, now time.Time) WindowDecision {
	since := now.Sub(lastInbound)
	switch ch {
	case ChannelWhatsApp:
		if !lastInbound.IsZero() && since <= ReplyWindow {
			return WindowOpen
		}
		return WindowClosed
	case ChannelMessenger, ChannelInstagram:
		switch {
		case lastInbound.IsZero():
			return WindowClosed
		case since <= ReplyWindow:
			return WindowOpen
		case since <= HumanAgentWindow:
			return WindowHumanAgent
		}
		return WindowClosed
	}
	return WindowOpen
}

// byPerson reports whether a person wrote or approved the message: only
// then may it use Meta's HUMAN_AGENT tag. Integrations' automated messages,
// machine clients' (bots') messages and what drips and automations create
// (even unflagged scheduled ones) are not; an automation's draft an agent
// sent is the agent's.
func byPerson(m *Message) bool {
	return !m.Automated && m.AuthorID != "" && m.AuthorID != automationUser && !IsMachineUserID(m.AuthorID)
}

func describeAutomatedWindow(ch Channel) string {
	return fmt.Sprintf("the contact last wrote on %s more than 24 hours ago: after that Meta allows only a person's reply (tagged HUMAN_AGENT, up to 7 days), so automated messages are not sent", ch)
}

func describeWindow(ch Channel) string {
	if ch == ChannelWhatsApp {
		return fmt.Sprintf("the contact last wrote on %s more than 24 hours ago, so only an approved template may be sent", ch)
	}
	return fmt.Sprintf("the contact last wrote on %s more than 7 days ago (or never), so %s does not allow a message now", ch, ch)
}
