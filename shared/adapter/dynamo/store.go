// Package dynamo stores Parley's domain in one DynamoDB table (see Schema).
// Every key starts with the workspace id, every list is one Query per page,
// and invariants are enforced with conditional writes.
package dynamo

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/parley-inbox/parley/shared/inbox"
)

// API is the part of the DynamoDB client the store uses.
type API interface {
	GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(context.Context, *dynamodb.DeleteItemInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Query(context.Context, *dynamodb.QueryInput, ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	BatchGetItem(context.Context, *dynamodb.BatchGetItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	BatchWriteItem(context.Context, *dynamodb.BatchWriteItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
	TransactWriteItems(context.Context, *dynamodb.TransactWriteItemsInput, ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

// Store implements inbox.Store.
type Store struct {
	db      API
	table   string
	cursors cursorCodec
}

var _ inbox.Store = (*Store)(nil)

// New returns a store on the named table. cursorSecret signs pagination
// cursors so a client cannot forge one.
func New(db API, table string, cursorSecret []byte) *Store {
	return &Store{db: db, table: table, cursors: cursorCodec{secret: cursorSecret}}
}

// marshal and unmarshal use the json tags, so stored attribute names are
// the names the API shows.
func marshal(v any) (map[string]types.AttributeValue, error) {
	return attributevalue.MarshalMapWithOptions(v, func(o *attributevalue.EncoderOptions) { o.TagKey = "json" })
}

func unmarshal(item map[string]types.AttributeValue, v any) error {
	return attributevalue.UnmarshalMapWithOptions(item, v, func(o *attributevalue.DecoderOptions) { o.TagKey = "json" })
}

// MarshalItem and UnmarshalItem encode items the way the store does (json
// tags), for the local adapters that keep their own items in the table.
func MarshalItem(v any) (map[string]types.AttributeValue, error) { return marshal(v) }

func UnmarshalItem(item map[string]types.AttributeValue, v any) error { return unmarshal(item, v) }

// Key is an item's primary key.
func Key(pk, sk string) map[string]types.AttributeValue { return key(pk, sk) }

// S is a string attribute value.
func S(v string) types.AttributeValue { return str(v) }

func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		AttrPK: &types.AttributeValueMemberS{Value: pk},
		AttrSK: &types.AttributeValueMemberS{Value: sk},
	}
}

func str(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func num(n int64) types.AttributeValue { return &types.AttributeValueMemberN{Value: fmt.Sprint(n)} }

// unavailable wraps a DynamoDB failure. Throttling and timeouts become
// KindUnavailable (503, retry later); anything else is internal.
func unavailable(op string, err error) error {
	var throttled *types.ProvisionedThroughputExceededException
	var limit *types.RequestLimitExceeded
	if errors.As(err, &throttled) || errors.As(err, &limit) || errors.Is(err, context.DeadlineExceeded) {
		return &inbox.Error{Kind: inbox.KindUnavailable, Message: "the database is busy; retry shortly", Err: err}
	}
	if tooLarge(err) {
		return &inbox.Error{Kind: inbox.KindInvalid, Message: "this would make the record larger than the database's 400 KB item limit; remove some tags, handles or text", Err: err}
	}
	return inbox.Internal(fmt.Errorf("dynamodb %s: %w", op, err))
}

// tooLarge reports DynamoDB refusing an item past its 400 KB limit. The
// budgets of the domain keep new writes under it; records grown before
// those existed still get a 400 saying why rather than a 500.
func tooLarge(err error) bool {
	var api smithy.APIError
	return errors.As(err, &api) && api.ErrorCode() == "ValidationException" && strings.Contains(api.ErrorMessage(), "size has exceeded")
}

func isConditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}

// TransactionConditionFailed reports a transaction cancelled because one
// of its conditions failed (another writer got there first).
func TransactionConditionFailed(err error) bool { return len(cancelledAt(err)) > 0 }

// cancelledAt returns the indexes of transaction items whose condition failed.
func cancelledAt(err error) []int {
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) {
		return nil
	}
	var out []int
	for i, r := range tce.CancellationReasons {
		if aws.ToString(r.Code) == "ConditionalCheckFailed" {
			out = append(out, i)
		}
	}
	return out
}

// getItem reads one item; consistent reads back read-modify-write cycles.
func (s *Store) getItem(ctx context.Context, op string, k map[string]types.AttributeValue, consistent bool, v any) (bool, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:              &s.table,
		Key:                    k,
		ConsistentRead:         aws.Bool(consistent),
		ReturnConsumedCapacity: capacityMode(ctx),
	})
	if err != nil {
		return false, unavailable(op, err)
	}
	record(ctx, reading, out.ConsumedCapacity)
	if out.Item == nil {
		return false, nil
	}
	if err := unmarshal(out.Item, v); err != nil {
		return false, inbox.Internal(fmt.Errorf("decode %s: %w", op, err))
	}
	return true, nil
}

func (s *Store) transact(ctx context.Context, items []types.TransactWriteItem) error {
	out, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
		TransactItems:          items,
		ReturnConsumedCapacity: capacityMode(ctx),
	})
	if err == nil {
		recordAll(ctx, writing, out.ConsumedCapacity)
	}
	return err
}

func notFound(what, id string) error {
	return inbox.Errorf(inbox.KindNotFound, "%s %q not found", what, id)
}

// safeKeyPart keeps user-supplied values from forging key structure.
func safeKeyPart(s string) bool { return s != "" && !strings.ContainsAny(s, "#") }
