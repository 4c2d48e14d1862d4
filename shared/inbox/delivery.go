package inbox

import (
	"context"
	"errors"
	"strings"
	"time"
)

// ProviderRef locates the message a provider id belongs to. The sender
// records one when a provider accepts a message; status callbacks use it.
type ProviderRef struct {
	ConversationID string
	MessageID      string
}

// statusRank orders delivery statuses; a report never moves a message back
// (providers deliver callbacks out of order).
var statusRank = map[MessageStatus]int{
	MessageQueued: 1, MessageScheduled: 1, MessageSending: 2, MessageSent: 3, MessageDelivered: 4, MessageRead: 5,
}

// CanAdvance reports whether a message may move from one status to another.
// Failed and canceled are final; failed can follow any in-flight status.
func CanAdvance(from, to MessageStatus) bool {
	switch from {
	case MessageFailed, MessageCanceled, MessageRead, MessageReceived, MessageDraft:
		return false
	}
	if to == MessageFailed {
		return true
	}
	return statusRank[to] > statusRank[from]
}

// TwilioOptedOutCode is Twilio's error for a recipient who replied STOP.
const TwilioOptedOutCode = "21610"

// ApplyDelivery records a provider's delivery report on the message it
// concerns. Reports for unknown ids (another system's sends) are ignored;
// stale ones are dropped.
func (s *Intake) ApplyDelivery(ctx context.Context, u DeliveryUpdate) (*Message, error) {
	if u.WorkspaceID == "" || u.ProviderID == "" {
		return nil, Invalid("providerId", "the provider's message id is required")
	}
	ref, ok := ParseDeliveryRef(u.Ref)
	if !ok {
		var err error
		ref, err = s.store.FindProviderRef(ctx, u.WorkspaceID, u.Channel, u.ProviderID)
		if IsKind(err, KindNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
	}
	var out *Message
	matched := false
	err := retryOnConflict(ctx, func() error {
		m, err := s.store.GetMessage(ctx, u.WorkspaceID, ref.ConversationID, ref.MessageID)
		if err != nil {
			return err
		}
		out = m
		if u.ProviderID != "" && m.ProviderID != "" && m.ProviderID != u.ProviderID {
			return nil // an echoed ref that does not match the message sent
		}
		matched = true
		if !CanAdvance(m.Status, u.Status) {
			return nil
		}
		prev := m.Status
		m.Status, m.UpdatedAt = u.Status, s.now()
		if u.Status == MessageFailed {
			m.Error = &DeliveryError{Code: u.ErrorCode, Reason: u.ErrorReason}
		}
		return s.store.UpdateMessageStatus(ctx, m, prev)
	})
	if err != nil {
		return nil, err
	}
	if matched && u.ErrorCode == TwilioOptedOutCode && out.ContactID != "" {
		// The carrier says the recipient opted out: record it, so nothing
		// automated is sent to them again.
		_, err = s.changeConsent(ctx, u.WorkspaceID, out.ContactID, ConsentRecord{Channel: ChannelSMS, Status: ConsentOptedOut,
			Source: ConsentSourceProvider, ChangedAt: u.At, MessageID: out.ID})
	}
	return out, err
}

// readReceiptPage bounds a read receipt's work: it looks at this many of
// the thread's newest entries (one Query), never the whole thread. Meta
// sends a receipt each time the contact reads, so older sends were covered
// by earlier receipts; a send older than the page stays as it was.
const readReceiptPage = 50

// ApplyRead marks read what was sent to the reader on the receipt's channel
// at or before its watermark. Statuses only move forward, so a receipt
// delivered again, late or out of order changes nothing more. Receipts
// from someone Parley has no thread with are ignored.
func (s *Intake) ApplyRead(ctx context.Context, r ReadReceipt) (int, error) {
	to, ok := strings.CutPrefix(r.Handle, string(r.Channel)+":")
	if r.WorkspaceID == "" || !r.Channel.Valid() || !ok || to == "" || r.Until.IsZero() {
		return 0, Invalid("read", "a read receipt needs a workspace, a channel, the reader and a time")
	}
	_, convID, err := s.store.FindCorrespondent(ctx, r.WorkspaceID, Correspondent{Handle: r.Handle})
	if IsKind(err, KindNotFound) || (err == nil && convID == "") {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	page, err := s.store.ListMessages(ctx, r.WorkspaceID, convID, PageRequest{Limit: readReceiptPage, Newest: true})
	if IsKind(err, KindNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	marked := 0
	for _, m := range page.Items {
		if m.Direction != DirectionOut || m.Kind != KindMessage || m.Channel != r.Channel || m.Recipient != to {
			continue
		}
		if sent := sentAt(m); sent.IsZero() || sent.After(r.Until) || !CanAdvance(m.Status, MessageRead) {
			continue
		}
		prev := m.Status
		m.Status, m.UpdatedAt = MessageRead, s.now()
		switch err := s.store.UpdateMessageStatus(ctx, m, prev); {
		case errors.Is(err, ErrVersionConflict):
			// Changed meanwhile (a delivery report, a failure): the next
			// receipt judges it afresh.
		case err != nil:
			return marked, err
		default:
			marked++
		}
	}
	return marked, nil
}

// sentAt is when a message went to its provider. Messages sent before
// SentAt was recorded fall back to their last update while still "sent",
// and otherwise count as unknown, so they are never marked read on a guess.
func sentAt(m *Message) time.Time {
	switch {
	case m.SentAt != nil:
		return *m.SentAt
	case m.Status == MessageSent:
		return m.UpdatedAt
	}
	return time.Time{}
}
