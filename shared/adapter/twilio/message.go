package twilio

import (
	"mime"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/parley-inbox/parley/shared/inbox"
)

// maxMedia is Twilio's limit of media per MMS, and the domain's limit of
// attachments per message.
const maxMedia = 10

// ParseMessage reads Twilio's inbound message webhook (SMS or MMS).
func ParseMessage(workspaceID string, form url.Values) (inbox.Inbound, error) {
	id, err := sid(form, "MessageSid", "SM", "MM")
	if err != nil {
		return inbox.Inbound{}, err
	}
	if err := checkAccount(form); err != nil {
		return inbox.Inbound{}, err
	}
	from, err := phone(form, "From")
	if err != nil {
		return inbox.Inbound{}, err
	}
	// The body stays as sent ("Stop " included): keyword rules belong to
	// the domain.
	body := form.Get("Body")
	if !utf8.ValidString(body) {
		return inbox.Inbound{}, inbox.Invalid("Body", "Body must be UTF-8 text")
	}
	media, err := parseMedia(form)
	if err != nil {
		return inbox.Inbound{}, err
	}
	channel := inbox.ChannelSMS
	if len(media) > 0 {
		channel = inbox.ChannelMMS
	}
	return inbox.Inbound{
		WorkspaceID: workspaceID,
		Channel:     channel,
		Kind:        inbox.KindMessage,
		ProviderID:  id,
		From:        inbox.Correspondent{Phone: from},
		To:          form.Get("To"),
		Body:        body,
		Attachments: media,
	}, nil
}

// parseMedia reads MediaUrl{N} and MediaContentType{N} for N below
// NumMedia. A missing or bad item is an error rather than a silent drop:
// Twilio always sends every item it counts.
func parseMedia(form url.Values) ([]inbox.Attachment, error) {
	raw := form.Get("NumMedia")
	if raw == "" {
		return nil, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 0 || n > maxMedia {
		return nil, inbox.Invalid("NumMedia", "NumMedia must be a whole number from 0 to %d", maxMedia)
	}
	var list []inbox.Attachment
	for i := range n {
		urlField, typeField := "MediaUrl"+strconv.Itoa(i), "MediaContentType"+strconv.Itoa(i)
		u := form.Get(urlField)
		if !isHTTPS(u) {
			return nil, inbox.Invalid(urlField, "%s must be an https URL", urlField)
		}
		ct := form.Get(typeField)
		if !isMediaType(ct) {
			return nil, inbox.Invalid(typeField, "%s must be a media type such as image/jpeg", typeField)
		}
		list = append(list, inbox.Attachment{URL: u, ContentType: ct})
	}
	return list, nil
}

// isHTTPS matches the domain's attachment rule (an https URL of at most
// 2048 characters) and also requires a host.
func isHTTPS(s string) bool {
	if !strings.HasPrefix(s, "https://") || len(s) > 2048 {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && u.Host != ""
}

func isMediaType(s string) bool {
	if len(s) > 128 || !strings.Contains(s, "/") {
		return false
	}
	_, _, err := mime.ParseMediaType(s)
	return err == nil
}

// messageStatuses maps Twilio's message statuses to Parley's. An empty
// value is a status Parley does not record: Twilio's interim states, and
// the states of inbound messages.
var messageStatuses = map[string]inbox.MessageStatus{
	"sent":                inbox.MessageSent,
	"delivered":           inbox.MessageDelivered,
	"read":                inbox.MessageRead,
	"undelivered":         inbox.MessageFailed,
	"failed":              inbox.MessageFailed,
	"canceled":            inbox.MessageCanceled,
	"queued":              "",
	"accepted":            "",
	"scheduled":           "",
	"sending":             "",
	"receiving":           "",
	"received":            "",
	"partially_delivered": "",
}

// ParseMessageStatus reads a message status callback. track is false, with
// a zero update and no error, for statuses Parley does not record.
//
// At is left zero: the callback carries no event time, so the caller stamps
// the time it received it.
func ParseMessageStatus(workspaceID string, form url.Values) (u inbox.DeliveryUpdate, track bool, err error) {
	id, err := sid(form, "MessageSid", "SM", "MM")
	if err != nil {
		return inbox.DeliveryUpdate{}, false, err
	}
	if err := checkAccount(form); err != nil {
		return inbox.DeliveryUpdate{}, false, err
	}
	raw := form.Get("MessageStatus")
	status, known := messageStatuses[raw]
	if !known {
		return inbox.DeliveryUpdate{}, false, inbox.Invalid("MessageStatus", "unknown MessageStatus %q", raw)
	}
	code := form.Get("ErrorCode")
	if !isErrorCode(code) {
		return inbox.DeliveryUpdate{}, false, inbox.Invalid("ErrorCode", "ErrorCode must be a Twilio error number")
	}
	if status == "" {
		return inbox.DeliveryUpdate{}, false, nil
	}
	// The callback does not say whether media went out; Twilio gives MMS
	// SIDs the MM prefix.
	channel := inbox.ChannelSMS
	if strings.HasPrefix(id, "MM") {
		channel = inbox.ChannelMMS
	}
	u = inbox.DeliveryUpdate{WorkspaceID: workspaceID, Channel: channel, ProviderID: id, Status: status}
	if code != "" {
		u.ErrorCode, u.ErrorReason = code, Reason(code)
	}
	return u, true, nil
}

// isErrorCode accepts an absent code or up to 10 digits.
func isErrorCode(s string) bool {
	if len(s) > 10 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
