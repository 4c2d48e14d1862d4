package inbox

import (
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"
)

// Attachments' bytes live in one private bucket, under a prefix per
// workspace: media/<ws>/up/<id>/<name> for agents' uploads and
// media/<ws>/in/<message>/<n> for inbound files copied from providers.
// The table holds only the key, the verified size and the type.

// MediaStore keeps attachments' bytes. The api presigns uploads and
// downloads and checks what was uploaded; the sender links files for
// providers to fetch.
type MediaStore interface {
	// PresignPost returns a form that uploads one file of exactly
	// contentType and at most maxSize bytes to key, until ttl passes.
	PresignPost(ctx context.Context, key, contentType string, maxSize int64, ttl time.Duration) (*UploadForm, error)
	// Stat reads what is stored at key: its size, type and first bytes.
	// KindNotFound when there is nothing.
	Stat(ctx context.Context, key string) (*StoredObject, error)
	// PresignGet returns a URL that downloads key as filename until ttl.
	PresignGet(ctx context.Context, key, filename string, ttl time.Duration) (string, error)
}

// MediaReader reads a stored file whole: an email carries its files.
type MediaReader interface {
	// Get returns key's bytes; KindInvalid when there are more than max.
	Get(ctx context.Context, key string, max int64) ([]byte, error)
}

// UploadForm is a presigned POST: the browser posts Fields, then the file
// as the form's last field "file", to URL as multipart/form-data.
type UploadForm struct {
	URL    string            `json:"url"`
	Fields map[string]string `json:"fields"`
}

// StoredObject is what the store says about a file.
type StoredObject struct {
	Size        int64
	ContentType string
	// Head is the file's first bytes (at most 512), enough to sniff its
	// real type.
	Head []byte
}

// Upload is a place to upload one file, and the attachment that then
// refers to it.
type Upload struct {
	Form       UploadForm `json:"form"`
	ExpiresAt  time.Time  `json:"expiresAt"`
	Attachment Attachment `json:"attachment"`
}

// UploadInput describes the file an agent is about to upload.
type UploadInput struct {
	Name        string `json:"name"`
	ContentType string `json:"contentType"`
	Size        int64  `json:"size"`
	// Channel, when given, checks the file against that channel's limits
	// now rather than at send.
	Channel Channel `json:"channel"`
}

// AttachmentLink is a short-lived link to one attachment's bytes.
type AttachmentLink struct {
	URL         string    `json:"url"`
	ExpiresAt   time.Time `json:"expiresAt"`
	Name        string    `json:"name,omitempty"`
	ContentType string    `json:"contentType"`
	Size        int64     `json:"size,omitempty"`
}

const (
	// UploadTTL is how long an upload form works.
	UploadTTL = 15 * time.Minute
	// AttachmentLinkTTL is how long a link an agent asked for works.
	AttachmentLinkTTL = 15 * time.Minute
	// ProviderLinkTTL is how long a provider has to fetch a file Parley
	// sends (Twilio and Meta fetch at once; the margin covers retries).
	ProviderLinkTTL = time.Hour
	// maxMediaKey bounds a key a client passes back.
	maxMediaKey = 512
	maxFileName = 100
)

// MediaPrefix is the start of every key of the workspace's files.
func MediaPrefix(workspaceID string) string { return "media/" + workspaceID + "/" }

// InboundMediaKey is where an inbound message's n-th file is copied:
// named by the message, so a repeated copy rewrites the same object.
func InboundMediaKey(workspaceID, messageID string, n int) string {
	return fmt.Sprintf("%sin/%s/%d", MediaPrefix(workspaceID), messageID, n)
}

func uploadKey(workspaceID, id, name string) string {
	return MediaPrefix(workspaceID) + "up/" + id + "/" + safeFileName(name)
}

// safeFileName keeps a name readable in a key: letters, digits, dot,
// dash and underscore; anything else becomes "_".
func safeFileName(name string) string {
	var b strings.Builder
	for _, r := range name {
		if b.Len() >= maxFileName {
			break
		}
		if r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	s := strings.Trim(b.String(), ".")
	if s == "" {
		return "file"
	}
	return s
}

// uploadTypes are the files agents may upload: what at least one channel
// carries. Markup (HTML, SVG) and executables are refused: they are what
// a hostile file would be.
var uploadTypes = []string{
	"image/jpeg", "image/png", "image/gif", "image/webp",
	"video/mp4", "video/3gpp", "video/quicktime",
	"audio/mpeg", "audio/mp4", "audio/ogg", "audio/aac", "audio/amr", "audio/wav",
	"application/pdf", "text/plain", "text/csv", "application/zip",
	"application/msword", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	"application/vnd.ms-excel", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	"application/vnd.ms-powerpoint", "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}

const (
	mb = 1 << 20
	// maxEmailMediaBytes is an email's files together: base64 makes them a
	// third larger, and many mail servers refuse messages over 20-25 MB.
	maxEmailMediaBytes = 15 * mb
	// maxUploadBytes is the largest file any channel carries (a WhatsApp
	// document).
	maxUploadBytes = 100 * mb
)

// fileLimit is the largest single file ch carries of contentType, from
// the providers' documentation: Twilio MMS 5 MB a message; WhatsApp Cloud
// API image 5 MB, audio and video 16 MB, sticker 500 KB, document 100 MB;
// Messenger 25 MB; Instagram image 8 MB, video and audio 25 MB.
func fileLimit(ch Channel, contentType string) int64 {
	family, _, _ := strings.Cut(contentType, "/")
	switch ch {
	case ChannelMMS:
		return maxMMSBytes
	case ChannelWhatsApp:
		switch {
		case contentType == "image/webp":
			return 500 << 10
		case family == "image":
			return 5 * mb
		case family == "audio" || family == "video":
			return 16 * mb
		}
		return 100 * mb
	case ChannelMessenger:
		return 25 * mb
	case ChannelInstagram:
		if family == "image" {
			return 8 * mb
		}
		return 25 * mb
	case ChannelWebchat:
		return 10 * mb
	case ChannelEmail:
		return maxEmailMediaBytes
	}
	return 0
}

// totalLimit bounds all of a message's files together, where the channel
// sends them as one (0: no limit beyond each file's).
func totalLimit(ch Channel) int64 {
	switch ch {
	case ChannelMMS:
		return maxMMSBytes
	case ChannelEmail:
		return maxEmailMediaBytes
	}
	return 0
}

func uploadable(contentType string) bool {
	for _, t := range uploadTypes {
		if t == contentType {
			return true
		}
	}
	return false
}

// CreateUpload checks a file an agent is about to upload and returns the
// presigned form that stores it; the form binds the type and the size.
func (s *Desk) CreateUpload(ctx context.Context, actor Actor, in UploadInput) (*Upload, error) {
	if s.media == nil {
		return nil, Errorf(KindUnavailable, "uploads are not configured")
	}
	ct, _, err := mime.ParseMediaType(in.ContentType)
	if err != nil || ct != in.ContentType {
		return nil, Invalid("contentType", "contentType must be a bare media type such as image/jpeg")
	}
	if !uploadable(ct) {
		return nil, Invalid("contentType", "%s files cannot be uploaded; allowed: %s", ct, strings.Join(uploadTypes, ", "))
	}
	if !utf8.ValidString(in.Name) || utf8.RuneCountInString(in.Name) > 255 {
		return nil, Invalid("name", "name must be UTF-8 of at most 255 characters")
	}
	limit := int64(maxUploadBytes)
	if in.Channel != "" {
		ch, err := parseChannel("channel", string(in.Channel))
		if err != nil {
			return nil, err
		}
		if !mediaAllowed(ch, ct) {
			return nil, Invalid("contentType", "%s cannot carry %s files", ch, ct)
		}
		limit = fileLimit(ch, ct)
	}
	if in.Size <= 0 || in.Size > limit {
		return nil, Invalid("size", "size must be from 1 byte to %s", formatBytes(limit))
	}
	now := s.now()
	att := Attachment{Key: uploadKey(actor.WorkspaceID, NewID(now), in.Name), ContentType: ct, Name: in.Name, Size: in.Size}
	form, err := s.media.PresignPost(ctx, att.Key, ct, in.Size, UploadTTL)
	if err != nil {
		return nil, err
	}
	return &Upload{Form: *form, ExpiresAt: now.Add(UploadTTL), Attachment: att}, nil
}

// AttachmentLink returns a short-lived link to a message's n-th file,
// after the same check as reading the thread.
func (s *Desk) AttachmentLink(ctx context.Context, actor Actor, conversationID, messageID string, n int) (*AttachmentLink, error) {
	if _, err := s.getConversation(ctx, actor, conversationID); err != nil {
		return nil, err
	}
	m, err := s.store.GetMessage(ctx, actor.WorkspaceID, conversationID, messageID)
	if err != nil {
		return nil, err
	}
	if m.Internal && m.Kind != KindComment {
		return nil, Errorf(KindNotFound, "message not found")
	}
	if n < 0 || n >= len(m.Attachments) {
		return nil, Errorf(KindNotFound, "the message has no attachment %d", n)
	}
	a := m.Attachments[n]
	link := &AttachmentLink{Name: a.Name, ContentType: a.ContentType, Size: a.Size}
	switch {
	case a.Key != "":
		if s.media == nil {
			return nil, Errorf(KindUnavailable, "attachments are not configured")
		}
		now := s.now()
		if link.URL, err = s.media.PresignGet(ctx, a.Key, fileNameOf(a, n), AttachmentLinkTTL); err != nil {
			return nil, err
		}
		link.ExpiresAt = now.Add(AttachmentLinkTTL)
		return link, nil
	case m.Direction == DirectionOut && a.URL != "":
		// An external link the agent sent: public already.
		link.URL = a.URL
		return link, nil
	}
	return nil, Errorf(KindConflict, "the file is still being copied from the provider; try again in a few seconds")
}

// checkMediaKey refuses a key that is not one of the workspace's files.
func checkMediaKey(workspaceID, key string) error {
	if len(key) > maxMediaKey || !utf8.ValidString(key) || !strings.HasPrefix(key, MediaPrefix(workspaceID)) ||
		strings.Contains(key, "..") || strings.ContainsAny(key, "\\\x00") {
		return Invalid("attachments", "attachment key %q is not one of this workspace's files", truncateForError(key))
	}
	return nil
}

// storedAttachments checks the uploaded files a snippet or a sequence step
// keeps: they must be the workspace's and, where the store is at hand,
// exist and be what they claim; their real size and type replace the
// client's. The channel's limits are checked again at each send.
func (s *core) storedAttachments(ctx context.Context, workspaceID string, atts []Attachment) ([]Attachment, error) {
	out := append([]Attachment{}, atts...) // never nil: the API shows [] for none
	for i := range out {
		a := &out[i]
		if a.Key == "" {
			continue
		}
		if err := checkMediaKey(workspaceID, a.Key); err != nil {
			return nil, err
		}
		if a.Name == "" && strings.Contains(a.Key, "/up/") {
			a.Name = a.Key[strings.LastIndexByte(a.Key, '/')+1:] // the upload's name, made safe
		}
		if s.media == nil {
			continue
		}
		obj, err := s.media.Stat(ctx, a.Key)
		if IsKind(err, KindNotFound) {
			return nil, Invalid("attachments", "no file was uploaded to %q, or its upload expired: upload it first (POST /uploads)", truncateForError(a.Key))
		}
		if err != nil {
			return nil, err
		}
		if why := sniffMismatch(obj.ContentType, obj.Head); why != "" {
			return nil, Invalid("attachments", "%s: %s", attachmentName(*a), why)
		}
		a.Size, a.ContentType = obj.Size, obj.ContentType
	}
	return out, nil
}

// verifyAttachments checks a message's files for channel ch. An uploaded
// file's size and type are the store's, not the client's: its first bytes
// must agree with the type it was uploaded as. Without a store (a function
// that only re-sends stored messages) the stored values, checked when the
// message or step was saved, are used.
func (s *core) verifyAttachments(ctx context.Context, workspaceID string, ch Channel, in []Attachment) ([]Attachment, []string, error) {
	atts, err := validateAttachments(in)
	if err == nil {
		atts, err = s.storedAttachments(ctx, workspaceID, atts)
	}
	if err != nil {
		return nil, nil, err
	}
	var warnings []string
	var total int64
	for i := range atts {
		a := &atts[i]
		if a.Key != "" && ch == ChannelWebchat {
			// Visitors have no way yet to read a private file.
			return nil, nil, Invalid("attachments", "web chat cannot carry uploaded files yet; send a link (url) instead")
		}
		if !mediaAllowed(ch, a.ContentType) {
			return nil, nil, Invalid("attachments", "%s cannot carry %s attachments", ch, a.ContentType)
		}
		if limit := fileLimit(ch, a.ContentType); a.Size > limit {
			return nil, nil, Invalid("attachments", "%s is %s; %s takes %s files of at most %s", attachmentName(*a), formatBytes(a.Size), ch, a.ContentType, formatBytes(limit))
		}
		total += a.Size
		if ch == ChannelMMS && a.Size > mmsWarningBytes {
			warnings = append(warnings, fmt.Sprintf("%s is over 1.5 MB; some carriers filter large MMS", attachmentName(*a)))
		}
	}
	if limit := totalLimit(ch); limit > 0 && total > limit {
		return nil, nil, Invalid("attachments", "%s media total %s; the limit is %s", ch, formatBytes(total), formatBytes(limit))
	}
	return atts, warnings, nil
}

// sniffMismatch says why a file's first bytes contradict its stored type,
// or "" when they do not. Types the sniffer cannot tell apart pass; markup
// never does, and images and PDFs must be what they claim.
func sniffMismatch(contentType string, head []byte) string {
	if len(head) == 0 {
		return "the file is empty"
	}
	got, _, _ := strings.Cut(http.DetectContentType(head), ";")
	switch {
	case got == "text/html" || got == "text/xml":
		return "the file is markup, not " + contentType
	case strings.HasPrefix(contentType, "image/") && got != contentType,
		contentType == "application/pdf" && got != contentType:
		return fmt.Sprintf("the file is not %s (its bytes look like %s)", contentType, got)
	}
	return ""
}

func formatBytes(n int64) string {
	switch {
	case n >= mb:
		return fmt.Sprintf("%.1f MB", float64(n)/mb)
	case n >= 1<<10:
		return fmt.Sprintf("%d KB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

func truncateForError(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// MediaSource opens inbound files where the provider holds them: one per
// channel (Twilio for MMS, the Graph API for WhatsApp, Messenger and
// Instagram, the stored raw MIME for email).
type MediaSource interface {
	// Open returns the n-th attachment's bytes and their content type.
	// KindInvalid when the attachment's address is not the provider's (it
	// is never fetched); KindNotFound when the provider no longer has it.
	Open(ctx context.Context, m *Message, n int) (io.ReadCloser, string, error)
}

// MediaForgetter is a MediaSource that can delete the provider's copy once
// Parley holds the file (Twilio keeps MMS media until deleted).
type MediaForgetter interface {
	Forget(ctx context.Context, m *Message, n int) error
}
