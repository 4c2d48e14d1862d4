package dynamo_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/parley-inbox/parley/shared/adapter/dynamo"
	"github.com/parley-inbox/parley/shared/dev/dynamolocal"
	"github.com/parley-inbox/parley/shared/dev/dynamotest"
	"github.com/parley-inbox/parley/shared/inbox"
)

// A table made before the "lists" index (make dev keeps its data in .local/
// across restarts) gains it when EnsureTable runs again.
func TestEnsureTableAddsMissingIndexes(t *testing.T) {
	ctx := context.Background()
	client := dynamolocal.Client(dynamotest.Endpoint())
	table := fmt.Sprintf("parley-old-%d-%d", os.Getpid(), time.Now().UnixNano())
	t.Cleanup(func() { _, _ = client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: &table}) })

	var gsis []types.GlobalSecondaryIndex
	defs := []types.AttributeDefinition{
		{AttributeName: aws.String(dynamo.AttrPK), AttributeType: types.ScalarAttributeTypeS},
		{AttributeName: aws.String(dynamo.AttrSK), AttributeType: types.ScalarAttributeTypeS},
	}
	for _, ix := range dynamo.Schema.Indexes {
		if ix.Name == dynamo.IndexLists {
			continue
		}
		proj := &types.Projection{ProjectionType: types.ProjectionTypeAll}
		if ix.NonKeyAttributes != nil {
			proj = &types.Projection{ProjectionType: types.ProjectionTypeInclude, NonKeyAttributes: ix.NonKeyAttributes}
		}
		gsis = append(gsis, types.GlobalSecondaryIndex{IndexName: aws.String(ix.Name), Projection: proj, KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(ix.PartitionKey), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(ix.SortKey), KeyType: types.KeyTypeRange},
		}})
		defs = append(defs,
			types.AttributeDefinition{AttributeName: aws.String(ix.PartitionKey), AttributeType: types.ScalarAttributeTypeS},
			types.AttributeDefinition{AttributeName: aws.String(ix.SortKey), AttributeType: types.ScalarAttributeTypeS})
	}
	_, err := client.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName: &table, BillingMode: types.BillingModePayPerRequest, AttributeDefinitions: defs, GlobalSecondaryIndexes: gsis,
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(dynamo.AttrPK), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(dynamo.AttrSK), KeyType: types.KeyTypeRange},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	store := dynamo.New(client, table, []byte("secret"))
	ws := inbox.NewID(time.Now())
	task := newTask(ws, inbox.Unassigned)
	if err := store.PutTask(ctx, task); err != nil { // written before the index exists
		t.Fatal(err)
	}

	for range 2 { // and running it again changes nothing
		if err := dynamo.EnsureTable(ctx, client, table); err != nil {
			t.Fatal(err)
		}
	}
	desc, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &table})
	if err != nil {
		t.Fatal(err)
	}
	status := map[string]types.IndexStatus{}
	for _, g := range desc.Table.GlobalSecondaryIndexes {
		status[aws.ToString(g.IndexName)] = g.IndexStatus
	}
	for _, ix := range dynamo.Schema.Indexes {
		if status[ix.Name] != types.IndexStatusActive {
			t.Errorf("index %s: status %q, want ACTIVE", ix.Name, status[ix.Name])
		}
	}
	if len(status) != len(dynamo.Schema.Indexes) {
		t.Errorf("table has indexes %v, want %d", status, len(dynamo.Schema.Indexes))
	}
	// The new index is backfilled with the items written before it.
	page, err := store.ListTasks(ctx, ws, inbox.Unassigned, inbox.PageRequest{Limit: 10})
	if err != nil || len(page.Items) != 1 || page.Items[0].ID != task.ID {
		t.Fatalf("queue after adding the index: %+v, %v", page.Items, err)
	}
}

// A new table has every index of Schema.
func TestFreshTableHasEveryIndex(t *testing.T) {
	client, table := dynamotest.Table(t)
	desc, err := client.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: &table})
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, g := range desc.Table.GlobalSecondaryIndexes {
		have[aws.ToString(g.IndexName)] = true
	}
	for _, ix := range dynamo.Schema.Indexes {
		if !have[ix.Name] {
			t.Errorf("a new table lacks index %s", ix.Name)
		}
	}
}
