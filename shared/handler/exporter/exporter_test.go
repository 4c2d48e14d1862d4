package exporter_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/parley-inbox/parley/shared/adapter/lambdainvoke"
	"github.com/parley-inbox/parley/shared/dev/dynamotest"
	"github.com/parley-inbox/parley/shared/dev/inboxtest"
	"github.com/parley-inbox/parley/shared/handler/exporter"
	"github.com/parley-inbox/parley/shared/inbox"
)

func TestMain(m *testing.M) { dynamotest.Main(m) }

type memObjects map[string]string

func (m memObjects) Put(_ context.Context, key, _ string, write func(io.Writer) error) error {
	var b bytes.Buffer
	if err := write(&b); err != nil {
		return err
	}
	m[key] = b.String()
	return nil
}

func (m memObjects) PresignGet(context.Context, string, string, time.Duration) (string, error) {
	return "", nil
}

type later struct{ jobs []lambdainvoke.ExportJob }

func (l *later) RunExportAsync(_ context.Context, ws, id string) error {
	l.jobs = append(l.jobs, lambdainvoke.ExportJob{WorkspaceID: ws, ExportID: id})
	return nil
}

// TestHandleRunsTheJobTheAPIStarted: the event the api sends is run to a
// file under the workspace's prefix; a malformed or unknown job is dropped
// without an error, so Lambda does not retry what cannot succeed.
func TestHandleRunsTheJobTheAPIStarted(t *testing.T) {
	store := dynamotest.Store(t)
	ctx := context.Background()
	actor := inbox.Actor{WorkspaceID: "ws-export", UserID: "admin-1", Role: inbox.RoleAdmin}
	if err := store.PutWorkspace(ctx, &inbox.Workspace{ID: actor.WorkspaceID, Name: "W", Settings: inbox.WorkspaceSettings{Timezone: "UTC"}}); err != nil {
		t.Fatal(err)
	}
	svc := inboxtest.New(store, inboxtest.Deps{})
	conv, _, err := svc.StartConversation(ctx, actor, inbox.StartInput{Phone: "+14155550177", Name: "Jo"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.PostComment(ctx, actor, conv.ID, inbox.CommentInput{Body: "=1+1 <b>note</b>"}, ""); err != nil {
		t.Fatal(err)
	}
	runner := &later{}
	objects := memObjects{}
	api := inbox.NewExports(store, nil, objects, runner)
	now := time.Now().UTC()
	e, err := api.StartExport(ctx, actor, conv.ID, inbox.ExportRequest{Format: inbox.ExportHTML, From: now.Add(-time.Hour), To: now.Add(time.Hour), IncludeComments: true})
	if err != nil || len(runner.jobs) != 1 {
		t.Fatalf("StartExport: %v, %d jobs", err, len(runner.jobs))
	}
	h := exporter.New(store, objects, slog.New(slog.NewTextHandler(io.Discard, nil)))
	for _, job := range []lambdainvoke.ExportJob{{}, {WorkspaceID: actor.WorkspaceID, ExportID: "not-an-id"}, {WorkspaceID: "other", ExportID: e.ID}} {
		if err := h.Handle(ctx, job); err != nil {
			t.Errorf("job %+v: %v, want it dropped", job, err)
		}
	}
	if len(objects) != 0 {
		t.Fatalf("a dropped job wrote %v", objects)
	}
	if err := h.Handle(ctx, runner.jobs[0]); err != nil {
		t.Fatal(err)
	}
	page := objects["exports/ws-export/"+e.ID+".html"]
	if !strings.Contains(page, "=1+1 &lt;b&gt;note&lt;/b&gt;") || !strings.Contains(page, `class="tag">internal`) {
		t.Errorf("the file does not hold the escaped, marked comment:\n%s", page)
	}
}

// uploads is the media bucket: the CSV an admin uploaded.
type uploads map[string]string

func (u uploads) Get(_ context.Context, key string, _ int64) ([]byte, error) {
	if v, ok := u[key]; ok {
		return []byte(v), nil
	}
	return nil, inbox.Errorf(inbox.KindNotFound, "no %s", key)
}

func (u uploads) Stat(_ context.Context, key string) (*inbox.StoredObject, error) {
	if v, ok := u[key]; ok {
		return &inbox.StoredObject{Size: int64(len(v)), ContentType: "text/csv"}, nil
	}
	return nil, inbox.Errorf(inbox.KindNotFound, "no %s", key)
}

func (l *later) RunImportAsync(_ context.Context, ws, id string) error {
	l.jobs = append(l.jobs, lambdainvoke.ExportJob{WorkspaceID: ws, ImportID: id})
	return nil
}

// TestHandleRunsAnImport: an import job the api started is run to its
// report; a run that spent its budget hands over to a new invocation.
func TestHandleRunsAnImport(t *testing.T) {
	store := dynamotest.Store(t)
	ctx := context.Background()
	actor := inbox.Actor{WorkspaceID: "ws-import", UserID: "admin-1", Role: inbox.RoleAdmin}
	if err := store.PutWorkspace(ctx, &inbox.Workspace{ID: actor.WorkspaceID, Name: "W", Settings: inbox.WorkspaceSettings{Timezone: "UTC"}}); err != nil {
		t.Fatal(err)
	}
	key := inbox.MediaPrefix(actor.WorkspaceID) + "up/" + inbox.NewID(time.Now()) + "/c.csv"
	var csv strings.Builder
	csv.WriteString("name,phone\n")
	for i := range 201 {
		fmt.Fprintf(&csv, "P%d,+1415556%04d\n", i, i)
	}
	files := uploads{key: csv.String()}
	objects := memObjects{}
	runner := &later{}
	api := inbox.NewImports(store, nil, files, objects, runner)
	im, err := api.StartImport(ctx, actor, inbox.ImportInput{Key: key})
	if err != nil || len(runner.jobs) != 1 {
		t.Fatalf("StartImport: %v, %d jobs", err, len(runner.jobs))
	}
	next := &later{}
	h := exporter.New(store, objects, slog.New(slog.NewTextHandler(io.Discard, nil))).WithImports(files, next)
	h.Imports.Budget = time.Nanosecond // hand over at the first checkpoint (row 200)
	h.Imports.Rate = 1e6
	if err := h.Handle(ctx, runner.jobs[0]); err != nil {
		t.Fatal(err)
	}
	if len(next.jobs) != 1 || next.jobs[0].ImportID != im.ID {
		t.Fatalf("after the first run's budget: %+v, want one hand-over", next.jobs)
	}
	if err := h.Handle(ctx, next.jobs[0]); err != nil {
		t.Fatal(err)
	}
	got, err := store.GetImport(ctx, actor.WorkspaceID, im.ID)
	if err != nil || got.Status != inbox.ImportDone || got.Created != 201 {
		t.Fatalf("import = %+v, %v; want done with 201 created", got, err)
	}
	if !strings.Contains(objects[got.ReportKey()], "201,created,") {
		t.Errorf("report = %q", objects[got.ReportKey()])
	}
	if len(next.jobs) != 1 {
		t.Errorf("a finished import handed over again: %+v", next.jobs)
	}
}
