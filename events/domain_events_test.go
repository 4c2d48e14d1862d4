package events_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/parley-inbox/parley/shared/adapter/dynamo"
	"github.com/parley-inbox/parley/shared/dev/dynamolocal"
	"github.com/parley-inbox/parley/shared/dev/dynamotest"
	"github.com/parley-inbox/parley/shared/dev/inboxtest"
	"github.com/parley-inbox/parley/shared/dev/streams"
	"github.com/parley-inbox/parley/shared/handler/publisher"
	"github.com/parley-inbox/parley/shared/inbox"
)

// collector keeps what the poller publishes.
type collector struct {
	mu     sync.Mutex
	events []inbox.Event
}

func (c *collector) Publish(_ context.Context, evs []inbox.Event) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.events = append(c.events, evs...)
	return nil
}

func (c *collector) byType() map[inbox.EventType][]inbox.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[inbox.EventType][]inbox.Event{}
	for _, e := range c.events {
		out[e.Type] = append(out[e.Type], e)
	}
	return out
}

// TestDomainEventsMatchTheirSchemas drives real writes through DynamoDB
// Local's stream, the poller and the translator, and checks every event
// against its JSON schema in schemas/.
func TestDomainEventsMatchTheirSchemas(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store, got := streamedStore(ctx, t)
	svc := inboxtest.New(store, inboxtest.Deps{})

	ws := "events-ws"
	actor := inbox.Actor{WorkspaceID: ws, UserID: "u1", Role: inbox.RoleAdmin}
	if err := store.PutWorkspace(ctx, &inbox.Workspace{ID: ws, Name: "Events", Settings: inbox.WorkspaceSettings{Timezone: "UTC", ConversationDeletion: true}}); err != nil {
		t.Fatal(err)
	}
	sms := func(id, body string) inbox.Inbound {
		return inbox.Inbound{WorkspaceID: ws, Channel: inbox.ChannelSMS, Kind: inbox.KindMessage, ProviderID: id, From: inbox.Correspondent{Phone: "+14155550150"}, Body: body}
	}
	first, err := svc.Ingest(ctx, sms("SMe1", "hello"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SetStatus(ctx, actor, first.Conversation.ID, inbox.StatusComplete); err != nil {
		t.Fatal(err)
	}
	for _, step := range []inbox.Inbound{sms("SMe2", "STOP"), sms("SMe3", "start")} {
		if _, err := svc.Ingest(ctx, step); err != nil {
			t.Fatal(err)
		}
	}
	tags := []string{"vip"}
	if _, err := svc.UpdateContact(ctx, actor, first.Message.ContactID, inbox.ContactPatch{Tags: &tags}); err != nil {
		t.Fatal(err)
	}
	out, _, err := svc.PostMessage(ctx, actor, first.Conversation.ID, inbox.OutboundInput{Channel: inbox.ChannelSMS, Body: "hi"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := store.PutProviderRef(ctx, ws, inbox.ChannelSMS, "SMout", inbox.ProviderRef{ConversationID: out.ConversationID, MessageID: out.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ApplyDelivery(ctx, inbox.DeliveryUpdate{WorkspaceID: ws, Channel: inbox.ChannelSMS, ProviderID: "SMout", Status: inbox.MessageDelivered}); err != nil {
		t.Fatal(err)
	}

	// An MMS whose file is copied in: message.updated.
	mms := sms("MMe4", "photo")
	mms.Channel, mms.Attachments = inbox.ChannelMMS, []inbox.Attachment{{URL: "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1", ContentType: "image/jpeg"}}
	withFile, err := svc.Ingest(ctx, mms)
	if err != nil {
		t.Fatal(err)
	}
	copier := inbox.NewMediaCopy(store, inbox.SystemClock{}, discardObjects{}, map[inbox.Channel]inbox.MediaSource{inbox.ChannelMMS: oneFile{}})
	if _, err := copier.Copy(ctx, ws, withFile.Conversation.ID, withFile.Message.ID); err != nil {
		t.Fatal(err)
	}

	campaign, err := svc.CreateCampaign(ctx, actor, inbox.CampaignInput{Name: "Welcome", Steps: []inbox.DripStep{{AfterMinutes: 60, Channel: inbox.ChannelSMS, Body: "Welcome"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.ApplyCampaign(ctx, actor, campaign.ID, first.Message.ContactID); err != nil {
		t.Fatal(err)
	}

	// A web chat visitor writes and comes online, then an admin deletes
	// the thread: visitor.presence and conversation.deleted.
	visitor := inbox.Handle(inbox.ChannelWebchat, "visitor-1")
	chat, err := svc.Ingest(ctx, inbox.Inbound{WorkspaceID: ws, Channel: inbox.ChannelWebchat, Kind: inbox.KindMessage,
		ProviderID: "visitor-1:c1", From: inbox.Correspondent{Handle: visitor}, Body: "anyone there?"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Heartbeat(ctx, ws, visitor); err != nil {
		t.Fatal(err)
	}
	if err := svc.DeleteConversation(ctx, actor, chat.Conversation.ID); err != nil {
		t.Fatal(err)
	}

	// A rule assigns a new conversation: conversation.assigned.
	if err := store.PutUser(ctx, &inbox.User{ID: "u1", WorkspaceID: ws, Name: "Ana", Email: "ana@example.com", Role: inbox.RoleAgent}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SetAvailability(ctx, actor, "u1", inbox.AvailabilityOnline); err != nil {
		t.Fatal(err)
	}
	ruleName, team := "Everyone", []string{"u1"}
	if _, err := svc.CreateAssignmentRule(ctx, actor, inbox.RuleInput{Name: &ruleName, UserIDs: &team}); err != nil {
		t.Fatal(err)
	}
	routed, err := svc.Ingest(ctx, inbox.Inbound{WorkspaceID: ws, Channel: inbox.ChannelSMS, Kind: inbox.KindMessage, ProviderID: "SMe4", From: inbox.Correspondent{Phone: "+14155550151"}, Body: "hola"})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Assigner.HandleEvent(ctx, inbox.Event{Type: inbox.EventConversationUpdated, WorkspaceID: ws, Conversation: routed.Conversation, Changes: []string{"lastMessage"}}); err != nil {
		t.Fatal(err)
	}

	waitForEvents(t, got, map[inbox.EventType]int{
		inbox.EventConversationAssigned: 1,
		inbox.EventContactCreated:       2, inbox.EventConversationCreated: 2, inbox.EventMessageReceived: 4,
		inbox.EventConversationReopened: 1, inbox.EventContactOptedOut: 1, inbox.EventContactOptedIn: 1,
		inbox.EventContactTagged: 1, inbox.EventMessageStatusChanged: 1, inbox.EventRunStarted: 1, inbox.EventMessageUpdated: 1,
		// Every new entry: four inbound messages, the reply, and the
		// opt-out and opt-in activities; a thread completed, reopened and
		// written to.
		inbox.EventMessageCreated: 7, inbox.EventConversationUpdated: 3,
		inbox.EventVisitorPresence: 1, inbox.EventConversationDeleted: 1,
	})

	schemas := compileSchemas(t)
	got.mu.Lock()
	defer got.mu.Unlock()
	for _, e := range got.events {
		sch, ok := schemas[e.Type]
		if !ok {
			t.Errorf("event %s has no schema in events/schemas", e.Type)
			continue
		}
		raw, _ := json.Marshal(e)
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		if err := sch.Validate(doc); err != nil {
			t.Errorf("%s does not match its schema: %v\n%s", e.Type, err, raw)
		}
	}
}

// oneFile serves every file as a few bytes of JPEG.
type oneFile struct{}

func (oneFile) Open(context.Context, *inbox.Message, int) (io.ReadCloser, string, error) {
	return io.NopCloser(strings.NewReader("\xff\xd8\xff")), "image/jpeg", nil
}

// discardObjects stores nothing.
type discardObjects struct{}

func (discardObjects) Put(_ context.Context, _, _ string, write func(io.Writer) error) error {
	return write(io.Discard)
}

func (discardObjects) PresignGet(context.Context, string, string, time.Duration) (string, error) {
	return "", nil
}

// compileSchemas compiles the event schemas in schemas/, keyed by their
// title (the event type).
// streamedStore is a store on a fresh table whose stream is published as
// in AWS (journal, then the translator's events) to the returned collector.
func streamedStore(ctx context.Context, t *testing.T) (*dynamo.Store, *collector) {
	t.Helper()
	client, table := dynamotest.Table(t)
	store := dynamo.New(client, table, []byte("k"))
	got := &collector{}
	poller := &streams.Poller{Tables: client, Streams: dynamolocal.StreamsClient(dynamotest.Endpoint()), Endpoint: dynamotest.Endpoint(),
		Table: table, Apply: (&publisher.Handler{Journal: store.Journal, Publisher: got}).Apply, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Every: 50 * time.Millisecond}
	go func() { _ = poller.Run(ctx) }()
	time.Sleep(300 * time.Millisecond) // let it take its shard iterators
	return store, got
}

// waitForEvents waits until the collector has at least the wanted number
// of events of each type, and fails the test after ten seconds.
func waitForEvents(t *testing.T, got *collector, want map[inbox.EventType]int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		seen := got.byType()
		done := true
		for typ, n := range want {
			done = done && len(seen[typ]) >= n
		}
		if done {
			return
		}
		if time.Now().After(deadline) {
			for typ, n := range want {
				if len(seen[typ]) < n {
					t.Errorf("%s: got %d events, want %d", typ, len(seen[typ]), n)
				}
			}
			t.FailNow()
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func compileSchemas(t *testing.T) map[inbox.EventType]*jsonschema.Schema {
	t.Helper()
	return compileSchemaDir(t, "schemas")
}

// compileSchemaDir compiles dir's *.schema.json files, keyed by title.
// Every .json file under schemas/ is a resource of the compiler under its
// $id, so a schema may $ref a shared definition (message.json,
// conversation.json) or a sibling folder's by a relative reference.
func compileSchemaDir(t *testing.T, dir string) map[inbox.EventType]*jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	ids := map[string]string{}
	err := filepath.WalkDir("schemas", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json") {
			return err
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		var head struct {
			ID string `json:"$id"`
		}
		if err := json.Unmarshal(raw, &head); err != nil || head.ID == "" {
			return fmt.Errorf("%s: every schema needs an $id", path)
		}
		ids[path] = head.ID
		return c.AddResource(head.ID, doc)
	})
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.schema.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no schemas in %s: %v", dir, err)
	}
	out := map[inbox.EventType]*jsonschema.Schema{}
	for _, f := range files {
		sch, err := c.Compile(ids[f])
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		raw, _ := os.ReadFile(f)
		var head struct {
			Title string `json:"title"`
		}
		_ = json.Unmarshal(raw, &head)
		if _, dup := out[inbox.EventType(head.Title)]; dup || head.Title == "" {
			t.Fatalf("%s: title %q is empty or another schema's", f, head.Title)
		}
		out[inbox.EventType(head.Title)] = sch
	}
	return out
}

// External events are not derived from the stream: AcceptExternalEvent
// builds them from what a shop posts. Every type matches its schema, and
// every type HandleEvent acts on has one.
func TestExternalEventsMatchTheirSchemas(t *testing.T) {
	client, table := dynamotest.Table(t)
	store := dynamo.New(client, table, []byte("k"))
	svc := inboxtest.New(store, inboxtest.Deps{})
	ctx := context.Background()
	ws := "external-ws"
	if err := store.PutWorkspace(ctx, &inbox.Workspace{ID: ws, Name: "Shop", Settings: inbox.WorkspaceSettings{Timezone: "UTC"}}); err != nil {
		t.Fatal(err)
	}
	schemas := compileSchemas(t)
	for _, typ := range inbox.SequenceEvents {
		if _, ok := schemas[typ]; !ok {
			t.Errorf("%s has no schema in events/schemas", typ)
		}
	}
	at := time.Now().Add(-time.Minute)
	for i, in := range []inbox.ExternalEvent{
		{ID: "order-1", Type: inbox.EventOrderPlaced, OccurredAt: &at, Reference: "#1001", Contact: inbox.ExternalContact{Phone: "+14155550190"}},
		{ID: "cart-1", Type: inbox.EventCartAbandoned, OccurredAt: &at, Contact: inbox.ExternalContact{Email: "sam@example.com"}},
		{ID: "list-1", Type: inbox.EventContactAddedToList, OccurredAt: &at, List: "Newsletter", Contact: inbox.ExternalContact{Phone: "+14155550190"}},
		{ID: "form-1", Type: inbox.EventContactSubscribed, OccurredAt: &at, Channel: inbox.ChannelMMS, Marketing: true, Contact: inbox.ExternalContact{Email: "new@example.com"}},
	} {
		e, err := svc.AcceptExternalEvent(ctx, ws, in)
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		raw, _ := json.Marshal(e)
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		sch, ok := schemas[e.Type]
		if !ok {
			t.Errorf("%s has no schema", e.Type)
			continue
		}
		if err := sch.Validate(doc); err != nil {
			t.Errorf("%s does not match its schema: %v\n%s", e.Type, err, raw)
		}
	}
}

// TestEventShapesMirrorTheAPI keeps the shapes events share with the HTTP
// API in step with the OpenAPI document: the same properties, the same
// required ones.
func TestEventShapesMirrorTheAPI(t *testing.T) {
	api := readJSON(t, filepath.Join("..", "shared", "handler", "api", "openapi.json"))
	for _, tt := range []struct {
		apiSchema, file string
		at              []string
	}{
		{"Message", "schemas/message.json", nil},
		{"Conversation", "schemas/conversation.json", nil},
		{"ConversationCounts", "schemas/counts.changed.schema.json", []string{"properties", "counts"}},
		{"Tally", "schemas/counts.changed.schema.json", []string{"$defs", "tally"}},
		{"VisitorMessage", "schemas/visitor/message.created.schema.json", []string{"properties", "message"}},
		{"Attachment", "schemas/message.json", []string{"$defs", "attachment"}},
		{"CallDetails", "schemas/message.json", []string{"$defs", "callDetails"}},
		{"EmailDetails", "schemas/message.json", []string{"$defs", "emailDetails"}},
		{"DeliveryError", "schemas/message.json", []string{"$defs", "deliveryError"}},
		{"Template", "schemas/message.json", []string{"$defs", "template"}},
	} {
		want := lookup(api, "components", "schemas", tt.apiSchema)
		got := lookup(readJSON(t, tt.file), tt.at...)
		if want == nil || got == nil {
			t.Errorf("%s or %s %v is missing", tt.apiSchema, tt.file, tt.at)
			continue
		}
		for _, key := range []string{"properties", "required"} {
			if w, g := names(lookup(want, key)), names(lookup(got, key)); !slices.Equal(w, g) {
				t.Errorf("%s %v %s are %v; the API's %s has %v", tt.file, tt.at, key, g, tt.apiSchema, w)
			}
		}
	}
}

// names lists an object's keys or an array's strings, sorted.
func names(v any) []string {
	var out []string
	switch v := v.(type) {
	case map[string]any:
		for k := range v {
			out = append(out, k)
		}
	case []any:
		for _, s := range v {
			out = append(out, fmt.Sprint(s))
		}
	}
	slices.Sort(out)
	return out
}
