package inbox

import (
	"context"
	"strings"
	"sync"
)

// StartInput starts a conversation from a phone number or an existing contact.
type StartInput struct {
	Phone     string `json:"phone"`
	ContactID string `json:"contactId"`
	// Name names a contact created from a new phone number.
	Name string `json:"name"`
}

// StartConversation returns the contact's thread, creating the contact (for a
// new phone number) and the thread as needed. created reports whether a new
// thread was made.
func (s *Desk) StartConversation(ctx context.Context, actor Actor, in StartInput) (conv *Conversation, created bool, err error) {
	if (in.Phone == "") == (in.ContactID == "") {
		return nil, false, Invalid("phone", "give either phone or contactId")
	}
	var contact *Contact
	if in.ContactID != "" {
		if contact, err = s.getContact(ctx, actor, in.ContactID); err != nil {
			return nil, false, err
		}
	} else if contact, err = s.contactForPhone(ctx, actor, in.Phone, in.Name); err != nil {
		return nil, false, err
	}
	return s.conversationFor(ctx, contact)
}

func (s *core) contactForPhone(ctx context.Context, actor Actor, phone, name string) (*Contact, error) {
	e164, err := NormalizePhone("phone", phone)
	if err != nil {
		return nil, err
	}
	if _, err := validateName("name", name); err != nil {
		return nil, err
	}
	for range maxAttempts {
		c, err := s.store.FindContactByPhone(ctx, actor.WorkspaceID, e164)
		if !IsKind(err, KindNotFound) {
			return c, err
		}
		c, err = s.createContact(ctx, actor, ContactInput{Name: name, Phones: []string{e164}})
		if !IsKind(err, KindConflict) {
			return c, err
		}
		// Someone created it between our look-up and our write: look again.
	}
	return nil, Errorf(KindConflict, "phone %s is being claimed concurrently; retry", e164)
}

// conversationFor finds or creates the single thread of a contact.
func (s *core) conversationFor(ctx context.Context, contact *Contact) (*Conversation, bool, error) {
	for range maxAttempts {
		if contact.ConversationID != "" {
			c, err := s.store.GetConversation(ctx, contact.WorkspaceID, contact.ConversationID)
			if err == nil && !c.Deleting {
				return c, false, nil
			}
			if err != nil && !IsKind(err, KindNotFound) {
				return nil, false, err
			}
			// The thread was deleted, or is being deleted: start another.
		}
		conv := NewConversation(contact, s.now())
		err := s.store.CreateConversation(ctx, conv, contact)
		if err == nil {
			return conv, true, nil
		}
		if !IsKind(err, KindConflict) {
			return nil, false, err
		}
		// The contact changed, or another request linked a thread first.
		if contact, err = s.store.GetContact(ctx, contact.WorkspaceID, contact.ID); err != nil {
			return nil, false, err
		}
	}
	return nil, false, ErrVersionConflict
}

// getConversation returns one conversation of the caller's workspace.
func (s *core) getConversation(ctx context.Context, actor Actor, id string) (*Conversation, error) {
	if !ValidID(id) {
		return nil, Errorf(KindNotFound, "conversation %q not found", id)
	}
	c, err := s.store.GetConversation(ctx, actor.WorkspaceID, id)
	if err == nil && c.Deleting {
		return nil, Errorf(KindNotFound, "conversation %q not found", id)
	}
	return c, err
}

// Inbox lists active (non-archived) conversations, newest activity first.
func (s *Desk) Inbox(ctx context.Context, actor Actor, f InboxFilter, p PageRequest) (Page[*Conversation], error) {
	if f.Status != "" && f.Status != StatusOpen && f.Status != StatusComplete {
		return Page[*Conversation]{}, Invalid("status", "status must be open or complete")
	}
	if f.Channel != "" && !f.Channel.Valid() {
		return Page[*Conversation]{}, Invalid("channel", "unknown channel %q", f.Channel)
	}
	if f.Label != "" && !ValidID(f.Label) {
		return Page[*Conversation]{}, Invalid("label", "label must be a label id")
	}
	if err := normalizePage(&p); err != nil {
		return Page[*Conversation]{}, err
	}
	return s.store.ListInbox(ctx, actor.WorkspaceID, f, p)
}

func normalizePage(p *PageRequest) error {
	if p.Limit == 0 {
		p.Limit = DefaultPageSize
	}
	if p.Limit < 1 || p.Limit > MaxPageSize {
		return Invalid("limit", "limit must be between 1 and %d", MaxPageSize)
	}
	return nil
}

// SearchConversations finds threads, archived ones included, by the
// contact's name prefix, phone or email.
//
// It pages through the matching contacts: a page holds the threads of up to
// p.Limit contacts (fewer when some have none), and its cursor continues
// after the last contact read.
func (s *Desk) SearchConversations(ctx context.Context, actor Actor, q string, p PageRequest) (Page[*Conversation], error) {
	q = strings.TrimSpace(q)
	if q == "" {
		return Page[*Conversation]{}, Invalid("q", "search text is empty")
	}
	query := ContactQuery{}
	switch {
	case strings.Contains(q, "@"):
		query.Email = q
	case looksLikePhone(q):
		query.Phone = q
	default:
		query.Name = q
	}
	found, err := s.SearchContacts(ctx, actor, query, p)
	if err != nil {
		return Page[*Conversation]{}, err
	}
	ids := make([]string, 0, len(found.Items))
	for _, c := range found.Items {
		if c.ConversationID != "" {
			ids = append(ids, c.ConversationID)
		}
	}
	convs, err := s.store.GetConversations(ctx, actor.WorkspaceID, ids)
	if err != nil {
		return Page[*Conversation]{}, err
	}
	out := make([]*Conversation, 0, len(convs))
	for _, c := range convs {
		if !c.Deleting {
			out = append(out, c)
		}
	}
	return Page[*Conversation]{Items: out, NextCursor: found.NextCursor}, nil
}

func looksLikePhone(q string) bool {
	digits := 0
	for _, r := range q {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case strings.ContainsRune("+-() .", r):
		default:
			return false
		}
	}
	return digits >= 5
}

// mutateConversation applies change to the latest version, retrying when
// another writer got there first, so concurrent agents lose no update.
func (s *core) mutateConversation(ctx context.Context, actor Actor, id string, change func(*Conversation) error) (*Conversation, error) {
	var out *Conversation
	err := retryOnConflict(ctx, func() error {
		c, err := s.getConversation(ctx, actor, id)
		if err != nil {
			return err
		}
		if err := change(c); err != nil {
			return err
		}
		c.UpdatedAt = s.now()
		out = c
		return s.store.PutConversation(ctx, c)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// SetArchived hides a conversation from the inbox, or brings it back. The
// history is kept either way.
func (s *Desk) SetArchived(ctx context.Context, actor Actor, id string, archived bool) (*Conversation, error) {
	return s.mutateConversation(ctx, actor, id, func(c *Conversation) error { c.Archived = archived; return nil })
}

// SetUnread marks a conversation read or unread for the whole team.
func (s *Desk) SetUnread(ctx context.Context, actor Actor, id string, unread bool) (*Conversation, error) {
	return s.mutateConversation(ctx, actor, id, func(c *Conversation) error { c.Unread = unread; return nil })
}

// SetStatus completes or reopens a conversation.
func (s *Desk) SetStatus(ctx context.Context, actor Actor, id string, status ConversationStatus) (*Conversation, error) {
	return s.mutateConversation(ctx, actor, id, func(c *Conversation) error { c.Status = status; return nil })
}

// assign gives a conversation to a team member; an empty userID unassigns.
func (s *core) assign(ctx context.Context, actor Actor, id, userID string) (*Conversation, error) {
	if userID != "" {
		if _, err := s.store.GetUser(ctx, actor.WorkspaceID, userID); IsKind(err, KindNotFound) {
			return nil, Invalid("assigneeId", "user %q is not a member of this workspace", userID)
		} else if err != nil {
			return nil, err
		}
	}
	return s.mutateConversation(ctx, actor, id, func(c *Conversation) error {
		if c.AssigneeID != userID {
			// A person's choice: no longer the rule's, and no longer waiting
			// (the queue drops its place when it reaches it).
			c.AssigneeID, c.AutoAssignment, c.WaitingSince = userID, nil, nil
		}
		return nil
	})
}

// AddLabel labels a conversation with one of the workspace's labels.
func (s *Desk) AddLabel(ctx context.Context, actor Actor, id, labelID string) (*Conversation, error) {
	if _, err := s.GetLabel(ctx, actor, labelID); err != nil {
		if IsKind(err, KindNotFound) {
			return nil, Invalid("labelId", "label %q does not exist in this workspace", labelID)
		}
		return nil, err
	}
	return s.mutateConversation(ctx, actor, id, func(c *Conversation) error { return addLabel(c, labelID) })
}

// addLabel labels a conversation within the limit every path obeys.
func addLabel(c *Conversation, labelID string) error {
	if len(c.Labels) >= maxTags && !contains(c.Labels, labelID) {
		return Invalid("labelId", "a conversation has at most %d labels", maxTags)
	}
	c.Labels = appendUnique(c.Labels, labelID)
	return nil
}

// RemoveLabel takes a label off a conversation.
func (s *Desk) RemoveLabel(ctx context.Context, actor Actor, id, labelID string) (*Conversation, error) {
	return s.mutateConversation(ctx, actor, id, func(c *Conversation) error {
		c.Labels = removeValue(c.Labels, labelID)
		return nil
	})
}

// MaxBulk is the most ids one bulk request may name.
const MaxBulk = 100

// BulkResult is the outcome for one id of a bulk request.
type BulkResult struct {
	ID     string `json:"id"`
	Status int    `json:"status"`
	Error  string `json:"error,omitempty"`
}

// BulkArchive archives up to MaxBulk conversations and reports each one.
func (s *Desk) BulkArchive(ctx context.Context, actor Actor, ids []string) ([]BulkResult, error) {
	if len(ids) == 0 {
		return nil, Invalid("ids", "ids is empty")
	}
	if len(ids) > MaxBulk {
		return nil, Invalid("ids", "at most %d ids per request; got %d", MaxBulk, len(ids))
	}
	// Each distinct id is its own conditional write; a few at a time keeps
	// 100 ids well inside a Lambda timeout. A repeated id is done once and
	// reported at each of its positions.
	byID := map[string]BulkResult{}
	for _, id := range ids {
		byID[id] = BulkResult{}
	}
	var mu sync.Mutex
	sem := make(chan struct{}, bulkConcurrency)
	var wg sync.WaitGroup
	for id := range byID {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			_, err := s.SetArchived(ctx, actor, id, true)
			mu.Lock()
			byID[id] = bulkResult(id, err)
			mu.Unlock()
		}()
	}
	wg.Wait()
	results := make([]BulkResult, len(ids))
	for i, id := range ids {
		results[i] = byID[id]
	}
	return results, nil
}

const bulkConcurrency = 8

func bulkResult(id string, err error) BulkResult {
	switch ErrorKind(err) {
	case KindNotFound:
		return BulkResult{ID: id, Status: 404, Error: "conversation not found"}
	case KindConflict:
		return BulkResult{ID: id, Status: 409, Error: "conversation is being changed; retry"}
	}
	if err != nil {
		return BulkResult{ID: id, Status: 500, Error: "internal error"}
	}
	return BulkResult{ID: id, Status: 200}
}

// DeleteConversation removes a thread and every message in it, for good.
// Only admins may, and only when the workspace allows deletion.
func (s *Desk) DeleteConversation(ctx context.Context, actor Actor, id string) error {
	if err := requireAdmin(actor, "delete conversations"); err != nil {
		return err
	}
	w, err := s.store.GetWorkspace(ctx, actor.WorkspaceID)
	if err != nil {
		return err
	}
	if !w.Settings.ConversationDeletion {
		return Errorf(KindForbidden, "conversation deletion is turned off in this workspace's settings")
	}
	if !ValidID(id) {
		return Errorf(KindNotFound, "conversation %q not found", id)
	}
	var conv *Conversation
	// Mark it first: it leaves the inbox at once, and a retry after a crash
	// finds it and finishes the job.
	err = retryOnConflict(ctx, func() error {
		c, err := s.store.GetConversation(ctx, actor.WorkspaceID, id)
		if err != nil {
			return err
		}
		conv = c
		if c.Deleting {
			return nil
		}
		c.Deleting = true
		c.UpdatedAt = s.now()
		return s.store.PutConversation(ctx, c)
	})
	if err != nil {
		return err
	}
	return retryOnConflict(ctx, func() error { return s.store.DeleteConversation(ctx, conv) })
}
