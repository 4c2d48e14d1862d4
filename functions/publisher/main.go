// Command publisher turns the table's stream into domain events on the
// EventBridge bus.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/parley-inbox/parley/shared/adapter/awsenv"
	"github.com/parley-inbox/parley/shared/adapter/dynamo"
	"github.com/parley-inbox/parley/shared/adapter/eventbus"
	"github.com/parley-inbox/parley/shared/config"
	"github.com/parley-inbox/parley/shared/handler/publisher"
)

func main() {
	cfg, awsCfg, log := awsenv.Boot(config.PublisherFromEnv)
	// The store pages no lists, so it needs no cursor secret.
	store := dynamo.New(dynamodb.NewFromConfig(awsCfg), cfg.TableName, nil)
	h := &publisher.Handler{Journal: store.Journal,
		Publisher: &eventbus.EventBridge{Client: eventbridge.NewFromConfig(awsCfg), BusName: cfg.EventBusName}, Log: log}
	lambda.Start(h.Handle)
}
