package dynamo_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/parley-inbox/parley/shared/adapter/dynamo"
	"github.com/parley-inbox/parley/shared/inbox"
)

// A stream record as Lambda delivers it: an inbound SMS filed in a thread.
const insertedMessage = `{"PK":{"S":"WS#w1#CONV#01JD0000000000000000000000"},"SK":{"S":"MSG#01JD0000000000000000000001"},
 "id":{"S":"01JD0000000000000000000001"},"contactId":{"S":"01JD0000000000000000000002"},"direction":{"S":"in"},
 "kind":{"S":"message"},"channel":{"S":"sms"},"body":{"S":"Is the shop open today?"},"attachments":{"L":[]},
 "status":{"S":"received"},"internal":{"BOOL":false},"createdAt":{"S":"2026-11-21T10:00:00Z"},"updatedAt":{"S":"2026-11-21T10:00:00Z"}}`

func TestLambdaImageToDomainEvent(t *testing.T) {
	var img map[string]events.DynamoDBAttributeValue
	if err := json.Unmarshal([]byte(insertedMessage), &img); err != nil {
		t.Fatal(err)
	}
	av, err := dynamo.FromLambdaImage(img)
	if err != nil {
		t.Fatal(err)
	}
	evs, err := dynamo.Events(dynamo.Change{EventID: "e1", At: time.Unix(1795255200, 0), New: av})
	if err != nil {
		t.Fatal(err)
	}
	// Every new message is message.created, for the live inbox; an
	// inbound one is message.received as well, for automations.
	if len(evs) != 2 || evs[0].Type != inbox.EventMessageCreated || evs[1].Type != inbox.EventMessageReceived {
		t.Fatalf("events = %+v, want message.created then message.received", evs)
	}
	if m := evs[0].Message; m == nil || m.ID != "01JD0000000000000000000001" || m.Body != "Is the shop open today?" || m.Direction != inbox.DirectionIn {
		t.Errorf("message.created carries %+v, want the inbound message", m)
	}
	got := evs[1]
	want := inbox.Event{ID: "e1:message.received", Type: inbox.EventMessageReceived, WorkspaceID: "w1", OccurredAt: time.Unix(1795255200, 0).UTC(),
		ContactID: "01JD0000000000000000000002", ConversationID: "01JD0000000000000000000000", MessageID: "01JD0000000000000000000001",
		Channel: inbox.ChannelSMS, Kind: inbox.KindMessage, Body: "Is the shop open today?", Status: inbox.MessageReceived}
	if gotJSON, wantJSON := mustJSON(got), mustJSON(want); gotJSON != wantJSON {
		t.Errorf("event\n got %s\nwant %s", gotJSON, wantJSON)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// FuzzStreamImage feeds arbitrary images through the decoding and the
// translator the stream handler uses.
func FuzzStreamImage(f *testing.F) {
	f.Add([]byte(insertedMessage), []byte(`{}`))
	f.Add([]byte(`{"PK":{"S":"WS#w#CONTACT#c"},"SK":{"S":"#CONTACT"},"consent":{"M":{"sms":{"M":{"status":{"S":"opted_out"}}}}}}`), []byte(`{"PK":{"S":"WS#w#CONTACT#c"},"SK":{"S":"#CONTACT"}}`))
	f.Add([]byte(`{"PK":{"S":"WS#w#CONV#c"},"SK":{"S":"#CONV"},"status":{"S":"open"}}`), []byte(`{"PK":{"S":"WS#w#CONV#c"},"SK":{"S":"#CONV"},"status":{"S":"complete"}}`))
	f.Fuzz(func(t *testing.T, newRaw, oldRaw []byte) {
		var newImg, oldImg map[string]events.DynamoDBAttributeValue
		if json.Unmarshal(newRaw, &newImg) != nil || json.Unmarshal(oldRaw, &oldImg) != nil {
			return
		}
		n, err1 := dynamo.FromLambdaImage(newImg)
		o, err2 := dynamo.FromLambdaImage(oldImg)
		if err1 != nil || err2 != nil {
			return
		}
		evs, err := dynamo.Events(dynamo.Change{EventID: "e", New: n, Old: o})
		for _, e := range evs {
			if err == nil && (e.WorkspaceID == "" || e.Type == "") {
				t.Fatalf("event without workspace or type: %+v", e)
			}
		}
	})
}
