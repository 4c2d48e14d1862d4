package livesocket

import (
	"context"
	"log/slog"

	"github.com/parley-inbox/parley/shared/inbox"
)

// Queue batches the local bus's events for the fan-out, as SQS batches
// them for functions/realtime: whatever has arrived, up to a batch, goes
// out together, and the bus's publisher never waits on a socket.
type Queue struct {
	fanOut func(context.Context, []inbox.Event) error
	log    *slog.Logger
	events chan inbox.Event
}

// NewQueue returns a queue in front of a fan-out.
func NewQueue(fanOut func(context.Context, []inbox.Event) error, log *slog.Logger) *Queue {
	return &Queue{fanOut: fanOut, log: log, events: make(chan inbox.Event, queueDepth)}
}

const (
	queueDepth = 10_000
	batchSize  = 100
)

// Add enqueues an event; when the queue is full the event is dropped and
// logged (clients catch up by their delta sync).
func (q *Queue) Add(_ context.Context, e inbox.Event) {
	select {
	case q.events <- e:
	default:
		q.log.Warn("live fan-out queue full; event dropped", "event", e.ID)
	}
}

// Run delivers batches until ctx ends.
func (q *Queue) Run(ctx context.Context) error {
	events := q.events
	for {
		var batch []inbox.Event
		select {
		case <-ctx.Done():
			return nil
		case e := <-events:
			batch = append(batch, e)
		}
	more:
		for len(batch) < batchSize {
			select {
			case e := <-events:
				batch = append(batch, e)
			default:
				break more
			}
		}
		if err := q.fanOut(ctx, batch); err != nil {
			q.log.Error("live fan-out", "events", len(batch), "err", err)
		}
	}
}
