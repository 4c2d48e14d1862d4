package dynamo_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/parley-inbox/parley/shared/adapter/dynamo"
	"github.com/parley-inbox/parley/shared/dev/dynamotest"
	"github.com/parley-inbox/parley/shared/dev/inboxtest"
	"github.com/parley-inbox/parley/shared/inbox"
)

// crashingDB fails the Nth write call, as a Lambda killed mid-request
// would: before the write reaches DynamoDB, or after it did (the response
// is lost).
type crashingDB struct {
	dynamo.API
	failAt int64
	after  bool
	writes atomic.Int64
}

var errCrash = errors.New("simulated crash")

func (d *crashingDB) write(do func() error) error {
	n := d.writes.Add(1)
	if n != d.failAt {
		return do()
	}
	if d.after {
		_ = do()
	}
	return errCrash
}

func (d *crashingDB) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (out *dynamodb.PutItemOutput, err error) {
	err = d.write(func() (e error) { out, e = d.API.PutItem(ctx, in, o...); return e })
	return out, err
}

func (d *crashingDB) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (out *dynamodb.UpdateItemOutput, err error) {
	err = d.write(func() (e error) { out, e = d.API.UpdateItem(ctx, in, o...); return e })
	return out, err
}

func (d *crashingDB) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, o ...func(*dynamodb.Options)) (out *dynamodb.DeleteItemOutput, err error) {
	err = d.write(func() (e error) { out, e = d.API.DeleteItem(ctx, in, o...); return e })
	return out, err
}

func (d *crashingDB) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, o ...func(*dynamodb.Options)) (out *dynamodb.BatchWriteItemOutput, err error) {
	err = d.write(func() (e error) { out, e = d.API.BatchWriteItem(ctx, in, o...); return e })
	return out, err
}

func (d *crashingDB) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (out *dynamodb.TransactWriteItemsOutput, err error) {
	err = d.write(func() (e error) { out, e = d.API.TransactWriteItems(ctx, in, o...); return e })
	return out, err
}

// claimsFixture is a workspace on a fresh table, reachable through a clean
// store and through stores whose client crashes.
type claimsFixture struct {
	client *dynamodb.Client
	table  string
	store  *dynamo.Store
	svc    inboxtest.UseCases
	actor  inbox.Actor
}

func newClaimsFixture(t *testing.T) *claimsFixture {
	t.Helper()
	client, table := dynamotest.Table(t)
	f := &claimsFixture{client: client, table: table, store: dynamo.New(client, table, []byte("test-cursor-secret"))}
	f.svc = inboxtest.New(f.store, inboxtest.Deps{})
	f.actor = inbox.Actor{WorkspaceID: inbox.NewID(time.Now()), UserID: "admin-1", Role: inbox.RoleAdmin}
	w := &inbox.Workspace{ID: f.actor.WorkspaceID, Name: "Acme", Settings: inbox.WorkspaceSettings{ConversationDeletion: true, Timezone: "UTC"}}
	if err := f.store.PutWorkspace(context.Background(), w); err != nil {
		t.Fatal(err)
	}
	return f
}

// crashing returns a service whose failAt-th write crashes.
func (f *claimsFixture) crashing(failAt int64, after bool) (inboxtest.UseCases, *crashingDB) {
	db := &crashingDB{API: f.client, failAt: failAt, after: after}
	return inboxtest.New(dynamo.New(db, f.table, []byte("test-cursor-secret")), inboxtest.Deps{}), db
}

// contactWithHandles creates a contact with a phone, an email and n web
// chat handles, added a few at a time as visitors would add them.
func (f *claimsFixture) contactWithHandles(t *testing.T, phone string, n int) *inbox.Contact {
	t.Helper()
	ctx := context.Background()
	c, err := f.svc.CreateContact(ctx, f.actor, inbox.ContactInput{Name: "Many", Phones: []string{phone}, Emails: []string{"many@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	for len(c.Handles) < n {
		prev := *c
		next := *c
		next.Handles = append([]string(nil), c.Handles...)
		for i := 0; i < 20 && len(next.Handles) < n; i++ {
			next.Handles = append(next.Handles, inbox.Handle(inbox.ChannelWebchat, inbox.NewID(time.Now())))
		}
		if err := f.store.UpdateContact(ctx, &prev, &next); err != nil {
			t.Fatalf("adding handles: %v", err)
		}
		c = &next
	}
	return c
}

// A contact holding more claims than one transaction can carry still gets
// a conversation, its inbound messages are filed, and its conversation can
// be deleted and started afresh.
func TestContactWithManyClaimsKeepsItsThread(t *testing.T) {
	f := newClaimsFixture(t)
	ctx := context.Background()
	const phone = "+14155550170"
	c := f.contactWithHandles(t, phone, 150)

	in, err := f.svc.Ingest(ctx, sms(f.actor.WorkspaceID, phone, "SM-many-1", "hello"))
	if err != nil {
		t.Fatalf("inbound SMS for a contact with %d claims: %v", len(c.Handles)+2, err)
	}
	conv := in.Conversation
	if conv.ContactID != c.ID {
		t.Fatalf("filed under contact %s, want %s", conv.ContactID, c.ID)
	}
	// Every claim routes to the thread. The oldest handle's link was left
	// for later: routing falls back to the contact's, and repairs it.
	oldest := inbox.Correspondent{Handle: c.Handles[0]}
	if _, linked, err := f.store.FindCorrespondent(ctx, f.actor.WorkspaceID, oldest); err != nil || linked != "" {
		t.Fatalf("the oldest handle links %q (%v), want no link yet", linked, err)
	}
	chat := inbox.Inbound{WorkspaceID: f.actor.WorkspaceID, Channel: inbox.ChannelWebchat, Kind: inbox.KindMessage,
		ProviderID: "webchat-1", From: oldest, Body: "from the widget"}
	if got, err := f.svc.Ingest(ctx, chat); err != nil || got.Conversation.ID != conv.ID {
		t.Fatalf("chat from the oldest handle = %v, %v; want conversation %s", got, err, conv.ID)
	}
	if _, linked, err := f.store.FindCorrespondent(ctx, f.actor.WorkspaceID, oldest); err != nil || linked != conv.ID {
		t.Errorf("after routing, the oldest handle links %q (%v), want %s", linked, err, conv.ID)
	}

	if err := f.svc.DeleteConversation(ctx, f.actor, conv.ID); err != nil {
		t.Fatalf("delete the conversation of a contact with many claims: %v", err)
	}
	f.wantGone(t, conv.ID, c.ID)
	again, err := f.svc.Ingest(ctx, sms(f.actor.WorkspaceID, phone, "SM-many-2", "are you there?"))
	if err != nil {
		t.Fatalf("inbound SMS after the delete: %v", err)
	}
	if again.Conversation.ID == conv.ID || again.Conversation.ContactID != c.ID {
		t.Errorf("after the delete the SMS went to %s of %s, want a new thread of %s", again.Conversation.ID, again.Conversation.ContactID, c.ID)
	}
}

// wantGone checks a deleted conversation left nothing behind: no items
// under it, and neither the contact nor any claim pointing at it.
func (f *claimsFixture) wantGone(t *testing.T, convID, contactID string) {
	t.Helper()
	ctx := context.Background()
	ws := f.actor.WorkspaceID
	out, err := f.client.Query(ctx, &dynamodb.QueryInput{
		TableName:                 &f.table,
		KeyConditionExpression:    aws.String("PK = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": dynamo.S("WS#" + ws + "#CONV#" + convID)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Items) != 0 {
		t.Errorf("%d items remain under the deleted conversation", len(out.Items))
	}
	c, err := f.store.GetContact(ctx, ws, contactID)
	if err != nil {
		t.Fatal(err)
	}
	if c.ConversationID == convID {
		t.Errorf("the contact still links the deleted conversation %s", convID)
	}
	for _, from := range senders(c) {
		if _, linked, err := f.store.FindCorrespondent(ctx, ws, from); err != nil || linked == convID {
			t.Errorf("claim %+v links %q (%v) after the delete", from, linked, err)
		}
	}
}

func senders(c *inbox.Contact) []inbox.Correspondent {
	var out []inbox.Correspondent
	for _, p := range c.Phones {
		out = append(out, inbox.Correspondent{Phone: p})
	}
	for _, e := range c.Emails {
		out = append(out, inbox.Correspondent{Email: e})
	}
	for _, h := range c.Handles {
		out = append(out, inbox.Correspondent{Handle: h})
	}
	return out
}

// A delete that crashes at any write is finished by repeating it, and
// the contact's messages are filed meanwhile: never refused for good.
func TestInterruptedDeleteFinishesOnRetry(t *testing.T) {
	for failAt := int64(1); ; failAt++ {
		var done bool
		for _, after := range []bool{false, true} {
			name := fmt.Sprintf("write%d/before", failAt)
			if after {
				name = fmt.Sprintf("write%d/after", failAt)
			}
			t.Run(name, func(t *testing.T) {
				f := newClaimsFixture(t)
				ctx := context.Background()
				phone := fmt.Sprintf("+1415555%04d", 200+failAt)
				c := f.contactWithHandles(t, phone, 3)
				first, err := f.svc.Ingest(ctx, sms(f.actor.WorkspaceID, phone, "SM-a", "first"))
				if err != nil {
					t.Fatal(err)
				}
				for i := range 30 {
					if _, err := f.svc.Ingest(ctx, sms(f.actor.WorkspaceID, phone, fmt.Sprintf("SM-b%d", i), "more")); err != nil {
						t.Fatal(err)
					}
				}
				conv := first.Conversation

				crashing, db := f.crashing(failAt, after)
				err = crashing.DeleteConversation(ctx, f.actor, conv.ID)
				if db.writes.Load() < failAt {
					done = true // the delete made fewer writes: every point is covered
					if err != nil {
						t.Fatalf("uninterrupted delete: %v", err)
					}
					return
				}
				if err == nil && !after {
					t.Fatalf("the delete succeeded though write %d crashed", failAt)
				}

				// An inbound message meanwhile is filed somewhere live.
				mid, err := f.svc.Ingest(ctx, sms(f.actor.WorkspaceID, phone, "SM-mid", "during the delete"))
				if err != nil {
					t.Fatalf("inbound SMS after a delete crashed at write %d: %v", failAt, err)
				}
				if got, err := f.svc.GetConversation(ctx, f.actor, mid.Conversation.ID); err != nil {
					t.Fatalf("the SMS was filed in %s, which is not readable: %v", mid.Conversation.ID, err)
				} else if got.ContactID != c.ID {
					t.Fatalf("the SMS was filed under contact %s, want %s", got.ContactID, c.ID)
				}

				// Repeating the delete finishes it.
				err = f.svc.DeleteConversation(ctx, f.actor, conv.ID)
				if err != nil && !(inbox.IsKind(err, inbox.KindNotFound) && mid.Conversation.ID != conv.ID) {
					t.Fatalf("repeated delete: %v", err)
				}
				if mid.Conversation.ID == conv.ID {
					// The crash came before the delete took hold; the repeat took the SMS too.
					f.wantGone(t, conv.ID, c.ID)
					return
				}
				f.wantGoneBut(t, conv.ID, c.ID, mid.Conversation.ID)
			})
		}
		if done || t.Failed() || failAt > 40 {
			return
		}
	}
}

// wantGoneBut is wantGone where the contact has moved on to a new thread.
func (f *claimsFixture) wantGoneBut(t *testing.T, convID, contactID, newID string) {
	t.Helper()
	f.wantGone(t, convID, contactID)
	c, err := f.store.GetContact(context.Background(), f.actor.WorkspaceID, contactID)
	if err != nil {
		t.Fatal(err)
	}
	if c.ConversationID != newID {
		t.Errorf("the contact links %q, want the new thread %s", c.ConversationID, newID)
	}
}
