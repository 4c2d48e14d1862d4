package inbox

import (
	"fmt"
	"slices"
	"testing"
)

// mergedContact: unions, the survivor's custom values win, the stricter
// marketing and do-not-disturb choices win, and limits are refused.
func TestMergedContact(t *testing.T) {
	survivor := &Contact{ID: "S", Name: "Jo", Phones: []string{"+14155550100"}, Tags: []string{"vip"},
		Custom: map[string]string{"tier": "gold"}, Marketing: map[Channel]bool{ChannelSMS: true, ChannelEmail: true}}
	absorbed := &Contact{ID: "A", Name: "Jo FB", Timezone: "Europe/Paris", Handles: []string{"messenger:1"}, Tags: []string{"fb", "vip"},
		Custom: map[string]string{"tier": "silver", "city": "Paris"}, Marketing: map[Channel]bool{ChannelSMS: false},
		DND: map[Channel]bool{ChannelEmail: true}}
	got, err := mergedContact(survivor, absorbed)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "Jo" || got.Timezone != "Europe/Paris" || !slices.Equal(got.Handles, []string{"messenger:1"}) ||
		!slices.Equal(got.Tags, []string{"fb", "vip"}) || !slices.Equal(got.Phones, survivor.Phones) {
		t.Errorf("merged = %+v", got)
	}
	if got.Custom["tier"] != "gold" || got.Custom["city"] != "Paris" {
		t.Errorf("custom = %v, want the survivor's tier and the absorbed city", got.Custom)
	}
	if got.Marketing[ChannelSMS] || !got.Marketing[ChannelEmail] || !got.DND[ChannelEmail] {
		t.Errorf("marketing %v, dnd %v: want the stricter choices", got.Marketing, got.DND)
	}
	if survivor.Custom["city"] != "" || survivor.Marketing[ChannelSMS] != true {
		t.Error("mergedContact changed the survivor it was given")
	}
	many := &Contact{ID: "M"}
	for i := range maxPhones {
		many.Phones = append(many.Phones, fmt.Sprintf("+1415555%04d", 2000+i))
	}
	if _, err := mergedContact(survivor, many); !IsKind(err, KindConflict) {
		t.Errorf("11 phones: err = %v, want conflict", err)
	}
}
