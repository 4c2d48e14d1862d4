package inbox

import (
	"errors"
	"testing"
	"time"
)

func TestTriggerMatches(t *testing.T) {
	ev := func(typ EventType, mod func(*Event)) Event {
		e := Event{ID: "e", Type: typ, WorkspaceID: "w", ContactID: "c"}
		if mod != nil {
			mod(&e)
		}
		return e
	}
	for _, tc := range []struct {
		name    string
		trigger Trigger
		event   Event
		want    bool
	}{
		{"tag, any case", Trigger{Type: TriggerTagged, Tag: "VIP"}, ev(EventContactTagged, func(e *Event) { e.Tags = []string{"vip"} }), true},
		{"other tag", Trigger{Type: TriggerTagged, Tag: "vip"}, ev(EventContactTagged, func(e *Event) { e.Tags = []string{"lead"} }), false},
		{"any tag", Trigger{Type: TriggerTagged}, ev(EventContactTagged, func(e *Event) { e.Tags = []string{"lead"} }), true},
		{"list", Trigger{Type: TriggerAddedToList, List: "Newsletter"}, ev(EventContactAddedToList, func(e *Event) { e.List = "newsletter" }), true},
		{"subscribed on the channel", Trigger{Type: TriggerSubscribed, Channel: ChannelSMS}, ev(EventContactOptedIn, func(e *Event) { e.Channel = ChannelMMS }), true},
		{"subscribed elsewhere", Trigger{Type: TriggerSubscribed, Channel: ChannelWhatsApp}, ev(EventContactOptedIn, func(e *Event) { e.Channel = ChannelSMS }), false},
		{"keyword, whole message", Trigger{Type: TriggerKeyword, Keyword: "PRICE"}, ev(EventMessageReceived, func(e *Event) { e.Kind, e.Body = KindMessage, " price " }), true},
		{"keyword inside a sentence", Trigger{Type: TriggerKeyword, Keyword: "PRICE"}, ev(EventMessageReceived, func(e *Event) { e.Kind, e.Body = KindMessage, "what price?" }), false},
		{"order", Trigger{Type: TriggerOrderPlaced}, ev(EventOrderPlaced, nil), true},
		{"cart is not an order", Trigger{Type: TriggerOrderPlaced}, ev(EventCartAbandoned, nil), false},
		{"conversation created", Trigger{Type: TriggerConversationCreated}, ev(EventConversationCreated, nil), true},
		{"no contact", Trigger{Type: TriggerOrderPlaced}, ev(EventOrderPlaced, func(e *Event) { e.ContactID = "" }), false},
	} {
		if got := tc.trigger.Matches(tc.event); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestStopsRun(t *testing.T) {
	started := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	drip := &Run{Kind: SequenceDrip, StartedAt: started}
	cart := &Run{Kind: SequenceAutomation, Trigger: TriggerCartAbandoned, TriggerEventID: "cart-1", TriggeredAt: &started, StartedAt: started}
	after, before := started.Add(time.Hour), started.Add(-time.Hour)
	for _, tc := range []struct {
		name  string
		event Event
		run   *Run
		want  StopReason
	}{
		{"reply stops a drip", Event{ID: "m", Type: EventMessageReceived, Kind: KindMessage, OccurredAt: after}, drip, StopReplied},
		{"a call is not a reply", Event{ID: "m", Type: EventMessageReceived, Kind: KindCall, OccurredAt: after}, drip, ""},
		{"an old reply, delivered late", Event{ID: "m", Type: EventMessageReceived, Kind: KindMessage, OccurredAt: before}, drip, ""},
		{"a reply does not stop an automation", Event{ID: "m", Type: EventMessageReceived, Kind: KindMessage, OccurredAt: after}, cart, ""},
		{"opt-out exits anything", Event{ID: "o", Type: EventContactOptedOut, OccurredAt: after}, cart, StopOptedOut},
		{"purchase converts", Event{ID: "p", Type: EventOrderPlaced, OccurredAt: after}, cart, StopConverted},
		{"new cart restarts", Event{ID: "cart-2", Type: EventCartAbandoned, OccurredAt: after}, cart, StopRestarted},
		{"the same cart, redelivered", Event{ID: "cart-1", Type: EventCartAbandoned, OccurredAt: after}, cart, ""},
		{"an older cart, delivered late", Event{ID: "cart-0", Type: EventCartAbandoned, OccurredAt: before}, cart, ""},
	} {
		if got := stopsRun(tc.event, tc.run); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestAutomationValidate(t *testing.T) {
	refs := AutomationRefs{LabelExists: func(id string) bool { return id == "L1" }, UserExists: func(id string) bool { return id == "u1" }}
	msg := AutomationStep{Type: StepMessage, Mode: ModeSendNow, Channel: ChannelSMS, Body: "hi"}
	for _, tc := range []struct {
		name  string
		a     Automation
		field string
	}{
		{"ok", Automation{Name: "A", Trigger: Trigger{Type: TriggerOrderPlaced}, Steps: []AutomationStep{msg}}, ""},
		{"unknown trigger", Automation{Name: "A", Trigger: Trigger{Type: "moon.full"}, Steps: []AutomationStep{msg}}, "trigger.type"},
		{"no steps", Automation{Name: "A", Trigger: Trigger{Type: TriggerOrderPlaced}}, "steps"},
		{"zero delay", Automation{Name: "A", Trigger: Trigger{Type: TriggerOrderPlaced}, Steps: []AutomationStep{{Type: StepDelay}}}, "steps[0].minutes"},
		{"schedule needs minutes", Automation{Name: "A", Trigger: Trigger{Type: TriggerOrderPlaced}, Steps: []AutomationStep{{Type: StepMessage, Mode: ModeSchedule, Channel: ChannelSMS, Body: "x"}}}, "steps[0].minutes"},
		{"unknown label", Automation{Name: "A", Trigger: Trigger{Type: TriggerOrderPlaced}, Steps: []AutomationStep{{Type: StepLabel, Add: []string{"L2"}}}}, "steps[0]"},
		{"unknown assignee", Automation{Name: "A", Trigger: Trigger{Type: TriggerOrderPlaced}, Steps: []AutomationStep{{Type: StepAssign, AssigneeID: "u2"}}}, "steps[0].assigneeId"},
		{"manual needs instructions", Automation{Name: "A", Trigger: Trigger{Type: TriggerOrderPlaced}, Steps: []AutomationStep{{Type: StepManual, Action: ManualCall}}}, "steps[0].instructions"},
		{"reserved keyword", Automation{Name: "A", Trigger: Trigger{Type: TriggerKeyword, Keyword: "stop"}, Steps: []AutomationStep{msg}}, "trigger.keyword"},
	} {
		err := tc.a.Validate(refs)
		if tc.field == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		var e *Error
		if err == nil || !errors.As(err, &e) || e.Kind != KindInvalid || e.Field != tc.field {
			t.Errorf("%s: %v, want invalid %s", tc.name, err, tc.field)
		}
	}
}
