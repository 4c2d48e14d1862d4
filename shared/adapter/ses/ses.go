// Package ses sends email through Amazon SES v2 as raw MIME. It is apart
// from shared/adapter/email (receiving: SNS, receipts, MIME parsing), so a
// function that only receives mail links no SES client.
package ses

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/smithy-go"
	"github.com/jhillyerd/enmime"

	"github.com/parley-inbox/parley/shared/config/providers"
	"github.com/parley-inbox/parley/shared/inbox"
)

// SendEmailAPI is the SES v2 client's SendEmail.
type SendEmailAPI interface {
	SendEmail(ctx context.Context, in *sesv2.SendEmailInput, optFns ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error)
}

// Sender sends email through SES v2 as raw MIME, so Parley sets the
// Message-ID and threading headers itself.
type Sender struct {
	Client    SendEmailAPI
	Mailboxes func(workspaceID string) (providers.Mailbox, error)
	// Domain names Parley's Message-IDs; empty uses the From domain.
	Domain string
}

var _ inbox.ChannelSender = (*Sender)(nil)

// RefTag is the SES message tag carrying Outbound.Ref; SES events echo it
// in mail.tags. Tag values allow only [A-Za-z0-9_-], so the ref's "."
// travels as "_" (refs are two ULIDs, which never contain "_").
const RefTag = "parley-ref"

// ParseRefTag reads a RefTag value back into the message it names.
func ParseRefTag(value string) (inbox.ProviderRef, bool) {
	return inbox.ParseDeliveryRef(strings.Replace(value, "_", ".", 1))
}

// Send builds the email and hands it to SES, returning SES's MessageId.
func (s *Sender) Send(ctx context.Context, out inbox.Outbound) (string, error) {
	mb, err := s.Mailboxes(out.WorkspaceID)
	if err != nil {
		var se *inbox.SendError
		if errors.As(err, &se) {
			return "", err
		}
		return "", &inbox.SendError{Code: "not_configured", Reason: err.Error()}
	}
	from, err := mail.ParseAddress(mb.From)
	if err != nil {
		return "", &inbox.SendError{Code: "not_configured", Reason: fmt.Sprintf("mailbox From %q is not an address", mb.From)}
	}
	if out.To == "" {
		return "", &inbox.SendError{Code: "no_address", Reason: "the contact has no email address"}
	}
	raw, err := s.build(out, from)
	if err != nil {
		return "", &inbox.SendError{Code: "build_failed", Reason: err.Error()}
	}
	in := &sesv2.SendEmailInput{
		Content:     &types.EmailContent{Raw: &types.RawMessage{Data: raw}},
		Destination: &types.Destination{ToAddresses: []string{out.To}},
	}
	if out.Ref != "" { // mail outside a thread has no status to track
		in.EmailTags = []types.MessageTag{{Name: aws.String(RefTag), Value: aws.String(strings.ReplaceAll(out.Ref, ".", "_"))}}
	}
	if mb.ConfigurationSet != "" {
		in.ConfigurationSetName = aws.String(mb.ConfigurationSet)
	}
	// No SDK retries: it would retry timeouts and 5xx that SES may have
	// accepted. Parley retries only what sendError marks safe.
	res, err := s.Client.SendEmail(ctx, in, func(o *sesv2.Options) { o.RetryMaxAttempts = 1 })
	if err != nil {
		return "", sendError(err)
	}
	if aws.ToString(res.MessageId) == "" {
		return "", errors.New("ses: accepted the email without a MessageId")
	}
	return *res.MessageId, nil
}

// build renders the raw MIME message.
func (s *Sender) build(out inbox.Outbound, from *mail.Address) ([]byte, error) {
	domain := s.Domain
	if domain == "" {
		domain = from.Address[strings.LastIndexByte(from.Address, '@')+1:]
	}
	toName := ""
	if out.Contact != nil {
		toName = out.Contact.Name
	}
	b := enmime.Builder().
		From(from.Name, from.Address).
		To(toName, out.To).
		Subject(cmp.Or(out.Subject, subject(out.Thread, from))).
		Header("Message-ID", "<"+MessageIDLocalPart(out)+"@"+domain+">").
		Text([]byte(crlf(textBody(out))))

	inReplyTo, refs := out.InReplyTo, out.References
	if inReplyTo == "" {
		if m := latestInbound(out.Thread, func(m *inbox.Message) bool { return m.Email.MessageID != "" }); m != nil {
			inReplyTo = m.Email.MessageID
			refs = m.Email.References
			if !slices.Contains(refs, inReplyTo) {
				refs = append(slices.Clip(refs), inReplyTo)
			}
		}
	}
	if inReplyTo != "" {
		b = b.Header("In-Reply-To", "<"+inReplyTo+">")
	}
	if len(refs) > 0 {
		b = b.Header("References", "<"+strings.Join(refs, "> <")+">")
	}
	for _, f := range out.Files {
		b = b.AddAttachment(f.Data, f.ContentType, f.Name)
	}

	root, err := b.Build()
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := root.Encode(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// latestInbound is the newest inbound email in the thread that ok accepts.
func latestInbound(thread []*inbox.Message, ok func(*inbox.Message) bool) *inbox.Message {
	for _, m := range slices.Backward(thread) {
		if m.Channel == inbox.ChannelEmail && m.Direction == inbox.DirectionIn && m.Email != nil && ok(m) {
			return m
		}
	}
	return nil
}

// subject replies to the contact's latest email, or names the sender.
func subject(thread []*inbox.Message, from *mail.Address) string {
	m := latestInbound(thread, func(m *inbox.Message) bool { return m.Email.Subject != "" })
	if m == nil {
		name := from.Name
		if name == "" {
			name = from.Address
		}
		return "Message from " + name
	}
	if len(m.Email.Subject) >= 3 && strings.EqualFold(m.Email.Subject[:3], "re:") {
		return m.Email.Subject
	}
	return "Re: " + m.Email.Subject
}

// textBody is the message, its external attachments as links (uploaded
// files travel as MIME parts, out.Files), and the web chat it follows.
func textBody(out inbox.Outbound) string {
	var parts []string
	if out.Message.Body != "" {
		parts = append(parts, out.Message.Body)
	}
	if slices.ContainsFunc(out.Message.Attachments, func(a inbox.Attachment) bool { return a.URL != "" }) {
		lines := []string{"Attachments:"}
		for _, a := range out.Message.Attachments {
			if a.URL == "" {
				continue // an uploaded file: attached
			}
			name := a.Name
			if name == "" {
				name = a.ContentType
			}
			lines = append(lines, "- "+name+": "+a.URL)
		}
		parts = append(parts, strings.Join(lines, "\n"))
	}
	if t := transcript(out); t != "" {
		parts = append(parts, t)
	}
	return strings.Join(parts, "\n\n") + "\n"
}

// transcript lists the thread's web chat in the contact's timezone.
func transcript(out inbox.Outbound) string {
	loc := time.UTC
	if out.Contact != nil && out.Contact.Timezone != "" {
		if l, err := time.LoadLocation(out.Contact.Timezone); err == nil {
			loc = l
		}
	}
	var lines []string
	for _, m := range out.Thread {
		// Internal notes never leave Parley, whatever the caller passed.
		if m.Channel != inbox.ChannelWebchat || m.Kind != inbox.KindMessage || m.Internal {
			continue
		}
		who := "Agent"
		if m.Direction == inbox.DirectionIn {
			who = "Visitor"
		}
		line := fmt.Sprintf("[%s] %s: %s", m.CreatedAt.In(loc).Format("2006-01-02 15:04 MST"), who, m.Body)
		for _, a := range m.Attachments {
			line += " " + a.URL
		}
		lines = append(lines, line)
	}
	if len(lines) == 0 {
		return ""
	}
	return "— Your chat with us —\n" + strings.Join(lines, "\n")
}

// crlf gives the body the line endings SMTP requires.
func crlf(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n")
}

// sendError maps a failed SendEmail to a SendError when SES refused it,
// retryable when SES certainly did not accept the email.
func sendError(err error) error {
	var api smithy.APIError
	if errors.As(err, &api) {
		status := 0
		var re interface{ HTTPStatusCode() int }
		if errors.As(err, &re) {
			status = re.HTTPStatusCode()
		}
		return &inbox.SendError{Code: api.ErrorCode(), Reason: api.ErrorMessage(), Retryable: retryable(api.ErrorCode(), status)}
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return &inbox.SendError{Code: "unreachable", Reason: "could not connect to SES", Retryable: true}
	}
	// Sent but unanswered: SES may have accepted it, so no retry.
	return fmt.Errorf("ses: %w", err)
}

func retryable(code string, status int) bool {
	switch code {
	case "Throttling", "ThrottlingException", "TooManyRequestsException", "ServiceUnavailable", "ServiceUnavailableException":
		return true
	}
	// 504: a gateway gave up, but SES may have accepted the email behind it.
	return status == http.StatusTooManyRequests || (status >= 500 && status != http.StatusGatewayTimeout)
}

// MessageIDLocalPart names a sent email after its delivery ref
// ("<conversation>.<message>"), so a reply's In-Reply-To leads straight back
// to the thread without a lookup record.
func MessageIDLocalPart(out inbox.Outbound) string {
	if out.Ref != "" {
		return out.Ref
	}
	return out.Message.ID
}
