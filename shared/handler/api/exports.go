package api

import (
	"bytes"
	"errors"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/parley-inbox/parley/shared/inbox"
)

// Exports is what the export routes need beside the store: where
// background exports write their files and how their runs start.
type Exports struct {
	Objects inbox.ObjectStore
	Runner  inbox.ExportRunner
	// InlineMax is the most messages GET .../export answers directly;
	// 0 is DefaultInlineMax.
	InlineMax int
}

// DefaultInlineMax keeps a direct export well inside API Gateway's limits:
// 1,000 messages are 5 Queries of 200 (well under a second, far from the
// 29 s timeout), and their file is under the byte cap below unless the
// messages are long emails, which then go to the background instead.
const DefaultInlineMax = 1000

// inlineMaxBytes caps a direct export's body: Lambda's response payload is
// 6 MB, and a body it must base64-encode grows by a third.
const inlineMaxBytes = 4 << 20

// errTooLarge is a direct export that outgrew inlineMaxBytes.
var errTooLarge = errors.New("export over the direct response's size")

// cappedBuffer refuses to grow past its cap.
type cappedBuffer struct {
	bytes.Buffer
	cap int
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > b.cap {
		return 0, errTooLarge
	}
	return b.Buffer.Write(p)
}

// exportRequest reads ?format=csv|html&from=&to=&comments=true.
func exportRequest(r *http.Request) (inbox.ExportRequest, error) {
	q := r.URL.Query()
	req := inbox.ExportRequest{Format: inbox.ExportFormat(q.Get("format"))}
	if req.Format == "" {
		req.Format = inbox.ExportCSV
	}
	for _, f := range []struct {
		name string
		t    *time.Time
	}{{"from", &req.From}, {"to", &req.To}} {
		s := q.Get(f.name)
		if s == "" {
			return req, inbox.Invalid(f.name, "%s is required: an RFC 3339 time", f.name)
		}
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return req, inbox.Invalid(f.name, "%s must be an RFC 3339 time such as 2026-11-02T00:00:00Z", f.name)
		}
		*f.t = t.UTC()
	}
	if s := q.Get("comments"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return req, inbox.Invalid("comments", "comments must be true or false")
		}
		req.IncludeComments = b
	}
	return req, req.Validate()
}

// exportConversation answers with the file when the range holds at most
// InlineMax messages (counted keys-only, stopping past InlineMax) and the
// file stays under inlineMaxBytes; otherwise it starts a background export
// and answers 202 with the job, whose Location GET /exports/{id} reads.
func (a *API) exportConversation(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	req, err := exportRequest(r)
	if err != nil {
		return err
	}
	id := r.PathValue("conversationId")
	n, err := a.exports.CountForExport(r.Context(), actor, id, req, a.inlineMax)
	if err != nil {
		return err
	}
	if n <= a.inlineMax {
		buf := &cappedBuffer{cap: inlineMaxBytes}
		err := a.svc.ExportConversation(r.Context(), actor, id, req, buf)
		if err == nil {
			w.Header().Set("Content-Type", req.Format.ContentType())
			w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": inbox.ExportFilename(id, req)}))
			w.Header().Set("Cache-Control", "no-store")
			w.Header().Set("X-Content-Type-Options", "nosniff")
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write(buf.Bytes())
			return nil
		}
		if !errors.Is(err, errTooLarge) {
			return err
		}
	}
	e, err := a.exports.StartExport(r.Context(), actor, id, req)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/exports/"+e.ID)
	writeJSON(w, http.StatusAccepted, e)
	return nil
}

func (a *API) getExport(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	e, err := a.exports.GetExport(r.Context(), actor, r.PathValue("exportId"))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, e)
	return nil
}
