// Command integrations is the Lambda that delivers outbound webhooks to
// integrators: it reads the webhook queue (bus events from an EventBridge
// rule, retries waiting out their backoff, bulk replays' pages), posts
// signed requests, and logs every attempt in the table.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/parley-inbox/parley/shared/adapter/awsenv"
	"github.com/parley-inbox/parley/shared/adapter/dynamo"
	"github.com/parley-inbox/parley/shared/adapter/eventbus"
	"github.com/parley-inbox/parley/shared/adapter/ses"
	"github.com/parley-inbox/parley/shared/adapter/webhookhttp"
	"github.com/parley-inbox/parley/shared/adapter/webhookqueue"
	"github.com/parley-inbox/parley/shared/config"
	"github.com/parley-inbox/parley/shared/config/providers"
	"github.com/parley-inbox/parley/shared/handler/integrations"
)

func main() {
	ctx := context.Background()
	cfg, awsCfg, log := awsenv.Boot(config.IntegrationsFromEnv)
	// The workspaces' mailboxes: a disabled subscription is emailed to admins.
	creds, err := providers.Fetch(ctx, secretsmanager.NewFromConfig(awsCfg), cfg.ProviderSecretsARN)
	config.Must(log, "provider secrets", err)
	// No cursor secret: the only cursors it reads are its own bulk replays' pages.
	store := dynamo.New(dynamodb.NewFromConfig(awsCfg), cfg.TableName, nil)
	queue := &webhookqueue.SQS{Client: sqs.NewFromConfig(awsCfg), QueueURL: cfg.WebhookQueueURL}
	events := &eventbus.EventBridge{Client: eventbridge.NewFromConfig(awsCfg), BusName: cfg.EventBusName}
	email := &ses.Sender{Client: sesv2.NewFromConfig(awsCfg), Mailboxes: creds.Mailbox, Domain: cfg.EmailDomain}
	h := integrations.New(store, &webhookhttp.Client{}, queue, events, email, log)
	lambda.Start(h.Handle)
}
