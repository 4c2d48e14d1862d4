package api

import (
	"context"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/parley-inbox/parley/shared/adapter/dynamo"
	"github.com/parley-inbox/parley/shared/adapter/lambdainvoke"
	"github.com/parley-inbox/parley/shared/adapter/meta"
	"github.com/parley-inbox/parley/shared/adapter/s3link"
	"github.com/parley-inbox/parley/shared/adapter/schedule"
	"github.com/parley-inbox/parley/shared/adapter/secrets"
	"github.com/parley-inbox/parley/shared/adapter/stepfunctions"
	"github.com/parley-inbox/parley/shared/adapter/stripelink"
	"github.com/parley-inbox/parley/shared/adapter/webhookhttp"
	"github.com/parley-inbox/parley/shared/adapter/webhookqueue"
	"github.com/parley-inbox/parley/shared/auth"
	"github.com/parley-inbox/parley/shared/config"
	"github.com/parley-inbox/parley/shared/config/providers"
)

// FromAWS builds functions/api's handler on AWS's services: the table,
// EventBridge Scheduler (scheduled messages get their one-time schedule
// when posted), Step Functions (cancelling runs, finishing manual actions),
// Meta for WhatsApp templates, functions/exporter and S3 links for
// background exports and contact imports, and the webhook queue for
// replays. Only the cursor secret is read at cold start. Machine clients'
// tokens are accepted for the clients cfg lists.
func FromAWS(ctx context.Context, cfg config.API, awsCfg aws.Config, log *slog.Logger) (*API, error) {
	sm := secretsmanager.NewFromConfig(awsCfg)
	cursorKey, err := secrets.Value(ctx, sm, cfg.CursorSecretARN)
	if err != nil {
		return nil, err
	}
	store := dynamo.New(dynamodb.NewFromConfig(awsCfg), cfg.TableName, cursorKey)
	sched := &schedule.EventBridge{Client: scheduler.NewFromConfig(awsCfg), Group: cfg.Scheduling.Group,
		TargetARN: cfg.Scheduling.SenderFunctionARN, RoleARN: cfg.Scheduling.RoleARN, DeadLetterARN: cfg.Scheduling.DeadLetterARN}
	sequencer := stepfunctions.New(sfn.NewFromConfig(awsCfg), cfg.StateMachines.DripARN, cfg.StateMachines.AutomationARN)
	creds := &lazyCredentials{providers.Lazy{Fetch: func(ctx context.Context) (providers.Set, error) {
		return providers.Fetch(ctx, sm, cfg.ProviderSecretsARN)
	}}}
	// The exporter writes the file; the api only presigns its download.
	exporter := lambdainvoke.Exports{Credentials: awsCfg.Credentials, Region: awsCfg.Region, Function: cfg.Exports.ExporterFunction}
	exports := Exports{Objects: s3link.Links{Credentials: awsCfg.Credentials, Region: awsCfg.Region, Bucket: cfg.Exports.Bucket},
		Runner:    exporter,
		InlineMax: cfg.Exports.InlineMax}
	media := s3link.Links{Credentials: awsCfg.Credentials, Region: awsCfg.Region, Bucket: cfg.MediaBucket}
	machines := auth.MachineClients{}
	for _, c := range cfg.MachineClients {
		machines[c.ClientID] = auth.MachineClient{WorkspaceID: c.Workspace, Name: c.Name}
	}
	// Outbound webhooks: URLs are checked (resolved) here and posted to by
	// functions/integrations; replays go to its queue.
	hooks := WithIntegrations(&webhookhttp.Client{}, &webhookqueue.SQS{Client: webhookqueue.Signed{Credentials: awsCfg.Credentials, Region: awsCfg.Region}, QueueURL: cfg.WebhookQueueURL}, false)
	return New(store, sched, sequencer, exports, auth.APIGateway{Machines: machines}, log,
		WithTemplateRegistry(&meta.Templates{Accounts: creds.Meta}), WithMedia(media), hooks,
		WithPayments(&stripelink.Links{SecretKey: creds.StripeKey}),
		// Imports read the upload and run in functions/exporter.
		WithImports(media, exporter)), nil
}

// lazyCredentials reads the provider secret on the first template or
// payment request call, not at every cold start: only those need it.
type lazyCredentials struct{ providers.Lazy }

func (l *lazyCredentials) Meta(ws string) (meta.Account, error) {
	set, err := l.Load()
	if err != nil {
		return meta.Account{}, err
	}
	return set.Meta(ws)
}

func (l *lazyCredentials) StripeKey(ws string) (string, error) {
	set, err := l.Load()
	if err != nil {
		return "", err
	}
	return set.StripeKey(ws)
}
