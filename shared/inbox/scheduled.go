package inbox

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"
)

// ScheduledMessages lists the workspace's messages waiting to be sent,
// soonest first.
func (s *Desk) ScheduledMessages(ctx context.Context, actor Actor, p PageRequest) (Page[*Message], error) {
	if err := normalizePage(&p); err != nil {
		return Page[*Message]{}, err
	}
	return s.store.ListScheduled(ctx, actor.WorkspaceID, p)
}

// MessageEdit changes a message that has not gone out yet: it moves a
// scheduled message or rewrites its body, and sets a draft's final text
// and time when an agent sends it.
type MessageEdit struct {
	SendAt   *time.Time `json:"sendAt"`
	Timezone *string    `json:"timezone"`
	Body     *string    `json:"body"`
}

// pendingMessage reads a message that is still in one of the given states.
func (s *core) pendingMessage(ctx context.Context, actor Actor, conversationID, id string, want ...MessageStatus) (*Message, error) {
	if !ValidID(id) || !ValidID(conversationID) {
		return nil, Errorf(KindNotFound, "message %q not found", id)
	}
	m, err := s.store.GetMessage(ctx, actor.WorkspaceID, conversationID, id)
	if err != nil {
		return nil, err
	}
	if m.Direction != DirectionOut || m.Kind != KindMessage || !slices.Contains(want, m.Status) {
		return nil, Errorf(KindConflict, "the message is %s, not %s: it can no longer be changed", m.Status, joinStatuses(want))
	}
	return m, nil
}

// EditScheduled changes a scheduled message before it is sent; the
// schedule moves with it.
func (s *Desk) EditScheduled(ctx context.Context, actor Actor, conversationID, id string, e MessageEdit) (*Message, error) {
	m, err := s.pendingMessage(ctx, actor, conversationID, id, MessageScheduled)
	if err != nil {
		return nil, err
	}
	now := s.now()
	if e.SendAt != nil {
		at := e.SendAt.UTC()
		if !at.After(now) || at.Sub(now) > maxScheduleAge {
			return nil, Invalid("sendAt", "sendAt must be in the future and at most a year ahead")
		}
		m.SendAt = &at
	}
	if e.Timezone != nil {
		if err := validateTimezone("timezone", *e.Timezone); err != nil {
			return nil, err
		}
		m.Timezone = *e.Timezone
	}
	if e.Body != nil {
		body, err := validateBody(*e.Body, len(m.Attachments) == 0 && m.Template == nil)
		if err != nil {
			return nil, err
		}
		if err := CheckBodyLength(m.Channel, body); err != nil {
			return nil, err
		}
		m.Body = body
		if m.Channel.ConsentChannel() == ChannelSMS {
			m.Segments = SMSSegments(body)
		}
	}
	m.UpdatedAt = now
	if err := s.store.ReplaceMessage(ctx, m, MessageScheduled); err != nil {
		if errors.Is(err, ErrVersionConflict) {
			return nil, Errorf(KindConflict, "the message was sent or canceled meanwhile")
		}
		return nil, err
	}
	return m, s.schedule(ctx, m)
}

// CancelScheduled stops a scheduled message, or discards a draft: it is
// marked canceled, then its schedule deleted. A schedule that fires anyway
// finds it canceled and sends nothing.
func (s *Desk) CancelScheduled(ctx context.Context, actor Actor, conversationID, id string) (*Message, error) {
	m, err := s.pendingMessage(ctx, actor, conversationID, id, MessageScheduled, MessageDraft)
	if err != nil {
		return nil, err
	}
	prev := m.Status
	m.Status, m.UpdatedAt = MessageCanceled, s.now()
	if err := s.store.UpdateMessageStatus(ctx, m, prev); err != nil {
		if errors.Is(err, ErrVersionConflict) {
			return nil, Errorf(KindConflict, "the message was sent or canceled meanwhile")
		}
		return nil, err
	}
	if prev == MessageScheduled {
		if err := s.scheduler.Delete(ctx, ScheduleName(m)); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func joinStatuses(statuses []MessageStatus) string {
	names := make([]string, len(statuses))
	for i, st := range statuses {
		names[i] = string(st)
	}
	return strings.Join(names, " or ")
}

// Drafts lists the workspace's drafts waiting for an agent's review,
// oldest first.
func (s *Desk) Drafts(ctx context.Context, actor Actor, p PageRequest) (Page[*Message], error) {
	if err := normalizePage(&p); err != nil {
		return Page[*Message]{}, err
	}
	return s.store.ListDrafts(ctx, actor.WorkspaceID, p)
}

// SendDraft is an agent approving a draft an automation saved: with the
// edits applied it is checked like a message the agent writes (consent,
// reply window, body, time), then queued or scheduled in place. It is the
// agent's message from then on, so marketing consent and quiet hours no
// longer hold it back; a keyword opt-out still does.
func (s *Desk) SendDraft(ctx context.Context, actor Actor, conversationID, id string, e MessageEdit) (*Message, error) {
	m, err := s.pendingMessage(ctx, actor, conversationID, id, MessageDraft)
	if err != nil {
		return nil, err
	}
	in := OutboundInput{Channel: m.Channel, Body: m.Body, Attachments: m.Attachments, Template: m.Template, SendAt: e.SendAt}
	if e.Body != nil {
		in.Body = *e.Body
	}
	if e.Timezone != nil {
		in.Timezone = *e.Timezone
	}
	settings, err := s.settings(ctx, actor.WorkspaceID)
	if err != nil {
		return nil, err
	}
	conv, err := s.getConversation(ctx, actor, conversationID)
	if err != nil {
		return nil, err
	}
	contact, err := s.store.GetContact(ctx, actor.WorkspaceID, conv.ContactID)
	if err != nil {
		return nil, err
	}
	ready, err := s.prepareOutbound(ctx, conv, contact, settings, in, s.now())
	if err != nil {
		return nil, err
	}
	ready.ID, ready.WorkspaceID, ready.ConversationID, ready.ContactID = m.ID, m.WorkspaceID, m.ConversationID, m.ContactID
	ready.RunID, ready.CreatedAt, ready.UpdatedAt = m.RunID, m.CreatedAt, s.now()
	ready.setAuthor(actor)
	ready.Recipient = Address(contact, ready.Channel)
	// The schedule first: once the message leaves draft a retry gets 409,
	// so nothing may be left to do after that write. A schedule whose write
	// then fails finds a draft or canceled message and sends nothing.
	if ready.Status == MessageScheduled {
		if err := s.schedule(ctx, &ready); err != nil {
			return nil, err
		}
	}
	// draft → queued is what the sender's stream filter picks up.
	if err := s.store.ReplaceMessage(ctx, &ready, MessageDraft); err != nil {
		if errors.Is(err, ErrVersionConflict) {
			return nil, Errorf(KindConflict, "the draft was sent or discarded meanwhile")
		}
		return nil, err
	}
	return &ready, nil
}
