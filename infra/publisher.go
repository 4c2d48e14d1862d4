package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/parley-inbox/parley/shared/adapter/dynamo"
	"github.com/parley-inbox/parley/shared/config"
)

// Stream processing settings of the publisher function.
const (
	streamBatchSize     = 100
	streamRetryAttempts = 10
)

// newDomainEvents turns the table's stream into domain events: a bus of its
// own (CloudFormation names it, so stacks in one account do not collide)
// and the publisher function reading the stream in order.
//
// The handler reports the first failed record and every record after it
// (ReportBatchItemFailures), so Lambda retries from that record and order
// is kept. Bisecting would split batches the handler already splits
// precisely, so it is off. A record still failing after the retries, or
// older than a day (when the stream drops it anyway), is recorded in the
// DLQ: Lambda sends the shard and sequence range, not the record itself.
func newDomainEvents(scope constructs.Construct, assetsDir string, table awsdynamodb.Table) (awsevents.EventBus, awslambda.Function, awssqs.Queue) {
	bus := awsevents.NewEventBus(scope, jsii.String("EventBus"), nil)

	fn := newGoFunction(scope, "PublisherFunction", goFunction{
		// GOGC=800: 0.28× the CPU of GOGC=100 on a batch of 100 stream records (400: 0.33×);
		// decoding a batch allocates heavily.
		gogc:      "800",
		assetsDir: assetsDir,
		asset:     "publisher",
		// A batch is up to 100 records, each one PutEvents call at most.
		timeout: awscdk.Duration_Seconds(jsii.Number(30)),
		env: map[string]*string{
			config.EnvTableName:    table.TableName(),
			config.EnvEventBusName: bus.EventBusName(),
		},
	})
	// events:PutEvents on this bus's ARN only.
	bus.GrantPutEventsTo(fn, nil)
	// The change log for delta sync and the inbox counters, which it
	// journals before publishing: puts, and the counters' transaction of a
	// put and an update. It reads nothing but the stream.
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Effect:    awsiam.Effect_ALLOW,
		Actions:   jsii.Strings("dynamodb:PutItem", "dynamodb:UpdateItem"),
		Resources: jsii.Strings(*table.TableArn()),
	}))

	dlq := newDeadLetterQueue(scope, "PublisherStreamDLQ")
	// Binding the source also grants the stream read: DescribeStream,
	// GetRecords and GetShardIterator on the stream ARN, and ListStreams
	// (which has no resource) on "*"; and sqs:SendMessage on the DLQ.
	fn.AddEventSource(awslambdaeventsources.NewDynamoEventSource(table, &awslambdaeventsources.DynamoEventSourceProps{
		StartingPosition:        awslambda.StartingPosition_LATEST,
		BatchSize:               jsii.Number(streamBatchSize),
		BisectBatchOnError:      jsii.Bool(false),
		ReportBatchItemFailures: jsii.Bool(true),
		RetryAttempts:           jsii.Number(streamRetryAttempts),
		MaxRecordAge:            awscdk.Duration_Days(jsii.Number(1)),
		OnFailure:               awslambdaeventsources.NewSqsDlq(dlq),
		Filters:                 streamFilters([]map[string]any{publishedKeysFilter()}),
	}))
	return bus, fn, dlq
}

// publishedKeysFilter passes the records of the items that mean events or
// journal writes (dynamo.PublishedSortKeys), by sort key, so the journal's
// own writes, connections and counters never invoke the publisher.
func publishedKeysFilter() map[string]any {
	keys := []any{}
	for _, k := range dynamo.PublishedSortKeys.Exact {
		keys = append(keys, k)
	}
	for _, p := range dynamo.PublishedSortKeys.Prefixes {
		keys = append(keys, map[string]any{"prefix": p})
	}
	return map[string]any{"dynamodb": map[string]any{"Keys": map[string]any{dynamo.AttrSK: map[string]any{"S": keys}}}}
}
