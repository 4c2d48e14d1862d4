package dynamo

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/parley-inbox/parley/shared/inbox"
)

// Consent lives in the contact's partition but in its own small items, so
// recording it never depends on the size of the contact item:
//
//	WS#w#CONTACT#c   #CONSENT#<channel>   current consent on a channel
//	WS#w#CONTACT#c   CONSENTLOG#<ulid>    history entry, append-only
//
// "#CONSENT#..." sorts just before "#CONTACT", so GetContact reads the
// contact and its consent in one Query of that key range, at the cost of
// the GetItem it replaces (one read unit up to 4 KB in all).
const (
	prefixConsent    = "#CONSENT#"
	prefixConsentLog = "CONSENTLOG#"
)

type consentItem struct {
	PK      string        `json:"PK"`
	SK      string        `json:"SK"`
	Channel inbox.Channel `json:"channel"`
	inbox.ChannelConsent
}

type consentLogItem struct {
	PK string `json:"PK"`
	SK string `json:"SK"`
	inbox.ConsentRecord
}

// RecordConsent writes the channel's consent and its history entry in one
// transaction (4 WRU), if the stored consent is still prev. Contacts are
// never deleted, and the caller has just read this one.
func (s *Store) RecordConsent(ctx context.Context, prev *inbox.ChannelConsent, r *inbox.ConsentRecord) error {
	pk := contactPK(r.WorkspaceID, r.ContactID)
	state, err := marshal(consentItem{PK: pk, SK: prefixConsent + string(r.Channel), Channel: r.Channel,
		ChannelConsent: inbox.ChannelConsent{Status: r.Status, ChangedAt: r.ChangedAt, Source: r.Source, ChangedBy: r.ChangedBy}})
	if err != nil {
		return inbox.Internal(err)
	}
	entry, err := marshal(consentLogItem{PK: pk, SK: prefixConsentLog + r.ID, ConsentRecord: *r})
	if err != nil {
		return inbox.Internal(err)
	}
	// prev may come from a contact written before consent had its own
	// items, which has no consent item yet.
	cond := expression.AttributeNotExists(expression.Name(AttrPK))
	if prev != nil {
		cond = cond.Or(expression.Name("status").Equal(expression.Value(prev.Status)).
			And(expression.Name("changedAt").Equal(expression.Value(prev.ChangedAt))))
	} else {
		cond = cond.And(expression.AttributeNotExists(expression.Name(AttrSK)))
	}
	expr, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return inbox.Internal(err)
	}
	err = s.transact(ctx, []types.TransactWriteItem{
		{Put: &types.Put{TableName: &s.table, Item: state, ConditionExpression: expr.Condition(),
			ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values()}},
		{Put: &types.Put{TableName: &s.table, Item: entry, ConditionExpression: aws.String("attribute_not_exists(PK)")}},
	})
	if len(cancelledAt(err)) > 0 {
		return inbox.ErrVersionConflict
	}
	if err != nil {
		return unavailable("RecordConsent", err)
	}
	return nil
}

// ListConsentHistory pages through a contact's consent records, newest first.
func (s *Store) ListConsentHistory(ctx context.Context, ws, contactID string, p inbox.PageRequest) (inbox.Page[*inbox.ConsentRecord], error) {
	var page inbox.Page[*inbox.ConsentRecord]
	items, next, err := s.queryPrefix(ctx, "ListConsentHistory", "consent:"+contactID, contactPK(ws, contactID), prefixConsentLog, false, p)
	if err != nil {
		return page, err
	}
	page.Items = make([]*inbox.ConsentRecord, 0, len(items))
	for _, item := range items {
		var it consentLogItem
		if err := unmarshal(item, &it); err != nil {
			return page, inbox.Internal(err)
		}
		r := it.ConsentRecord
		page.Items = append(page.Items, &r)
	}
	page.NextCursor = next
	return page, nil
}

// getContactWithConsent reads a contact item and its consent items in one
// Query. Consent items override the contact item's own copy, which only
// contacts written before consent had its own items rely on.
func (s *Store) getContactWithConsent(ctx context.Context, ws, id string) (*inbox.Contact, error) {
	pk := contactPK(ws, id)
	kc := expression.Key(AttrPK).Equal(expression.Value(pk)).And(expression.Key(AttrSK).Between(expression.Value(prefixConsent), expression.Value(skContact)))
	expr, err := expression.NewBuilder().WithKeyCondition(kc).Build()
	if err != nil {
		return nil, inbox.Internal(err)
	}
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName:                 &s.table,
		KeyConditionExpression:    expr.KeyCondition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		ConsistentRead:            aws.Bool(true),
		ReturnConsumedCapacity:    capacityMode(ctx),
	})
	if err != nil {
		return nil, unavailable("GetContact", err)
	}
	record(ctx, reading, out.ConsumedCapacity)
	var contact *inbox.Contact
	consent := map[inbox.Channel]inbox.ChannelConsent{}
	for _, item := range out.Items {
		switch sk := stringAttr(item, AttrSK); {
		case sk == skContact:
			var it contactItem
			if err := unmarshal(item, &it); err != nil {
				return nil, inbox.Internal(fmt.Errorf("decode GetContact: %w", err))
			}
			contact = it.domain()
		default:
			var it consentItem
			if err := unmarshal(item, &it); err != nil {
				return nil, inbox.Internal(fmt.Errorf("decode GetContact: %w", err))
			}
			consent[it.Channel] = it.ChannelConsent
		}
	}
	if contact == nil {
		return nil, notFound("contact", id)
	}
	for ch, cc := range consent {
		contact.Consent[ch] = cc
	}
	return contact, nil
}
