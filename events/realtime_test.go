package events_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/parley-inbox/parley/shared/dev/dynamotest"
	"github.com/parley-inbox/parley/shared/handler/realtime"
	"github.com/parley-inbox/parley/shared/inbox"
)

// sockets records the frames functions/realtime posts, by connection.
type sockets struct {
	mu     sync.Mutex
	frames map[string][]string
	closed []string
}

func (s *sockets) Post(_ context.Context, id string, frame []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.frames == nil {
		s.frames = map[string][]string{}
	}
	s.frames[id] = append(s.frames[id], string(frame))
	return nil
}

func (s *sockets) Close(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = append(s.closed, id)
	return nil
}

// The WebSocket route and the fan-out queue's samples, through the one
// handler that takes both in AWS.
func TestRealtimeEventsThroughHandle(t *testing.T) {
	store := dynamotest.Store(t)
	s := &sockets{}
	h := realtime.New(store, s, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx := context.Background()
	const (
		ws        = "01JD0000000000000000000WS1"
		agentConn = "GXLKAfX1oAMCJJw=" // the sample's connectionId
		visitor   = "01JD00000000000000000000V1"
	)
	for _, c := range []inbox.Connection{
		{ID: agentConn, WorkspaceID: ws, UserID: "u1", Role: inbox.RoleAgent, ConnectedAt: time.Now()},
		{ID: "visitor-conn", WorkspaceID: ws, VisitorID: visitor, ConnectedAt: time.Now()},
		{ID: "other-visitor-conn", WorkspaceID: ws, VisitorID: "01JD00000000000000000000V2", ConnectedAt: time.Now()},
	} {
		if err := store.PutConnection(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	handle := func(file string) any {
		t.Helper()
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		out, err := h.Handle(ctx, raw)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		return out
	}

	out := handle("apigw-websocket-default.json")
	if res, ok := out.(events.APIGatewayProxyResponse); !ok || res.StatusCode != 200 {
		t.Fatalf("the $default sample = %#v, want a 200 proxy response", out)
	}
	if got := s.frames[agentConn]; len(got) != 1 || got[0] != `[{"type":"pong"}]` {
		t.Fatalf("the sample's ping was answered %q, want one pong", got)
	}

	out = handle("sqs-eventbridge-message-created.json")
	if res, ok := out.(events.SQSEventResponse); !ok || len(res.BatchItemFailures) != 0 {
		t.Fatalf("the SQS sample = %#v, want a response without failures", out)
	}
	decode := func(frame string) []map[string]any {
		var evs []map[string]any
		if err := json.Unmarshal([]byte(frame), &evs); err != nil {
			t.Fatalf("frame %s: %v", frame, err)
		}
		return evs
	}
	if got := s.frames[agentConn]; len(got) != 2 {
		t.Fatalf("the agent got %d frames, want the pong then the event", len(got))
	}
	agentEvents := decode(s.frames[agentConn][1])
	if len(agentEvents) != 1 || agentEvents[0]["type"] != "message.created" || agentEvents[0]["workspaceId"] != ws ||
		agentEvents[0]["message"].(map[string]any)["authorId"] != "u1" {
		t.Errorf("the agent got %v, want the message.created as published", agentEvents)
	}
	if got := s.frames["visitor-conn"]; len(got) != 1 {
		t.Fatalf("the visitor got %q, want the reply", got)
	}
	reply := decode(s.frames["visitor-conn"][0])
	msg := reply[0]["message"].(map[string]any)
	if msg["body"] != "Hi! Your order shipped this morning." || msg["authorId"] != nil || msg["recipient"] != nil {
		t.Errorf("the visitor sees %v, want the reply's body without internals", msg)
	}
	if got := s.frames["other-visitor-conn"]; len(got) != 0 {
		t.Errorf("another visitor got %q", got)
	}
	if len(s.closed) != 0 {
		t.Errorf("closed %v, want none", s.closed)
	}
}
