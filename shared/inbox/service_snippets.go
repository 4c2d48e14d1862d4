package inbox

import (
	"context"
	"fmt"
	"strings"
)

// CreateSnippet adds a snippet (admins only). Its body's merge tags are
// checked now, so an unknown tag is refused here, naming it.
func (s *Desk) CreateSnippet(ctx context.Context, actor Actor, in SnippetInput) (*Snippet, error) {
	if err := requireAdmin(actor, "manage snippets"); err != nil {
		return nil, err
	}
	now := s.now()
	sn := &Snippet{ID: NewID(now), WorkspaceID: actor.WorkspaceID, Name: in.Name, Shortcut: in.Shortcut, Category: in.Category,
		Body: in.Body, Attachments: in.Attachments, Channel: in.Channel, CreatedBy: actor.UserID, CreatedAt: now, UpdatedAt: now}
	if err := sn.validate(); err != nil {
		return nil, err
	}
	if err := s.checkCustomTags(ctx, actor.WorkspaceID, sn.Body); err != nil {
		return nil, err
	}
	var err error
	if sn.Attachments, err = s.storedAttachments(ctx, actor.WorkspaceID, sn.Attachments); err != nil {
		return nil, err
	}
	if err := s.store.CreateSnippet(ctx, sn); err != nil {
		return nil, err
	}
	return sn, nil
}

// GetSnippet returns one snippet; everyone in the workspace reads them.
func (s *Desk) GetSnippet(ctx context.Context, actor Actor, id string) (*Snippet, error) {
	if !ValidID(id) {
		return nil, Errorf(KindNotFound, "snippet %q not found", id)
	}
	return s.store.GetSnippet(ctx, actor.WorkspaceID, id)
}

// Snippets lists snippets by name, optionally of one category, and searches
// them: q "/th" finds shortcuts starting /th, any other q names starting
// with it (case-insensitive).
func (s *Desk) Snippets(ctx context.Context, actor Actor, q SnippetQuery) (Page[*Snippet], error) {
	if err := normalizePage(&q.Page); err != nil {
		return Page[*Snippet]{}, err
	}
	q.Category = strings.TrimSpace(q.Category)
	q.Q = strings.TrimSpace(q.Q)
	if len(q.Category) > 4*maxSnippetCategory || strings.ContainsFunc(q.Category, func(r rune) bool { return r < 0x20 || r == '#' }) {
		return Page[*Snippet]{}, Invalid("category", "no such category")
	}
	if len(q.Q) > 4*maxSnippetName || strings.ContainsFunc(q.Q, func(r rune) bool { return r < 0x20 || r == '#' }) {
		return Page[*Snippet]{}, Invalid("q", "search text is at most %d characters, without # or control characters", maxSnippetName)
	}
	q.Q = strings.ToLower(q.Q)
	return s.store.ListSnippets(ctx, actor.WorkspaceID, q)
}

// UpdateSnippet changes a snippet (admins only).
func (s *Desk) UpdateSnippet(ctx context.Context, actor Actor, id string, p SnippetPatch) (*Snippet, error) {
	if err := requireAdmin(actor, "manage snippets"); err != nil {
		return nil, err
	}
	var out *Snippet
	err := retryOnConflict(ctx, func() error {
		prev, err := s.GetSnippet(ctx, actor, id)
		if err != nil {
			return err
		}
		next := *prev
		if p.Name != nil {
			next.Name = *p.Name
		}
		if p.Shortcut != nil {
			next.Shortcut = *p.Shortcut
		}
		if p.Category != nil {
			next.Category = *p.Category
		}
		if p.Body != nil {
			next.Body = *p.Body
		}
		if p.Attachments != nil {
			next.Attachments = *p.Attachments
		}
		if p.Channel != nil {
			next.Channel = *p.Channel
		}
		if err := next.validate(); err != nil {
			return err
		}
		if err := s.checkCustomTags(ctx, actor.WorkspaceID, next.Body); err != nil {
			return err
		}
		if next.Attachments, err = s.storedAttachments(ctx, actor.WorkspaceID, next.Attachments); err != nil {
			return err
		}
		next.UpdatedAt = s.now()
		out = &next
		return s.store.UpdateSnippet(ctx, prev, &next)
	})
	return out, err
}

// DeleteSnippet removes a snippet and frees its shortcut (admins only).
func (s *Desk) DeleteSnippet(ctx context.Context, actor Actor, id string) error {
	if err := requireAdmin(actor, "manage snippets"); err != nil {
		return err
	}
	return retryOnConflict(ctx, func() error {
		sn, err := s.GetSnippet(ctx, actor, id)
		if err != nil {
			return err
		}
		return s.store.DeleteSnippet(ctx, sn)
	})
}

// RenderSnippet fills a snippet's merge tags for a conversation: from its
// contact, the calling agent and the workspace. It sends nothing and
// writes nothing (seed 002: a snippet is never sent by itself); the agent
// edits the text in the composer and posts it as a message. The rendered
// text is checked against the channel's limits, and anything that would
// stop it being sent as it is comes back as a warning.
func (s *Desk) RenderSnippet(ctx context.Context, actor Actor, conversationID, snippetID string, in RenderInput) (*RenderedSnippet, error) {
	sn, err := s.GetSnippet(ctx, actor, snippetID)
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
	tpl, err := ParseTemplate(sn.Body)
	if err != nil {
		return nil, err
	}
	out := &RenderedSnippet{SnippetID: sn.ID, Attachments: sn.Attachments, Warnings: []string{}}
	ch := in.Channel
	switch {
	case ch != "":
		if _, err := parseChannel("channel", string(ch)); err != nil {
			return nil, err
		}
	case sn.Channel != "":
		ch = sn.Channel
	default:
		if ch, err = DefaultChannel(conv, contact, s.now()); err != nil {
			ch = ""
			out.Warnings = append(out.Warnings, "no channel to check the text against: the contact has not written yet and has no phone or email")
		}
	}
	if sn.Channel != "" && ch.ConsentChannel() != sn.Channel.ConsentChannel() {
		return nil, Invalid("channel", "snippet %s is for %s only", sn.Shortcut, sn.Channel)
	}
	switch {
	case len(sn.Attachments) > 0 && ch == ChannelSMS:
		ch = ChannelMMS
	case len(sn.Attachments) == 0 && ch == ChannelMMS:
		ch = ChannelSMS
	}
	d, err := s.mergeData(ctx, actor.WorkspaceID, tpl, conv, contact, actor.UserID)
	if err != nil {
		return nil, err
	}
	d.Channel = ch
	out.Body, out.Channel = Render(tpl, d), ch
	if ch != "" {
		warnings, err := CheckRendered(ch, out.Body)
		if err != nil {
			out.Warnings = append(out.Warnings, errorMessage(err)+"; shorten it before sending")
		}
		out.Warnings = append(out.Warnings, warnings...)
		for _, a := range sn.Attachments {
			if !mediaAllowed(ch, a.ContentType) {
				out.Warnings = append(out.Warnings, fmt.Sprintf("%s cannot carry %s attachments (%s)", ch, a.ContentType, attachmentName(a)))
			}
		}
	}
	return out, nil
}

func errorMessage(err error) string {
	if e, ok := err.(*Error); ok {
		return e.Message
	}
	return "internal error"
}

// mergeData reads what a template's tags name and nothing more: the agent
// (a user of the workspace) only for agent.* tags, the workspace only for
// workspace.* tags. An agent who is not registered in the workspace leaves
// agent.* to their fallbacks.
func (s *core) mergeData(ctx context.Context, ws string, tpl *MergeTemplate, conv *Conversation, contact *Contact, agentID string) (MergeData, error) {
	d := MergeData{Contact: contact}
	if conv != nil {
		d.ConversationID = conv.ID
	}
	if agentID != "" && tpl.Needs("agent") {
		u, err := s.store.GetUser(ctx, ws, agentID)
		switch {
		case err == nil:
			d.Agent = u
		case !IsKind(err, KindNotFound):
			return d, err
		}
	}
	if tpl.Needs("workspace") {
		name, err := s.store.WorkspaceName(ctx, ws)
		if err != nil {
			return d, err
		}
		d.WorkspaceName = name
	}
	return d, nil
}

// renderOutbound fills the merge tags of a message body when asked:
// in.Render for an agent, always for sequence steps (validated when saved).
// It runs once the channel is known. agentID names the user whose agent.*
// fields fill the tags.
func (s *core) renderOutbound(ctx context.Context, ws string, conv *Conversation, contact *Contact, agentID string, in *OutboundInput) error {
	if !in.Render || !strings.Contains(in.Body, "{{") {
		return nil
	}
	tpl, err := ParseTemplate(in.Body)
	if err != nil {
		return err
	}
	if err := s.checkCustomTags(ctx, ws, in.Body); err != nil {
		return err
	}
	d, err := s.mergeData(ctx, ws, tpl, conv, contact, agentID)
	if err != nil {
		return err
	}
	in.mergeData = &d
	in.mergeTemplate = tpl
	return nil
}
