package dynamo_test

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/parley-inbox/parley/shared/adapter/dynamo"
	"github.com/parley-inbox/parley/shared/dev/inboxtest"
)

// transactBilling corrects DynamoDB Local's report of a transaction to
// what DynamoDB bills, at least 2 WRU per item (as test/bench does):
// Local counts items of the same size once.
type transactBilling struct{ dynamo.API }

func (c transactBilling) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	out, err := c.API.TransactWriteItems(ctx, in, opts...)
	if err != nil || len(out.ConsumedCapacity) == 0 {
		return out, err
	}
	writes := 0
	for _, it := range in.TransactItems {
		if it.Put != nil || it.Update != nil || it.Delete != nil {
			writes++
		}
	}
	cc := &out.ConsumedCapacity[0]
	table := aws.ToFloat64(cc.CapacityUnits)
	if cc.Table != nil && cc.Table.CapacityUnits != nil {
		table = *cc.Table.CapacityUnits
	}
	if billed := float64(2 * writes); billed > table {
		cc.CapacityUnits = aws.Float64(aws.ToFloat64(cc.CapacityUnits) + billed - table)
	}
	return out, nil
}

// billed returns the fixture's use cases on a store that reports
// transactions as DynamoDB bills them.
func (f *claimsFixture) billed() (*dynamo.Store, inboxtest.UseCases) {
	store := dynamo.New(transactBilling{API: f.client}, f.table, []byte("test-cursor-secret"))
	return store, inboxtest.New(store, inboxtest.Deps{})
}
