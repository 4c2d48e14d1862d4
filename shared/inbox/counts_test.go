package inbox_test

import (
	"maps"
	"testing"

	"github.com/parley-inbox/parley/shared/inbox"
)

// openConv is an open, unread, unassigned SMS conversation with one label:
// it counts in the whole inbox, the unassigned view, its label and its
// channel.
func openConv(mod func(c *inbox.Conversation)) *inbox.Conversation {
	c := &inbox.Conversation{ID: "c1", WorkspaceID: "w", Status: inbox.StatusOpen, Unread: true,
		Labels: []string{"l1"}, Channels: []inbox.Channel{inbox.ChannelSMS}, Preview: "hi"}
	if mod != nil {
		mod(c)
	}
	return c
}

// everyCounter is what openConv adds to the counters.
var everyCounter = inbox.Counters{
	"open": 1, "unread": 1,
	"open|assignee|": 1, "unread|assignee|": 1,
	"open|label|l1": 1, "unread|label|l1": 1,
	"open|channel|sms": 1, "unread|channel|sms": 1,
}

func negated(c inbox.Counters) inbox.Counters {
	out := inbox.Counters{}
	for k, n := range c {
		out[k] = -n
	}
	return out
}

func TestConversationCountDelta(t *testing.T) {
	tests := []struct {
		name          string
		before, after *inbox.Conversation
		want          inbox.Counters
	}{
		{"created open and unread", nil, openConv(nil), everyCounter},
		{"created archived", nil, openConv(func(c *inbox.Conversation) { c.Archived = true }), inbox.Counters{}},
		{"created complete", nil, openConv(func(c *inbox.Conversation) { c.Status = inbox.StatusComplete }), inbox.Counters{}},
		{"created read", nil, openConv(func(c *inbox.Conversation) { c.Unread = false }), inbox.Counters{
			"open": 1, "open|assignee|": 1, "open|label|l1": 1, "open|channel|sms": 1}},
		{"archived", openConv(nil), openConv(func(c *inbox.Conversation) { c.Archived = true }), negated(everyCounter)},
		{"unarchived", openConv(func(c *inbox.Conversation) { c.Archived = true }), openConv(nil), everyCounter},
		{"completed", openConv(nil), openConv(func(c *inbox.Conversation) { c.Status = inbox.StatusComplete }), negated(everyCounter)},
		{"reopened", openConv(func(c *inbox.Conversation) { c.Status = inbox.StatusComplete }), openConv(nil), everyCounter},
		{"read", openConv(nil), openConv(func(c *inbox.Conversation) { c.Unread = false }), inbox.Counters{
			"unread": -1, "unread|assignee|": -1, "unread|label|l1": -1, "unread|channel|sms": -1}},
		{"unread again", openConv(func(c *inbox.Conversation) { c.Unread = false }), openConv(nil), inbox.Counters{
			"unread": 1, "unread|assignee|": 1, "unread|label|l1": 1, "unread|channel|sms": 1}},
		{"assigned", openConv(nil), openConv(func(c *inbox.Conversation) { c.AssigneeID = "u1" }), inbox.Counters{
			"open|assignee|": -1, "unread|assignee|": -1, "open|assignee|u1": 1, "unread|assignee|u1": 1}},
		{"reassigned", openConv(func(c *inbox.Conversation) { c.AssigneeID = "u1" }), openConv(func(c *inbox.Conversation) { c.AssigneeID = "u2" }), inbox.Counters{
			"open|assignee|u1": -1, "unread|assignee|u1": -1, "open|assignee|u2": 1, "unread|assignee|u2": 1}},
		{"label added", openConv(nil), openConv(func(c *inbox.Conversation) { c.Labels = []string{"l1", "l2"} }), inbox.Counters{
			"open|label|l2": 1, "unread|label|l2": 1}},
		{"label removed", openConv(nil), openConv(func(c *inbox.Conversation) { c.Labels = []string{} }), inbox.Counters{
			"open|label|l1": -1, "unread|label|l1": -1}},
		{"channel added", openConv(nil), openConv(func(c *inbox.Conversation) { c.Channels = []inbox.Channel{inbox.ChannelSMS, inbox.ChannelEmail} }), inbox.Counters{
			"open|channel|email": 1, "unread|channel|email": 1}},
		{"deleted", openConv(nil), nil, negated(everyCounter)},
		{"being deleted", openConv(nil), openConv(func(c *inbox.Conversation) { c.Deleting = true }), negated(everyCounter)},
		{"deleted after it was marked", openConv(func(c *inbox.Conversation) { c.Deleting = true }), nil, inbox.Counters{}},
		{"archived one deleted", openConv(func(c *inbox.Conversation) { c.Archived = true }), nil, inbox.Counters{}},
		{"only the preview moved", openConv(nil), openConv(func(c *inbox.Conversation) { c.Preview, c.Version = "later", 2 }), inbox.Counters{}},
		{"a change while archived", openConv(func(c *inbox.Conversation) { c.Archived = true }),
			openConv(func(c *inbox.Conversation) { c.Archived, c.AssigneeID, c.Unread = true, "u1", false }), inbox.Counters{}},
		{"nothing before or after", nil, nil, inbox.Counters{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := inbox.ConversationCountDelta(tt.before, tt.after)
			if !maps.Equal(got, tt.want) {
				t.Errorf("delta = %v, want %v", got, tt.want)
			}
			for k, n := range got {
				if n == 0 {
					t.Errorf("delta keeps a zero for %q", k)
				}
			}
		})
	}
}

func TestConversationCountDeltasSumToTheEndState(t *testing.T) {
	// A conversation's life, step by step, adds up to what its last
	// version counts, and a deleted one to nothing at all.
	steps := []*inbox.Conversation{
		nil,
		openConv(nil),
		openConv(func(c *inbox.Conversation) { c.Unread = false }),
		openConv(func(c *inbox.Conversation) { c.Unread, c.AssigneeID = false, "u1" }),
		openConv(func(c *inbox.Conversation) { c.Unread, c.AssigneeID, c.Labels = false, "u1", []string{"l1", "l2"} }),
		openConv(func(c *inbox.Conversation) {
			c.Unread, c.AssigneeID, c.Labels, c.Archived = false, "u1", []string{"l1", "l2"}, true
		}),
		openConv(func(c *inbox.Conversation) { c.AssigneeID, c.Labels = "u1", []string{"l2"} }),
		nil,
	}
	sum := inbox.Counters{}
	for i := 1; i < len(steps); i++ {
		for k, n := range inbox.ConversationCountDelta(steps[i-1], steps[i]) {
			sum[k] += n
		}
		if i == len(steps)-2 {
			want := inbox.Counters{"open": 1, "unread": 1, "open|assignee|u1": 1, "unread|assignee|u1": 1,
				"open|label|l2": 1, "unread|label|l2": 1, "open|channel|sms": 1, "unread|channel|sms": 1}
			maps.DeleteFunc(sum, func(_ string, n int64) bool { return n == 0 })
			if !maps.Equal(sum, want) {
				t.Fatalf("after unarchiving, counters = %v, want %v", sum, want)
			}
		}
	}
	for k, n := range sum {
		if n != 0 {
			t.Errorf("after deletion, %q = %d, want 0", k, n)
		}
	}
}

func TestTaskCountDelta(t *testing.T) {
	task := func(status inbox.TaskStatus, assignee string) *inbox.ManualTask {
		return &inbox.ManualTask{ID: "t1", Status: status, AssigneeID: assignee}
	}
	tests := []struct {
		name          string
		before, after *inbox.ManualTask
		want          inbox.Counters
	}{
		{"created unassigned", nil, task(inbox.TaskOpen, inbox.Unassigned), inbox.Counters{"open": 1, "open|assignee|": 1}},
		{"created for u1", nil, task(inbox.TaskOpen, "u1"), inbox.Counters{"open": 1, "open|assignee|u1": 1}},
		{"reassigned", task(inbox.TaskOpen, inbox.Unassigned), task(inbox.TaskOpen, "u1"), inbox.Counters{"open|assignee|": -1, "open|assignee|u1": 1}},
		{"done", task(inbox.TaskOpen, "u1"), task(inbox.TaskDone, "u1"), inbox.Counters{"open": -1, "open|assignee|u1": -1}},
		{"skipped", task(inbox.TaskOpen, "u1"), task(inbox.TaskSkipped, "u1"), inbox.Counters{"open": -1, "open|assignee|u1": -1}},
		{"canceled", task(inbox.TaskOpen, inbox.Unassigned), task(inbox.TaskCanceled, inbox.Unassigned), inbox.Counters{"open": -1, "open|assignee|": -1}},
		{"removed while open", task(inbox.TaskOpen, "u1"), nil, inbox.Counters{"open": -1, "open|assignee|u1": -1}},
		{"removed when done", task(inbox.TaskDone, "u1"), nil, inbox.Counters{}},
		{"instructions edited", task(inbox.TaskOpen, "u1"), &inbox.ManualTask{ID: "t1", Status: inbox.TaskOpen, AssigneeID: "u1", Instructions: "call"}, inbox.Counters{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := inbox.TaskCountDelta(tt.before, tt.after); !maps.Equal(got, tt.want) {
				t.Errorf("delta = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestConversationCountsFor(t *testing.T) {
	counters := inbox.Counters{
		"open": 7, "unread": 3,
		"open|assignee|": 2, "unread|assignee|": 1,
		"open|assignee|u1": 4, "unread|assignee|u1": 2,
		"open|assignee|u2": 1, "unread|assignee|u2": -1, // drifted below zero
		"open|label|l1": 3, "unread|label|l1": 1,
		"open|label|gone": 0, "unread|label|gone": 0, // a label whose last conversation left
		"open|channel|sms": 5, "unread|channel|sms": 3,
		"open|channel|email":    2,
		"open|channel|whatsapp": -1, // drifted below zero
	}
	tests := []struct {
		user string
		want inbox.ConversationCounts
	}{
		{"u1", inbox.ConversationCounts{
			All: inbox.Tally{Open: 7, Unread: 3}, Mine: inbox.Tally{Open: 4, Unread: 2}, Unassigned: inbox.Tally{Open: 2, Unread: 1},
			Labels:   map[string]inbox.Tally{"l1": {Open: 3, Unread: 1}},
			Channels: map[inbox.Channel]inbox.Tally{inbox.ChannelSMS: {Open: 5, Unread: 3}, inbox.ChannelEmail: {Open: 2}},
		}},
		{"u2", inbox.ConversationCounts{
			All: inbox.Tally{Open: 7, Unread: 3}, Mine: inbox.Tally{Open: 1}, Unassigned: inbox.Tally{Open: 2, Unread: 1},
			Labels:   map[string]inbox.Tally{"l1": {Open: 3, Unread: 1}},
			Channels: map[inbox.Channel]inbox.Tally{inbox.ChannelSMS: {Open: 5, Unread: 3}, inbox.ChannelEmail: {Open: 2}},
		}},
		{"newcomer", inbox.ConversationCounts{
			All: inbox.Tally{Open: 7, Unread: 3}, Unassigned: inbox.Tally{Open: 2, Unread: 1},
			Labels:   map[string]inbox.Tally{"l1": {Open: 3, Unread: 1}},
			Channels: map[inbox.Channel]inbox.Tally{inbox.ChannelSMS: {Open: 5, Unread: 3}, inbox.ChannelEmail: {Open: 2}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.user, func(t *testing.T) {
			got := inbox.ConversationCountsFor(inbox.Actor{WorkspaceID: "w", UserID: tt.user, Role: inbox.RoleAgent}, counters)
			assertCounts(t, got, tt.want)
		})
	}
	t.Run("no counters yet", func(t *testing.T) {
		got := inbox.ConversationCountsFor(inbox.Actor{WorkspaceID: "w", UserID: "u1"}, inbox.Counters{})
		assertCounts(t, got, inbox.ConversationCounts{Labels: map[string]inbox.Tally{}, Channels: map[inbox.Channel]inbox.Tally{}})
		if got.Labels == nil || got.Channels == nil {
			t.Errorf("empty views should be empty maps (JSON {}), not null: %+v", got)
		}
	})
}

func assertCounts(tb testing.TB, got, want inbox.ConversationCounts) {
	tb.Helper()
	if got.All != want.All || got.Mine != want.Mine || got.Unassigned != want.Unassigned {
		tb.Errorf("all/mine/unassigned = %+v/%+v/%+v, want %+v/%+v/%+v", got.All, got.Mine, got.Unassigned, want.All, want.Mine, want.Unassigned)
	}
	if !maps.Equal(got.Labels, want.Labels) {
		tb.Errorf("labels = %v, want %v", got.Labels, want.Labels)
	}
	if !maps.Equal(got.Channels, want.Channels) {
		tb.Errorf("channels = %v, want %v", got.Channels, want.Channels)
	}
}

func TestTaskCountsFor(t *testing.T) {
	c := inbox.Counters{"open": 5, "open|assignee|": 2, "open|assignee|u1": 3, "open|assignee|u2": -1}
	tests := []struct {
		user string
		want inbox.TaskCounts
	}{
		{"u1", inbox.TaskCounts{Open: 5, Mine: 3, Unassigned: 2}},
		{"u2", inbox.TaskCounts{Open: 5, Mine: 0, Unassigned: 2}},
	}
	for _, tt := range tests {
		if got := inbox.TaskCountsFor(inbox.Actor{UserID: tt.user}, c); got != tt.want {
			t.Errorf("%s: task counts = %+v, want %+v", tt.user, got, tt.want)
		}
	}
}
