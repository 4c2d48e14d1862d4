// Package webhookqueue is the in-process stand-in for the SQS queue of
// shared/adapter/webhookqueue: the local bus's events, retries after
// their backoff, and bulk replays' pages all reach the integrations
// handler's Run, as the queue's messages reach functions/integrations.
//
// Delays are timers, so work waiting in them is lost if make dev stops;
// the deliveries themselves are in DynamoDB Local, and a pending one is
// resumed when its event is redelivered (not built: a sweep of pending
// deliveries at start).
package webhookqueue

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	awsqueue "github.com/parley-inbox/parley/shared/adapter/webhookqueue"
	"github.com/parley-inbox/parley/shared/inbox"
)

// receives is how often a message runs before it is dropped with a log
// line, as the SQS queue moves it to its DLQ.
const receives = 5

// Local runs webhook work in goroutines.
type Local struct {
	// Ctx ends the queue: pending timers fire into a done context.
	Ctx context.Context
	Run func(ctx context.Context, body []byte) error
	Log *slog.Logger
	// Visibility is the wait before a failed message runs again.
	Visibility time.Duration
	wg         sync.WaitGroup
}

var _ inbox.WebhookQueue = (*Local)(nil)

// AddEvent queues a bus event, in EventBridge's envelope.
func (q *Local) AddEvent(_ context.Context, e inbox.Event) {
	body, err := json.Marshal(map[string]any{"detail-type": string(e.Type), "source": "parley", "detail": e})
	if err != nil {
		q.Log.Error("webhook queue: event not encoded", "event", e.ID, "err", err)
		return
	}
	q.later(body, 0)
}

// RetryDelivery holds the retry for its whole wait: no 15-minute hops
// in process.
func (q *Local) RetryDelivery(_ context.Context, ref inbox.WebhookRef, after time.Duration) error {
	body, _ := json.Marshal(awsqueue.Message{Retry: &ref})
	q.later(body, after)
	return nil
}

func (q *Local) ContinueReplay(_ context.Context, job inbox.WebhookReplayJob) error {
	body, _ := json.Marshal(awsqueue.Message{Replay: &job})
	q.later(body, 0)
	return nil
}

func (q *Local) later(body []byte, after time.Duration) {
	q.wg.Add(1)
	time.AfterFunc(after, func() {
		defer q.wg.Done()
		for attempt := 1; ; attempt++ {
			if q.Ctx.Err() != nil {
				return
			}
			ctx, cancel := context.WithTimeout(q.Ctx, 30*time.Second)
			err := q.Run(ctx, body)
			cancel()
			if err == nil {
				return
			}
			if attempt == receives {
				q.Log.Error("webhook queue: message dropped after retries (the DLQ in AWS)", "err", err)
				return
			}
			select {
			case <-q.Ctx.Done():
				return
			case <-time.After(q.Visibility):
			}
		}
	})
}

// Wait blocks until every queued piece of work ran or was dropped.
func (q *Local) Wait() { q.wg.Wait() }
