package realtime

import (
	"context"
	"encoding/json"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/parley-inbox/parley/shared/inbox"
)

// Closer disconnects a client (API Gateway's DeleteConnection).
type Closer interface {
	Close(ctx context.Context, connectionID string) error
}

// Handler is functions/realtime: the WebSocket routes and the queue of
// domain events to fan out.
type Handler struct {
	Live   *inbox.Live
	Poster inbox.Poster
	Closer Closer
	Log    *slog.Logger
}

// New builds the realtime function's handler.
func New(store inbox.Store, connections interface {
	inbox.Poster
	Closer
}, log *slog.Logger) *Handler {
	return &Handler{Live: inbox.NewLive(store, inbox.SystemClock{}, connections), Poster: connections, Closer: connections, Log: log}
}

// Handle takes either invocation: a WebSocket route or an SQS batch.
func (h *Handler) Handle(ctx context.Context, raw json.RawMessage) (any, error) {
	var probe struct {
		Records []json.RawMessage `json:"Records"`
	}
	if err := json.Unmarshal(raw, &probe); err == nil && probe.Records != nil {
		var ev events.SQSEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, err
		}
		return h.Queue(ctx, ev)
	}
	var req events.APIGatewayWebsocketProxyRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		return nil, err
	}
	return h.Route(ctx, req)
}

// Route serves $connect, $disconnect and $default. A client's bad frame
// gets an error frame, then its connection is closed.
func (h *Handler) Route(ctx context.Context, req events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
	ok := events.APIGatewayProxyResponse{StatusCode: 200}
	c, valid := connectionOf(req.RequestContext)
	if !valid {
		return events.APIGatewayProxyResponse{StatusCode: 403}, nil
	}
	var err error
	switch req.RequestContext.RouteKey {
	case "$connect":
		err = h.Live.Connect(ctx, c)
	case "$disconnect":
		err = h.Live.Disconnect(ctx, c)
	default:
		frame := []byte(req.Body)
		if req.IsBase64Encoded {
			frame = nil // binary frames are not part of the protocol
		}
		if err = h.Live.Receive(ctx, c, frame); err != nil && inbox.IsKind(err, inbox.KindInvalid) {
			refusal, _ := inbox.Refusal(err)
			_ = h.Poster.Post(ctx, c.ID, refusal)
			_ = h.Closer.Close(ctx, c.ID)
			return ok, nil
		}
	}
	if err != nil {
		h.Log.ErrorContext(ctx, "websocket route", "route", req.RequestContext.RouteKey, "err", err)
		return events.APIGatewayProxyResponse{StatusCode: 500}, nil
	}
	return ok, nil
}

// Queue fans out a batch of domain events, which EventBridge delivered to
// the queue in its envelope. A record that is not an event is dropped
// (logged); if the fan-out fails, the whole batch is retried, and clients
// drop what they saw by event id.
func (h *Handler) Queue(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	var batch []inbox.Event
	for _, r := range ev.Records {
		var envelope struct {
			Detail inbox.Event `json:"detail"`
		}
		if err := json.Unmarshal([]byte(r.Body), &envelope); err != nil || envelope.Detail.WorkspaceID == "" {
			h.Log.ErrorContext(ctx, "not a domain event", "messageId", r.MessageId, "err", err)
			continue
		}
		batch = append(batch, envelope.Detail)
	}
	var resp events.SQSEventResponse
	if err := h.Live.FanOut(ctx, batch); err != nil {
		h.Log.ErrorContext(ctx, "fan out", "events", len(batch), "err", err)
		for _, r := range ev.Records {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
		}
	}
	return resp, nil
}
