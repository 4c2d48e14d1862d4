package media_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/parley-inbox/parley/shared/handler/media"
	"github.com/parley-inbox/parley/shared/inbox"
)

// copier fails the messages named in fail with their error.
type copier struct {
	fail   map[string]error
	copied []string
}

func (c *copier) Copy(_ context.Context, ws, conv, id string) (*inbox.Message, error) {
	c.copied = append(c.copied, id)
	return nil, c.fail[id]
}

func record(t *testing.T, id string, e inbox.Event) events.SQSMessage {
	t.Helper()
	body, err := json.Marshal(map[string]any{"detail-type": string(e.Type), "source": "parley", "detail": e})
	if err != nil {
		t.Fatal(err)
	}
	return events.SQSMessage{MessageId: id, Body: string(body)}
}

func created(id string, dir inbox.Direction, files int) inbox.Event {
	m := &inbox.Message{ID: id, Direction: dir, Channel: inbox.ChannelMMS}
	for range files {
		m.Attachments = append(m.Attachments, inbox.Attachment{URL: "https://api.twilio.com/x", ContentType: "image/jpeg"})
	}
	return inbox.Event{Type: inbox.EventMessageCreated, WorkspaceID: "ws1", ConversationID: "c1", MessageID: id, Message: m}
}

func TestQueueReportsOnlyTheFailedCopies(t *testing.T) {
	c := &copier{fail: map[string]error{
		"m2": inbox.Errorf(inbox.KindUnavailable, "twilio is down"),
		"m3": inbox.Errorf(inbox.KindNotFound, "message deleted"),
	}}
	h := &media.Handler{Copier: c, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	ev := events.SQSEvent{Records: []events.SQSMessage{
		record(t, "r1", created("m1", inbox.DirectionIn, 1)),
		record(t, "r2", created("m2", inbox.DirectionIn, 2)),
		record(t, "r3", created("m3", inbox.DirectionIn, 1)),
		record(t, "r4", created("m4", inbox.DirectionOut, 1)),
		record(t, "r5", created("m5", inbox.DirectionIn, 0)),
		record(t, "r6", inbox.Event{Type: inbox.EventMessageReceived, WorkspaceID: "ws1", ConversationID: "c1", MessageID: "m6"}),
		{MessageId: "r7", Body: "not json"},
	}}
	resp, err := h.Queue(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "r2" {
		t.Errorf("failures = %+v, want only r2 (a transient failure)", resp.BatchItemFailures)
	}
	if got, want := c.copied, []string{"m1", "m2", "m3"}; len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("copied %v, want %v", got, want)
	}
}

// The sample SQS batch in events/ (EventBridge's envelope around an
// outbound message) decodes, and is acknowledged without a copy.
func TestQueueSample(t *testing.T) {
	raw, err := os.ReadFile("../../../events/sqs-eventbridge-message-created.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev events.SQSEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	c := &copier{}
	h := &media.Handler{Copier: c, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if resp, err := h.Queue(context.Background(), ev); err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("Queue = %+v, %v", resp, err)
	}
	if len(c.copied) != 0 {
		t.Errorf("copied %v; an outbound message has nothing to copy", c.copied)
	}
}
