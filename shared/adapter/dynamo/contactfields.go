package dynamo

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/parley-inbox/parley/shared/inbox"
)

// skContactFields is the one item of a workspace's custom field
// definitions: at most 50, read whole when a contact's values are set.
const skContactFields = "#CONTACTFIELDS"

type contactFieldsItem struct {
	PK string `json:"PK"`
	SK string `json:"SK"`
	inbox.ContactFieldSet
}

var _ inbox.ContactFieldStore = (*Store)(nil)

func (s *Store) ContactFields(ctx context.Context, ws string) (*inbox.ContactFieldSet, error) {
	var it contactFieldsItem
	ok, err := s.getItem(ctx, "ContactFields", key(workspacePK(ws), skContactFields), true, &it)
	if err != nil {
		return nil, err
	}
	if !ok || it.Fields == nil {
		return &inbox.ContactFieldSet{Fields: []inbox.ContactField{}, Version: it.Version}, nil
	}
	return &it.ContactFieldSet, nil
}

func (s *Store) PutContactFields(ctx context.Context, ws string, set *inbox.ContactFieldSet, prev int64) error {
	item, err := marshal(contactFieldsItem{PK: workspacePK(ws), SK: skContactFields, ContactFieldSet: *set})
	if err != nil {
		return inbox.Internal(err)
	}
	cond := expression.AttributeNotExists(expression.Name(AttrPK))
	if prev > 0 {
		cond = expression.Name("version").Equal(expression.Value(prev))
	}
	expr, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return inbox.Internal(err)
	}
	out, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: item,
		ConditionExpression: expr.Condition(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
		ReturnConsumedCapacity: capacityMode(ctx)})
	if isConditionFailed(err) {
		return inbox.ErrVersionConflict
	}
	if err != nil {
		return unavailable("PutContactFields", err)
	}
	record(ctx, writing, out.ConsumedCapacity)
	return nil
}
