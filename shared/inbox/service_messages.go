package inbox

import (
	"context"
	"time"
)

// ListMessages pages through a thread in chronological order (or newest
// first, for the first screen of a chat).
func (s *Desk) ListMessages(ctx context.Context, actor Actor, conversationID string, p PageRequest) (Page[*Message], error) {
	if _, err := s.getConversation(ctx, actor, conversationID); err != nil {
		return Page[*Message]{}, err
	}
	if err := normalizePage(&p); err != nil {
		return Page[*Message]{}, err
	}
	return s.store.ListMessages(ctx, actor.WorkspaceID, conversationID, p)
}

// PostMessage stores an agent's outbound message: queued for delivery now,
// or scheduled. Everything that would make it undeliverable (the channel,
// the contact's address and consent, the body, media, template and reply
// window, the time) is checked first, so the agent hears about it at once.
func (s *Desk) PostMessage(ctx context.Context, actor Actor, conversationID string, in OutboundInput, idempotencyKey string) (*Message, bool, error) {
	settings, err := s.settings(ctx, actor.WorkspaceID)
	if err != nil {
		return nil, false, err
	}
	build := func(conv *Conversation, now time.Time) (Message, error) {
		contact, err := s.store.GetContact(ctx, actor.WorkspaceID, conv.ContactID)
		if err != nil {
			return Message{}, err
		}
		in := in
		if err := s.renderOutbound(ctx, actor.WorkspaceID, conv, contact, actor.UserID, &in); err != nil {
			return Message{}, err
		}
		m, err := s.prepareOutbound(ctx, conv, contact, settings, in, now)
		m.Recipient = Address(contact, m.Channel)
		return m, err
	}
	m, replayed, err := s.appendMessage(ctx, actor, conversationID, build, idempotencyKey)
	if err != nil || m.Status != MessageScheduled {
		return m, replayed, err
	}
	// After the commit, and again on a replay: Put is idempotent.
	return m, replayed, s.schedule(ctx, m)
}

func (s *deferred) schedule(ctx context.Context, m *Message) error {
	return s.scheduler.Put(ctx, Schedule{Name: ScheduleName(m), WorkspaceID: m.WorkspaceID,
		Ref: ProviderRef{ConversationID: m.ConversationID, MessageID: m.ID}, At: *m.SendAt, Timezone: m.Timezone})
}

// PostComment stores an internal note. It is marked internal and no sender
// ever picks it up.
func (s *Desk) PostComment(ctx context.Context, actor Actor, conversationID string, in CommentInput, idempotencyKey string) (*Message, bool, error) {
	body, err := validateBody(in.Body, true)
	if err != nil {
		return nil, false, err
	}
	draft := Message{Kind: KindComment, Internal: true, Body: body, Attachments: []Attachment{}, Status: MessageReceived}
	return s.appendMessage(ctx, actor, conversationID, func(*Conversation, time.Time) (Message, error) { return draft, nil }, idempotencyKey)
}

// appendMessage adds a message written by the actor to a thread. The
// conversation write is the commit point: it records the message id against
// the idempotency key, so a retry returns (or finishes writing) the same
// message. The message is written second, so the cost is one conversation
// update plus one small put, and no separate idempotency record.
func (s *core) appendMessage(ctx context.Context, actor Actor, conversationID string, build func(*Conversation, time.Time) (Message, error), idempotencyKey string) (*Message, bool, error) {
	keyed := idempotencyKey != ""
	key := hashKey(actor, idempotencyKey)
	var msg *Message
	replayed := false
	err := retryOnConflict(ctx, func() error {
		conv, err := s.getConversation(ctx, actor, conversationID)
		if err != nil {
			return err
		}
		now := s.now()
		if keyed {
			if id, ok := conv.claimFor(key); ok {
				replayed = true
				msg, err = s.store.GetMessage(ctx, actor.WorkspaceID, conv.ID, id)
				if !IsKind(err, KindNotFound) {
					return err
				}
			}
		}
		m, err := build(conv, now)
		if err != nil {
			return err
		}
		m.WorkspaceID, m.ConversationID, m.ContactID = actor.WorkspaceID, conv.ID, conv.ContactID
		m.setAuthor(actor)
		m.CreatedAt, m.UpdatedAt = now, now
		if replayed {
			// The first attempt stopped after its commit point: finish it.
			id, _ := conv.claimFor(key)
			m.ID = id
			msg = &m
			return s.store.PutMessage(ctx, msg)
		}
		m.ID = NewID(now)
		if keyed {
			m.ID = key.newID(now)
			conv.addClaim(m.ID)
		}
		conv.RecordMessage(&m)
		if err := s.store.PutConversation(ctx, conv); err != nil {
			return err
		}
		msg = &m
		return s.store.PutMessage(ctx, msg)
	})
	if err != nil {
		return nil, false, err
	}
	return msg, replayed, nil
}
