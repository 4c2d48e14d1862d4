// Command integrations is the Lambda that delivers outbound webhooks to
// integrators: it reads the webhook queue (bus events from an EventBridge
// rule, retries waiting out their backoff, bulk replays' pages), posts
// signed requests, and logs every attempt in the table.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/parley-inbox/parley/shared/adapter/awsenv"
	"github.com/parley-inbox/parley/shared/config"
	"github.com/parley-inbox/parley/shared/handler/integrations"
)

func main() {
	cfg, awsCfg, log := awsenv.Boot(config.IntegrationsFromEnv)
	lambda.Start(integrations.FromAWS(cfg, awsCfg, log).Handle)
}
