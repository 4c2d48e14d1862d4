package inbox

import (
	"strings"
	"time"
	"unicode/utf8"
)

// Direction is whether a message came from the contact or went to them.
type Direction string

const (
	DirectionIn  Direction = "in"
	DirectionOut Direction = "out"
)

// MessageKind separates what the contact sees from what only the team sees.
type MessageKind string

const (
	KindMessage  MessageKind = "message"
	KindComment  MessageKind = "comment"  // internal, never leaves Parley
	KindCall     MessageKind = "call"     // a call log entry
	KindActivity MessageKind = "activity" // a system note such as an opt-out
)

// MessageStatus is where a message is in its life.
type MessageStatus string

const (
	MessageDraft     MessageStatus = "draft"
	MessageQueued    MessageStatus = "queued"
	MessageScheduled MessageStatus = "scheduled"
	MessageSending   MessageStatus = "sending"
	MessageSent      MessageStatus = "sent"
	MessageDelivered MessageStatus = "delivered"
	MessageRead      MessageStatus = "read"
	MessageFailed    MessageStatus = "failed"
	MessageCanceled  MessageStatus = "canceled"
	// MessageReceived is the status of inbound messages, comments and activities.
	MessageReceived MessageStatus = "received"
)

// Message is one entry in a thread.
type Message struct {
	ID             string        `json:"id"`
	WorkspaceID    string        `json:"workspaceId"`
	ConversationID string        `json:"conversationId"`
	Direction      Direction     `json:"direction,omitempty"`
	Kind           MessageKind   `json:"kind"`
	Internal       bool          `json:"internal"`
	Channel        Channel       `json:"channel,omitempty"`
	Body           string        `json:"body"`
	Attachments    []Attachment  `json:"attachments"`
	Status         MessageStatus `json:"status"`
	ProviderID     string        `json:"providerId,omitempty"`
	AuthorID       string        `json:"authorId,omitempty"`
	// AuthorName is set on messages a machine client posted (authorId
	// "client:<id>"): its display name, which no user record holds.
	AuthorName string         `json:"authorName,omitempty"`
	ContactID  string         `json:"contactId,omitempty"`
	Call       *CallDetails   `json:"call,omitempty"`
	Error      *DeliveryError `json:"error,omitempty"`
	// Recipient is the address an outbound message went to (phone, email,
	// handle id): a contact may have several.
	Recipient string `json:"recipient,omitempty"`
	// Automated is true for messages an automation or a bulk send created;
	// consent, quiet hours and DND gate only these.
	Automated bool `json:"automated,omitempty"`
	// RunID names the drip or automation run that created the message.
	RunID string `json:"runId,omitempty"`
	// SentAt is when Parley handed the message to its provider (just
	// before the provider's own timestamp), which read watermarks compare.
	SentAt *time.Time `json:"sentAt,omitempty"`
	// SendAt is when a scheduled message goes out, given in Timezone.
	SendAt   *time.Time `json:"sendAt,omitempty"`
	Timezone string     `json:"timezone,omitempty"`
	Template *Template  `json:"template,omitempty"`
	// Segments is what an SMS is billed as.
	Segments int `json:"segments,omitempty"`
	// Warnings are things a sender should know, such as a large MMS.
	Warnings  []string      `json:"warnings,omitempty"`
	Email     *EmailDetails `json:"email,omitempty"`
	CreatedAt time.Time     `json:"createdAt"`
	UpdatedAt time.Time     `json:"updatedAt"`
}

// DeliveryError is why a provider could not deliver a message.
type DeliveryError struct {
	Code   string `json:"code"`
	Reason string `json:"reason"`
}

// Attachment is metadata about a file; the bytes live with the provider or
// in object storage, never in the table.
type Attachment struct {
	// URL is an external https link an agent sent, or the provider's
	// address of an inbound file until it is copied; "" otherwise.
	URL string `json:"url"`
	// Key is the file in Parley's media store (MediaStore): an upload, or
	// an inbound file once copied. Read it with AttachmentLink.
	Key         string `json:"key,omitempty"`
	ContentType string `json:"contentType"`
	Name        string `json:"name,omitempty"`
	Size        int64  `json:"size,omitempty"`
}

// OutboundInput is what an agent posts to send a message.
type OutboundInput struct {
	// Channel may be left out: Parley then picks it (DefaultChannel).
	Channel     Channel      `json:"channel"`
	Body        string       `json:"body"`
	Attachments []Attachment `json:"attachments"`
	// SendAt schedules the message; Timezone says which clock it is on
	// (default: the workspace's).
	SendAt   *time.Time `json:"sendAt"`
	Timezone string     `json:"timezone"`
	// Template sends an approved WhatsApp template (required outside the
	// 24-hour window).
	Template *Template `json:"template"`
	// Automated marks a message an integration or a bulk send creates
	// rather than an agent: consent of any kind, the contact's DND and the
	// workspace's quiet hours then apply.
	Automated bool `json:"automated"`
	// Render fills the body's merge tags ({{contact.first_name | "there"}})
	// before the checks. Without it a body is sent as written, braces and
	// all. A body with an unknown tag is refused (400, naming the tag).
	Render bool `json:"render"`

	// Set by renderOutbound once the tags' data is read; prepareOutbound
	// renders when it knows the channel.
	mergeTemplate *MergeTemplate
	mergeData     *MergeData
}

// Template is an approved message template and its parameters.
type Template struct {
	Name     string   `json:"name"`
	Language string   `json:"language"`
	Params   []string `json:"params"`
}

// CommentInput is an internal note.
type CommentInput struct {
	Body string `json:"body"`
}

const (
	maxBodyLen        = 10000
	maxAttachments    = 10
	maxAttachmentURL  = 2048
	maxContentTypeLen = 128
)

func validateBody(body string, required bool) (string, error) {
	if !utf8.ValidString(body) {
		return "", Invalid("body", "body must be UTF-8 text")
	}
	if required && strings.TrimSpace(body) == "" {
		return "", Invalid("body", "body is empty")
	}
	if utf8.RuneCountInString(body) > maxBodyLen {
		return "", Invalid("body", "body is longer than %d characters", maxBodyLen)
	}
	return body, nil
}

func validateAttachments(list []Attachment) ([]Attachment, error) {
	if len(list) > maxAttachments {
		return nil, Invalid("attachments", "at most %d attachments", maxAttachments)
	}
	out := make([]Attachment, 0, len(list))
	for _, a := range list {
		switch {
		case a.Key != "" && a.URL != "":
			return nil, Invalid("attachments", "an attachment has a key (an upload) or a url (an external link), not both")
		case a.Key != "":
			// checkMediaKey checks it against the workspace.
		case !strings.HasPrefix(a.URL, "https://") || len(a.URL) > maxAttachmentURL:
			return nil, Invalid("attachments", "attachment url must be an https URL of at most %d characters", maxAttachmentURL)
		}
		if a.ContentType == "" || len(a.ContentType) > maxContentTypeLen || !strings.Contains(a.ContentType, "/") {
			return nil, Invalid("attachments", "attachment contentType must be a media type such as image/jpeg")
		}
		if a.Size < 0 {
			return nil, Invalid("attachments", "attachment size cannot be negative")
		}
		if !utf8.ValidString(a.Name) || utf8.RuneCountInString(a.Name) > 255 {
			return nil, Invalid("attachments", "attachment name must be UTF-8 of at most 255 characters")
		}
		out = append(out, a)
	}
	return out, nil
}

// setAuthor records who posted the message: a user's id, or a machine
// client's "client:<id>" and its name.
func (m *Message) setAuthor(a Actor) {
	m.AuthorID, m.AuthorName = a.UserID, ""
	if a.IsMachine() {
		m.AuthorName = a.Name
	}
}
