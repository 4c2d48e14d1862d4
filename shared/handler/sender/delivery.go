// Package sender runs Parley's sender: it delivers a message when the
// table stream reports a newly queued one, and when its schedule fires.
package sender

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/parley-inbox/parley/shared/adapter/dynamo"
	"github.com/parley-inbox/parley/shared/adapter/schedule"
	"github.com/parley-inbox/parley/shared/inbox"
)

// Handler delivers messages through inbox.Dispatch.Deliver, which makes
// every trigger safe to repeat.
type Handler struct {
	Dispatch *inbox.Dispatch
	Log      *slog.Logger
}

// New builds functions/sender's handler: senders cover every channel, and
// scheduler defers sends to the contact's allowed hours.
func New(store inbox.Store, senders map[inbox.Channel]inbox.ChannelSender, scheduler inbox.Scheduler, log *slog.Logger) *Handler {
	return &Handler{Dispatch: inbox.NewDispatch(store, inbox.SystemClock{}, senders, scheduler), Log: log}
}

// Handle is the Lambda entry point: a DynamoDB stream batch (filtered to
// queued messages: new ones and sent drafts) or an EventBridge Scheduler
// payload.
func (h *Handler) Handle(ctx context.Context, raw json.RawMessage) (any, error) {
	var probe struct {
		Records []json.RawMessage `json:"Records"`
	}
	if err := json.Unmarshal(raw, &probe); err == nil && probe.Records != nil {
		var ev events.DynamoDBEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, fmt.Errorf("decode stream batch: %w", err)
		}
		return h.Stream(ctx, ev), nil
	}
	var p schedule.Payload
	if err := json.Unmarshal(raw, &p); err != nil || p.WorkspaceID == "" || p.MessageID == "" {
		return nil, fmt.Errorf("not a stream batch or a schedule payload")
	}
	// An error makes Scheduler/Lambda retry; Deliver only returns one when
	// a retry is safe.
	_, err := h.Dispatch.Deliver(ctx, p.WorkspaceID, inbox.ProviderRef{ConversationID: p.ConversationID, MessageID: p.MessageID})
	return nil, err
}

// Stream delivers each queued message of a batch. Messages are
// independent, so one failing does not hold back the rest; only those that
// may be retried are reported back to Lambda.
func (h *Handler) Stream(ctx context.Context, ev events.DynamoDBEvent) events.DynamoDBEventResponse {
	var resp events.DynamoDBEventResponse
	for _, r := range ev.Records {
		img, err := dynamo.FromLambdaImage(r.Change.NewImage)
		var old map[string]types.AttributeValue
		if err == nil {
			old, err = dynamo.FromLambdaImage(r.Change.OldImage)
		}
		if err == nil {
			err = h.OnChange(ctx, dynamo.Change{EventID: r.EventID, Old: old, New: img})
		}
		if err != nil {
			h.Log.ErrorContext(ctx, "deliver", "eventID", r.EventID, "err", err)
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: r.Change.SequenceNumber})
		}
	}
	return resp
}

// OnChange delivers the message a change queued, if it queued one. The
// local stack's stream poller calls it directly.
func (h *Handler) OnChange(ctx context.Context, c dynamo.Change) error {
	ws, ref, ok := dynamo.QueuedMessage(c)
	if !ok {
		return nil
	}
	_, err := h.Dispatch.Deliver(ctx, ws, ref)
	return err
}

// Fire is what a schedule does when it comes due.
func (h *Handler) Fire(ctx context.Context, s inbox.Schedule) error {
	_, err := h.Dispatch.Deliver(ctx, s.WorkspaceID, s.Ref)
	return err
}
