package inbox

import "context"

// The desk's reads and writes that other use cases share: an automation
// step assigns, and intake and runs create contacts, the same way.

// CreateContact adds a contact; a phone or email already on another
// contact is a conflict.
func (s *Desk) CreateContact(ctx context.Context, actor Actor, in ContactInput) (*Contact, error) {
	return s.createContact(ctx, actor, in)
}

// GetContact returns one contact of the caller's workspace.
func (s *Desk) GetContact(ctx context.Context, actor Actor, id string) (*Contact, error) {
	return s.getContact(ctx, actor, id)
}

// GetConversation returns one conversation of the caller's workspace.
func (s *Desk) GetConversation(ctx context.Context, actor Actor, id string) (*Conversation, error) {
	return s.getConversation(ctx, actor, id)
}

// Assign gives a conversation to a team member; an empty userID unassigns.
func (s *Desk) Assign(ctx context.Context, actor Actor, id, userID string) (*Conversation, error) {
	return s.assign(ctx, actor, id, userID)
}
