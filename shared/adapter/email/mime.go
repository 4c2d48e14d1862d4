package email

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"math"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jhillyerd/enmime"

	"github.com/parley-inbox/parley/shared/inbox"
)

const (
	maxBody        = 10000 // inbox's body limit, in runes
	maxAttachments = 10    // inbox's attachment limit
	maxName        = 255
	maxSubject     = 998 // RFC 5322 line length
	maxReferences  = 50
	maxID          = 512 // bytes; inbox refuses longer provider ids
	truncatedNote  = "\n\n[Message shortened; the full email is kept as received.]"
)

// parser drops a part it cannot read rather than the whole email. HTML is
// converted here, within a bound (htmlText), not by enmime.
var parser = enmime.NewParser(enmime.SkipMalformedParts(true), enmime.DisableTextConversion(true))

// MIMEOptions are what the delivery knows that the message may not, or
// that the sender could not fake.
type MIMEOptions struct {
	// FallbackID is the provider id when the message has no Message-ID
	// (SES mail.messageId).
	FallbackID string
	// ReceivedAt, when set, is used as SentAt instead of the Date header.
	ReceivedAt time.Time
	// Recipient, when set, is used as To instead of the To header.
	Recipient string
}

// ParseMIME parses a raw RFC 5322 message into an inbound email for the
// workspace. See ParseMIMEWith.
func ParseMIME(workspaceID string, raw []byte) (inbox.Inbound, error) {
	return ParseMIMEWith(workspaceID, raw, MIMEOptions{})
}

// ParseMIMEWith parses raw, preferring what opts says over headers.
//
// The body is the text/plain part, or the HTML part converted to text when
// there is none (Email.HTML then says so), cut to 10,000 runes with a note.
// Attachments and inline files become metadata only, with URL empty: their
// bytes stay in the raw message in S3 and the store never holds them.
// ProviderID is the Message-ID, else opts.FallbackID, else a hash of raw.
// SentAt and To come from opts when set, else from Date and To.
// A message without a valid From address is KindInvalid.
//
// A message past the parsing limits (see tooBig) is not given to the MIME
// parser: it is filed from its headers with an excerpt of its raw text and
// a note, and Email.Partial says so.
func ParseMIMEWith(workspaceID string, raw []byte, opts MIMEOptions) (inbox.Inbound, error) {
	if why := tooBig(raw); why != "" {
		return partialMIME(workspaceID, raw, opts, why)
	}
	env, err := parser.ReadEnvelope(bytes.NewReader(raw))
	if err != nil {
		return inbox.Inbound{}, &inbox.Error{Kind: inbox.KindInvalid, Field: "message", Message: "email is not a MIME message", Err: err}
	}
	text, shortened := env.Text, false
	if text == "" && env.HTML != "" {
		text, shortened = htmlText(env.HTML)
	}
	return inbound(workspaceID, raw, env, opts, body(text, shortened), attachments(env))
}

// partialMIME files a message past the limits from its header block alone.
func partialMIME(workspaceID string, raw []byte, opts MIMEOptions, why string) (inbox.Inbound, error) {
	head, rest := headerBlock(raw)
	env, err := parser.ReadEnvelope(bytes.NewReader(head))
	if err != nil {
		return inbox.Inbound{}, &inbox.Error{Kind: inbox.KindInvalid, Field: "message", Message: "email is not a MIME message", Err: err}
	}
	note := "\n\n[Parley did not read this email in full (" + why + "); above is the start of its raw text. The full email is kept as received.]"
	text := strings.TrimSpace(excerpt(rest, maxBody-utf8.RuneCountInString(note)) + note)
	in, err := inbound(workspaceID, raw, env, opts, text, nil)
	if err == nil {
		in.Email.Partial, in.Email.HTML = true, false
	}
	return in, err
}

// inbound builds the message from what the parser read.
func inbound(workspaceID string, raw []byte, env *enmime.Envelope, opts MIMEOptions, text string, atts []inbox.Attachment) (inbox.Inbound, error) {
	from, err := env.AddressList("From")
	if err != nil || len(from) == 0 {
		return inbox.Inbound{}, inbox.Invalid("from", "email has no From address")
	}
	addr, err := inbox.NormalizeEmail("from", from[0].Address)
	if err != nil {
		return inbox.Inbound{}, err
	}

	messageID := firstID(env.GetHeader("Message-ID"))
	in := inbox.Inbound{
		WorkspaceID: workspaceID,
		Channel:     inbox.ChannelEmail,
		Kind:        inbox.KindMessage,
		ProviderID:  messageID,
		From:        inbox.Correspondent{Email: addr, Name: clean(from[0].Name, maxName)},
		To:          strings.ToLower(opts.Recipient),
		Body:        text,
		Attachments: atts,
		SentAt:      opts.ReceivedAt,
		Email: &inbox.EmailDetails{
			From:       addr,
			Subject:    clean(env.GetHeader("Subject"), maxSubject),
			MessageID:  messageID,
			InReplyTo:  firstID(env.GetHeader("In-Reply-To")),
			References: ids(env.GetHeader("References")),
			HTML:       fromHTML(env),
		},
	}
	if in.ProviderID == "" {
		in.ProviderID = opts.FallbackID
	}
	if in.ProviderID == "" {
		// Same bytes, same id: redelivery still deduplicates.
		sum := sha256.Sum256(raw)
		in.ProviderID = "sha256:" + hex.EncodeToString(sum[:])
	}
	if in.To == "" {
		if to, err := env.AddressList("To"); err == nil && len(to) > 0 {
			in.To = strings.ToLower(to[0].Address)
		}
	}
	if in.SentAt.IsZero() {
		if t, err := env.Date(); err == nil {
			in.SentAt = t.UTC()
		}
	}
	return in, nil
}

// fromHTML reports whether enmime made the text from the HTML part, which
// it flags with a warning on the root part.
func fromHTML(env *enmime.Envelope) bool {
	for _, e := range env.Errors {
		if e.Name == enmime.ErrorPlainTextFromHTML {
			return true
		}
	}
	return false
}

var msgID = regexp.MustCompile(`<([^<>\s]+)>`)

// ids returns the bracketed ids in a header, without brackets.
func ids(h string) []string {
	var out []string
	for _, m := range msgID.FindAllStringSubmatch(h, -1) {
		// An id too long to store cannot match a stored one either.
		if id := clean(m[1], math.MaxInt); len(id) <= maxID {
			out = append(out, id)
		}
	}
	if len(out) > maxReferences {
		// The newest references are the ones a reply threads on.
		out = out[len(out)-maxReferences:]
	}
	return out
}

// firstID returns the first bracketed id, or the bare value some mailers
// send without brackets.
func firstID(h string) string {
	if list := ids(h); len(list) > 0 {
		return list[0]
	}
	h = clean(h, math.MaxInt)
	if len(h) > maxID || strings.ContainsAny(h, " <>") {
		return ""
	}
	return h
}

// clean makes header text safe to store: valid UTF-8, no control
// characters, bounded.
func clean(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > max {
		s = string([]rune(s)[:max])
	}
	return s
}

// body makes text storable, at most maxBody runes; shortened says the
// text is already a cut, which the note then says too.
func body(text string, shortened bool) string {
	// Cut before copying: no more than 8 bytes per kept rune matter.
	if len(text) > 8*maxBody {
		text, shortened = text[:8*maxBody], true
	}
	text = strings.ToValidUTF8(text, "\uFFFD")
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.ReplaceAll(text, "\x00", "")
	text = strings.TrimSpace(text)
	n := utf8.RuneCountInString(text)
	if n <= maxBody && !shortened {
		return text
	}
	keep := min(n, maxBody-utf8.RuneCountInString(truncatedNote))
	return strings.TrimRightFunc(string([]rune(text)[:keep]), func(r rune) bool { return r == ' ' || r == '\n' }) + truncatedNote
}

// attachments lists attached and inline files, at most inbox's limit.
func attachments(env *enmime.Envelope) []inbox.Attachment {
	var out []inbox.Attachment
	for _, p := range fileParts(env) {
		out = append(out, inbox.Attachment{
			Name:        clean(fileName(p.FileName), maxName),
			ContentType: contentType(p.ContentType),
			Size:        int64(len(p.Content)),
		})
	}
	return out
}

// fileParts are the parts that become attachments, in their order: the
// media copy finds the n-th file the same way.
func fileParts(env *enmime.Envelope) []*enmime.Part {
	var out []*enmime.Part
	for _, p := range append(env.Attachments[:len(env.Attachments):len(env.Attachments)], env.Inlines...) {
		// Some mailers mark the text body itself inline; it is not a file.
		if p.FileName == "" && (p.ContentType == "text/plain" || p.ContentType == "text/html") {
			continue
		}
		if len(out) == maxAttachments {
			break
		}
		out = append(out, p)
	}
	return out
}

// fileName drops any directory a sender put in the name.
func fileName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	return name
}

// mediaType is a bare RFC 6838 type/subtype.
var mediaType = regexp.MustCompile(`^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$`)

// contentType keeps a bare type/subtype of at most 128 characters, as
// inbox requires, and calls anything else application/octet-stream.
func contentType(ct string) string {
	ct = strings.ToLower(strings.TrimSpace(ct))
	if len(ct) > 128 || !mediaType.MatchString(ct) {
		return "application/octet-stream"
	}
	return ct
}
