package inbox

import (
	"context"
	"strings"
	"time"
)

// The address book (issue 13, part 6): the contacts listed by name with a
// cursor, tags added and removed one at a time with a catalog for
// autocomplete, If-Match on versioned updates, and the consent an inbox row
// shows next to a name.

// TagCount is one entry of the workspace's tag catalog: a tag and how many
// contacts carry it. Counts are kept as tags are added and removed, never
// by scanning; they may lag by one write a crashed request left undone.
type TagCount struct {
	Name  string `json:"name"`
	Count int64  `json:"count"`
}

// TagStore keeps contact tags one at a time, and the workspace's tag catalog.
type TagStore interface {
	// AddContactTag adds tag to a contact atomically, so two agents adding
	// different tags at once both win, and bumps its version. It reports
	// false when the contact already has the tag; a contact with max tags
	// fails with KindInvalid; a missing one with KindNotFound.
	AddContactTag(ctx context.Context, workspaceID, contactID, tag string, max int, at time.Time) (bool, error)
	// RemoveContactTag removes tag from a contact atomically and bumps its
	// version; false when the contact did not have it.
	RemoveContactTag(ctx context.Context, workspaceID, contactID, tag string, at time.Time) (bool, error)
	// CountTags moves the catalog's counts: +1 for each added tag, -1 for
	// each removed one, creating catalog entries on first use.
	CountTags(ctx context.Context, workspaceID string, added, removed []string) error
	// ListTags pages through the catalog in case-insensitive name order,
	// only tags starting with prefix (any case) and carried by a contact.
	ListTags(ctx context.Context, workspaceID, prefix string, p PageRequest) (Page[*TagCount], error)
	// SetConversationConsent stores the consent an inbox row shows on a
	// conversation, bumping its version.
	SetConversationConsent(ctx context.Context, workspaceID, conversationID string, consent RowConsent) error
}

// RowConsent is the contact's consent an inbox row shows next to the name
// (seed 002): the status of each channel consent was recorded on (a
// channel absent is opted in, the default), and whether the consent
// message went out. It is denormalised onto the conversation and kept in
// sync where consent changes. Both are left out while empty (no consent
// recorded, no consent message sent), which keeps the inbox index's rows,
// read 25 to 100 at a time, as small as before.
type RowConsent struct {
	Consent            map[Channel]ConsentStatus `json:"contactConsent,omitempty"`
	ConsentMessageSent bool                      `json:"consentMessageSent,omitempty"`
}

// RowConsent is what an inbox row shows of this contact's consent.
func (c *Contact) RowConsent() RowConsent {
	out := RowConsent{Consent: make(map[Channel]ConsentStatus, len(c.Consent)), ConsentMessageSent: c.ConsentMessage.Sent}
	for ch, cc := range c.Consent {
		out.Consent[ch] = cc.Status
	}
	return out
}

// Equal reports whether two row consents show the same thing.
func (r RowConsent) Equal(o RowConsent) bool {
	if r.ConsentMessageSent != o.ConsentMessageSent || len(r.Consent) != len(o.Consent) {
		return false
	}
	for ch, st := range r.Consent {
		if o.Consent[ch] != st {
			return false
		}
	}
	return true
}

// checkIfMatch compares the version a caller's If-Match header names (nil
// when the request has none) with the stored one. A write whose stored
// version differs fails with KindPreconditionFailed and writes nothing.
func checkIfMatch(want *int64, what string, have int64) error {
	if want == nil || *want == have {
		return nil
	}
	return Errorf(KindPreconditionFailed, "the %s is at version %d, not the If-Match version %d; read it again and retry", what, have, *want)
}

// ListContacts pages through the address book in name order (q empty), or
// searches it by exactly one of phone, email or name prefix. Phone and
// email match at most one contact, so their page never has a next cursor.
func (s *Desk) ListContacts(ctx context.Context, actor Actor, q ContactQuery, p PageRequest) (Page[*Contact], error) {
	p.Limit = pageLimit(p.Limit)
	if q.Phone == "" && q.Email == "" && q.Name == "" {
		return s.store.ListContactsByName(ctx, actor.WorkspaceID, "", p)
	}
	return s.SearchContacts(ctx, actor, q, p)
}

func pageLimit(n int) int {
	if n <= 0 || n > MaxPageSize {
		return DefaultPageSize
	}
	return n
}

// AddContactTag tags a contact with one tag; adding a tag it has is a no-op.
func (s *Desk) AddContactTag(ctx context.Context, actor Actor, id, tag string) error {
	t, err := oneTag(tag)
	if err != nil {
		return err
	}
	if !ValidID(id) {
		return Errorf(KindNotFound, "contact %q not found", id)
	}
	var added bool
	err = retryOnConflict(ctx, func() error {
		var err error
		added, err = s.store.AddContactTag(ctx, actor.WorkspaceID, id, t, maxTags, s.now())
		return err
	})
	if err != nil || !added {
		return err
	}
	// Best effort: the contact is the truth, the catalog a hint.
	_ = s.store.CountTags(ctx, actor.WorkspaceID, []string{t}, nil)
	return nil
}

// RemoveContactTag removes one tag from a contact; removing one it lacks is a no-op.
func (s *Desk) RemoveContactTag(ctx context.Context, actor Actor, id, tag string) error {
	t, err := oneTag(tag)
	if err != nil {
		return err
	}
	if !ValidID(id) {
		return Errorf(KindNotFound, "contact %q not found", id)
	}
	removed, err := s.store.RemoveContactTag(ctx, actor.WorkspaceID, id, t, s.now())
	if err != nil || !removed {
		return err
	}
	_ = s.store.CountTags(ctx, actor.WorkspaceID, nil, []string{t})
	return nil
}

// Tags pages through the workspace's tag catalog, for autocomplete.
func (s *Desk) Tags(ctx context.Context, actor Actor, prefix string, p PageRequest) (Page[*TagCount], error) {
	prefix = strings.TrimSpace(prefix)
	if len([]rune(prefix)) > maxTagLen {
		return Page[*TagCount]{}, Invalid("prefix", "a tag prefix is at most %d characters", maxTagLen)
	}
	p.Limit = pageLimit(p.Limit)
	return s.store.ListTags(ctx, actor.WorkspaceID, prefix, p)
}

func oneTag(tag string) (string, error) {
	tags, err := validateTags("tag", []string{tag})
	if err != nil {
		return "", err
	}
	return tags[0], nil
}

// tagDiff is what a replaced tag list added and removed.
func tagDiff(prev, next []string) (added, removed []string) {
	for _, t := range next {
		if !contains(prev, t) {
			added = append(added, t)
		}
	}
	for _, t := range prev {
		if !contains(next, t) {
			removed = append(removed, t)
		}
	}
	return added, removed
}

// countTags moves the catalog for a contact write; best effort.
func (s *core) countTags(ctx context.Context, ws string, prev, next []string) {
	if added, removed := tagDiff(prev, next); len(added)+len(removed) > 0 {
		_ = s.store.CountTags(ctx, ws, added, removed)
	}
}

// syncRowConsent copies a contact's consent onto its conversation's inbox
// row after a consent change: one UpdateItem, no read. Best effort: the
// contact's consent items are the truth.
func (s *core) syncRowConsent(ctx context.Context, c *Contact) {
	if c.ConversationID == "" {
		return
	}
	_ = s.store.SetConversationConsent(ctx, c.WorkspaceID, c.ConversationID, c.RowConsent())
}
