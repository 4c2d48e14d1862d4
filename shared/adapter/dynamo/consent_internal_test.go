package dynamo

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/parley-inbox/parley/shared/inbox"
)

// Issue 9 item 12: consent events come from the consent items, and the
// first consent recorded on a channel is one, an opt-in included (a new
// subscriber). A repeated status, a history entry and the contact item's
// own copy are not.
func TestConsentEvents(t *testing.T) {
	now := time.Now().UTC()
	state := func(status inbox.ConsentStatus) map[string]types.AttributeValue {
		img, err := marshal(consentItem{PK: contactPK("w1", "c1"), SK: prefixConsent + "whatsapp", Channel: inbox.ChannelWhatsApp,
			ChannelConsent: inbox.ChannelConsent{Status: status, ChangedAt: now, Source: inbox.ConsentSourceManual}})
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	entry, _ := marshal(consentLogItem{PK: contactPK("w1", "c1"), SK: prefixConsentLog + "01X",
		ConsentRecord: inbox.ConsentRecord{ID: "01X", Channel: inbox.ChannelWhatsApp, Status: inbox.ConsentOptedIn}})
	contact := inbox.Contact{ID: "c1", WorkspaceID: "w1", Consent: map[inbox.Channel]inbox.ChannelConsent{}}
	before, _ := marshal(contactRecord(&contact))
	contact.Consent[inbox.ChannelSMS] = inbox.ChannelConsent{Status: inbox.ConsentOptedOut, Source: inbox.ConsentSourceKeyword, ChangedAt: now}
	after, _ := marshal(contactRecord(&contact))
	in, out := state(inbox.ConsentOptedIn), state(inbox.ConsentOptedOut)
	tests := []struct {
		name string
		c    Change
		want string
	}{
		{"first consent, an opt-in", Change{New: in}, "[contact.opted_in c1 whatsapp manual]"},
		{"first consent, an opt-out", Change{New: out}, "[contact.opted_out c1 whatsapp manual]"},
		{"opt-out", Change{Old: in, New: out}, "[contact.opted_out c1 whatsapp manual]"},
		{"back in", Change{Old: out, New: in}, "[contact.opted_in c1 whatsapp manual]"},
		{"same status", Change{Old: in, New: in}, "[]"},
		{"history entry", Change{New: entry}, "[]"},
		{"contact's copy", Change{Old: before, New: after}, "[]"},
	}
	for _, tt := range tests {
		tt.c.EventID, tt.c.At = "e1", now
		events, err := Events(tt.c)
		if err != nil {
			t.Fatal(err)
		}
		got := []string{}
		for _, e := range events {
			got = append(got, fmt.Sprintf("%s %s %s %s", e.Type, e.ContactID, e.Channel, e.Source))
		}
		if fmt.Sprint(got) != tt.want {
			t.Errorf("%s: events %v, want %s", tt.name, got, tt.want)
		}
	}
}
