// Package email turns mail that Amazon SES received into inbox.Inbound.
//
// SES stores the raw MIME in S3 and notifies an SNS topic; SNS posts that
// notification to Parley's webhook over HTTPS. The webhook parses the SNS
// envelope (ParseSNS), proves it came from SNS for our topic (Verifier),
// reads the SES receipt inside it (ParseSESNotification), fetches the raw
// message (objectstore) and parses it (ParseMIME).
package email

import (
	"encoding/json"
	"time"

	"github.com/parley-inbox/parley/shared/inbox"
)

// SNS message types.
const (
	TypeNotification             = "Notification"
	TypeSubscriptionConfirmation = "SubscriptionConfirmation"
	TypeUnsubscribeConfirmation  = "UnsubscribeConfirmation"
)

// maxSNSBody bounds what ParseSNS reads: SNS messages are at most 256 KB,
// and JSON escaping at most doubles that for the text SES sends.
const maxSNSBody = 1 << 20

// SNSMessage is the JSON document SNS posts to an HTTP(S) subscriber.
type SNSMessage struct {
	Type             string `json:"Type"`
	MessageID        string `json:"MessageId"`
	Token            string `json:"Token,omitempty"`
	TopicArn         string `json:"TopicArn"`
	Subject          string `json:"Subject,omitempty"`
	Message          string `json:"Message"`
	SubscribeURL     string `json:"SubscribeURL,omitempty"`
	UnsubscribeURL   string `json:"UnsubscribeURL,omitempty"`
	Timestamp        string `json:"Timestamp"`
	SignatureVersion string `json:"SignatureVersion"`
	Signature        string `json:"Signature"`
	SigningCertURL   string `json:"SigningCertURL"`
	// MessageAttributes are not signed; never trust them.
	MessageAttributes map[string]SNSAttribute `json:"MessageAttributes,omitempty"`
}

// SNSAttribute is one message attribute.
type SNSAttribute struct {
	Type  string `json:"Type"`
	Value string `json:"Value"`
}

// ParseSNS decodes an SNS HTTP(S) delivery and checks that the fields its
// type needs for signature verification are present. It does not verify.
func ParseSNS(body []byte) (*SNSMessage, error) {
	if len(body) > maxSNSBody {
		return nil, inbox.Invalid("body", "SNS message is larger than %d bytes", maxSNSBody)
	}
	var m SNSMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, inbox.JSONProblem(err, "")
	}
	required := []struct{ name, value string }{
		{"MessageId", m.MessageID},
		{"TopicArn", m.TopicArn},
		{"Message", m.Message},
		{"Timestamp", m.Timestamp},
		{"SignatureVersion", m.SignatureVersion},
		{"Signature", m.Signature},
		{"SigningCertURL", m.SigningCertURL},
	}
	switch m.Type {
	case TypeNotification:
	case TypeSubscriptionConfirmation, TypeUnsubscribeConfirmation:
		required = append(required,
			struct{ name, value string }{"SubscribeURL", m.SubscribeURL},
			struct{ name, value string }{"Token", m.Token})
	default:
		return nil, inbox.Invalid("Type", "unknown SNS message type %q", m.Type)
	}
	for _, f := range required {
		if f.value == "" {
			return nil, inbox.Invalid(f.name, "SNS %s has no %s", m.Type, f.name)
		}
	}
	if _, err := time.Parse(time.RFC3339, m.Timestamp); err != nil {
		return nil, inbox.Invalid("Timestamp", "SNS Timestamp %q is not RFC 3339", m.Timestamp)
	}
	return &m, nil
}
