// Package media copies inbound messages' files from the providers into
// the media bucket: functions/media takes message.created events of
// inbound messages with attachments from an SQS queue the bus feeds.
package media

import (
	"context"
	"encoding/json"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/parley-inbox/parley/shared/inbox"
)

// Copier copies one message's files (inbox.MediaCopy).
type Copier interface {
	Copy(ctx context.Context, workspaceID, conversationID, messageID string) (*inbox.Message, error)
}

// Handler copies the files of each message in a batch.
type Handler struct {
	Copier Copier
	Log    *slog.Logger
}

// New returns the handler over c, logging the files c leaves as they were.
func New(c *inbox.MediaCopy, log *slog.Logger) *Handler {
	c.OnSkip(func(ctx context.Context, m *inbox.Message, n int, err error) {
		log.WarnContext(ctx, "inbound file not copied", "workspaceId", m.WorkspaceID, "conversationId", m.ConversationID,
			"messageId", m.ID, "channel", m.Channel, "attachment", n, "err", err)
	})
	return &Handler{Copier: c, Log: log}
}

// Queue copies each record's message. A record that is not such an event,
// or whose message is gone, is dropped (logged); a failed copy is
// reported in BatchItemFailures, so only it is retried and, after the
// queue's retries, lands in the dead-letter queue.
func (h *Handler) Queue(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	var resp events.SQSEventResponse
	for _, r := range ev.Records {
		var envelope struct {
			Detail inbox.Event `json:"detail"`
		}
		err := json.Unmarshal([]byte(r.Body), &envelope)
		e := envelope.Detail
		if err != nil || e.Type != inbox.EventMessageCreated || e.WorkspaceID == "" || e.ConversationID == "" || e.MessageID == "" {
			h.Log.ErrorContext(ctx, "not a message.created event", "messageId", r.MessageId, "err", err)
			continue
		}
		if e.Message != nil && (e.Message.Direction != inbox.DirectionIn || len(e.Message.Attachments) == 0) {
			continue // the rule sends only inbound files; nothing to copy
		}
		_, err = h.Copier.Copy(ctx, e.WorkspaceID, e.ConversationID, e.MessageID)
		switch {
		case err == nil:
		case inbox.IsKind(err, inbox.KindNotFound):
			h.Log.InfoContext(ctx, "message gone before its files were copied", "workspaceId", e.WorkspaceID, "messageId", e.MessageID)
		default:
			h.Log.ErrorContext(ctx, "copy inbound files", "workspaceId", e.WorkspaceID, "messageId", e.MessageID, "err", err)
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
		}
	}
	return resp, nil
}
