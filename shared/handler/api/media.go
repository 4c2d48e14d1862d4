package api

import (
	"net/http"
	"strconv"

	"github.com/parley-inbox/parley/shared/inbox"
)

// WithMedia lets agents upload attachments (presigned POST forms) and read
// them (presigned links). Without it those routes answer 503.
func WithMedia(m inbox.MediaStore) Option {
	return func(o *options) { o.media = m }
}

func (a *API) mediaRoutes() {
	a.handle("POST /uploads", a.createUpload)
	a.handle("GET /conversations/{conversationId}/messages/{messageId}/attachments/{index}", a.attachmentLink)
}

func (a *API) createUpload(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	var in inbox.UploadInput
	if err := decode(r, &in); err != nil {
		return err
	}
	up, err := a.svc.CreateUpload(r.Context(), actor, in)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, up)
	return nil
}

func (a *API) attachmentLink(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	n, err := strconv.Atoi(r.PathValue("index"))
	if err != nil || n < 0 || n > 99 {
		return inbox.Invalid("index", "index must be an attachment's position, from 0")
	}
	link, err := a.svc.AttachmentLink(r.Context(), actor, r.PathValue("conversationId"), r.PathValue("messageId"), n)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "private, no-store")
	writeJSON(w, http.StatusOK, link)
	return nil
}
