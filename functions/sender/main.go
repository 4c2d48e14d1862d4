// Command sender delivers outbound messages: new queued ones from the
// table stream, scheduled and deferred ones from EventBridge Scheduler.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/parley-inbox/parley/shared/adapter/awsenv"
	"github.com/parley-inbox/parley/shared/adapter/dynamo"
	"github.com/parley-inbox/parley/shared/adapter/meta"
	"github.com/parley-inbox/parley/shared/adapter/s3link"
	"github.com/parley-inbox/parley/shared/adapter/schedule"
	"github.com/parley-inbox/parley/shared/adapter/ses"
	"github.com/parley-inbox/parley/shared/adapter/twilio"
	"github.com/parley-inbox/parley/shared/config"
	"github.com/parley-inbox/parley/shared/config/providers"
	"github.com/parley-inbox/parley/shared/handler/sender"
	"github.com/parley-inbox/parley/shared/inbox"
)

func main() {
	ctx := context.Background()
	cfg, awsCfg, log := awsenv.Boot(config.SenderFromEnv)
	creds, err := providers.Fetch(ctx, secretsmanager.NewFromConfig(awsCfg), cfg.ProviderSecretsARN)
	config.Must(log, "provider secrets", err)

	// The sender pages no lists for clients, so its cursors need no secret.
	store := dynamo.New(dynamodb.NewFromConfig(awsCfg), cfg.TableName, nil)
	senders := sender.Providers{
		Twilio: &twilio.Sender{Accounts: creds.Twilio, StatusCallback: twilio.StatusCallbackURL(cfg.Webhook.BaseURL())},
		Email:  &ses.Sender{Client: sesv2.NewFromConfig(awsCfg), Mailboxes: creds.Mailbox, Domain: cfg.EmailDomain},
		Meta:   func(ch inbox.Channel) inbox.ChannelSender { return &meta.Sender{Channel: ch, Accounts: creds.Meta} },
	}.ByChannel()
	sched := &schedule.EventBridge{Client: scheduler.NewFromConfig(awsCfg), Group: cfg.Scheduling.Group,
		RoleARN: cfg.Scheduling.RoleARN, DeadLetterARN: cfg.Scheduling.DeadLetterARN} // target: this function
	h := sender.New(store, senders, sched, log)
	// Uploaded files: links for providers, bytes for emails, signed with
	// the core signer (no S3 client).
	h.Dispatch.UseMedia(s3link.Links{Credentials: awsCfg.Credentials, Region: awsCfg.Region, Bucket: cfg.MediaBucket})
	lambda.Start(h.Handle)
}
