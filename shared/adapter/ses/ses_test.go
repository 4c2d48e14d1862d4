package ses_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/jhillyerd/enmime"

	"github.com/parley-inbox/parley/shared/adapter/ses"
	"github.com/parley-inbox/parley/shared/config/providers"
	"github.com/parley-inbox/parley/shared/inbox"
)

// sesRequest is the SendEmail JSON body, as SES reads it.
type sesRequest struct {
	Content struct {
		Raw struct{ Data []byte } // base64 in JSON
	}
	ConfigurationSetName string
	Destination          struct{ ToAddresses []string }
	EmailTags            []struct{ Name, Value string }
}

// sesServer answers SendEmail with status and body, recording each request.
func sesServer(t *testing.T, status int, errType, body string) (*ses.Sender, *[]sesRequest) {
	t.Helper()
	var got []sesRequest
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v2/email/outbound-emails" {
			t.Errorf("request %s %s", r.Method, r.URL.Path)
		}
		if !strings.Contains(r.Header.Get("Authorization"), "Credential=AKIDTEST/") {
			t.Errorf("request not signed with the test key: %q", r.Header.Get("Authorization"))
		}
		raw, _ := io.ReadAll(r.Body)
		var req sesRequest
		if err := json.Unmarshal(raw, &req); err != nil {
			t.Errorf("body %s: %v", raw, err)
		}
		got = append(got, req)
		w.Header().Set("Content-Type", "application/json")
		if errType != "" {
			w.Header().Set("X-Amzn-ErrorType", errType)
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	client := sesv2.New(sesv2.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
	})
	s := &ses.Sender{
		Client: client,
		Mailboxes: func(ws string) (providers.Mailbox, error) {
			return providers.Mailbox{From: "Support <support@inbox.example.com>", ConfigurationSet: "parley-events"}, nil
		},
		Domain: "parley.example",
	}
	return s, &got
}

const (
	convID = "01J00000000000000000000CNV"
	msgID  = "01J0000000000000000000MSG9"
)

func at(min int) time.Time { return time.Date(2026, 3, 2, 14, min, 0, 0, time.UTC) }

// chatThread is seed 004's "Sending a chat thread": a visitor chatted,
// left, and the agent follows up by email.
func chatThread() inbox.Outbound {
	m := &inbox.Message{ID: msgID, ConversationID: convID, Channel: inbox.ChannelEmail, Kind: inbox.KindMessage, Direction: inbox.DirectionOut,
		Body:        "Here is the refund form you asked for.",
		Attachments: []inbox.Attachment{{URL: "https://files.parley.example/refund.pdf", ContentType: "application/pdf", Name: "refund.pdf"}}}
	chat := func(dir inbox.Direction, min int, body string) *inbox.Message {
		return &inbox.Message{Channel: inbox.ChannelWebchat, Kind: inbox.KindMessage, Direction: dir, Body: body, CreatedAt: at(min)}
	}
	return inbox.Outbound{
		WorkspaceID: "demo", Message: m, To: "jo@example.com", Ref: inbox.DeliveryRef(m),
		Contact: &inbox.Contact{Name: "Jo Customer", Timezone: "Europe/London"},
		Thread: []*inbox.Message{
			chat(inbox.DirectionIn, 1, "Hi, how do I get a refund?"),
			chat(inbox.DirectionOut, 2, "I can send you the form. What's your email?"),
			{Channel: inbox.ChannelWebchat, Kind: inbox.KindComment, Internal: true, Body: "Refund abuser?", CreatedAt: at(3)},
			chat(inbox.DirectionIn, 4, "jo@example.com, thanks"),
		},
	}
}

// parse decodes the raw MIME message a request carried.
func parse(t *testing.T, req sesRequest) *enmime.Envelope {
	t.Helper()
	env, err := enmime.ReadEnvelope(bytes.NewReader(req.Content.Raw.Data))
	if err != nil {
		t.Fatalf("raw message: %v\n%s", err, req.Content.Raw.Data)
	}
	return env
}

func TestSendChatThread(t *testing.T) {
	s, got := sesServer(t, 200, "", `{"MessageId": "0100018e-ses-id"}`)
	out := chatThread()
	id, err := s.Send(context.Background(), out)
	if err != nil || id != "0100018e-ses-id" {
		t.Fatalf("Send = %q, %v", id, err)
	}
	if len(*got) != 1 {
		t.Fatalf("%d requests, want 1", len(*got))
	}
	req := (*got)[0]
	if req.ConfigurationSetName != "parley-events" || len(req.Destination.ToAddresses) != 1 || req.Destination.ToAddresses[0] != "jo@example.com" {
		t.Errorf("request %+v", req)
	}
	if len(req.EmailTags) != 1 || req.EmailTags[0].Name != ses.RefTag || req.EmailTags[0].Value != convID+"_"+msgID {
		t.Errorf("EmailTags %+v", req.EmailTags)
	}
	if ref, ok := ses.ParseRefTag(req.EmailTags[0].Value); !ok || ref.ConversationID != convID || ref.MessageID != msgID {
		t.Errorf("ParseRefTag = %+v, %v", ref, ok)
	}

	env := parse(t, req)
	headers := map[string]string{
		"From":       `"Support" <support@inbox.example.com>`,
		"To":         `"Jo Customer" <jo@example.com>`,
		"Subject":    "Message from Support",
		"Message-ID": "<" + convID + "." + msgID + "@parley.example>",
	}
	for name, want := range headers {
		if got := env.GetHeader(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if env.GetHeader("In-Reply-To") != "" || env.GetHeader("References") != "" {
		t.Errorf("threading headers on a first email")
	}
	// London is on GMT in March; times show in the contact's zone.
	wantText := "Here is the refund form you asked for.\n\n" +
		"Attachments:\n- refund.pdf: https://files.parley.example/refund.pdf\n\n" +
		"— Your chat with us —\n" +
		"[2026-03-02 14:01 GMT] Visitor: Hi, how do I get a refund?\n" +
		"[2026-03-02 14:02 GMT] Agent: I can send you the form. What's your email?\n" +
		"[2026-03-02 14:04 GMT] Visitor: jo@example.com, thanks\n"
	if text := strings.ReplaceAll(env.Text, "\r\n", "\n"); text != wantText {
		t.Errorf("text\n%s\nwant\n%s", text, wantText)
	}
	if strings.Contains(string(req.Content.Raw.Data), "abuser") {
		t.Error("an internal note left Parley")
	}
}

func TestSendReplyThreads(t *testing.T) {
	s, got := sesServer(t, 200, "", `{"MessageId": "ses-2"}`)
	out := chatThread()
	out.Thread = []*inbox.Message{
		{Channel: inbox.ChannelEmail, Direction: inbox.DirectionIn, Body: "first",
			Email: &inbox.EmailDetails{Subject: "Broken zipper", MessageID: "a1@mail.example.com"}},
		{Channel: inbox.ChannelEmail, Direction: inbox.DirectionOut, Body: "our reply"},
		{Channel: inbox.ChannelEmail, Direction: inbox.DirectionIn, Body: "second",
			Email: &inbox.EmailDetails{Subject: "Re: Broken zipper", MessageID: "c3@mail.example.com",
				InReplyTo: "b2@parley.example", References: []string{"a1@mail.example.com", "b2@parley.example"}}},
	}
	if _, err := s.Send(context.Background(), out); err != nil {
		t.Fatal(err)
	}
	env := parse(t, (*got)[0])
	headers := map[string]string{
		"Subject":     "Re: Broken zipper",
		"In-Reply-To": "<c3@mail.example.com>",
		"References":  "<a1@mail.example.com> <b2@parley.example> <c3@mail.example.com>",
	}
	for name, want := range headers {
		if got := env.GetHeader(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if strings.Contains(env.Text, "Your chat with us") {
		t.Error("transcript on an email-only thread")
	}
}

func TestSendErrors(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		errType string
		want    inbox.SendError
	}{
		{"rejected", 400, "MessageRejected", inbox.SendError{Code: "MessageRejected", Reason: "boom"}},
		{"mail from unverified", 400, "MailFromDomainNotVerifiedException", inbox.SendError{Code: "MailFromDomainNotVerifiedException", Reason: "boom"}},
		{"suspended", 400, "AccountSuspendedException", inbox.SendError{Code: "AccountSuspendedException", Reason: "boom"}},
		{"throttled", 429, "TooManyRequestsException", inbox.SendError{Code: "TooManyRequestsException", Reason: "boom", Retryable: true}},
		{"unavailable", 503, "ServiceUnavailable", inbox.SendError{Code: "ServiceUnavailable", Reason: "boom", Retryable: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, got := sesServer(t, tt.status, tt.errType, `{"message": "boom"}`)
			_, err := s.Send(context.Background(), chatThread())
			var se *inbox.SendError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want a SendError", err)
			}
			if *se != tt.want {
				t.Errorf("got %+v, want %+v", *se, tt.want)
			}
			if len(*got) != 1 {
				t.Errorf("%d attempts; the SDK must not retry, Parley does", len(*got))
			}
		})
	}
}

// TestSendAttachesUploadedFiles: an uploaded file travels as a MIME part
// with its name and type, and is not listed as a link.
func TestSendAttachesUploadedFiles(t *testing.T) {
	s, got := sesServer(t, 200, "", `{"MessageId": "ses-3"}`)
	out := chatThread()
	pdf := []byte("%PDF-1.7\nrefund form\n")
	m := *out.Message
	m.Attachments = []inbox.Attachment{{Key: "media/demo/up/01J/refund.pdf", ContentType: "application/pdf", Name: "refund.pdf", Size: int64(len(pdf))}}
	out.Message = &m
	out.Files = []inbox.File{{Name: "refund.pdf", ContentType: "application/pdf", Data: pdf}}
	if _, err := s.Send(context.Background(), out); err != nil {
		t.Fatal(err)
	}
	env := parse(t, (*got)[0])
	if len(env.Attachments) != 1 || env.Attachments[0].FileName != "refund.pdf" || env.Attachments[0].ContentType != "application/pdf" || !bytes.Equal(env.Attachments[0].Content, pdf) {
		t.Errorf("attachments %+v", env.Attachments)
	}
	if strings.Contains(env.Text, "Attachments:") {
		t.Errorf("an attached file is listed as a link:\n%s", env.Text)
	}
}
