package dynamo_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/parley-inbox/parley/shared/adapter/dynamo"
)

// Every item whose change yields an event or a journal write passes the
// publisher's stream filter, and the journal's own items do not, so the
// filter can neither drop an event nor wake the publisher for its writes.
func TestPublishedSortKeys(t *testing.T) {
	for sk, want := range map[string]bool{
		"#CONTACT": true, "#CONSENT#sms": true, "#CONV": true, "MSG#01JD0000000000000000000001": true,
		"RUN#01JD0000000000000000000001": true, "#TASK": true,
		"CHANGE#01JD0000000000000000000001": false, "01JD0000000000000000000001": false, "AGENT#c1": false,
		"LIVE#c1": false, "#conversations": false, "#tasks": false, "#COUNTED": false, "#UNIQUE": false,
		"#WORKSPACE": false, "USER#u": false, "LABEL#l": false, "#IDEM": false, "CONSENTLOG#01JD0000000000000000000001": false,
	} {
		if got := dynamo.Published(sk); got != want {
			t.Errorf("Published(%q) = %v, want %v", sk, got, want)
		}
	}
	// Items the filter drops produce no events and no journal writes.
	for _, sk := range []string{"CHANGE#01JD0000000000000000000001", "#UNIQUE", "USER#u", "CONSENTLOG#01JD0000000000000000000001"} {
		item := map[string]types.AttributeValue{"PK": dynamo.S("WS#w#CONV#c"), "SK": dynamo.S(sk), "status": dynamo.S("open")}
		evs, err := dynamo.Events(dynamo.Change{EventID: "e", At: time.Now(), New: item})
		if err != nil || len(evs) != 0 {
			t.Errorf("%s: events %v, %v; want none", sk, evs, err)
		}
		c := dynamo.Change{EventID: "e", At: time.Now(), New: item}
		if err := (&dynamo.Store{}).Journal(context.Background(), &c); err != nil {
			t.Errorf("%s: journal %v, want nothing to do", sk, err)
		}
	}
}
