// Package eventbus publishes Parley's domain events to Amazon EventBridge.
// shared/dev/eventbus is its in-process stand-in.
package eventbus

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/parley-inbox/parley/shared/inbox"
)

// Source is the EventBridge source of every Parley event; rules match on it
// and on detail-type, which is the event type (e.g. "message.received").
const Source = "parley"

// PutEventsAPI is the part of the EventBridge client used here.
type PutEventsAPI interface {
	PutEvents(context.Context, *eventbridge.PutEventsInput, ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

// EventBridge puts events on a bus.
type EventBridge struct {
	Client  PutEventsAPI
	BusName string
}

var _ inbox.EventPublisher = (*EventBridge)(nil)

// putEventsMax is EventBridge's limit of entries per PutEvents call.
const putEventsMax = 10

// Publish sends events in batches. Any entry EventBridge refuses fails the
// call, so the stream batch is retried; consumers dedupe by event id.
func (b *EventBridge) Publish(ctx context.Context, events []inbox.Event) error {
	for start := 0; start < len(events); start += putEventsMax {
		batch := events[start:min(start+putEventsMax, len(events))]
		entries := make([]ebtypes.PutEventsRequestEntry, 0, len(batch))
		for _, e := range batch {
			detail, err := json.Marshal(e)
			if err != nil {
				return err
			}
			entries = append(entries, ebtypes.PutEventsRequestEntry{
				EventBusName: aws.String(b.BusName),
				Source:       aws.String(Source),
				DetailType:   aws.String(string(e.Type)),
				Detail:       aws.String(string(detail)),
				Time:         aws.Time(e.OccurredAt),
			})
		}
		out, err := b.Client.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: entries})
		if err != nil {
			return fmt.Errorf("put events: %w", err)
		}
		if out.FailedEntryCount > 0 {
			return fmt.Errorf("put events: %d of %d entries failed", out.FailedEntryCount, len(entries))
		}
	}
	return nil
}
