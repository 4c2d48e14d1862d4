package sender

import (
	"context"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/parley-inbox/parley/shared/adapter/dynamo"
	"github.com/parley-inbox/parley/shared/adapter/meta"
	"github.com/parley-inbox/parley/shared/adapter/s3link"
	"github.com/parley-inbox/parley/shared/adapter/schedule"
	"github.com/parley-inbox/parley/shared/adapter/ses"
	"github.com/parley-inbox/parley/shared/adapter/twilio"
	"github.com/parley-inbox/parley/shared/config"
	"github.com/parley-inbox/parley/shared/config/providers"
	"github.com/parley-inbox/parley/shared/inbox"
)

// FromAWS builds functions/sender's handler on AWS: the providers with the
// workspaces' credentials, the table, EventBridge Scheduler targeting this
// function, and the media bucket for uploaded files.
func FromAWS(ctx context.Context, cfg config.Sender, awsCfg aws.Config, log *slog.Logger) (*Handler, error) {
	creds, err := providers.Fetch(ctx, secretsmanager.NewFromConfig(awsCfg), cfg.ProviderSecretsARN)
	if err != nil {
		return nil, err
	}
	// The sender pages no lists for clients, so its cursors need no secret.
	store := dynamo.New(dynamodb.NewFromConfig(awsCfg), cfg.TableName, nil)
	senders := Providers{
		Twilio: &twilio.Sender{Accounts: creds.Twilio, StatusCallback: twilio.StatusCallbackURL(cfg.Webhook.BaseURL())},
		Email:  &ses.Sender{Client: sesv2.NewFromConfig(awsCfg), Mailboxes: creds.Mailbox, Domain: cfg.EmailDomain},
		Meta:   func(ch inbox.Channel) inbox.ChannelSender { return &meta.Sender{Channel: ch, Accounts: creds.Meta} },
	}.ByChannel()
	sched := &schedule.EventBridge{Client: scheduler.NewFromConfig(awsCfg), Group: cfg.Scheduling.Group,
		RoleARN: cfg.Scheduling.RoleARN, DeadLetterARN: cfg.Scheduling.DeadLetterARN} // target: this function
	h := New(store, senders, sched, log)
	// Uploaded files: links for providers, bytes for emails, signed with
	// the core signer (no S3 client).
	h.Dispatch.UseMedia(s3link.Links{Credentials: awsCfg.Credentials, Region: awsCfg.Region, Bucket: cfg.MediaBucket})
	return h, nil
}
