package sender_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/parley-inbox/parley/shared/dev/capture"
	"github.com/parley-inbox/parley/shared/dev/dynamotest"
	"github.com/parley-inbox/parley/shared/dev/inboxtest"
	"github.com/parley-inbox/parley/shared/handler/sender"
	"github.com/parley-inbox/parley/shared/inbox"
)

func TestMain(m *testing.M) { dynamotest.Main(m) }

// streamRecord is a stream record as Lambda delivers it, with the
// attributes the sender's filter and handler read.
func streamRecord(eventName string, m *inbox.Message, old, new inbox.MessageStatus) map[string]any {
	image := func(status inbox.MessageStatus) map[string]any {
		return map[string]any{
			"PK":        map[string]string{"S": fmt.Sprintf("WS#%s#CONV#%s", m.WorkspaceID, m.ConversationID)},
			"SK":        map[string]string{"S": "MSG#" + m.ID},
			"status":    map[string]string{"S": string(status)},
			"direction": map[string]string{"S": "out"},
			"kind":      map[string]string{"S": "message"},
		}
	}
	change := map[string]any{"NewImage": image(new), "SequenceNumber": "1" + m.ID}
	if old != "" {
		change["OldImage"] = image(old)
	}
	return map[string]any{"eventID": "ev-" + m.ID, "eventName": eventName, "eventSource": "aws:dynamodb", "dynamodb": change}
}

func handle(t *testing.T, h *sender.Handler, records ...map[string]any) {
	t.Helper()
	raw, err := json.Marshal(map[string]any{"Records": records})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Handle(context.Background(), raw); err != nil {
		t.Fatal(err)
	}
}

// The Lambda path of an agent sending a draft: the MODIFY record reaches
// Deliver with its old image, and redeliveries send nothing more.
func TestStreamSendsADraftAnAgentSent(t *testing.T) {
	ctx := context.Background()
	store := dynamotest.Store(t)
	outbox := &capture.Outbox{}
	svc := inboxtest.New(store, inboxtest.Deps{Senders: map[inbox.Channel]inbox.ChannelSender{inbox.ChannelSMS: outbox.Sender(inbox.ChannelSMS)}})
	actor := inbox.Actor{WorkspaceID: inbox.NewID(time.Now()), UserID: "agent-1", Role: inbox.RoleAgent}
	if err := store.PutWorkspace(ctx, &inbox.Workspace{ID: actor.WorkspaceID, Name: "Acme", Settings: inbox.WorkspaceSettings{Timezone: "UTC"}}); err != nil {
		t.Fatal(err)
	}
	conv, _, err := svc.StartConversation(ctx, actor, inbox.StartInput{Phone: "+14155550171"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	draft := &inbox.Message{ID: inbox.NewID(now), WorkspaceID: actor.WorkspaceID, ConversationID: conv.ID, ContactID: conv.ContactID,
		Direction: inbox.DirectionOut, Kind: inbox.KindMessage, Channel: inbox.ChannelSMS, Body: "Welcome", Attachments: []inbox.Attachment{},
		Status: inbox.MessageDraft, Automated: true, CreatedAt: now, UpdatedAt: now}
	if err := store.PutMessage(ctx, draft); err != nil {
		t.Fatal(err)
	}
	h := &sender.Handler{Dispatch: svc.Dispatch, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}

	// A stale record while the message is still a draft: Deliver re-reads it.
	handle(t, h, streamRecord("MODIFY", draft, inbox.MessageDraft, inbox.MessageQueued))
	if n := len(outbox.List(actor.WorkspaceID)); n != 0 {
		t.Fatalf("a draft was sent %d times before an agent sent it", n)
	}
	if _, err := svc.SendDraft(ctx, actor, conv.ID, draft.ID, inbox.MessageEdit{}); err != nil {
		t.Fatal(err)
	}
	// A message put back to queued for a retry is not this filter's business.
	handle(t, h, streamRecord("MODIFY", draft, inbox.MessageSending, inbox.MessageQueued))
	if n := len(outbox.List(actor.WorkspaceID)); n != 0 {
		t.Fatalf("a requeue record sent %d messages", n)
	}
	handle(t, h, streamRecord("MODIFY", draft, inbox.MessageDraft, inbox.MessageQueued))
	handle(t, h, streamRecord("MODIFY", draft, inbox.MessageDraft, inbox.MessageQueued))
	sent := outbox.List(actor.WorkspaceID)
	if len(sent) != 1 || sent[0].Body != "Welcome" || sent[0].To != "+14155550171" {
		t.Errorf("outbox = %+v, want the draft once", sent)
	}
	got, err := store.GetMessage(ctx, actor.WorkspaceID, conv.ID, draft.ID)
	if err != nil || got.Status != inbox.MessageSent || got.AuthorID != actor.UserID {
		t.Errorf("message = %+v, %v", got, err)
	}
}
