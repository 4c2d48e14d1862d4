package inbox

import (
	"context"
	"fmt"
	"strings"
)

// AcceptClaimedEmail is an agent vouching for the address a web chat visitor
// claimed, in place of a proof: the visitor joins the address's contact (or
// takes the address) exactly as after a proof, and the thread records who
// vouched. address is the claim the agent saw; a claim that changed since
// is a conflict. Repeating an accept returns the same contact and completes
// a half-done join.
func (s *Desk) AcceptClaimedEmail(ctx context.Context, actor Actor, visitorID, address string) (*Contact, error) {
	if strings.TrimSpace(address) == "" {
		return nil, Invalid("address", "address is required: the claimed email being accepted")
	}
	addr, err := NormalizeEmail("address", address)
	if err != nil {
		return nil, err
	}
	visitor, err := s.getContact(ctx, actor, visitorID)
	if err != nil {
		return nil, err
	}
	claim := visitor.ClaimedEmail
	switch {
	case claim == nil:
		return nil, Errorf(KindNotFound, "contact %s has no claimed email", visitorID)
	case claim.Address != addr:
		return nil, Errorf(KindConflict, "the claim changed: the visitor now claims a different address")
	case claim.pending():
		if claim, err = s.markClaimAccepted(ctx, actor, visitor, addr); err != nil {
			return nil, err
		}
	}
	joined, err := s.joinEmail(ctx, actor.WorkspaceID, claim.Handle, addr)
	if err != nil {
		return nil, err
	}
	result, err := s.store.GetContact(ctx, actor.WorkspaceID, joined.ID) // after the merge, not before
	if err != nil {
		return nil, err
	}
	if result.ConversationID != "" {
		if err := s.store.PutMessage(ctx, s.claimAcceptedNote(ctx, actor.WorkspaceID, visitorID, result, claim)); err != nil {
			return nil, err
		}
	}
	return result, nil
}

// markClaimAccepted is the accept's commit point: once the claim is marked,
// a repeat goes straight on to the join. Everything that would stop the
// join is checked first, so a claim is never marked for a join that fails.
func (s *core) markClaimAccepted(ctx context.Context, actor Actor, visitor *Contact, addr string) (*EmailClaim, error) {
	handle := visitor.ClaimedEmail.Handle
	if handle == "" { // claims made before they named their chat
		var chats []string
		for _, h := range visitor.Handles {
			if handleChannel(h) == string(ChannelWebchat) {
				chats = append(chats, h)
			}
		}
		if len(chats) != 1 {
			return nil, Errorf(KindConflict, "cannot tell which chat made the claim; ask the visitor to leave the address again")
		}
		handle = chats[0]
	}
	if !contains(visitor.Handles, handle) {
		return nil, Errorf(KindConflict, "the chat that made the claim is no longer this contact's")
	}
	ownerID := "" // the contact the visitor will join, if not their own
	owner, err := s.store.FindContactByEmail(ctx, actor.WorkspaceID, addr)
	switch {
	case IsKind(err, KindNotFound):
	case err != nil:
		return nil, err
	case owner.ID != visitor.ID:
		ownerID = owner.ID
		if len(visitor.Phones) > 0 || len(visitor.Emails) > 0 {
			return nil, Errorf(KindConflict, "this visitor is already another known contact; merging would move that contact's thread")
		}
	}
	// The agent vouched for joining the contact the claim showed, not another.
	shown := visitor.ClaimedEmail.MatchesContactID
	if shown == visitor.ID {
		shown = ""
	}
	if ownerID != shown {
		return nil, Errorf(KindConflict, "the claim changed: %s belongs to a different contact than when it was claimed", addr)
	}
	now := s.now()
	var accepted *EmailClaim
	_, err = s.mutateContact(ctx, actor, visitor.ID, func(c *Contact) error {
		cl := c.ClaimedEmail
		switch {
		case cl == nil || cl.Address != addr:
			return Errorf(KindConflict, "the claim changed while it was being accepted")
		case !cl.pending(): // another agent accepted it meanwhile
			accepted = cl
			return nil
		}
		marked := *cl
		marked.Handle, marked.Verified, marked.MatchesContactID = handle, true, ownerID
		marked.AcceptedBy, marked.AcceptedAt = actor.UserID, &now
		c.ClaimedEmail, accepted = &marked, &marked
		return nil
	})
	return accepted, err
}

// claimAcceptedNote is the thread's record of who vouched. Its id comes from
// the claim, so a repeated accept rewrites the same note.
func (s *core) claimAcceptedNote(ctx context.Context, workspaceID, visitorID string, joined *Contact, claim *EmailClaim) *Message {
	at := claim.ClaimedAt
	if claim.AcceptedAt != nil {
		at = *claim.AcceptedAt
	}
	agent := claim.AcceptedBy
	if u, err := s.store.GetUser(ctx, workspaceID, claim.AcceptedBy); err == nil && u.Name != "" {
		agent = fmt.Sprintf("%s (%s)", u.Name, claim.AcceptedBy)
	}
	body := fmt.Sprintf("%s vouched for %s, an email a web chat visitor claimed without proof: the visitor's chat is now this contact's, and replies may go to it.", agent, claim.Address)
	id := hashKey(systemActor(workspaceID), "claim-accepted\x00"+visitorID+"\x00"+claim.Address).newID(at)
	return &Message{ID: id, WorkspaceID: workspaceID, ConversationID: joined.ConversationID, ContactID: joined.ID,
		Kind: KindActivity, Body: body, Attachments: []Attachment{}, Status: MessageReceived, AuthorID: claim.AcceptedBy,
		CreatedAt: at, UpdatedAt: at}
}

// DismissClaimedEmail drops a visitor's unproved claim. An accepted claim
// stays: it records a join that happened.
func (s *Desk) DismissClaimedEmail(ctx context.Context, actor Actor, contactID string) (*Contact, error) {
	c, err := s.getContact(ctx, actor, contactID)
	if err != nil || !c.ClaimedEmail.pending() {
		return c, err
	}
	return s.mutateContact(ctx, actor, contactID, func(c *Contact) error {
		if c.ClaimedEmail.pending() {
			c.ClaimedEmail = nil
		}
		return nil
	})
}
