package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/parley-inbox/parley/shared/adapter/dynamo"
	"github.com/parley-inbox/parley/shared/dev/background"
	"github.com/parley-inbox/parley/shared/dev/dynamolocal"
	"github.com/parley-inbox/parley/shared/dev/streams"
	"github.com/parley-inbox/parley/shared/handler/publisher"
	"github.com/parley-inbox/parley/shared/inbox"
)

// journal is the publisher function on the bench table's stream: the local
// stack's poller reads DynamoDB Local's stream and publisher.Handler.Apply
// journals each change (change log, counters) and publishes its events,
// which the journal keeps. While a meter is set, the journal's DynamoDB
// calls are metered into it: that is the publisher's write cost, off the
// request path.
type journal struct {
	mu      sync.Mutex
	meter   *dynamo.Meter
	applied int
	events  []inbox.Event
	stop    func() error
}

// journalPoll is the bench's stream polling interval (make dev's is 100 ms).
const journalPoll = 20 * time.Millisecond

// startJournal starts reading the stream from its end: writes made before
// are never journaled.
func (b *bench) startJournal(ctx context.Context) *journal {
	j := &journal{}
	h := &publisher.Handler{Journal: b.store.Journal, Publisher: j, Log: quietLog}
	p := &streams.Poller{Tables: b.client, Streams: dynamolocal.StreamsClient(b.endpoint), Endpoint: b.endpoint, Table: benchTable,
		Apply: func(ctx context.Context, c dynamo.Change) error {
			j.mu.Lock()
			m := j.meter
			j.mu.Unlock()
			if m != nil {
				ctx = dynamo.WithMeter(ctx, m)
			}
			err := h.Apply(ctx, c)
			j.mu.Lock()
			j.applied++
			j.mu.Unlock()
			return err
		}, Log: quietLog, Every: journalPoll}
	j.stop = background.Run(ctx, p.Run)
	// The poller takes the stream's end once it has found its shards:
	// write until it sees a write. The probe is a message (an item the
	// publisher's stream filter passes) in a workspace nobody reads.
	for i := 0; j.count() == 0; i++ {
		if i == 100 {
			check(errors.New("the stream poller saw no write in 10 s"))
		}
		now := time.Now()
		check(b.store.PutMessage(ctx, &inbox.Message{ID: inbox.NewID(now), WorkspaceID: "stream-probe", ConversationID: fmt.Sprintf("probe-%d", i),
			Direction: inbox.DirectionIn, Kind: inbox.KindMessage, Channel: inbox.ChannelSMS, Status: inbox.MessageReceived, CreatedAt: now, UpdatedAt: now}))
		time.Sleep(100 * time.Millisecond)
	}
	j.settle()
	return j
}

// Publish keeps the events the publisher puts on the bus.
func (j *journal) Publish(_ context.Context, events []inbox.Event) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.events = append(j.events, events...)
	return nil
}

func (j *journal) count() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.applied
}

// settle waits until the stream has been quiet for a while: every change
// made so far is journaled, and the journal's own writes (which come back
// on the stream and journal nothing) are read too.
func (j *journal) settle() {
	const quiet = 15 * journalPoll
	deadline := time.Now().Add(time.Minute)
	last, since := j.count(), time.Now()
	for time.Since(since) < quiet {
		if time.Now().After(deadline) {
			check(errors.New("the stream never went quiet"))
		}
		time.Sleep(journalPoll)
		if n := j.count(); n != last {
			last, since = n, time.Now()
		}
	}
}

// metered journals what do writes, and returns the journal's units and
// the events it published.
func (j *journal) metered(do func()) (units, []inbox.Event) {
	j.settle()
	var m dynamo.Meter
	j.mu.Lock()
	j.meter, j.events = &m, nil
	j.mu.Unlock()
	do()
	j.settle()
	j.mu.Lock()
	defer j.mu.Unlock()
	j.meter = nil
	return unitsOf(&m), j.events
}

func (j *journal) close() { check(j.stop()) }

// units are a meter's figures, without its lock.
type units struct {
	Read, Write float64
	Calls       int
}

func unitsOf(m *dynamo.Meter) units { return units{Read: m.Read, Write: m.Write, Calls: m.Calls} }
