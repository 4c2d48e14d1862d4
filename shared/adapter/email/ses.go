package email

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"

	"github.com/parley-inbox/parley/shared/inbox"
)

// Receipt is what an SES receipt notification says about one email: where
// the raw message is (Bucket and Key, for an S3 action) or the message
// itself (Content, for an SNS action), and what SES saw on arrival.
type Receipt struct {
	Bucket  string
	Key     string
	Content []byte

	// MessageID is SES's id for the delivery; ParseMIME falls back to it.
	MessageID string
	// Recipients are the envelope recipients the receipt rule matched,
	// which includes Bcc and forwarding that the To header does not show.
	Recipients []string
	Source     string // envelope sender (MAIL FROM)
	ReceivedAt time.Time

	// Verdicts are PASS, FAIL, GRAY or PROCESSING_FAILED.
	Spam, Virus, SPF, DKIM, DMARC string
}

// MIMEOptions are the receipt's facts that ParseMIME prefers over headers
// the sender wrote.
func (r *Receipt) MIMEOptions() MIMEOptions {
	o := MIMEOptions{FallbackID: r.MessageID, ReceivedAt: r.ReceivedAt}
	if len(r.Recipients) > 0 {
		o.Recipient = r.Recipients[0]
	}
	return o
}

type verdict struct {
	Status string `json:"status"`
}

type sesNotification struct {
	NotificationType string `json:"notificationType"`
	Content          string `json:"content"`
	Mail             struct {
		Timestamp   string   `json:"timestamp"`
		Source      string   `json:"source"`
		MessageID   string   `json:"messageId"`
		Destination []string `json:"destination"`
	} `json:"mail"`
	Receipt struct {
		Recipients   []string `json:"recipients"`
		SpamVerdict  verdict  `json:"spamVerdict"`
		VirusVerdict verdict  `json:"virusVerdict"`
		SPFVerdict   verdict  `json:"spfVerdict"`
		DKIMVerdict  verdict  `json:"dkimVerdict"`
		DMARCVerdict verdict  `json:"dmarcVerdict"`
		Action       struct {
			Type       string `json:"type"`
			BucketName string `json:"bucketName"`
			ObjectKey  string `json:"objectKey"`
			Encoding   string `json:"encoding"`
		} `json:"action"`
	} `json:"receipt"`
}

// ParseSESNotification reads the SES receipt notification that is the
// Message of a verified SNS Notification.
func ParseSESNotification(message string) (*Receipt, error) {
	var n sesNotification
	if err := json.Unmarshal([]byte(message), &n); err != nil {
		return nil, inbox.JSONProblem(err, "Message")
	}
	if n.NotificationType != "Received" {
		return nil, inbox.Invalid("notificationType", "SES notification type %q is not Received", n.NotificationType)
	}
	if n.Mail.MessageID == "" {
		return nil, inbox.Invalid("mail.messageId", "SES notification has no mail.messageId")
	}
	r := &Receipt{
		MessageID:  n.Mail.MessageID,
		Recipients: n.Receipt.Recipients,
		Source:     n.Mail.Source,
		Spam:       n.Receipt.SpamVerdict.Status,
		Virus:      n.Receipt.VirusVerdict.Status,
		SPF:        n.Receipt.SPFVerdict.Status,
		DKIM:       n.Receipt.DKIMVerdict.Status,
		DMARC:      n.Receipt.DMARCVerdict.Status,
	}
	if len(r.Recipients) == 0 {
		r.Recipients = n.Mail.Destination
	}
	if t, err := time.Parse(time.RFC3339, n.Mail.Timestamp); err == nil {
		r.ReceivedAt = t
	}
	switch a := n.Receipt.Action; a.Type {
	case "S3":
		if a.BucketName == "" || a.ObjectKey == "" {
			return nil, inbox.Invalid("receipt.action", "SES S3 action has no bucketName or objectKey")
		}
		r.Bucket, r.Key = a.BucketName, a.ObjectKey
	case "SNS":
		if n.Content == "" {
			return nil, inbox.Invalid("content", "SES SNS action has no content")
		}
		// SES writes the encoding as UTF8 or BASE64; the rule API spells
		// them UTF-8 and Base64.
		switch strings.ToUpper(strings.ReplaceAll(a.Encoding, "-", "")) {
		case "BASE64":
			raw, err := base64.StdEncoding.DecodeString(n.Content)
			if err != nil {
				return nil, &inbox.Error{Kind: inbox.KindInvalid, Field: "content", Message: "SES content is not base64", Err: err}
			}
			r.Content = raw
		case "UTF8", "":
			r.Content = []byte(n.Content)
		default:
			return nil, inbox.Invalid("receipt.action.encoding", "unknown SES content encoding %q", a.Encoding)
		}
	default:
		return nil, inbox.Invalid("receipt.action.type", "SES action %q carries no message", a.Type)
	}
	return r, nil
}
