package inbox

import (
	"context"
	"time"
)

// EventType names a domain event. Parley publishes them on its event bus
// (EventBridge in AWS, an in-process bus locally); their JSON schemas are in
// events/schemas/.
type EventType string

const (
	EventContactCreated       EventType = "contact.created"
	EventContactOptedOut      EventType = "contact.opted_out"
	EventContactOptedIn       EventType = "contact.opted_in"
	EventContactTagged        EventType = "contact.tagged"
	EventConversationCreated  EventType = "conversation.created"
	EventConversationReopened EventType = "conversation.reopened"
	EventMessageReceived      EventType = "message.received"
	EventMessageStatusChanged EventType = "message.status_changed"
	// EventMessageUpdated is a stored message whose attachments changed:
	// an inbound file copied into Parley's media store.
	EventMessageUpdated EventType = "message.updated"
	// The live inbox's events: every new message (both ways, comments and
	// activities too), any change an agent sees in the inbox list, a
	// deleted thread, and a web chat visitor coming or going.
	EventMessageCreated      EventType = "message.created"
	EventConversationUpdated EventType = "conversation.updated"
	EventConversationDeleted EventType = "conversation.deleted"
	// EventConversationAssigned is an assignment rule giving a
	// conversation to an agent (Assignment says which rule, and how).
	EventConversationAssigned EventType = "conversation.assigned"
	EventVisitorPresence      EventType = "visitor.presence"
	// Typing and counts reach sockets only; they are never on the bus.
	EventTyping        EventType = "typing"
	EventCountsChanged EventType = "counts.changed"
	// EventRunStarted is a drip enrollment or automation run just written;
	// its execution starts from this event, so none is ever left without one.
	EventRunStarted EventType = "run.started"
	// External events, posted by a shop or another system (ExternalEvent).
	EventOrderPlaced        EventType = "order.placed"
	EventCartAbandoned      EventType = "cart.abandoned"
	EventContactAddedToList EventType = "contact.added_to_list"
	// EventContactSubscribed is a signup (a form) recorded as consent; the
	// consent's own contact.opted_in is what starts automations.
	EventContactSubscribed EventType = "contact.subscribed"
)

// SequenceEvents are the events HandleEvent acts on: triggers, replies,
// opt-outs, purchases. The stack's bus rule delivers exactly these.
var SequenceEvents = []EventType{
	EventContactTagged, EventContactOptedIn, EventContactOptedOut, EventConversationCreated,
	EventMessageReceived, EventOrderPlaced, EventCartAbandoned, EventContactAddedToList, EventRunStarted,
}

// Event is something that happened in a workspace. Fields that do not apply
// to a type are empty.
type Event struct {
	// ID is unique per event and stable across redeliveries of the same
	// change, so consumers can deduplicate.
	ID string `json:"id"`
	// Seq orders a workspace's events: a ULID, compared as a string. A
	// client passes the last one it saw as updatedSince to catch up.
	Seq            string        `json:"seq,omitempty"`
	Type           EventType     `json:"type"`
	WorkspaceID    string        `json:"workspaceId"`
	OccurredAt     time.Time     `json:"occurredAt"`
	ContactID      string        `json:"contactId,omitempty"`
	ConversationID string        `json:"conversationId,omitempty"`
	MessageID      string        `json:"messageId,omitempty"`
	Channel        Channel       `json:"channel,omitempty"`
	Kind           MessageKind   `json:"kind,omitempty"`
	Body           string        `json:"body,omitempty"`
	Status         MessageStatus `json:"status,omitempty"`
	Source         ConsentSource `json:"source,omitempty"`
	Tags           []string      `json:"tags,omitempty"`
	// List is the list an external system added the contact to.
	List string `json:"list,omitempty"`
	// Reference is an external event's order or cart id (a paid payment
	// request's id).
	Reference string `json:"reference,omitempty"`
	// Amount (minor units) and Currency are a paid payment request's.
	Amount   int64  `json:"amount,omitempty"`
	Currency string `json:"currency,omitempty"`
	// RunID, SequenceID and SequenceKind name a run (run.started).
	RunID        string       `json:"runId,omitempty"`
	SequenceID   string       `json:"sequenceId,omitempty"`
	SequenceKind SequenceKind `json:"sequenceKind,omitempty"`
	// Message and Conversation are the item as the API shows it, after
	// the change (message.*, conversation.*).
	Message      *Message      `json:"message,omitempty"`
	Conversation *Conversation `json:"conversation,omitempty"`
	// Assignment is the rule behind a conversation.assigned.
	Assignment *AutoAssignment `json:"assignment,omitempty"`
	// Truncated says Message's body was cut to keep the event small.
	Truncated bool `json:"truncated,omitempty"`
	// Changes names what a conversation.updated changed (ConversationChanges).
	Changes []string `json:"changes,omitempty"`
	// Online and OnlineUntil are a visitor.presence's state.
	Online      *bool      `json:"online,omitempty"`
	OnlineUntil *time.Time `json:"onlineUntil,omitempty"`
	// From is who is typing: "visitor" or "agent".
	From   string `json:"from,omitempty"`
	UserID string `json:"userId,omitempty"`
	// SubscriptionID names the webhook subscription a webhook.disabled is
	// about (Body says why).
	SubscriptionID string              `json:"subscriptionId,omitempty"`
	Counts         *ConversationCounts `json:"counts,omitempty"`
}

// EventPublisher delivers domain events to whoever listens.
type EventPublisher interface {
	Publish(ctx context.Context, events []Event) error
}
