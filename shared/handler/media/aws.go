package media

import (
	"context"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/parley-inbox/parley/shared/adapter/dynamo"
	"github.com/parley-inbox/parley/shared/adapter/email"
	"github.com/parley-inbox/parley/shared/adapter/meta"
	"github.com/parley-inbox/parley/shared/adapter/objectstore"
	"github.com/parley-inbox/parley/shared/adapter/twilio"
	"github.com/parley-inbox/parley/shared/config"
	"github.com/parley-inbox/parley/shared/config/providers"
	"github.com/parley-inbox/parley/shared/inbox"
)

// FromAWS builds functions/media's handler: the table, the media bucket,
// the inbound mail bucket, and the provider secret, read on the first
// file that needs it (an email's files need none).
func FromAWS(cfg config.Media, awsCfg aws.Config, log *slog.Logger) *Handler {
	sm := secretsmanager.NewFromConfig(awsCfg)
	creds := &lazyCredentials{providers.Lazy{Fetch: func(ctx context.Context) (providers.Set, error) {
		return providers.Fetch(ctx, sm, cfg.ProviderSecretsARN)
	}}}
	s3c := s3.NewFromConfig(awsCfg)
	// The function pages no lists: no cursor key.
	store := dynamo.New(dynamodb.NewFromConfig(awsCfg), cfg.TableName, nil)
	objects := objectstore.NewFiles(s3c, cfg.MediaBucket)
	mail := Mail{Objects: objectstore.S3{Client: s3c}, Bucket: cfg.MailBucket, KeyPrefix: mailKeyPrefix}
	return New(inbox.NewMediaCopy(store, inbox.SystemClock{}, objects, Sources(creds, mail, Bases{})), log)
}

// mailKeyPrefix is where SES stores a workspace's mail (infra's receipt
// rules, and webhooks.S3EmailIntake's check).
func mailKeyPrefix(ws string) string { return "inbound/" + ws + "/" }

// Mail is where inbound email is kept, for its files.
type Mail struct {
	Objects email.RawMail
	Bucket  string
	// KeyPrefix, when set, confines a workspace's reads to its mail.
	KeyPrefix func(workspaceID string) string
}

// Credentials are the provider accounts the sources fetch with.
type Credentials interface {
	TwilioMedia(ws string) (twilio.Account, error)
	Meta(ws string) (meta.Account, error)
}

// Bases replace the providers' addresses ("" for the real ones): the
// local stack points them at its stand-ins.
type Bases struct {
	Twilio string // for https://api.twilio.com
	Graph  string // for https://graph.facebook.com/<version>
	CDN    string // for Meta's CDN hosts (Messenger, Instagram)
}

// Sources are the media sources per channel.
func Sources(creds Credentials, mail Mail, b Bases) map[inbox.Channel]inbox.MediaSource {
	m := &meta.MediaSource{Accounts: creds.Meta, BaseURL: b.Graph, CDNBaseURL: b.CDN}
	return map[inbox.Channel]inbox.MediaSource{
		inbox.ChannelMMS:       &twilio.MediaSource{Accounts: creds.TwilioMedia, BaseURL: b.Twilio},
		inbox.ChannelWhatsApp:  m,
		inbox.ChannelMessenger: m,
		inbox.ChannelInstagram: m,
		inbox.ChannelEmail:     &email.MediaSource{Objects: mail.Objects, Bucket: mail.Bucket, KeyPrefix: mail.KeyPrefix},
	}
}

// lazyCredentials reads the provider secret once, when first needed.
type lazyCredentials struct{ providers.Lazy }

func (l *lazyCredentials) TwilioMedia(ws string) (twilio.Account, error) {
	set, err := l.Load()
	if err != nil {
		return twilio.Account{}, err
	}
	return set.TwilioMedia(ws)
}

func (l *lazyCredentials) Meta(ws string) (meta.Account, error) {
	set, err := l.Load()
	if err != nil {
		return meta.Account{}, err
	}
	return set.Meta(ws)
}
