package dynamo

import (
	"context"
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/parley-inbox/parley/shared/inbox"
)

var _ inbox.RequestLog = (*Store)(nil)

// requestItem stores an inbox.RequestRecord until its TTL.
type requestItem struct {
	PK          string `json:"PK"`
	SK          string `json:"SK"`
	Fingerprint string `json:"fingerprint"`
	Status      int    `json:"status,omitempty"` // 0 while the first request runs
	Body        []byte `json:"body,omitempty"`
	ExpiresAt   int64  `json:"expiresAt"`
}

// IdempotencyTTL is how long a key is remembered.
const IdempotencyTTL = 24 * time.Hour

// ClaimRequest records that a request with this key hash has started. If
// one already did, it returns that record (Status 0: still running).
func (s *Store) ClaimRequest(ctx context.Context, ws, hash, fingerprint string) (*inbox.RequestRecord, error) {
	rec := requestItem{PK: idempotencyPK(ws, hash), SK: skIdempotency, Fingerprint: fingerprint,
		ExpiresAt: time.Now().Add(IdempotencyTTL).Unix()}
	item, err := marshal(rec)
	if err != nil {
		return nil, inbox.Internal(err)
	}
	out, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &s.table, Item: item,
		// An expired record TTL has not swept yet counts as absent.
		ConditionExpression:                 aws.String("attribute_not_exists(PK) OR expiresAt < :now"),
		ExpressionAttributeValues:           map[string]types.AttributeValue{":now": num(time.Now().Unix())},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		ReturnConsumedCapacity:              capacityMode(ctx),
	})
	if err == nil {
		record(ctx, writing, out.ConsumedCapacity)
		return nil, nil
	}
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) && ccf.Item != nil {
		var prev requestItem
		if err := unmarshal(ccf.Item, &prev); err != nil {
			return nil, inbox.Internal(err)
		}
		return &inbox.RequestRecord{Fingerprint: prev.Fingerprint, Status: prev.Status, Body: prev.Body}, nil
	}
	return nil, unavailable("ClaimRequest", err)
}

// CompleteRequest stores the response of a claimed request.
func (s *Store) CompleteRequest(ctx context.Context, ws, hash string, status int, body []byte) error {
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.table,
		Key:                       key(idempotencyPK(ws, hash), skIdempotency),
		UpdateExpression:          aws.String("SET #s = :s, #b = :b"),
		ExpressionAttributeNames:  map[string]string{"#s": "status", "#b": "body"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":s": num(int64(status)), ":b": &types.AttributeValueMemberB{Value: body}},
		ReturnConsumedCapacity:    capacityMode(ctx),
	})
	if err != nil {
		return unavailable("CompleteRequest", err)
	}
	record(ctx, writing, out.ConsumedCapacity)
	return nil
}

// ReleaseRequest forgets a claim whose request failed, so a retry can run.
func (s *Store) ReleaseRequest(ctx context.Context, ws, hash string) error {
	out, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: &s.table, Key: key(idempotencyPK(ws, hash), skIdempotency), ReturnConsumedCapacity: capacityMode(ctx),
	})
	if err != nil {
		return unavailable("ReleaseRequest", err)
	}
	record(ctx, writing, out.ConsumedCapacity)
	return nil
}
