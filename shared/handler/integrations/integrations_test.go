package integrations_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/parley-inbox/parley/shared/adapter/dynamo"
	"github.com/parley-inbox/parley/shared/adapter/webhookhttp"
	"github.com/parley-inbox/parley/shared/dev/dynamotest"
	devqueue "github.com/parley-inbox/parley/shared/dev/webhookqueue"
	"github.com/parley-inbox/parley/shared/handler/integrations"
	"github.com/parley-inbox/parley/shared/inbox"
)

func TestMain(m *testing.M) { dynamotest.Main(m) }

type nobus struct{}

func (nobus) Publish(context.Context, []inbox.Event) error { return nil }

// arrivals records when each webhook-id first arrived.
type arrivals struct {
	mu   sync.Mutex
	at   map[string]time.Time
	hits int
}

func (a *arrivals) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.hits++
	if _, ok := a.at[r.Header.Get("webhook-id")]; !ok {
		a.at[r.Header.Get("webhook-id")] = time.Now()
	}
}

func setup(t *testing.T) (*integrations.Handler, *devqueue.Local, *arrivals, string) {
	t.Helper()
	store := dynamotest.Store(t)
	rcv := &arrivals{at: map[string]time.Time{}}
	srv := httptest.NewServer(rcv)
	t.Cleanup(srv.Close)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	var h *integrations.Handler
	queue := &devqueue.Local{Ctx: ctx, Log: log, Visibility: 50 * time.Millisecond, Run: func(ctx context.Context, b []byte) error { return h.Run(ctx, b) }}
	h = integrations.New(store, &webhookhttp.Client{AllowLoopback: true}, queue, nobus{}, nil, log)
	h.Integrations.AllowHTTP = true
	url, types := srv.URL+"/hook", []inbox.EventType{inbox.EventMessageReceived}
	admin := inbox.Actor{WorkspaceID: "w1", UserID: "a1", Role: inbox.RoleAdmin}
	if _, err := h.Integrations.CreateWebhookSubscription(context.Background(), admin, inbox.WebhookSubscriptionInput{URL: &url, EventTypes: &types}); err != nil {
		t.Fatal(err)
	}
	return h, queue, rcv, "w1"
}

func received(ws string, i int) inbox.Event {
	now := time.Now().UTC()
	return inbox.Event{ID: "rec" + inbox.NewID(now) + ":message.received", Type: inbox.EventMessageReceived, WorkspaceID: ws, OccurredAt: now,
		ContactID: inbox.NewID(now), ConversationID: inbox.NewID(now), MessageID: inbox.NewID(now), Channel: inbox.ChannelSMS,
		Kind: inbox.KindMessage, Status: inbox.MessageReceived, Body: "Hi, is my order #4417 shipped yet? It was due Tuesday."}
}

// TestSQSBatch runs the Lambda's entry point: a bus event in EventBridge's
// envelope, the same event again (a duplicate from the rule), a retry of
// a delivery that is not due, and garbage; only one POST goes out.
func TestSQSBatch(t *testing.T) {
	h, queue, rcv, ws := setup(t)
	e := received(ws, 0)
	body, _ := json.Marshal(map[string]any{"version": "0", "detail-type": string(e.Type), "source": "parley", "detail": e})
	batch := events.SQSEvent{Records: []events.SQSMessage{{MessageId: "1", Body: string(body)}, {MessageId: "2", Body: "{not json"}}}
	for range 2 {
		resp, err := h.Handle(context.Background(), batch)
		if err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("Handle: %v, failures %v", err, resp.BatchItemFailures)
		}
	}
	queue.Wait()
	if rcv.hits != 1 {
		t.Fatalf("receiver got %d requests, want 1", rcv.hits)
	}
}

// TestDeliveryCostAndLatency measures what make bench reports for
// outbound webhooks: capacity units per event delivered to one
// subscription (DynamoDB Local), and the in-process latency from the bus
// to the receiver (local queue, real store, real HTTP on loopback).
func TestDeliveryCostAndLatency(t *testing.T) {
	h, queue, rcv, ws := setup(t)

	// Capacity of one event, first attempt successful.
	var m dynamo.Meter
	body, _ := json.Marshal(map[string]any{"detail-type": "message.received", "detail": received(ws, 0)})
	if err := h.Run(dynamo.WithMeter(context.Background(), &m), body); err != nil {
		t.Fatal(err)
	}
	t.Logf("one event, one subscription, delivered first time: %.1f RRU, %.1f WRU in %d calls", m.Read, m.Write, m.Calls)
	if m.Read > 1 || m.Write > 6 {
		t.Errorf("capacity %.1f RRU, %.1f WRU: more than the budget (1 RRU, 6 WRU)", m.Read, m.Write)
	}

	// DynamoDB Local's JVM warms up first: its first calls take hundreds
	// of milliseconds.
	for i := range 50 {
		body, _ := json.Marshal(map[string]any{"detail-type": "message.received", "detail": received(ws, i)})
		if err := h.Run(context.Background(), body); err != nil {
			t.Fatal(err)
		}
	}
	// Latency from the bus to the receiver, at 40 events a second (DynamoDB
	// Local on a shared machine saturates long before Lambda would).
	const n = 200
	sent := map[string]time.Time{}
	for i := range n {
		e := received(ws, i)
		sent[e.ID] = time.Now()
		queue.AddEvent(context.Background(), e)
		time.Sleep(25 * time.Millisecond)
	}
	queue.Wait()
	var lat []time.Duration
	rcv.mu.Lock()
	for id, at := range sent {
		got, ok := rcv.at[id]
		if !ok {
			t.Errorf("event %s never arrived", id)
			continue
		}
		lat = append(lat, got.Sub(at))
	}
	rcv.mu.Unlock()
	slices.Sort(lat)
	if len(lat) == n {
		t.Logf("bus to receiver over %d events: p50 %v, p99 %v, max %v", n, lat[n/2], lat[n*99/100], lat[n-1])
	}
}
