// Package streams turns the table's change stream into domain events: the
// Lambda handler for DynamoDB Streams in AWS, and a poller of DynamoDB
// Local's stream for make dev.
package streams

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/parley-inbox/parley/shared/dynamo"
	"github.com/parley-inbox/parley/shared/inbox"
)

// Handler publishes the domain events of stream records.
type Handler struct {
	Publisher inbox.EventPublisher
	Log       *slog.Logger
}

// Handle processes a batch in order. On the first failure it reports that
// record and everything after it, so Lambda retries from there and no event
// is lost or reordered (ReportBatchItemFailures).
func (h *Handler) Handle(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	var resp events.DynamoDBEventResponse
	for i, r := range ev.Records {
		if err := h.publish(ctx, r); err != nil {
			h.Log.ErrorContext(ctx, "publish domain events", "eventID", r.EventID, "err", err)
			for _, rest := range ev.Records[i:] {
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: rest.Change.SequenceNumber})
			}
			return resp, nil
		}
	}
	return resp, nil
}

func (h *Handler) publish(ctx context.Context, r events.DynamoDBEventRecord) error {
	old, err := FromLambdaImage(r.Change.OldImage)
	if err != nil {
		return err
	}
	next, err := FromLambdaImage(r.Change.NewImage)
	if err != nil {
		return err
	}
	evs, err := dynamo.Events(dynamo.Change{EventID: r.EventID, At: r.Change.ApproximateCreationDateTime.Time, Old: old, New: next})
	if err != nil || len(evs) == 0 {
		return err
	}
	return h.Publisher.Publish(ctx, evs)
}

// FromLambdaImage converts a stream image as the Lambda event carries it
// into the SDK's attribute values, which the store's decoders read.
func FromLambdaImage(img map[string]events.DynamoDBAttributeValue) (map[string]types.AttributeValue, error) {
	if len(img) == 0 {
		return nil, nil
	}
	out := make(map[string]types.AttributeValue, len(img))
	for k, v := range img {
		av, err := fromLambda(v)
		if err != nil {
			return nil, fmt.Errorf("attribute %s: %w", k, err)
		}
		out[k] = av
	}
	return out, nil
}

func fromLambda(v events.DynamoDBAttributeValue) (types.AttributeValue, error) {
	switch v.DataType() {
	case events.DataTypeString:
		return &types.AttributeValueMemberS{Value: v.String()}, nil
	case events.DataTypeNumber:
		return &types.AttributeValueMemberN{Value: v.Number()}, nil
	case events.DataTypeBinary:
		return &types.AttributeValueMemberB{Value: v.Binary()}, nil
	case events.DataTypeBoolean:
		return &types.AttributeValueMemberBOOL{Value: v.Boolean()}, nil
	case events.DataTypeNull:
		return &types.AttributeValueMemberNULL{Value: true}, nil
	case events.DataTypeStringSet:
		return &types.AttributeValueMemberSS{Value: v.StringSet()}, nil
	case events.DataTypeNumberSet:
		return &types.AttributeValueMemberNS{Value: v.NumberSet()}, nil
	case events.DataTypeBinarySet:
		return &types.AttributeValueMemberBS{Value: v.BinarySet()}, nil
	case events.DataTypeList:
		list := make([]types.AttributeValue, 0, len(v.List()))
		for _, e := range v.List() {
			av, err := fromLambda(e)
			if err != nil {
				return nil, err
			}
			list = append(list, av)
		}
		return &types.AttributeValueMemberL{Value: list}, nil
	case events.DataTypeMap:
		m, err := FromLambdaImage(v.Map())
		if err != nil {
			return nil, err
		}
		if m == nil {
			m = map[string]types.AttributeValue{}
		}
		return &types.AttributeValueMemberM{Value: m}, nil
	}
	return nil, fmt.Errorf("unknown attribute type %v", v.DataType())
}
