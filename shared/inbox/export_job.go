package inbox

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"time"

	"github.com/oklog/ulid/v2"
)

// Background exports: a range with more messages than the API answers
// inline becomes an export job. The job is recorded in the table, run
// asynchronously (in AWS, functions/exporter invoked by the api; locally,
// a goroutine), and writes its file to the object store under the
// workspace's prefix. GET /exports/{id} then hands out a short-lived link.

// ExportStatus is where a background export is.
type ExportStatus string

const (
	ExportPending ExportStatus = "pending"
	ExportDone    ExportStatus = "done"
	ExportFailed  ExportStatus = "failed"
)

// Export is a background export job.
type Export struct {
	ID             string `json:"id"`
	WorkspaceID    string `json:"workspaceId"`
	ConversationID string `json:"conversationId"`
	ExportRequest
	Status      ExportStatus `json:"status"`
	RequestedBy string       `json:"requestedBy"`
	// Messages is how many rows the file holds, once done.
	Messages int `json:"messages"`
	// Error says why a failed export failed, in words fit for the agent.
	Error string `json:"error,omitempty"`
	// DownloadURL is a short-lived link to the file, filled in on reads of
	// a done export; never stored.
	DownloadURL string     `json:"downloadUrl,omitempty"`
	URLExpires  *time.Time `json:"downloadUrlExpiresAt,omitempty"`
	CreatedAt   time.Time  `json:"createdAt"`
	UpdatedAt   time.Time  `json:"updatedAt"`
	// ExpiresAt is when the job record and its file are removed (table
	// TTL, bucket lifecycle).
	ExpiresAt time.Time `json:"retainedUntil"`
}

// ObjectKey is where the export's file lives: under the workspace's
// prefix, named by the job, so a retried run rewrites the same object.
func (e *Export) ObjectKey() string {
	return "exports/" + e.WorkspaceID + "/" + e.ID + "." + string(e.Format)
}

// ExportRetention is how long an export's record and file are kept.
const ExportRetention = 7 * 24 * time.Hour

// ExportAbandonedAfter is when a job still pending can no longer finish:
// Lambda keeps an asynchronous invocation at most 15 minutes and runs it
// at most three times, each at most 5 minutes (infra/exports.go). A job
// past it failed every run, and is shown as failed.
const ExportAbandonedAfter = 35 * time.Minute

// exportDedupeWindow is how long the same request by the same agent maps
// to the same job.
const exportDedupeWindow = 10 * time.Minute

// exportID names a job by its request: the window's start as the ULID's
// time and a hash of who asked for what as its entropy, so a repeat within
// the window finds the job already there.
func exportID(actor Actor, conversationID string, req ExportRequest, now time.Time) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%s\x00%s\x00%s\x00%s\x00%s\x00%s\x00%t", actor.WorkspaceID, actor.UserID, conversationID,
		req.Format, req.From.UTC().Format(time.RFC3339Nano), req.To.UTC().Format(time.RFC3339Nano), req.IncludeComments))
	var id ulid.ULID
	_ = id.SetTime(ulid.Timestamp(now.Truncate(exportDedupeWindow)))
	_ = id.SetEntropy(sum[:10])
	return id.String()
}

// ExportLinkTTL is how long a download link works.
const ExportLinkTTL = 15 * time.Minute

// ObjectStore writes files and issues links to read them.
type ObjectStore interface {
	// Put stores the bytes write produces at key, replacing any object
	// there. It streams: write gets a writer that is not held in memory.
	Put(ctx context.Context, key, contentType string, write func(io.Writer) error) error
	// PresignGet returns a URL that downloads key as an attachment named
	// filename until ttl passes.
	PresignGet(ctx context.Context, key, filename string, ttl time.Duration) (string, error)
}

// ExportRunner starts a background export's run, asynchronously.
type ExportRunner interface {
	RunExportAsync(ctx context.Context, workspaceID, exportID string) error
}

// Exports is the export use case of functions/api (start a background
// export, read one) and of functions/exporter (run one). The inline export
// is Desk.ExportConversation.
type Exports struct {
	core
	objects ObjectStore
	runner  ExportRunner
}

// NewExports returns the background export use cases. The exporter
// function runs jobs and starts none: it may pass a nil runner.
func NewExports(store Store, clock Clock, objects ObjectStore, runner ExportRunner) *Exports {
	return &Exports{core: newCore(store, clock), objects: objects, runner: runner}
}

// CountForExport counts the conversation's messages in req's range, up to
// max+1, after checking the request and that the conversation is the
// caller's.
func (s *Exports) CountForExport(ctx context.Context, actor Actor, conversationID string, req ExportRequest, max int) (int, error) {
	if err := req.Validate(); err != nil {
		return 0, err
	}
	c, err := s.getConversation(ctx, actor, conversationID)
	if err != nil {
		return 0, err
	}
	return s.store.CountMessageRange(ctx, c.WorkspaceID, c.ID, req.Range(), max)
}

// StartExport records a background export and starts its run.
func (s *Exports) StartExport(ctx context.Context, actor Actor, conversationID string, req ExportRequest) (*Export, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	c, err := s.getConversation(ctx, actor, conversationID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	e := &Export{ID: exportID(actor, c.ID, req, now), WorkspaceID: actor.WorkspaceID, ConversationID: c.ID, ExportRequest: req,
		Status: ExportPending, RequestedBy: actor.UserID, CreatedAt: now, UpdatedAt: now, ExpiresAt: now.Add(ExportRetention)}
	e.From, e.To = e.From.UTC(), e.To.UTC()
	created, err := s.store.CreateExport(ctx, e)
	if err != nil {
		return nil, err
	}
	if !created {
		// The same request a moment ago (a double click, a client retry):
		// its job, not a second run. A failed one is started afresh.
		prev, err := s.GetExport(ctx, actor, e.ID)
		if err != nil || prev.Status != ExportFailed {
			return prev, err
		}
		e.ID = NewID(now)
		if err := s.store.PutExport(ctx, e); err != nil {
			return nil, err
		}
	}
	if err := s.runner.RunExportAsync(ctx, e.WorkspaceID, e.ID); err != nil {
		// Never started: say so, rather than leave it pending for a week.
		_, _ = s.finishExport(ctx, e, 0, "the export could not be started; ask again")
		return nil, err
	}
	return e, nil
}

// GetExport returns one of the workspace's exports; a done one carries a
// fresh download link.
func (s *Exports) GetExport(ctx context.Context, actor Actor, id string) (*Export, error) {
	if !ValidID(id) {
		return nil, Errorf(KindNotFound, "export %q not found", id)
	}
	e, err := s.store.GetExport(ctx, actor.WorkspaceID, id)
	if err != nil {
		return nil, err
	}
	if e.Status == ExportPending && s.now().Sub(e.CreatedAt) > ExportAbandonedAfter {
		e.Status, e.Error = ExportFailed, "the export did not finish; start it again"
	}
	if e.Status == ExportDone {
		url, err := s.objects.PresignGet(ctx, e.ObjectKey(), ExportFilename(e.ConversationID, e.ExportRequest), ExportLinkTTL)
		if err != nil {
			return nil, err
		}
		expires := s.now().Add(ExportLinkTTL)
		e.DownloadURL, e.URLExpires = url, &expires
	}
	return e, nil
}

// RunExport writes a pending export's file and marks it done. It is
// idempotent: a retried run rewrites the same object, and a done export
// is left as it is. A conversation deleted meanwhile fails the export.
func (s *Exports) RunExport(ctx context.Context, workspaceID, id string) (*Export, error) {
	e, err := s.store.GetExport(ctx, workspaceID, id)
	if err != nil {
		return nil, err
	}
	if e.Status == ExportDone {
		return e, nil
	}
	c, err := s.getConversation(ctx, Actor{WorkspaceID: workspaceID, UserID: e.RequestedBy}, e.ConversationID)
	if IsKind(err, KindNotFound) {
		return s.finishExport(ctx, e, 0, "the conversation was deleted")
	}
	if err != nil {
		return nil, err
	}
	rows := 0
	err = s.objects.Put(ctx, e.ObjectKey(), e.Format.ContentType(), func(w io.Writer) error {
		n, err := s.writeExport(ctx, c, e.ExportRequest, w)
		rows = n
		return err
	})
	if err != nil {
		// Transient: the caller's retry (Lambda's async retries) runs it again.
		return nil, err
	}
	return s.finishExport(ctx, e, rows, "")
}

func (s *Exports) finishExport(ctx context.Context, e *Export, rows int, failure string) (*Export, error) {
	e.Status, e.Messages, e.Error, e.UpdatedAt = ExportDone, rows, "", s.now()
	if failure != "" {
		e.Status, e.Error = ExportFailed, failure
	}
	return e, s.store.PutExport(ctx, e)
}
