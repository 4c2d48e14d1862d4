package inbox_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-inbox/parley/shared/inbox"
)

// liveStore is the little of a store the live use case reads: connections
// and counters. Nothing else exists in it: every thread, contact and
// sender is not found. The embedded nil Store makes any other call panic,
// so a test shows what the fan-out touches.
type liveStore struct {
	inbox.Store
	mu       sync.Mutex
	agents   map[string][]inbox.Connection // by workspace
	visitors map[string][]inbox.Connection // by workspace + "/" + visitor
	counters inbox.Counters
	deleted  []string
	peeks    int
}

func (s *liveStore) AgentConnections(_ context.Context, ws string) ([]inbox.Connection, error) {
	return s.agents[ws], nil
}

func (s *liveStore) VisitorConnections(_ context.Context, ws, visitor string) ([]inbox.Connection, error) {
	return s.visitors[ws+"/"+visitor], nil
}

func (s *liveStore) Counters(context.Context, string, inbox.CounterSet, bool) (inbox.Counters, error) {
	return maps.Clone(s.counters), nil
}

func (s *liveStore) DeleteConnection(_ context.Context, c inbox.Connection) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deleted = append(s.deleted, c.ID)
	return nil
}

var errNone = inbox.Errorf(inbox.KindNotFound, "not found")

func (s *liveStore) FindCorrespondent(context.Context, string, inbox.Correspondent) (string, string, error) {
	return "", "", errNone
}

func (s *liveStore) PeekConversation(context.Context, string, string) (*inbox.Conversation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.peeks++
	return nil, errNone
}

func (s *liveStore) GetContact(context.Context, string, string) (*inbox.Contact, error) {
	return nil, errNone
}

// poster records every frame by connection; connections in gone answer
// inbox.ErrGone.
type poster struct {
	mu     sync.Mutex
	frames map[string][][]byte
	gone   map[string]bool
}

func (p *poster) Post(_ context.Context, id string, frame []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.gone[id] {
		return inbox.ErrGone
	}
	if p.frames == nil {
		p.frames = map[string][][]byte{}
	}
	p.frames[id] = append(p.frames[id], bytes.Clone(frame))
	return nil
}

// received decodes every frame a connection got, each a JSON array.
func (p *poster) received(tb testing.TB, id string) [][]map[string]any {
	tb.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	var out [][]map[string]any
	for _, f := range p.frames[id] {
		var events []map[string]any
		if err := json.Unmarshal(f, &events); err != nil {
			tb.Fatalf("frame to %s is not a JSON array of objects: %v\n%.200s", id, err, f)
		}
		out = append(out, events)
	}
	return out
}

var liveNow = time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)

func reply(mod func(m *inbox.Message)) inbox.Event {
	m := &inbox.Message{ID: "m1", WorkspaceID: "w", ConversationID: "c1", Direction: inbox.DirectionOut, Kind: inbox.KindMessage,
		Channel: inbox.ChannelWebchat, Body: "Hello from support", Attachments: []inbox.Attachment{}, Status: inbox.MessageSent,
		AuthorID: "u1", Recipient: "v1", CreatedAt: liveNow}
	if mod != nil {
		mod(m)
	}
	return inbox.Event{ID: "e1", Seq: "s1", Type: inbox.EventMessageCreated, WorkspaceID: "w", ConversationID: "c1", Message: m}
}

func TestVisitorAudience(t *testing.T) {
	tests := []struct {
		name  string
		event inbox.Event
		want  string
	}{
		{"an agent's web chat reply", reply(nil), "v1"},
		{"an internal comment", reply(func(m *inbox.Message) { m.Kind, m.Internal = inbox.KindComment, true }), ""},
		{"a comment not flagged internal", reply(func(m *inbox.Message) { m.Kind = inbox.KindComment }), ""},
		{"an internal message", reply(func(m *inbox.Message) { m.Internal = true }), ""},
		{"an activity", reply(func(m *inbox.Message) { m.Kind = inbox.KindActivity }), ""},
		{"the visitor's own message", reply(func(m *inbox.Message) { m.Direction = inbox.DirectionIn }), ""},
		{"a reply by email", reply(func(m *inbox.Message) { m.Channel = inbox.ChannelEmail; m.Recipient = "ann@example.com" }), ""},
		{"a reply by SMS", reply(func(m *inbox.Message) { m.Channel = inbox.ChannelSMS; m.Recipient = "+14155550100" }), ""},
		{"a web chat reply to no one", reply(func(m *inbox.Message) { m.Recipient = "" }), ""},
		{"a status change of the reply", func() inbox.Event { e := reply(nil); e.Type = inbox.EventMessageStatusChanged; return e }(), ""},
		{"a conversation change", inbox.Event{ID: "e2", Type: inbox.EventConversationUpdated, WorkspaceID: "w", ConversationID: "c1"}, ""},
		{"a message event without its message", func() inbox.Event { e := reply(nil); e.Message = nil; return e }(), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := inbox.VisitorAudience(tt.event)
			if got != tt.want || ok != (tt.want != "") {
				t.Errorf("VisitorAudience = %q, %v; want %q, %v", got, ok, tt.want, tt.want != "")
			}
		})
	}
}

func TestRefusal(t *testing.T) {
	live := inbox.NewLive(&liveStore{}, fixedClock(liveNow), &poster{})
	agent := inbox.Connection{ID: "a1", WorkspaceID: "w", UserID: "u1", Role: inbox.RoleAgent}
	receive := func(frame string) error { return live.Receive(context.Background(), agent, []byte(frame)) }
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantTitle  string
	}{
		{"too large", receive(`{"type":"ping","x":"` + strings.Repeat("a", inbox.MaxClientFrame) + `"}`), 413, "a frame is at most 4096 bytes"},
		{"not JSON", receive(`hello`), 400, `a frame is a JSON object such as {"type":"ping"}`},
		{"unknown type", receive(`{"type":"subscribe"}`), 400, `unknown frame type "subscribe"; send ping or typing`},
		{"typing without a conversation", receive(`{"type":"typing"}`), 400, "an agent's typing frame names its conversationId"},
		{"not a domain error", fmt.Errorf("boom"), 400, "the frame was not understood"},
		{"another kind of domain error", inbox.Errorf(inbox.KindInternal, "secret detail"), 400, "the frame was not understood"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frame, status := inbox.Refusal(tt.err)
			if status != tt.wantStatus {
				t.Errorf("status = %d, want %d", status, tt.wantStatus)
			}
			var got []struct {
				Type   string `json:"type"`
				Status int    `json:"status"`
				Title  string `json:"title"`
			}
			if err := json.Unmarshal(frame, &got); err != nil || len(got) != 1 {
				t.Fatalf("refusal is not a one-event JSON array: %s (%v)", frame, err)
			}
			if got[0].Type != "error" || got[0].Status != tt.wantStatus || got[0].Title != tt.wantTitle {
				t.Errorf("refusal = %+v, want error %d %q", got[0], tt.wantStatus, tt.wantTitle)
			}
		})
	}
}

// maxServerFrame is inbox's limit on a server frame: under API Gateway's
// 128 KB.
const maxServerFrame = 96 << 10

func bigMessage(i, size int) inbox.Event {
	e := reply(func(m *inbox.Message) {
		m.ID = fmt.Sprintf("m%03d", i)
		m.Body = strings.Repeat("x", size)
	})
	e.ID = fmt.Sprintf("e%03d", i)
	return e
}

func TestFanOutSplitsABatchIntoFramesUnderTheLimit(t *testing.T) {
	store := &liveStore{agents: map[string][]inbox.Connection{"w": {{ID: "a1", WorkspaceID: "w", UserID: "u1", Role: inbox.RoleAgent}}}}
	p := &poster{}
	live := inbox.NewLive(store, fixedClock(liveNow), p)
	var batch []inbox.Event
	var want []string
	for i := range 40 {
		batch = append(batch, bigMessage(i, 8<<10))
		want = append(want, batch[i].ID)
	}
	if err := live.FanOut(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	raw := p.frames["a1"]
	p.mu.Unlock()
	if len(raw) < 4 {
		t.Fatalf("a %d KB batch went out in %d frames, want at least 4", 40*8, len(raw))
	}
	for i, f := range raw {
		if len(f) > maxServerFrame {
			t.Errorf("frame %d is %d bytes, over %d", i, len(f), maxServerFrame)
		}
	}
	var got []string
	for _, frame := range p.received(t, "a1") {
		for _, e := range frame {
			got = append(got, e["id"].(string))
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("events across frames = %v, want each once, in order: %v", got, want)
	}
}

func TestFanOutSendsAnEventOverTheLimitAlone(t *testing.T) {
	store := &liveStore{agents: map[string][]inbox.Connection{"w": {{ID: "a1", WorkspaceID: "w", UserID: "u1", Role: inbox.RoleAgent}}}}
	p := &poster{}
	live := inbox.NewLive(store, fixedClock(liveNow), p)
	batch := []inbox.Event{bigMessage(0, 10), bigMessage(1, 100<<10), bigMessage(2, 10)}
	if err := live.FanOut(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	frames := p.received(t, "a1")
	var sizes []int
	for _, f := range frames {
		sizes = append(sizes, len(f))
	}
	if !slices.Equal(sizes, []int{1, 1, 1}) {
		t.Fatalf("events per frame = %v, want the large one alone: [1 1 1]", sizes)
	}
	for i, f := range frames {
		if got, want := f[0]["id"], batch[i].ID; got != want {
			t.Errorf("frame %d carries %v, want %s", i, got, want)
		}
	}
}

func TestFanOutAudiences(t *testing.T) {
	agentU1 := inbox.Connection{ID: "a1", WorkspaceID: "w", UserID: "u1", Role: inbox.RoleAgent}
	agentU2 := inbox.Connection{ID: "a2", WorkspaceID: "w", UserID: "u2", Role: inbox.RoleAdmin}
	otherWS := inbox.Connection{ID: "o1", WorkspaceID: "w2", UserID: "u9", Role: inbox.RoleAdmin}
	visitor1 := inbox.Connection{ID: "v1-tab", WorkspaceID: "w", VisitorID: "v1"}
	visitor2 := inbox.Connection{ID: "v2-tab", WorkspaceID: "w", VisitorID: "v2"}
	store := &liveStore{
		agents:   map[string][]inbox.Connection{"w": {agentU1, agentU2}, "w2": {otherWS}},
		visitors: map[string][]inbox.Connection{"w/v1": {visitor1}, "w/v2": {visitor2}},
		counters: inbox.Counters{"open": 3, "unread": 1, "open|assignee|u1": 2, "unread|assignee|u1": 1, "open|assignee|": 1},
	}
	p := &poster{}
	live := inbox.NewLive(store, fixedClock(liveNow), p)
	comment := reply(func(m *inbox.Message) {
		m.ID, m.Kind, m.Internal, m.Body = "m2", inbox.KindComment, true, "internal: refund?"
	})
	comment.ID = "e-comment"
	updated := inbox.Event{ID: "e-updated", Type: inbox.EventConversationUpdated, WorkspaceID: "w", ConversationID: "c1", Changes: []string{"assignee"}}
	tagged := inbox.Event{ID: "e-tagged", Type: inbox.EventContactTagged, WorkspaceID: "w", ContactID: "k1", Tags: []string{"vip"}}
	if err := live.FanOut(context.Background(), []inbox.Event{reply(nil), comment, updated, tagged}); err != nil {
		t.Fatal(err)
	}

	ids := func(frames [][]map[string]any) []any {
		var out []any
		for _, f := range frames {
			for _, e := range f {
				out = append(out, e["id"])
			}
		}
		return out
	}
	for _, a := range []inbox.Connection{agentU1, agentU2} {
		frames := p.received(t, a.ID)
		if len(frames) != 1 {
			t.Fatalf("agent %s got %d frames, want one batch", a.ID, len(frames))
		}
		got := frames[0]
		if ids := ids(frames)[:3]; !slices.Equal(ids, []any{"e1", "e-comment", "e-updated"}) {
			t.Errorf("agent %s got %v, want the reply, the comment and the update (not contact.tagged)", a.ID, ids)
		}
		if len(got) != 4 || got[3]["type"] != string(inbox.EventCountsChanged) {
			t.Fatalf("agent %s's frame should end with counts.changed: %v", a.ID, got)
		}
	}
	mine := func(id string) any {
		return p.received(t, id)[0][3]["counts"].(map[string]any)["mine"].(map[string]any)["open"]
	}
	if got := mine("a1"); got != 2.0 {
		t.Errorf("u1's mine.open = %v, want 2", got)
	}
	if got := mine("a2"); got != 0.0 {
		t.Errorf("u2's mine.open = %v, want 0", got)
	}
	if got := p.received(t, "o1"); len(got) != 0 {
		t.Errorf("another workspace's agent got %v", got)
	}
	if got := p.received(t, "v2-tab"); len(got) != 0 {
		t.Errorf("another visitor got %v", got)
	}
	frames := p.received(t, "v1-tab")
	if got := ids(frames); !slices.Equal(got, []any{"e1"}) {
		t.Fatalf("the visitor got %v, want only the reply to them", got)
	}
	msg := frames[0][0]["message"].(map[string]any)
	if got, want := slices.Sorted(maps.Keys(msg)), []string{"attachments", "body", "channel", "createdAt", "direction", "id"}; !slices.Equal(got, want) {
		t.Errorf("the visitor's message has fields %v, want only %v", got, want)
	}
	if got, want := slices.Sorted(maps.Keys(frames[0][0])), []string{"id", "message", "occurredAt", "seq", "type"}; !slices.Equal(got, want) {
		t.Errorf("the visitor's event has fields %v, want only %v", got, want)
	}
}

func TestFanOutForgetsGoneConnections(t *testing.T) {
	store := &liveStore{agents: map[string][]inbox.Connection{"w": {
		{ID: "a1", WorkspaceID: "w", UserID: "u1", Role: inbox.RoleAgent},
		{ID: "a2", WorkspaceID: "w", UserID: "u2", Role: inbox.RoleAgent},
	}}}
	p := &poster{gone: map[string]bool{"a2": true}}
	live := inbox.NewLive(store, fixedClock(liveNow), p)
	if err := live.FanOut(context.Background(), []inbox.Event{reply(nil)}); err != nil {
		t.Fatal(err)
	}
	if got := len(p.received(t, "a1")); got != 1 {
		t.Errorf("the open connection got %d frames, want 1", got)
	}
	if !slices.Equal(store.deleted, []string{"a2"}) {
		t.Errorf("deleted connections = %v, want the gone one [a2]", store.deleted)
	}
}

// clientFrameOK reports whether a frame is one the protocol has a client
// send: a JSON object with only type and conversationId, of type ping or
// typing. Field names match as encoding/json matches them (any case).
func clientFrameOK(frame []byte) bool {
	if !json.Valid(frame) {
		return false
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(frame, &fields); err != nil {
		return false
	}
	for k := range fields {
		if k := strings.ToLower(k); k != "type" && k != "conversationid" {
			return false
		}
	}
	var f struct{ Type string }
	_ = json.Unmarshal(frame, &f)
	return f.Type == "ping" || f.Type == "typing"
}

func FuzzReceiveFrame(f *testing.F) {
	for _, s := range []string{
		`{"type":"ping"}`, `{"type":"typing"}`, `{"type":"typing","conversationId":"01J0000000000000000000000"}`,
		`{"type":"ping"} `, `{"type":"ping"}{"type":"ping"}`, `[{"type":"ping"}]`, `{"type":"ping","x":1}`,
		`{"type":"subscribe"}`, `{"type":"typing","conversationId":"a#b"}`, `{"type":null}`, `null`, ``, `"ping"`,
		`{"type":"ping"`, `{"type":"ping"}]`, `{"type":"ping"}}`,
	} {
		f.Add([]byte(s))
	}
	store := &liveStore{}
	agent := inbox.Connection{ID: "a1", WorkspaceID: "w", UserID: "u1", Role: inbox.RoleAgent}
	visitor := inbox.Connection{ID: "v1", WorkspaceID: "w", VisitorID: "01J00000000000000000000000"}
	f.Fuzz(func(t *testing.T, frame []byte) {
		for _, c := range []inbox.Connection{agent, visitor} {
			p := &poster{}
			live := inbox.NewLive(store, fixedClock(liveNow), p)
			err := live.Receive(context.Background(), c, frame)
			ok := clientFrameOK(frame) && len(frame) <= inbox.MaxClientFrame
			switch {
			case err == nil && !ok:
				t.Fatalf("%s accepted a frame outside the protocol: %q", c.ID, frame)
			case err != nil && !inbox.IsKind(err, inbox.KindInvalid) && !inbox.IsKind(err, inbox.KindNotFound):
				t.Fatalf("%s: frame %q failed with %v, want invalid (or not found for a typing frame)", c.ID, frame, err)
			case inbox.IsKind(err, inbox.KindNotFound) && (!ok || c.IsVisitor()):
				// Only an agent's typing frame looks a thread up.
				t.Fatalf("%s: frame %q: %v", c.ID, frame, err)
			}
			posted := p.frames[c.ID]
			var f struct{ Type string }
			_ = json.Unmarshal(frame, &f)
			if err == nil && f.Type == "ping" {
				if len(posted) != 1 || string(posted[0]) != `[{"type":"pong"}]` {
					t.Fatalf("%s: ping %q answered %q, want one pong", c.ID, frame, posted)
				}
			} else if len(posted) != 0 {
				t.Fatalf("%s: frame %q (err %v) posted %q", c.ID, frame, err, posted)
			}
			if err != nil {
				if refusal, status := inbox.Refusal(err); !json.Valid(refusal) || (status != 400 && status != 413) {
					t.Fatalf("refusal of %q: %d %s", frame, status, refusal)
				}
			}
		}
	})
}

// movingClock is a clock a test moves.
type movingClock struct{ now *time.Time }

func (c movingClock) Now() time.Time { return *c.now }

// A connection's typing frames are passed on at most every 2 s: a frame
// per keystroke would cost a read and a post per agent each time.
func TestTypingIsPassedOnAtMostEveryTwoSeconds(t *testing.T) {
	store := &liveStore{}
	now := liveNow
	live := inbox.NewLive(store, movingClock{&now}, &poster{})
	agent := inbox.Connection{ID: "a1", WorkspaceID: "w", UserID: "u1", Role: inbox.RoleAgent}
	other := inbox.Connection{ID: "a2", WorkspaceID: "w", UserID: "u2", Role: inbox.RoleAgent}
	frame := []byte(`{"type":"typing","conversationId":"01J0000000000000000000000"}`)
	for range 5 {
		if err := live.Receive(context.Background(), agent, frame); err != nil {
			t.Fatal(err)
		}
	}
	if err := live.Receive(context.Background(), other, frame); err != nil {
		t.Fatal(err)
	}
	if store.peeks != 2 {
		t.Errorf("5 frames from one agent and 1 from another looked up %d threads, want 2", store.peeks)
	}
	now = now.Add(2 * time.Second)
	if err := live.Receive(context.Background(), agent, frame); err != nil {
		t.Fatal(err)
	}
	if store.peeks != 3 {
		t.Errorf("a frame 2 s later looked up %d threads in all, want 3", store.peeks)
	}
}

// A copied inbound file (message.updated) reaches the workspace's agents.
func TestFanOutSendsMessageUpdatesToAgents(t *testing.T) {
	agent := inbox.Connection{ID: "a1", WorkspaceID: "w", UserID: "u1", Role: inbox.RoleAgent}
	visitor := inbox.Connection{ID: "v1-tab", WorkspaceID: "w", VisitorID: "v1"}
	store := &liveStore{agents: map[string][]inbox.Connection{"w": {agent}}, visitors: map[string][]inbox.Connection{"w/v1": {visitor}}}
	p := &poster{}
	e := reply(nil)
	e.ID, e.Type = "e-copied", inbox.EventMessageUpdated
	if err := inbox.NewLive(store, fixedClock(liveNow), p).FanOut(context.Background(), []inbox.Event{e}); err != nil {
		t.Fatal(err)
	}
	frames := p.received(t, agent.ID)
	if len(frames) != 1 || frames[0][0]["type"] != string(inbox.EventMessageUpdated) {
		t.Errorf("agent got %v, want the message.updated event", frames)
	}
	if got := p.received(t, visitor.ID); len(got) != 0 {
		t.Errorf("the visitor got %v; only new messages reach visitors", got)
	}
}
