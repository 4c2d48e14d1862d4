package realtime_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/parley-inbox/parley/shared/adapter/dynamo"
	"github.com/parley-inbox/parley/shared/dev/dynamolocal"
	"github.com/parley-inbox/parley/shared/dev/dynamotest"
	"github.com/parley-inbox/parley/shared/handler/realtime"
	"github.com/parley-inbox/parley/shared/inbox"
)

func TestMain(m *testing.M) { dynamotest.Main(m) }

// sockets records what the handler sends and closes, in order, as API
// Gateway's management API would receive it. Connections in gone have
// left (GoneException).
type sockets struct {
	mu   sync.Mutex
	ops  []string
	sent map[string][][]byte
	gone map[string]bool
}

func (s *sockets) Post(_ context.Context, id string, frame []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gone[id] {
		return inbox.ErrGone
	}
	if s.sent == nil {
		s.sent = map[string][][]byte{}
	}
	s.ops = append(s.ops, "post "+id)
	s.sent[id] = append(s.sent[id], frame)
	return nil
}

func (s *sockets) Close(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ops = append(s.ops, "close "+id)
	return nil
}

func (s *sockets) operations() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.ops)
}

// events decodes every frame a connection got into its events.
func (s *sockets) events(tb testing.TB, id string) []map[string]any {
	tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, f := range s.sent[id] {
		var evs []map[string]any
		if err := json.Unmarshal(f, &evs); err != nil {
			tb.Fatalf("frame to %s is not a JSON array: %s", id, f)
		}
		out = append(out, evs...)
	}
	return out
}

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

func newHandler(tb testing.TB) (*realtime.Handler, *dynamo.Store, *sockets) {
	tb.Helper()
	store := dynamotest.Store(tb)
	s := &sockets{}
	return realtime.New(store, s, discard), store, s
}

// identity is what the authorizer put in the context of an agent's or a
// visitor's connection.
func agentIdentity(workspace, user string) map[string]any {
	return map[string]any{"principalId": user, "integrationLatency": 41.0, "workspaceId": workspace, "userId": user, "role": "agent", "visitorId": ""}
}

func visitorIdentity(workspace, visitor string) map[string]any {
	return map[string]any{"principalId": "visitor:" + visitor, "workspaceId": workspace, "userId": "", "role": "", "visitorId": visitor}
}

func route(routeKey, connectionID string, identity map[string]any, body string) events.APIGatewayWebsocketProxyRequest {
	eventType := map[string]string{"$connect": "CONNECT", "$disconnect": "DISCONNECT"}[routeKey]
	if eventType == "" {
		eventType = "MESSAGE"
	}
	return events.APIGatewayWebsocketProxyRequest{Body: body, RequestContext: events.APIGatewayWebsocketProxyRequestContext{
		RouteKey: routeKey, EventType: eventType, ConnectionID: connectionID, Stage: "live", APIID: "abcdef1234",
		Authorizer: identity, ConnectedAt: time.Now().UnixMilli(),
	}}
}

func ids(cs []inbox.Connection) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.ID)
	}
	slices.Sort(out)
	return out
}

func TestRouteConnectsAndDisconnects(t *testing.T) {
	h, store, _ := newHandler(t)
	ctx := context.Background()
	for _, req := range []events.APIGatewayWebsocketProxyRequest{
		route("$connect", "agent-1", agentIdentity(ws, "u1"), ""),
		route("$connect", "visitor-1", visitorIdentity(ws, visitorID), ""),
	} {
		res, err := h.Route(ctx, req)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("%s %s = %d, %v; want 200", req.RequestContext.RouteKey, req.RequestContext.ConnectionID, res.StatusCode, err)
		}
	}
	agents, _ := store.AgentConnections(ctx, ws)
	if len(agents) != 1 || agents[0].ID != "agent-1" || agents[0].UserID != "u1" || agents[0].Role != inbox.RoleAgent || agents[0].ConnectedAt.IsZero() {
		t.Errorf("agents after $connect = %+v, want agent-1 of u1", agents)
	}
	visitors, _ := store.VisitorConnections(ctx, ws, visitorID)
	if got := ids(visitors); !slices.Equal(got, []string{"visitor-1"}) {
		t.Errorf("the visitor's connections after $connect = %v, want [visitor-1]", got)
	}
	if other, _ := store.AgentConnections(ctx, otherWS); len(other) != 0 {
		t.Errorf("another workspace has connections: %+v", other)
	}

	// A route without the authorizer's identity is refused and stores nothing.
	res, err := h.Route(ctx, route("$connect", "stranger", map[string]any{"workspaceId": ws}, ""))
	if err != nil || res.StatusCode != 403 {
		t.Errorf("$connect without an identity = %d, %v; want 403", res.StatusCode, err)
	}
	if agents, _ := store.AgentConnections(ctx, ws); len(agents) != 1 {
		t.Errorf("a refused $connect was stored: %+v", agents)
	}

	for _, req := range []events.APIGatewayWebsocketProxyRequest{
		route("$disconnect", "agent-1", agentIdentity(ws, "u1"), ""),
		route("$disconnect", "visitor-1", visitorIdentity(ws, visitorID), ""),
	} {
		if res, err := h.Route(ctx, req); err != nil || res.StatusCode != 200 {
			t.Fatalf("$disconnect %s = %d, %v", req.RequestContext.ConnectionID, res.StatusCode, err)
		}
	}
	agents, _ = store.AgentConnections(ctx, ws)
	visitors, _ = store.VisitorConnections(ctx, ws, visitorID)
	if len(agents)+len(visitors) != 0 {
		t.Errorf("after $disconnect: agents %+v, visitors %+v; want none", agents, visitors)
	}
}

func TestRouteAnswersFrames(t *testing.T) {
	type refusal struct {
		Type   string `json:"type"`
		Status int    `json:"status"`
		Title  string `json:"title"`
	}
	tests := []struct {
		name     string
		identity map[string]any
		body     string
		base64   bool
		// wantPost is the frame posted back; closed, whether the
		// connection is then closed.
		wantPost   string
		wantStatus int
		closed     bool
	}{
		{"ping", agentIdentity(ws, "u1"), `{"type":"ping"}`, false, `[{"type":"pong"}]`, 0, false},
		{"a visitor's ping", visitorIdentity(ws, visitorID), `{"type":"ping"}`, false, `[{"type":"pong"}]`, 0, false},
		{"a visitor typing with no chat yet", visitorIdentity(ws, visitorID), `{"type":"typing"}`, false, "", 0, false},
		{"malformed", agentIdentity(ws, "u1"), `{"type":`, false, "", 400, true},
		{"trailing garbage", agentIdentity(ws, "u1"), `{"type":"ping"}]`, false, "", 400, true},
		{"unknown type", agentIdentity(ws, "u1"), `{"type":"subscribe","channel":"*"}`, false, "", 400, true},
		{"an agent's typing without a conversation", agentIdentity(ws, "u1"), `{"type":"typing"}`, false, "", 400, true},
		{"oversized", agentIdentity(ws, "u1"), `{"type":"ping","pad":"` + strings.Repeat("x", inbox.MaxClientFrame) + `"}`, false, "", 413, true},
		{"binary", agentIdentity(ws, "u1"), base64.StdEncoding.EncodeToString([]byte(`{"type":"ping"}`)), true, "", 400, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, _, s := newHandler(t)
			req := route("$default", "conn-1", tt.identity, tt.body)
			req.IsBase64Encoded = tt.base64
			res, err := h.Route(context.Background(), req)
			if err != nil || res.StatusCode != 200 {
				t.Fatalf("Route = %d, %v; want 200", res.StatusCode, err)
			}
			ops := s.operations()
			switch {
			case tt.wantPost != "":
				if !slices.Equal(ops, []string{"post conn-1"}) || string(s.sent["conn-1"][0]) != tt.wantPost {
					t.Errorf("ops %v, sent %q; want only %s", ops, s.sent["conn-1"], tt.wantPost)
				}
			case tt.wantStatus != 0:
				if !slices.Equal(ops, []string{"post conn-1", "close conn-1"}) {
					t.Fatalf("ops = %v, want an error frame, then the connection closed", ops)
				}
				var got []refusal
				if err := json.Unmarshal(s.sent["conn-1"][0], &got); err != nil || len(got) != 1 {
					t.Fatalf("error frame %s: %v", s.sent["conn-1"][0], err)
				}
				if got[0].Type != "error" || got[0].Status != tt.wantStatus || got[0].Title == "" {
					t.Errorf("error frame = %+v, want an error of status %d with a title", got[0], tt.wantStatus)
				}
			default:
				if len(ops) != 0 {
					t.Errorf("ops = %v, want none", ops)
				}
			}
		})
	}
}

// envelope wraps a domain event as EventBridge delivers it to the queue.
func envelope(tb testing.TB, e inbox.Event) string {
	tb.Helper()
	detail, err := json.Marshal(e)
	if err != nil {
		tb.Fatal(err)
	}
	b, _ := json.Marshal(map[string]any{
		"version": "0", "id": "eb-" + e.ID, "detail-type": string(e.Type), "source": "parley", "account": "123456789012",
		"time": e.OccurredAt.Format(time.RFC3339), "region": "us-east-1", "resources": []string{}, "detail": json.RawMessage(detail),
	})
	return string(b)
}

func sqsEvent(bodies ...string) events.SQSEvent {
	var ev events.SQSEvent
	for i, b := range bodies {
		ev.Records = append(ev.Records, events.SQSMessage{
			MessageId: fmt.Sprintf("msg-%d", i), Body: b, EventSource: "aws:sqs", AWSRegion: "us-east-1",
			EventSourceARN: "arn:aws:sqs:us-east-1:123456789012:parley-live-fanout",
		})
	}
	return ev
}

var at = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

func messageCreated(id, workspace string, m *inbox.Message) inbox.Event {
	m.WorkspaceID, m.CreatedAt, m.UpdatedAt = workspace, at, at
	if m.Attachments == nil {
		m.Attachments = []inbox.Attachment{}
	}
	return inbox.Event{ID: id, Seq: inbox.NewID(at), Type: inbox.EventMessageCreated, WorkspaceID: workspace, OccurredAt: at,
		ConversationID: m.ConversationID, MessageID: m.ID, Message: m}
}

func connect(tb testing.TB, store *dynamo.Store, cs ...inbox.Connection) {
	tb.Helper()
	for _, c := range cs {
		c.ConnectedAt = time.Now()
		if err := store.PutConnection(context.Background(), c); err != nil {
			tb.Fatal(err)
		}
	}
}

func eventIDs(evs []map[string]any) []any {
	var out []any
	for _, e := range evs {
		out = append(out, e["id"])
	}
	return out
}

func TestQueueFansEventsOutToTheirAudience(t *testing.T) {
	h, store, s := newHandler(t)
	var logged bytes.Buffer
	h.Log = slog.New(slog.NewTextHandler(&logged, nil))
	ctx := context.Background()
	const otherVisitor = "01JD00000000000000000000V2"
	s.gone = map[string]bool{"agent-left": true}
	connect(t, store,
		inbox.Connection{ID: "agent-1", WorkspaceID: ws, UserID: "u1", Role: inbox.RoleAgent},
		inbox.Connection{ID: "agent-left", WorkspaceID: ws, UserID: "u2", Role: inbox.RoleAgent},
		inbox.Connection{ID: "agent-other", WorkspaceID: otherWS, UserID: "u9", Role: inbox.RoleAdmin},
		inbox.Connection{ID: "visitor-1", WorkspaceID: ws, VisitorID: visitorID},
		inbox.Connection{ID: "visitor-2", WorkspaceID: ws, VisitorID: otherVisitor},
		inbox.Connection{ID: "visitor-1-elsewhere", WorkspaceID: otherWS, VisitorID: visitorID},
	)
	reply := messageCreated("e-reply", ws, &inbox.Message{ID: "m1", ConversationID: "c1", Direction: inbox.DirectionOut, Kind: inbox.KindMessage,
		Channel: inbox.ChannelWebchat, Body: "How can we help?", Status: inbox.MessageSent, AuthorID: "u1", Recipient: visitorID})
	comment := messageCreated("e-comment", ws, &inbox.Message{ID: "m2", ConversationID: "c1", Kind: inbox.KindComment, Internal: true,
		Body: "VIP, be nice", Status: inbox.MessageSent, AuthorID: "u1"})
	updated := inbox.Event{ID: "e-updated", Seq: inbox.NewID(at), Type: inbox.EventConversationUpdated, WorkspaceID: ws, OccurredAt: at,
		ConversationID: "c1", Changes: []string{"assignee"}}
	elsewhere := messageCreated("e-elsewhere", otherWS, &inbox.Message{ID: "m9", ConversationID: "c9", Direction: inbox.DirectionOut,
		Kind: inbox.KindMessage, Channel: inbox.ChannelWebchat, Body: "other shop", Status: inbox.MessageSent, Recipient: visitorID})

	res, err := h.Queue(ctx, sqsEvent(
		envelope(t, reply), envelope(t, comment), "not json at all", envelope(t, updated),
		`{"version":"0","detail-type":"Scheduled Event","source":"aws.events","detail":{}}`, envelope(t, elsewhere),
	))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.BatchItemFailures) != 0 {
		t.Errorf("failures = %+v; records that are not events are dropped, not retried", res.BatchItemFailures)
	}

	if n := strings.Count(logged.String(), `msg="not a domain event"`); n != 2 {
		t.Errorf("logged %d records as not domain events, want the 2 that are not:\n%s", n, logged.String())
	}

	agent := s.events(t, "agent-1")
	if got := eventIDs(agent); len(got) != 4 || !slices.Equal(got[:3], []any{"e-reply", "e-comment", "e-updated"}) || agent[3]["type"] != "counts.changed" {
		t.Errorf("the agent got %v, want the reply, the comment, the update, then counts.changed", got)
	}
	if got := eventIDs(s.events(t, "agent-other")); !slices.Equal(got, []any{"e-elsewhere"}) {
		t.Errorf("the other workspace's agent got %v, want only its own event", got)
	}
	visitor := s.events(t, "visitor-1")
	if got := eventIDs(visitor); !slices.Equal(got, []any{"e-reply"}) {
		t.Fatalf("the visitor got %v, want only the reply to them (never the comment)", got)
	}
	msg := visitor[0]["message"].(map[string]any)
	if msg["body"] != "How can we help?" || msg["authorId"] != nil || msg["status"] != nil {
		t.Errorf("the visitor sees the reply as %v, want its body and no internals", msg)
	}
	if got := eventIDs(s.events(t, "visitor-1-elsewhere")); !slices.Equal(got, []any{"e-elsewhere"}) {
		t.Errorf("the same visitor id in another workspace got %v, want only that workspace's reply", got)
	}
	if got := s.events(t, "visitor-2"); len(got) != 0 {
		t.Errorf("another visitor got %v", got)
	}
	agents, _ := store.AgentConnections(ctx, ws)
	if got := ids(agents); !slices.Equal(got, []string{"agent-1"}) {
		t.Errorf("agents after the fan-out = %v; the gone one should be forgotten", got)
	}
}

func TestQueueRetriesTheBatchWhenTheFanOutFails(t *testing.T) {
	// A table that does not exist: every read fails.
	store := dynamo.New(dynamolocal.Client(dynamotest.Endpoint()), "no-such-table", []byte("k"))
	s := &sockets{}
	h := realtime.New(store, s, discard)
	updated := inbox.Event{ID: "e-updated", Type: inbox.EventConversationUpdated, WorkspaceID: ws, OccurredAt: at, ConversationID: "c1"}
	res, err := h.Queue(context.Background(), sqsEvent(envelope(t, updated), "not an event", envelope(t, updated)))
	if err != nil {
		t.Fatal(err)
	}
	var failed []string
	for _, f := range res.BatchItemFailures {
		failed = append(failed, f.ItemIdentifier)
	}
	if want := []string{"msg-0", "msg-1", "msg-2"}; !slices.Equal(failed, want) {
		t.Errorf("failures = %v, want the whole batch %v", failed, want)
	}
}

func TestHandleTakesBothInvocations(t *testing.T) {
	h, store, s := newHandler(t)
	ctx := context.Background()
	connect(t, store, inbox.Connection{ID: "agent-1", WorkspaceID: ws, UserID: "u1", Role: inbox.RoleAgent})

	ping, err := json.Marshal(route("$default", "agent-1", agentIdentity(ws, "u1"), `{"type":"ping"}`))
	if err != nil {
		t.Fatal(err)
	}
	out, err := h.Handle(ctx, ping)
	if res, ok := out.(events.APIGatewayProxyResponse); err != nil || !ok || res.StatusCode != 200 {
		t.Fatalf("Handle(websocket message) = %#v, %v; want a 200 proxy response", out, err)
	}
	if got := s.operations(); !slices.Equal(got, []string{"post agent-1"}) || string(s.sent["agent-1"][0]) != `[{"type":"pong"}]` {
		t.Fatalf("after a ping: ops %v, sent %q; want one pong", got, s.sent["agent-1"])
	}

	batch, err := json.Marshal(sqsEvent(envelope(t, messageCreated("e1", ws, &inbox.Message{ID: "m1", ConversationID: "c1",
		Direction: inbox.DirectionIn, Kind: inbox.KindMessage, Channel: inbox.ChannelSMS, Body: "hi", Status: inbox.MessageReceived}))))
	if err != nil {
		t.Fatal(err)
	}
	out, err = h.Handle(ctx, batch)
	if res, ok := out.(events.SQSEventResponse); err != nil || !ok || len(res.BatchItemFailures) != 0 {
		t.Fatalf("Handle(sqs batch) = %#v, %v; want an SQS response without failures", out, err)
	}
	if got := eventIDs(s.events(t, "agent-1")[1:]); !slices.Equal(got, []any{"e1"}) {
		t.Errorf("after the pong, the batch sent the agent %v, want [e1]", got)
	}

	if _, err := h.Handle(ctx, json.RawMessage(`"neither"`)); err == nil {
		t.Error("Handle accepted an invocation of neither shape")
	}
}
