package inbox

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"
)

// Assigner applies the assignment rules. It runs off the webhook's path, on
// the domain events the table's stream yields (the sequences function
// hosts it): an inbound message adds no read or write to the webhook, and
// a conversation that is already assigned costs nothing at all, since the
// event carries its state.
type Assigner struct{ core }

// NewAssigner returns the assignment use case.
func NewAssigner(store Store, clock Clock) *Assigner {
	return &Assigner{core: newCore(store, clock)}
}

// AssignmentEvents are the events HandleEvent acts on: an inbound message
// lands on an open conversation (conversation.updated with lastMessage),
// capacity frees (status, assignee or archived changed; a thread deleted).
var AssignmentEvents = []EventType{EventConversationUpdated, EventConversationDeleted}

// HandleEvent routes a conversation an inbound message just opened or
// reopened, or drains the queue when an agent's load may have dropped.
// Events arrive at least once and in any order: routing re-reads the
// conversation and every write is conditional, so a repeat does nothing.
func (s *Assigner) HandleEvent(ctx context.Context, e Event) error {
	switch e.Type {
	case EventConversationDeleted:
		return s.drainQueue(ctx, e.WorkspaceID)
	case EventConversationUpdated:
	default:
		return nil
	}
	c := e.Conversation
	if c == nil {
		return nil
	}
	// A new message from the contact, or the bot handing the contact over.
	if (slices.Contains(e.Changes, "lastMessage") || slices.Contains(e.Changes, "bot")) && needsRouting(c) {
		if err := s.route(ctx, e.WorkspaceID, c.ID, c.Version); err != nil {
			return err
		}
	}
	if slices.Contains(e.Changes, "status") || slices.Contains(e.Changes, "assignee") || slices.Contains(e.Changes, "archived") {
		return s.drainQueue(ctx, e.WorkspaceID)
	}
	return nil
}

// needsRouting: open, in the inbox, no one's, not with the bot, not
// already waiting, and the contact spoke last.
func needsRouting(c *Conversation) bool {
	return c.Status == StatusOpen && !c.Archived && c.AssigneeID == "" && !c.Bot && c.WaitingSince == nil && c.LastMessageDirection == DirectionIn
}

// route finds the first rule that takes the conversation and assigns it,
// or queues it if the rule's team has no room. seen is the version the
// event showed: an eventually consistent read at least as new is enough
// (the assignment's versioned write catches anything later), and half
// the price of a consistent one.
func (s *core) route(ctx context.Context, ws, id string, seen int64) error {
	rules, err := s.store.ListAssignmentRules(ctx, ws)
	if err != nil || len(rules) == 0 {
		return err
	}
	c, err := s.store.PeekConversation(ctx, ws, id)
	if err == nil && c.Version < seen {
		c, err = s.store.GetConversation(ctx, ws, id)
	}
	if IsKind(err, KindNotFound) {
		return nil
	}
	if err != nil || !needsRouting(c) || c.Deleting {
		return err
	}
	var contact *Contact
	if slices.ContainsFunc(rules, func(r *AssignmentRule) bool { return len(r.Conditions.ContactTags) > 0 }) {
		if contact, err = s.store.GetContact(ctx, ws, c.ContactID); err != nil && !IsKind(err, KindNotFound) {
			return err
		}
	}
	loc := time.UTC
	if slices.ContainsFunc(rules, func(r *AssignmentRule) bool { return r.Conditions.Hours != nil }) {
		settings, err := s.store.WorkspaceSettings(ctx, ws)
		if err != nil {
			return err
		}
		if l, err := time.LoadLocation(settings.Timezone); err == nil {
			loc = l
		}
	}
	now := s.now()
	for _, r := range rules {
		if !r.matches(c, contact, now, loc) {
			continue
		}
		return s.assignOrQueue(ctx, c, r, now)
	}
	return nil
}

// assignOrQueue assigns c by rule r, or queues it if no agent has room.
func (s *core) assignOrQueue(ctx context.Context, c *Conversation, r *AssignmentRule, now time.Time) error {
	for range maxAttempts {
		assigned, err := s.assignByRule(ctx, c, r)
		if err != nil || assigned {
			return err
		}
		c.WaitingSince, c.QueueKey = &now, c.ActivityID+"#"+c.ID
		err = s.store.Enqueue(ctx, c, r.ID)
		if err == nil {
			// A slot freed between reading the agents and queueing would
			// wake no one (its drain may have run already): drain once.
			return s.drainQueue(ctx, c.WorkspaceID)
		}
		if !IsKind(err, KindConflict) {
			return err
		}
		// It changed meanwhile: look again.
		latest, err := s.store.GetConversation(ctx, c.WorkspaceID, c.ID)
		if IsKind(err, KindNotFound) {
			return nil
		}
		if err != nil || !needsRouting(latest) || latest.Deleting {
			return err
		}
		*c = *latest
	}
	return ErrVersionConflict
}

// assignByRule gives c to the rule's best agent with room. It reports false
// when none has room. c must be the stored version; on a conflict it is
// re-read and the attempt repeated while it still needs an agent.
func (s *core) assignByRule(ctx context.Context, c *Conversation, r *AssignmentRule) (bool, error) {
	for range maxAttempts {
		agents, err := s.store.GetAgents(ctx, c.WorkspaceID, r.UserIDs)
		if err != nil {
			return false, err
		}
		candidates := pickOrder(agents, r.Strategy)
		if len(candidates) == 0 {
			return false, nil
		}
		conflict := false
		for _, a := range candidates {
			err := s.autoAssign(ctx, c, a, r)
			switch {
			case err == nil:
				return true, nil
			case err == ErrAgentFull:
				continue // someone took their last slot: the next one
			case IsKind(err, KindConflict):
				conflict = true
			default:
				return false, err
			}
			break
		}
		if !conflict {
			return false, nil
		}
		// Jittered, so writers that collided do not collide again.
		if err := sleep(ctx, time.Duration(5+rand.N(20))*time.Millisecond); err != nil {
			return false, err
		}
		// The conversation changed under us: re-read it.
		latest, err := s.store.GetConversation(ctx, c.WorkspaceID, c.ID)
		if IsKind(err, KindNotFound) {
			return true, nil
		}
		if err != nil {
			return false, err
		}
		if latest.AssigneeID != "" || latest.Status != StatusOpen || latest.Deleting {
			return true, nil // someone else settled it
		}
		*c = *latest
	}
	return false, ErrVersionConflict
}

// pickOrder lists the agents with room in the order the strategy tries
// them; ties go to the user id, so the order is stable.
func pickOrder(agents map[string]*Agent, strategy AssignStrategy) []*Agent {
	var out []*Agent
	for _, a := range agents {
		if a.hasRoom() {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(a, b *Agent) int {
		if strategy == StrategyBalanced && a.OpenAssigned != b.OpenAssigned {
			return a.OpenAssigned - b.OpenAssigned
		}
		if c := lastAssigned(a).Compare(lastAssigned(b)); c != 0 {
			return c
		}
		if a.UserID < b.UserID {
			return -1
		}
		return 1
	})
	return out
}

func lastAssigned(a *Agent) time.Time {
	if a.LastAssignedAt == nil {
		return time.Time{}
	}
	return *a.LastAssignedAt
}

// autoAssign is one attempt: the conversation, the agent's count and the
// note in the thread in one transaction.
func (s *core) autoAssign(ctx context.Context, c *Conversation, a *Agent, r *AssignmentRule) error {
	now := s.now()
	next := *c
	next.AssigneeID = a.UserID
	next.AutoAssignment = &AutoAssignment{RuleID: r.ID, RuleName: r.Name, Strategy: r.Strategy, At: now}
	next.UpdatedAt, next.WaitingSince, next.QueueKey = now, nil, ""
	name := a.UserID
	if u, err := s.store.GetUser(ctx, c.WorkspaceID, a.UserID); err == nil && u.Name != "" {
		name = u.Name
	}
	note := &Message{
		// One note per assignment: derived from the conversation's version,
		// so a retried transaction writes the same one.
		ID:          hashKey(systemActor(c.WorkspaceID), fmt.Sprintf("assign#%s#%d", c.ID, c.Version)).newID(now),
		WorkspaceID: c.WorkspaceID, ConversationID: c.ID, ContactID: c.ContactID,
		Kind: KindActivity, Status: MessageReceived, Attachments: []Attachment{},
		Body:      fmt.Sprintf("Assigned to %s by rule %q (%s)", name, r.Name, strategyName(r.Strategy)),
		CreatedAt: now, UpdatedAt: now,
	}
	next.RecordMessage(note)
	if err := s.store.AutoAssign(ctx, &next, a.UserID, note, c.QueueKey); err != nil {
		return err
	}
	*c = next
	return nil
}

func strategyName(st AssignStrategy) string {
	if st == StrategyBalanced {
		return "balanced"
	}
	return "round robin"
}

// drainBatch bounds the queued conversations one drain looks at: a drain
// runs on every freed slot, so each hands out a few at most.
const drainBatch = 10

// drainQueue assigns waiting conversations, oldest first, to agents of their
// rule who have room. A conversation no agent can take stays, and younger
// ones behind it are still tried (their rule may have room). Two drains
// racing are safe: each assignment is conditional.
func (s *core) drainQueue(ctx context.Context, ws string) error {
	waiting, err := s.store.Waiting(ctx, ws, drainBatch)
	if err != nil || len(waiting) == 0 {
		return err
	}
	rules := map[string]*AssignmentRule{}
	full := map[string]bool{} // rules whose team had no room in this drain
	for _, q := range waiting {
		if full[q.RuleID] {
			continue
		}
		c, err := s.store.GetConversation(ctx, ws, q.ConversationID)
		if IsKind(err, KindNotFound) {
			if err := s.store.Dequeue(ctx, q); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		r, ok := rules[q.RuleID]
		if !ok {
			if r, err = s.store.GetAssignmentRule(ctx, ws, q.RuleID); err != nil && !IsKind(err, KindNotFound) {
				return err
			}
			rules[q.RuleID] = r
		}
		if c.Deleting || c.Status != StatusOpen || c.AssigneeID != "" || c.WaitingSince == nil || r == nil || !r.Enabled {
			// Settled while it waited (or its rule is gone): let it go.
			if err := s.dequeue(ctx, c, q); err != nil {
				return err
			}
			continue
		}
		assigned, err := s.assignByRule(ctx, c, r)
		if err != nil {
			return err
		}
		full[q.RuleID] = !assigned
	}
	return nil
}

// dequeue drops a stale place and clears the conversation's waiting mark.
func (s *core) dequeue(ctx context.Context, c *Conversation, q QueuedConversation) error {
	if err := s.store.Dequeue(ctx, q); err != nil {
		return err
	}
	if c.Deleting || c.WaitingSince == nil {
		return nil
	}
	c.WaitingSince, c.QueueKey = nil, ""
	err := s.store.PutConversation(ctx, c)
	if IsKind(err, KindConflict) {
		return nil // changed since: the next drain sees it
	}
	return err
}
