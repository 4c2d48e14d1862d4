package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"runtime/debug"
	"slices"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/parley-inbox/parley/shared/adapter/cognito"
	"github.com/parley-inbox/parley/shared/adapter/dynamo"
	awsbus "github.com/parley-inbox/parley/shared/adapter/eventbus"
	"github.com/parley-inbox/parley/shared/auth"
	"github.com/parley-inbox/parley/shared/dev/eventbus"
	"github.com/parley-inbox/parley/shared/dev/localstack"
	"github.com/parley-inbox/parley/shared/handler/publisher"
	"github.com/parley-inbox/parley/shared/handler/realtime"
	"github.com/parley-inbox/parley/shared/inbox"
)

// The GOGC values compared, and how often each is measured. Rounds
// interleave the settings, so a noisy moment of this shared machine lands
// on all of them alike.
var gcSettings = []int{100, 200, 400, 800}

const gcRounds = 5

// gcWorkload is one function's typical invocation, run in process on
// DynamoDB Local. prepare runs untimed before each batch of n.
type gcWorkload struct {
	fn      string
	n       int
	prepare func(n int)
	op      func(i int)
}

// measureGC prints, per function, the process CPU time per invocation
// under each GOGC, as the median of interleaved rounds. CPU time is
// Parley's own (DynamoDB Local is another process), and it includes the
// garbage collector's work, which is what GOGC trades against memory.
func measureGC(ctx context.Context, endpoint string) {
	b := newBench(ctx, endpoint)
	conv := b.mustJSON("POST", "/conversations", map[string]any{"phone": "+14155550100", "name": "GC bench"})
	convID, contactID := conv["id"].(string), conv["contactId"].(string)
	var queued []string
	seq := 0
	mail := newMailBench(b.store)
	defer mail.close()
	workloads := []gcWorkload{
		{fn: "api", n: 100, op: func(int) {
			b.mustJSON("POST", "/conversations/"+convID+"/messages", map[string]any{"channel": "sms", "body": "Your order has shipped."})
			b.mustJSON("GET", "/conversations?limit=25", nil)
		}},
		{fn: "webhooks", n: 200, op: func(int) {
			seq++
			b.sms("+14155550123", fmt.Sprintf("SMgc%d", seq), nil)
		}},
		{fn: "mail", n: 50, prepare: mail.prepare, op: mail.post},
		{fn: "sender", n: 100, prepare: func(n int) {
			queued = queued[:0]
			for range n {
				m := b.mustJSON("POST", "/conversations/"+convID+"/messages", map[string]any{"channel": "sms", "body": "On its way."})
				queued = append(queued, m["id"].(string))
			}
		}, op: func(i int) {
			_, err := b.send.Dispatch.Deliver(ctx, localstack.DemoWorkspace, inbox.ProviderRef{ConversationID: convID, MessageID: queued[i]})
			check(err)
		}},
		{fn: "sequences", n: 300, op: func(i int) {
			ev := inbox.Event{ID: fmt.Sprintf("gc-%d", i), Type: inbox.EventMessageReceived, WorkspaceID: localstack.DemoWorkspace,
				OccurredAt: time.Now().UTC(), ContactID: contactID, ConversationID: convID, Channel: inbox.ChannelSMS, Kind: inbox.KindMessage, Body: "thanks"}
			raw, err := json.Marshal(map[string]any{"detail-type": string(ev.Type), "source": awsbus.Source, "detail": ev})
			check(err)
			_, err = b.steps.Handle(ctx, raw)
			check(err)
		}},
		{fn: "publisher", n: 50, op: publishBatch()},
		{fn: "realtime", n: 20, op: b.fanOutBatch(ctx)},
		{fn: "authorizer", n: 200, op: authorizeAgents(ctx)},
	}

	fmt.Printf("\nGarbage collection: process CPU per invocation (µs), median of %d interleaved rounds, %s\n", gcRounds, runtime.GOARCH)
	fmt.Printf("  %-10s", "function")
	for _, g := range gcSettings {
		fmt.Printf(" %12s", fmt.Sprintf("GOGC=%d", g))
	}
	fmt.Printf("   heap at GOGC=%d\n", gcSettings[len(gcSettings)-1])
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	for _, w := range workloads {
		samples := make([][]float64, len(gcSettings))
		var heap uint64
		for range gcRounds {
			for i, g := range gcSettings {
				if w.prepare != nil {
					w.prepare(w.n)
				}
				debug.SetGCPercent(g)
				runtime.GC()
				start := cpuTime()
				for j := range w.n {
					w.op(j)
				}
				samples[i] = append(samples[i], float64((cpuTime()-start).Microseconds())/float64(w.n))
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				heap = max(heap, ms.HeapSys)
				debug.SetGCPercent(100)
			}
		}
		fmt.Printf("  %-10s", w.fn)
		base := medianFloat(samples[0])
		for i := range gcSettings {
			m := medianFloat(samples[i])
			fmt.Printf(" %6.0f %4.2f×", m, m/base)
		}
		fmt.Printf("   %.0f MB\n", float64(heap)/1e6)
	}
}

// publishBatch returns an op that decodes and publishes a batch of 100
// stream records, as Lambda hands them to the publisher.
func publishBatch() func(int) {
	var rec events.DynamoDBEventRecord
	check(json.Unmarshal([]byte(`{"eventID":"e","eventName":"INSERT","dynamodb":{"SequenceNumber":"1","NewImage":`+streamMessage+`}}`), &rec))
	batch := events.DynamoDBEvent{Records: slices.Repeat([]events.DynamoDBEventRecord{rec}, 100)}
	raw, err := json.Marshal(batch)
	check(err)
	// Journal's DynamoDB writes are not the collector's work: left out.
	h := &publisher.Handler{Journal: func(context.Context, *dynamo.Change) error { return nil }, Publisher: &eventbus.Local{}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	return func(int) {
		var ev events.DynamoDBEvent
		check(json.Unmarshal(raw, &ev))
		resp, err := h.Handle(context.Background(), ev)
		check(err)
		if len(resp.BatchItemFailures) > 0 {
			check(fmt.Errorf("publisher failed %d records", len(resp.BatchItemFailures)))
		}
	}
}

// streamMessage is an inbound SMS's item as the table's stream carries it.
const streamMessage = `{"PK":{"S":"WS#demo#CONV#01JD0000000000000000000000"},"SK":{"S":"MSG#01JD0000000000000000000001"},
 "id":{"S":"01JD0000000000000000000001"},"contactId":{"S":"01JD0000000000000000000002"},"direction":{"S":"in"},
 "kind":{"S":"message"},"channel":{"S":"sms"},"body":{"S":"Is the shop open today?"},"attachments":{"L":[]},
 "status":{"S":"received"},"internal":{"BOOL":false},"createdAt":{"S":"2026-11-21T10:00:00Z"},"updatedAt":{"S":"2026-11-21T10:00:00Z"}}`

// cpuTime is this process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	check(syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func medianFloat(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// gcAgents are the agents connected while the realtime function fans out.
const gcAgents = 10

// fanOutBatch returns an op that hands the realtime function an SQS batch
// of 100 domain events in EventBridge's envelope, as the queue does, with
// gcAgents agents connected and an in-memory poster. The events are the
// publisher's for inbound SMS on an existing thread, taken from the stream.
func (b *bench) fanOutBatch(ctx context.Context) func(int) {
	const phone = "+14155550177"
	b.sms(phone, "SMgc-realtime-0", nil)
	j := b.startJournal(ctx)
	_, published := j.metered(func() { b.sms(phone, "SMgc-realtime-1", nil) })
	j.close()
	if len(published) == 0 {
		check(fmt.Errorf("an inbound SMS published no events"))
	}
	var batch events.SQSEvent
	for i := range 100 {
		e := published[i%len(published)]
		e.ID = fmt.Sprintf("%s#%d", e.ID, i)
		body, err := json.Marshal(map[string]any{"detail-type": string(e.Type), "source": awsbus.Source, "detail": e})
		check(err)
		batch.Records = append(batch.Records, events.SQSMessage{MessageId: fmt.Sprintf("m-%d", i), Body: string(body)})
	}
	raw, err := json.Marshal(batch)
	check(err)
	for i := range gcAgents {
		check(b.store.PutConnection(ctx, inbox.Connection{ID: fmt.Sprintf("gc-conn-%d", i), WorkspaceID: localstack.DemoWorkspace,
			UserID: fmt.Sprintf("gc-agent-%d", i), Role: inbox.RoleAgent, ConnectedAt: time.Now()}))
	}
	h := realtime.New(b.store, &memPoster{}, quietLog)
	return func(int) {
		resp, err := h.Handle(ctx, raw)
		check(err)
		if r, ok := resp.(events.SQSEventResponse); ok && len(r.BatchItemFailures) > 0 {
			check(fmt.Errorf("realtime failed %d records", len(r.BatchItemFailures)))
		}
	}
}

// authorizeAgents returns an op that authorizes one agent's $connect with
// a Cognito ID token, verified against a stand-in pool's JWKS.
func authorizeAgents(ctx context.Context) func(int) {
	pool := newCognitoStandIn()
	verifier, err := cognito.New(ctx, pool.URL, benchClientID)
	check(err)
	gate := realtime.Gate{Agents: verifier, Visitors: auth.VisitorTokens{Key: []byte("bench-cursor-secret")}}
	token := pool.idToken(localstack.DemoWorkspace, localstack.DemoAgent, inbox.RoleAgent)
	req := events.APIGatewayCustomAuthorizerRequestTypeRequest{MethodArn: "arn:aws:execute-api:us-east-1:123456789012:api/live/$connect",
		QueryStringParameters: map[string]string{"workspace": localstack.DemoWorkspace, "token": token}}
	return func(int) {
		resp, err := gate.Authorize(ctx, req)
		check(err)
		if resp.PolicyDocument.Statement[0].Effect != "Allow" {
			check(fmt.Errorf("the authorizer refused an agent's token"))
		}
	}
}
