// Command webhooks is the Lambda behind the HTTP API's public provider
// routes (/webhooks/...) and the web chat widget's routes (/chat/...),
// all but inbound email, which is functions/mail's.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/parley-inbox/parley/shared/adapter/awsenv"
	"github.com/parley-inbox/parley/shared/adapter/dynamo"
	"github.com/parley-inbox/parley/shared/adapter/eventbus"
	"github.com/parley-inbox/parley/shared/adapter/secrets"
	"github.com/parley-inbox/parley/shared/adapter/ses"
	"github.com/parley-inbox/parley/shared/config"
	"github.com/parley-inbox/parley/shared/config/providers"
	"github.com/parley-inbox/parley/shared/handler/webhooks"
)

func main() {
	ctx := context.Background()
	cfg, awsCfg, log := awsenv.Boot(config.WebhooksFromEnv)
	sm := secretsmanager.NewFromConfig(awsCfg)
	key, err := secrets.Value(ctx, sm, cfg.CursorSecretARN)
	config.Must(log, "cursor secret", err)
	creds, err := providers.Fetch(ctx, sm, cfg.ProviderSecretsARN)
	config.Must(log, "provider secrets", err)

	store := dynamo.New(dynamodb.NewFromConfig(awsCfg), cfg.TableName, key)
	// Web chat visitors' email verification codes.
	codes := &ses.Sender{Client: sesv2.NewFromConfig(awsCfg), Mailboxes: creds.Mailbox, Domain: cfg.EmailDomain}
	events := &eventbus.EventBridge{Client: eventbridge.NewFromConfig(awsCfg), BusName: cfg.EventBusName}
	hooks := webhooks.New(store, codes, events, &webhooks.Chat{Key: key},
		webhooks.Settings{Credentials: creds, PublicURL: cfg.Webhook.PublicURL, PathToken: cfg.Webhook.PathToken, WebSocketURL: cfg.WebSocketURL}, log)
	lambda.Start(httpadapter.NewV2(hooks.Routes()).ProxyWithContext)
}
