package inbox

import (
	"context"
	"slices"
	"time"

	"github.com/oklog/ulid/v2"
)

// Delta sync: a client that was offline connects its socket first, then
// reads what changed since the last event it saw (updatedSince), then
// trusts the socket. The change log that answers it is written by the
// table's stream consumer, never by a request, and keeps a week.

// ChangeLogRetention is how far back updatedSince may reach.
const ChangeLogRetention = 7 * 24 * time.Hour

// syncMargin is re-read before the cursor: concurrent stream consumers
// stamp the log with their own clocks, which may differ a little. Clients
// apply changes by version, so a change seen twice is harmless.
const syncMargin = 5 * time.Second

// SyncPage is a page of changes and the seq of its newest: the next
// updatedSince.
type SyncPage[T any] struct {
	Page[T]
	// Deleted are the conversations deleted since (conversations only).
	Deleted []string `json:"deleted,omitempty"`
	Seq     string   `json:"seq,omitempty"`
}

// ParseSince reads updatedSince: an event's seq (a ULID) or an RFC 3339
// time. It returns the time to read the log from.
func ParseSince(s string, now time.Time) (time.Time, error) {
	var t time.Time
	if id, err := ulid.ParseStrict(s); err == nil {
		t = ulid.Time(id.Time())
	} else if t, err = time.Parse(time.RFC3339Nano, s); err != nil {
		return t, Invalid("updatedSince", "updatedSince is an event's seq or an RFC 3339 time")
	}
	if now.Sub(t) > ChangeLogRetention-syncMargin {
		return t, Errorf(KindGone, "updatedSince is older than the %d-day change log; reload the list instead", int(ChangeLogRetention.Hours()/24))
	}
	return t.Add(-syncMargin), nil
}

// SyncConversations lists the conversations that changed after since,
// archived ones included (with archived set), oldest change first, each
// once per page at its latest version.
func (s *Desk) SyncConversations(ctx context.Context, actor Actor, since string, p PageRequest) (SyncPage[*Conversation], error) {
	after, err := ParseSince(since, s.now())
	if err == nil {
		err = normalizePage(&p)
	}
	if err != nil {
		return SyncPage[*Conversation]{}, err
	}
	page, seq, err := s.store.ConversationChanges(ctx, actor.WorkspaceID, after, p)
	out := SyncPage[*Conversation]{Page: Page[*Conversation]{Items: []*Conversation{}, NextCursor: page.NextCursor}, Seq: seq}
	for _, c := range latest(page.Items, func(c *Conversation) (string, int64) { return c.ID, c.Version }) {
		if c.Deleting {
			out.Deleted = append(out.Deleted, c.ID)
		} else {
			out.Items = append(out.Items, c)
		}
	}
	return out, err
}

// SyncMessages lists a thread's messages created or changed after since.
func (s *Desk) SyncMessages(ctx context.Context, actor Actor, conversationID, since string, p PageRequest) (SyncPage[*Message], error) {
	after, err := ParseSince(since, s.now())
	if err == nil {
		err = normalizePage(&p)
	}
	if err == nil {
		_, err = s.getConversation(ctx, actor, conversationID)
	}
	if err != nil {
		return SyncPage[*Message]{}, err
	}
	page, seq, err := s.store.MessageChanges(ctx, actor.WorkspaceID, conversationID, after, p)
	page.Items = latest(page.Items, func(m *Message) (string, int64) { return m.ID, m.UpdatedAt.UnixNano() })
	return SyncPage[*Message]{Page: page, Seq: seq}, err
}

// latest keeps each item's newest copy, in the order of its last change.
func latest[T any](items []T, key func(T) (string, int64)) []T {
	newest := map[string]int64{}
	for _, it := range items {
		id, v := key(it)
		newest[id] = max(newest[id], v)
	}
	out := make([]T, 0, len(newest))
	for i := len(items) - 1; i >= 0; i-- {
		id, v := key(items[i])
		if v == newest[id] {
			out = append(out, items[i])
			delete(newest, id)
		}
	}
	slices.Reverse(out)
	return out
}

// WhatChanged names what an agent sees change between two versions of a
// conversation; empty when only internals moved (a heartbeat, a reply
// window).
func WhatChanged(before, after *Conversation) []string {
	var out []string
	add := func(changed bool, name string) {
		if changed {
			out = append(out, name)
		}
	}
	add(before.Status != after.Status, "status")
	add(before.Archived != after.Archived, "archived")
	add(before.Unread != after.Unread, "unread")
	add(before.AssigneeID != after.AssigneeID, "assignee")
	add(before.Bot != after.Bot, "bot")
	add(!slices.Equal(before.Labels, after.Labels), "labels")
	add(!slices.Equal(before.Channels, after.Channels), "channels")
	add(before.ContactName != after.ContactName || before.ContactID != after.ContactID, "contact")
	add(before.ActivityID != after.ActivityID || before.Preview != after.Preview, "lastMessage")
	return out
}
