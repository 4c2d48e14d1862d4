// Command sender delivers outbound messages: new queued ones from the
// table stream, scheduled and deferred ones from EventBridge Scheduler.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/parley-inbox/parley/shared/adapter/awsenv"
	"github.com/parley-inbox/parley/shared/config"
	"github.com/parley-inbox/parley/shared/handler/sender"
)

func main() {
	cfg, awsCfg, log := awsenv.Boot(config.SenderFromEnv)
	h, err := sender.FromAWS(context.Background(), cfg, awsCfg, log)
	config.Must(log, "provider secrets", err)
	lambda.Start(h.Handle)
}
