package email_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/parley-inbox/parley/shared/adapter/email"
	"github.com/parley-inbox/parley/shared/inbox"
)

// sampleBodies returns the SNS bodies of the committed samples.
func sampleBodies(f *testing.F) []string {
	f.Helper()
	var out []string
	for _, s := range samples {
		raw, err := os.ReadFile(filepath.Join(eventsDir, s.file))
		if err != nil {
			f.Fatal(err)
		}
		var ev events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(raw, &ev); err != nil {
			f.Fatal(err)
		}
		out = append(out, ev.Body)
	}
	return out
}

func FuzzParseSNS(f *testing.F) {
	for _, b := range sampleBodies(f) {
		f.Add([]byte(b))
	}
	f.Add([]byte(`{"Type":"Notification"}`))
	v := testVerifier(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := email.ParseSNS(body)
		if err != nil {
			wantKind(t, err, inbox.KindInvalid)
			return
		}
		if m.MessageID == "" || m.Signature == "" || m.SigningCertURL == "" {
			t.Fatalf("accepted a message without its signing fields: %+v", m)
		}
		err = v.Verify(context.Background(), m)
		if err == nil && m.TopicArn != topicARN {
			t.Fatalf("verified a message for topic %q", m.TopicArn)
		}
		if err != nil && !inbox.IsKind(err, inbox.KindForbidden) {
			t.Fatalf("Verify error %v is not forbidden", err)
		}
	})
}

func FuzzParseSESNotification(f *testing.F) {
	for _, b := range sampleBodies(f) {
		var m email.SNSMessage
		if err := json.Unmarshal([]byte(b), &m); err != nil {
			f.Fatal(err)
		}
		f.Add(m.Message)
	}
	f.Add(snsAction("BASE64", base64.StdEncoding.EncodeToString([]byte(rawMail))))
	f.Add(snsAction("UTF8", rawMail))
	f.Fuzz(func(t *testing.T, message string) {
		r, err := email.ParseSESNotification(message)
		if err != nil {
			wantKind(t, err, inbox.KindInvalid)
			return
		}
		if r.MessageID == "" || (r.Content == nil) == (r.Bucket == "" || r.Key == "") {
			t.Fatalf("accepted a receipt with no message, or two: %+v", r)
		}
	})
}

func FuzzParseMIME(f *testing.F) {
	for _, name := range []string{"inbound-reply.eml", "inbound-new-sender.eml"} {
		raw, err := os.ReadFile(filepath.Join(fixtures, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Add(msg("hi", "From: Jo <Jo@Example.com>", "Message-ID: <a@b>"))
	// Past the parsing limits (the pre-scan's guard) and just inside them.
	f.Add(nestedBomb(40))
	f.Add(nestedBomb(15))
	f.Add(unterminatedBomb(30))
	f.Add(manyParts(600))
	f.Add(bigHTML(300 << 10))
	f.Fuzz(func(t *testing.T, raw []byte) {
		in, err := email.ParseMIMEWith("demo", raw, email.MIMEOptions{FallbackID: "ses-1"})
		if err != nil {
			wantKind(t, err, inbox.KindInvalid)
			return
		}
		if norm, err := inbox.NormalizeEmail("from", in.From.Email); err != nil || norm != in.From.Email {
			t.Fatalf("sender %q is not a normalised address (%v)", in.From.Email, err)
		}
		if !utf8.ValidString(in.Body) || utf8.RuneCountInString(in.Body) > 10000 {
			t.Fatalf("body is not valid text of at most 10,000 runes: %d runes", utf8.RuneCountInString(in.Body))
		}
		if in.ProviderID == "" || len(in.ProviderID) > 512 || in.Channel != inbox.ChannelEmail || in.Email == nil || len(in.Attachments) > 10 {
			t.Fatalf("incomplete inbound: %+v", in)
		}
		if in.Email.Partial && (len(in.Attachments) != 0 || !strings.HasSuffix(in.Body, "kept as received.]")) {
			t.Fatalf("partial inbound without its note, or with attachments: %+v", in)
		}
	})
}
