// Command realtime serves the WebSocket API's routes ($connect,
// $disconnect, $default) and fans the bus's domain events out to the open
// connections, from an SQS queue the bus feeds.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/parley-inbox/parley/shared/adapter/apigw"
	"github.com/parley-inbox/parley/shared/adapter/awsenv"
	"github.com/parley-inbox/parley/shared/adapter/dynamo"
	"github.com/parley-inbox/parley/shared/config"
	"github.com/parley-inbox/parley/shared/handler/realtime"
)

func main() {
	cfg, awsCfg, log := awsenv.Boot(config.RealtimeFromEnv)
	// The function pages no lists, so its store needs no cursor secret.
	store := dynamo.New(dynamodb.NewFromConfig(awsCfg), cfg.TableName, nil)
	connections := apigw.Connections{Client: apigatewaymanagementapi.NewFromConfig(awsCfg, func(o *apigatewaymanagementapi.Options) {
		o.BaseEndpoint = &cfg.WebSocketEndpoint
	})}
	lambda.Start(realtime.New(store, connections, log).Handle)
}
