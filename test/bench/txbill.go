package main

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/parley-inbox/parley/shared/adapter/dynamo"
)

// transactBilling corrects what DynamoDB Local reports for
// TransactWriteItems. DynamoDB bills every item of a transaction twice
// (2 WRU per KB of each item); DynamoDB Local counts items of the same
// size once: two 1 KB items report 2 WRU, not 4. The correction is a
// lower bound: each Put, Update or Delete item costs at least 2 WRU.
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
