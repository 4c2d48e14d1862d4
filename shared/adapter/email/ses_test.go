package email_test

import (
	"encoding/base64"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/parley-inbox/parley/shared/adapter/email"
	"github.com/parley-inbox/parley/shared/inbox"
)

const rawMail = "From: a@example.com\r\nSubject: hi\r\n\r\nhello\r\n"

// snsAction is an SES notification for an SNS action, which carries the
// message itself.
func snsAction(encoding, content string) string {
	return `{"notificationType":"Received","content":` + jsonString(content) + `,
	"mail":{"timestamp":"2026-11-21T09:00:00.000Z","source":"a@example.com","messageId":"ses-1","destination":["support@inbox.parley.example"]},
	"receipt":{"recipients":["support@inbox.parley.example"],"spamVerdict":{"status":"GRAY"},"action":{"type":"SNS","topicArn":"` + topicARN + `","encoding":"` + encoding + `"}}}`
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestParseSESNotificationSNSAction(t *testing.T) {
	for _, tt := range []struct{ encoding, content string }{
		{"BASE64", base64.StdEncoding.EncodeToString([]byte(rawMail))},
		{"Base64", base64.StdEncoding.EncodeToString([]byte(rawMail))},
		{"UTF8", rawMail},
		{"UTF-8", rawMail},
	} {
		t.Run(tt.encoding, func(t *testing.T) {
			got, err := email.ParseSESNotification(snsAction(tt.encoding, tt.content))
			if err != nil {
				t.Fatal(err)
			}
			want := &email.Receipt{
				Content: []byte(rawMail), MessageID: "ses-1", Recipients: []string{"support@inbox.parley.example"},
				Source: "a@example.com", ReceivedAt: time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC), Spam: "GRAY",
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %+v\nwant %+v", got, want)
			}
			if o := got.MIMEOptions(); o.FallbackID != "ses-1" || o.Recipient != "support@inbox.parley.example" || !o.ReceivedAt.Equal(want.ReceivedAt) {
				t.Errorf("MIMEOptions = %+v", o)
			}
		})
	}
}

func TestParseSESNotificationRejects(t *testing.T) {
	tests := map[string]string{
		"not JSON":          "Amazon SES Setup Notification",
		"bounce":            `{"notificationType":"Bounce","mail":{"messageId":"x"}}`,
		"no type":           `{"mail":{"messageId":"x"},"receipt":{"action":{"type":"S3","bucketName":"b","objectKey":"k"}}}`,
		"no message id":     `{"notificationType":"Received","receipt":{"action":{"type":"S3","bucketName":"b","objectKey":"k"}}}`,
		"S3 without key":    `{"notificationType":"Received","mail":{"messageId":"x"},"receipt":{"action":{"type":"S3","bucketName":"b"}}}`,
		"S3 without bucket": `{"notificationType":"Received","mail":{"messageId":"x"},"receipt":{"action":{"type":"S3","objectKey":"k"}}}`,
		"lambda action":     `{"notificationType":"Received","mail":{"messageId":"x"},"receipt":{"action":{"type":"Lambda","functionArn":"f"}}}`,
		"SNS no content":    `{"notificationType":"Received","mail":{"messageId":"x"},"receipt":{"action":{"type":"SNS","encoding":"UTF8"}}}`,
		"bad base64":        snsAction("BASE64", "***"),
		"unknown encoding":  snsAction("EBCDIC", rawMail),
	}
	for name, msg := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := email.ParseSESNotification(msg)
			wantKind(t, err, inbox.KindInvalid)
		})
	}
}
