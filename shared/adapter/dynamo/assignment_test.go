package dynamo_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/parley-inbox/parley/shared/adapter/dynamo"
	"github.com/parley-inbox/parley/shared/dev/dynamotest"
	"github.com/parley-inbox/parley/shared/dev/inboxtest"
	"github.com/parley-inbox/parley/shared/inbox"
)

// tickingClock moves a second on every reading, so assignments made one
// after another are ordered by their times, as they are in production.
type tickingClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *tickingClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

type assignFixture struct {
	t     *testing.T
	ctx   context.Context
	store *dynamo.Store
	svc   inboxtest.UseCases
	admin inbox.Actor
	n     int
}

func newAssignFixture(t *testing.T, users ...string) *assignFixture {
	t.Helper()
	store := dynamotest.Store(t)
	ctx := context.Background()
	ws := inbox.NewID(time.Now())
	clock := &tickingClock{t: time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)}
	f := &assignFixture{t: t, ctx: ctx, store: store, svc: inboxtest.New(store, inboxtest.Deps{Clock: clock}),
		admin: inbox.Actor{WorkspaceID: ws, UserID: "admin", Role: inbox.RoleAdmin}}
	if err := store.PutWorkspace(ctx, &inbox.Workspace{ID: ws, Name: "Assign", Settings: inbox.WorkspaceSettings{Timezone: "UTC"}}); err != nil {
		t.Fatal(err)
	}
	for _, u := range append([]string{"admin"}, users...) {
		if err := store.PutUser(ctx, &inbox.User{ID: u, WorkspaceID: ws, Name: "Agent " + u, Email: u + "@example.com", Role: inbox.RoleAgent}); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func (f *assignFixture) rule(name string, strategy inbox.AssignStrategy, users ...string) *inbox.AssignmentRule {
	f.t.Helper()
	r, err := f.svc.CreateAssignmentRule(f.ctx, f.admin, inbox.RuleInput{Name: &name, UserIDs: &users, Strategy: &strategy})
	if err != nil {
		f.t.Fatal(err)
	}
	return r
}

func (f *assignFixture) agent(user string, a inbox.Availability, capacity *int) {
	f.t.Helper()
	if _, err := f.svc.SetCapacity(f.ctx, f.admin, user, capacity); err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.svc.SetAvailability(f.ctx, f.admin, user, a); err != nil {
		f.t.Fatal(err)
	}
}

// inbound files an SMS from a new number and returns its conversation,
// not yet routed.
func (f *assignFixture) inbound(body string) *inbox.Conversation {
	f.t.Helper()
	f.n++
	res, err := f.svc.Ingest(f.ctx, inbox.Inbound{WorkspaceID: f.admin.WorkspaceID, Channel: inbox.ChannelSMS, Kind: inbox.KindMessage,
		ProviderID: fmt.Sprintf("SM%d", f.n), From: inbox.Correspondent{Phone: fmt.Sprintf("+1415555%04d", f.n)}, Body: body})
	if err != nil {
		f.t.Fatal(err)
	}
	return res.Conversation
}

// deliver hands the assigner the event the stream would publish.
func (f *assignFixture) deliver(c *inbox.Conversation, changes ...string) {
	f.t.Helper()
	e := inbox.Event{Type: inbox.EventConversationUpdated, WorkspaceID: f.admin.WorkspaceID, ConversationID: c.ID, Conversation: c, Changes: changes}
	if err := f.svc.Assigner.HandleEvent(f.ctx, e); err != nil {
		f.t.Fatal(err)
	}
}

func (f *assignFixture) conv(id string) *inbox.Conversation {
	f.t.Helper()
	c, err := f.store.GetConversation(f.ctx, f.admin.WorkspaceID, id)
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

func (f *assignFixture) counts(users ...string) []int {
	f.t.Helper()
	agents, err := f.store.GetAgents(f.ctx, f.admin.WorkspaceID, users)
	if err != nil {
		f.t.Fatal(err)
	}
	out := make([]int, len(users))
	for i, u := range users {
		out[i] = agents[u].OpenAssigned
	}
	return out
}

func (f *assignFixture) waiting() []string {
	f.t.Helper()
	q, err := f.store.Waiting(f.ctx, f.admin.WorkspaceID, 100)
	if err != nil {
		f.t.Fatal(err)
	}
	ids := make([]string, len(q))
	for i, w := range q {
		ids[i] = w.ConversationID
	}
	return ids
}

func intp(n int) *int { return &n }

func TestRoundRobinSkipsBusyAndOfflineAgents(t *testing.T) {
	f := newAssignFixture(t, "ana", "ben", "cy", "dee", "eve")
	f.agent("ana", inbox.AvailabilityOnline, nil)
	f.agent("ben", inbox.AvailabilityOnline, nil)
	f.agent("cy", inbox.AvailabilityOnline, nil)
	f.agent("dee", inbox.AvailabilityBusy, nil)
	f.agent("eve", inbox.AvailabilityOffline, nil)
	f.rule("Everyone", inbox.StrategyRoundRobin, "ana", "ben", "cy", "dee", "eve")

	var got []string
	for i := range 6 {
		c := f.inbound(fmt.Sprintf("hello %d", i))
		f.deliver(c, "lastMessage")
		got = append(got, f.conv(c.ID).AssigneeID)
	}
	if want := []string{"ana", "ben", "cy", "ana", "ben", "cy"}; !slices.Equal(got, want) {
		t.Fatalf("assignees %v, want %v", got, want)
	}
	if got, want := f.counts("ana", "ben", "cy", "dee", "eve"), []int{2, 2, 2, 0, 0}; !slices.Equal(got, want) {
		t.Fatalf("open assigned %v, want %v", got, want)
	}

	// The assignment is in the thread, and on the conversation.
	c := f.inbound("one more")
	f.deliver(c, "lastMessage")
	c = f.conv(c.ID)
	if c.AutoAssignment == nil || c.AutoAssignment.RuleName != "Everyone" || c.AssigneeID != "ana" {
		t.Fatalf("conversation %+v, want ana by rule Everyone", c.AutoAssignment)
	}
	msgs, err := f.store.ListMessages(f.ctx, f.admin.WorkspaceID, c.ID, inbox.PageRequest{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	last := msgs.Items[len(msgs.Items)-1]
	if last.Kind != inbox.KindActivity || last.Body != `Assigned to Agent ana by rule "Everyone" (round robin)` {
		t.Fatalf("last entry %s %q, want the assignment activity", last.Kind, last.Body)
	}

	// A redelivered event changes nothing.
	f.deliver(c, "lastMessage")
	if got, want := f.counts("ana"), []int{3}; !slices.Equal(got, want) {
		t.Fatalf("ana's count after a redelivery %v, want %v", got, want)
	}
}

func TestBalancedCountsManualAssignments(t *testing.T) {
	f := newAssignFixture(t, "ana", "ben")
	f.agent("ana", inbox.AvailabilityOnline, nil)
	f.agent("ben", inbox.AvailabilityOnline, nil)
	// Two conversations ana took by hand, before any rule.
	for range 2 {
		c := f.inbound("by hand")
		if _, err := f.svc.Assign(f.ctx, f.admin, c.ID, "ana"); err != nil {
			t.Fatal(err)
		}
	}
	f.rule("Balanced", inbox.StrategyBalanced, "ana", "ben")
	var got []string
	for range 4 {
		c := f.inbound("hi")
		f.deliver(c, "lastMessage")
		got = append(got, f.conv(c.ID).AssigneeID)
	}
	// ben until level, then the one who waited longest.
	if want := []string{"ben", "ben", "ana", "ben"}; !slices.Equal(got, want) {
		t.Fatalf("assignees %v, want %v", got, want)
	}
	if got, want := f.counts("ana", "ben"), []int{3, 3}; !slices.Equal(got, want) {
		t.Fatalf("open assigned %v, want %v", got, want)
	}
}

func TestCapacityUnderConcurrencyAndTheQueue(t *testing.T) {
	f := newAssignFixture(t, "ana", "ben", "cy")
	f.agent("ana", inbox.AvailabilityOnline, intp(3))
	f.agent("ben", inbox.AvailabilityOnline, intp(3))
	f.agent("cy", inbox.AvailabilityOffline, intp(2))
	f.rule("Support", inbox.StrategyRoundRobin, "ana", "ben", "cy")

	convs := make([]*inbox.Conversation, 10)
	for i := range convs {
		convs[i] = f.inbound(fmt.Sprintf("message %d", i))
	}
	// Ten conversations arrive at once.
	var wg sync.WaitGroup
	for _, c := range convs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f.deliver(c, "lastMessage")
		}()
	}
	wg.Wait()
	assigned := map[string]int{}
	var queued []string
	for _, c := range convs {
		c = f.conv(c.ID)
		if c.AssigneeID == "" {
			queued = append(queued, c.ID)
			if c.WaitingSince == nil {
				t.Errorf("conversation %s is unassigned but not waiting", c.ID)
			}
			continue
		}
		assigned[c.AssigneeID]++
	}
	if assigned["ana"] != 3 || assigned["ben"] != 3 || len(queued) != 4 {
		t.Fatalf("assigned %v and %d queued, want 3, 3 and 4", assigned, len(queued))
	}
	if got, want := f.counts("ana", "ben", "cy"), []int{3, 3, 0}; !slices.Equal(got, want) {
		t.Fatalf("open assigned %v, want %v", got, want)
	}
	// The queue is in arrival order (the messages' ids).
	byArrival := slices.Clone(queued)
	slices.SortFunc(byArrival, func(a, b string) int {
		return compareStrings(f.conv(a).ActivityID, f.conv(b).ActivityID)
	})
	if w := f.waiting(); !slices.Equal(w, byArrival) {
		t.Fatalf("queue %v, want %v", w, byArrival)
	}

	// Ana completes one: the oldest waiting conversation is hers.
	var anas string
	for _, c := range convs {
		if f.conv(c.ID).AssigneeID == "ana" {
			anas = c.ID
			break
		}
	}
	done, err := f.svc.SetStatus(f.ctx, f.admin, anas, inbox.StatusComplete)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := f.counts("ana"), []int{2}; !slices.Equal(got, want) {
		t.Fatalf("ana's count after completing %v, want %v", got, want)
	}
	f.deliver(done, "status")
	if c := f.conv(byArrival[0]); c.AssigneeID != "ana" || c.WaitingSince != nil {
		t.Fatalf("oldest waiting: assignee %q waiting %v, want ana", c.AssigneeID, c.WaitingSince)
	}
	if got, want := f.counts("ana", "ben"), []int{3, 3}; !slices.Equal(got, want) {
		t.Fatalf("open assigned %v, want %v", got, want)
	}
	if w := f.waiting(); !slices.Equal(w, byArrival[1:]) {
		t.Fatalf("queue %v, want %v", w, byArrival[1:])
	}

	// Cy comes online with room for two: the two oldest are theirs.
	if _, err := f.svc.SetAvailability(f.ctx, inbox.Actor{WorkspaceID: f.admin.WorkspaceID, UserID: "cy", Role: inbox.RoleAgent}, "cy", inbox.AvailabilityOnline); err != nil {
		t.Fatal(err)
	}
	for _, id := range byArrival[1:3] {
		if c := f.conv(id); c.AssigneeID != "cy" {
			t.Fatalf("conversation %s went to %q, want cy", id, c.AssigneeID)
		}
	}
	if w := f.waiting(); !slices.Equal(w, byArrival[3:]) {
		t.Fatalf("queue %v, want %v", w, byArrival[3:])
	}

	// Reopening Ana's completed conversation counts it again; a manual
	// assignment may pass capacity.
	if _, err := f.svc.SetStatus(f.ctx, f.admin, anas, inbox.StatusOpen); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Assign(f.ctx, f.admin, byArrival[3], "ben"); err != nil {
		t.Fatal(err)
	}
	if got, want := f.counts("ana", "ben", "cy"), []int{4, 4, 2}; !slices.Equal(got, want) {
		t.Fatalf("open assigned %v, want %v", got, want)
	}
	// The manual assignment's stale place leaves the queue on the next drain.
	f.deliver(f.conv(byArrival[3]), "assignee")
	if w := f.waiting(); len(w) != 0 {
		t.Fatalf("queue %v, want empty", w)
	}
	// Deleting a conversation frees its slot too.
	ws := f.admin.WorkspaceID
	if err := f.store.PutWorkspace(f.ctx, &inbox.Workspace{ID: ws, Name: "Assign", Version: 1, Settings: inbox.WorkspaceSettings{ConversationDeletion: true}}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.DeleteConversation(f.ctx, f.admin, byArrival[3]); err != nil {
		t.Fatal(err)
	}
	if got, want := f.counts("ben"), []int{3}; !slices.Equal(got, want) {
		t.Fatalf("ben's count after a delete %v, want %v", got, want)
	}
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func TestAssignmentRulesRefuseBadInput(t *testing.T) {
	f := newAssignFixture(t, "ana")
	newAssignFixture(t, "zed") // another workspace, with its own user
	name := "Spanish"
	for _, tc := range []struct {
		name string
		in   inbox.RuleInput
	}{
		{"another workspace's user", inbox.RuleInput{Name: &name, UserIDs: &[]string{"zed"}}},
		{"an unknown user", inbox.RuleInput{Name: &name, UserIDs: &[]string{"nobody"}}},
		{"no users", inbox.RuleInput{Name: &name, UserIDs: &[]string{}}},
		{"a long keyword", inbox.RuleInput{Name: &name, UserIDs: &[]string{"ana"}, Conditions: &inbox.RuleConditions{Keyword: string(make([]byte, 101))}}},
		{"a bad day", inbox.RuleInput{Name: &name, UserIDs: &[]string{"ana"}, Conditions: &inbox.RuleConditions{Hours: &inbox.BusinessHours{Days: []string{"funday"}, Start: "09:00", End: "17:00"}}}},
		{"a bad strategy", inbox.RuleInput{Name: &name, UserIDs: &[]string{"ana"}, Strategy: (*inbox.AssignStrategy)(&[]string{"random"}[0])}},
	} {
		_, err := f.svc.CreateAssignmentRule(f.ctx, f.admin, tc.in)
		if !inbox.IsKind(err, inbox.KindInvalid) {
			t.Errorf("%s: err %v, want invalid", tc.name, err)
		}
	}
	if _, err := f.svc.SetCapacity(f.ctx, f.admin, "ana", intp(-1)); !inbox.IsKind(err, inbox.KindInvalid) {
		t.Errorf("capacity -1: err %v, want invalid", err)
	}
	if _, err := f.svc.SetCapacity(f.ctx, f.admin, "zed", intp(1)); !inbox.IsKind(err, inbox.KindInvalid) {
		t.Errorf("another workspace's user: err %v, want invalid", err)
	}
	agent := inbox.Actor{WorkspaceID: f.admin.WorkspaceID, UserID: "ana", Role: inbox.RoleAgent}
	if _, err := f.svc.SetAvailability(f.ctx, agent, "admin", inbox.AvailabilityOnline); !inbox.IsKind(err, inbox.KindForbidden) {
		t.Errorf("an agent setting another's availability: err %v, want forbidden", err)
	}
	if rules, err := f.svc.AssignmentRules(f.ctx, f.admin); err != nil || len(rules) != 0 {
		t.Fatalf("rules %v, %v; want none written", rules, err)
	}
}

func TestRuleConditions(t *testing.T) {
	f := newAssignFixture(t, "ana", "ben")
	f.agent("ana", inbox.AvailabilityOnline, nil)
	f.agent("ben", inbox.AvailabilityOnline, nil)
	name, kw := "Spanish", "hola"
	users := []string{"ben"}
	if _, err := f.svc.CreateAssignmentRule(f.ctx, f.admin, inbox.RuleInput{Name: &name, UserIDs: &users,
		Conditions: &inbox.RuleConditions{Keyword: kw, Channels: []inbox.Channel{inbox.ChannelSMS}}}); err != nil {
		t.Fatal(err)
	}
	f.rule("Everyone else", inbox.StrategyRoundRobin, "ana")
	spanish, english := f.inbound("¡HOLA! necesito ayuda"), f.inbound("hello")
	f.deliver(spanish, "lastMessage")
	f.deliver(english, "lastMessage")
	if got := f.conv(spanish.ID).AssigneeID; got != "ben" {
		t.Errorf("spanish went to %q, want ben", got)
	}
	if got := f.conv(english.ID).AssigneeID; got != "ana" {
		t.Errorf("english went to %q, want ana", got)
	}
}

// TestAssignmentCapacity measures what routing a new inbound conversation
// costs: the rules, the agents, the conversation and the transaction.
func TestAssignmentCapacity(t *testing.T) {
	f := newAssignFixture(t, "ana", "ben")
	f.agent("ana", inbox.AvailabilityOnline, intp(5))
	f.agent("ben", inbox.AvailabilityOnline, intp(5))
	f.rule("Support", inbox.StrategyRoundRobin, "ana", "ben")
	c := f.inbound("hello")
	var m dynamo.Meter
	e := inbox.Event{Type: inbox.EventConversationUpdated, WorkspaceID: f.admin.WorkspaceID, ConversationID: c.ID, Conversation: c, Changes: []string{"lastMessage"}}
	if err := f.svc.Assigner.HandleEvent(dynamo.WithMeter(f.ctx, &m), e); err != nil {
		t.Fatal(err)
	}
	if f.conv(c.ID).AssigneeID == "" {
		t.Fatal("not assigned")
	}
	t.Logf("assigning a new inbound conversation: %.1f RRU, %.1f WRU in %d calls", m.Read, m.Write, m.Calls)
	var q dynamo.Meter
	f.agent("ana", inbox.AvailabilityOffline, nil)
	f.agent("ben", inbox.AvailabilityOffline, nil)
	c = f.inbound("hello again")
	e.ConversationID, e.Conversation = c.ID, c
	if err := f.svc.Assigner.HandleEvent(dynamo.WithMeter(f.ctx, &q), e); err != nil {
		t.Fatal(err)
	}
	t.Logf("queueing one (every agent offline): %.1f RRU, %.1f WRU in %d calls", q.Read, q.Write, q.Calls)
	var a dynamo.Meter
	assigned := f.inbound("assigned already")
	if _, err := f.svc.Assign(f.ctx, f.admin, assigned.ID, "ana"); err != nil {
		t.Fatal(err)
	}
	e.ConversationID, e.Conversation = assigned.ID, f.conv(assigned.ID)
	if err := f.svc.Assigner.HandleEvent(dynamo.WithMeter(f.ctx, &a), e); err != nil {
		t.Fatal(err)
	}
	if a.Calls != 0 {
		t.Errorf("an assigned conversation's message cost %d calls, want none", a.Calls)
	}
	// Completing an assigned conversation moves its agent's count in the
	// same write; completing an unassigned one stays a plain put.
	var done, plain dynamo.Meter
	if _, err := f.svc.SetStatus(dynamo.WithMeter(f.ctx, &done), f.admin, assigned.ID, inbox.StatusComplete); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.SetStatus(dynamo.WithMeter(f.ctx, &plain), f.admin, c.ID, inbox.StatusComplete); err != nil {
		t.Fatal(err)
	}
	t.Logf("completing an assigned conversation: %.1f RRU, %.1f WRU; an unassigned one: %.1f RRU, %.1f WRU", done.Read, done.Write, plain.Read, plain.Write)
}

func TestAvailabilityFollowsPresence(t *testing.T) {
	f := newAssignFixture(t, "ana", "ben")
	f.agent("ana", inbox.AvailabilityOffline, intp(1))
	f.rule("Support", inbox.StrategyRoundRobin, "ana")
	waiting := f.inbound("anyone?")
	f.deliver(waiting, "lastMessage")
	live := inbox.NewLive(f.store, nil, nil)
	ws := f.admin.WorkspaceID
	availability := func(user string) inbox.Availability {
		t.Helper()
		agents, err := f.store.GetAgents(f.ctx, ws, []string{user})
		if err != nil {
			t.Fatal(err)
		}
		return agents[user].Availability
	}
	// Ana chose offline by hand: a socket leaves her so.
	first := inbox.Connection{ID: "c1", WorkspaceID: ws, UserID: "ana", Role: inbox.RoleAgent}
	if err := live.Connect(f.ctx, first); err != nil {
		t.Fatal(err)
	}
	if got := availability("ana"); got != inbox.AvailabilityOffline {
		t.Fatalf("ana is %s after connecting, want offline (her choice)", got)
	}
	// Ben never chose: his first socket takes him online, his last one
	// closing takes him offline.
	ben1 := inbox.Connection{ID: "c2", WorkspaceID: ws, UserID: "ben", Role: inbox.RoleAgent}
	ben2 := inbox.Connection{ID: "c3", WorkspaceID: ws, UserID: "ben", Role: inbox.RoleAgent}
	for _, c := range []inbox.Connection{ben1, ben2} {
		if err := live.Connect(f.ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if got := availability("ben"); got != inbox.AvailabilityOnline {
		t.Fatalf("ben is %s with a socket open, want online", got)
	}
	if err := live.Disconnect(f.ctx, ben1); err != nil {
		t.Fatal(err)
	}
	if got := availability("ben"); got != inbox.AvailabilityOnline {
		t.Fatalf("ben is %s with one socket left, want online", got)
	}
	if err := live.Disconnect(f.ctx, ben2); err != nil {
		t.Fatal(err)
	}
	if got := availability("ben"); got != inbox.AvailabilityOffline {
		t.Fatalf("ben is %s after his last socket closed, want offline", got)
	}
	// Ana comes online by hand: the conversation waiting for her is hers.
	if _, err := f.svc.SetAvailability(f.ctx, f.admin, "ana", inbox.AvailabilityOnline); err != nil {
		t.Fatal(err)
	}
	if got := f.conv(waiting.ID).AssigneeID; got != "ana" {
		t.Fatalf("waiting conversation went to %q, want ana", got)
	}
}

// TestRulesLeaveTheBotsContactsAlone: while the contact is with the bot,
// a new message does not route the conversation; when the bot hands over
// (bot off, with a reason), the rules route it, and the thread says why.
func TestRulesLeaveTheBotsContactsAlone(t *testing.T) {
	f := newAssignFixture(t, "ana")
	f.agent("ana", inbox.AvailabilityOnline, nil)
	f.rule("Everyone", inbox.StrategyRoundRobin, "ana")

	c := f.inbound("hi")
	bot := inbox.Actor{WorkspaceID: f.admin.WorkspaceID, UserID: "client:demo-bot", Role: inbox.RoleAgent, ClientID: "demo-bot", Name: "Demo bot"}
	on, err := f.svc.SetBot(f.ctx, f.admin, c.ID, inbox.BotInput{Enabled: true})
	if err != nil || !on.Bot {
		t.Fatalf("bot on = %+v, %v", on, err)
	}
	first := f.conv(on.ID)
	f.deliver(first, "lastMessage")
	if got := f.conv(on.ID); got.AssigneeID != "" {
		t.Fatalf("a conversation with the bot was assigned to %s", got.AssigneeID)
	}
	off, err := f.svc.SetBot(f.ctx, bot, on.ID, inbox.BotInput{Enabled: false, Reason: "asks for a refund"})
	if err != nil || off.Bot {
		t.Fatalf("bot off = %+v, %v", off, err)
	}
	f.deliver(off, "bot")
	if got := f.conv(on.ID); got.AssigneeID != "ana" {
		t.Fatalf("after the handover the conversation is %q's, want ana's", got.AssigneeID)
	}
	page, err := f.svc.ListMessages(f.ctx, f.admin, on.ID, inbox.PageRequest{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	var notes []string
	for _, m := range page.Items {
		if m.Kind == inbox.KindActivity {
			notes = append(notes, m.Body)
		}
	}
	if !slices.Contains(notes, "Demo bot handed the conversation to the team: asks for a refund") {
		t.Errorf("activity notes %q", notes)
	}
}
