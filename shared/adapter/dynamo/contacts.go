package dynamo

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/parley-inbox/parley/shared/inbox"
)

type contactItem struct {
	PK     string `json:"PK"`
	SK     string `json:"SK"`
	GSI2PK string `json:"GSI2PK,omitempty"`
	GSI2SK string `json:"GSI2SK,omitempty"`
	inbox.Contact
}

// uniqueItem claims a value (phone, email, handle, label name) for one
// owner. Contact claims also name the contact's conversation.
type uniqueItem struct {
	PK             string `json:"PK"`
	SK             string `json:"SK"`
	Owner          string `json:"owner"`
	ConversationID string `json:"conversationId,omitempty"`
}

func contactRecord(c *inbox.Contact) contactItem {
	it := contactItem{PK: contactPK(c.WorkspaceID, c.ID), SK: skContact, Contact: *c}
	if it.Tags == nil {
		it.Tags = []string{} // a list, never NULL, so a single tag can be appended
	}
	if nk := inbox.NameKey(c.Name); nk != "" {
		it.GSI2PK = nameShardPK(c.WorkspaceID, nk)
		it.GSI2SK = nk + nameIDSeparator + c.ID
	}
	return it
}

// claim is a value a contact holds exclusively, and what to tell the caller
// when someone else holds it.
type claim struct {
	pk, field, value string
}

func contactClaims(c *inbox.Contact) []claim {
	var out []claim
	for _, p := range c.Phones {
		out = append(out, claim{pk: phonePK(c.WorkspaceID, p), field: "phones", value: p})
	}
	for _, e := range c.Emails {
		out = append(out, claim{pk: emailPK(c.WorkspaceID, e), field: "emails", value: e})
	}
	for _, h := range c.Handles {
		out = append(out, claim{pk: handlePK(c.WorkspaceID, h), field: "handles", value: h})
	}
	return out
}

func claimPut(table string, cl claim, owner, conversationID string) (types.TransactWriteItem, error) {
	item, err := marshal(uniqueItem{PK: cl.pk, SK: skUnique, Owner: owner, ConversationID: conversationID})
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	return types.TransactWriteItem{Put: &types.Put{
		TableName:           aws.String(table),
		Item:                item,
		ConditionExpression: aws.String("attribute_not_exists(PK)"),
	}}, nil
}

func claimDelete(table string, cl claim, owner string) types.TransactWriteItem {
	return types.TransactWriteItem{Delete: &types.Delete{
		TableName:                 aws.String(table),
		Key:                       key(cl.pk, skUnique),
		ConditionExpression:       aws.String("#o = :o"),
		ExpressionAttributeNames:  map[string]string{"#o": "owner"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":o": str(owner)},
	}}
}

func (s *Store) CreateContact(ctx context.Context, c *inbox.Contact) error {
	c.Version = 1
	item, err := marshal(contactRecord(c))
	if err != nil {
		return inbox.Internal(err)
	}
	items := []types.TransactWriteItem{{Put: &types.Put{
		TableName: &s.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(PK)"),
	}}}
	claims := contactClaims(c)
	for _, cl := range claims {
		put, err := claimPut(s.table, cl, c.ID, c.ConversationID)
		if err != nil {
			return inbox.Internal(err)
		}
		items = append(items, put)
	}
	if err := s.transact(ctx, items); err != nil {
		c.Version = 0
		return claimConflict(err, claims, 1)
	}
	return nil
}

// claimConflict turns a cancelled transaction into a message naming the
// value someone else holds. Claims start at transaction index offset.
func claimConflict(err error, claims []claim, offset int) error {
	for _, i := range cancelledAt(err) {
		if i >= offset && i-offset < len(claims) {
			cl := claims[i-offset]
			return &inbox.Error{Kind: inbox.KindConflict, Field: cl.field,
				Message: fmt.Sprintf("%s already belongs to another contact in this workspace", cl.value)}
		}
		if i == 0 {
			return inbox.ErrVersionConflict
		}
	}
	return unavailable("TransactWriteItems", err)
}

func (s *Store) UpdateContact(ctx context.Context, prev, next *inbox.Contact) error {
	next.Version = prev.Version + 1
	item, err := marshal(contactRecord(next))
	if err != nil {
		return inbox.Internal(err)
	}
	expr, err := expression.NewBuilder().WithCondition(expression.Name("version").Equal(expression.Value(prev.Version))).Build()
	if err != nil {
		return inbox.Internal(err)
	}
	put := &types.Put{TableName: &s.table, Item: item, ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values()}
	added, removed := diffClaims(contactClaims(prev), contactClaims(next))
	if len(added) == 0 && len(removed) == 0 {
		return s.putIf(ctx, "UpdateContact", item, expression.Name("version").Equal(expression.Value(prev.Version)))
	}
	items := []types.TransactWriteItem{{Put: put}}
	for _, cl := range added {
		p, err := claimPut(s.table, cl, next.ID, next.ConversationID)
		if err != nil {
			return inbox.Internal(err)
		}
		items = append(items, p)
	}
	for _, cl := range removed {
		items = append(items, claimDelete(s.table, cl, next.ID))
	}
	if err := s.transact(ctx, items); err != nil {
		return claimConflict(err, added, 1)
	}
	return nil
}

func diffClaims(prev, next []claim) (added, removed []claim) {
	has := func(list []claim, pk string) bool {
		for _, c := range list {
			if c.pk == pk {
				return true
			}
		}
		return false
	}
	for _, c := range next {
		if !has(prev, c.pk) {
			added = append(added, c)
		}
	}
	for _, c := range prev {
		if !has(next, c.pk) {
			removed = append(removed, c)
		}
	}
	return added, removed
}

func (s *Store) GetContact(ctx context.Context, ws, id string) (*inbox.Contact, error) {
	return s.getContactWithConsent(ctx, ws, id)
}

// domain fills what DynamoDB cannot keep: empty lists and maps.
func (it *contactItem) domain() *inbox.Contact {
	c := it.Contact
	c.Normalize()
	return &c
}

// FindCorrespondent routes an inbound sender with one eventually consistent read of
// its claim: the contact and, as a hint, the conversation.
func (s *Store) FindCorrespondent(ctx context.Context, ws string, from inbox.Correspondent) (contactID, conversationID string, err error) {
	pk, err := senderPK(ws, from)
	if err != nil {
		return "", "", err
	}
	var u uniqueItem
	ok, err := s.getItem(ctx, "FindCorrespondent", key(pk, skUnique), false, &u)
	if err != nil {
		return "", "", err
	}
	if !ok {
		return "", "", notFound("sender", pk)
	}
	return u.Owner, u.ConversationID, nil
}

func senderPK(ws string, from inbox.Correspondent) (string, error) {
	switch {
	case from.Phone != "":
		return phonePK(ws, from.Phone), nil
	case from.Email != "":
		return emailPK(ws, from.Email), nil
	case from.Handle != "":
		return handlePK(ws, from.Handle), nil
	}
	return "", inbox.Invalid("from", "the sender has no phone, email or handle")
}

func (s *Store) findByClaim(ctx context.Context, ws, pk, what, value string) (*inbox.Contact, error) {
	var u uniqueItem
	ok, err := s.getItem(ctx, "GetClaim", key(pk, skUnique), false, &u)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, notFound(what, value)
	}
	return s.GetContact(ctx, ws, u.Owner)
}

func (s *Store) FindContactByPhone(ctx context.Context, ws, e164 string) (*inbox.Contact, error) {
	return s.findByClaim(ctx, ws, phonePK(ws, e164), "contact with phone", e164)
}

func (s *Store) FindContactByEmail(ctx context.Context, ws, email string) (*inbox.Contact, error) {
	return s.findByClaim(ctx, ws, emailPK(ws, email), "contact with email", email)
}
