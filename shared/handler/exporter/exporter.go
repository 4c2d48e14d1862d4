// Package exporter serves functions/exporter: it runs the background
// exports and contact imports the api starts (lambdainvoke.ExportJob
// events).
package exporter

import (
	"context"
	"log/slog"
	"time"

	"github.com/parley-inbox/parley/shared/adapter/lambdainvoke"
	"github.com/parley-inbox/parley/shared/inbox"
)

// Handler runs export and import jobs.
type Handler struct {
	Exports *inbox.Exports
	// Imports runs contact imports; nil where they are not set up.
	Imports *inbox.Imports
	// continueImport starts the next run of an import that spent its
	// run's budget.
	continueImport inbox.ImportRunner
	store          inbox.Store
	objects        inbox.ObjectStore
	log            *slog.Logger
}

// New builds functions/exporter's handler: exports read from store and
// written to objects. It starts no exports, so it has no runner.
func New(store inbox.Store, objects inbox.ObjectStore, log *slog.Logger) *Handler {
	return &Handler{Exports: inbox.NewExports(store, inbox.SystemClock{}, objects, nil), store: store, objects: objects, log: log}
}

// ImportRunBudget is one run of an import: under the function's 5-minute
// timeout (infra/exports.go), with room for the last checkpoint.
const ImportRunBudget = 4 * time.Minute

// WithImports lets the handler run contact imports: uploads read from
// files, reports written beside the exports, and a run that spent its
// budget continued through next (the function invoking itself).
func (h *Handler) WithImports(files inbox.ImportFiles, next inbox.ImportRunner) *Handler {
	h.Imports = inbox.NewImports(h.store, inbox.SystemClock{}, files, h.objects, nil)
	h.Imports.Budget = ImportRunBudget
	h.continueImport = next
	return h
}

// handleImport runs an import from its checkpoint, then hands over to a
// new invocation if rows are left.
func (h *Handler) handleImport(ctx context.Context, job lambdainvoke.ExportJob) error {
	if h.Imports == nil {
		h.log.Error("exporter: an import job, but imports are not set up", "workspace", job.WorkspaceID, "import", job.ImportID)
		return nil
	}
	im, more, err := h.Imports.RunImport(ctx, job.WorkspaceID, job.ImportID)
	if inbox.IsKind(err, inbox.KindNotFound) {
		h.log.Warn("exporter: import not found (expired?)", "workspace", job.WorkspaceID, "import", job.ImportID)
		return nil
	}
	if err != nil {
		h.log.Error("exporter: import failed; Lambda retries it from its checkpoint", "workspace", job.WorkspaceID, "import", job.ImportID, "err", err)
		return err
	}
	if more {
		h.log.Info("exporter: import continues in a new run", "import", im.ID, "rows", im.Rows)
		return h.continueImport.RunImportAsync(ctx, job.WorkspaceID, job.ImportID)
	}
	h.log.Info("exporter: import finished", "workspace", job.WorkspaceID, "import", im.ID, "status", im.Status, "rows", im.Rows)
	return nil
}

// Handle runs one job. An error makes Lambda retry the event; the run is
// idempotent (the same object key is rewritten, a done export is left
// alone). A malformed job is dropped with a log line: retrying cannot fix it.
func (h *Handler) Handle(ctx context.Context, job lambdainvoke.ExportJob) error {
	if job.WorkspaceID != "" && job.ExportID == "" && inbox.ValidID(job.ImportID) {
		return h.handleImport(ctx, job)
	}
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
