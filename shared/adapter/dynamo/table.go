package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// TableAdmin is the part of the client that manages tables. Only local
// development and tests use it; in AWS the CDK stack owns the table.
type TableAdmin interface {
	DescribeTable(context.Context, *dynamodb.DescribeTableInput, ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	CreateTable(context.Context, *dynamodb.CreateTableInput, ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
	UpdateTable(context.Context, *dynamodb.UpdateTableInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateTableOutput, error)
	UpdateTimeToLive(context.Context, *dynamodb.UpdateTimeToLiveInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateTimeToLiveOutput, error)
}

func (ix Index) gsi() types.GlobalSecondaryIndex {
	proj := &types.Projection{ProjectionType: types.ProjectionTypeAll}
	if ix.NonKeyAttributes != nil {
		proj = &types.Projection{ProjectionType: types.ProjectionTypeInclude, NonKeyAttributes: ix.NonKeyAttributes}
	}
	return types.GlobalSecondaryIndex{
		IndexName: aws.String(ix.Name),
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(ix.PartitionKey), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(ix.SortKey), KeyType: types.KeyTypeRange},
		},
		Projection: proj,
	}
}

// attributeDefinitions lists every key attribute of the table and its indexes.
func (t TableSchema) attributeDefinitions() []types.AttributeDefinition {
	names := []string{t.PartitionKey, t.SortKey}
	for _, ix := range t.Indexes {
		names = append(names, ix.PartitionKey, ix.SortKey)
	}
	defs := make([]types.AttributeDefinition, 0, len(names))
	for _, n := range names {
		defs = append(defs, types.AttributeDefinition{AttributeName: aws.String(n), AttributeType: types.ScalarAttributeTypeS})
	}
	return defs
}

// EnsureTable creates the table from Schema, or adds the indexes an older
// table lacks, and waits until it is ACTIVE.
func EnsureTable(ctx context.Context, db TableAdmin, table string) error {
	desc, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &table})
	var missing *types.ResourceNotFoundException
	if errors.As(err, &missing) {
		return createTable(ctx, db, table)
	}
	if err != nil {
		return fmt.Errorf("describe table %s: %w", table, err)
	}
	have := map[string]bool{}
	for _, g := range desc.Table.GlobalSecondaryIndexes {
		have[aws.ToString(g.IndexName)] = true
	}
	for _, ix := range Schema.Indexes {
		if have[ix.Name] {
			continue
		}
		g := ix.gsi()
		_, err := db.UpdateTable(ctx, &dynamodb.UpdateTableInput{
			TableName:            &table,
			AttributeDefinitions: Schema.attributeDefinitions(),
			GlobalSecondaryIndexUpdates: []types.GlobalSecondaryIndexUpdate{{Create: &types.CreateGlobalSecondaryIndexAction{
				IndexName: g.IndexName, KeySchema: g.KeySchema, Projection: g.Projection,
			}}},
		})
		if err != nil {
			return fmt.Errorf("add index %s: %w", ix.Name, err)
		}
		if err := waitActive(ctx, db, table); err != nil {
			return err
		}
	}
	return nil
}

func createTable(ctx context.Context, db TableAdmin, table string) error {
	gsis := make([]types.GlobalSecondaryIndex, 0, len(Schema.Indexes))
	for _, ix := range Schema.Indexes {
		gsis = append(gsis, ix.gsi())
	}
	_, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            &table,
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: Schema.attributeDefinitions(),
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(Schema.PartitionKey), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(Schema.SortKey), KeyType: types.KeyTypeRange},
		},
		GlobalSecondaryIndexes: gsis,
		StreamSpecification:    &types.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: types.StreamViewTypeNewAndOldImages},
	})
	if err != nil {
		return fmt.Errorf("create table %s: %w", table, err)
	}
	if err := waitActive(ctx, db, table); err != nil {
		return err
	}
	_, err = db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName:               &table,
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(Schema.TTLAttribute), Enabled: aws.Bool(true)},
	})
	if err != nil {
		return fmt.Errorf("enable TTL on %s: %w", table, err)
	}
	return nil
}

func waitActive(ctx context.Context, db TableAdmin, table string) error {
	for i := 0; i < 300; i++ {
		out, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &table})
		if err == nil && out.Table.TableStatus == types.TableStatusActive {
			ready := true
			for _, g := range out.Table.GlobalSecondaryIndexes {
				ready = ready && g.IndexStatus == types.IndexStatusActive
			}
			if ready {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("table %s did not become active", table)
}
