package integrations

import (
	"context"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/parley-inbox/parley/shared/adapter/dynamo"
	"github.com/parley-inbox/parley/shared/adapter/eventbus"
	"github.com/parley-inbox/parley/shared/adapter/ses"
	"github.com/parley-inbox/parley/shared/adapter/webhookhttp"
	"github.com/parley-inbox/parley/shared/adapter/webhookqueue"
	"github.com/parley-inbox/parley/shared/config"
	"github.com/parley-inbox/parley/shared/config/providers"
	"github.com/parley-inbox/parley/shared/inbox"
)

// FromAWS builds functions/integrations' handler on AWS's services. Cold
// start reads nothing: the provider secret (the workspaces' mailboxes) is
// read the first time an admin must be emailed, which is rare.
func FromAWS(cfg config.Integrations, awsCfg aws.Config, log *slog.Logger) *Handler {
	// No cursor secret: the only cursors it reads are its own bulk
	// replays' pages, which travel on its own queue.
	store := dynamo.New(dynamodb.NewFromConfig(awsCfg), cfg.TableName, nil)
	queue := &webhookqueue.SQS{Client: webhookqueue.Signed{Credentials: awsCfg.Credentials, Region: awsCfg.Region}, QueueURL: cfg.WebhookQueueURL}
	events := &eventbus.EventBridge{Client: eventbridge.NewFromConfig(awsCfg), BusName: cfg.EventBusName}
	sm := secretsmanager.NewFromConfig(awsCfg)
	mailboxes := &lazyMailboxes{providers.Lazy{Fetch: func(ctx context.Context) (providers.Set, error) {
		return providers.Fetch(ctx, sm, cfg.ProviderSecretsARN)
	}}}
	email := &ses.Sender{Client: sesv2.NewFromConfig(awsCfg), Mailboxes: mailboxes.Mailbox, Domain: cfg.EmailDomain}
	return New(store, &webhookhttp.Client{}, queue, events, email, log)
}

// lazyMailboxes reads the provider secret once, when first needed.
type lazyMailboxes struct{ providers.Lazy }

func (l *lazyMailboxes) Mailbox(ws string) (providers.Mailbox, error) {
	set, err := l.Load()
	if err != nil {
		return providers.Mailbox{}, &inbox.SendError{Code: "unavailable", Reason: "the provider secret could not be read", Retryable: true}
	}
	return set.Mailbox(ws)
}
