package dynamo_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/parley-inbox/parley/shared/adapter/dynamo"
	"github.com/parley-inbox/parley/shared/dev/dynamotest"
	"github.com/parley-inbox/parley/shared/dev/inboxtest"
	"github.com/parley-inbox/parley/shared/inbox"
)

func connectionIDs(cs []inbox.Connection) []string {
	var ids []string
	for _, c := range cs {
		ids = append(ids, c.ID)
	}
	slices.Sort(ids)
	return ids
}

func TestConnectionsAreScopedByWorkspaceAndVisitor(t *testing.T) {
	store := dynamotest.Store(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	agent := func(id, ws, user string) inbox.Connection {
		return inbox.Connection{ID: id, WorkspaceID: ws, UserID: user, Role: inbox.RoleAgent, ConnectedAt: now}
	}
	visitor := func(id, ws, v string) inbox.Connection {
		return inbox.Connection{ID: id, WorkspaceID: ws, VisitorID: v, ConnectedAt: now}
	}
	expired := agent("a-old", "w1", "u3")
	expired.ConnectedAt = now.Add(-inbox.ConnectionLifetime - time.Minute)
	expiredVisitor := visitor("v1-old", "w1", "v1")
	expiredVisitor.ConnectedAt = expired.ConnectedAt
	for _, c := range []inbox.Connection{
		agent("a1", "w1", "u1"), agent("a2", "w1", "u2"), agent("a9", "w2", "u9"), expired,
		visitor("v1-tab1", "w1", "v1"), visitor("v1-tab2", "w1", "v1"), visitor("v2-tab", "w1", "v2"),
		visitor("v1-w2", "w2", "v1"), expiredVisitor,
	} {
		if err := store.PutConnection(ctx, c); err != nil {
			t.Fatal(err)
		}
	}

	agents, err := store.AgentConnections(ctx, "w1")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := connectionIDs(agents), []string{"a1", "a2"}; !slices.Equal(got, want) {
		t.Errorf("w1's agents = %v, want %v (no visitors, no expired, no other workspace)", got, want)
	}
	for _, a := range agents {
		if a.ID == "a1" && a != agent("a1", "w1", "u1") {
			t.Errorf("a1 read back as %+v, want %+v", a, agent("a1", "w1", "u1"))
		}
	}
	tests := []struct {
		ws, visitor string
		want        []string
	}{
		{"w1", "v1", []string{"v1-tab1", "v1-tab2"}},
		{"w1", "v2", []string{"v2-tab"}},
		{"w2", "v1", []string{"v1-w2"}},
		{"w2", "v2", nil},
		{"w1", "v", nil},       // a prefix of another visitor's id
		{"w1", "v1#LIVE", nil}, // a forged key part
		{"w1", "", nil},
	}
	for _, tt := range tests {
		got, err := store.VisitorConnections(ctx, tt.ws, tt.visitor)
		if err != nil {
			t.Fatal(err)
		}
		if ids := connectionIDs(got); !slices.Equal(ids, tt.want) {
			t.Errorf("VisitorConnections(%s, %q) = %v, want %v", tt.ws, tt.visitor, ids, tt.want)
		}
		for _, c := range got {
			if c.VisitorID != tt.visitor || c.WorkspaceID != tt.ws || c.UserID != "" {
				t.Errorf("VisitorConnections(%s, %s) returned %+v", tt.ws, tt.visitor, c)
			}
		}
	}

	if err := store.DeleteConnection(ctx, agent("a1", "w1", "u1")); err != nil {
		t.Fatal(err)
	}
	if err := store.DeleteConnection(ctx, visitor("v1-tab1", "w1", "v1")); err != nil {
		t.Fatal(err)
	}
	if err := store.DeleteConnection(ctx, agent("never-there", "w1", "u1")); err != nil {
		t.Errorf("deleting an unknown connection: %v", err)
	}
	agents, _ = store.AgentConnections(ctx, "w1")
	if got, want := connectionIDs(agents), []string{"a2"}; !slices.Equal(got, want) {
		t.Errorf("after delete, w1's agents = %v, want %v", got, want)
	}
	visitors, _ := store.VisitorConnections(ctx, "w1", "v1")
	if got, want := connectionIDs(visitors), []string{"v1-tab2"}; !slices.Equal(got, want) {
		t.Errorf("after delete, v1's connections = %v, want %v", got, want)
	}
}

// tape journals real changes: it reads an item before and after a real
// write and hands both images to Journal, as the stream would.
type tape struct {
	tb     testing.TB
	client *dynamodb.Client
	table  string
	store  *dynamo.Store
	n      int
}

func newTape(tb testing.TB) (*tape, inboxtest.UseCases) {
	tb.Helper()
	client, table := dynamotest.Table(tb)
	store := dynamo.New(client, table, []byte("test-cursor-secret"))
	return &tape{tb: tb, client: client, table: table, store: store}, inboxtest.New(store, inboxtest.Deps{})
}

func (tp *tape) image(pk, sk string) map[string]types.AttributeValue {
	tp.tb.Helper()
	out, err := tp.client.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: &tp.table, Key: dynamo.Key(pk, sk), ConsistentRead: aws.Bool(true)})
	if err != nil {
		tp.tb.Fatal(err)
	}
	return out.Item
}

// record runs a write and returns the change it made to one item.
func (tp *tape) record(pk, sk string, write func()) dynamo.Change {
	tp.tb.Helper()
	before := tp.image(pk, sk)
	write()
	tp.n++
	return dynamo.Change{EventID: fmt.Sprintf("event-%d", tp.n), At: time.Now(), Old: before, New: tp.image(pk, sk)}
}

func (tp *tape) journal(c dynamo.Change) dynamo.Change {
	tp.tb.Helper()
	if err := tp.store.Journal(context.Background(), &c); err != nil {
		tp.tb.Fatalf("Journal %s: %v", c.EventID, err)
	}
	return c
}

func convPK(ws, id string) string { return "WS#" + ws + "#CONV#" + id }

const skConv = "#CONV"

func must[T any](tb testing.TB) func(T, error) T {
	return func(v T, err error) T {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
		return v
	}
}

func setUpWorkspace(tb testing.TB, store inbox.Store, ws string, users ...string) inbox.Actor {
	tb.Helper()
	ctx := context.Background()
	if err := store.PutWorkspace(ctx, &inbox.Workspace{ID: ws, Name: "Live", Settings: inbox.WorkspaceSettings{ConversationDeletion: true, Timezone: "UTC"}}); err != nil {
		tb.Fatal(err)
	}
	for _, u := range append([]string{"admin-1"}, users...) {
		role := inbox.RoleAgent
		if u == "admin-1" {
			role = inbox.RoleAdmin
		}
		if err := store.PutUser(ctx, &inbox.User{ID: u, WorkspaceID: ws, Name: u, Email: u + "@example.com", Role: role}); err != nil {
			tb.Fatal(err)
		}
	}
	return inbox.Actor{WorkspaceID: ws, UserID: "admin-1", Role: inbox.RoleAdmin}
}

func inboundSMS(ws, phone, id string) inbox.Inbound {
	return inbox.Inbound{WorkspaceID: ws, Channel: inbox.ChannelSMS, Kind: inbox.KindMessage, ProviderID: id,
		From: inbox.Correspondent{Phone: phone}, Body: "hello " + id}
}

// recount is what the badges should say, counted from the conversations
// themselves rather than from deltas.
func recount(actor inbox.Actor, convs []*inbox.Conversation) inbox.ConversationCounts {
	out := inbox.ConversationCounts{Labels: map[string]inbox.Tally{}, Channels: map[inbox.Channel]inbox.Tally{}}
	add := func(t *inbox.Tally, unread bool) {
		t.Open++
		if unread {
			t.Unread++
		}
	}
	for _, c := range convs {
		if c.Status != inbox.StatusOpen || c.Archived {
			continue
		}
		add(&out.All, c.Unread)
		if c.AssigneeID == actor.UserID {
			add(&out.Mine, c.Unread)
		}
		if c.AssigneeID == "" {
			add(&out.Unassigned, c.Unread)
		}
		for _, l := range c.Labels {
			t := out.Labels[l]
			add(&t, c.Unread)
			out.Labels[l] = t
		}
		for _, ch := range c.Channels {
			t := out.Channels[ch]
			add(&t, c.Unread)
			out.Channels[ch] = t
		}
	}
	return out
}

func checkCounts(tb testing.TB, store *dynamo.Store, actors []inbox.Actor, ids []string) {
	tb.Helper()
	ctx := context.Background()
	ws := actors[0].WorkspaceID
	var convs []*inbox.Conversation
	for _, id := range ids {
		c, err := store.GetConversation(ctx, ws, id)
		if inbox.IsKind(err, inbox.KindNotFound) {
			continue
		}
		if err != nil {
			tb.Fatal(err)
		}
		convs = append(convs, c)
	}
	counters, err := store.Counters(ctx, ws, inbox.ConversationCounters, true)
	if err != nil {
		tb.Fatal(err)
	}
	for _, a := range actors {
		got, want := inbox.ConversationCountsFor(a, counters), recount(a, convs)
		if got.All != want.All || got.Mine != want.Mine || got.Unassigned != want.Unassigned ||
			!maps.Equal(got.Labels, want.Labels) || !maps.Equal(got.Channels, want.Channels) {
			tb.Errorf("%s's badges = %+v\nrecounted from the conversations: %+v", a.UserID, got, want)
		}
	}
}

func TestJournalCountsAChangeOnce(t *testing.T) {
	tp, svc := newTape(t)
	ctx := context.Background()
	ws := inbox.NewID(time.Now())
	setUpWorkspace(t, tp.store, ws)
	res := must[*inbox.IngestResult](t)(svc.Ingest(ctx, inboundSMS(ws, "+14155550101", "SM1")))
	created := dynamo.Change{EventID: "created", New: tp.image(convPK(ws, res.Conversation.ID), skConv)}
	if created.New == nil {
		t.Fatal("no conversation item after the first inbound message")
	}

	open := func() inbox.Counters {
		c, err := tp.store.Counters(ctx, ws, inbox.ConversationCounters, true)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	tp.journal(created)
	want := inbox.Counters{"open": 1, "unread": 1, "open|assignee|": 1, "unread|assignee|": 1, "open|channel|sms": 1, "unread|channel|sms": 1}
	if got := open(); !maps.Equal(got, want) {
		t.Fatalf("after the creation, counters = %v, want %v", got, want)
	}
	for range 2 {
		tp.journal(created) // the stream redelivers the same record
	}
	if got := open(); !maps.Equal(got, want) {
		t.Errorf("after redelivery, counters = %v, want them unmoved: %v", got, want)
	}
	again := created
	again.EventID = "another-record"
	tp.journal(again)
	if got := open()["open"]; got != 2 {
		t.Errorf("another record with the same images moved open to %d, want 2 (one count per record)", got)
	}
}

func TestJournalKeepsCountersEqualToARecount(t *testing.T) {
	tp, svc := newTape(t)
	ctx := context.Background()
	ws := inbox.NewID(time.Now())
	// User ids are the identity provider's subject: PutUser takes any but
	// "#", "/" and " ", so a counter's name may hold "." or "[".
	admin := setUpWorkspace(t, tp.store, ws, "ana.lima", "bo[2]")
	ana := inbox.Actor{WorkspaceID: ws, UserID: "ana.lima", Role: inbox.RoleAgent}
	actors := []inbox.Actor{admin, ana, {WorkspaceID: ws, UserID: "bo[2]", Role: inbox.RoleAgent}}
	var ids []string

	ingest := func(phone, id string) string {
		t.Helper()
		res := must[*inbox.IngestResult](t)(svc.Ingest(ctx, inboundSMS(ws, phone, id)))
		return res.Conversation.ID
	}
	// Creations: the first write of each conversation.
	for i, phone := range []string{"+14155550101", "+14155550102", "+14155550103"} {
		id := ingest(phone, fmt.Sprintf("SM%d", i))
		tp.journal(dynamo.Change{EventID: fmt.Sprintf("create-%d", i), At: time.Now(), New: tp.image(convPK(ws, id), skConv)})
		ids = append(ids, id)
	}
	checkCounts(t, tp.store, actors, ids)
	a, b := ids[0], ids[1]
	label := must[*inbox.Label](t)(svc.CreateLabel(ctx, admin, inbox.LabelInput{Name: "Billing", Color: "#ff0000"}))

	steps := []struct {
		name  string
		id    string
		write func() error
	}{
		{"read", a, func() error { _, err := svc.SetUnread(ctx, admin, a, false); return err }},
		{"assigned", a, func() error { _, err := svc.Assign(ctx, admin, a, "ana.lima"); return err }},
		{"labelled", a, func() error { _, err := svc.AddLabel(ctx, admin, a, label.ID); return err }},
		{"other labelled", b, func() error { _, err := svc.AddLabel(ctx, admin, b, label.ID); return err }},
		{"other assigned", b, func() error { _, err := svc.Assign(ctx, admin, b, "bo[2]"); return err }},
		{"new inbound", a, func() error { _, err := svc.Ingest(ctx, inboundSMS(ws, "+14155550101", "SM9")); return err }},
		{"reassigned", b, func() error { _, err := svc.Assign(ctx, admin, b, "ana.lima"); return err }},
		{"unlabelled", b, func() error { _, err := svc.RemoveLabel(ctx, admin, b, label.ID); return err }},
		{"completed", b, func() error { _, err := svc.SetStatus(ctx, admin, b, inbox.StatusComplete); return err }},
		{"archived", a, func() error { _, err := svc.SetArchived(ctx, admin, a, true); return err }},
		{"unarchived", a, func() error { _, err := svc.SetArchived(ctx, admin, a, false); return err }},
		{"deleted", a, func() error { return svc.DeleteConversation(ctx, admin, a) }},
	}
	for _, s := range steps {
		c := tp.record(convPK(ws, s.id), skConv, func() {
			if err := s.write(); err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
		})
		tp.journal(c)
		tp.journal(c) // redelivered
		checkCounts(t, tp.store, actors, ids)
		if t.Failed() {
			t.Fatalf("counters drifted at %q", s.name)
		}
	}
	if got := inbox.ConversationCountsFor(ana, must[inbox.Counters](t)(tp.store.Counters(ctx, ws, inbox.ConversationCounters, true))); got.Mine.Open != 0 || got.All.Open != 1 {
		t.Errorf("at the end, ana's badges = %+v; want nothing of hers open and one open in all", got)
	}
}

func TestChangeLogOfConversations(t *testing.T) {
	tp, svc := newTape(t)
	ctx := context.Background()
	ws, other := inbox.NewID(time.Now()), inbox.NewID(time.Now())
	admin := setUpWorkspace(t, tp.store, ws, "u2")
	setUpWorkspace(t, tp.store, other)
	create := func(ws, phone, id string) string {
		t.Helper()
		res := must[*inbox.IngestResult](t)(svc.Ingest(ctx, inboundSMS(ws, phone, id)))
		tp.journal(dynamo.Change{EventID: "create-" + res.Conversation.ID, New: tp.image(convPK(ws, res.Conversation.ID), skConv)})
		return res.Conversation.ID
	}
	a := create(ws, "+14155550101", "SM1")
	b := create(ws, "+14155550102", "SM2")
	time.Sleep(5 * time.Millisecond)
	since := time.Now()
	time.Sleep(5 * time.Millisecond)

	type entry struct {
		id      string
		version int64
	}
	var want []entry
	var lastSeq string
	change := func(id string, write func(), logged bool) {
		t.Helper()
		c := tp.journal(tp.record(convPK(ws, id), skConv, write))
		if !logged {
			return
		}
		conv := must[*inbox.Conversation](t)(tp.store.GetConversation(ctx, ws, id))
		want, lastSeq = append(want, entry{id, conv.Version}), c.Seq
	}
	change(a, func() { must[*inbox.Conversation](t)(svc.SetUnread(ctx, admin, a, false)) }, true)
	change(b, func() { must[*inbox.Conversation](t)(svc.Assign(ctx, admin, b, "u2")) }, true)
	change(a, func() {}, false) // the same image twice: nothing an agent sees changed
	change(a, func() { must[*inbox.Conversation](t)(svc.SetStatus(ctx, admin, a, inbox.StatusComplete)) }, true)
	change(b, func() { must[*inbox.Conversation](t)(svc.SetArchived(ctx, admin, b, true)) }, true)
	change(a, func() { must[*inbox.Conversation](t)(svc.SetStatus(ctx, admin, a, inbox.StatusOpen)) }, true)
	create(other, "+14155550101", "SM1")
	time.Sleep(2 * time.Millisecond)

	var got []entry
	var pages []string
	seq := ""
	p := inbox.PageRequest{Limit: 2}
	for {
		page, s, err := tp.store.ConversationChanges(ctx, ws, since, p)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range page.Items {
			if c.WorkspaceID != ws {
				t.Errorf("a change of %s has workspace %q", c.ID, c.WorkspaceID)
			}
			got = append(got, entry{c.ID, c.Version})
		}
		if len(page.Items) > 0 && s <= seq {
			t.Errorf("page seq %q does not move past %q", s, seq)
		}
		if s != "" {
			seq = s
		}
		pages = append(pages, page.NextCursor)
		if page.NextCursor == "" {
			break
		}
		if len(pages) == 1 {
			// A cursor is bound to its workspace's log.
			if _, _, err := tp.store.ConversationChanges(ctx, other, since, inbox.PageRequest{Limit: 2, Cursor: page.NextCursor}); !inbox.IsKind(err, inbox.KindInvalid) {
				t.Errorf("another workspace's cursor: err = %v, want invalid", err)
			}
		}
		p.Cursor = page.NextCursor
	}
	if !slices.Equal(got, want) {
		t.Errorf("changes since = %v, want %v (oldest first, none from before, none twice, no unchanged image)", got, want)
	}
	if len(pages) < 3 {
		t.Errorf("%d changes in pages of 2 came in %d pages", len(got), len(pages))
	}
	if seq != lastSeq {
		t.Errorf("the last page's seq = %q, want the last journaled change's %q", seq, lastSeq)
	}

	page, _, err := tp.store.ConversationChanges(ctx, other, since, inbox.PageRequest{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 1 || page.Items[0].WorkspaceID != other {
		t.Errorf("the other workspace's log = %+v, want its one conversation", page.Items)
	}
	page, seq, err = tp.store.ConversationChanges(ctx, ws, time.Now().Add(time.Second), inbox.PageRequest{Limit: 50})
	if err != nil || len(page.Items) != 0 || seq != "" || page.NextCursor != "" {
		t.Errorf("changes after now = %v, seq %q, cursor %q, %v; want none", page.Items, seq, page.NextCursor, err)
	}
}

func TestChangeLogOfMessages(t *testing.T) {
	tp, svc := newTape(t)
	ctx := context.Background()
	ws := inbox.NewID(time.Now())
	admin := setUpWorkspace(t, tp.store, ws)
	first := must[*inbox.IngestResult](t)(svc.Ingest(ctx, inboundSMS(ws, "+14155550101", "SM1")))
	second := must[*inbox.IngestResult](t)(svc.Ingest(ctx, inboundSMS(ws, "+14155550102", "SM2")))
	a, b := first.Conversation.ID, second.Conversation.ID
	msgSK := func(id string) string { return "MSG#" + id }
	lastSeq := map[string]string{}
	logMessage := func(conv, id string) {
		t.Helper()
		lastSeq[conv] = tp.journal(dynamo.Change{EventID: "msg-" + id, New: tp.image(convPK(ws, conv), msgSK(id))}).Seq
	}
	logMessage(a, first.Message.ID)
	logMessage(b, second.Message.ID)
	time.Sleep(5 * time.Millisecond)
	since := time.Now()
	time.Sleep(5 * time.Millisecond)

	var wantA []string
	for i := range 3 {
		m, _, err := svc.PostMessage(ctx, admin, a, inbox.OutboundInput{Channel: inbox.ChannelSMS, Body: fmt.Sprintf("reply %d", i)}, "")
		if err != nil {
			t.Fatal(err)
		}
		logMessage(a, m.ID)
		wantA = append(wantA, m.ID)
	}
	comment, _, err := svc.PostComment(ctx, admin, b, inbox.CommentInput{Body: "internal note"}, "")
	if err != nil {
		t.Fatal(err)
	}
	logMessage(b, comment.ID)
	// A message's removal is no change a client syncs.
	tp.journal(dynamo.Change{EventID: "gone", Old: tp.image(convPK(ws, a), msgSK(first.Message.ID))})

	read := func(conv string, p inbox.PageRequest) (inbox.Page[*inbox.Message], string) {
		t.Helper()
		page, seq, err := tp.store.MessageChanges(ctx, ws, conv, since, p)
		if err != nil {
			t.Fatal(err)
		}
		return page, seq
	}
	var got []string
	p := inbox.PageRequest{Limit: 2}
	var firstCursor string
	for {
		page, _ := read(a, p)
		for _, m := range page.Items {
			if m.ConversationID != a || m.WorkspaceID != ws {
				t.Errorf("message %s of A reads as conversation %q, workspace %q", m.ID, m.ConversationID, m.WorkspaceID)
			}
			got = append(got, m.ID)
		}
		if page.NextCursor == "" {
			break
		}
		if firstCursor == "" {
			firstCursor = page.NextCursor
		}
		p.Cursor = page.NextCursor
	}
	if !slices.Equal(got, wantA) {
		t.Errorf("A's changes since = %v, want its replies %v", got, wantA)
	}
	page, seq := read(b, inbox.PageRequest{Limit: 50})
	if len(page.Items) != 1 || page.Items[0].ID != comment.ID || page.Items[0].Kind != inbox.KindComment {
		t.Errorf("B's changes = %+v, want only its comment", page.Items)
	}
	if seq != lastSeq[b] {
		t.Errorf("B's page seq = %q, want its last change's seq %q", seq, lastSeq[b])
	}
	if _, _, err := tp.store.MessageChanges(ctx, ws, b, since, inbox.PageRequest{Limit: 2, Cursor: firstCursor}); !inbox.IsKind(err, inbox.KindInvalid) {
		t.Errorf("A's cursor on B's log: err = %v, want invalid", err)
	}
	if page, _, err := tp.store.MessageChanges(ctx, inbox.NewID(time.Now()), a, since, inbox.PageRequest{Limit: 50}); err != nil || len(page.Items) != 0 {
		t.Errorf("A's id in another workspace = %v, %v; want nothing", page.Items, err)
	}
	// The log sits beside the thread's messages but is not one of them.
	list, err := svc.ListMessages(ctx, admin, a, inbox.PageRequest{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(list.Items); n != 4 {
		t.Errorf("A lists %d messages, want its 4 (the change log is not read as messages)", n)
	}
}
