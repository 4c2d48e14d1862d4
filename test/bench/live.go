package main

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/parley-inbox/parley/shared/adapter/dynamo"
	"github.com/parley-inbox/parley/shared/dev/localstack"
	"github.com/parley-inbox/parley/shared/inbox"
)

// The live inbox's units, metered on the bench table as the other
// operations are (ReturnConsumedCapacity): what the publisher's Journal
// writes per inbound SMS, what the fan-out reads per batch for K connected
// agents, and what it posts. They are counts, the same on any machine.

// Published prices the live inbox adds (us-east-1), beside those in main.go.
const (
	dollarsPerWebSocketMessage = 1.0 / 1e6  // API Gateway WebSocket, per 32 KB frame
	dollarsPerConnectionMinute = 0.25 / 1e6 // API Gateway WebSocket
	dollarsPerSQSRequest       = 0.40 / 1e6 // SQS standard, per 64 KB request
	webSocketMessageBytes      = 32 << 10
	// The fan-out's Lambda time is mostly waiting on PostToConnection: an
	// assumed round trip per post, fanOutInFlight posts at a time (the
	// fan-out's bound in shared/inbox), on top of the 30 ms every
	// invocation is assumed to take.
	postRoundTrip  = 0.020
	fanOutInFlight = 16
)

// agentCounts are the numbers of connected agents the costs are given for.
var agentCounts = []int{1, 10, 200}

type liveUnits struct {
	// The publisher's Journal per inbound SMS: from a new sender; on an
	// existing thread the agents had read (it becomes unread, so the
	// counters move); on one still unread (they do not).
	journalNew, journalRead, journalUnread units
	// events are the domain events of one inbound SMS on a read thread.
	events []inbox.Event
	fanOut map[int]fanOutUnits
	// connect and disconnect are an agent's $connect and $disconnect.
	connect, disconnect units
}

// fanOutUnits is one inbound SMS's fan-out to K agents: all its events in
// one batch (when they reach the queue together), or each in a
// batch of its own.
type fanOutUnits struct {
	batch, split           units
	batchPosts, splitPosts int
	// query is the connections Query's RRU alone.
	query float64
	// maxFrame is the largest frame posted, in bytes.
	maxFrame int
}

// memPoster is a Poster that keeps nothing but counts.
type memPoster struct {
	mu       sync.Mutex
	posts    int
	maxFrame int
}

func (p *memPoster) Post(_ context.Context, _ string, frame []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.posts++
	p.maxFrame = max(p.maxFrame, len(frame))
	return nil
}

func (p *memPoster) Close(context.Context, string) error { return nil }

func (p *memPoster) take() (posts, maxFrame int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	posts, maxFrame = p.posts, p.maxFrame
	p.posts, p.maxFrame = 0, 0
	return posts, maxFrame
}

// measureLiveUnits runs inbound SMS through the webhook and the publisher's
// journal on the stream, then fans one SMS's events out to K agents.
func (b *bench) measureLiveUnits(ctx context.Context) liveUnits {
	j := b.startJournal(ctx)
	defer j.close()
	const n = 5
	phone := func(i int) string { return fmt.Sprintf("+1415555%04d", 4000+i) }
	var u liveUnits
	sum := func(into *units, m units) {
		into.Read += m.Read / n
		into.Write += m.Write / n
		into.Calls += m.Calls
	}
	var convs []string
	for i := range n {
		m, evs := j.metered(func() { b.sms(phone(i), fmt.Sprintf("SMlive-new-%d", i), nil) })
		sum(&u.journalNew, m)
		convs = append(convs, createdIn(evs))
	}
	for i := range n { // the first message left the thread unread
		m, _ := j.metered(func() { b.sms(phone(i), fmt.Sprintf("SMlive-unread-%d", i), nil) })
		sum(&u.journalUnread, m)
	}
	for i := range n {
		b.mustJSON("POST", "/conversations/"+convs[i]+"/read", nil)
		m, evs := j.metered(func() { b.sms(phone(i), fmt.Sprintf("SMlive-read-%d", i), nil) })
		sum(&u.journalRead, m)
		u.events = evs
	}

	poster := &memPoster{}
	live := inbox.NewLive(b.store, inbox.SystemClock{}, poster)
	agent := func(i int) inbox.Connection {
		return inbox.Connection{ID: fmt.Sprintf("bench-conn-%03d", i), WorkspaceID: localstack.DemoWorkspace,
			UserID: fmt.Sprintf("bench-agent-%03d", i), Role: inbox.RoleAgent}
	}
	var connect, disconnect dynamo.Meter
	check(live.Connect(dynamo.WithMeter(ctx, &connect), agent(0)))
	check(live.Disconnect(dynamo.WithMeter(ctx, &disconnect), agent(0)))
	u.connect, u.disconnect = unitsOf(&connect), unitsOf(&disconnect)
	u.fanOut = map[int]fanOutUnits{}
	have := 0
	for _, k := range agentCounts {
		for ; have < k; have++ {
			check(live.Connect(ctx, agent(have)))
		}
		var f fanOutUnits
		var batch, split dynamo.Meter
		check(live.FanOut(dynamo.WithMeter(ctx, &batch), u.events))
		f.batchPosts, f.maxFrame = poster.take()
		for _, e := range u.events {
			check(live.FanOut(dynamo.WithMeter(ctx, &split), []inbox.Event{e}))
		}
		f.batch, f.split = unitsOf(&batch), unitsOf(&split)
		posts, maxFrame := poster.take()
		f.splitPosts, f.maxFrame = posts, max(f.maxFrame, maxFrame)
		// A message alone moves no badges: the connections Query only.
		var query dynamo.Meter
		check(live.FanOut(dynamo.WithMeter(ctx, &query), []inbox.Event{eventOf(u.events, inbox.EventMessageCreated)}))
		f.query = query.Read
		poster.take()
		u.fanOut[k] = f
	}
	for i := range have {
		check(live.Disconnect(ctx, agent(i)))
	}
	return u
}

func createdIn(events []inbox.Event) string {
	for _, e := range events {
		if e.Type == inbox.EventConversationCreated {
			return e.ConversationID
		}
	}
	check(fmt.Errorf("an inbound SMS from a new sender published no conversation.created (got %s)", eventTypes(events)))
	return ""
}

func eventOf(events []inbox.Event, t inbox.EventType) inbox.Event {
	for _, e := range events {
		if e.Type == t {
			return e
		}
	}
	check(fmt.Errorf("no %s among %s", t, eventTypes(events)))
	return inbox.Event{}
}

func eventTypes(events []inbox.Event) string {
	var s []string
	for _, e := range events {
		s = append(s, string(e.Type))
	}
	return strings.Join(s, ", ")
}

// liveCost is what one inbound SMS costs the live inbox in AWS with K
// agents connected, in dollars, by service.
type liveCost struct {
	k                                        int
	journal, fanOutReads, sqs, lambda, apiGW float64
}

func (c liveCost) total() float64 {
	return c.journal + c.fanOutReads + c.sqs + c.lambda + c.apiGW
}

// cost prices one inbound SMS on a read thread (the counters move) with k
// agents connected: all its events in one fan-out batch, when they reach
// the queue together, or (split) each event in a batch of its own.
func (u liveUnits) cost(k int, split bool) liveCost {
	f := u.fanOut[k]
	events := float64(len(u.events))
	reads, posts, batches := f.batch.Read, f.batchPosts, 1.0
	if split {
		reads, posts, batches = f.split.Read, f.splitPosts, events
	}
	// Each batch that reaches the agents posts one frame to each; the
	// others (an event agents do not see) only start the function.
	postingBatches := float64(posts) / float64(k)
	seconds := batches*0.030 + postingBatches*math.Ceil(float64(k)/fanOutInFlight)*postRoundTrip
	framesPerPost := math.Ceil(float64(max(f.maxFrame, 1)) / webSocketMessageBytes)
	return liveCost{
		k:           k,
		journal:     u.journalRead.Write*dollarsPerWRU + u.journalRead.Read*dollarsPerRRU,
		fanOutReads: reads*dollarsPerRRU + f.batch.Write*dollarsPerWRU,
		// EventBridge sends each event to the queue; the event source
		// mapping receives each batch and deletes it.
		sqs:    (events + 2*batches) * dollarsPerSQSRequest,
		lambda: batches*dollarsPerLambdaReq + 0.25*seconds*dollarsPerGBSecond,
		apiGW:  float64(posts) * framesPerPost * dollarsPerWebSocketMessage,
	}
}

// liveReport is the live inbox's section of make bench's output and of
// the README.
type liveReport struct {
	units   liveUnits
	timings liveTimings
	ran     time.Time
}

func (r liveReport) markdown() string {
	var s strings.Builder
	t, u := r.timings, r.units
	fmt.Fprintf(&s, "Measured locally on %s: functions/local and DynamoDB Local on the same 2-core machine as the clients, the stream polled every %s, "+
		"the machine's load average %s before and %s after:\n\n", r.ran.Format("2006-01-02"), localStreamPoll, t.load[0], t.load[1])
	s.WriteString("| from a signed Twilio webhook's 2xx | SMS | p50 | p90 | p99 | max |\n|---|---:|---:|---:|---:|---:|\n")
	row := func(what string, ds []time.Duration) {
		fmt.Fprintf(&s, "| %s | %d | %s | %s | %s | %s |\n", what, len(ds), ms(percentile(ds, 50)), ms(percentile(ds, 90)), ms(percentile(ds, 99)), ms(percentile(ds, 100)))
	}
	row("to `message.created` on 1 agent's socket", t.latency)
	if t.agents > 0 {
		row(fmt.Sprintf("to the first of %d agents' sockets", t.agents), t.fanOutFirst)
		row(fmt.Sprintf("to all %d agents' sockets", t.agents), t.fanOutAll)
	}
	if t.fanOutLost > 0 {
		fmt.Fprintf(&s, "\n%d SMS did not reach all %d sockets within %s.\n", t.fanOutLost, t.agents, liveWait)
	}
	if t.agents > 0 {
		fmt.Fprintf(&s, "\nEach of the %d sockets received %.2f frames per inbound SMS locally.\n", t.agents, t.framesPerMessage)
	}
	fmt.Fprintf(&s, "\nDynamoDB units (metered, the same on any machine). The publisher's Journal per inbound SMS: "+
		"%g WRU from a new sender, %g WRU on a thread the agents had read (the counters move), %g WRU on one still unread. "+
		"An inbound SMS on a read thread publishes %d events (%s). Fanning them out reads:\n\n",
		u.journalNew.Write, u.journalRead.Write, u.journalUnread.Write, len(u.events), eventTypes(u.events))
	s.WriteString("| agents connected | connections Query | counts read | RRU per SMS, one batch | frames, one batch | RRU per SMS, a batch per event | frames, a batch per event | largest frame |\n|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, k := range agentCounts {
		f := u.fanOut[k]
		fmt.Fprintf(&s, "| %d | %g RRU | %g RRU | %g | %d | %g | %d | %.1f KB |\n", k, f.query, f.batch.Read-f.query, f.batch.Read, f.batchPosts, f.split.Read, f.splitPosts, float64(f.maxFrame)/1024)
	}
	fmt.Fprintf(&s, "\nAn agent's $connect writes %g WRU and its $disconnect %g WRU.\n", u.connect.Write, u.disconnect.Write)
	s.WriteString("\nIn AWS, per million inbound SMS on read threads, all of an SMS's events in one fan-out batch:\n\n")
	s.WriteString("| agents connected | Journal (DynamoDB) | fan-out reads (DynamoDB) | SQS | realtime Lambda | API Gateway frames | total | total, a batch per event |\n|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, k := range agentCounts {
		c := u.cost(k, false)
		fmt.Fprintf(&s, "| %d | $%.2f | $%.2f | $%.2f | $%.2f | $%.2f | **$%.2f** | $%.2f |\n", k, c.journal*1e6, c.fanOutReads*1e6, c.sqs*1e6, c.lambda*1e6, c.apiGW*1e6,
			c.total()*1e6, u.cost(k, true).total()*1e6)
	}
	return s.String()
}

func (r liveReport) print() {
	fmt.Printf("\nLive inbox (issue 12):\n")
	for line := range strings.Lines(r.markdown()) {
		fmt.Print("  " + line)
	}
	fmt.Printf("  EventBridge, already paid by the bus before the live inbox: $%.2f per million inbound SMS.\n", float64(len(r.units.events))*dollarsPerBusEvent*1e6)
	fmt.Printf("  Connections: $%.2f per million connection-minutes (an agent online 8 h a day for 22 days: $%.4f a month).\n",
		dollarsPerConnectionMinute*1e6, 8*60*22*dollarsPerConnectionMinute)
}
