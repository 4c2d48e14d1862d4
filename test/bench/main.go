// Command bench prices Parley's API operations: it drives the real HTTP
// handler against DynamoDB Local, meters the capacity units each request
// consumes (ReturnConsumedCapacity=INDEXES), and converts them to dollars
// per million operations at on-demand prices. Units are deterministic, so
// the figures hold on a noisy machine.
package main

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/parley-inbox/parley/shared/adapter/dynamo"
	"github.com/parley-inbox/parley/shared/config/providers"
	"github.com/parley-inbox/parley/shared/dev/capture"
	"github.com/parley-inbox/parley/shared/dev/devauth"
	"github.com/parley-inbox/parley/shared/dev/dynamolocal"
	"github.com/parley-inbox/parley/shared/dev/eventbus"
	"github.com/parley-inbox/parley/shared/dev/localstack"
	"github.com/parley-inbox/parley/shared/dev/signing"
	"github.com/parley-inbox/parley/shared/dev/stepfunctions"
	"github.com/parley-inbox/parley/shared/handler/api"
	"github.com/parley-inbox/parley/shared/handler/sender"
	"github.com/parley-inbox/parley/shared/handler/sequences"
	"github.com/parley-inbox/parley/shared/handler/webhooks"
	"github.com/parley-inbox/parley/shared/inbox"
)

// Published on-demand prices (us-east-1).
const (
	dollarsPerWRU       = 0.625 / 1e6
	dollarsPerRRU       = 0.125 / 1e6
	dollarsPerHTTPCall  = 1.0 / 1e6
	dollarsPerLambdaReq = 0.20 / 1e6
	dollarsPerGBSecond  = 0.0000133334
	// Lambda compute assumed per request: 256 MB for 30 ms (arm64).
	lambdaGBSeconds = 0.25 * 0.030
)

type bench struct {
	client   *dynamodb.Client
	endpoint string
	store    *dynamo.Store
	send     *sender.Handler
	steps    *sequences.Handler
	exec     *stepfunctions.Executor
	// stepMeter meters the sequences function's Task invocations.
	stepMeter dynamo.Meter
	api       http.Handler
	hooks     http.Handler
	token     string
	rows      []row
	// over counts budgets broken outside the table.
	over int
}

type row struct {
	op        string
	read      float64
	write     float64
	calls     int
	budgetWRU float64
	budgetRRU float64
}

func main() {
	large := flag.Int("large", 20000, "conversations in the large workspace")
	readme := flag.String("readme", "", "rewrite the cost table between the bench markers of this README")
	lambdasOnly := flag.Bool("lambdas", false, "only build the functions and the reference and compare their sizes and init times")
	gcOnly := flag.Bool("gc", false, "only compare GOGC settings on each function's in-process handler")
	liveOnly := flag.Bool("live", false, "only measure the live inbox: latency and fan-out on the local stack, its units and its cost in AWS")
	liveN := flag.Int("live-n", 500, "inbound SMS timed to one agent's socket")
	fanAgents := flag.Int("fanout-agents", 200, "agents connected for the fan-out timing")
	fanN := flag.Int("fanout-n", 100, "inbound SMS timed to all the agents' sockets")
	exportOnly := flag.Bool("export", false, "only measure exports: time, units and heap for threads of 1,000 and 10,000 messages")
	flag.Parse()
	exports := func(b *bench) {
		r := b.benchExports(context.Background(), []int{1000, 10000})
		r.print()
		if *readme != "" {
			check(r.writeREADME(*readme))
		}
	}
	live := func(b *bench) {
		r := liveReport{units: b.measureLiveUnits(context.Background()), timings: measureLiveTimings(*liveN, *fanAgents, *fanN), ran: time.Now()}
		r.print()
		if *readme != "" {
			check(r.writeREADME(*readme))
		}
	}
	if *gcOnly {
		ctx := context.Background()
		srv, err := dynamolocal.Start(ctx, dynamolocal.Options{})
		check(err)
		defer srv.Stop()
		measureGC(ctx, srv.Endpoint)
		return
	}
	if *lambdasOnly {
		printLambdas()
		return
	}
	ctx := context.Background()
	srv, err := dynamolocal.Start(ctx, dynamolocal.Options{})
	check(err)
	defer srv.Stop()
	if *liveOnly {
		live(newBench(ctx, srv.Endpoint))
		return
	}
	if *exportOnly {
		exports(newBench(ctx, srv.Endpoint))
		return
	}
	b := measureOperations(ctx, srv.Endpoint, *large)
	b.print()
	if *readme != "" {
		check(b.writeREADME(*readme))
	}
	b.benchDrips(ctx, 50)
	exports(b)
	live(b)
	printLambdas()
	if b.over > 0 {
		os.Exit(1)
	}
}

const benchTable = "bench"

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// newBench builds the functions on a fresh "bench" table of the DynamoDB
// Local at endpoint, by the constructors their Lambdas call, with captured
// sends.
func newBench(ctx context.Context, endpoint string) *bench {
	client := dynamolocal.Client(endpoint)
	check(dynamo.EnsureTable(ctx, client, benchTable))
	store := dynamo.New(transactBilling{client}, benchTable, []byte("bench-cursor-secret"))
	check(localstack.Seed(ctx, store))
	tokens := devauth.Tokens{Key: []byte("bench-signing-key-bench-signing-key")}
	token, err := tokens.Issue(localstack.DemoWorkspace, localstack.DemoAdmin, inbox.RoleAdmin, time.Hour)
	check(err)
	quiet := quietLog
	outbox := &capture.Outbox{}
	senders := map[inbox.Channel]inbox.ChannelSender{}
	for _, ch := range inbox.Channels {
		senders[ch] = outbox.Sender(ch)
	}
	// The functions, built by the constructors their Lambdas call.
	// EventBridge Scheduler is not DynamoDB: it is priced separately.
	b := &bench{client: client, endpoint: endpoint, store: store, token: token}
	var sequencer inbox.Sequencer
	b.exec, sequencer = dripExecutor(client, benchTable, func(ctx context.Context, raw json.RawMessage) (any, error) {
		return b.steps.Handle(dynamo.WithMeter(ctx, &b.stepMeter), raw)
	})
	b.send = sender.New(store, senders, noSchedule{}, quiet)
	b.steps = sequences.New(store, noSchedule{}, sequencer)
	b.api = api.New(store, noSchedule{}, sequencer, api.Exports{}, tokens, quiet)
	b.hooks = webhooks.New(store, senders[inbox.ChannelEmail], &eventbus.Local{}, nil, webhooks.Settings{
		PublicURL: "https://api.parley.example", Credentials: providers.Set{localstack.DemoWorkspace: {TwilioAuthToken: twilioToken}}}, quiet).Routes()
	return b
}

// measureOperations meters each API operation, webhook and send on a fresh
// table, then the inbox page on workspaces of 1,000 and large conversations.
func measureOperations(ctx context.Context, endpoint string, large int) *bench {
	b := newBench(ctx, endpoint)

	// Per-operation costs on a small workspace.
	conv := b.mustJSON("POST", "/conversations", map[string]any{"phone": "+14155550100", "name": "Bench One"})
	id := conv["id"].(string)
	b.measure("POST /contacts", 0, 0, "POST", "/contacts", map[string]any{"name": "Ann Example", "phones": []string{"+14155550101"}, "emails": []string{"ann@example.com"}})
	b.measure("POST /conversations (new phone)", 0, 0, "POST", "/conversations", map[string]any{"phone": "+14155550102"})
	b.measure("GET /conversations/{id}", 0, 0, "GET", "/conversations/"+id, nil)
	b.measureKeyed("POST .../messages (Idempotency-Key)", 4, 0, "/conversations/"+id+"/messages", map[string]any{"channel": "sms", "body": "Your order has shipped and will arrive on Tuesday."})
	b.measure("POST .../messages (no key)", 4, 0, "POST", "/conversations/"+id+"/messages", map[string]any{"channel": "sms", "body": "Thanks!"})
	b.measure("POST .../comments", 0, 0, "POST", "/conversations/"+id+"/comments", map[string]any{"body": "Customer asked about delivery."})
	b.measure("POST .../read", 0, 0, "POST", "/conversations/"+id+"/read", nil)
	b.measure("PUT .../assignee", 0, 0, "PUT", "/conversations/"+id+"/assignee", map[string]any{"assigneeId": localstack.DemoAgent})
	label := b.mustJSON("POST", "/labels", map[string]any{"name": "Billing"})
	b.measure("PUT .../labels/{labelId}", 0, 0, "PUT", "/conversations/"+id+"/labels/"+label["id"].(string), nil)
	b.measure("POST .../archive", 0, 0, "POST", "/conversations/"+id+"/archive", nil)
	b.measure("POST .../unarchive", 0, 0, "POST", "/conversations/"+id+"/unarchive", nil)
	b.measure("GET /conversations/search?q=bench", 0, 0, "GET", "/conversations/search?q=bench", nil)
	b.measure("GET /contacts?phone=", 0, 0, "GET", "/contacts?phone=%2B14155550101", nil)
	// The address book (issue 13): one tag at a time, the catalog, and a
	// consent change that also moves the inbox row's copy.
	cid := conv["contactId"].(string)
	b.measure("PUT /contacts/{id}/tags/{tag}", 0, 0, "PUT", "/contacts/"+cid+"/tags/vip", nil)
	b.measure("DELETE /contacts/{id}/tags/{tag}", 0, 0, "DELETE", "/contacts/"+cid+"/tags/vip", nil)
	b.measure("GET /tags?prefix=v", 0, 0, "GET", "/tags?prefix=v", nil)
	b.measure("POST /contacts/{id}/opt-out (+ inbox row)", 0, 0, "POST", "/contacts/"+cid+"/opt-out", map[string]any{"channel": "sms"})
	b.measure("POST /contacts/{id}/opt-in (+ inbox row)", 0, 0, "POST", "/contacts/"+cid+"/opt-in", map[string]any{"channel": "sms"})
	b.measure("GET /contacts (address book, 25 of 3)", 0, 0, "GET", "/contacts?limit=25", nil)

	// Snippets: an admin writes them; agents list, search and render them
	// for a conversation (reads only: rendering writes and sends nothing).
	snippetBody := `Hi {{contact.first_name | "there"}}, thanks for your order! It ships on Tuesday. ` +
		`Reply here with any question. {{agent.first_name}} at {{workspace.name}}`
	b.measure("POST /snippets", 0, 0, "POST", "/snippets", map[string]any{"name": "Order shipped", "shortcut": "/shipped", "category": "Orders", "body": snippetBody})
	snippet := b.mustJSON("POST", "/snippets", map[string]any{"name": "Thanks", "shortcut": "/thanks", "category": "Orders", "body": snippetBody})
	b.mustJSON("POST", "/snippets", map[string]any{"name": "Opening hours", "shortcut": "/hours", "category": "General", "body": "We are open 9 to 5, Monday to Friday."})
	b.measure("GET /snippets?category= (2 of 3)", 0, 0, "GET", "/snippets?category=orders", nil)
	b.measure("GET /snippets?q=/th (shortcut search)", 0, 0, "GET", "/snippets?q=%2Fth", nil)
	b.measure("render a snippet (contact, agent, workspace tags)", 0, 3.5, "POST", "/conversations/"+id+"/snippets/"+snippet["id"].(string)+"/render", map[string]any{})
	plain := b.mustJSON("POST", "/snippets", map[string]any{"name": "Greeting", "shortcut": "/hi", "body": `Hi {{contact.first_name | "there"}}!`})
	b.measure("render a snippet (contact tags only)", 0, 2.5, "POST", "/conversations/"+id+"/snippets/"+plain["id"].(string)+"/render", map[string]any{})
	b.measure("POST .../messages (render: true, contact tags)", 4, 0, "POST", "/conversations/"+id+"/messages", map[string]any{"channel": "sms", "body": `Thanks {{contact.first_name | "there"}}!`, "render": true})
	for range 200 {
		b.mustJSON("POST", "/conversations/"+id+"/messages", map[string]any{"channel": "sms", "body": "A typical message of a few words."})
	}
	b.measure("GET .../messages (25, 200-message thread)", 0, 0, "GET", "/conversations/"+id+"/messages?limit=25&order=newest", nil)
	b.measure("POST .../messages (200-message thread)", 4, 0, "POST", "/conversations/"+id+"/messages", map[string]any{"channel": "sms", "body": "Still the same cost."})

	// Outbound: from the API call to sent, through the sender.
	b.measureSend("send: POST message -> sent (sms)", 6, id, map[string]any{"channel": "sms", "body": "Your table is ready."})
	soon := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	b.measureSend("schedule: POST with sendAt, then fire -> sent", 0, id, map[string]any{"channel": "sms", "body": "See you tomorrow!", "sendAt": soon})
	sched := b.mustJSON("POST", "/conversations/"+id+"/messages", map[string]any{"channel": "sms", "body": "Cancel me", "sendAt": soon})
	b.measure("cancel a scheduled message", 0, 0, "POST", "/conversations/"+id+"/messages/"+sched["id"].(string)+"/cancel", nil)

	// Inbound SMS through the signed Twilio webhook: a new sender, then the
	// same thread, short and long.
	b.measureSMS("webhook: inbound SMS, new sender", 0, 0, "+14155550190", "SMbench0")
	b.measureSMS("webhook: inbound SMS, existing thread", 4, 1, "+14155550190", "SMbench1")
	for i := range 200 {
		b.sms("+14155550190", fmt.Sprintf("SMbenchfill%d", i), nil)
	}
	b.measureSMS("webhook: inbound SMS, 200-message thread", 4, 1, "+14155550190", "SMbench2")
	b.measureSMS("webhook: same SMS redelivered", 0, 1, "+14155550190", "SMbench2")
	b.measureMediaCopy(ctx)
	b.measureAssignment(ctx, localstack.DemoWorkspace)
	b.measureWebhookDelivery(ctx, localstack.DemoWorkspace)
	b.measureMerge(ctx, localstack.DemoWorkspace)
	b.measureImport(ctx, localstack.DemoWorkspace)

	// What a reconnecting client reads: the badges, and the change logs
	// the publisher keeps from the stream, 25 changes since its last event.
	j := b.startJournal(ctx)
	since := time.Now().UTC().Format(time.RFC3339Nano)
	for i := range 25 {
		b.mustJSON("POST", "/conversations", map[string]any{"phone": fmt.Sprintf("+1415555%04d", 3000+i), "name": fmt.Sprintf("Sync %02d", i)})
		b.mustJSON("POST", "/conversations/"+id+"/messages", map[string]any{"channel": "sms", "body": "A message a reconnecting agent has not seen."})
	}
	j.settle()
	j.close()
	b.measure("GET /conversations/counts", 0, 1, "GET", "/conversations/counts", nil)
	b.measure("GET /conversations?updatedSince= (25 changes)", 0, 0, "GET", "/conversations?limit=25&updatedSince="+url.QueryEscape(since), nil)
	b.measure("GET .../messages?updatedSince= (25 changes)", 0, 0, "GET", "/conversations/"+id+"/messages?limit=25&updatedSince="+url.QueryEscape(since), nil)

	// The inbox page must stay flat as the workspace grows.
	have := 2
	sizes := []int{1000}
	if large > 1000 {
		sizes = append(sizes, large)
	}
	for _, size := range sizes {
		b.seedConversations(have, size-have)
		have = size
		b.measure(fmt.Sprintf("GET /conversations (25 of %d)", size), 0, 3, "GET", "/conversations?limit=25", nil)
		// The seeded names all start with S: the first page walks the 19
		// empty shards before it (the worst case), a later one reads one.
		b.measure(fmt.Sprintf("GET /contacts (address book, first 25 of %d)", size), 0, 0, "GET", "/contacts?limit=25", nil)
		b.measure(fmt.Sprintf("GET /contacts?name=seed 1 (25 of %d)", size), 0, 0, "GET", "/contacts?limit=25&name=seed%201", nil)
		// The views agents keep open: their matches sort first, so they
		// stay within twice the plain page. A view nothing matches reads
		// its bounded four pages of rows.
		b.measure(fmt.Sprintf("GET /conversations?assignee=unassigned (of %d)", size), 0, 3, "GET", "/conversations?limit=25&assignee=unassigned", nil)
		b.measure(fmt.Sprintf("GET /conversations?assignee=me (of %d, none mine)", size), 0, 0, "GET", "/conversations?limit=25&assignee="+localstack.DemoAdmin, nil)
		b.measure(fmt.Sprintf("GET /conversations?unread=true (of %d, none unread)", size), 0, 0, "GET", "/conversations?limit=25&unread=true", nil)
		for i := range 30 { // replies on the 30 newest make them unread
			b.sms(seedPhone(size-30+i), fmt.Sprintf("SMunread%d-%d", size, i), nil)
		}
		b.measure(fmt.Sprintf("GET /conversations?unread=true (of %d, 30 newest unread)", size), 0, 3, "GET", "/conversations?limit=25&unread=true", nil)
	}
	return b
}

// seedConversations starts n conversations with one inbound-looking message
// each, in parallel, through the API.
func (b *bench) seedConversations(have, n int) {
	start := time.Now()
	var wg sync.WaitGroup
	work := make(chan int)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				c := b.mustJSON("POST", "/conversations", map[string]any{"phone": seedPhone(i), "name": fmt.Sprintf("Seed %d", i)})
				b.mustJSON("POST", "/conversations/"+c["id"].(string)+"/messages", map[string]any{"channel": "sms", "body": "Seeded message body of ordinary length."})
			}
		}()
	}
	for i := range n {
		// Phones repeat past 10,000, so vary the area code by block.
		work <- i + 10000*(i/10000)*0
	}
	close(work)
	wg.Wait()
	fmt.Fprintf(os.Stderr, "seeded %d conversations in %s\n", n, time.Since(start).Round(time.Second))
}

// seedPhone makes distinct valid US numbers: area codes 212, 312, 415, ...
func seedPhone(i int) string {
	areas := []string{"212", "312", "415", "617", "713", "206", "303", "404"}
	return fmt.Sprintf("+1%s555%04d", areas[i/10000%len(areas)], i%10000)
}

const twilioToken = "bench-twilio-auth-token"

// noSchedule accepts schedules without firing them: the bench fires them
// itself, so only DynamoDB's part is measured.
type noSchedule struct{}

func (noSchedule) Put(context.Context, inbox.Schedule) error { return nil }
func (noSchedule) Delete(context.Context, string) error      { return nil }

// measureSend posts a message and delivers it (as the stream or a schedule
// would), metering both.
func (b *bench) measureSend(op string, budgetWRU float64, convID string, body map[string]any) {
	var m dynamo.Meter
	status, raw := b.request("POST", "/conversations/"+convID+"/messages", body, nil, &m)
	if status != http.StatusCreated {
		check(fmt.Errorf("%s: %d %s", op, status, raw))
	}
	var msg inbox.Message
	check(json.Unmarshal(raw, &msg))
	if msg.SendAt != nil {
		// Fire it now: the bench does not wait an hour.
		past := time.Now().Add(-time.Second)
		msg.SendAt = &past
		check(b.store.ReplaceMessage(context.Background(), &msg, inbox.MessageScheduled))
	}
	sent, err := b.send.Dispatch.Deliver(dynamo.WithMeter(context.Background(), &m), localstack.DemoWorkspace, inbox.ProviderRef{ConversationID: convID, MessageID: msg.ID})
	check(err)
	if sent.Status != inbox.MessageSent {
		check(fmt.Errorf("%s: ended %s", op, sent.Status))
	}
	b.rows = append(b.rows, row{op: op, read: m.Read, write: m.Write, calls: m.Calls, budgetWRU: budgetWRU})
}

// sms posts a signed Twilio inbound-message webhook.
func (b *bench) sms(from, sid string, meter *dynamo.Meter) int {
	form := url.Values{"MessageSid": {twilioSID(sid)}, "AccountSid": {"AC" + strings.Repeat("0", 32)}, "From": {from}, "To": {"+14155550100"},
		"Body": {"Hi, do you have a table for four at seven?"}, "NumMedia": {"0"}}
	path := "/webhooks/" + localstack.DemoWorkspace + "/twilio/messages"
	req := httptest.NewRequest("POST", path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", signing.Twilio(twilioToken, "https://api.parley.example"+path, form))
	if meter != nil {
		req = req.WithContext(dynamo.WithMeter(req.Context(), meter))
	}
	rec := httptest.NewRecorder()
	b.hooks.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		check(fmt.Errorf("twilio webhook: %d %s", rec.Code, rec.Body))
	}
	return rec.Code
}

// twilioSID makes a real-shaped SID ("SM" and 32 hex digits) from a name.
func twilioSID(name string) string {
	h := sha1.Sum([]byte(name))
	return fmt.Sprintf("SM%x", h[:16])
}

func (b *bench) measureSMS(op string, budgetWRU, budgetRRU float64, from, sid string) {
	var m dynamo.Meter
	b.sms(from, sid, &m)
	b.rows = append(b.rows, row{op: op, read: m.Read, write: m.Write, calls: m.Calls, budgetWRU: budgetWRU, budgetRRU: budgetRRU})
}

func (b *bench) request(method, path string, body any, headers map[string]string, meter *dynamo.Meter) (int, []byte) {
	var r io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		r = bytes.NewReader(raw)
	}
	req := httptest.NewRequest(method, path, r)
	req.Header.Set("Authorization", "Bearer "+b.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	if meter != nil {
		req = req.WithContext(dynamo.WithMeter(req.Context(), meter))
	}
	rec := httptest.NewRecorder()
	b.api.ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes()
}

func (b *bench) mustJSON(method, path string, body any) map[string]any {
	status, raw := b.request(method, path, body, nil, nil)
	if status >= 300 {
		check(fmt.Errorf("%s %s: %d %s", method, path, status, raw))
	}
	var out map[string]any
	check(json.Unmarshal(raw, &out))
	return out
}

func (b *bench) measure(op string, budgetWRU, budgetRRU float64, method, path string, body any) {
	b.measureWith(op, budgetWRU, budgetRRU, method, path, body, nil)
}

func (b *bench) measureKeyed(op string, budgetWRU, budgetRRU float64, path string, body any) {
	b.measureWith(op, budgetWRU, budgetRRU, "POST", path, body, map[string]string{"Idempotency-Key": fmt.Sprint(time.Now().UnixNano())})
}

func (b *bench) measureWith(op string, budgetWRU, budgetRRU float64, method, path string, body any, headers map[string]string) {
	var m dynamo.Meter
	status, raw := b.request(method, path, body, headers, &m)
	if status >= 300 {
		check(fmt.Errorf("%s: %d %s", op, status, raw))
	}
	b.rows = append(b.rows, row{op: op, read: m.Read, write: m.Write, calls: m.Calls, budgetWRU: budgetWRU, budgetRRU: budgetRRU})
}

func (b *bench) print() {
	w := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "operation\tRRU\tWRU\tcalls\tDynamoDB $/M\tall-in $/M\tbudget\t")
	over := 0
	for _, r := range b.rows {
		db := r.read*dollarsPerRRU + r.write*dollarsPerWRU
		all := db + dollarsPerHTTPCall + dollarsPerLambdaReq + lambdaGBSeconds*dollarsPerGBSecond
		budget := ""
		var parts []string
		if r.budgetWRU > 0 {
			parts = append(parts, fmt.Sprintf("≤%g WRU %s", r.budgetWRU, verdict(r.write <= r.budgetWRU, &over)))
		}
		if r.budgetRRU > 0 {
			parts = append(parts, fmt.Sprintf("≤%g RRU %s", r.budgetRRU, verdict(r.read <= r.budgetRRU, &over)))
		}
		budget = strings.Join(parts, ", ")
		fmt.Fprintf(w, "%s\t%.1f\t%.1f\t%d\t%.2f\t%.2f\t%s\t\n", r.op, r.read, r.write, r.calls, db*1e6, all*1e6, budget)
	}
	w.Flush()
	fmt.Printf("\nall-in = DynamoDB + HTTP API ($1/M) + Lambda arm64 ($0.20/M requests + 256 MB × 30 ms assumed).\n")
	if over > 0 {
		fmt.Printf("%d operation(s) over budget\n", over)
		defer os.Exit(1)
	}
}

func verdict(ok bool, over *int) string {
	if ok {
		return "ok"
	}
	*over++
	return "OVER"
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}
