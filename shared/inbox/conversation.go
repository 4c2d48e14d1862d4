package inbox

import (
	"strings"
	"time"
	"unicode/utf8"
)

// ConversationStatus is open until an agent completes it; a new inbound
// message reopens it.
type ConversationStatus string

const (
	StatusOpen     ConversationStatus = "open"
	StatusComplete ConversationStatus = "complete"
)

// Conversation is the one thread a contact has with the workspace, across
// every channel. Read state is shared by all agents.
type Conversation struct {
	ID          string             `json:"id"`
	WorkspaceID string             `json:"workspaceId"`
	ContactID   string             `json:"contactId"`
	ContactName string             `json:"contactName"`
	Status      ConversationStatus `json:"status"`
	Archived    bool               `json:"archived"`
	Unread      bool               `json:"unread"`
	AssigneeID  string             `json:"assigneeId,omitempty"`
	// Bot says the contact is with the workspace's bot (Contact.BotEnabled,
	// copied here): assignment rules leave the conversation to it.
	Bot                  bool       `json:"bot,omitempty"`
	Labels               []string   `json:"labels"`
	Channels             []Channel  `json:"channels"`
	Preview              string     `json:"preview"`
	LastMessageAt        *time.Time `json:"lastMessageAt,omitempty"`
	LastMessageDirection Direction  `json:"lastMessageDirection,omitempty"`
	// LastInboundAt is when the contact last wrote on each channel; it opens
	// the reply windows of WhatsApp, Messenger and Instagram.
	LastInboundAt map[Channel]time.Time `json:"lastInboundAt,omitempty"`
	// VisitorOnlineUntil is when a web chat visitor's last heartbeat lapses:
	// the agents' "online" dot, and chat rather than email as the channel.
	VisitorOnlineUntil *time.Time `json:"visitorOnlineUntil,omitempty"`
	// RowConsent is the contact's consent an inbox row shows next to the
	// name (contactConsent, consentMessageSent), copied from the contact.
	RowConsent
	// AutoAssignment says a rule assigned it (nil after a person reassigns).
	AutoAssignment *AutoAssignment `json:"autoAssignment,omitempty"`
	// WaitingSince is when a rule queued it for want of an agent with room.
	WaitingSince *time.Time `json:"waitingSince,omitempty"`
	// QueueKey is its place in the assignment queue while it waits.
	QueueKey string `json:"-"`
	// CountedFor is the agent whose open-assigned count includes it: the
	// store moves counts when Holder() stops being CountedFor.
	CountedFor string `json:"-"`
	// ActivityID orders the inbox: the id of the latest message, or of the
	// conversation itself before any message.
	ActivityID string    `json:"-"`
	CreatedAt  time.Time `json:"createdAt"`
	UpdatedAt  time.Time `json:"updatedAt"`
	Version    int64     `json:"version"`
	// Deleting marks a delete in progress, so a retried delete can finish it.
	Deleting bool `json:"-"`
	// RecentRequests holds the ids of the latest messages posted here with an
	// Idempotency-Key. Such ids carry the key's hash as their ULID entropy,
	// so a retried post finds its first result here, without a separate
	// idempotency record.
	RecentRequests []string `json:"-"`
}

const (
	// maxRecentRequests bounds the keyed ids (API Idempotency-Keys and
	// provider message ids) a conversation remembers for deduplication.
	maxRecentRequests = 20
	previewLen        = 140
)

// Preview shortens a message body for the inbox row.
func Preview(body string) string {
	body = strings.Join(strings.Fields(body), " ")
	if utf8.RuneCountInString(body) <= previewLen {
		return body
	}
	r := []rune(body)
	return string(r[:previewLen-1]) + "…"
}

// NewConversation starts an open, read thread for a contact.
func NewConversation(contact *Contact, now time.Time) *Conversation {
	id := NewID(now)
	return &Conversation{
		ID:          id,
		WorkspaceID: contact.WorkspaceID,
		ContactID:   contact.ID,
		ContactName: contact.Name,
		RowConsent:  contact.RowConsent(),
		Status:      StatusOpen,
		Labels:      []string{},
		Channels:    []Channel{},
		ActivityID:  id,
		CreatedAt:   now,
		UpdatedAt:   now,
	}
}

// RecordMessage updates the thread summary for a new message. Internal
// comments and activities do not move the conversation in the inbox.
func (c *Conversation) RecordMessage(m *Message) {
	c.UpdatedAt = m.CreatedAt
	if m.Kind != KindMessage && m.Kind != KindCall {
		return
	}
	if m.Channel != "" && !containsChannel(c.Channels, m.Channel) {
		c.Channels = append(c.Channels, m.Channel)
	}
	if c.LastMessageAt != nil && m.CreatedAt.Before(*c.LastMessageAt) {
		return // an older message arriving late: the summary stays
	}
	// The inbox sorts by when activity reached Parley; a message id may
	// carry the provider's (earlier) send time instead.
	if id := NewID(m.CreatedAt); id > c.ActivityID {
		c.ActivityID = id
	}
	at := m.CreatedAt
	c.LastMessageAt = &at
	c.LastMessageDirection = m.Direction
	c.Preview = Preview(m.Body)
	if m.Direction == DirectionOut {
		// Replying is reading.
		c.Unread = false
	}
}

// claimFor returns the message id already created for an idempotency key.
func (c *Conversation) claimFor(key keyHash) (string, bool) {
	for _, id := range c.RecentRequests {
		if key.made(id) {
			return id, true
		}
	}
	return "", false
}

func (c *Conversation) addClaim(messageID string) {
	c.RecentRequests = append(c.RecentRequests, messageID)
	if n := len(c.RecentRequests); n > maxRecentRequests {
		c.RecentRequests = c.RecentRequests[n-maxRecentRequests:]
	}
}

func containsChannel(list []Channel, ch Channel) bool {
	for _, x := range list {
		if x == ch {
			return true
		}
	}
	return false
}

// InboxFilter narrows the active inbox. Empty fields match everything.
type InboxFilter struct {
	Status   ConversationStatus
	Assignee string // a user id, or AssigneeNone
	Label    string
	Channel  Channel
	Unread   *bool
}

// AssigneeNone filters for unassigned conversations.
const AssigneeNone = "none"

// Empty reports whether the filter matches every active conversation.
func (f InboxFilter) Empty() bool {
	return f.Status == "" && f.Assignee == "" && f.Label == "" && f.Channel == "" && f.Unread == nil
}

// Matches applies the filter to one conversation.
func (f InboxFilter) Matches(c *Conversation) bool {
	switch {
	case f.Status != "" && c.Status != f.Status:
		return false
	case f.Assignee == AssigneeNone && c.AssigneeID != "":
		return false
	case f.Assignee != "" && f.Assignee != AssigneeNone && c.AssigneeID != f.Assignee:
		return false
	case f.Label != "" && !contains(c.Labels, f.Label):
		return false
	case f.Channel != "" && !containsChannel(c.Channels, f.Channel):
		return false
	case f.Unread != nil && c.Unread != *f.Unread:
		return false
	}
	return true
}
