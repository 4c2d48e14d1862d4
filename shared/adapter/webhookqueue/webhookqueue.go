// Package webhookqueue is the outbound-webhook queue on Amazon SQS. One
// queue carries the bus's events (an EventBridge rule puts them there),
// deliveries waiting to be retried, and bulk replays' next pages; the
// integrations function reads all three. shared/dev/webhookqueue is its
// in-process stand-in.
//
// Why SQS alone for retries that span four days: a message can be delayed
// at most 15 minutes, so a longer wait is a chain of 15-minute hops, each
// re-reading the delivery and re-queueing until it is due. A hop costs
// three SQS requests and a short invocation, only while a receiver is
// failing (about 100 a day at the 24 h waits, $0.0001); in exchange there
// is no second service: no Scheduler schedules to create, delete and
// grant a role for, and one DLQ and one set of alarms cover every step.
package webhookqueue

import (
	"context"
	"encoding/json"
	"math"
	"time"

	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/parley-inbox/parley/shared/inbox"
)

// MaxDelay is SQS's longest per-message delay.
const MaxDelay = 15 * time.Minute

// Message is a queued piece of webhook work that Parley itself sends (the
// bus's events arrive in EventBridge's envelope instead).
type Message struct {
	Retry  *inbox.WebhookRef       `json:"retry,omitempty"`
	Replay *inbox.WebhookReplayJob `json:"replay,omitempty"`
}

// SendAPI is the part of the SQS client used here.
type SendAPI interface {
	SendMessage(ctx context.Context, queueURL, body string, delaySeconds int32) error
}

// SQS queues webhook work.
type SQS struct {
	Client   SendAPI
	QueueURL string
}

var _ inbox.WebhookQueue = (*SQS)(nil)

// Delay is how long a message for a wait of after is held: at most
// MaxDelay, rounded up to whole seconds.
func Delay(after time.Duration) int32 {
	if after <= 0 {
		return 0
	}
	return int32(math.Ceil(min(after, MaxDelay).Seconds()))
}

func (q *SQS) RetryDelivery(ctx context.Context, ref inbox.WebhookRef, after time.Duration) error {
	return q.send(ctx, Message{Retry: &ref}, Delay(after))
}

func (q *SQS) ContinueReplay(ctx context.Context, job inbox.WebhookReplayJob) error {
	return q.send(ctx, Message{Replay: &job}, 0)
}

func (q *SQS) send(ctx context.Context, m Message, delay int32) error {
	body, err := json.Marshal(m)
	if err != nil {
		return inbox.Internal(err)
	}
	if err := q.Client.SendMessage(ctx, q.QueueURL, string(body), delay); err != nil {
		return &inbox.Error{Kind: inbox.KindUnavailable, Message: "the webhook queue is unavailable; retry", Err: err}
	}
	return nil
}

// Signed sends with SQS's JSON protocol and the core SDK's SigV4 signer
// alone: the SQS client would add half a megabyte to the api, which only
// queues replays (see README "Lambda size").
type Signed struct {
	Credentials aws.CredentialsProvider
	Region      string
	// Endpoint replaces https://sqs.<region>.amazonaws.com (tests).
	Endpoint string
	HTTP     *http.Client
}

var _ SendAPI = Signed{}

// SendMessage is AmazonSQS.SendMessage: a JSON body naming the queue,
// answered 200 with the message's id.
func (s Signed) SendMessage(ctx context.Context, queueURL, body string, delaySeconds int32) error {
	payload, err := json.Marshal(map[string]any{"QueueUrl": queueURL, "MessageBody": body, "DelaySeconds": delaySeconds})
	if err != nil {
		return err
	}
	base := s.Endpoint
	if base == "" {
		base = "https://sqs." + s.Region + ".amazonaws.com"
	}
	u, err := url.Parse(base)
	if err != nil {
		return err
	}
	u.Path = "/"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(payload))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", "AmazonSQS.SendMessage")
	creds, err := s.Credentials.Retrieve(ctx)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(payload)
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "sqs", s.Region, time.Now().UTC()); err != nil {
		return err
	}
	client := s.HTTP
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return fmt.Errorf("sqs SendMessage: %s: %s", resp.Status, msg)
	}
	return nil
}
