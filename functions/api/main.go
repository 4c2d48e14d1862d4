// Command api is the Lambda behind the HTTP API's SPA routes.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/parley-inbox/parley/shared/adapter/awsenv"
	"github.com/parley-inbox/parley/shared/config"
	"github.com/parley-inbox/parley/shared/handler/api"
)

func main() {
	cfg, awsCfg, log := awsenv.Boot(config.APIFromEnv)
	h, err := api.FromAWS(context.Background(), cfg, awsCfg, log)
	config.Must(log, "api", err)
	lambda.Start(h.LambdaHandler())
}
