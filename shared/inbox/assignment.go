package inbox

import (
	"context"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Availability says whether an agent takes new conversations. Only online
// agents are assigned automatically; anyone may still be assigned by hand.
type Availability string

const (
	AvailabilityOnline  Availability = "online"
	AvailabilityBusy    Availability = "busy"
	AvailabilityOffline Availability = "offline"
)

func (a Availability) Valid() bool {
	return a == AvailabilityOnline || a == AvailabilityBusy || a == AvailabilityOffline
}

// Agent is a team member's assignment state: kept apart from the User, in
// its own small item, because its counter moves with every assignment and
// a user update must not write over it.
type Agent struct {
	UserID       string       `json:"userId"`
	Availability Availability `json:"availability"`
	// Capacity is the most open conversations automatic assignment gives
	// the agent; nil is no limit. Agents may take more by hand.
	Capacity *int `json:"capacity"`
	// OpenAssigned counts the open, unarchived conversations assigned to
	// the agent, by rule or by hand. The store moves it in the same
	// transaction as the conversation's assignee or status.
	OpenAssigned   int        `json:"openAssigned"`
	LastAssignedAt *time.Time `json:"lastAssignedAt,omitempty"`
	// ByPresence says the agent is online because a socket of theirs is
	// open, so closing the last one takes them offline again.
	ByPresence bool `json:"-"`
}

// hasRoom says whether automatic assignment may give the agent one more.
func (a *Agent) hasRoom() bool {
	return a.Availability == AvailabilityOnline && (a.Capacity == nil || a.OpenAssigned < *a.Capacity)
}

// AgentPatch changes an agent's availability or capacity. SetCapacity with
// Capacity nil removes the limit.
type AgentPatch struct {
	Availability *Availability
	SetCapacity  bool
	Capacity     *int
	// ByPresence marks an availability that presence set (see Agent).
	ByPresence bool
	// OnlyIfByPresence changes it only if presence set the current one.
	OnlyIfByPresence bool
}

// AutoAssignment records that a rule, not a person, assigned a conversation.
type AutoAssignment struct {
	RuleID   string         `json:"ruleId"`
	RuleName string         `json:"ruleName"`
	Strategy AssignStrategy `json:"strategy"`
	At       time.Time      `json:"at"`
}

// Holder is who the conversation counts against: its assignee while it is
// open in the inbox, else no one.
func (c *Conversation) Holder() string {
	if c.Status != StatusOpen || c.Archived || c.Deleting {
		return ""
	}
	return c.AssigneeID
}

// AgentStore keeps agents' assignment state and the queue of conversations
// waiting for one.
type AgentStore interface {
	// GetAgents reads agents' state; a user with none is offline, unlimited.
	GetAgents(ctx context.Context, workspaceID string, userIDs []string) (map[string]*Agent, error)
	UpdateAgent(ctx context.Context, workspaceID, userID string, p AgentPatch) (*Agent, error)
	// AutoAssign stores c (assigned to a.UserID, matching c.Version), counts
	// it on the agent only if the agent is still online with room, files
	// the activity note and takes c off the queue, all or nothing. A lost
	// race on the agent is ErrAgentFull; on the conversation ErrVersionConflict.
	AutoAssign(ctx context.Context, c *Conversation, agentID string, note *Message, queueKey string) error
	// Enqueue stores c (WaitingSince and QueueKey set, matching c.Version)
	// and its place in the workspace's queue, ordered by QueueKey.
	Enqueue(ctx context.Context, c *Conversation, ruleID string) error
	// Waiting lists the oldest queued conversations first.
	Waiting(ctx context.Context, workspaceID string, limit int) ([]QueuedConversation, error)
	// Dequeue removes a stale place (the conversation was assigned by
	// hand, completed or deleted while it waited).
	Dequeue(ctx context.Context, q QueuedConversation) error
}

// ErrAgentFull is a lost race for an agent's last slot, or an agent who
// went offline meanwhile: try the next one.
var ErrAgentFull = &Error{Kind: KindConflict, Message: "the agent has no room for another conversation"}

// QueuedConversation is a conversation waiting for an agent.
type QueuedConversation struct {
	WorkspaceID    string
	ConversationID string
	// Key orders the queue: the id of the message that made it wait, then
	// the conversation's.
	Key    string
	RuleID string
}

// SetAvailability sets an agent's availability: their own, or anyone's by
// an admin. Coming online hands them the oldest waiting conversations.
func (s *Desk) SetAvailability(ctx context.Context, actor Actor, userID string, a Availability) (*Agent, error) {
	if !a.Valid() {
		return nil, Invalid("availability", "availability must be online, busy or offline")
	}
	if userID != actor.UserID {
		if err := requireAdmin(actor, "set another agent's availability"); err != nil {
			return nil, err
		}
	}
	if err := s.requireMember(ctx, actor.WorkspaceID, userID, "userId"); err != nil {
		return nil, err
	}
	agent, err := s.store.UpdateAgent(ctx, actor.WorkspaceID, userID, AgentPatch{Availability: &a})
	if err != nil {
		return nil, err
	}
	if a == AvailabilityOnline {
		if err := s.drainQueue(ctx, actor.WorkspaceID); err != nil {
			return nil, err
		}
		return s.agent(ctx, actor.WorkspaceID, userID)
	}
	return agent, nil
}

// SetCapacity sets (admins) the most open conversations rules give an
// agent; nil removes the limit. A raised limit drains the queue.
func (s *Desk) SetCapacity(ctx context.Context, actor Actor, userID string, capacity *int) (*Agent, error) {
	if err := requireAdmin(actor, "set an agent's capacity"); err != nil {
		return nil, err
	}
	if capacity != nil && (*capacity < 0 || *capacity > maxCapacity) {
		return nil, Invalid("capacity", "capacity is 0 to %d open conversations, or null for no limit", maxCapacity)
	}
	if err := s.requireMember(ctx, actor.WorkspaceID, userID, "userId"); err != nil {
		return nil, err
	}
	if _, err := s.store.UpdateAgent(ctx, actor.WorkspaceID, userID, AgentPatch{SetCapacity: true, Capacity: capacity}); err != nil {
		return nil, err
	}
	if err := s.drainQueue(ctx, actor.WorkspaceID); err != nil {
		return nil, err
	}
	return s.agent(ctx, actor.WorkspaceID, userID)
}

// Agents lists the team's assignment state, for everyone to see.
func (s *Desk) Agents(ctx context.Context, actor Actor) ([]*Agent, error) {
	users, err := s.store.ListUsers(ctx, actor.WorkspaceID)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(users))
	for i, u := range users {
		ids[i] = u.ID
	}
	byID, err := s.store.GetAgents(ctx, actor.WorkspaceID, ids)
	if err != nil {
		return nil, err
	}
	out := make([]*Agent, 0, len(ids))
	for _, id := range ids {
		out = append(out, byID[id])
	}
	return out, nil
}

func (s *core) agent(ctx context.Context, ws, userID string) (*Agent, error) {
	m, err := s.store.GetAgents(ctx, ws, []string{userID})
	if err != nil {
		return nil, err
	}
	return m[userID], nil
}

const maxCapacity = 1000

func (s *core) requireMember(ctx context.Context, ws, userID, field string) error {
	_, err := s.store.GetUser(ctx, ws, userID)
	if IsKind(err, KindNotFound) {
		return Invalid(field, "user %q is not a member of this workspace", userID)
	}
	return err
}

// PresenceChanged follows an agent's WebSocket presence: their first socket
// takes an offline agent online, and closing their last takes them offline
// again only if it was presence that brought them online (an agent who
// chose busy or online by hand keeps it).
func (s *core) presenceChanged(ctx context.Context, ws, userID string, online bool) error {
	if online {
		off := AvailabilityOffline
		cur, err := s.agent(ctx, ws, userID)
		if err != nil || cur.Availability != off || !cur.ByPresence {
			return err // already available, or offline by their own choice
		}
		on := AvailabilityOnline
		if _, err := s.store.UpdateAgent(ctx, ws, userID, AgentPatch{Availability: &on, ByPresence: true}); err != nil {
			return err
		}
		return s.drainQueue(ctx, ws)
	}
	off := AvailabilityOffline
	_, err := s.store.UpdateAgent(ctx, ws, userID, AgentPatch{Availability: &off, OnlyIfByPresence: true})
	if IsKind(err, KindConflict) {
		return nil // set by hand: presence leaves it
	}
	return err
}

// ---- rules ----

// AssignStrategy picks among a rule's eligible agents.
type AssignStrategy string

const (
	// StrategyRoundRobin: the agent who least recently got a conversation.
	StrategyRoundRobin AssignStrategy = "round_robin"
	// StrategyBalanced: the agent with the fewest open assigned conversations.
	StrategyBalanced AssignStrategy = "balanced"
)

// AssignmentRule routes new and reopened conversations to a team. Rules are
// tried in position order; the first whose conditions all hold wins. No
// match leaves the conversation unassigned and not queued: the queue is
// for conversations a rule claimed but whose team had no room.
type AssignmentRule struct {
	ID          string         `json:"id"`
	WorkspaceID string         `json:"workspaceId"`
	Name        string         `json:"name"`
	Position    int            `json:"position"`
	Enabled     bool           `json:"enabled"`
	Conditions  RuleConditions `json:"conditions"`
	// UserIDs is the team the rule assigns to: one user or several.
	UserIDs   []string       `json:"userIds"`
	Strategy  AssignStrategy `json:"strategy"`
	CreatedAt time.Time      `json:"createdAt"`
	UpdatedAt time.Time      `json:"updatedAt"`
	Version   int64          `json:"version"`
}

// RuleConditions must all hold; an empty one holds always. Lists match if
// any of their values does.
type RuleConditions struct {
	Channels    []Channel `json:"channels,omitempty"`
	Labels      []string  `json:"labels,omitempty"`
	ContactTags []string  `json:"contactTags,omitempty"`
	// Keyword is looked for, case-insensitively, in the first message of
	// the conversation (or of its reopening): its 140-character preview.
	Keyword string `json:"keyword,omitempty"`
	// Hours holds inside (or, with Outside, outside) a weekly window in
	// the workspace's timezone.
	Hours *BusinessHours `json:"businessHours,omitempty"`
}

// BusinessHours is a weekly window: the days, and a daily span (Start
// after End crosses midnight, the span belonging to the day it starts).
type BusinessHours struct {
	Days    []string `json:"days"`
	Start   string   `json:"start"`
	End     string   `json:"end"`
	Outside bool     `json:"outside,omitempty"`
}

var weekdays = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

func (h *BusinessHours) validate() error {
	if len(h.Days) == 0 || len(h.Days) > 7 {
		return Invalid("conditions.businessHours.days", "name 1 to 7 days: sun, mon, tue, wed, thu, fri, sat")
	}
	for i, d := range h.Days {
		h.Days[i] = strings.ToLower(d)
		if !slices.Contains(weekdays, h.Days[i]) {
			return Invalid("conditions.businessHours.days", "%q is not a day: use sun, mon, tue, wed, thu, fri, sat", d)
		}
	}
	_, _, err := QuietHours{Start: h.Start, End: h.End}.minutes()
	if err != nil {
		return Invalid("conditions.businessHours", "start and end are different times of day such as 09:00 and 17:00")
	}
	return nil
}

// holds says whether t is inside the window (or outside, if Outside).
func (h *BusinessHours) holds(t time.Time, loc *time.Location) bool {
	start, end, err := QuietHours{Start: h.Start, End: h.End}.minutes()
	if err != nil {
		return false
	}
	local := t.In(loc)
	m := local.Hour()*60 + local.Minute()
	day := local
	inside := false
	switch {
	case start < end:
		inside = m >= start && m < end
	case m >= start:
		inside = true
	case m < end:
		inside, day = true, local.AddDate(0, 0, -1) // the span began yesterday
	}
	inside = inside && slices.Contains(h.Days, weekdays[day.Weekday()])
	return inside != h.Outside
}

// Limits of rules: a team's list of rules and each rule's size.
const (
	maxRules       = 50
	maxRuleUsers   = 100
	maxRuleKeyword = 100
	maxRuleValues  = 20
)

// RuleInput creates a rule, or (every field optional) patches one.
type RuleInput struct {
	Name       *string         `json:"name"`
	Position   *int            `json:"position"`
	Enabled    *bool           `json:"enabled"`
	Conditions *RuleConditions `json:"conditions"`
	UserIDs    *[]string       `json:"userIds"`
	Strategy   *AssignStrategy `json:"strategy"`
}

// AssignmentRuleStore keeps the workspace's assignment rules.
type AssignmentRuleStore interface {
	// PutAssignmentRule creates (Version 0) or replaces (matching Version) a rule.
	PutAssignmentRule(ctx context.Context, r *AssignmentRule) error
	GetAssignmentRule(ctx context.Context, workspaceID, id string) (*AssignmentRule, error)
	// ListAssignmentRules returns every rule, by position (one Query).
	ListAssignmentRules(ctx context.Context, workspaceID string) ([]*AssignmentRule, error)
	DeleteAssignmentRule(ctx context.Context, r *AssignmentRule) error
}

// AssignmentRules lists the workspace's rules in the order they are tried.
func (s *Desk) AssignmentRules(ctx context.Context, actor Actor) ([]*AssignmentRule, error) {
	if err := requireAdmin(actor, "manage assignment rules"); err != nil {
		return nil, err
	}
	return s.store.ListAssignmentRules(ctx, actor.WorkspaceID)
}

// GetAssignmentRule reads one rule.
func (s *Desk) GetAssignmentRule(ctx context.Context, actor Actor, id string) (*AssignmentRule, error) {
	if err := requireAdmin(actor, "manage assignment rules"); err != nil {
		return nil, err
	}
	if !ValidID(id) {
		return nil, Errorf(KindNotFound, "assignment rule %q not found", id)
	}
	return s.store.GetAssignmentRule(ctx, actor.WorkspaceID, id)
}

// CreateAssignmentRule adds a rule (admins).
func (s *Desk) CreateAssignmentRule(ctx context.Context, actor Actor, in RuleInput) (*AssignmentRule, error) {
	if err := requireAdmin(actor, "manage assignment rules"); err != nil {
		return nil, err
	}
	rules, err := s.store.ListAssignmentRules(ctx, actor.WorkspaceID)
	if err != nil {
		return nil, err
	}
	if len(rules) >= maxRules {
		return nil, Invalid("rules", "a workspace has at most %d assignment rules", maxRules)
	}
	now := s.now()
	r := &AssignmentRule{ID: NewID(now), WorkspaceID: actor.WorkspaceID, Enabled: true, Strategy: StrategyRoundRobin, Position: len(rules), CreatedAt: now, UpdatedAt: now}
	if in.Name == nil || in.UserIDs == nil {
		return nil, Invalid("name", "a rule needs a name and userIds")
	}
	if err := s.applyRule(ctx, r, in); err != nil {
		return nil, err
	}
	if err := s.store.PutAssignmentRule(ctx, r); err != nil {
		return nil, err
	}
	return r, nil
}

// UpdateAssignmentRule patches a rule (admins).
func (s *Desk) UpdateAssignmentRule(ctx context.Context, actor Actor, id string, in RuleInput) (*AssignmentRule, error) {
	var out *AssignmentRule
	err := retryOnConflict(ctx, func() error {
		r, err := s.GetAssignmentRule(ctx, actor, id)
		if err != nil {
			return err
		}
		if err := s.applyRule(ctx, r, in); err != nil {
			return err
		}
		r.UpdatedAt = s.now()
		out = r
		return s.store.PutAssignmentRule(ctx, r)
	})
	return out, err
}

// DeleteAssignmentRule removes a rule (admins). Conversations it queued
// wait on: the queue assigns them by their rule, or drops them if gone.
func (s *Desk) DeleteAssignmentRule(ctx context.Context, actor Actor, id string) error {
	r, err := s.GetAssignmentRule(ctx, actor, id)
	if err != nil {
		return err
	}
	return s.store.DeleteAssignmentRule(ctx, r)
}

// applyRule validates in and applies it to r; a target must name members
// of the rule's own workspace.
func (s *Desk) applyRule(ctx context.Context, r *AssignmentRule, in RuleInput) error {
	if in.Name != nil {
		name := strings.TrimSpace(*in.Name)
		if name == "" || utf8.RuneCountInString(name) > 100 || !utf8.ValidString(name) {
			return Invalid("name", "a rule's name is 1 to 100 characters")
		}
		r.Name = name
	}
	if in.Position != nil {
		if *in.Position < 0 || *in.Position > 1000 {
			return Invalid("position", "position is 0 to 1000")
		}
		r.Position = *in.Position
	}
	if in.Enabled != nil {
		r.Enabled = *in.Enabled
	}
	if in.Strategy != nil {
		if *in.Strategy != StrategyRoundRobin && *in.Strategy != StrategyBalanced {
			return Invalid("strategy", "strategy must be round_robin or balanced")
		}
		r.Strategy = *in.Strategy
	}
	if in.Conditions != nil {
		c := *in.Conditions
		if err := c.validate(); err != nil {
			return err
		}
		r.Conditions = c
	}
	if in.UserIDs != nil {
		ids := slices.Compact(slices.Sorted(slices.Values(*in.UserIDs)))
		if len(ids) == 0 || len(ids) > maxRuleUsers {
			return Invalid("userIds", "a rule assigns to 1 to %d users", maxRuleUsers)
		}
		users, err := s.store.ListUsers(ctx, r.WorkspaceID)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if !slices.ContainsFunc(users, func(u *User) bool { return u.ID == id }) {
				return Invalid("userIds", "user %q is not a member of this workspace", id)
			}
		}
		r.UserIDs = ids
	}
	return nil
}

func (c *RuleConditions) validate() error {
	if len(c.Channels) > maxRuleValues || len(c.Labels) > maxRuleValues || len(c.ContactTags) > maxRuleValues {
		return Invalid("conditions", "each condition lists at most %d values", maxRuleValues)
	}
	for _, ch := range c.Channels {
		if !ch.Valid() {
			return Invalid("conditions.channels", "unknown channel %q", ch)
		}
	}
	for _, l := range c.Labels {
		if !ValidID(l) {
			return Invalid("conditions.labels", "%q is not a label id", l)
		}
	}
	for _, t := range c.ContactTags {
		if t == "" || utf8.RuneCountInString(t) > 64 {
			return Invalid("conditions.contactTags", "tags are 1 to 64 characters")
		}
	}
	c.Keyword = strings.TrimSpace(c.Keyword)
	if utf8.RuneCountInString(c.Keyword) > maxRuleKeyword || !utf8.ValidString(c.Keyword) {
		return Invalid("conditions.keyword", "the keyword is at most %d characters", maxRuleKeyword)
	}
	if c.Hours != nil {
		return c.Hours.validate()
	}
	return nil
}

// matches says whether the rule takes a conversation. contact is nil when
// no rule needs the contact's tags.
func (r *AssignmentRule) matches(c *Conversation, contact *Contact, now time.Time, loc *time.Location) bool {
	cond := r.Conditions
	if !r.Enabled {
		return false
	}
	if len(cond.Channels) > 0 && !slices.Contains(cond.Channels, lastInboundChannel(c)) {
		return false
	}
	if len(cond.Labels) > 0 && !slices.ContainsFunc(cond.Labels, func(l string) bool { return slices.Contains(c.Labels, l) }) {
		return false
	}
	if len(cond.ContactTags) > 0 {
		if contact == nil || !slices.ContainsFunc(cond.ContactTags, func(t string) bool {
			return slices.ContainsFunc(contact.Tags, func(ct string) bool { return strings.EqualFold(ct, t) })
		}) {
			return false
		}
	}
	if cond.Keyword != "" && !strings.Contains(strings.ToLower(c.Preview), strings.ToLower(cond.Keyword)) {
		return false
	}
	if cond.Hours != nil && !cond.Hours.holds(now, loc) {
		return false
	}
	return true
}

// lastInboundChannel is the channel the contact last wrote on.
func lastInboundChannel(c *Conversation) Channel {
	var ch Channel
	var at time.Time
	for k, t := range c.LastInboundAt {
		if t.After(at) || (t.Equal(at) && k < ch) {
			ch, at = k, t
		}
	}
	return ch
}
