package main

import (
	"context"
	"fmt"
	"time"

	"github.com/parley-inbox/parley/shared/adapter/dynamo"
	"github.com/parley-inbox/parley/shared/inbox"
)

// measureAssignment prices routing a new inbound conversation by a rule,
// as functions/sequences does from the conversation's event: off the
// webhook's path.
func (b *bench) measureAssignment(ctx context.Context, ws string) {
	desk := inbox.NewDesk(b.store, inbox.SystemClock{}, nil, nil)
	admin := inbox.Actor{WorkspaceID: ws, UserID: "bench-admin", Role: inbox.RoleAdmin}
	for _, u := range []string{"bench-ana", "bench-ben"} {
		check(b.store.PutUser(ctx, &inbox.User{ID: u, WorkspaceID: ws, Name: u, Email: u + "@example.com", Role: inbox.RoleAgent}))
		_, err := desk.SetAvailability(ctx, admin, u, inbox.AvailabilityOnline)
		check(err)
	}
	name, users, strategy := "Bench", []string{"bench-ana", "bench-ben"}, inbox.StrategyRoundRobin
	rule, err := desk.CreateAssignmentRule(ctx, admin, inbox.RuleInput{Name: &name, UserIDs: &users, Strategy: &strategy})
	check(err)
	res, err := inbox.NewIntake(b.store, inbox.SystemClock{}).Ingest(ctx, inbox.Inbound{WorkspaceID: ws, Channel: inbox.ChannelSMS, Kind: inbox.KindMessage,
		ProviderID: twilioSID("SMbenchassign"), From: inbox.Correspondent{Phone: "+14155550192"}, Body: "Hello, is anyone there?"})
	check(err)
	e := inbox.Event{Type: inbox.EventConversationUpdated, WorkspaceID: ws, ConversationID: res.Conversation.ID, Conversation: res.Conversation, Changes: []string{"lastMessage"}}
	var m dynamo.Meter
	check(inbox.NewAssigner(b.store, inbox.SystemClock{}).HandleEvent(dynamo.WithMeter(ctx, &m), e))
	c, err := b.store.GetConversation(ctx, ws, res.Conversation.ID)
	check(err)
	if c.AssigneeID == "" {
		check(fmt.Errorf("the bench's rule assigned nothing"))
	}
	b.rows = append(b.rows, row{op: "assignment: a new inbound conversation routed (off path)", read: m.Read, write: m.Write, calls: m.Calls})
	check(desk.DeleteAssignmentRule(ctx, admin, rule.ID))
}

// measureWebhookDelivery prices one event delivered to one subscription,
// as functions/integrations does from the bus.
func (b *bench) measureWebhookDelivery(ctx context.Context, ws string) {
	hooks := inbox.NewIntegrations(b.store, inbox.SystemClock{}, okReceiver{}, nil, nil, nil)
	hooks.AllowHTTP = true
	admin := inbox.Actor{WorkspaceID: ws, UserID: "bench-admin", Role: inbox.RoleAdmin}
	url, types := "https://hooks.example.com/parley", []inbox.EventType{inbox.EventMessageReceived}
	sub, err := hooks.CreateWebhookSubscription(ctx, admin, inbox.WebhookSubscriptionInput{URL: &url, EventTypes: &types})
	check(err)
	e := inbox.Event{ID: inbox.NewID(time.Now()), Type: inbox.EventMessageReceived, WorkspaceID: ws, OccurredAt: time.Now().UTC(),
		ConversationID: inbox.NewID(time.Now()), Body: "Hello"}
	var m dynamo.Meter
	check(hooks.HandleEvent(dynamo.WithMeter(ctx, &m), e))
	b.rows = append(b.rows, row{op: "outbound webhook: an event delivered to one subscription", read: m.Read, write: m.Write, calls: m.Calls})
	check(hooks.DeleteWebhookSubscription(ctx, admin, sub.ID))
}

// okReceiver is an integrator answering 200 at once: the bench prices
// DynamoDB.
type okReceiver struct{}

func (okReceiver) CheckURL(context.Context, string) error { return nil }

func (okReceiver) Post(context.Context, inbox.WebhookRequest) inbox.WebhookResponse {
	return inbox.WebhookResponse{StatusCode: 200, Latency: 30 * time.Millisecond, Body: "ok"}
}
