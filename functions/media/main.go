// Command media copies inbound messages' files from the providers (and
// inbound mail) into the media bucket, from an SQS queue the bus feeds
// with message.created events of inbound messages with attachments.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/parley-inbox/parley/shared/adapter/awsenv"
	"github.com/parley-inbox/parley/shared/config"
	"github.com/parley-inbox/parley/shared/handler/media"
)

func main() {
	cfg, awsCfg, log := awsenv.Boot(config.MediaFromEnv)
	lambda.Start(media.FromAWS(cfg, awsCfg, log).Queue)
}
