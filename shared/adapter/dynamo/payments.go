package dynamo

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/parley-inbox/parley/shared/inbox"
)

// A payment request lives in its conversation's partition, beside the
// messages: listing a thread's requests is one Query, and deleting the
// thread deletes them.
//
//	WS#w#CONV#v               PAY#p             payment request, p a ULID
const prefixPayment = "PAY#"

var _ inbox.PaymentStore = (*Store)(nil)

type paymentItem struct {
	PK string `json:"PK"`
	SK string `json:"SK"`
	inbox.PaymentRequest
}

func paymentRecord(p *inbox.PaymentRequest) paymentItem {
	return paymentItem{PK: conversationPK(p.WorkspaceID, p.ConversationID), SK: prefixPayment + p.ID, PaymentRequest: *p}
}

func (s *Store) CreatePaymentRequest(ctx context.Context, p *inbox.PaymentRequest) error {
	item, err := marshal(paymentRecord(p))
	if err != nil {
		return inbox.Internal(err)
	}
	err = s.putIf(ctx, "CreatePaymentRequest", item, expression.AttributeNotExists(expression.Name(AttrPK)))
	if inbox.IsKind(err, inbox.KindConflict) {
		return inbox.Errorf(inbox.KindConflict, "payment request %s already exists", p.ID)
	}
	return err
}

func (s *Store) GetPaymentRequest(ctx context.Context, ws, conversationID, id string) (*inbox.PaymentRequest, error) {
	var it paymentItem
	ok, err := s.getItem(ctx, "GetPaymentRequest", key(conversationPK(ws, conversationID), prefixPayment+id), true, &it)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, notFound("payment request", id)
	}
	return &it.PaymentRequest, nil
}

func (s *Store) UpdatePaymentRequest(ctx context.Context, p *inbox.PaymentRequest, prev inbox.PaymentStatus) error {
	item, err := marshal(paymentRecord(p))
	if err != nil {
		return inbox.Internal(err)
	}
	return s.putIf(ctx, "UpdatePaymentRequest", item, expression.Name("status").Equal(expression.Value(prev)))
}

func (s *Store) ListPaymentRequests(ctx context.Context, ws, conversationID string, p inbox.PageRequest) (inbox.Page[*inbox.PaymentRequest], error) {
	var page inbox.Page[*inbox.PaymentRequest]
	pk := conversationPK(ws, conversationID)
	items, next, err := s.queryPrefix(ctx, "ListPaymentRequests", "payments", pk, prefixPayment, false, p)
	if err != nil {
		return page, err
	}
	page.Items = make([]*inbox.PaymentRequest, 0, len(items))
	for _, item := range items {
		var it paymentItem
		if err := unmarshal(item, &it); err != nil {
			return page, inbox.Internal(err)
		}
		page.Items = append(page.Items, &it.PaymentRequest)
	}
	page.NextCursor = next
	return page, nil
}
