package webhooks

import (
	"context"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"time"

	"github.com/parley-inbox/parley/shared/adapter/meta"
	"github.com/parley-inbox/parley/shared/adapter/twilio"
	"github.com/parley-inbox/parley/shared/inbox"
)

// emptyTwiML acknowledges a Twilio webhook without replying to the sender.
const emptyTwiML = `<?xml version="1.0" encoding="UTF-8"?><Response></Response>`

// twilioForm authenticates a Twilio webhook and returns its form fields.
func (h *Handler) twilioForm(r *http.Request) (string, url.Values, error) {
	creds, err := h.credentials(r)
	if err != nil {
		return "", nil, err
	}
	body, err := readBody(r, maxTwilioBody)
	if err != nil {
		return "", nil, err
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
		return "", nil, inbox.Invalid("", "Twilio webhooks are form posts")
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return "", nil, inbox.Invalid("", "the form body is malformed")
	}
	if !twilio.VerifySignature(creds.TwilioAuthToken, h.signedURL(r), form, r.Header.Get("X-Twilio-Signature")) {
		return "", nil, errSignature
	}
	return r.PathValue("workspaceId"), form, nil
}

func (h *Handler) twilioMessages(w http.ResponseWriter, r *http.Request) {
	ws, form, err := h.twilioForm(r)
	if err == nil {
		var in inbox.Inbound
		if in, err = twilio.ParseMessage(ws, form); err == nil {
			_, err = h.Intake.Ingest(r.Context(), in)
		}
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	_, _ = w.Write([]byte(emptyTwiML))
}

func (h *Handler) twilioStatus(w http.ResponseWriter, r *http.Request) {
	ws, form, err := h.twilioForm(r)
	if err == nil {
		var u inbox.DeliveryUpdate
		var track bool
		if u, track, err = twilio.ParseMessageStatus(ws, form); err == nil && track {
			u.At = time.Now().UTC()          // Twilio sends no event time
			u.Ref = r.URL.Query().Get("ref") // Parley put it in the callback URL
			_, err = h.Intake.ApplyDelivery(r.Context(), u)
		}
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) twilioCalls(w http.ResponseWriter, r *http.Request) {
	ws, form, err := h.twilioForm(r)
	if err == nil {
		var in inbox.Inbound
		var track bool
		if in, track, err = twilio.ParseCallStatus(ws, form); err == nil && track {
			_, err = h.Intake.Ingest(r.Context(), in)
		}
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) metaVerify(w http.ResponseWriter, r *http.Request) {
	creds, err := h.credentials(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	challenge, ok := meta.Challenge(r.URL.Query(), creds.MetaVerifyToken)
	if !ok {
		h.fail(w, r, errSignature)
		return
	}
	// Echo the challenge as plain text only, never as HTML.
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte(challenge))
}

func (h *Handler) metaEvents(w http.ResponseWriter, r *http.Request) {
	creds, err := h.credentials(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	body, err := readBody(r, maxMetaBody)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if !meta.VerifySignature(creds.MetaAppSecret, body, r.Header.Get("X-Hub-Signature-256")) {
		h.fail(w, r, errSignature)
		return
	}
	batch, perr := meta.Parse(r.PathValue("workspaceId"), body)
	if perr != nil && batch.Empty() {
		h.fail(w, r, perr)
		return
	}
	if perr != nil {
		// Some items named no sender: file the rest and say 200, or Meta
		// would resend a body that can never fully succeed.
		h.Log.WarnContext(r.Context(), "meta webhook: skipped items", "err", perr)
	}
	// A template status names its WhatsApp Business Account: only the
	// workspace's own (when it says which) may change its templates.
	kept := batch.Templates[:0]
	for _, st := range batch.Templates {
		if creds.WhatsAppBusinessAccountID == "" || st.AccountID == creds.WhatsAppBusinessAccountID {
			kept = append(kept, st)
		}
	}
	batch.Templates = kept
	if err := h.fileMeta(r.Context(), batch); err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("EVENT_RECEIVED"))
}

// fileMeta files each item of a delivery on its own: a message Parley
// cannot keep is refused in its sender's thread, and one bad item never
// keeps the others from being filed. Only a failure worth retrying (the
// store unavailable) fails the delivery, after every other item has been
// tried; Meta then redelivers and what was filed dedupes.
func (h *Handler) fileMeta(ctx context.Context, b meta.Batch) error {
	var retry error
	settle := func(what string, err error) {
		switch {
		case err == nil:
		case inbox.IsKind(err, inbox.KindInvalid):
			h.Log.WarnContext(ctx, "meta webhook: item refused", "item", what, "err", err)
		case retry == nil:
			retry = err
		}
	}
	for _, in := range b.Messages {
		_, err := h.Intake.Ingest(ctx, in)
		var e *inbox.Error
		if errors.As(err, &e) && e.Kind == inbox.KindInvalid {
			_, err = h.Intake.Refuse(ctx, in, e.Message)
		}
		settle(in.ProviderID, err)
	}
	for _, ref := range b.Refused {
		_, err := h.Intake.Refuse(ctx, ref.Inbound, ref.Reason)
		settle(ref.Inbound.ProviderID, err)
	}
	for _, u := range b.Statuses {
		_, err := h.Intake.ApplyDelivery(ctx, u)
		settle(u.ProviderID, err)
	}
	for _, rr := range b.Reads {
		_, err := h.Intake.ApplyRead(ctx, rr)
		settle(rr.Handle, err)
	}
	for _, st := range b.Templates {
		_, err := h.Intake.ApplyTemplateStatus(ctx, st)
		if inbox.IsKind(err, inbox.KindNotFound) {
			// A template made outside Parley: acknowledged, nothing to update.
			h.Log.InfoContext(ctx, "meta webhook: status of an unknown template", "template", st.Name, "language", st.Language)
			err = nil
		}
		settle(st.Name, err)
	}
	return retry
}
