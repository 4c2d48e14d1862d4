package inbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"
	"sync"
	"time"
)

// The live inbox: agents and web chat visitors hold WebSocket connections,
// and every domain event reaches the connections allowed to see it. The
// audience rules live here, so the AWS fan-out and the local server cannot
// differ on who sees what.

// Connection is one open WebSocket, as its $connect authorizer admitted it:
// an agent of a workspace, or one web chat visitor of it.
type Connection struct {
	ID          string    `json:"id"`
	WorkspaceID string    `json:"workspaceId"`
	UserID      string    `json:"userId,omitempty"`
	Role        Role      `json:"role,omitempty"`
	VisitorID   string    `json:"visitorId,omitempty"`
	ConnectedAt time.Time `json:"connectedAt"`
}

// IsVisitor tells a web chat visitor's connection from an agent's.
func (c Connection) IsVisitor() bool { return c.VisitorID != "" }

// ConnectionLifetime bounds a connection's record: API Gateway closes
// every WebSocket after two hours, and the record expires soon after even
// if its $disconnect never ran.
const ConnectionLifetime = 2*time.Hour + 10*time.Minute

// MaxClientFrame is the largest frame a client may send.
const MaxClientFrame = 4096

// maxServerFrame keeps a batch of events under API Gateway's 128 KB.
const maxServerFrame = 96 << 10

// ErrGone is a connection that closed without its $disconnect yet.
var ErrGone = Errorf(KindNotFound, "the connection is gone")

// ErrFrameTooLarge is a client frame over MaxClientFrame.
var ErrFrameTooLarge = Errorf(KindInvalid, "a frame is at most %d bytes", MaxClientFrame)

// Poster sends frames to connections: API Gateway's management API in
// AWS, the local WebSocket server in make dev.
type Poster interface {
	// Post sends one frame; ErrGone when the connection has closed.
	Post(ctx context.Context, connectionID string, frame []byte) error
}

// LiveStore keeps open connections and what reconnecting clients read.
type LiveStore interface {
	PutConnection(ctx context.Context, c Connection) error
	DeleteConnection(ctx context.Context, c Connection) error
	// AgentConnections lists a workspace's agents' connections: one Query.
	AgentConnections(ctx context.Context, workspaceID string) ([]Connection, error)
	// VisitorConnections lists one visitor's connections: one Query.
	VisitorConnections(ctx context.Context, workspaceID, visitorID string) ([]Connection, error)
	// Counters reads a workspace's counters; consistent reads see the
	// publisher's last write.
	Counters(ctx context.Context, workspaceID string, set CounterSet, consistent bool) (Counters, error)
	// ConversationChanges pages through the change log of a workspace's
	// conversations after a time, oldest first, and returns the seq of the
	// page's last change.
	ConversationChanges(ctx context.Context, workspaceID string, after time.Time, p PageRequest) (Page[*Conversation], string, error)
	// MessageChanges is ConversationChanges for one thread's messages.
	MessageChanges(ctx context.Context, workspaceID, conversationID string, after time.Time, p PageRequest) (Page[*Message], string, error)
}

// Live connects clients and fans events out to them.
type Live struct {
	core
	poster Poster
	typing typingGate
}

// typingEvery is how often one connection's typing is passed on: a client
// that sends a typing frame per keystroke costs a read and a post per
// agent each time, so repeats within it are dropped.
const typingEvery = 2 * time.Second

// typingGate remembers when each connection last typed, in this process
// (bounded: a reset only lets a frame through early).
type typingGate struct {
	mu   sync.Mutex
	last map[string]time.Time
}

func (g *typingGate) allow(connectionID string, now time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.last == nil || len(g.last) > 50_000 {
		g.last = map[string]time.Time{}
	}
	if now.Sub(g.last[connectionID]) < typingEvery {
		return false
	}
	g.last[connectionID] = now
	return true
}

// NewLive returns the real-time use cases.
func NewLive(store Store, clock Clock, poster Poster) *Live {
	return &Live{core: newCore(store, clock), poster: poster}
}

// Connect records a connection its authorizer admitted.
func (l *Live) Connect(ctx context.Context, c Connection) error {
	if c.ConnectedAt.IsZero() {
		c.ConnectedAt = l.now()
	}
	if err := l.store.PutConnection(ctx, c); err != nil {
		return err
	}
	if !c.IsVisitor() && c.UserID != "" {
		// Best effort: availability follows presence, but a socket is not
		// refused for it (the agent can still set it through the API).
		_ = l.presenceChanged(ctx, c.WorkspaceID, c.UserID, true)
	}
	return nil
}

// Disconnect forgets a connection. A visitor's last connection closing
// takes them offline for the agents at once, rather than when their last
// heartbeat lapses.
func (l *Live) Disconnect(ctx context.Context, c Connection) error {
	if err := l.store.DeleteConnection(ctx, c); err != nil {
		return err
	}
	if !c.IsVisitor() {
		if c.UserID == "" {
			return nil
		}
		conns, err := l.store.AgentConnections(ctx, c.WorkspaceID)
		if err != nil || slices.ContainsFunc(conns, func(o Connection) bool { return o.UserID == c.UserID && o.ID != c.ID }) {
			return err
		}
		_ = l.presenceChanged(ctx, c.WorkspaceID, c.UserID, false) // best effort, as in Connect
		return nil
	}
	others, err := l.store.VisitorConnections(ctx, c.WorkspaceID, c.VisitorID)
	if err != nil || len(others) > 0 {
		return err
	}
	return l.leave(ctx, c.WorkspaceID, Handle(ChannelWebchat, c.VisitorID))
}

func (l *Live) leave(ctx context.Context, workspaceID, handle string) error {
	err := retryOnConflict(ctx, func() error {
		conv, err := l.visitorThread(ctx, workspaceID, handle)
		if err != nil {
			return err
		}
		now := l.now()
		if !conv.VisitorOnline(now) {
			return nil
		}
		conv.VisitorOnlineUntil, conv.UpdatedAt = &now, now
		return l.store.PutConversation(ctx, conv)
	})
	if IsKind(err, KindNotFound) {
		return nil
	}
	return err
}

// clientFrame is everything a client may send.
type clientFrame struct {
	Type           string `json:"type"`
	ConversationID string `json:"conversationId,omitempty"`
}

// Receive acts on a frame a client sent: a ping, or a typing indicator.
// A frame that is too large or not one of these is an error; the caller
// closes the connection.
func (l *Live) Receive(ctx context.Context, c Connection, frame []byte) error {
	if len(frame) > MaxClientFrame {
		return ErrFrameTooLarge
	}
	var f clientFrame
	dec := json.NewDecoder(bytes.NewReader(frame))
	dec.DisallowUnknownFields()
	// The object must be all the frame holds: More would let a stray "]"
	// or "}" after it pass, so the next token must be the end.
	if err := dec.Decode(&f); err != nil || !atEnd(dec) {
		return Errorf(KindInvalid, `a frame is a JSON object such as {"type":"ping"}`)
	}
	switch {
	case f.Type == "ping":
		return l.post(ctx, c, []any{map[string]string{"type": "pong"}})
	case f.Type == string(EventTyping) && c.IsVisitor():
		if !l.typing.allow(c.ID, l.now()) {
			return nil
		}
		return l.visitorTyping(ctx, c)
	case f.Type == string(EventTyping) && safeID(f.ConversationID):
		if !l.typing.allow(c.ID, l.now()) {
			return nil
		}
		return l.agentTyping(ctx, c, f.ConversationID)
	case f.Type == string(EventTyping):
		return Invalid("conversationId", "an agent's typing frame names its conversationId")
	}
	return Errorf(KindInvalid, "unknown frame type %q; send ping or typing", clip(f.Type, 40))
}

func atEnd(dec *json.Decoder) bool {
	_, err := dec.Token()
	return err == io.EOF
}

func safeID(s string) bool { return s != "" && len(s) <= 64 && !strings.ContainsAny(s, "#") }

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func (l *Live) visitorTyping(ctx context.Context, c Connection) error {
	conv, err := l.visitorThread(ctx, c.WorkspaceID, Handle(ChannelWebchat, c.VisitorID))
	if IsKind(err, KindNotFound) {
		return nil // nothing to type into yet
	}
	if err != nil {
		return err
	}
	e := l.ephemeral(EventTyping, c.WorkspaceID)
	e.ConversationID, e.ContactID, e.From = conv.ID, conv.ContactID, "visitor"
	return l.FanOut(ctx, []Event{e})
}

func (l *Live) agentTyping(ctx context.Context, c Connection, conversationID string) error {
	conv, err := l.store.PeekConversation(ctx, c.WorkspaceID, conversationID)
	if IsKind(err, KindNotFound) {
		return nil // deleted meanwhile: nobody to tell
	}
	if err != nil {
		return err
	}
	contact, err := l.store.GetContact(ctx, c.WorkspaceID, conv.ContactID)
	if err != nil {
		return err
	}
	e := l.ephemeral(EventTyping, c.WorkspaceID)
	e.ConversationID, e.From, e.UserID = conv.ID, "agent", c.UserID
	var wg sync.WaitGroup
	for _, h := range contact.Handles {
		if visitor, ok := strings.CutPrefix(h, string(ChannelWebchat)+":"); ok {
			wg.Go(func() { l.toVisitor(ctx, c.WorkspaceID, visitor, []any{visitorView(e)}) })
		}
	}
	wg.Wait()
	return nil
}

func (l *Live) ephemeral(t EventType, workspaceID string) Event {
	id := NewID(l.now())
	return Event{ID: id, Seq: id, Type: t, WorkspaceID: workspaceID, OccurredAt: l.now()}
}

// agentEvents are what agents' sockets receive: the inbox's changes, not
// contacts' or sequences' internals.
var agentEvents = map[EventType]bool{
	EventMessageCreated: true, EventMessageStatusChanged: true, EventMessageUpdated: true, EventConversationCreated: true,
	EventConversationUpdated: true, EventConversationDeleted: true, EventVisitorPresence: true,
	EventTyping: true,
}

// VisitorMessage is a message as a web chat visitor sees it: no authors,
// statuses or anything internal.
type VisitorMessage struct {
	ID          string       `json:"id"`
	Direction   Direction    `json:"direction"`
	Channel     Channel      `json:"channel"`
	Body        string       `json:"body"`
	Attachments []Attachment `json:"attachments"`
	CreatedAt   time.Time    `json:"createdAt"`
}

// ForVisitor is m as its visitor sees it.
func (m *Message) ForVisitor() VisitorMessage {
	return VisitorMessage{ID: m.ID, Direction: m.Direction, Channel: m.Channel, Body: m.Body, Attachments: m.Attachments, CreatedAt: m.CreatedAt}
}

// visitorEvent is the only event shape a visitor's socket receives.
type visitorEvent struct {
	ID         string          `json:"id"`
	Seq        string          `json:"seq"`
	Type       EventType       `json:"type"`
	OccurredAt time.Time       `json:"occurredAt"`
	Message    *VisitorMessage `json:"message,omitempty"`
	From       string          `json:"from,omitempty"`
}

func visitorView(e Event) visitorEvent {
	v := visitorEvent{ID: e.ID, Seq: e.Seq, Type: e.Type, OccurredAt: e.OccurredAt, From: e.From}
	if e.Message != nil {
		m := e.Message.ForVisitor()
		v.Message = &m
	}
	return v
}

// VisitorAudience names the one visitor an event is for, if any: an
// agent's web chat reply reaches the device it was sent to. Comments,
// activities, other channels and everything else never reach a visitor.
func VisitorAudience(e Event) (visitorID string, ok bool) {
	m := e.Message
	if e.Type != EventMessageCreated || m == nil || m.Internal || m.Kind != KindMessage ||
		m.Direction != DirectionOut || m.Channel != ChannelWebchat || m.Recipient == "" {
		return "", false
	}
	return m.Recipient, true
}

// FanOut delivers events to every connection allowed to see them. Each
// workspace is delivered on its own, so a slow or large one delays no
// other; each connection gets one frame per batch (a JSON array of
// events, oldest first), followed by its badges when a conversation moved.
func (l *Live) FanOut(ctx context.Context, events []Event) error {
	byWorkspace := map[string][]Event{}
	var order []string
	for _, e := range events {
		if _, seen := byWorkspace[e.WorkspaceID]; !seen {
			order = append(order, e.WorkspaceID)
		}
		byWorkspace[e.WorkspaceID] = append(byWorkspace[e.WorkspaceID], e)
	}
	errs := make([]error, len(order))
	var wg sync.WaitGroup
	for i, ws := range order {
		wg.Go(func() { errs[i] = l.fanOutWorkspace(ctx, ws, byWorkspace[ws]) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (l *Live) fanOutWorkspace(ctx context.Context, ws string, events []Event) error {
	var agents []Connection
	var err error
	countsMoved := false
	toAgents := []any{}
	toVisitors := map[string][]any{}
	for _, e := range events {
		if agentEvents[e.Type] {
			toAgents = append(toAgents, e)
		}
		switch e.Type {
		case EventConversationCreated, EventConversationUpdated, EventConversationDeleted:
			countsMoved = true
		}
		if v, ok := VisitorAudience(e); ok {
			toVisitors[v] = append(toVisitors[v], visitorView(e))
		}
	}
	if len(toAgents) > 0 {
		if agents, err = l.store.AgentConnections(ctx, ws); err != nil {
			return err
		}
	}
	var counters Counters
	if countsMoved && len(agents) > 0 {
		if counters, err = l.store.Counters(ctx, ws, ConversationCounters, true); err != nil {
			return err
		}
	}
	sem := make(chan struct{}, fanOutConcurrency)
	var wg sync.WaitGroup
	for _, a := range agents {
		frame := toAgents
		if counters != nil {
			e := l.ephemeral(EventCountsChanged, ws)
			counts := ConversationCountsFor(Actor{WorkspaceID: ws, UserID: a.UserID, Role: a.Role}, counters)
			e.Counts = &counts
			frame = append(frame[:len(frame):len(frame)], e)
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			l.deliver(ctx, a, frame)
		})
	}
	for v, frame := range toVisitors {
		wg.Go(func() { l.toVisitor(ctx, ws, v, frame) })
	}
	wg.Wait()
	return nil
}

// fanOutConcurrency bounds the posts in flight per workspace.
const fanOutConcurrency = 16

func (l *Live) toVisitor(ctx context.Context, ws, visitorID string, frame []any) {
	conns, err := l.store.VisitorConnections(ctx, ws, visitorID)
	if err != nil {
		return
	}
	for _, c := range conns {
		l.deliver(ctx, c, frame)
	}
}

// deliver posts events to one connection, split into frames API Gateway
// accepts, and forgets the connection if it has gone. A failed post is
// not retried: the client catches up by its sync on reconnect.
func (l *Live) deliver(ctx context.Context, c Connection, events []any) {
	if err := l.post(ctx, c, events); errors.Is(err, ErrGone) {
		_ = l.store.DeleteConnection(ctx, c)
	}
}

func (l *Live) post(ctx context.Context, c Connection, events []any) error {
	for _, frame := range frames(events) {
		if err := l.poster.Post(ctx, c.ID, frame); err != nil {
			return err
		}
	}
	return nil
}

// frames encodes events as JSON arrays of at most maxServerFrame bytes
// each (an event larger than that alone is sent alone).
func frames(events []any) [][]byte {
	var out [][]byte
	var cur []json.RawMessage
	size := 2
	flush := func() {
		if len(cur) > 0 {
			b, _ := json.Marshal(cur)
			out = append(out, b)
			cur, size = nil, 2
		}
	}
	for _, e := range events {
		b, err := json.Marshal(e)
		if err != nil {
			continue
		}
		if size+len(b)+1 > maxServerFrame {
			flush()
		}
		cur, size = append(cur, b), size+len(b)+1
	}
	flush()
	return out
}

// Refusal is the frame a client gets before its connection is closed for
// a frame it should not have sent, and that frame's status: 413 for one
// too large, 400 otherwise.
func Refusal(err error) (frame []byte, status int) {
	status = 400
	if errors.Is(err, ErrFrameTooLarge) {
		status = 413
	}
	msg := "the frame was not understood"
	var e *Error
	if errors.As(err, &e) && e.Kind == KindInvalid {
		msg = e.Message
	}
	frame, _ = json.Marshal([]any{map[string]any{"type": "error", "status": status, "title": msg}})
	return frame, status
}
