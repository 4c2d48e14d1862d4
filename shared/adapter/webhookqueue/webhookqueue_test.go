package webhookqueue_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/parley-inbox/parley/shared/adapter/webhookqueue"
	"github.com/parley-inbox/parley/shared/inbox"
)

type sentMessage struct {
	body  string
	delay int32
}

type sent struct{ in []sentMessage }

func (s *sent) SendMessage(_ context.Context, _, body string, delay int32) error {
	s.in = append(s.in, sentMessage{body, delay})
	return nil
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
	if err := json.Unmarshal([]byte(client.in[0].body), &m); err != nil || m.Retry == nil || *m.Retry != ref || client.in[0].delay != 900 {
		t.Fatalf("sent %s with delay %d", client.in[0].body, client.in[0].delay)
	}
}

// TestSignedSendsWhatTheSDKSends: the signer-based SendMessage makes the
// same request as the SQS client (JSON protocol: target, content type,
// body) and is signed for sqs in the region.
func TestSignedSendsWhatTheSDKSends(t *testing.T) {
	type capture struct {
		target, ctype, auth string
		body                map[string]any
	}
	var got []capture
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		got = append(got, capture{r.Header.Get("X-Amz-Target"), r.Header.Get("Content-Type"), r.Header.Get("Authorization"), body})
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		_, _ = io.WriteString(w, `{"MessageId":"5fea7756-0ea4-451a-a703-a558b933e274","MD5OfMessageBody":"a00d4104dd6235a308ea19d444f9d732"}`)
	}))
	defer srv.Close()
	creds := credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")
	queue := "https://sqs.eu-west-1.amazonaws.com/123456789012/parley-webhooks"
	ctx := context.Background()
	signed := webhookqueue.Signed{Credentials: creds, Region: "eu-west-1", Endpoint: srv.URL}
	if err := signed.SendMessage(ctx, queue, `{"retry":{}}`, 900); err != nil {
		t.Fatal(err)
	}
	client := sqs.New(sqs.Options{Region: "eu-west-1", Credentials: creds, BaseEndpoint: aws.String(srv.URL)})
	if _, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(queue), MessageBody: aws.String(`{"retry":{}}`), DelaySeconds: 900}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d requests", len(got))
	}
	ours, sdk := got[0], got[1]
	if ours.target != sdk.target || ours.ctype != sdk.ctype || !reflect.DeepEqual(ours.body, sdk.body) {
		t.Errorf("ours %+v\nSDK's %+v", ours, sdk)
	}
	if !strings.Contains(ours.auth, "/eu-west-1/sqs/aws4_request") {
		t.Errorf("Authorization %q", ours.auth)
	}
	srv.Close()
	if err := signed.SendMessage(ctx, queue, "x", 0); err == nil {
		t.Error("a send to a closed endpoint succeeded")
	}
}
