// Package meta adapts Meta's platforms (WhatsApp Cloud API, Messenger and
// Instagram messaging) to Parley: inbound, it checks webhook signatures,
// answers the subscription handshake and parses payloads into normalised
// types; outbound (send.go), it sends through the Graph API.
package meta

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/parley-inbox/parley/shared/inbox"
)

// VerifySignature reports whether header, the X-Hub-Signature-256 value
// "sha256=<hex>", is the HMAC-SHA256 of the raw body under appSecret. An
// empty secret never verifies, so a missing configuration fails closed.
func VerifySignature(appSecret string, body []byte, header string) bool {
	sig, ok := strings.CutPrefix(header, "sha256=")
	if !ok || appSecret == "" {
		return false
	}
	got, err := hex.DecodeString(sig)
	if err != nil || len(got) != sha256.Size {
		return false
	}
	mac := hmac.New(sha256.New, []byte(appSecret))
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}

// Challenge answers the GET Meta sends when a webhook is subscribed: it
// returns hub.challenge, to be echoed as a text/plain 200, when hub.mode is
// "subscribe" and hub.verify_token matches verifyToken.
func Challenge(query url.Values, verifyToken string) (string, bool) {
	if verifyToken == "" || query.Get("hub.mode") != "subscribe" {
		return "", false
	}
	if subtle.ConstantTimeCompare([]byte(query.Get("hub.verify_token")), []byte(verifyToken)) != 1 {
		return "", false
	}
	challenge := query.Get("hub.challenge")
	return challenge, challenge != ""
}

// Batch is everything one webhook delivery reported.
type Batch struct {
	Messages []inbox.Inbound
	Statuses []inbox.DeliveryUpdate
	// Reads are Messenger and Instagram read receipts, which name a time
	// rather than the messages read.
	Reads []inbox.ReadReceipt
	// Refused are messages from a known sender that cannot be filed as
	// sent; each is to be noted in its sender's thread.
	Refused []Refusal
	// Templates are message_template_status_update changes: a WhatsApp
	// template approved, rejected, paused or disabled.
	Templates []inbox.TemplateState
}

// Empty reports whether the delivery held nothing to file or note.
func (b Batch) Empty() bool {
	return len(b.Messages) == 0 && len(b.Statuses) == 0 && len(b.Reads) == 0 && len(b.Refused) == 0 && len(b.Templates) == 0
}

// Refusal is a message Parley cannot keep, with the reason, and as much of
// it (sender, provider id, channel) as names its thread.
type Refusal struct {
	Inbound inbox.Inbound
	Reason  string
}

// Parse turns a webhook body into a Batch for workspaceID. A body that is
// not Meta's JSON, or comes from an unsupported product, is a KindInvalid
// error with an empty Batch. Each entry, change and item is decoded on its
// own, so one odd item cannot sink the others: an item from a known sender
// becomes a Refusal; one that names no sender is left out and described,
// by its JSON path, in a KindInvalid error returned alongside the rest of
// the Batch. Callers should file what was parsed, log the error and still
// answer 200, because Meta would otherwise redeliver the same body for days.
func Parse(workspaceID string, body []byte) (Batch, error) {
	var env struct {
		Object string            `json:"object"`
		Entry  []json.RawMessage `json:"entry"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return Batch{}, inbox.JSONProblem(err, "")
	}
	p := &parser{workspace: workspaceID}
	var each func(entry, string)
	switch env.Object {
	case "whatsapp_business_account":
		each = p.whatsApp
	case "page":
		each = func(e entry, at string) { p.messaging(inbox.ChannelMessenger, e, at) }
	case "instagram":
		each = func(e entry, at string) { p.messaging(inbox.ChannelInstagram, e, at) }
	default:
		return Batch{}, inbox.Invalid("object", "unsupported webhook object %q", env.Object)
	}
	for i, raw := range env.Entry {
		at := fmt.Sprintf("entry[%d]", i)
		var e entry
		if err := json.Unmarshal(raw, &e); err != nil {
			p.problem(err, at)
			continue
		}
		each(e, at)
	}
	if len(p.problems) > 0 {
		return p.batch, inbox.Invalid("body", "skipped %d item(s): %s", len(p.problems), strings.Join(p.problems, "; "))
	}
	return p.batch, nil
}

// entry is one element of the top-level entry array. Items are kept raw and
// decoded one by one, so a single odd item cannot sink the whole delivery.
type entry struct {
	ID        string            `json:"id"`
	Changes   []json.RawMessage `json:"changes"`   // WhatsApp
	Messaging []json.RawMessage `json:"messaging"` // Messenger, Instagram
}

type change struct {
	Field string          `json:"field"`
	Value json.RawMessage `json:"value"`
}

type parser struct {
	workspace string
	batch     Batch
	problems  []string
}

func (p *parser) skip(format string, args ...any) {
	p.problems = append(p.problems, fmt.Sprintf(format, args...))
}

// problem records an item that could not be decoded, in the request's
// words (its JSON path and the type expected there).
func (p *parser) problem(err error, at string) {
	p.problems = append(p.problems, inbox.JSONProblem(err, at).Message)
}

func (p *parser) refuse(in inbox.Inbound, reason string) {
	p.batch.Refused = append(p.batch.Refused, Refusal{Inbound: in, Reason: reason})
}
