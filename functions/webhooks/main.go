// Command webhooks is the Lambda behind the HTTP API's public provider
// routes (/webhooks/...) and the web chat widget's routes (/chat/...).
package main

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/parley-inbox/parley/shared/adapter/dynamo"
	"github.com/parley-inbox/parley/shared/adapter/eventbus"
	"github.com/parley-inbox/parley/shared/adapter/objectstore"
	"github.com/parley-inbox/parley/shared/adapter/secrets"
	"github.com/parley-inbox/parley/shared/config"
	"github.com/parley-inbox/parley/shared/config/providers"
	"github.com/parley-inbox/parley/shared/handler/webhooks"
	"github.com/parley-inbox/parley/shared/inbox"
)

func main() {
	ctx := context.Background()
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	cfg, err := config.WebhooksFromEnv()
	config.Must(log, "config", err)
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	config.Must(log, "aws config", err)
	sm := secretsmanager.NewFromConfig(awsCfg)
	key, err := secrets.Value(ctx, sm, cfg.CursorSecretARN)
	config.Must(log, "cursor secret", err)
	creds, err := providers.Fetch(ctx, sm, cfg.ProviderSecretsARN)
	config.Must(log, "provider secrets", err)

	hooks := &webhooks.Handler{
		Service: inbox.NewService(dynamo.New(dynamodb.NewFromConfig(awsCfg), cfg.TableName, key)), Credentials: creds, PublicURL: cfg.Webhook.PublicURL, PathToken: cfg.Webhook.PathToken, Log: log,
		Email:  webhooks.S3EmailIntake(objectstore.S3{Client: s3.NewFromConfig(awsCfg)}, &http.Client{Timeout: 5 * time.Second}),
		Chat:   &webhooks.Chat{Key: key},
		Events: &eventbus.EventBridge{Client: eventbridge.NewFromConfig(awsCfg), BusName: cfg.EventBusName},
	}
	lambda.Start(httpadapter.NewV2(hooks.Routes()).ProxyWithContext)
}
