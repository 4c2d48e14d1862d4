package inbox

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Outbound is one message a provider adapter is asked to deliver.
type Outbound struct {
	WorkspaceID string
	Message     *Message
	Contact     *Contact
	// To is the contact's address on the channel: E.164 phone, email
	// address, or the handle id (PSID, IGSID, visitor id).
	To string
	// Ref identifies the message in status callbacks ("<conversation>.<message>");
	// adapters pass it where the provider echoes it back.
	Ref string
	// HumanAgent marks a Messenger/Instagram reply sent between 24 hours
	// and 7 days after the contact's last message.
	HumanAgent bool
	// Thread is the recent conversation, oldest first, for an email that
	// follows a web chat (it carries the chat transcript) and for threading.
	Thread []*Message
	// InReplyTo and References thread an email reply.
	InReplyTo  string
	References []string
	// Subject overrides an email's subject, for mail outside any thread
	// (a verification code).
	Subject string
	// Files are an email's uploaded attachments, read from the media
	// store: an email carries its files, where other channels get links.
	Files []File
}

// File is an attachment's bytes.
type File struct {
	Name        string
	ContentType string
	Data        []byte
}

// ChannelSender delivers messages on one channel.
type ChannelSender interface {
	// Send hands the message to the provider and returns the provider's id.
	Send(ctx context.Context, out Outbound) (providerID string, err error)
}

// SendError is a provider's refusal. Retryable is true only when the
// provider certainly did not accept the message (throttled, unavailable
// before accepting), so a retry cannot make it arrive twice.
type SendError struct {
	Code      string
	Reason    string
	Retryable bool
}

func (e *SendError) Error() string { return fmt.Sprintf("send failed (%s): %s", e.Code, e.Reason) }

// DeliveryRef names the message a status callback is about: adapters put
// it where the provider echoes it (a callback URL, opaque callback data),
// so no lookup item is needed.
func DeliveryRef(m *Message) string { return m.ConversationID + "." + m.ID }

// ParseDeliveryRef reads a DeliveryRef.
func ParseDeliveryRef(ref string) (ProviderRef, bool) {
	conv, msg, ok := strings.Cut(ref, ".")
	if !ok || !ValidID(conv) || !ValidID(msg) {
		return ProviderRef{}, false
	}
	return ProviderRef{ConversationID: conv, MessageID: msg}, true
}

// Schedule is a one-time trigger to deliver a message at a time.
type Schedule struct {
	// Name is unique per message, so creating it twice is idempotent.
	Name        string
	WorkspaceID string
	Ref         ProviderRef
	At          time.Time
	// Timezone is the IANA zone the time was given in (EventBridge
	// Scheduler's ScheduleExpressionTimezone).
	Timezone string
}

// Scheduler fires Deliver at a message's time: EventBridge Scheduler in AWS,
// a DynamoDB-backed poller locally.
type Scheduler interface {
	// Put creates or moves a schedule.
	Put(ctx context.Context, s Schedule) error
	// Delete removes a schedule; a missing one is not an error.
	Delete(ctx context.Context, name string) error
}

// ScheduleName is the schedule of a message.
func ScheduleName(m *Message) string { return "msg-" + m.ID }

// ErrNoSender is returned for a channel with no adapter configured.
var ErrNoSender = errors.New("no sender configured for this channel")
