package signing

import (
	"encoding/json"
	"path"
	"time"

	"github.com/parley-inbox/parley/shared/adapter/email"
)

// SESReceipt is an inbound email SES has stored in S3 (its S3 action), as
// the SNS notification SES then posts describes it.
type SESReceipt struct {
	TopicARN, Bucket, Key string
	// SESMessageID is SES's id for the delivery; SNSMessageID the
	// notification's.
	SESMessageID, SNSMessageID string
	From                       string   // envelope sender
	To                         []string // envelope recipients
	At                         time.Time
	// SPF, DKIM and DMARC are SES's verdicts; "" is PASS.
	SPF, DKIM, DMARC string
}

// SESNotification is the SNS Notification, signed with the test-only key
// (SignatureVersion 2), that SES posts for r. Everything in it comes from
// r, so the same receipt gives the same bytes: a redelivery.
func SESNotification(r SESReceipt) (*email.SNSMessage, error) {
	ts := r.At.UTC().Format("2006-01-02T15:04:05.000Z")
	status := func(s string) map[string]string {
		if s == "" {
			s = "PASS"
		}
		return map[string]string{"status": s}
	}
	receipt, err := json.Marshal(map[string]any{
		"notificationType": "Received",
		"mail": map[string]any{
			"timestamp": ts, "source": r.From, "messageId": r.SESMessageID,
			"destination": r.To, "headersTruncated": false,
		},
		"receipt": map[string]any{
			"timestamp": ts, "processingTimeMillis": 640, "recipients": r.To,
			"spamVerdict": status(""), "virusVerdict": status(""),
			"spfVerdict": status(r.SPF), "dkimVerdict": status(r.DKIM), "dmarcVerdict": status(r.DMARC),
			"action": map[string]any{"type": "S3", "topicArn": r.TopicARN, "bucketName": r.Bucket,
				"objectKeyPrefix": path.Dir(r.Key) + "/", "objectKey": r.Key},
		},
	})
	if err != nil {
		return nil, err
	}
	m := &email.SNSMessage{
		Type: email.TypeNotification, MessageID: r.SNSMessageID, TopicArn: r.TopicARN, Subject: "Amazon SES Email Receipt Notification",
		Message: string(receipt), Timestamp: ts, SignatureVersion: "2", SigningCertURL: SNSCertURL,
		UnsubscribeURL: "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=" + r.TopicARN + ":5d1e3b8a-92c4-4f0e-b7a6-3c8d2e9f1a04",
	}
	if err := SNS(m, nil); err != nil {
		return nil, err
	}
	return m, nil
}
