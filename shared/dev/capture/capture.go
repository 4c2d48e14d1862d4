// Package capture stands in for every outbound provider in make dev and the
// end-to-end tests: sends are recorded, not delivered.
package capture

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"slices"
	"sync"
	"time"

	"github.com/parley-inbox/parley/shared/inbox"
)

// keep is how many sends List returns per workspace.
const keep = 1000

// Sent is one recorded send.
type Sent struct {
	Channel        inbox.Channel      `json:"channel"`
	WorkspaceID    string             `json:"workspaceId"`
	MessageID      string             `json:"messageId"`
	ConversationID string             `json:"conversationId"`
	To             string             `json:"to"`
	Body           string             `json:"body"`
	Template       *inbox.Template    `json:"template,omitempty"`
	Attachments    []inbox.Attachment `json:"attachments"`
	HumanAgent     bool               `json:"humanAgent"`
	Ref            string             `json:"ref"`
	ProviderID     string             `json:"providerId"`
	At             time.Time          `json:"at"`
}

// Outbox records sends. The zero value is ready to use and safe for
// concurrent use.
type Outbox struct {
	mu    sync.Mutex
	sent  map[string][]Sent // by workspace, oldest first
	fails map[inbox.Channel]failure
}

type failure struct {
	err error
	n   int
}

// Sender returns the stand-in for ch's provider.
func (o *Outbox) Sender(ch inbox.Channel) inbox.ChannelSender { return channelSender{o, ch} }

// FailNext makes the next n sends on ch return err instead of being
// recorded, replacing any earlier FailNext for ch; n <= 0 clears it.
func (o *Outbox) FailNext(ch inbox.Channel, err error, n int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.fails == nil {
		o.fails = map[inbox.Channel]failure{}
	}
	if n <= 0 {
		delete(o.fails, ch)
		return
	}
	o.fails[ch] = failure{err, n}
}

// List returns a workspace's most recent sends, newest last.
func (o *Outbox) List(workspaceID string) []Sent {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.sent[workspaceID])
}

type channelSender struct {
	o  *Outbox
	ch inbox.Channel
}

func (s channelSender) Send(_ context.Context, out inbox.Outbound) (string, error) {
	o := s.o
	o.mu.Lock()
	defer o.mu.Unlock()
	if f, ok := o.fails[s.ch]; ok {
		if f.n--; f.n == 0 {
			delete(o.fails, s.ch)
		} else {
			o.fails[s.ch] = f
		}
		return "", f.err
	}
	rec := Sent{Channel: s.ch, WorkspaceID: out.WorkspaceID, To: out.To, HumanAgent: out.HumanAgent, Ref: out.Ref,
		ProviderID: fakeID(s.ch, out.Message), At: time.Now().UTC()}
	if m := out.Message; m != nil {
		// Copies, so later changes to the message do not rewrite history.
		rec.MessageID, rec.ConversationID, rec.Body = m.ID, m.ConversationID, m.Body
		rec.Attachments = slices.Clone(m.Attachments)
		if m.Template != nil {
			t := *m.Template
			t.Params = slices.Clone(t.Params)
			rec.Template = &t
		}
	}
	if o.sent == nil {
		o.sent = map[string][]Sent{}
	}
	list := append(o.sent[out.WorkspaceID], rec)
	if len(list) > keep {
		list = slices.Clone(list[len(list)-keep:]) // lets the dropped ones go
	}
	o.sent[out.WorkspaceID] = list
	return rec.ProviderID, nil
}

// fakeID is shaped like the provider's own ids, so code that parses or
// stores them meets realistic values.
func fakeID(ch inbox.Channel, m *inbox.Message) string {
	b := make([]byte, 24)
	rand.Read(b) // never fails
	switch ch {
	case inbox.ChannelSMS, inbox.ChannelMMS:
		return "SM" + hex.EncodeToString(b[:16])
	case inbox.ChannelWhatsApp:
		return "wamid." + base64.RawURLEncoding.EncodeToString(b)
	case inbox.ChannelMessenger, inbox.ChannelInstagram:
		return "m_" + base64.RawURLEncoding.EncodeToString(b)
	case inbox.ChannelEmail:
		return "<" + hex.EncodeToString(b[:16]) + "@capture.local>"
	case inbox.ChannelWebchat:
		if m != nil && m.ID != "" {
			return inbox.WebChatProviderID(m)
		}
		return "webchat-" + hex.EncodeToString(b[:16])
	}
	return string(ch) + "-" + hex.EncodeToString(b[:16])
}
