package dynamo_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/parley-inbox/parley/shared/adapter/dynamo"
	"github.com/parley-inbox/parley/shared/dev/dynamotest"
	"github.com/parley-inbox/parley/shared/dev/inboxtest"
	"github.com/parley-inbox/parley/shared/inbox"
)

// copiedObjects keeps what MediaCopy stores.
type copiedObjects struct {
	mu    sync.Mutex
	files map[string]string // key → content type + "|" + bytes
}

func (o *copiedObjects) Put(_ context.Context, key, contentType string, write func(io.Writer) error) error {
	var buf bytes.Buffer
	if err := write(&buf); err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.files == nil {
		o.files = map[string]string{}
	}
	o.files[key] = contentType + "|" + buf.String()
	return nil
}

func (o *copiedObjects) PresignGet(context.Context, string, string, time.Duration) (string, error) {
	return "", errors.New("not used")
}

// fakeSource serves files by attachment URL; an error value fails it.
type fakeSource struct {
	mu        sync.Mutex
	files     map[string]any // URL → string bytes or error
	opened    []string
	forgotten []string
}

func (s *fakeSource) Open(_ context.Context, m *inbox.Message, n int) (io.ReadCloser, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := m.Attachments[n].URL
	s.opened = append(s.opened, u)
	switch v := s.files[u].(type) {
	case string:
		return io.NopCloser(strings.NewReader(v)), "image/png", nil
	case error:
		return nil, "", v
	}
	return nil, "", inbox.Errorf(inbox.KindNotFound, "no such media")
}

func (s *fakeSource) Forget(_ context.Context, m *inbox.Message, n int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forgotten = append(s.forgotten, m.Attachments[n].URL)
	return nil
}

const mediaURL = "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME"

func ingestMMS(t *testing.T, svc interface {
	Ingest(context.Context, inbox.Inbound) (*inbox.IngestResult, error)
}, ws, id string, urls ...string) *inbox.Message {
	t.Helper()
	in := inbox.Inbound{WorkspaceID: ws, Channel: inbox.ChannelMMS, Kind: inbox.KindMessage, ProviderID: id,
		From: inbox.Correspondent{Phone: "+14155550177"}, Body: "look"}
	for _, u := range urls {
		in.Attachments = append(in.Attachments, inbox.Attachment{URL: u, ContentType: "image/jpeg"})
	}
	res, err := svc.Ingest(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return res.Message
}

func TestMediaCopyStoresKeysOnce(t *testing.T) {
	svc, store, actor := newService(t)
	ctx := context.Background()
	ws := actor.WorkspaceID
	yes := true
	if _, err := svc.UpdateSettings(ctx, actor, inbox.WorkspaceSettingsPatch{DeleteProviderMedia: &yes}); err != nil {
		t.Fatal(err)
	}
	m := ingestMMS(t, svc, ws, "MMcopy1", mediaURL+"0", mediaURL+"1", mediaURL+"2")
	src := &fakeSource{files: map[string]any{
		mediaURL + "0": "jpeg-bytes",
		mediaURL + "1": inbox.Errorf(inbox.KindNotFound, "gone"),
		mediaURL + "2": "second",
	}}
	objects := &copiedObjects{}
	copier := inbox.NewMediaCopy(store, inbox.SystemClock{}, objects, map[inbox.Channel]inbox.MediaSource{inbox.ChannelMMS: src})
	var skipped []int
	copier.OnSkip(func(_ context.Context, _ *inbox.Message, n int, err error) { skipped = append(skipped, n) })

	meter := &dynamo.Meter{}
	got, err := copier.Copy(dynamo.WithMeter(ctx, meter), ws, m.ConversationID, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("media copy of an MMS: %.1f WRU, %.1f RRU, %d calls", meter.Write, meter.Read, meter.Calls)
	if meter.Write != 1 {
		t.Errorf("WRU = %v, want 1 (one update of the message)", meter.Write)
	}
	stored, err := store.GetMessage(ctx, ws, m.ConversationID, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, msg := range []*inbox.Message{got, stored} {
		a := msg.Attachments
		if len(a) != 3 {
			t.Fatalf("attachments = %+v", a)
		}
		if a[0].Key != inbox.InboundMediaKey(ws, m.ID, 0) || a[0].URL != "" || a[0].Size != int64(len("jpeg-bytes")) || a[0].ContentType != "image/jpeg" {
			t.Errorf("copied attachment = %+v", a[0])
		}
		if a[1].Key != "" || a[1].URL != mediaURL+"1" {
			t.Errorf("a file the provider no longer has must stay as it was: %+v", a[1])
		}
		if a[2].Key != inbox.InboundMediaKey(ws, m.ID, 2) || a[2].Size != 6 {
			t.Errorf("copied attachment = %+v", a[2])
		}
	}
	if stored.Status != m.Status {
		t.Errorf("status = %q, want %q", stored.Status, m.Status)
	}
	if got := objects.files[inbox.InboundMediaKey(ws, m.ID, 0)]; got != "image/jpeg|jpeg-bytes" {
		t.Errorf("stored object = %q", got)
	}
	if len(skipped) != 1 || skipped[0] != 1 {
		t.Errorf("skipped = %v, want [1]", skipped)
	}
	if want := []string{mediaURL + "0", mediaURL + "2"}; strings.Join(src.forgotten, ",") != strings.Join(want, ",") {
		t.Errorf("forgotten = %v, want %v", src.forgotten, want)
	}

	// Redelivered: the copied files are not fetched again.
	src.opened = nil
	if _, err := copier.Copy(ctx, ws, m.ConversationID, m.ID); err != nil {
		t.Fatal(err)
	}
	if len(src.opened) != 1 || src.opened[0] != mediaURL+"1" {
		t.Errorf("second copy opened %v, want only the missing file", src.opened)
	}
}

func TestMediaCopyRetriesTransientAndRefusesOversize(t *testing.T) {
	svc, store, actor := newService(t)
	ctx := context.Background()
	ws := actor.WorkspaceID
	m := ingestMMS(t, svc, ws, "MMcopy2", mediaURL+"0")
	src := &fakeSource{files: map[string]any{mediaURL + "0": inbox.Errorf(inbox.KindUnavailable, "twilio is down")}}
	copier := inbox.NewMediaCopy(store, inbox.SystemClock{}, &copiedObjects{}, map[inbox.Channel]inbox.MediaSource{inbox.ChannelMMS: src})
	if _, err := copier.Copy(ctx, ws, m.ConversationID, m.ID); !inbox.IsKind(err, inbox.KindUnavailable) {
		t.Fatalf("transient failure: err = %v, want KindUnavailable so the queue retries", err)
	}
	// Twilio's limit is 5 MB: a larger answer is refused and not retried.
	src.files[mediaURL+"0"] = strings.Repeat("x", 5<<20+1)
	got, err := copier.Copy(ctx, ws, m.ConversationID, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Attachments[0].Key != "" {
		t.Errorf("an oversized file was stored: %+v", got.Attachments[0])
	}
	if len(src.forgotten) != 0 {
		t.Errorf("forgotten without the setting: %v", src.forgotten)
	}
	// Outbound messages and missing messages.
	if _, err := copier.Copy(ctx, ws, m.ConversationID, "01J0000000000000000000000X"); !inbox.IsKind(err, inbox.KindNotFound) {
		t.Errorf("missing message: err = %v", err)
	}
}

func TestSetAttachmentsKeepsAConcurrentStatus(t *testing.T) {
	svc, store, actor := newService(t)
	ctx := context.Background()
	m := ingestMMS(t, svc, actor.WorkspaceID, "MMcopy3", mediaURL+"0")
	later := *m
	later.Status = inbox.MessageRead
	if err := store.UpdateMessageStatus(ctx, &later, m.Status); err != nil {
		t.Fatal(err)
	}
	prev := m.Attachments
	m.Attachments = []inbox.Attachment{{Key: inbox.InboundMediaKey(actor.WorkspaceID, m.ID, 0), ContentType: "image/jpeg", Size: 3}}
	if err := store.SetAttachments(ctx, m, prev); err != nil {
		t.Fatal(err)
	}
	// A second copy that read the attachments before the first stored.
	if err := store.SetAttachments(ctx, m, prev); !inbox.IsKind(err, inbox.KindConflict) {
		t.Errorf("a copy of stale attachments: err = %v, want KindConflict", err)
	}
	got, err := store.GetMessage(ctx, actor.WorkspaceID, m.ConversationID, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != inbox.MessageRead || got.Attachments[0].Key == "" || got.Attachments[0].URL != "" {
		t.Errorf("message = status %q, attachments %+v", got.Status, got.Attachments)
	}
	gone := *m
	gone.ID = "01J0000000000000000000000X"
	if err := store.SetAttachments(ctx, &gone, prev); !inbox.IsKind(err, inbox.KindNotFound) {
		t.Errorf("missing message: err = %v, want KindNotFound (and no item created)", err)
	}
}

// What copying an MMS's file adds in write units: the update of the
// message's attachments, and the journal's change record of the message
// (for delta sync) when the stream delivers it. make bench prices it.
func TestMediaCopyWriteUnits(t *testing.T) {
	client, table := dynamotest.Table(t)
	store := dynamo.New(client, table, []byte("k"))
	svc := inboxtest.New(store, inboxtest.Deps{})
	ctx := context.Background()
	ws := inbox.NewID(time.Now())
	if err := store.PutWorkspace(ctx, &inbox.Workspace{ID: ws, Name: "Acme", Settings: inbox.WorkspaceSettings{Timezone: "UTC"}}); err != nil {
		t.Fatal(err)
	}
	m := ingestMMS(t, svc, ws, "MMwru1", mediaURL+"0")
	raw := func() map[string]types.AttributeValue {
		t.Helper()
		out, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &table, ConsistentRead: aws.Bool(true),
			Key: map[string]types.AttributeValue{dynamo.AttrPK: &types.AttributeValueMemberS{Value: "WS#" + ws + "#CONV#" + m.ConversationID},
				dynamo.AttrSK: &types.AttributeValueMemberS{Value: "MSG#" + m.ID}}})
		if err != nil || out.Item == nil {
			t.Fatalf("raw message item: %v", err)
		}
		return out.Item
	}
	before := raw()
	src := &fakeSource{files: map[string]any{mediaURL + "0": strings.Repeat("j", 200<<10)}}
	copier := inbox.NewMediaCopy(store, inbox.SystemClock{}, &copiedObjects{}, map[inbox.Channel]inbox.MediaSource{inbox.ChannelMMS: src})
	update := &dynamo.Meter{}
	if _, err := copier.Copy(dynamo.WithMeter(ctx, update), ws, m.ConversationID, m.ID); err != nil {
		t.Fatal(err)
	}
	journal := &dynamo.Meter{}
	if err := store.Journal(dynamo.WithMeter(ctx, journal), &dynamo.Change{EventID: "e1", At: time.Now(), Old: before, New: raw()}); err != nil {
		t.Fatal(err)
	}
	t.Logf("media copy of an MMS: update %.1f WRU (%.1f RRU), journal %.1f WRU: %.1f WRU in all", update.Write, update.Read, journal.Write, update.Write+journal.Write)
	if update.Write != 1 || journal.Write != 1 {
		t.Errorf("WRU = %v (update) + %v (journal), want 1 + 1", update.Write, journal.Write)
	}
}
