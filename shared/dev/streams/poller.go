package streams

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	stypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/parley-inbox/parley/shared/adapter/dynamo"
)

// Poller reads a table's stream the way Lambda's event source mapping does
// (shard by shard, in order) and publishes the domain events, so make dev
// derives events through the same code as AWS.
type Poller struct {
	Tables  *dynamodb.Client
	Streams *dynamodbstreams.Client
	// Endpoint is DynamoDB Local's URL, for the raw GetRecords calls.
	Endpoint string
	Table    string
	// Apply journals a change and publishes its events (the publisher
	// function's publisher.Handler.Apply).
	Apply func(context.Context, dynamo.Change) error
	// OnChange, if set, also sees every change (the local sender).
	OnChange func(context.Context, dynamo.Change) error
	Log      *slog.Logger
	// Every is the polling interval.
	Every time.Duration
}

// Run polls until ctx ends. Shards that exist at start are read from their
// latest record; shards that appear later, from their start.
func (p *Poller) Run(ctx context.Context) error {
	desc, err := p.Tables.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &p.Table})
	if err != nil {
		return err
	}
	arn := desc.Table.LatestStreamArn
	if arn == nil {
		return fmt.Errorf("table %s has no stream", p.Table)
	}
	iterators := map[string]*string{} // shard id -> next iterator ("" when closed)
	first := true
	tick := time.NewTicker(p.Every)
	defer tick.Stop()
	for n := 0; ; n++ {
		if n%25 == 0 { // look for new shards now and then
			if err := p.discover(ctx, arn, iterators, first); err != nil {
				p.Log.WarnContext(ctx, "describe stream", "err", err)
			}
			first = false
		}
		for shard, it := range iterators {
			if it == nil {
				continue
			}
			next, err := p.read(ctx, it)
			if err != nil {
				p.Log.WarnContext(ctx, "read stream shard", "shard", shard, "err", err)
				continue
			}
			iterators[shard] = next
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

func (p *Poller) discover(ctx context.Context, arn *string, iterators map[string]*string, atStart bool) error {
	out, err := p.Streams.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: arn})
	if err != nil {
		return err
	}
	for _, sh := range out.StreamDescription.Shards {
		id := aws.ToString(sh.ShardId)
		if _, known := iterators[id]; known {
			continue
		}
		kind := stypes.ShardIteratorTypeTrimHorizon
		if atStart {
			kind = stypes.ShardIteratorTypeLatest
		}
		it, err := p.Streams.GetShardIterator(ctx, &dynamodbstreams.GetShardIteratorInput{StreamArn: arn, ShardId: sh.ShardId, ShardIteratorType: kind})
		if err != nil {
			return err
		}
		iterators[id] = it.ShardIterator
	}
	return nil
}

// read drains one shard iterator and returns the next (nil: shard closed).
// Records are fetched as raw JSON and decoded with aws-lambda-go's types,
// the exact decoding the deployed stream handler uses. (The SDK's streams
// decoder at the pinned version aliases map values between attributes.)
func (p *Poller) read(ctx context.Context, it *string) (*string, error) {
	var out struct {
		Records []struct {
			EventID  string `json:"eventID"`
			Dynamodb struct {
				ApproximateCreationDateTime float64        `json:"ApproximateCreationDateTime"`
				NewImage                    map[string]any `json:"NewImage"`
				OldImage                    map[string]any `json:"OldImage"`
			} `json:"dynamodb"`
		} `json:"Records"`
		NextShardIterator *string `json:"NextShardIterator"`
	}
	if err := p.call(ctx, "GetRecords", map[string]any{"ShardIterator": it}, &out); err != nil {
		return it, err
	}
	for _, r := range out.Records {
		c := dynamo.Change{EventID: r.EventID, At: time.UnixMilli(int64(r.Dynamodb.ApproximateCreationDateTime * 1000)).UTC()}
		var err error
		if c.Old, err = localImage(r.Dynamodb.OldImage); err == nil {
			c.New, err = localImage(r.Dynamodb.NewImage)
		}
		if err == nil && p.OnChange != nil {
			if herr := p.OnChange(ctx, c); herr != nil {
				p.Log.WarnContext(ctx, "stream consumer", "eventID", c.EventID, "err", herr)
			}
		}
		if err != nil {
			p.Log.ErrorContext(ctx, "decode stream record", "eventID", c.EventID, "err", err)
			continue
		}
		// The publisher's stream filter, as the deployed mapping has it.
		img := c.New
		if img == nil {
			img = c.Old
		}
		if sk, _ := img[dynamo.AttrSK].(*types.AttributeValueMemberS); sk == nil || !dynamo.Published(sk.Value) {
			continue
		}
		if err := p.Apply(ctx, c); err != nil {
			return it, err
		}
	}
	return out.NextShardIterator, nil
}

// call makes a signed DynamoDB Streams JSON call to the local endpoint.
func (p *Poller) call(ctx context.Context, op string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.Endpoint, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", "DynamoDBStreams_20120810."+op)
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: "local", SecretAccessKey: "local"}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "dynamodb", "us-east-1", time.Now()); err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 16<<20))
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s: %s", op, res.Status, raw)
	}
	return json.Unmarshal(raw, out)
}

// localImage decodes a DynamoDB Local stream image the way Lambda decodes
// a real one. DynamoDB Local writes an empty map attribute as {} rather than
// {"M":{}}; it is put right first.
func localImage(img map[string]any) (map[string]types.AttributeValue, error) {
	if len(img) == 0 {
		return nil, nil
	}
	for _, v := range img {
		fixEmptyMaps(v)
	}
	raw, err := json.Marshal(img)
	if err != nil {
		return nil, err
	}
	var lambdaImage map[string]events.DynamoDBAttributeValue
	if err := json.Unmarshal(raw, &lambdaImage); err != nil {
		return nil, err
	}
	return dynamo.FromLambdaImage(lambdaImage)
}

// fixEmptyMaps rewrites {} attribute values as {"M":{}}, recursively.
func fixEmptyMaps(av any) {
	obj, ok := av.(map[string]any)
	if !ok {
		return
	}
	if len(obj) == 0 {
		obj["M"] = map[string]any{}
		return
	}
	if m, ok := obj["M"].(map[string]any); ok {
		for _, v := range m {
			fixEmptyMaps(v)
		}
	}
	if l, ok := obj["L"].([]any); ok {
		for _, v := range l {
			fixEmptyMaps(v)
		}
	}
}
