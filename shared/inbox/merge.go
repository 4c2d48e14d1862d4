package inbox

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"
)

// Merging two contacts: the survivor keeps its id and takes the absorbed
// contact's phones, emails, handles, tags, custom values and consent
// history; the absorbed contact's messages move into the survivor's
// thread and the absorbed contact and thread are deleted. A merge is a
// job keyed by the absorbed contact (a contact is absorbed at most once),
// so a repeated request finds it, and each step is idempotent, so a run
// that stopped halfway is finished by the next.

// MergeStatus is where a merge is.
type MergeStatus string

const (
	MergeRunning MergeStatus = "running"
	MergeDone    MergeStatus = "done"
)

// Merge is a contact merge job. Its id is the absorbed contact's.
type Merge struct {
	ID          string      `json:"id"`
	WorkspaceID string      `json:"workspaceId"`
	ContactID   string      `json:"contactId"`
	From        string      `json:"from"`
	FromName    string      `json:"fromName,omitempty"`
	Status      MergeStatus `json:"status"`
	// Moved counts the messages moved so far.
	Moved       int       `json:"messagesMoved"`
	RequestedBy string    `json:"requestedBy"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
	// FinishedAt is set once done.
	FinishedAt *time.Time `json:"finishedAt,omitempty"`
}

// MergeStore keeps merge jobs and performs their transactional steps.
type MergeStore interface {
	// StartMerge stores a new merge job and locks both contacts against
	// other merges, in one transaction; a lock held by another merge fails
	// with KindConflict.
	StartMerge(ctx context.Context, m *Merge) error
	// GetMerge reads a merge job by the absorbed contact's id.
	GetMerge(ctx context.Context, workspaceID, id string) (*Merge, error)
	// MoveMessages moves msgs from one thread to another (same ids, at
	// most MergeBatch), re-points their provider ids, and counts them on
	// the merge job, in one transaction. Moving a message again is a no-op.
	MoveMessages(ctx context.Context, m *Merge, fromConversationID, toConversationID string, msgs []*Message) error
	// PutConsentHistory writes a consent history entry as it is (a merge
	// copying the absorbed contact's history).
	PutConsentHistory(ctx context.Context, r *ConsentRecord) error
	// FinishMerge, in one transaction: replaces the survivor (prev →
	// next, versioned), deletes the absorbed contact (at its version) and
	// its consent state, moves its claims to the survivor, moves the tag
	// catalog's counts, writes the note (if any) in the survivor's
	// thread, releases the locks and marks the job done.
	FinishMerge(ctx context.Context, m *Merge, prev, next, absorbed *Contact, note *Message) error
}

// MergeBatch is how many messages one transaction moves: 25 messages are
// at most 75 items (the copy, the delete, the provider id), under
// DynamoDB's 100 per transaction with the job's progress.
const MergeBatch = 25

// MergeInlineMax is how many messages a merge moves inside the API request
// before it goes on in the background (8 transactions, about a second).
const MergeInlineMax = 200

// MergeRunner continues a merge in the background.
type MergeRunner interface {
	RunMergeAsync(ctx context.Context, workspaceID, mergeID string) error
}

// ConsentSourceMerge is consent that changed because two contacts merged.
const ConsentSourceMerge ConsentSource = "merge"

// MergeContacts merges contact from into contact id. Agents may merge: it
// is daily work, and nothing is lost (both histories stay readable). It
// moves at most inline messages (0: all of them) and reports whether the
// merge is done; a merge not done goes on with ContinueMerge.
func (s *Desk) MergeContacts(ctx context.Context, actor Actor, id, from string, inline int) (*Merge, error) {
	if from == "" {
		return nil, Invalid("from", "from is required: the id of the contact to merge into this one")
	}
	if from == id {
		return nil, Invalid("from", "a contact cannot be merged with itself")
	}
	if !ValidID(from) {
		return nil, Errorf(KindNotFound, "contact %q not found", from)
	}
	if m, err := s.store.GetMerge(ctx, actor.WorkspaceID, from); err == nil {
		if m.ContactID != id {
			return nil, Errorf(KindConflict, "contact %s is already being merged into another contact (%s)", from, m.ContactID)
		}
		if m.Status == MergeDone {
			return m, nil
		}
		return s.runMerge(ctx, m, inline)
	} else if !IsKind(err, KindNotFound) {
		return nil, err
	}
	survivor, err := s.getContact(ctx, actor, id)
	if err != nil {
		return nil, err
	}
	absorbed, err := s.getContact(ctx, actor, from)
	if err != nil {
		return nil, err
	}
	if _, err := mergedContact(survivor, absorbed); err != nil {
		return nil, err
	}
	now := s.now()
	m := &Merge{ID: from, WorkspaceID: actor.WorkspaceID, ContactID: id, From: from, FromName: describeContact(absorbed),
		Status: MergeRunning, RequestedBy: actor.UserID, CreatedAt: now, UpdatedAt: now}
	if err := s.store.StartMerge(ctx, m); err != nil {
		return nil, err
	}
	return s.runMerge(ctx, m, inline)
}

// GetMerge returns a contact's merge job.
func (s *Desk) GetMerge(ctx context.Context, actor Actor, contactID, mergeID string) (*Merge, error) {
	if !ValidID(mergeID) {
		return nil, Errorf(KindNotFound, "merge %q not found", mergeID)
	}
	m, err := s.store.GetMerge(ctx, actor.WorkspaceID, mergeID)
	if err != nil {
		return nil, err
	}
	if m.ContactID != contactID {
		return nil, Errorf(KindNotFound, "merge %q not found", mergeID)
	}
	return m, nil
}

// ContinueMerge runs a merge to its end (the background job).
func (s *Desk) ContinueMerge(ctx context.Context, workspaceID, mergeID string) (*Merge, error) {
	m, err := s.store.GetMerge(ctx, workspaceID, mergeID)
	if err != nil || m.Status == MergeDone {
		return m, err
	}
	return s.runMerge(ctx, m, 0)
}

// runMerge moves up to limit messages (0: no limit), then, if the thread
// is empty, finishes the merge.
func (s *Desk) runMerge(ctx context.Context, m *Merge, limit int) (*Merge, error) {
	actor := systemActor(m.WorkspaceID)
	absorbed, err := s.store.GetContact(ctx, m.WorkspaceID, m.From)
	if IsKind(err, KindNotFound) {
		// Finished by a concurrent run.
		return s.store.GetMerge(ctx, m.WorkspaceID, m.ID)
	}
	if err != nil {
		return nil, err
	}
	if absorbed.ConversationID != "" {
		from, err := s.store.GetConversation(ctx, m.WorkspaceID, absorbed.ConversationID)
		if err != nil && !IsKind(err, KindNotFound) {
			return nil, err
		}
		if err == nil {
			done, err := s.moveThread(ctx, m, from, limit)
			if err != nil || !done {
				return m, err
			}
		}
	}
	if err := s.finishMerge(ctx, actor, m); err != nil {
		// A concurrent run finished it: the absorbed contact is gone.
		if done, gerr := s.store.GetMerge(ctx, m.WorkspaceID, m.ID); gerr == nil && done.Status == MergeDone {
			return done, nil
		}
		return nil, err
	}
	return s.store.GetMerge(ctx, m.WorkspaceID, m.ID)
}

// moveThread moves the absorbed thread's messages into the survivor's, a
// batch per transaction, oldest first. Each batch deletes what it moved,
// so a resumed run starts again at the first message left. It reports
// whether the thread is empty and deleted.
func (s *Desk) moveThread(ctx context.Context, m *Merge, from *Conversation, limit int) (bool, error) {
	survivor, err := s.store.GetContact(ctx, m.WorkspaceID, m.ContactID)
	if err != nil {
		return false, err
	}
	to, _, err := s.conversationFor(ctx, survivor)
	if err != nil {
		return false, err
	}
	moved, conflicts := 0, 0
	for {
		if limit > 0 && moved >= limit {
			return false, nil
		}
		page, err := s.store.ListMessages(ctx, m.WorkspaceID, from.ID, PageRequest{Limit: MergeBatch})
		if err != nil {
			return false, err
		}
		if len(page.Items) == 0 {
			break
		}
		for _, msg := range page.Items {
			msg.ConversationID, msg.ContactID = to.ID, survivor.ID
		}
		err = s.store.MoveMessages(ctx, m, from.ID, to.ID, page.Items)
		if errors.Is(err, ErrVersionConflict) { // another run of this merge moved some first
			if conflicts++; conflicts > maxAttempts {
				return false, err
			}
			if cur, err := s.store.GetMerge(ctx, m.WorkspaceID, m.ID); err != nil || cur.Status == MergeDone {
				return false, err
			}
			continue
		}
		if err != nil {
			return false, err
		}
		moved += len(page.Items)
		m.Moved += len(page.Items)
	}
	// The survivor's thread takes the absorbed one's summary: its channels,
	// reply windows, latest message and unread state.
	if _, err := s.mutateConversation(ctx, systemActor(m.WorkspaceID), to.ID, func(c *Conversation) error {
		foldConversation(c, from)
		return nil
	}); err != nil {
		return false, err
	}
	// DeleteConversation keeps the counters right and unlinks the claims.
	return true, retryOnConflict(ctx, func() error {
		cur, err := s.store.GetConversation(ctx, m.WorkspaceID, from.ID)
		if IsKind(err, KindNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		return s.store.DeleteConversation(ctx, cur)
	})
}

// foldConversation merges another thread's summary into c.
func foldConversation(c, from *Conversation) {
	for _, ch := range from.Channels {
		if !containsChannel(c.Channels, ch) {
			c.Channels = append(c.Channels, ch)
		}
	}
	for ch, at := range from.LastInboundAt {
		if c.LastInboundAt == nil {
			c.LastInboundAt = map[Channel]time.Time{}
		}
		if at.After(c.LastInboundAt[ch]) {
			c.LastInboundAt[ch] = at
		}
	}
	if from.LastMessageAt != nil && (c.LastMessageAt == nil || from.LastMessageAt.After(*c.LastMessageAt)) {
		at := *from.LastMessageAt
		c.LastMessageAt, c.LastMessageDirection, c.Preview = &at, from.LastMessageDirection, from.Preview
		if from.ActivityID > c.ActivityID {
			c.ActivityID = from.ActivityID
		}
	}
	for _, l := range from.Labels {
		c.Labels = appendUnique(c.Labels, l)
	}
	c.Unread = c.Unread || from.Unread
	if c.AssigneeID == "" {
		c.AssigneeID = from.AssigneeID
	}
}

// finishMerge copies the consent history, applies the most restrictive
// consent, stops the absorbed contact's runs, and then moves the contact
// fields and claims in one transaction; last, it notes the merge in the
// survivor's thread.
func (s *Desk) finishMerge(ctx context.Context, actor Actor, m *Merge) error {
	absorbed, err := s.store.GetContact(ctx, m.WorkspaceID, m.From)
	if err != nil {
		return err
	}
	if err := s.copyConsentHistory(ctx, m); err != nil {
		return err
	}
	for ch, cc := range absorbed.Consent { // the most restrictive wins
		if cc.Status != ConsentOptedOut {
			continue
		}
		if _, err := s.changeConsent(ctx, m.WorkspaceID, m.ContactID, ConsentRecord{Channel: ch, Status: ConsentOptedOut,
			Source: ConsentSourceMerge, ChangedBy: m.RequestedBy}); err != nil {
			return err
		}
	}
	runs, err := s.store.ContactRuns(ctx, m.WorkspaceID, m.From)
	if err != nil {
		return err
	}
	for _, r := range runs {
		if r.Active() {
			if err := s.endRun(ctx, r, StopCanceled, true); err != nil {
				return err
			}
		}
	}
	var survivor *Contact
	err = retryOnConflict(ctx, func() error {
		prev, err := s.store.GetContact(ctx, m.WorkspaceID, m.ContactID)
		if err != nil {
			return err
		}
		if absorbed, err = s.store.GetContact(ctx, m.WorkspaceID, m.From); err != nil {
			return err
		}
		next, err := mergedContact(prev, absorbed)
		if err != nil {
			return err
		}
		next.UpdatedAt = s.now()
		var note *Message
		if next.ConversationID != "" {
			at := next.UpdatedAt
			note = &Message{ID: hashKey(actor, "merge\x00"+m.ID).newID(at), WorkspaceID: m.WorkspaceID,
				ConversationID: next.ConversationID, ContactID: next.ID, Kind: KindActivity,
				Body:        fmt.Sprintf("Merged %s into this contact (%d messages moved).", m.FromName, m.Moved),
				Attachments: []Attachment{}, Status: MessageReceived, AuthorID: m.RequestedBy, CreatedAt: at, UpdatedAt: at}
		}
		if err := s.store.FinishMerge(ctx, m, prev, next, absorbed, note); err != nil {
			return err
		}
		survivor = next
		return nil
	})
	if err != nil {
		return err
	}
	if survivor.ConversationID != "" {
		s.syncContactName(ctx, survivor)
	}
	return nil
}

// copyConsentHistory copies the absorbed contact's consent history under
// the survivor with the entries' own ids and times, so the survivor's
// history reads as both, interleaved in time order.
func (s *Desk) copyConsentHistory(ctx context.Context, m *Merge) error {
	p := PageRequest{Limit: MaxPageSize}
	for range 100 { // at most 10,000 entries
		page, err := s.store.ListConsentHistory(ctx, m.WorkspaceID, m.From, p)
		if err != nil {
			return err
		}
		for _, r := range page.Items {
			r.ContactID, r.MergedFrom = m.ContactID, m.From
			if err := s.store.PutConsentHistory(ctx, r); err != nil {
				return err
			}
		}
		if p.Cursor = page.NextCursor; p.Cursor == "" {
			return nil
		}
	}
	return nil
}

// mergedContact is the survivor with the absorbed contact's fields: the
// union of phones, emails, handles and tags (over a bound is a conflict,
// refused before anything changes), custom values the survivor lacks (the
// survivor's win), and the more restrictive marketing and do-not-disturb
// choices. Consent is merged through the ledger, not here.
func mergedContact(survivor, absorbed *Contact) (*Contact, error) {
	next := *survivor
	next.Consent = cloneMap(survivor.Consent)
	next.Marketing = cloneMap(survivor.Marketing)
	next.DND = cloneMap(survivor.DND)
	next.Custom = cloneMap(survivor.Custom)
	union := func(a, b []string) []string {
		out := append([]string{}, a...)
		for _, v := range b {
			out = appendUnique(out, v)
		}
		return out
	}
	next.Phones = union(survivor.Phones, absorbed.Phones)
	next.Emails = union(survivor.Emails, absorbed.Emails)
	next.Handles = union(survivor.Handles, absorbed.Handles)
	next.VerifiedHandles = union(survivor.VerifiedHandles, absorbed.VerifiedHandles)
	next.Tags = union(survivor.Tags, absorbed.Tags)
	switch {
	case len(next.Phones) > maxPhones:
		return nil, &Error{Kind: KindConflict, Field: "from", Message: fmt.Sprintf("together the contacts have %d phone numbers; a contact has at most %d: remove some first", len(next.Phones), maxPhones)}
	case len(next.Emails) > maxEmails:
		return nil, &Error{Kind: KindConflict, Field: "from", Message: fmt.Sprintf("together the contacts have %d email addresses; a contact has at most %d: remove some first", len(next.Emails), maxEmails)}
	case len(next.Tags) > maxTags:
		return nil, &Error{Kind: KindConflict, Field: "from", Message: fmt.Sprintf("together the contacts have %d tags; a contact has at most %d: remove some first", len(next.Tags), maxTags)}
	}
	perChannel := map[string]int{}
	for _, h := range next.Handles {
		if perChannel[handleChannel(h)]++; perChannel[handleChannel(h)] > maxHandlesPerChannel {
			return nil, &Error{Kind: KindConflict, Field: "from", Message: fmt.Sprintf("together the contacts have more than %d %s handles", maxHandlesPerChannel, handleChannel(h))}
		}
	}
	sort.Strings(next.Tags)
	if next.Name == "" {
		next.Name = absorbed.Name
	}
	if next.Timezone == "" {
		next.Timezone = absorbed.Timezone
	}
	for k, v := range absorbed.Custom {
		if _, ok := next.Custom[k]; !ok {
			if next.Custom == nil {
				next.Custom = map[string]string{}
			}
			next.Custom[k] = v
		}
	}
	for ch, v := range absorbed.Marketing {
		if cur, ok := next.Marketing[ch]; !ok || (cur && !v) {
			if next.Marketing == nil {
				next.Marketing = map[Channel]bool{}
			}
			next.Marketing[ch] = v
		}
	}
	for ch, v := range absorbed.DND {
		if v {
			if next.DND == nil {
				next.DND = map[Channel]bool{}
			}
			next.DND[ch] = true
		}
	}
	if !next.ConsentMessage.Sent && absorbed.ConsentMessage.Sent {
		next.ConsentMessage = absorbed.ConsentMessage
	}
	if next.ClaimedEmail == nil {
		next.ClaimedEmail = absorbed.ClaimedEmail
	}
	next.Normalize()
	return &next, nil
}

// describeContact names a contact for the merge's note: its name and the
// channel it is known on, e.g. "Jo (messenger)".
func describeContact(c *Contact) string {
	name := c.Name
	if name == "" {
		name = "a contact"
	}
	switch {
	case len(c.Phones) > 0:
		return fmt.Sprintf("%s (%s)", name, c.Phones[0])
	case len(c.Emails) > 0:
		return fmt.Sprintf("%s (%s)", name, c.Emails[0])
	case len(c.Handles) > 0:
		return fmt.Sprintf("%s (%s)", name, handleChannel(c.Handles[0]))
	}
	return name
}
