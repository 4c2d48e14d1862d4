package inbox

import "time"

// Inbound is one interaction a provider delivered, normalised. Provider
// adapters (twilio, meta, email, webchat) produce it; Service.Ingest files
// it in the right thread exactly once.
type Inbound struct {
	WorkspaceID string
	Channel     Channel
	Kind        MessageKind // KindMessage or KindCall
	// ProviderID is the provider's id for this message or call (Twilio
	// MessageSid/CallSid, WhatsApp wamid, Messenger mid, email Message-ID).
	// Deliveries with the same ProviderID are one message.
	ProviderID string
	From       Correspondent
	// To is the workspace's address it arrived at (number, page, mailbox).
	To          string
	Body        string
	Attachments []Attachment
	// SentAt is the provider's timestamp when it has one.
	SentAt time.Time
	Call   *CallDetails
	Email  *EmailDetails
	// ThreadHint names the conversation a reply belongs to when its headers
	// say so; it wins over the sender's own thread only when it is a thread
	// of the sender's own contact.
	ThreadHint string
}

// Correspondent identifies who wrote an inbound message, in the form its channel
// knows them by. Exactly one of Phone, Email or Handle is set.
type Correspondent struct {
	Phone  string // E.164: SMS, MMS, WhatsApp, calls
	Email  string // lower-cased address
	Handle string // page-scoped id (Messenger PSID, Instagram IGSID) or web chat visitor id
	Name   string // display name, when the provider gives one
}

// CallDetails describe a call log entry.
type CallDetails struct {
	Direction       Direction `json:"direction"`
	Status          string    `json:"status"` // completed, busy, no-answer, failed, canceled
	DurationSeconds int       `json:"durationSeconds"`
	RecordingURL    string    `json:"recordingUrl,omitempty"`
}

// EmailDetails carry what threads a reply.
type EmailDetails struct {
	// From is the sender's address as the From header gave it: the
	// contact may hold several, and a thread may hear from others.
	From       string   `json:"from,omitempty"`
	Subject    string   `json:"subject,omitempty"`
	MessageID  string   `json:"messageId,omitempty"`
	InReplyTo  string   `json:"inReplyTo,omitempty"`
	References []string `json:"references,omitempty"`
	HTML       bool     `json:"html,omitempty"` // the body came from an HTML-only part
	// Partial says the email was past Parley's parsing limits (size,
	// nesting, parts): Body is an excerpt of its raw text with a note.
	Partial bool `json:"partial,omitempty"`
	// Raw is the key of the email as received in the inbound mail bucket:
	// its attachments are copied from there.
	Raw string `json:"raw,omitempty"`
}

// DeliveryUpdate is a provider's report on a message it was asked to send.
type DeliveryUpdate struct {
	WorkspaceID string
	Channel     Channel
	ProviderID  string
	// Ref is the DeliveryRef the provider echoed back, when it did; it
	// names the message without a lookup.
	Ref         string
	Status      MessageStatus // sent, delivered, read or failed
	ErrorCode   string
	ErrorReason string
	At          time.Time
}

// ReadReceipt says a contact has read everything the workspace sent them on
// a channel up to Until (Messenger's and Instagram's read watermark), rather
// than naming the messages read.
type ReadReceipt struct {
	WorkspaceID string
	Channel     Channel
	Handle      string // the reader, as Inbound.From.Handle names them
	Until       time.Time
}
