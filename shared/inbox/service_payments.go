package inbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"
)

// Payments are the agents' payment requests: a link from the payment
// provider, sent as a message on the conversation's channel.
type Payments struct {
	desk     *Desk
	store    PaymentStore
	provider PaymentProvider
}

// NewPayments returns the payment request use cases; the link goes out
// through desk, as any message an agent posts.
func NewPayments(desk *Desk, store PaymentStore, provider PaymentProvider) *Payments {
	return &Payments{desk: desk, store: store, provider: provider}
}

// Request makes a payment link and sends it in the conversation. The
// message passes every check an agent's message does (channel, consent,
// reply window), before the link is made and again when it is posted; if
// the contact changed in between and it is refused, the link is
// deactivated. A refused request stores nothing. The same idempotency key
// makes the provider return the same link and the thread keep one message.
func (s *Payments) Request(ctx context.Context, actor Actor, conversationID string, in PaymentInput, idempotencyKey string) (*PaymentRequest, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	conv, err := s.desk.getConversation(ctx, actor, conversationID)
	if err != nil {
		return nil, err
	}
	now := s.desk.now()
	// Check the message first, with a stand-in link of a real one's length,
	// so a request that would be refused makes no link at all.
	if err := s.checkMessage(ctx, conv, in, now); err != nil {
		return nil, err
	}
	p := &PaymentRequest{ID: NewID(now), WorkspaceID: actor.WorkspaceID, ConversationID: conv.ID, ContactID: conv.ContactID,
		Amount: in.Amount, Currency: in.Currency, Description: in.Description, Status: PaymentRequested,
		CreatedBy: actor.UserID, CreatedAt: now, UpdatedAt: now}
	link := PaymentLink{RequestID: p.ID, WorkspaceID: p.WorkspaceID, ConversationID: p.ConversationID,
		Amount: p.Amount, Currency: p.Currency, Description: p.Description}
	messageKey := ""
	if idempotencyKey != "" {
		h := hashKey(actor, "payment\x00"+idempotencyKey)
		link.IdempotencyKey = "parley-" + hex.EncodeToString(h[:16])
		messageKey = "payment\x00" + idempotencyKey
	}
	if p.ProviderID, p.URL, err = s.provider.CreateLink(ctx, actor.WorkspaceID, link); err != nil {
		return nil, err
	}
	m, _, err := s.desk.PostMessage(ctx, actor, conv.ID, OutboundInput{Channel: in.Channel, Body: linkMessage(p.Description, p.Amount, p.Currency, p.URL)}, messageKey)
	if err != nil {
		// A link nobody was sent must not stay payable.
		if derr := s.provider.DeactivateLink(context.WithoutCancel(ctx), actor.WorkspaceID, p.ProviderID); derr != nil {
			return nil, fmt.Errorf("%w (and the payment link %s could not be deactivated: %v)", err, p.ProviderID, derr)
		}
		return nil, err
	}
	p.MessageID = m.ID
	if err := s.store.CreatePaymentRequest(ctx, p); err != nil {
		return nil, err
	}
	return p, nil
}

func linkMessage(description string, amount int64, currency, url string) string {
	return fmt.Sprintf("%s: %s. Pay here: %s", description, FormatAmount(amount, currency), url)
}

// checkMessage runs the checks PostMessage will run on the link's message.
func (s *Payments) checkMessage(ctx context.Context, conv *Conversation, in PaymentInput, now time.Time) error {
	settings, err := s.desk.settings(ctx, conv.WorkspaceID)
	if err != nil {
		return err
	}
	contact, err := s.desk.store.GetContact(ctx, conv.WorkspaceID, conv.ContactID)
	if err != nil {
		return err
	}
	const typicalLink = "https://buy.stripe.com/test_00000000000000000000"
	_, err = s.desk.prepareOutbound(ctx, conv, contact, settings,
		OutboundInput{Channel: in.Channel, Body: linkMessage(in.Description, in.Amount, in.Currency, typicalLink)}, now)
	return err
}

// ListRequests pages through a conversation's payment requests, newest first.
func (s *Payments) ListRequests(ctx context.Context, actor Actor, conversationID string, p PageRequest) (Page[*PaymentRequest], error) {
	if _, err := s.desk.getConversation(ctx, actor, conversationID); err != nil {
		return Page[*PaymentRequest]{}, err
	}
	if err := normalizePage(&p); err != nil {
		return Page[*PaymentRequest]{}, err
	}
	return s.store.ListPaymentRequests(ctx, actor.WorkspaceID, conversationID, p)
}

// GetRequest reads one payment request of a conversation.
func (s *Payments) GetRequest(ctx context.Context, actor Actor, conversationID, id string) (*PaymentRequest, error) {
	if !ValidID(conversationID) || !ValidID(id) {
		return nil, Errorf(KindNotFound, "payment request %q not found", id)
	}
	return s.store.GetPaymentRequest(ctx, actor.WorkspaceID, conversationID, id)
}

// CancelRequest deactivates a request's link so it can no longer be paid,
// and notes it in the thread. Canceling a canceled request changes nothing;
// a paid one cannot be canceled (409).
func (s *Payments) CancelRequest(ctx context.Context, actor Actor, conversationID, id string) (*PaymentRequest, error) {
	for range maxAttempts {
		p, err := s.GetRequest(ctx, actor, conversationID, id)
		if err != nil || p.Status == PaymentCanceled {
			return p, err
		}
		if p.Status != PaymentRequested {
			return nil, Errorf(KindConflict, "the payment request is %s; only a requested one can be canceled", p.Status)
		}
		if err := s.provider.DeactivateLink(ctx, actor.WorkspaceID, p.ProviderID); err != nil {
			return nil, err
		}
		now := s.desk.now()
		p.Status, p.CanceledAt, p.UpdatedAt = PaymentCanceled, &now, now
		err = s.store.UpdatePaymentRequest(ctx, p, PaymentRequested)
		if IsKind(err, KindConflict) {
			continue // paid or canceled meanwhile: read it again
		}
		if err != nil {
			return nil, err
		}
		note := fmt.Sprintf("Payment request for %s (%s) canceled", FormatAmount(p.Amount, p.Currency), p.Description)
		return p, s.desk.store.PutMessage(ctx, paymentNote(p, "canceled", note, actor.UserID, now))
	}
	return nil, ErrVersionConflict
}

// paymentNote is a request's activity in its thread; its id comes from the
// request and what happened, so a retry rewrites the same note.
func paymentNote(p *PaymentRequest, what, body, author string, at time.Time) *Message {
	id := hashKey(systemActor(p.WorkspaceID), "payment\x00"+what+"\x00"+p.ID).newID(at)
	return &Message{ID: id, WorkspaceID: p.WorkspaceID, ConversationID: p.ConversationID, ContactID: p.ContactID,
		Kind: KindActivity, Body: body, Attachments: []Attachment{}, Status: MessageReceived, AuthorID: author,
		CreatedAt: at, UpdatedAt: at}
}

// RecordPayment files a provider's word that a request was paid: the
// request marked paid (once: a conditional write), an activity in the
// thread, and the order.placed event that converts the contact's
// automations, returned for the caller to publish. A redelivery finds the
// request paid, rewrites nothing and returns the same event (same id, so
// consumers dedupe it), which also republishes one whose first publish
// failed. Money taken on a link canceled a moment before is still
// recorded: the payment happened.
func (s *Intake) RecordPayment(ctx context.Context, store PaymentStore, in PaymentReceived) (Event, error) {
	if !ValidID(in.ConversationID) || !ValidID(in.RequestID) {
		return Event{}, Invalid("", "the payment names no Parley payment request")
	}
	for range maxAttempts {
		p, err := store.GetPaymentRequest(ctx, in.WorkspaceID, in.ConversationID, in.RequestID)
		if err != nil {
			return Event{}, err
		}
		if p.ProviderID != in.LinkID {
			return Event{}, Invalid("", "the payment was made on another payment link than the request's")
		}
		if p.Status != PaymentPaid {
			prev := p.Status
			at := in.PaidAt.UTC().Truncate(time.Millisecond)
			p.Status, p.PaidAt, p.CheckoutID, p.UpdatedAt = PaymentPaid, &at, in.CheckoutID, s.now()
			err := store.UpdatePaymentRequest(ctx, p, prev)
			if IsKind(err, KindConflict) {
				continue
			}
			if err != nil {
				return Event{}, err
			}
		}
		note := fmt.Sprintf("Payment of %s received (%s)", FormatAmount(p.Amount, p.Currency), p.Description)
		if err := s.store.PutMessage(ctx, paymentNote(p, "paid", note, "", *p.PaidAt)); err != nil {
			return Event{}, err
		}
		sum := sha256.Sum256([]byte(p.WorkspaceID + "\x00payment\x00" + p.ID))
		return Event{ID: "pay-" + hex.EncodeToString(sum[:16]), Type: EventOrderPlaced, WorkspaceID: p.WorkspaceID,
			OccurredAt: *p.PaidAt, ContactID: p.ContactID, ConversationID: p.ConversationID, Reference: p.ID,
			Amount: p.Amount, Currency: p.Currency}, nil
	}
	return Event{}, ErrVersionConflict
}
