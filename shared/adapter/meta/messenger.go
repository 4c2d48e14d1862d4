package meta

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/parley-inbox/parley/shared/inbox"
)

// fbEvent is one messaging event; Messenger and Instagram share the shape.
type fbEvent struct {
	Sender struct {
		ID string `json:"id"`
	} `json:"sender"`
	Recipient struct {
		ID string `json:"id"`
	} `json:"recipient"`
	Timestamp int64 `json:"timestamp"` // milliseconds
	Message   *struct {
		MID         string `json:"mid"`
		Text        string `json:"text"`
		IsEcho      bool   `json:"is_echo"`
		IsDeleted   bool   `json:"is_deleted"`
		Attachments []struct {
			Type    string `json:"type"`
			Payload struct {
				URL string `json:"url"`
			} `json:"payload"`
		} `json:"attachments"`
	} `json:"message"`
	Postback *struct {
		MID   string `json:"mid"`
		Title string `json:"title"`
	} `json:"postback"`
	Delivery *struct {
		MIDs      []string `json:"mids"`
		Watermark int64    `json:"watermark"`
	} `json:"delivery"`
	Read *struct {
		MID       string `json:"mid"` // Instagram names the message read
		Watermark int64  `json:"watermark"`
	} `json:"read"`
}

// attachmentTypes maps Messenger's coarse attachment types to media types;
// Meta does not say more, and the URL's file is what it is.
var attachmentTypes = map[string]string{
	"image": "image/*",
	"video": "video/*",
	"audio": "audio/*",
}

func (p *parser) messaging(ch inbox.Channel, e entry, at string) {
	for i, raw := range e.Messaging {
		at := fmt.Sprintf("%s.messaging[%d]", at, i)
		var ev fbEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			p.fbMalformed(ch, e, raw, at, err)
			continue
		}
		if ev.Sender.ID == "" {
			p.skip("%s: a %s event needs sender.id", at, ch)
			continue
		}
		if ev.Sender.ID == e.ID {
			continue // the page or account itself: our own sends
		}
		switch {
		case ev.Message != nil:
			p.fbMessage(ch, ev, at)
		case ev.Postback != nil && ev.Postback.MID != "":
			in := p.fbInbound(ch, ev, ev.Postback.MID)
			in.Body = ev.Postback.Title
			if in.Body == "" {
				in.Body = "[tapped a button]"
			}
			p.batch.Messages = append(p.batch.Messages, in)
		case ev.Delivery != nil:
			// Older clients send only a watermark; without mids there is
			// no message to update.
			for _, mid := range ev.Delivery.MIDs {
				p.fbStatus(ch, mid, inbox.MessageDelivered, millis(ev.Delivery.Watermark))
			}
		case ev.Read != nil && ev.Read.MID != "":
			p.fbStatus(ch, ev.Read.MID, inbox.MessageRead, millis(ev.Timestamp))
		case ev.Read != nil && ev.Read.Watermark > 0:
			p.batch.Reads = append(p.batch.Reads, inbox.ReadReceipt{
				WorkspaceID: p.workspace,
				Channel:     ch,
				Handle:      inbox.Handle(ch, ev.Sender.ID),
				Until:       millis(ev.Read.Watermark),
			})
		}
		// Reactions, edits, referrals and opt-ins carry no message of their own.
	}
}

// fbMalformed refuses, in the sender's thread, a message event that does
// not decode but still names its sender and mid; anything else can only be
// described.
func (p *parser) fbMalformed(ch inbox.Channel, e entry, raw json.RawMessage, at string, err error) {
	var ids struct {
		Sender struct {
			ID string `json:"id"`
		} `json:"sender"`
		Timestamp int64 `json:"timestamp"`
		Message   struct {
			MID    string `json:"mid"`
			IsEcho bool   `json:"is_echo"`
		} `json:"message"`
	}
	if json.Unmarshal(raw, &ids) == nil && ids.Sender.ID != "" && ids.Message.MID != "" {
		if ids.Sender.ID == e.ID || ids.Message.IsEcho {
			return // our own send
		}
		var ev fbEvent
		ev.Sender.ID, ev.Timestamp = ids.Sender.ID, ids.Timestamp
		p.refuse(p.fbInbound(ch, ev, ids.Message.MID), inbox.JSONProblem(err, at).Message)
		return
	}
	p.problem(err, at)
}

func (p *parser) fbMessage(ch inbox.Channel, ev fbEvent, at string) {
	m := ev.Message
	if m.IsEcho || m.IsDeleted {
		return // our own send, or an unsend of a message already filed
	}
	if m.MID == "" {
		p.skip("%s.message: a %s message needs a mid", at, ch)
		return
	}
	in := p.fbInbound(ch, ev, m.MID)
	in.Body = m.Text
	for _, a := range m.Attachments {
		// Templates and fallbacks have no file; only https links are kept
		// because the UI renders them.
		if !strings.HasPrefix(a.Payload.URL, "https://") {
			continue
		}
		contentType, ok := attachmentTypes[a.Type]
		if !ok {
			contentType = "application/octet-stream" // file, share, story_mention, reel
		}
		in.Attachments = append(in.Attachments, inbox.Attachment{URL: a.Payload.URL, ContentType: contentType})
	}
	if in.Body == "" && len(in.Attachments) == 0 {
		in.Body = "[unsupported message]"
	}
	p.batch.Messages = append(p.batch.Messages, in)
}

func (p *parser) fbInbound(ch inbox.Channel, ev fbEvent, mid string) inbox.Inbound {
	return inbox.Inbound{
		WorkspaceID: p.workspace,
		Channel:     ch,
		Kind:        inbox.KindMessage,
		ProviderID:  mid,
		From:        inbox.Correspondent{Handle: inbox.Handle(ch, ev.Sender.ID)}, // PSIDs and IGSIDs may collide across channels
		To:          ev.Recipient.ID,
		SentAt:      millis(ev.Timestamp),
	}
}

func (p *parser) fbStatus(ch inbox.Channel, mid string, status inbox.MessageStatus, at time.Time) {
	if mid == "" {
		return
	}
	p.batch.Statuses = append(p.batch.Statuses, inbox.DeliveryUpdate{
		WorkspaceID: p.workspace,
		Channel:     ch,
		ProviderID:  mid,
		Status:      status,
		At:          at,
	})
}

func millis(ms int64) time.Time {
	if ms <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}
