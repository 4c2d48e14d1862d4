package dynamo

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/parley-inbox/parley/shared/inbox"
)

// The sender wakes for a new queued message and for a draft an agent sent,
// never for a message that returns to queued to be retried.
func TestQueuedMessageIsNewOrASentDraft(t *testing.T) {
	now := time.Now().UTC()
	image := func(status inbox.MessageStatus) map[string]types.AttributeValue {
		m := &inbox.Message{ID: "01MSG", WorkspaceID: "w1", ConversationID: "c1", Direction: inbox.DirectionOut,
			Kind: inbox.KindMessage, Channel: inbox.ChannelSMS, Body: "hi", Status: status, CreatedAt: now}
		img, err := marshal(messageRecord(m))
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	for _, tc := range []struct {
		name     string
		old, new map[string]types.AttributeValue
		want     bool
	}{
		{"new queued", nil, image(inbox.MessageQueued), true},
		{"draft sent", image(inbox.MessageDraft), image(inbox.MessageQueued), true},
		{"new draft", nil, image(inbox.MessageDraft), false},
		{"requeued after a retryable failure", image(inbox.MessageSending), image(inbox.MessageQueued), false},
		{"queued rewritten", image(inbox.MessageQueued), image(inbox.MessageQueued), false},
		{"draft scheduled", image(inbox.MessageDraft), image(inbox.MessageScheduled), false},
		{"removed", image(inbox.MessageQueued), nil, false},
	} {
		ws, ref, ok := QueuedMessage(Change{EventID: "e", At: now, Old: tc.old, New: tc.new})
		if ok != tc.want {
			t.Errorf("%s: taken = %v, want %v", tc.name, ok, tc.want)
		}
		if ok && (ws != "w1" || ref.ConversationID != "c1" || ref.MessageID != "01MSG") {
			t.Errorf("%s: %s %+v", tc.name, ws, ref)
		}
	}
}
