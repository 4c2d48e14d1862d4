package inbox

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"
)

// The agent bot (seed 001's bot status): a contact is with the bot or with
// the team. While with the bot, the workspace's bot subscription
// (WebhookSubscription.Bot) receives their messages, the bot replies
// through the API as a machine client, and assignment rules leave the
// conversation alone; the bot hands over by turning the status off with a
// reason, and the rules then route the conversation.

// BotInput turns a conversation's contact over to the bot or back.
type BotInput struct {
	Enabled bool   `json:"enabled"`
	Reason  string `json:"reason"`
}

const maxBotReason = 500

// SetBot sets the bot status of the conversation's contact, from the
// thread (no contact read by the caller), and notes it in the thread.
func (s *Desk) SetBot(ctx context.Context, actor Actor, conversationID string, in BotInput) (*Conversation, error) {
	reason := strings.TrimSpace(in.Reason)
	if !utf8.ValidString(reason) || utf8.RuneCountInString(reason) > maxBotReason {
		return nil, Invalid("reason", "reason is at most %d characters", maxBotReason)
	}
	conv, err := s.getConversation(ctx, actor, conversationID)
	if err != nil {
		return nil, err
	}
	changed := false
	contact, err := s.mutateContact(ctx, actor, conv.ContactID, func(c *Contact) error {
		changed = c.BotEnabled != in.Enabled
		c.BotEnabled = in.Enabled
		return nil
	})
	if err != nil {
		return nil, err
	}
	if changed {
		who := actor.Name
		if who == "" {
			who = actor.UserID
			if u, err := s.store.GetUser(ctx, actor.WorkspaceID, actor.UserID); err == nil && u.Name != "" {
				who = u.Name
			}
		}
		body := fmt.Sprintf("%s handed the conversation to the bot", who)
		if !in.Enabled {
			body = fmt.Sprintf("%s handed the conversation to the team", who)
		}
		if reason != "" {
			body += ": " + reason
		}
		now := s.now()
		note := &Message{ID: hashKey(systemActor(conv.WorkspaceID), fmt.Sprintf("bot#%s#%d#%t", conv.ID, contact.Version, in.Enabled)).newID(now),
			WorkspaceID: conv.WorkspaceID, ConversationID: conv.ID, ContactID: conv.ContactID,
			Kind: KindActivity, Body: body, Attachments: []Attachment{}, Status: MessageReceived, AuthorID: actor.UserID,
			CreatedAt: now, UpdatedAt: now}
		if err := s.store.PutMessage(ctx, note); err != nil {
			return nil, err
		}
	}
	return s.store.GetConversation(ctx, actor.WorkspaceID, conversationID)
}
