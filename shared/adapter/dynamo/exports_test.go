package dynamo_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/parley-inbox/parley/shared/adapter/dynamo"
	"github.com/parley-inbox/parley/shared/inbox"
)

// seedThread writes n messages into one thread, one an hour from start.
func seedThread(t *testing.T, store *dynamo.Store, ws, convID string, start time.Time, n int, kind func(i int) inbox.MessageKind) []*inbox.Message {
	t.Helper()
	var out []*inbox.Message
	for i := range n {
		at := start.Add(time.Duration(i) * time.Hour)
		m := &inbox.Message{ID: inbox.NewID(at), WorkspaceID: ws, ConversationID: convID, Direction: inbox.DirectionIn,
			Kind: kind(i), Channel: inbox.ChannelSMS, Body: fmt.Sprintf("m%04d", i), Status: inbox.MessageReceived,
			Attachments: []inbox.Attachment{}, CreatedAt: at, UpdatedAt: at}
		if m.Kind == inbox.KindComment {
			m.Direction, m.Internal = "", true
		}
		if err := store.PutMessage(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func plain(int) inbox.MessageKind { return inbox.KindMessage }

// TestListMessageRangePages: a date range reads exactly its messages, oldest
// first, one Query per page of at most the limit, and nothing of the
// conversation's neighbours.
func TestListMessageRangePages(t *testing.T) {
	_, store, actor := newService(t)
	ctx := context.Background()
	start := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	conv := inbox.NewID(start)
	all := seedThread(t, store, actor.WorkspaceID, conv, start, 240, plain) // ten days
	seedThread(t, store, actor.WorkspaceID, inbox.NewID(start), start, 30, plain)
	r := inbox.MessageRange{From: start.Add(48 * time.Hour), To: start.Add(5 * 24 * time.Hour)} // hours 48..119
	want := all[48:120]

	var meter dynamo.Meter
	mctx := dynamo.WithMeter(ctx, &meter)
	var got []*inbox.Message
	after, pages := "", 0
	for {
		page, more, err := store.ListMessageRange(mctx, actor.WorkspaceID, conv, r, after, 25)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if len(page) > 25 {
			t.Fatalf("page of %d, limit 25", len(page))
		}
		got = append(got, page...)
		if len(page) > 0 {
			after = page[len(page)-1].ID
		}
		if !more {
			break
		}
	}
	if len(got) != len(want) {
		t.Fatalf("got %d messages, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].ID != want[i].ID || got[i].Body != want[i].Body || got[i].WorkspaceID != actor.WorkspaceID {
			t.Fatalf("message %d = %s %q, want %s %q", i, got[i].ID, got[i].Body, want[i].ID, want[i].Body)
		}
	}
	if meter.Calls != pages || pages > 4 {
		t.Errorf("%d Queries for %d pages of 72 messages by 25, want one each and at most 4", meter.Calls, pages)
	}

	// Counting stops past max, whatever the range holds.
	for _, tc := range []struct{ max, want int }{{10, 11}, {71, 72}, {72, 72}, {1000, 72}} {
		n, err := store.CountMessageRange(ctx, actor.WorkspaceID, conv, r, tc.max)
		if err != nil || n != tc.want {
			t.Errorf("CountMessageRange(max %d) = %d, %v; want %d", tc.max, n, err, tc.want)
		}
	}
	// Another workspace's key range is empty.
	if page, _, err := store.ListMessageRange(ctx, "other", conv, r, "", 25); err != nil || len(page) != 0 {
		t.Errorf("another workspace read %d messages (%v)", len(page), err)
	}
}

// memObjects is an in-memory object store for the use case tests.
type memObjects map[string]string

func (m memObjects) Put(ctx context.Context, key, contentType string, write func(io.Writer) error) error {
	var b bytes.Buffer
	if err := write(&b); err != nil {
		return err
	}
	m[key] = b.String()
	return nil
}

func (m memObjects) PresignGet(ctx context.Context, key, filename string, ttl time.Duration) (string, error) {
	return "https://objects.example/" + key + "?name=" + filename, nil
}

type syncRunner struct {
	exports **inbox.Exports
	runs    int
}

func (r *syncRunner) RunExportAsync(ctx context.Context, ws, id string) error {
	r.runs++
	_, err := (*r.exports).RunExport(ctx, ws, id)
	return err
}

// TestExportJobRuns: a background export writes the workspace-prefixed
// object, a repeated run rewrites it the same, and another workspace cannot
// read the export.
func TestExportJobRuns(t *testing.T) {
	svc, store, actor := newService(t)
	ctx := context.Background()
	conv, _, err := svc.StartConversation(ctx, actor, inbox.StartInput{Phone: "+14155550188", Name: "Jo"})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().UTC().Add(-20 * 24 * time.Hour)
	seedThread(t, store, actor.WorkspaceID, conv.ID, start, 300, func(i int) inbox.MessageKind {
		if i%10 == 0 {
			return inbox.KindComment
		}
		return inbox.KindMessage
	})
	objects := memObjects{}
	var exports *inbox.Exports
	runner := &syncRunner{exports: &exports}
	exports = inbox.NewExports(store, nil, objects, runner)
	req := inbox.ExportRequest{Format: inbox.ExportCSV, From: start, To: start.Add(30 * 24 * time.Hour)}
	if n, err := exports.CountForExport(ctx, actor, conv.ID, req, 100); err != nil || n != 101 {
		t.Fatalf("count = %d, %v; want 101 (stopped past 100)", n, err)
	}
	e, err := exports.StartExport(ctx, actor, conv.ID, req)
	if err != nil {
		t.Fatal(err)
	}
	key := "exports/" + actor.WorkspaceID + "/" + e.ID + ".csv"
	rows, err := csv.NewReader(strings.NewReader(objects[key])).ReadAll()
	if err != nil || len(rows) != 271 {
		t.Fatalf("object %s has %d rows (%v), want header + 270 without the 30 comments; objects: %d", key, len(rows), err, len(objects))
	}
	first := objects[key]
	// The same request again (a double click, a retry) is the same job,
	// and runs nothing more; another agent's is a job of its own.
	again, err := exports.StartExport(ctx, actor, conv.ID, req)
	if err != nil || again.ID != e.ID || again.Status != inbox.ExportDone || runner.runs != 1 {
		t.Errorf("repeat = %+v, %v after %d runs; want the same done job and one run", again, err, runner.runs)
	}
	colleague := actor
	colleague.UserID = "another-agent"
	if theirs, err := exports.StartExport(ctx, colleague, conv.ID, req); err != nil || theirs.ID == e.ID || runner.runs != 2 {
		t.Errorf("another agent's export = %+v, %v; want a job of its own", theirs, err)
	}
	for k := range objects { // the colleague's file
		if k != key {
			delete(objects, k)
		}
	}
	if _, err := exports.RunExport(ctx, actor.WorkspaceID, e.ID); err != nil || objects[key] != first || len(objects) != 1 {
		t.Errorf("a repeated run changed the object (%v)", err)
	}
	got, err := exports.GetExport(ctx, actor, e.ID)
	if err != nil || got.Status != inbox.ExportDone || got.Messages != 270 || !strings.Contains(got.DownloadURL, key) || got.URLExpires == nil {
		t.Fatalf("GetExport = %+v, %v", got, err)
	}
	other := actor
	other.WorkspaceID = "someone-else"
	if _, err := exports.GetExport(ctx, other, e.ID); !inbox.IsKind(err, inbox.KindNotFound) {
		t.Errorf("another workspace read the export: %v", err)
	}
	if _, err := exports.StartExport(ctx, other, conv.ID, req); !inbox.IsKind(err, inbox.KindNotFound) {
		t.Errorf("another workspace exported the conversation: %v", err)
	}
	// The inline export is the same file.
	var b bytes.Buffer
	if err := svc.ExportConversation(ctx, actor, conv.ID, req, &b); err != nil || b.String() != first {
		t.Errorf("the inline export differs from the background one (%v)", err)
	}
}

type failingRunner struct{ id string }

func (r *failingRunner) RunExportAsync(_ context.Context, _, id string) error {
	r.id = id
	return inbox.Errorf(inbox.KindUnavailable, "lambda is down")
}

// TestExportThatCannotStartIsMarkedFailed: a job whose run could not be
// started is not left pending.
func TestExportThatCannotStartIsMarkedFailed(t *testing.T) {
	svc, store, actor := newService(t)
	ctx := context.Background()
	conv, _, err := svc.StartConversation(ctx, actor, inbox.StartInput{Phone: "+14155550189"})
	if err != nil {
		t.Fatal(err)
	}
	runner := &failingRunner{}
	exports := inbox.NewExports(store, nil, memObjects{}, runner)
	now := time.Now().UTC()
	_, err = exports.StartExport(ctx, actor, conv.ID, inbox.ExportRequest{Format: inbox.ExportCSV, From: now.Add(-time.Hour), To: now})
	if !inbox.IsKind(err, inbox.KindUnavailable) {
		t.Fatalf("err = %v, want unavailable", err)
	}
	e, err := exports.GetExport(ctx, actor, runner.id)
	if err != nil || e.Status != inbox.ExportFailed || e.Error == "" || e.DownloadURL != "" {
		t.Errorf("export = %+v, %v; want failed with a reason", e, err)
	}
	// Asking again starts afresh rather than returning the failed job.
	failed := runner.id
	_, _ = exports.StartExport(ctx, actor, conv.ID, inbox.ExportRequest{Format: inbox.ExportCSV, From: now.Add(-time.Hour), To: now})
	if runner.id == failed || runner.id == "" {
		t.Errorf("a repeat of a failed export reused job %s", failed)
	}
}
