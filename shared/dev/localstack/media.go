package localstack

import (
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"

	awsbus "github.com/parley-inbox/parley/shared/adapter/eventbus"
	"github.com/parley-inbox/parley/shared/config/providers"
	"github.com/parley-inbox/parley/shared/dev/objectstore"
	"github.com/parley-inbox/parley/shared/dev/providermedia"
	"github.com/parley-inbox/parley/shared/handler/media"
	"github.com/parley-inbox/parley/shared/inbox"
)

// LocalMailBucket is the bucket name local SES notifications use (the
// samples in events/ and the end-to-end tests): the local mail folder
// holds <bucket>/<key>.
const LocalMailBucket = "parley-inbound-mail-123456789012"

// mediaCopies is functions/media locally: the bus rule's events, queued
// and copied in the background, a failed copy retried a few times, as
// SQS redelivers before the DLQ.
type mediaCopies struct {
	handler atomic.Pointer[media.Handler]
	queue   chan events.SQSMessage
	log     *slog.Logger
}

func newMediaCopies(log *slog.Logger) *mediaCopies {
	return &mediaCopies{queue: make(chan events.SQSMessage, 1000), log: log}
}

// start builds the copy once the server's URL is known: the sources
// fetch from the stand-ins it serves (providermedia), with the webhooks'
// real provider URLs mapped there.
func (c *mediaCopies) start(store inbox.Store, files *objectstore.Files, creds providers.Set, dataDir, url string) {
	mail := media.Mail{Objects: objectstore.Dir{Root: filepath.Join(dataDir, "mail")}, Bucket: LocalMailBucket}
	sources := media.Sources(creds, mail, media.Bases{
		Twilio: url + providermedia.TwilioPath, Graph: url + providermedia.GraphPath, CDN: url + providermedia.CDNPath})
	c.handler.Store(media.New(inbox.NewMediaCopy(store, inbox.SystemClock{}, files, sources), c.log))
}

// add is the bus rule (infra/media.go's mediaCopyPattern): inbound
// message.created events that carry files.
func (c *mediaCopies) add(_ context.Context, e inbox.Event) {
	m := e.Message
	if e.Type != inbox.EventMessageCreated || m == nil || m.Direction != inbox.DirectionIn || m.Channel == inbox.ChannelWebchat || len(m.Attachments) == 0 {
		return
	}
	body, err := json.Marshal(map[string]any{"detail-type": string(e.Type), "source": awsbus.Source, "detail": e})
	if err != nil {
		c.log.Error("media copy: event not encoded", "event", e.ID, "err", err)
		return
	}
	select {
	case c.queue <- events.SQSMessage{MessageId: e.ID, Body: string(body)}:
	default:
		c.log.Error("media copy: queue full; event dropped", "event", e.ID)
	}
}

// run copies queued messages until ctx ends.
func (c *mediaCopies) run(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case msg := <-c.queue:
			go c.copy(ctx, msg)
		}
	}
}

func (c *mediaCopies) copy(ctx context.Context, msg events.SQSMessage) {
	for attempt := range 4 {
		h := c.handler.Load()
		if h != nil {
			resp, _ := h.Queue(ctx, events.SQSEvent{Records: []events.SQSMessage{msg}})
			if len(resp.BatchItemFailures) == 0 {
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Duration(attempt+1) * 500 * time.Millisecond):
		}
	}
	c.log.Error("media copy: gave up (it would be in the DLQ)", "event", msg.MessageId)
}
