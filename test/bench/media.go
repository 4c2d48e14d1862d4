package main

import (
	"context"
	"io"
	"strings"
	"time"

	"github.com/parley-inbox/parley/shared/adapter/dynamo"
	"github.com/parley-inbox/parley/shared/inbox"
)

// measureMediaCopy meters functions/media's copy of an inbound MMS's file:
// a consistent read of the message, the workspace's settings (Twilio may
// delete its copy; cached a minute), and one update of the attachments.
// The stream then journals the changed message (1 WRU more, off the
// request path, as for every message change).
func (b *bench) measureMediaCopy(ctx context.Context) {
	in := inbox.Inbound{WorkspaceID: "demo", Channel: inbox.ChannelMMS, Kind: inbox.KindMessage, ProviderID: twilioSID("MMbenchmedia"),
		From: inbox.Correspondent{Phone: "+14155550191"}, Body: "photo of the receipt",
		Attachments: []inbox.Attachment{{URL: "https://api.twilio.com/2010-04-01/Accounts/AC" + strings.Repeat("0", 32) + "/Messages/MM" + strings.Repeat("1", 32) + "/Media/ME" + strings.Repeat("2", 32), ContentType: "image/jpeg"}}}
	res, err := inbox.NewIntake(b.store, inbox.SystemClock{}).Ingest(ctx, in)
	check(err)
	copier := inbox.NewMediaCopy(b.store, inbox.SystemClock{}, discardObjects{}, map[inbox.Channel]inbox.MediaSource{inbox.ChannelMMS: benchFile{}})
	var m dynamo.Meter
	_, err = copier.Copy(dynamo.WithMeter(ctx, &m), res.Message.WorkspaceID, res.Message.ConversationID, res.Message.ID)
	check(err)
	b.rows = append(b.rows, row{op: "media copy: inbound MMS file (+1 WRU journal, off path)", read: m.Read, write: m.Write, calls: m.Calls, budgetWRU: 1, budgetRRU: 1.5})
}

// benchFile is Twilio serving a 200 KB photo: a source that can delete
// its copy, so the workspace's setting is read.
type benchFile struct{}

func (benchFile) Forget(context.Context, *inbox.Message, int) error { return nil }

func (benchFile) Open(context.Context, *inbox.Message, int) (io.ReadCloser, string, error) {
	return io.NopCloser(strings.NewReader(strings.Repeat("j", 200<<10))), "image/jpeg", nil
}

// discardObjects stands in for S3: the bench prices DynamoDB.
type discardObjects struct{}

func (discardObjects) Put(_ context.Context, _, _ string, write func(io.Writer) error) error {
	return write(io.Discard)
}

func (discardObjects) PresignGet(context.Context, string, string, time.Duration) (string, error) {
	return "", nil
}
