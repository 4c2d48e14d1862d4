package inbox

import "context"

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
func (s *Service) ApplyDelivery(ctx context.Context, u DeliveryUpdate) (*Message, error) {
	if u.WorkspaceID == "" || u.ProviderID == "" {
		return nil, Invalid("providerId", "the provider's message id is required")
	}
	ref, ok := ParseDeliveryRef(u.Ref)
	if !ok {
		var err error
		ref, err = s.Store.FindProviderRef(ctx, u.WorkspaceID, u.Channel, u.ProviderID)
		if IsKind(err, KindNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
	}
	var out *Message
	matched := false
	err := retryOnConflict(func() error {
		m, err := s.Store.GetMessage(ctx, u.WorkspaceID, ref.ConversationID, ref.MessageID)
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
		return s.Store.UpdateMessageStatus(ctx, m, prev)
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
