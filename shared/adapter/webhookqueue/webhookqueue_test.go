package webhookqueue_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/parley-inbox/parley/shared/adapter/webhookqueue"
	"github.com/parley-inbox/parley/shared/inbox"
)

type sent struct{ in []*sqs.SendMessageInput }

func (s *sent) SendMessage(_ context.Context, in *sqs.SendMessageInput, _ ...func(*sqs.Options)) (*sqs.SendMessageOutput, error) {
	s.in = append(s.in, in)
	return &sqs.SendMessageOutput{}, nil
}

// A wait past SQS's 15 minutes is a 15-minute hop; the handler re-queues
// the rest when the delivery is not yet due.
func TestRetryHopsAtMostFifteenMinutes(t *testing.T) {
	for after, want := range map[time.Duration]int32{0: 0, 1500 * time.Millisecond: 2, 10 * time.Minute: 600, 24 * time.Hour: 900} {
		if got := webhookqueue.Delay(after); got != want {
			t.Errorf("Delay(%v) = %d, want %d", after, got, want)
		}
	}
	client := &sent{}
	q := &webhookqueue.SQS{Client: client, QueueURL: "https://sqs.example/q"}
	ref := inbox.WebhookRef{WorkspaceID: "w", SubscriptionID: "s", DeliveryID: "d"}
	if err := q.RetryDelivery(context.Background(), ref, 8*time.Hour); err != nil {
		t.Fatal(err)
	}
	var m webhookqueue.Message
	if err := json.Unmarshal([]byte(*client.in[0].MessageBody), &m); err != nil || m.Retry == nil || *m.Retry != ref || client.in[0].DelaySeconds != 900 {
		t.Fatalf("sent %s with delay %d", *client.in[0].MessageBody, client.in[0].DelaySeconds)
	}
}
