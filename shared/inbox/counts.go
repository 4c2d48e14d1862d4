package inbox

import (
	"context"
	"strings"
)

// Counts are the inbox's badges, read in O(1): counters the table's stream
// keeps (the publisher applies each change's delta exactly once), so no
// request path counts by reading conversations, and no hot write pays for
// them.

// Tally is how many conversations of a view are open, and how many of
// those are unread.
type Tally struct {
	Open   int64 `json:"open"`
	Unread int64 `json:"unread"`
}

// ConversationCounts are the inbox's badges for one agent.
type ConversationCounts struct {
	All        Tally             `json:"all"`
	Mine       Tally             `json:"mine"`
	Unassigned Tally             `json:"unassigned"`
	Labels     map[string]Tally  `json:"labels"`
	Channels   map[Channel]Tally `json:"channels"`
}

// TaskCounts are the manual-action queue's badges for one agent.
type TaskCounts struct {
	Open       int64 `json:"open"`
	Mine       int64 `json:"mine"`
	Unassigned int64 `json:"unassigned"`
}

// Counters are named counts as the store keeps them.
type Counters map[string]int64

// CounterSet names which counters: a workspace's conversations or tasks.
type CounterSet string

const (
	ConversationCounters CounterSet = "conversations"
	TaskCounters         CounterSet = "tasks"
)

// Counter names: "open" and "unread" for the whole inbox, and the same
// with "|assignee|<user>" ("" for unassigned), "|label|<id>" or
// "|channel|<ch>" for a view.
const (
	counterOpen   = "open"
	counterUnread = "unread"
	byAssignee    = "|assignee|"
	byLabel       = "|label|"
	byChannel     = "|channel|"
)

// conversationCounters are the counters a conversation adds one to: only
// an open conversation in the inbox (not archived, not being deleted)
// counts, and it counts as unread in each view it is in.
func conversationCounters(c *Conversation) []string {
	if c == nil || c.Archived || c.Deleting || c.Status != StatusOpen {
		return nil
	}
	views := []string{"", byAssignee + c.AssigneeID}
	for _, l := range c.Labels {
		views = append(views, byLabel+l)
	}
	for _, ch := range c.Channels {
		views = append(views, byChannel+string(ch))
	}
	out := make([]string, 0, 2*len(views))
	for _, v := range views {
		out = append(out, counterOpen+v)
		if c.Unread {
			out = append(out, counterUnread+v)
		}
	}
	return out
}

// ConversationCountDelta is what a change from before to after (either nil
// for a creation or a removal) adds to each counter. Nothing when the
// change moves no badge, which is most changes.
func ConversationCountDelta(before, after *Conversation) Counters {
	return delta(conversationCounters(before), conversationCounters(after))
}

func taskCounters(t *ManualTask) []string {
	if t == nil || t.Status != TaskOpen {
		return nil
	}
	assignee := t.AssigneeID
	if assignee == Unassigned {
		assignee = ""
	}
	return []string{counterOpen, counterOpen + byAssignee + assignee}
}

// TaskCountDelta is ConversationCountDelta for manual tasks.
func TaskCountDelta(before, after *ManualTask) Counters {
	return delta(taskCounters(before), taskCounters(after))
}

func delta(before, after []string) Counters {
	d := Counters{}
	for _, k := range before {
		d[k]--
	}
	for _, k := range after {
		d[k]++
	}
	for k, n := range d {
		if n == 0 {
			delete(d, k)
		}
	}
	return d
}

// ConversationCountsFor reads the badges an agent sees from the counters.
// Views that reached zero are left out.
func ConversationCountsFor(actor Actor, c Counters) ConversationCounts {
	out := ConversationCounts{Labels: map[string]Tally{}, Channels: map[Channel]Tally{}}
	tally := func(view string) Tally {
		return Tally{Open: max(c[counterOpen+view], 0), Unread: max(c[counterUnread+view], 0)}
	}
	out.All, out.Mine, out.Unassigned = tally(""), tally(byAssignee+actor.UserID), tally(byAssignee)
	for k := range c {
		view, ok := strings.CutPrefix(k, counterOpen)
		if !ok {
			continue
		}
		if t := tally(view); t.Open > 0 {
			if l, ok := strings.CutPrefix(view, byLabel); ok {
				out.Labels[l] = t
			} else if ch, ok := strings.CutPrefix(view, byChannel); ok {
				out.Channels[Channel(ch)] = t
			}
		}
	}
	return out
}

// TaskCountsFor reads an agent's task badges from the counters.
func TaskCountsFor(actor Actor, c Counters) TaskCounts {
	return TaskCounts{Open: max(c[counterOpen], 0), Mine: max(c[counterOpen+byAssignee+actor.UserID], 0),
		Unassigned: max(c[counterOpen+byAssignee], 0)}
}

// ConversationCounts returns the caller's inbox badges.
func (s *Desk) ConversationCounts(ctx context.Context, actor Actor) (ConversationCounts, error) {
	c, err := s.store.Counters(ctx, actor.WorkspaceID, ConversationCounters, false)
	if err != nil {
		return ConversationCounts{}, err
	}
	return ConversationCountsFor(actor, c), nil
}

// TaskCounts returns the caller's manual-action badges.
func (s *Desk) TaskCounts(ctx context.Context, actor Actor) (TaskCounts, error) {
	c, err := s.store.Counters(ctx, actor.WorkspaceID, TaskCounters, false)
	if err != nil {
		return TaskCounts{}, err
	}
	return TaskCountsFor(actor, c), nil
}
