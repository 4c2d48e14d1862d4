// Package integrations serves functions/integrations: outbound webhooks.
// Its SQS queue carries three kinds of message, told apart by shape: a
// bus event in EventBridge's envelope (deliver it to every subscription
// that wants it), a retry (webhookqueue.Message.Retry) and a bulk
// replay's page (webhookqueue.Message.Replay).
package integrations

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"

	"github.com/aws/aws-lambda-go/events"

	"github.com/parley-inbox/parley/shared/adapter/webhookqueue"
	"github.com/parley-inbox/parley/shared/inbox"
)

// Handler runs webhook work.
type Handler struct {
	Integrations *inbox.Integrations
	log          *slog.Logger
}

// New builds functions/integrations' handler: deliveries kept in store,
// posted through transport, retried through queue; a subscription that is
// disabled is announced on events and emailed to admins through email.
func New(store inbox.IntegrationStore, transport inbox.WebhookTransport, queue inbox.WebhookQueue, events inbox.EventPublisher, email inbox.ChannelSender, log *slog.Logger) *Handler {
	in := inbox.NewIntegrations(store, inbox.SystemClock{}, transport, queue, events, email)
	in.Log = log
	return &Handler{Integrations: in, log: log}
}

// envelope is what the bus rule puts on the queue, and Parley's own
// messages, in one decode.
type envelope struct {
	DetailType string      `json:"detail-type"`
	Detail     inbox.Event `json:"detail"`
	webhookqueue.Message
}

// Handle runs a batch; a message whose work failed is reported, so SQS
// hands it out again after the visibility timeout (and, past the queue's
// receive limit, to its DLQ). A malformed message is dropped with a log
// line: retrying cannot fix it.
func (h *Handler) Handle(ctx context.Context, batch events.SQSEvent) (events.SQSEventResponse, error) {
	// Concurrently: one slow receiver (10 s at most) must not hold up the
	// batch's other deliveries.
	var resp events.SQSEventResponse
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, m := range batch.Records {
		wg.Go(func() {
			if err := h.Run(ctx, []byte(m.Body)); err != nil {
				h.log.ErrorContext(ctx, "integrations: message failed; SQS retries it", "message", m.MessageId, "err", err)
				mu.Lock()
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return resp, nil
}

// Run does one message's work.
func (h *Handler) Run(ctx context.Context, body []byte) error {
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		h.log.ErrorContext(ctx, "integrations: malformed message dropped", "err", err)
		return nil
	}
	switch {
	case env.Retry != nil:
		return h.Integrations.DeliverWebhook(ctx, *env.Retry)
	case env.Replay != nil:
		return h.Integrations.RunReplay(ctx, *env.Replay)
	case env.DetailType != "":
		return h.Integrations.HandleEvent(ctx, env.Detail)
	}
	h.log.ErrorContext(ctx, "integrations: unknown message dropped")
	return nil
}
