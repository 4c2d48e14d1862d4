package inbox_test

import (
	"context"
	"testing"
	"time"

	"github.com/parley-inbox/parley/shared/inbox"
)

// deliveryStore is the few methods Deliver reads and writes; the embedded
// nil Store makes any other call panic, so the test shows what delivery
// touches.
type deliveryStore struct {
	inbox.Store
	msg      *inbox.Message
	contact  *inbox.Contact
	conv     *inbox.Conversation
	settings inbox.WorkspaceSettings
	updates  []inbox.MessageStatus
}

func (f *deliveryStore) GetMessage(context.Context, string, string, string) (*inbox.Message, error) {
	m := *f.msg
	return &m, nil
}
func (f *deliveryStore) GetContact(context.Context, string, string) (*inbox.Contact, error) {
	return f.contact, nil
}
func (f *deliveryStore) GetConversation(context.Context, string, string) (*inbox.Conversation, error) {
	return f.conv, nil
}
func (f *deliveryStore) WorkspaceSettings(context.Context, string) (inbox.WorkspaceSettings, error) {
	return f.settings, nil
}
func (f *deliveryStore) UpdateMessageStatus(_ context.Context, m *inbox.Message, _ inbox.MessageStatus) error {
	f.updates = append(f.updates, m.Status)
	return nil
}

type fixedClock time.Time

func (c fixedClock) Now() time.Time { return time.Time(c) }

type scheduleRecorder []inbox.Schedule

func (r *scheduleRecorder) Put(_ context.Context, s inbox.Schedule) error {
	*r = append(*r, s)
	return nil
}
func (r *scheduleRecorder) Delete(context.Context, string) error { return nil }

type refusingSender struct{ t *testing.T }

func (s refusingSender) Send(context.Context, inbox.Outbound) (string, error) {
	s.t.Error("a message was handed to the provider")
	return "", nil
}

// Quiet hours are on the contact's clock: 22:30 in Chicago is inside
// 21:00–08:00, so an automated SMS waits for 08:00 there, and only the
// schedule and the message's status are written.
func TestDeliverHoldsAnAutomatedMessageUntilTheContactsQuietHoursEnd(t *testing.T) {
	chicago, err := time.LoadLocation("America/Chicago")
	if err != nil {
		t.Skip("no timezone database:", err)
	}
	now := time.Date(2026, 12, 7, 22, 30, 0, 0, chicago)
	store := &deliveryStore{
		msg: &inbox.Message{ID: "01JMSG", WorkspaceID: "ws", ConversationID: "01JCONV", ContactID: "01JCONTACT",
			Direction: inbox.DirectionOut, Kind: inbox.KindMessage, Channel: inbox.ChannelSMS, Status: inbox.MessageQueued,
			Body: "Weekly deals", Automated: true},
		contact:  &inbox.Contact{ID: "01JCONTACT", WorkspaceID: "ws", Timezone: "America/Chicago", Phones: []string{"+13125550100"}},
		conv:     &inbox.Conversation{ID: "01JCONV", WorkspaceID: "ws", ContactID: "01JCONTACT"},
		settings: inbox.WorkspaceSettings{QuietHours: map[inbox.Channel]inbox.QuietHours{inbox.ChannelSMS: {Start: "21:00", End: "08:00"}}},
	}
	var schedules scheduleRecorder
	dispatch := inbox.NewDispatch(store, fixedClock(now), map[inbox.Channel]inbox.ChannelSender{inbox.ChannelSMS: refusingSender{t}}, &schedules)

	got, err := dispatch.Deliver(context.Background(), "ws", inbox.ProviderRef{ConversationID: "01JCONV", MessageID: "01JMSG"})
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2026, 12, 8, 8, 0, 0, 0, chicago)
	if got.Status != inbox.MessageScheduled || got.SendAt == nil || !got.SendAt.Equal(want) || got.Timezone != "America/Chicago" {
		t.Errorf("delivered %s at %v (%s), want scheduled for %v", got.Status, got.SendAt, got.Timezone, want)
	}
	if len(schedules) != 1 || !schedules[0].At.Equal(want) || schedules[0].Ref.MessageID != "01JMSG" {
		t.Errorf("schedules = %+v, want one for the message at %v", schedules, want)
	}
	if len(store.updates) != 1 || store.updates[0] != inbox.MessageScheduled {
		t.Errorf("status writes = %v, want one: scheduled", store.updates)
	}
}
