package twilio

import (
	"fmt"
	"net/mail"
	"net/url"
	"strconv"

	"github.com/parley-inbox/parley/shared/inbox"
)

// callStatuses lists Twilio's call statuses and whether each is final.
// Only final ones become call log entries.
var callStatuses = map[string]bool{
	"completed":   true,
	"busy":        true,
	"failed":      true,
	"no-answer":   true,
	"canceled":    true,
	"queued":      false,
	"ringing":     false,
	"in-progress": false,
}

var callDirections = map[string]inbox.Direction{
	"inbound":       inbox.DirectionIn,
	"outbound-api":  inbox.DirectionOut,
	"outbound-dial": inbox.DirectionOut,
}

// ParseCallStatus reads a voice status callback. track is false, with a
// zero Inbound and no error, until the call reaches a final status.
//
// The Inbound has Kind KindCall and no Channel: the domain has no voice
// channel. From is the other party: the caller on inbound calls, the callee
// on outbound ones; To is the workspace's side.
func ParseCallStatus(workspaceID string, form url.Values) (in inbox.Inbound, track bool, err error) {
	id, err := sid(form, "CallSid", "CA")
	if err != nil {
		return inbox.Inbound{}, false, err
	}
	if err := checkAccount(form); err != nil {
		return inbox.Inbound{}, false, err
	}
	status := form.Get("CallStatus")
	final, known := callStatuses[status]
	if !known {
		return inbox.Inbound{}, false, inbox.Invalid("CallStatus", "unknown CallStatus %q", status)
	}
	dir, known := callDirections[form.Get("Direction")]
	if !known {
		return inbox.Inbound{}, false, inbox.Invalid("Direction", "Direction must be inbound, outbound-api or outbound-dial")
	}
	if !final {
		return inbox.Inbound{}, false, nil
	}

	contactField, ourField := "From", "To"
	if dir == inbox.DirectionOut {
		contactField, ourField = "To", "From"
	}
	contact, err := phone(form, contactField)
	if err != nil {
		return inbox.Inbound{}, false, err
	}
	seconds := 0
	if raw := form.Get("CallDuration"); raw != "" {
		seconds, err = strconv.Atoi(raw)
		if err != nil || seconds < 0 {
			return inbox.Inbound{}, false, inbox.Invalid("CallDuration", "CallDuration must be a whole number of seconds")
		}
	}
	// A recording link is a bonus, not a reason to lose the call log.
	recording := form.Get("RecordingUrl")
	if !isHTTPS(recording) {
		recording = ""
	}
	in = inbox.Inbound{
		WorkspaceID: workspaceID,
		Kind:        inbox.KindCall,
		ProviderID:  id,
		From:        inbox.Correspondent{Phone: contact},
		To:          form.Get(ourField),
		Body:        callSummary(dir, status, seconds),
		Call: &inbox.CallDetails{
			Direction:       dir,
			Status:          status,
			DurationSeconds: seconds,
			RecordingURL:    recording,
		},
	}
	// Timestamp is when this status fired, in RFC 2822 form.
	if raw := form.Get("Timestamp"); raw != "" {
		at, err := mail.ParseDate(raw)
		if err != nil {
			return inbox.Inbound{}, false, inbox.Invalid("Timestamp", "Timestamp must be an RFC 2822 date")
		}
		in.SentAt = at.UTC()
	}
	return in, true, nil
}

// callSummary is the line the thread shows for a call.
func callSummary(dir inbox.Direction, status string, seconds int) string {
	switch {
	case status == "completed" && dir == inbox.DirectionIn:
		return "Inbound call, " + duration(seconds)
	case status == "completed":
		return "Outbound call, " + duration(seconds)
	case dir == inbox.DirectionIn:
		return fmt.Sprintf("Missed inbound call (%s)", status)
	default:
		return fmt.Sprintf("Unanswered outbound call (%s)", status)
	}
}

// duration formats seconds as "45s", "3m 12s" or "1h 2m 5s".
func duration(seconds int) string {
	h, m, s := seconds/3600, seconds/60%60, seconds%60
	switch {
	case h > 0:
		return fmt.Sprintf("%dh %dm %ds", h, m, s)
	case m > 0:
		return fmt.Sprintf("%dm %ds", m, s)
	default:
		return fmt.Sprintf("%ds", s)
	}
}
