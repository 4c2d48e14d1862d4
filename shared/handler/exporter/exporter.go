// Package exporter serves functions/exporter: it runs the background
// exports the api starts (lambdainvoke.ExportJob events).
package exporter

import (
	"context"
	"log/slog"

	"github.com/parley-inbox/parley/shared/adapter/lambdainvoke"
	"github.com/parley-inbox/parley/shared/inbox"
)

// Handler runs export jobs.
type Handler struct {
	Exports *inbox.Exports
	log     *slog.Logger
}

// New builds functions/exporter's handler: exports read from store and
// written to objects. It starts no exports, so it has no runner.
func New(store inbox.Store, objects inbox.ObjectStore, log *slog.Logger) *Handler {
	return &Handler{Exports: inbox.NewExports(store, inbox.SystemClock{}, objects, nil), log: log}
}

// Handle runs one job. An error makes Lambda retry the event; the run is
// idempotent (the same object key is rewritten, a done export is left
// alone). A malformed job is dropped with a log line: retrying cannot fix it.
func (h *Handler) Handle(ctx context.Context, job lambdainvoke.ExportJob) error {
	if job.WorkspaceID == "" || !inbox.ValidID(job.ExportID) {
		h.log.Error("exporter: malformed job dropped", "workspace", job.WorkspaceID, "export", job.ExportID)
		return nil
	}
	e, err := h.Exports.RunExport(ctx, job.WorkspaceID, job.ExportID)
	if inbox.IsKind(err, inbox.KindNotFound) {
		h.log.Warn("exporter: export not found (expired?)", "workspace", job.WorkspaceID, "export", job.ExportID)
		return nil
	}
	if err != nil {
		h.log.Error("exporter: export failed; Lambda retries it", "workspace", job.WorkspaceID, "export", job.ExportID, "err", err)
		return err
	}
	h.log.Info("exporter: export written", "workspace", job.WorkspaceID, "export", e.ID, "status", e.Status, "messages", e.Messages)
	return nil
}
