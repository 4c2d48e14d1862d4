package dynamo

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/parley-inbox/parley/shared/inbox"
)

// Change is one item change from the table's stream: the images before and
// after (nil for an insert or a removal).
type Change struct {
	// EventID is the stream record's id; event ids derive from it.
	EventID string
	// Seq orders the change's events in their workspace (Journal sets it).
	Seq string
	At  time.Time
	Old map[string]types.AttributeValue
	New map[string]types.AttributeValue
}

// Events derives the domain events a change means. Deriving them from the
// stream, rather than writing them alongside, costs no write units and
// cannot miss a write path.
func Events(c Change) ([]inbox.Event, error) {
	img := c.New
	if img == nil {
		img = c.Old
	}
	pk, sk := stringAttr(img, AttrPK), stringAttr(img, AttrSK)
	ws, ok := workspaceOf(pk)
	if !ok {
		return nil, nil
	}
	base := inbox.Event{WorkspaceID: ws, OccurredAt: c.At.UTC(), Seq: c.Seq}
	emit := func(t inbox.EventType, e inbox.Event) inbox.Event {
		e.ID, e.Type = fmt.Sprintf("%s:%s", c.EventID, t), t
		return e
	}
	var out []inbox.Event
	switch {
	case sk == skContact:
		var before, after contactItem
		if err := decodeImages(c, &before, &after); err != nil {
			return nil, err
		}
		if c.New == nil {
			return nil, nil
		}
		e := base
		e.ContactID = after.ID
		if c.Old == nil {
			out = append(out, emit(inbox.EventContactCreated, e))
		}
		if added := newTags(before.Tags, after.Tags); len(added) > 0 {
			te := e
			te.Tags = added
			out = append(out, emit(inbox.EventContactTagged, te))
		}
	case strings.HasPrefix(sk, prefixConsent):
		// The first consent recorded on a channel is a change too: a new
		// contact who subscribes fires contact.opted_in (contact.subscribed).
		var before, after consentItem
		if err := decodeImages(c, &before, &after); err != nil {
			return nil, err
		}
		if c.New == nil || (c.Old != nil && before.Status == after.Status) {
			return nil, nil
		}
		e := base
		e.ContactID, _ = contactOf(pk)
		e.Channel, e.Source = after.Channel, after.Source
		t := inbox.EventContactOptedOut
		if after.Status == inbox.ConsentOptedIn {
			t = inbox.EventContactOptedIn
		}
		out = append(out, emit(t, e))
	case sk == skConversation:
		var before, after conversationItem
		if err := decodeImages(c, &before, &after); err != nil {
			return nil, err
		}
		if c.New == nil {
			e := base
			e.ConversationID, e.ContactID = before.ID, before.ContactID
			return append(out, emit(inbox.EventConversationDeleted, e)), nil
		}
		e := base
		e.ConversationID, e.ContactID = after.ID, after.ContactID
		e.Conversation = after.domain(ws)
		if c.Old == nil {
			return append(out, emit(inbox.EventConversationCreated, e)), nil
		}
		if before.Status == inbox.StatusComplete && after.Status == inbox.StatusOpen {
			out = append(out, emit(inbox.EventConversationReopened, e))
		}
		if changes := inbox.WhatChanged(before.domain(ws), e.Conversation); len(changes) > 0 {
			u := e
			u.Changes = changes
			out = append(out, emit(inbox.EventConversationUpdated, u))
		}
		if a := after.AutoAssignment; a != nil && (before.AutoAssignment == nil || !before.AutoAssignment.At.Equal(a.At)) {
			ae := e
			ae.UserID, ae.Assignment = after.AssigneeID, a
			out = append(out, emit(inbox.EventConversationAssigned, ae))
		}
		// Presence flips as the stream sees it: a heartbeat that only
		// extends the deadline is not news.
		at := c.At
		if after.UpdatedAt.After(at) {
			at = after.UpdatedAt // stream times have whole seconds
		}
		if was, is := before.VisitorOnline(at), after.VisitorOnline(at); was != is {
			p := base
			p.ConversationID, p.ContactID, p.Online, p.OnlineUntil = after.ID, after.ContactID, &is, after.VisitorOnlineUntil
			out = append(out, emit(inbox.EventVisitorPresence, p))
		}
	case strings.HasPrefix(sk, prefixMessage):
		var before, after messageItem
		if err := decodeImages(c, &before, &after); err != nil {
			return nil, err
		}
		if c.New == nil || (c.Old == nil && after.Moved) {
			return nil, nil // deleted, or moved by a contact merge: old news
		}
		e := base
		e.ConversationID, _ = conversationOf(pk)
		e.MessageID, e.ContactID, e.Channel, e.Kind, e.Status = after.ID, after.ContactID, after.Channel, after.Kind, after.Status
		if c.Old == nil && !after.CreatedAt.IsZero() {
			// Stream times have whole seconds; a reply must order against
			// a drip applied a moment before it.
			e.OccurredAt = after.CreatedAt.UTC()
		}
		snapshot := func(e inbox.Event) inbox.Event {
			e.Message, e.Truncated = eventMessage(after.domain(ws, e.ConversationID))
			return e
		}
		switch {
		case c.Old == nil:
			out = append(out, emit(inbox.EventMessageCreated, snapshot(e)))
			if after.Direction == inbox.DirectionIn {
				e.Body = inbox.Preview(after.Body)
				out = append(out, emit(inbox.EventMessageReceived, e))
			}
		case before.Status != after.Status:
			out = append(out, emit(inbox.EventMessageStatusChanged, snapshot(e)))
		case !slices.Equal(before.Attachments, after.Attachments):
			// An inbound file copied into the media store: the thread
			// shows the durable attachment.
			out = append(out, emit(inbox.EventMessageUpdated, snapshot(e)))
		}
	case strings.HasPrefix(sk, prefixRun):
		// Only the write that creates a run: status changes are not events.
		if c.Old != nil || c.New == nil {
			return nil, nil
		}
		var it runItem
		if err := unmarshal(c.New, &it); err != nil {
			return nil, fmt.Errorf("decode new image: %w", err)
		}
		if it.Status != inbox.RunStarted {
			return nil, nil
		}
		e := base
		e.ContactID, e.ConversationID, e.RunID, e.SequenceID, e.SequenceKind = it.ContactID, it.ConversationID, it.ID, it.SequenceID, it.Kind
		out = append(out, emit(inbox.EventRunStarted, e))
	}
	return out, nil
}

// eventBodyLimit keeps an event, and a batch of them, well inside
// EventBridge's 256 KB and a WebSocket frame's 128 KB: a longer body (an
// email) is cut, and the client reads the whole message by its id.
const eventBodyLimit = 8 << 10

func eventMessage(m *inbox.Message) (*inbox.Message, bool) {
	if len(m.Body) <= eventBodyLimit {
		return m, false
	}
	cut := eventBodyLimit
	for cut > 0 && !utf8.RuneStart(m.Body[cut]) {
		cut--
	}
	m.Body = m.Body[:cut]
	return m, true
}

func decodeImages(c Change, before, after any) error {
	if c.Old != nil {
		if err := unmarshal(c.Old, before); err != nil {
			return fmt.Errorf("decode old image: %w", err)
		}
	}
	if c.New != nil {
		if err := unmarshal(c.New, after); err != nil {
			return fmt.Errorf("decode new image: %w", err)
		}
	}
	return nil
}

func stringAttr(item map[string]types.AttributeValue, name string) string {
	if s, ok := item[name].(*types.AttributeValueMemberS); ok {
		return s.Value
	}
	return ""
}

// workspaceOf reads the workspace id from a key "WS#<ws>" or "WS#<ws>#...".
func workspaceOf(pk string) (string, bool) {
	rest, ok := strings.CutPrefix(pk, "WS#")
	if !ok {
		return "", false
	}
	ws, _, _ := strings.Cut(rest, "#")
	return ws, ws != ""
}

// contactOf reads the contact id from "WS#<ws>#CONTACT#<id>".
func contactOf(pk string) (string, bool) {
	_, id, ok := strings.Cut(pk, "#CONTACT#")
	return id, ok
}

// conversationOf reads the conversation id from "WS#<ws>#CONV#<id>".
func conversationOf(pk string) (string, bool) {
	_, id, ok := strings.Cut(pk, "#CONV#")
	return id, ok
}

func newTags(before, after []string) []string {
	var added []string
	for _, t := range after {
		found := false
		for _, b := range before {
			found = found || b == t
		}
		if !found {
			added = append(added, t)
		}
	}
	return added
}

// QueuedMessage reports whether a change queued an outbound message to be
// sent, and which: a new one, or a draft an agent sent. It is what the
// sender's stream filter selects.
func QueuedMessage(c Change) (workspaceID string, ref inbox.ProviderRef, ok bool) {
	if c.New == nil || !strings.HasPrefix(stringAttr(c.New, AttrSK), prefixMessage) {
		return "", ref, false
	}
	if moved, _ := c.New["moved"].(*types.AttributeValueMemberBOOL); moved != nil && moved.Value {
		return "", ref, false // a contact merge moved it; it was queued where it was
	}
	if c.Old != nil && stringAttr(c.Old, "status") != string(inbox.MessageDraft) {
		return "", ref, false
	}
	if stringAttr(c.New, "status") != string(inbox.MessageQueued) || stringAttr(c.New, "direction") != string(inbox.DirectionOut) ||
		stringAttr(c.New, "kind") != string(inbox.KindMessage) {
		return "", ref, false
	}
	pk := stringAttr(c.New, AttrPK)
	ws, ok1 := workspaceOf(pk)
	conv, ok2 := conversationOf(pk)
	id := strings.TrimPrefix(stringAttr(c.New, AttrSK), prefixMessage)
	return ws, inbox.ProviderRef{ConversationID: conv, MessageID: id}, ok1 && ok2
}

// PublishedSortKeys are the sort keys of the items whose changes mean
// something to Events or Journal: exact keys, and prefixes. The publisher's
// stream mapping filters on them (infra/), so the journal's own writes,
// connections and counters never invoke it.
var PublishedSortKeys = struct{ Exact, Prefixes []string }{
	Exact:    []string{skContact, skConversation, skTask},
	Prefixes: []string{prefixConsent, prefixMessage, prefixRun},
}

// Published reports whether a sort key is one PublishedSortKeys selects.
func Published(sk string) bool {
	for _, k := range PublishedSortKeys.Exact {
		if sk == k {
			return true
		}
	}
	for _, p := range PublishedSortKeys.Prefixes {
		if strings.HasPrefix(sk, p) {
			return true
		}
	}
	return false
}
