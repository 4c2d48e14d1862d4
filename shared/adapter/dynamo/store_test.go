package dynamo_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/parley-inbox/parley/shared/adapter/dynamo"
	"github.com/parley-inbox/parley/shared/dev/dynamotest"
	"github.com/parley-inbox/parley/shared/dev/inboxtest"
	"github.com/parley-inbox/parley/shared/inbox"
)

func TestMain(m *testing.M) { dynamotest.Main(m) }

func newService(t *testing.T) (inboxtest.UseCases, *dynamo.Store, inbox.Actor) {
	t.Helper()
	store := dynamotest.Store(t)
	svc := inboxtest.New(store, inboxtest.Deps{})
	ctx := context.Background()
	actor := inbox.Actor{WorkspaceID: inbox.NewID(time.Now()), UserID: "admin-1", Role: inbox.RoleAdmin}
	w := &inbox.Workspace{ID: actor.WorkspaceID, Name: "Acme", Settings: inbox.WorkspaceSettings{ConversationDeletion: true, Timezone: "UTC"}}
	if err := store.PutWorkspace(ctx, w); err != nil {
		t.Fatal(err)
	}
	for _, u := range []*inbox.User{
		{ID: "admin-1", WorkspaceID: actor.WorkspaceID, Name: "Ada", Email: "ada@example.com", Role: inbox.RoleAdmin},
		{ID: "agent-1", WorkspaceID: actor.WorkspaceID, Name: "Bob", Email: "bob@example.com", Role: inbox.RoleAgent},
	} {
		if err := store.PutUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	return svc, store, actor
}

func TestPhoneIsUniquePerWorkspace(t *testing.T) {
	svc, _, actor := newService(t)
	ctx := context.Background()
	if _, err := svc.CreateContact(ctx, actor, inbox.ContactInput{Name: "Ann", Phones: []string{"+1 415 555 0100"}}); err != nil {
		t.Fatal(err)
	}
	_, err := svc.CreateContact(ctx, actor, inbox.ContactInput{Name: "Other", Phones: []string{"+14155550100"}})
	if got, want := inbox.ErrorKind(err), inbox.KindConflict; got != want {
		t.Fatalf("second contact with same phone: kind %q, want %q (err %v)", got, want, err)
	}
	other := actor
	other.WorkspaceID = inbox.NewID(time.Now())
	if _, err := svc.CreateContact(ctx, other, inbox.ContactInput{Name: "Ann", Phones: []string{"+14155550100"}}); err != nil {
		t.Fatalf("same phone in another workspace: %v", err)
	}
}

func TestConcurrentConversationUpdatesLoseNothing(t *testing.T) {
	svc, _, actor := newService(t)
	ctx := context.Background()
	conv, _, err := svc.StartConversation(ctx, actor, inbox.StartInput{Phone: "+14155550101"})
	if err != nil {
		t.Fatal(err)
	}
	var labels []string
	for i := range 4 {
		l, err := svc.CreateLabel(ctx, actor, inbox.LabelInput{Name: fmt.Sprintf("L%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		labels = append(labels, l.ID)
	}
	var wg sync.WaitGroup
	for _, id := range labels {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := svc.AddLabel(ctx, actor, conv.ID, id); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	got, err := svc.GetConversation(ctx, actor, conv.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Labels) != len(labels) {
		t.Fatalf("labels after concurrent adds = %v, want all of %v", got.Labels, labels)
	}
}

func TestPostMessageCosts(t *testing.T) {
	svc, _, actor := newService(t)
	ctx := context.Background()
	conv, _, err := svc.StartConversation(ctx, actor, inbox.StartInput{Phone: "+14155550102"})
	if err != nil {
		t.Fatal(err)
	}
	var m dynamo.Meter
	mctx := dynamo.WithMeter(ctx, &m)
	msg, _, err := svc.PostMessage(mctx, actor, conv.ID, inbox.OutboundInput{Channel: inbox.ChannelSMS, Body: "hello there"}, "key-1")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("post message: %.1f RRU %.1f WRU in %d calls", m.Read, m.Write, m.Calls)
	if m.Write > 4 {
		t.Errorf("post message cost %.1f WRU, budget 4", m.Write)
	}
	again, replayed, err := svc.PostMessage(ctx, actor, conv.ID, inbox.OutboundInput{Channel: inbox.ChannelSMS, Body: "hello there"}, "key-1")
	if err != nil {
		t.Fatal(err)
	}
	if !replayed || again.ID != msg.ID {
		t.Fatalf("retry with same key: replayed=%v id=%s, want replay of %s", replayed, again.ID, msg.ID)
	}
	page, err := svc.ListMessages(ctx, actor, conv.ID, inbox.PageRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 1 {
		t.Fatalf("thread has %d messages, want 1", len(page.Items))
	}
}
