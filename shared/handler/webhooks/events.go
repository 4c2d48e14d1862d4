package webhooks

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/parley-inbox/parley/shared/inbox"
)

// External events: a shop or another system posts orders, abandoned carts
// and list changes, which start and convert automations. The body is signed
// like Stripe's webhooks, so a leaked request cannot be replayed later:
//
//	X-Parley-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>
const (
	SignatureHeader    = "X-Parley-Signature"
	maxEventBody       = 16 << 10
	signatureTolerance = 5 * time.Minute
)

func eventMAC(secret, ts string, body []byte) []byte {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	return mac.Sum(nil)
}

// VerifyEventSignature checks the header against body at now. Several v1
// values may be given while a secret is rotated.
func VerifyEventSignature(secret, header string, body []byte, now time.Time) bool {
	if secret == "" {
		return false
	}
	var ts string
	var sigs [][]byte
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		switch {
		case !ok:
			return false
		case k == "t":
			ts = v
		case k == "v1":
			if sig, err := hex.DecodeString(v); err == nil {
				sigs = append(sigs, sig)
			}
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return false
	}
	if d := now.Sub(time.Unix(sec, 0)); d > signatureTolerance || d < -signatureTolerance {
		return false
	}
	want := eventMAC(secret, ts, body)
	for _, sig := range sigs {
		if hmac.Equal(sig, want) {
			return true
		}
	}
	return false
}

// ParseExternalEvent decodes an event body strictly: unknown fields are a
// mistake worth hearing about.
func ParseExternalEvent(body []byte) (inbox.ExternalEvent, error) {
	var in inbox.ExternalEvent
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return in, inbox.JSONProblem(err, "")
	}
	if dec.More() {
		return in, inbox.Invalid("", "the body holds more than one JSON value")
	}
	return in, nil
}

// externalEvent accepts one signed event and publishes it on the event bus
// (202): automations react to it from there, as to Parley's own events.
func (h *Handler) externalEvent(w http.ResponseWriter, r *http.Request) {
	creds, err := h.credentials(r)
	if err != nil || creds.EventsSigningSecret == "" || h.Events == nil {
		h.fail(w, r, errUnknown)
		return
	}
	body, err := readBody(r, maxEventBody)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if !VerifyEventSignature(creds.EventsSigningSecret, commaHeader(r, SignatureHeader), body, time.Now()) {
		h.fail(w, r, errSignature)
		return
	}
	in, err := ParseExternalEvent(body)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	e, err := h.Intake.AcceptExternalEvent(r.Context(), r.PathValue("workspaceId"), in)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if err := h.Events.Publish(r.Context(), []inbox.Event{e}); err != nil {
		h.fail(w, r, &inbox.Error{Kind: inbox.KindUnavailable, Message: "the event could not be published; retry", Err: err})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_ = json.NewEncoder(w).Encode(map[string]string{"id": e.ID, "type": string(e.Type), "contactId": e.ContactID})
}
