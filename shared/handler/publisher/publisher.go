// Package publisher serves functions/publisher: it turns the table's change
// stream into domain events on the bus. Locally, shared/dev/streams feeds it
// from DynamoDB Local's stream.
package publisher

import (
	"context"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/parley-inbox/parley/shared/adapter/dynamo"
	"github.com/parley-inbox/parley/shared/inbox"
)

// Handler publishes the domain events of stream records.
type Handler struct {
	// Journal logs the change for delta sync and moves the counters
	// (dynamo.Store.Journal), before anyone hears of it.
	Journal   func(context.Context, *dynamo.Change) error
	Publisher inbox.EventPublisher
	Log       *slog.Logger
}

// Handle processes a batch in order. On the first failure it reports that
// record and everything after it, so Lambda retries from there and no event
// is lost or reordered (ReportBatchItemFailures).
func (h *Handler) Handle(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	var resp events.DynamoDBEventResponse
	for i, r := range ev.Records {
		if err := h.publish(ctx, r); err != nil {
			h.Log.ErrorContext(ctx, "publish domain events", "eventID", r.EventID, "err", err)
			for _, rest := range ev.Records[i:] {
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: rest.Change.SequenceNumber})
			}
			return resp, nil
		}
	}
	return resp, nil
}

func (h *Handler) publish(ctx context.Context, r events.DynamoDBEventRecord) error {
	old, err := dynamo.FromLambdaImage(r.Change.OldImage)
	if err != nil {
		return err
	}
	next, err := dynamo.FromLambdaImage(r.Change.NewImage)
	if err != nil {
		return err
	}
	return h.Apply(ctx, dynamo.Change{EventID: r.EventID, At: r.Change.ApproximateCreationDateTime.Time, Old: old, New: next})
}

// Apply journals one change, then publishes its events. The local stack's
// stream poller calls it too.
func (h *Handler) Apply(ctx context.Context, c dynamo.Change) error {
	if err := h.Journal(ctx, &c); err != nil {
		return err
	}
	evs, err := dynamo.Events(c)
	if err != nil || len(evs) == 0 {
		return err
	}
	return h.Publisher.Publish(ctx, evs)
}
