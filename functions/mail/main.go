// Command mail is the Lambda behind the HTTP API's inbound email route
// (POST /webhooks/{workspaceId}/email): SNS posts SES receipt
// notifications, and the raw mail is read from the inbound bucket. It is
// apart from functions/webhooks so that neither the MIME parser nor S3
// read access sits in the function behind every other public route.
package main

import (
	"context"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/parley-inbox/parley/shared/adapter/awsenv"
	"github.com/parley-inbox/parley/shared/adapter/dynamo"
	"github.com/parley-inbox/parley/shared/adapter/objectstore"
	"github.com/parley-inbox/parley/shared/config"
	"github.com/parley-inbox/parley/shared/config/providers"
	"github.com/parley-inbox/parley/shared/handler/webhooks"
)

func main() {
	ctx := context.Background()
	cfg, awsCfg, log := awsenv.Boot(config.MailFromEnv)
	creds, err := providers.Fetch(ctx, secretsmanager.NewFromConfig(awsCfg), cfg.ProviderSecretsARN)
	config.Must(log, "provider secrets", err)

	// Filing mail pages through nothing: no cursor key.
	store := dynamo.New(dynamodb.NewFromConfig(awsCfg), cfg.TableName, nil)
	mail := webhooks.S3EmailIntake(objectstore.S3{Client: s3.NewFromConfig(awsCfg)}, &http.Client{Timeout: 5 * time.Second})
	h := webhooks.NewMail(store, mail, webhooks.Settings{Credentials: creds, PathToken: cfg.PathToken}, log)
	lambda.Start(httpadapter.NewV2(h.MailRoutes()).ProxyWithContext)
}
