package inbox

import (
	"context"
	"strings"
	"time"
)

// Web chat visitors are contacts known by a handle ("webchat:<visitor id>")
// until they leave an email. One device keeps one visitor id (in its token),
// so it keeps its thread; a new device is a new visitor and a new thread.

const (
	// onlineFor is how long one heartbeat keeps a visitor online.
	onlineFor = 2 * time.Minute
	// heartbeatSlack avoids a write per heartbeat: the stored deadline is
	// only pushed out when less than this remains.
	heartbeatSlack = time.Minute
)

// visitorThread finds a visitor's conversation, if they have written yet.
// The handle's link is a hint; the contact's link decides.
func (s *Service) visitorThread(ctx context.Context, workspaceID, handle string) (*Conversation, error) {
	from := Sender{Handle: handle}
	contactID, linked, err := s.Store.FindSender(ctx, workspaceID, from)
	if err != nil {
		return nil, err
	}
	if linked != "" {
		conv, err := s.Store.PeekConversation(ctx, workspaceID, linked)
		if err == nil && !conv.Deleting && conv.ContactID == contactID {
			return conv, nil
		}
		if err != nil && !IsKind(err, KindNotFound) {
			return nil, err
		}
	}
	contact, err := s.Store.GetContact(ctx, workspaceID, contactID)
	if err != nil {
		return nil, err
	}
	if contact.ConversationID == "" {
		return nil, Errorf(KindNotFound, "no conversation yet")
	}
	conv, err := s.Store.PeekConversation(ctx, workspaceID, contact.ConversationID)
	if err == nil && conv.Deleting {
		return nil, Errorf(KindNotFound, "no conversation yet")
	}
	if err == nil {
		_ = s.Store.LinkSender(ctx, workspaceID, from, contactID, conv.ID)
	}
	return conv, err
}

// VisitorHistory pages through what a visitor may see: this device's web
// chat, both ways. Nothing else in the thread is shown — not email or SMS,
// and not other devices' chats — because leaving an email proves nothing:
// anyone can type someone else's address.
func (s *Service) VisitorHistory(ctx context.Context, workspaceID, handle string, p PageRequest) (Page[*Message], error) {
	conv, err := s.visitorThread(ctx, workspaceID, handle)
	if IsKind(err, KindNotFound) {
		return Page[*Message]{Items: []*Message{}}, nil
	}
	if err != nil {
		return Page[*Message]{}, err
	}
	if err := normalizePage(&p); err != nil {
		return Page[*Message]{}, err
	}
	page, err := s.Store.ListMessages(ctx, workspaceID, conv.ID, p)
	if err != nil {
		return page, err
	}
	visible := page.Items[:0]
	for _, m := range page.Items {
		if m.Kind == KindMessage && !m.Internal && m.Status != MessageDraft && m.Channel == ChannelWebchat && fromOrTo(m, handle) {
			visible = append(visible, m)
		}
	}
	page.Items = visible
	return page, nil
}

// Heartbeat keeps a visitor online for the agents. It writes at most about
// once a minute per visitor, whatever the heartbeat rate.
func (s *Service) Heartbeat(ctx context.Context, workspaceID, handle string) (time.Time, error) {
	now := s.now()
	until := now.Add(onlineFor)
	err := retryOnConflict(func() error {
		conv, err := s.visitorThread(ctx, workspaceID, handle)
		if err != nil {
			return err
		}
		if conv.VisitorOnlineUntil != nil && conv.VisitorOnlineUntil.Sub(now) > heartbeatSlack {
			until = *conv.VisitorOnlineUntil
			return nil
		}
		conv.VisitorOnlineUntil = &until
		return s.Store.PutConversation(ctx, conv)
	})
	if IsKind(err, KindNotFound) {
		return until, nil // nothing to show online before the first message
	}
	return until, err
}

// VisitorOnline reports whether a conversation's web chat visitor is online.
func (c *Conversation) VisitorOnline(now time.Time) bool {
	return c.VisitorOnlineUntil != nil && now.Before(*c.VisitorOnlineUntil)
}

// LeaveEmail joins a visitor's conversation to the contact with that email:
// the visitor's own contact takes the email if nobody has it; otherwise the
// visitor's messages move into that contact's thread and the visitor's
// handle follows, so later chats land there too. Every step is idempotent,
// so a retried request completes a half-done join.
func (s *Service) LeaveEmail(ctx context.Context, workspaceID, handle, email string) (*Contact, error) {
	addr, err := NormalizeEmail("email", email)
	if err != nil {
		return nil, err
	}
	actor := systemActor(workspaceID)
	visitorID, _, err := s.Store.FindSender(ctx, workspaceID, Sender{Handle: handle})
	if IsKind(err, KindNotFound) {
		// Not written yet: the email identifies them from the start.
		visitor, err := s.contactFor(ctx, Inbound{WorkspaceID: workspaceID, From: Sender{Email: addr}})
		if err != nil {
			return nil, err
		}
		return s.mutateContact(ctx, actor, visitor.ID, func(c *Contact) error {
			c.Handles = appendUnique(c.Handles, handle)
			return nil
		})
	}
	if err != nil {
		return nil, err
	}
	owner, err := s.Store.FindContactByEmail(ctx, workspaceID, addr)
	if IsKind(err, KindNotFound) || (err == nil && owner.ID == visitorID) {
		return s.mutateContact(ctx, actor, visitorID, func(c *Contact) error {
			c.Emails = appendUnique(c.Emails, addr)
			return nil
		})
	}
	if err != nil {
		return nil, err
	}
	return owner, s.mergeVisitor(ctx, actor, visitorID, owner, handle)
}

// mergeVisitor moves a visitor's thread and handle to an existing contact.
func (s *Service) mergeVisitor(ctx context.Context, actor Actor, visitorID string, owner *Contact, handle string) error {
	visitor, err := s.Store.GetContact(ctx, actor.WorkspaceID, visitorID)
	if err != nil {
		return err
	}
	if visitor.ConversationID != "" {
		target, _, err := s.conversationFor(ctx, owner)
		if err != nil {
			return err
		}
		if err := s.moveMessages(ctx, actor, visitor.ConversationID, target.ID, owner.ID); err != nil {
			return err
		}
		from, err := s.Store.GetConversation(ctx, actor.WorkspaceID, visitor.ConversationID)
		if err == nil {
			if err := retryOnConflict(func() error { return s.Store.DeleteConversation(ctx, from) }); err != nil {
				return err
			}
		} else if !IsKind(err, KindNotFound) {
			return err
		}
	}
	if _, err := s.mutateContact(ctx, actor, visitorID, func(c *Contact) error {
		c.Handles = removeValue(c.Handles, handle)
		return nil
	}); err != nil {
		return err
	}
	_, err = s.mutateContact(ctx, actor, owner.ID, func(c *Contact) error {
		c.Handles = appendUnique(c.Handles, handle)
		return nil
	})
	return err
}

// maxMergedMessages bounds a join; a chat session is short.
const maxMergedMessages = 1000

// moveMessages copies a thread's messages (same ids, so a retry rewrites
// them harmlessly) into another thread and updates its summary.
func (s *Service) moveMessages(ctx context.Context, actor Actor, fromID, toID, contactID string) error {
	var moved []*Message
	p := PageRequest{Limit: MaxPageSize}
	for len(moved) < maxMergedMessages {
		page, err := s.Store.ListMessages(ctx, actor.WorkspaceID, fromID, p)
		if err != nil {
			return err
		}
		for _, m := range page.Items {
			m.ConversationID, m.ContactID = toID, contactID
			if err := s.Store.PutMessage(ctx, m); err != nil {
				return err
			}
			moved = append(moved, m)
		}
		if p.Cursor = page.NextCursor; p.Cursor == "" {
			break
		}
	}
	_, err := s.mutateConversation(ctx, actor, toID, func(c *Conversation) error {
		for _, m := range moved {
			c.RecordMessage(m)
		}
		c.Unread = true
		return nil
	})
	return err
}

// fromOrTo reports whether a web chat message was written by, or sent to,
// the visitor with this handle.
func fromOrTo(m *Message, handle string) bool {
	visitor := strings.TrimPrefix(handle, string(ChannelWebchat)+":")
	if m.Direction == DirectionIn {
		return strings.HasPrefix(m.ProviderID, visitor+":")
	}
	return m.Recipient == visitor
}
