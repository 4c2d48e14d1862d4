// Command api is the Lambda behind the HTTP API's SPA routes.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/parley-inbox/parley/shared/adapter/awsenv"
	"github.com/parley-inbox/parley/shared/adapter/dynamo"
	"github.com/parley-inbox/parley/shared/adapter/lambdainvoke"
	"github.com/parley-inbox/parley/shared/adapter/meta"
	"github.com/parley-inbox/parley/shared/adapter/s3link"
	"github.com/parley-inbox/parley/shared/adapter/schedule"
	"github.com/parley-inbox/parley/shared/adapter/secrets"
	"github.com/parley-inbox/parley/shared/adapter/stepfunctions"
	"github.com/parley-inbox/parley/shared/auth"
	"github.com/parley-inbox/parley/shared/config"
	"github.com/parley-inbox/parley/shared/config/providers"
	"github.com/parley-inbox/parley/shared/handler/api"
)

func main() {
	ctx := context.Background()
	cfg, awsCfg, log := awsenv.Boot(config.APIFromEnv)
	sm := secretsmanager.NewFromConfig(awsCfg)
	cursorKey, err := secrets.Value(ctx, sm, cfg.CursorSecretARN)
	config.Must(log, "cursor secret", err)
	creds, err := providers.Fetch(ctx, sm, cfg.ProviderSecretsARN)
	config.Must(log, "provider secrets", err)

	store := dynamo.New(dynamodb.NewFromConfig(awsCfg), cfg.TableName, cursorKey)
	// Scheduled messages get their one-time schedule when posted.
	sched := &schedule.EventBridge{Client: scheduler.NewFromConfig(awsCfg), Group: cfg.Scheduling.Group,
		TargetARN: cfg.Scheduling.SenderFunctionARN, RoleARN: cfg.Scheduling.RoleARN, DeadLetterARN: cfg.Scheduling.DeadLetterARN}
	// Cancelling runs and finishing manual actions.
	sequencer := stepfunctions.New(sfn.NewFromConfig(awsCfg), cfg.StateMachines.DripARN, cfg.StateMachines.AutomationARN)
	// WhatsApp templates are submitted to each workspace's Business Account.
	templates := &meta.Templates{Accounts: creds.Meta}
	// Background exports: functions/exporter writes the file; the api only
	// presigns its download.
	exports := api.Exports{Objects: s3link.Links{Credentials: awsCfg.Credentials, Region: awsCfg.Region, Bucket: cfg.Exports.Bucket},
		Runner:    lambdainvoke.Exports{Credentials: awsCfg.Credentials, Region: awsCfg.Region, Function: cfg.Exports.ExporterFunction},
		InlineMax: cfg.Exports.InlineMax}
	lambda.Start(api.New(store, sched, sequencer, exports, auth.APIGateway{}, log, api.WithTemplateRegistry(templates)).LambdaHandler())
}
