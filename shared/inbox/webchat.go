package inbox

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"slices"
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
func (s *core) visitorThread(ctx context.Context, workspaceID, handle string) (*Conversation, error) {
	from := Correspondent{Handle: handle}
	contactID, linked, err := s.store.FindCorrespondent(ctx, workspaceID, from)
	if err != nil {
		return nil, err
	}
	if linked != "" {
		conv, err := s.store.PeekConversation(ctx, workspaceID, linked)
		if err == nil && !conv.Deleting && conv.ContactID == contactID {
			return conv, nil
		}
		if err != nil && !IsKind(err, KindNotFound) {
			return nil, err
		}
	}
	contact, err := s.store.GetContact(ctx, workspaceID, contactID)
	if err != nil {
		return nil, err
	}
	if contact.ConversationID == "" {
		return nil, Errorf(KindNotFound, "no conversation yet")
	}
	conv, err := s.store.PeekConversation(ctx, workspaceID, contact.ConversationID)
	if err == nil && conv.Deleting {
		return nil, Errorf(KindNotFound, "no conversation yet")
	}
	if err == nil {
		_ = s.store.LinkCorrespondent(ctx, workspaceID, from, contactID, conv.ID)
	}
	return conv, err
}

// VisitorHistory pages through what a visitor may see: this device's web
// chat, both ways. Nothing else in the thread is shown — not email or SMS,
// and not other devices' chats — because leaving an email proves nothing:
// anyone can type someone else's address.
func (s *WebChat) VisitorHistory(ctx context.Context, workspaceID, handle string, p PageRequest) (Page[*Message], error) {
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
	page, err := s.store.ListMessages(ctx, workspaceID, conv.ID, p)
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

// Widget is the chat widget's public look, defaults filled in. It reads
// the cached settings: a page view must not read the workspace, and a new
// colour may take a minute to show. A workspace with web chat but no
// record of its own gets the defaults.
func (s *WebChat) Widget(ctx context.Context, workspaceID string) (WidgetSettings, error) {
	settings, err := s.settings(ctx, workspaceID)
	if err != nil && !IsKind(err, KindNotFound) {
		return WidgetSettings{}, err
	}
	return settings.Widget.Resolved(), nil
}

// Heartbeat keeps a visitor online for the agents. It writes at most about
// once a minute per visitor, whatever the heartbeat rate.
func (s *WebChat) Heartbeat(ctx context.Context, workspaceID, handle string) (time.Time, error) {
	now := s.now()
	until := now.Add(onlineFor)
	err := retryOnConflict(ctx, func() error {
		conv, err := s.visitorThread(ctx, workspaceID, handle)
		if err != nil {
			return err
		}
		if conv.VisitorOnlineUntil != nil && conv.VisitorOnlineUntil.Sub(now) > heartbeatSlack {
			until = *conv.VisitorOnlineUntil
			return nil
		}
		conv.VisitorOnlineUntil = &until
		return s.store.PutConversation(ctx, conv)
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

// EmailClaim is an address a web chat visitor typed. Anyone can type anyone's
// address, so it proves nothing: the visitor stays their own contact and the
// agents see the claim (and which contact has that address) until the
// visitor proves it, by the site's identity hash or a code emailed to it, or
// an agent vouches for it (AcceptClaimedEmail). An accepted claim stays on
// the visitor's contact, Verified, as the record of who vouched.
type EmailClaim struct {
	Address  string `json:"address"`
	Verified bool   `json:"verified"`
	// MatchesContactID is the contact that had the address when claimed
	// (when accepted, the contact the visitor joined).
	MatchesContactID string `json:"matchesContactId,omitempty"`
	// Handle is the chat that made the claim.
	Handle     string     `json:"handle,omitempty"`
	ClaimedAt  time.Time  `json:"claimedAt"`
	AcceptedBy string     `json:"acceptedBy,omitempty"`
	AcceptedAt *time.Time `json:"acceptedAt,omitempty"`
}

// pending reports whether a claim still waits for proof.
func (cl *EmailClaim) pending() bool { return cl != nil && !cl.Verified }

// speaksFor reports whether a web chat visitor may receive a contact's
// replies: they proved being the contact, or the contact is nobody but a
// visitor (no phone or email whose owner a reply could be meant for).
func speaksFor(c *Contact, handle string) bool {
	return slices.Contains(c.VerifiedHandles, handle) || (len(c.Phones) == 0 && len(c.Emails) == 0)
}

// visitorContact is the contact a visitor's handle belongs to, created on
// first need.
func (s *core) visitorContact(ctx context.Context, workspaceID, handle string) (*Contact, error) {
	id, _, err := s.store.FindCorrespondent(ctx, workspaceID, Correspondent{Handle: handle})
	if IsKind(err, KindNotFound) {
		return s.contactFor(ctx, Inbound{WorkspaceID: workspaceID, From: Correspondent{Handle: handle}})
	}
	if err != nil {
		return nil, err
	}
	return s.store.GetContact(ctx, workspaceID, id)
}

// ClaimEmail records an address a visitor left, unverified. It is already
// verified only when the visitor proved it before.
func (s *WebChat) ClaimEmail(ctx context.Context, workspaceID, handle, email string) (*EmailClaim, error) {
	addr, err := NormalizeEmail("email", email)
	if err != nil {
		return nil, err
	}
	visitor, err := s.visitorContact(ctx, workspaceID, handle)
	if err != nil {
		return nil, err
	}
	if slices.Contains(visitor.Emails, addr) && speaksFor(visitor, handle) {
		return &EmailClaim{Address: addr, Verified: true, ClaimedAt: s.now()}, nil
	}
	claim := &EmailClaim{Address: addr, Handle: handle, ClaimedAt: s.now()}
	owner, err := s.store.FindContactByEmail(ctx, workspaceID, addr)
	switch {
	case err == nil:
		claim.MatchesContactID = owner.ID
	case !IsKind(err, KindNotFound):
		return nil, err
	}
	_, err = s.mutateContact(ctx, systemActor(workspaceID), visitor.ID, func(c *Contact) error {
		c.ClaimedEmail = claim
		return nil
	})
	return claim, err
}

// IdentifyVisitor joins a visitor to the contact with an email the site
// vouches for: identifierHash is the hex HMAC-SHA256 of the email, exactly
// as sent, under the workspace's web chat identity secret.
func (s *WebChat) IdentifyVisitor(ctx context.Context, workspaceID, handle, email, identifierHash string) (*Contact, error) {
	addr, err := NormalizeEmail("email", email)
	if err != nil {
		return nil, err
	}
	w, err := s.store.GetWorkspace(ctx, workspaceID) // not the cached settings: a rotated secret takes effect at once
	if err != nil {
		return nil, err
	}
	if err := CheckIdentityHash(w.Settings.WebChatIdentitySecret, email, identifierHash); err != nil {
		return nil, err
	}
	return s.joinEmail(ctx, workspaceID, handle, addr)
}

// CheckIdentityHash verifies a site's signature of a visitor's identifier.
func CheckIdentityHash(secret, identifier, identifierHash string) error {
	if secret == "" {
		return &Error{Kind: KindForbidden, Field: "identifierHash", Message: "identity verification is not set up for this workspace"}
	}
	got, err := hex.DecodeString(identifierHash)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(identifier))
	if err != nil || !hmac.Equal(got, m.Sum(nil)) {
		return &Error{Kind: KindForbidden, Field: "identifierHash", Message: "identifierHash is not the HMAC-SHA256 of this email under the workspace's identity secret"}
	}
	return nil
}

// joinEmail makes a proved address the visitor's: their own contact takes
// it if nobody has it; otherwise the visitor's messages move into that
// contact's thread and the visitor's handle follows, so later chats land
// there too. Every step is idempotent, so a retry completes a half-done join.
func (s *core) joinEmail(ctx context.Context, workspaceID, handle, addr string) (*Contact, error) {
	actor := systemActor(workspaceID)
	visitor, err := s.visitorContact(ctx, workspaceID, handle)
	if err != nil {
		return nil, err
	}
	proved := func(c *Contact) {
		c.VerifiedHandles = appendUnique(c.VerifiedHandles, handle)
		if c.ClaimedEmail.pending() && c.ClaimedEmail.Address == addr {
			c.ClaimedEmail = nil
		}
	}
	owner, err := s.store.FindContactByEmail(ctx, workspaceID, addr)
	if IsKind(err, KindNotFound) || (err == nil && owner.ID == visitor.ID) {
		return s.mutateContact(ctx, actor, visitor.ID, func(c *Contact) error {
			c.Emails = appendUnique(c.Emails, addr)
			proved(c)
			return nil
		})
	}
	if err != nil {
		return nil, err
	}
	if len(visitor.Phones) > 0 || len(visitor.Emails) > 0 {
		// The chat already speaks for another known contact; joining would
		// move that contact's whole thread.
		return nil, Errorf(KindConflict, "this chat is already verified as another contact")
	}
	return owner, s.mergeVisitor(ctx, actor, visitor.ID, owner, handle, proved)
}

// mergeVisitor moves a visitor's thread and handle to an existing contact.
func (s *core) mergeVisitor(ctx context.Context, actor Actor, visitorID string, owner *Contact, handle string, proved func(*Contact)) error {
	visitor, err := s.store.GetContact(ctx, actor.WorkspaceID, visitorID)
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
		from, err := s.store.GetConversation(ctx, actor.WorkspaceID, visitor.ConversationID)
		if err == nil {
			if err := retryOnConflict(ctx, func() error { return s.store.DeleteConversation(ctx, from) }); err != nil {
				return err
			}
		} else if !IsKind(err, KindNotFound) {
			return err
		}
	}
	if _, err := s.mutateContact(ctx, actor, visitorID, func(c *Contact) error {
		c.Handles = removeValue(c.Handles, handle)
		c.VerifiedHandles = removeValue(c.VerifiedHandles, handle)
		if c.ClaimedEmail.pending() {
			c.ClaimedEmail = nil
		}
		return nil
	}); err != nil {
		return err
	}
	_, err = s.mutateContact(ctx, actor, owner.ID, func(c *Contact) error {
		c.Handles = appendUnique(c.Handles, handle)
		proved(c)
		return nil
	})
	return err
}

// maxMergedMessages bounds a join; a chat session is short.
const maxMergedMessages = 1000

// moveMessages copies a thread's messages (same ids, so a retry rewrites
// them harmlessly) into another thread and updates its summary.
func (s *core) moveMessages(ctx context.Context, actor Actor, fromID, toID, contactID string) error {
	var moved []*Message
	p := PageRequest{Limit: MaxPageSize}
	for len(moved) < maxMergedMessages {
		page, err := s.store.ListMessages(ctx, actor.WorkspaceID, fromID, p)
		if err != nil {
			return err
		}
		for _, m := range page.Items {
			m.ConversationID, m.ContactID = toID, contactID
			if err := s.store.PutMessage(ctx, m); err != nil {
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
