package inbox

import "context"

// ListMessages pages through a thread in chronological order (or newest
// first, for the first screen of a chat).
func (s *Service) ListMessages(ctx context.Context, actor Actor, conversationID string, p PageRequest) (Page[*Message], error) {
	if _, err := s.GetConversation(ctx, actor, conversationID); err != nil {
		return Page[*Message]{}, err
	}
	if err := normalizePage(&p); err != nil {
		return Page[*Message]{}, err
	}
	return s.Store.ListMessages(ctx, actor.WorkspaceID, conversationID, p)
}

// PostMessage stores an outbound message as queued for delivery.
func (s *Service) PostMessage(ctx context.Context, actor Actor, conversationID string, in OutboundInput, idempotencyKey string) (*Message, bool, error) {
	ch, err := parseChannel("channel", string(in.Channel))
	if err != nil {
		return nil, false, err
	}
	body, err := validateBody(in.Body, len(in.Attachments) == 0)
	if err != nil {
		return nil, false, err
	}
	atts, err := validateAttachments(in.Attachments)
	if err != nil {
		return nil, false, err
	}
	if len(atts) > 0 && ch == ChannelSMS {
		ch = ChannelMMS // media turns a text into an MMS
	}
	draft := Message{Direction: DirectionOut, Kind: KindMessage, Channel: ch, Body: body, Attachments: atts, Status: MessageQueued}
	return s.appendMessage(ctx, actor, conversationID, draft, idempotencyKey)
}

// PostComment stores an internal note. It is marked internal and no sender
// ever picks it up.
func (s *Service) PostComment(ctx context.Context, actor Actor, conversationID string, in CommentInput, idempotencyKey string) (*Message, bool, error) {
	body, err := validateBody(in.Body, true)
	if err != nil {
		return nil, false, err
	}
	draft := Message{Kind: KindComment, Internal: true, Body: body, Attachments: []Attachment{}, Status: MessageReceived}
	return s.appendMessage(ctx, actor, conversationID, draft, idempotencyKey)
}

// appendMessage adds a message written by the actor to a thread. The
// conversation write is the commit point: it records the message id against
// the idempotency key, so a retry returns (or finishes writing) the same
// message. The message is written second, so the cost is one conversation
// update plus one small put, and no separate idempotency record.
func (s *Service) appendMessage(ctx context.Context, actor Actor, conversationID string, draft Message, idempotencyKey string) (*Message, bool, error) {
	keyed := idempotencyKey != ""
	key := hashKey(actor, idempotencyKey)
	var msg *Message
	replayed := false
	err := retryOnConflict(func() error {
		conv, err := s.GetConversation(ctx, actor, conversationID)
		if err != nil {
			return err
		}
		now := s.now()
		m := draft
		m.WorkspaceID, m.ConversationID, m.ContactID, m.AuthorID = actor.WorkspaceID, conv.ID, conv.ContactID, actor.UserID
		m.CreatedAt, m.UpdatedAt = now, now
		if keyed {
			if id, ok := conv.claimFor(key); ok {
				replayed = true
				msg, err = s.Store.GetMessage(ctx, actor.WorkspaceID, conv.ID, id)
				if IsKind(err, KindNotFound) {
					// The first attempt stopped after its commit point: finish it.
					m.ID = id
					msg = &m
					return s.Store.PutMessage(ctx, msg)
				}
				return err
			}
		}
		m.ID = NewID(now)
		if keyed {
			m.ID = key.newID(now)
			conv.addClaim(m.ID)
		}
		conv.RecordMessage(&m)
		if err := s.Store.PutConversation(ctx, conv); err != nil {
			return err
		}
		msg = &m
		return s.Store.PutMessage(ctx, msg)
	})
	if err != nil {
		return nil, false, err
	}
	return msg, replayed, nil
}
