package email_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/parley-inbox/parley/shared/adapter/email"
	"github.com/parley-inbox/parley/shared/dev/objectstore"
	"github.com/parley-inbox/parley/shared/inbox"
)

var update = flag.Bool("update", false, "rewrite events/ses-*.json from the .eml fixtures and the test key")

// sample describes one committed event; -update writes it from this.
type sample struct {
	file      string
	msg       email.SNSMessage // unsigned
	eml       string           // the S3 object, for notifications
	sesID     string
	requestID string
	at        time.Time
}

var samples = []sample{
	{
		file:      "ses-sns-subscription-confirmation.json",
		requestID: "Qm3xYhZ7IAMEVBw=",
		at:        time.Date(2026, 11, 21, 9, 12, 44, 118e6, time.UTC),
		msg: email.SNSMessage{
			Type:             email.TypeSubscriptionConfirmation,
			MessageID:        "6f0c7d52-1b8e-4b5f-9a3e-2d4c8e1f7a90",
			Token:            fmt.Sprintf("%x", sha256.Sum256([]byte("parley test token"))),
			TopicArn:         topicARN,
			Message:          "You have chosen to subscribe to the topic " + topicARN + ".\nTo confirm the subscription, visit the SubscribeURL included in this message.",
			SignatureVersion: "1",
		},
	},
	{
		file:      "ses-sns-inbound.json",
		requestID: "Qm5KPjZBIAMEbGg=",
		at:        time.Date(2026, 11, 21, 17, 41, 9, 402e6, time.UTC),
		eml:       "inbound-reply.eml",
		sesID:     "3q8fj2vm1k9tceu0b7n5hra6lsd4gop2i1xw0y9z",
		msg: email.SNSMessage{
			Type:             email.TypeNotification,
			MessageID:        "b1a4e0c3-58d2-5f7e-9c61-0e2f4a8d3b67",
			TopicArn:         topicARN,
			Subject:          "Amazon SES Email Receipt Notification",
			SignatureVersion: "2",
		},
	},
	{
		file:      "ses-sns-inbound-new-sender.json",
		requestID: "Qm9TqhZfIAMEbQw=",
		at:        time.Date(2026, 11, 21, 9, 5, 33, 871e6, time.UTC),
		eml:       "inbound-new-sender.eml",
		sesID:     "qe71b5nnm2d9u0r4hk3sfv8c6ltgo2ja1p7w5x0i",
		msg: email.SNSMessage{
			Type:             email.TypeNotification,
			MessageID:        "e7c2f915-0a6b-5d3c-8f41-9b2e6d0a4c18",
			TopicArn:         topicARN,
			Subject:          "Amazon SES Email Receipt Notification",
			SignatureVersion: "1",
		},
	},
}

// want is what each notification sample must parse to.
var want = map[string]inbox.Inbound{
	"ses-sns-inbound.json": {
		WorkspaceID: "demo",
		Channel:     inbox.ChannelEmail,
		Kind:        inbox.KindMessage,
		ProviderID:  "CAJx7Kq3Vn2p8Lz+Fw1bD4eH6gT9rS0uY5mQcA8xN2kP@mail.example.com",
		From:        inbox.Correspondent{Email: "jo.customer@example.com", Name: "Jo Customer"},
		To:          "support@inbox.parley.example",
		Body: "Hi Sam,\n\nThanks for the quick reply — the replacement hasn't arrived yet. I've attached the delivery note so you can see the tracking number.\n\nJo\n\n" +
			"On Fri, Nov 20, 2026 at 4:12 PM Parley Support <support@inbox.parley.example> wrote:\n> Hi Jo, we've shipped a replacement for order 10482.\n> Sam",
		Attachments: []inbox.Attachment{{Name: "delivery-note-10482.pdf", ContentType: "application/pdf", Size: 607}},
		SentAt:      time.Date(2026, 11, 21, 17, 41, 8, 0, time.UTC),
		Email: &inbox.EmailDetails{
			From:       "jo.customer@example.com",
			Subject:    "Re: Your order",
			MessageID:  "CAJx7Kq3Vn2p8Lz+Fw1bD4eH6gT9rS0uY5mQcA8xN2kP@mail.example.com",
			InReplyTo:  "01JDA8Z6Q4M3X5V7B9N2K4P6R8@parley.example",
			References: []string{"01JD9XK2T5W8Y1Z3C6E9G2J5M7@parley.example", "01JDA8Z6Q4M3X5V7B9N2K4P6R8@parley.example"},
		},
	},
	"ses-sns-inbound-new-sender.json": {
		WorkspaceID: "demo",
		Channel:     inbox.ChannelEmail,
		Kind:        inbox.KindMessage,
		ProviderID:  "4f1e9b2c-7d3a-4c8e-9a61-2b5d0e7f3c19@example.org",
		From:        inbox.Correspondent{Email: "renee.dubois@example.org", Name: "Renée Dubois"},
		To:          "support@inbox.parley.example",
		Body:        "Bonjour,\n\nI run a small café in Lyon and would like to order *40 units* a month. Do you offer wholesale pricing?\n\nMerci,\nRenée",
		SentAt:      time.Date(2026, 11, 21, 9, 5, 32, 0, time.UTC),
		Email: &inbox.EmailDetails{
			From:      "renee.dubois@example.org",
			Subject:   "Question about wholesale pricing – café order",
			MessageID: "4f1e9b2c-7d3a-4c8e-9a61-2b5d0e7f3c19@example.org",
			HTML:      true,
		},
	},
}

// TestSampleEvents runs each committed sample the way the webhook will:
// API Gateway event → SNS message → signature → SES receipt → S3 object →
// MIME. With -update it first rewrites the samples.
func TestSampleEvents(t *testing.T) {
	for _, s := range samples {
		t.Run(s.file, func(t *testing.T) {
			path := filepath.Join(eventsDir, s.file)
			if *update {
				writeSample(t, path, s)
			}
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var ev events.APIGatewayV2HTTPRequest
			if err := json.Unmarshal(raw, &ev); err != nil {
				t.Fatalf("decode sample: %v", err)
			}
			m, err := email.ParseSNS([]byte(ev.Body))
			if err != nil {
				t.Fatalf("ParseSNS: %v", err)
			}
			for header, got := range map[string]string{"x-amz-sns-message-type": m.Type, "x-amz-sns-message-id": m.MessageID, "x-amz-sns-topic-arn": m.TopicArn} {
				if ev.Headers[header] != got {
					t.Errorf("header %s = %q, body says %q", header, ev.Headers[header], got)
				}
			}
			if err := testVerifier(t).Verify(context.Background(), m); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if m.Type != email.TypeNotification {
				return
			}
			rec, err := email.ParseSESNotification(m.Message)
			if err != nil {
				t.Fatalf("ParseSESNotification: %v", err)
			}
			if rec.Bucket != bucket || rec.Key != "inbound/"+s.sesID || rec.MessageID != s.sesID {
				t.Errorf("receipt = s3://%s/%s id %s, want s3://%s/inbound/%s", rec.Bucket, rec.Key, rec.MessageID, bucket, s.sesID)
			}
			store := objectstore.Dir{Root: t.TempDir()}
			putFile(t, filepath.Join(store.Root, rec.Bucket, rec.Key), filepath.Join(fixtures, s.eml))
			mime, err := store.Get(context.Background(), rec.Bucket, rec.Key)
			if err != nil {
				t.Fatal(err)
			}
			got, err := email.ParseMIMEWith("demo", mime, rec.MIMEOptions())
			if err != nil {
				t.Fatalf("ParseMIME: %v", err)
			}
			if w := want[s.file]; !reflect.DeepEqual(got, w) {
				t.Errorf("ParseMIME =\n%s\nwant\n%s", dump(got), dump(w))
			}
		})
	}
}

func putFile(t *testing.T, dst, src string) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func dump(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

func writeSample(t *testing.T, path string, s sample) {
	t.Helper()
	m := s.msg
	m.Timestamp = s.at.Format("2006-01-02T15:04:05.000Z")
	m.SigningCertURL = certURL
	var fields []string
	if m.Type == email.TypeNotification {
		m.Message = sesMessage(t, s)
		m.UnsubscribeURL = "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=" + topicARN + ":5d1e3b8a-92c4-4f0e-b7a6-3c8d2e9f1a04"
		sign(t, &m)
		fields = []string{"Type", m.Type, "MessageId", m.MessageID, "TopicArn", m.TopicArn, "Subject", m.Subject,
			"Message", m.Message, "Timestamp", m.Timestamp, "SignatureVersion", m.SignatureVersion,
			"Signature", m.Signature, "SigningCertURL", m.SigningCertURL, "UnsubscribeURL", m.UnsubscribeURL}
	} else {
		m.SubscribeURL = "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=" + topicARN + "&Token=" + m.Token
		sign(t, &m)
		fields = []string{"Type", m.Type, "MessageId", m.MessageID, "Token", m.Token, "TopicArn", m.TopicArn,
			"Message", m.Message, "SubscribeURL", m.SubscribeURL, "Timestamp", m.Timestamp,
			"SignatureVersion", m.SignatureVersion, "Signature", m.Signature, "SigningCertURL", m.SigningCertURL}
	}
	// SNS pretty-prints its body with " : " between name and value.
	var body strings.Builder
	body.WriteString("{\n")
	for i := 0; i < len(fields); i += 2 {
		if i > 0 {
			body.WriteString(",\n")
		}
		fmt.Fprintf(&body, "  %q : %s", fields[i], jsonText(t, fields[i+1]))
	}
	body.WriteString("\n}")

	received := s.at.Add(-400 * time.Millisecond)
	headers := map[string]string{
		"content-length":         fmt.Sprint(body.Len()),
		"content-type":           "text/plain; charset=UTF-8",
		"host":                   "api.parley.example",
		"user-agent":             "Amazon Simple Notification Service Agent",
		"x-amz-sns-message-id":   m.MessageID,
		"x-amz-sns-message-type": m.Type,
		"x-amz-sns-topic-arn":    m.TopicArn,
		"x-amzn-trace-id":        fmt.Sprintf("Root=1-%08x-%x", received.Unix(), sha256.Sum256([]byte(m.MessageID)))[:40],
		"x-forwarded-for":        "203.0.113.40",
		"x-forwarded-port":       "443",
		"x-forwarded-proto":      "https",
	}
	if m.Type == email.TypeNotification {
		headers["x-amz-sns-subscription-arn"] = topicARN + ":5d1e3b8a-92c4-4f0e-b7a6-3c8d2e9f1a04"
	}
	type httpInfo struct {
		Method    string `json:"method"`
		Path      string `json:"path"`
		Protocol  string `json:"protocol"`
		SourceIP  string `json:"sourceIp"`
		UserAgent string `json:"userAgent"`
	}
	type requestContext struct {
		AccountID    string   `json:"accountId"`
		APIID        string   `json:"apiId"`
		DomainName   string   `json:"domainName"`
		DomainPrefix string   `json:"domainPrefix"`
		HTTP         httpInfo `json:"http"`
		RequestID    string   `json:"requestId"`
		RouteKey     string   `json:"routeKey"`
		Stage        string   `json:"stage"`
		Time         string   `json:"time"`
		TimeEpoch    int64    `json:"timeEpoch"`
	}
	ev := struct {
		Version         string            `json:"version"`
		RouteKey        string            `json:"routeKey"`
		RawPath         string            `json:"rawPath"`
		RawQueryString  string            `json:"rawQueryString"`
		Headers         map[string]string `json:"headers"`
		RequestContext  requestContext    `json:"requestContext"`
		PathParameters  map[string]string `json:"pathParameters"`
		IsBase64Encoded bool              `json:"isBase64Encoded"`
		Body            string            `json:"body"`
	}{
		Version: "2.0", RouteKey: "POST /webhooks/{proxy+}", RawPath: "/webhooks/demo/email", Headers: headers,
		RequestContext: requestContext{
			AccountID: "123456789012", APIID: "abc123", DomainName: "api.parley.example", DomainPrefix: "api",
			HTTP:      httpInfo{"POST", "/webhooks/demo/email", "HTTP/1.1", "203.0.113.40", "Amazon Simple Notification Service Agent"},
			RequestID: s.requestID, RouteKey: "POST /webhooks/{proxy+}", Stage: "$default",
			Time: received.Format("02/Jan/2006:15:04:05 -0700"), TimeEpoch: received.UnixMilli(),
		},
		PathParameters: map[string]string{"proxy": "demo/email"},
		Body:           body.String(),
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(ev); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// jsonText encodes a JSON string without HTML escaping, as SNS and SES do.
func jsonText(t *testing.T, v any) string {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// sesMessage is the receipt notification SES publishes after its S3 action
// stored s.eml, headers and all.
func sesMessage(t *testing.T, s sample) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(fixtures, s.eml))
	if err != nil {
		t.Fatal(err)
	}
	type header struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	}
	var headers []header
	head, _, _ := strings.Cut(string(raw), "\r\n\r\n")
	for _, line := range strings.Split(head, "\r\n") {
		if strings.HasPrefix(line, " ") && len(headers) > 0 {
			headers[len(headers)-1].Value += line
			continue
		}
		name, value, _ := strings.Cut(line, ":")
		headers = append(headers, header{name, strings.TrimSpace(value)})
	}
	get := func(name string) string {
		for _, h := range headers {
			if h.Name == name {
				return h.Value
			}
		}
		return ""
	}
	type verdict struct {
		Status string `json:"status"`
	}
	type commonHeaders struct {
		ReturnPath string   `json:"returnPath"`
		From       []string `json:"from"`
		Date       string   `json:"date"`
		To         []string `json:"to"`
		MessageID  string   `json:"messageId"`
		Subject    string   `json:"subject"`
	}
	type mail struct {
		Timestamp        string        `json:"timestamp"`
		Source           string        `json:"source"`
		MessageID        string        `json:"messageId"`
		Destination      []string      `json:"destination"`
		HeadersTruncated bool          `json:"headersTruncated"`
		Headers          []header      `json:"headers"`
		CommonHeaders    commonHeaders `json:"commonHeaders"`
	}
	type action struct {
		Type            string `json:"type"`
		TopicArn        string `json:"topicArn"`
		BucketName      string `json:"bucketName"`
		ObjectKeyPrefix string `json:"objectKeyPrefix"`
		ObjectKey       string `json:"objectKey"`
	}
	type receipt struct {
		Timestamp            string   `json:"timestamp"`
		ProcessingTimeMillis int      `json:"processingTimeMillis"`
		Recipients           []string `json:"recipients"`
		SpamVerdict          verdict  `json:"spamVerdict"`
		VirusVerdict         verdict  `json:"virusVerdict"`
		SPFVerdict           verdict  `json:"spfVerdict"`
		DKIMVerdict          verdict  `json:"dkimVerdict"`
		DMARCVerdict         verdict  `json:"dmarcVerdict"`
		Action               action   `json:"action"`
	}
	received := s.at.Add(-time.Second).Truncate(time.Second)
	n := struct {
		NotificationType string  `json:"notificationType"`
		Mail             mail    `json:"mail"`
		Receipt          receipt `json:"receipt"`
	}{
		NotificationType: "Received",
		Mail: mail{
			Timestamp: received.Format("2006-01-02T15:04:05.000Z"), Source: strings.Trim(get("Return-Path"), "<>"),
			MessageID: s.sesID, Destination: []string{"support@inbox.parley.example"}, Headers: headers,
			CommonHeaders: commonHeaders{
				ReturnPath: strings.Trim(get("Return-Path"), "<>"), From: []string{get("From")}, Date: get("Date"),
				To: []string{get("To")}, MessageID: get("Message-ID"), Subject: get("Subject"),
			},
		},
		Receipt: receipt{
			Timestamp: received.Format("2006-01-02T15:04:05.000Z"), ProcessingTimeMillis: 812,
			Recipients:  []string{"support@inbox.parley.example"},
			SpamVerdict: verdict{"PASS"}, VirusVerdict: verdict{"PASS"}, SPFVerdict: verdict{"PASS"}, DKIMVerdict: verdict{"PASS"}, DMARCVerdict: verdict{"PASS"},
			Action: action{Type: "S3", TopicArn: topicARN, BucketName: bucket, ObjectKeyPrefix: "inbound/", ObjectKey: "inbound/" + s.sesID},
		},
	}
	return jsonText(t, n)
}
