package main

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/parley-inbox/parley/shared/adapter/dynamo"
)

// reports answers every transaction with what DynamoDB Local reported for
// two small items: 2 WRU.
type reports struct {
	dynamo.API
	units float64
}

func (r reports) TransactWriteItems(context.Context, *dynamodb.TransactWriteItemsInput, ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	return &dynamodb.TransactWriteItemsOutput{ConsumedCapacity: []types.ConsumedCapacity{{TableName: aws.String("bench"),
		CapacityUnits: aws.Float64(r.units), Table: &types.Capacity{CapacityUnits: aws.Float64(r.units)}}}}, nil
}

func TestTransactionsAreBilledPerItem(t *testing.T) {
	in := &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{}}, {Update: &types.Update{}}, {ConditionCheck: &types.ConditionCheck{}},
	}}
	for _, c := range []struct{ reported, want float64 }{{2, 4}, {6, 6}} {
		out, err := transactBilling{reports{units: c.reported}}.TransactWriteItems(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		if got := aws.ToFloat64(out.ConsumedCapacity[0].CapacityUnits); got != c.want {
			t.Errorf("reported %g WRU for a Put and an Update: billed %g, want %g", c.reported, got, c.want)
		}
	}
}
