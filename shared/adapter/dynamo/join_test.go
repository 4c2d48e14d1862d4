package dynamo_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/parley-inbox/parley/shared/dev/signing"
	"github.com/parley-inbox/parley/shared/inbox"
)

// A web chat join (the visitor proved a customer's email) that crashes at
// any write is finished by repeating it: the chat's handle ends with the
// customer, never with nobody, so a retry cannot mint a stray contact and
// strand the visitor's thread.
func TestInterruptedJoinFinishesOnRetry(t *testing.T) {
	const secret = "join-test-identity-secret-0123456789"
	for failAt := int64(1); ; failAt++ {
		var done bool
		for _, after := range []bool{false, true} {
			t.Run(fmt.Sprintf("write%d/after=%v", failAt, after), func(t *testing.T) {
				f := newClaimsFixture(t)
				ctx := context.Background()
				w, err := f.store.GetWorkspace(ctx, f.actor.WorkspaceID)
				if err != nil {
					t.Fatal(err)
				}
				w.Settings.WebChatIdentitySecret = secret
				if err := f.store.PutWorkspace(ctx, w); err != nil {
					t.Fatal(err)
				}
				addr := fmt.Sprintf("join%d@example.com", failAt)
				customer, err := f.svc.CreateContact(ctx, f.actor, inbox.ContactInput{Name: "Customer", Emails: []string{addr}})
				if err != nil {
					t.Fatal(err)
				}
				handle := inbox.Handle(inbox.ChannelWebchat, inbox.NewID(time.Now()))
				visitor := handle[len("webchat:"):]
				if _, err := f.svc.Ingest(ctx, inbox.Inbound{WorkspaceID: f.actor.WorkspaceID, Channel: inbox.ChannelWebchat,
					Kind: inbox.KindMessage, ProviderID: visitor + ":m1", From: inbox.Correspondent{Handle: handle}, Body: "hello from the chat"}); err != nil {
					t.Fatal(err)
				}

				crashing, db := f.crashing(failAt, after)
				_, err = crashing.IdentifyVisitor(ctx, f.actor.WorkspaceID, handle, addr, signing.WebChatIdentity(secret, addr))
				if db.writes.Load() < failAt {
					done = true // the join made fewer writes: every point is covered
					if err != nil {
						t.Fatalf("uninterrupted join: %v", err)
					}
					return
				}
				if _, err := f.svc.IdentifyVisitor(ctx, f.actor.WorkspaceID, handle, addr, signing.WebChatIdentity(secret, addr)); err != nil {
					t.Fatalf("repeated join after a crash at write %d: %v", failAt, err)
				}
				owner, convID, err := f.store.FindCorrespondent(ctx, f.actor.WorkspaceID, inbox.Correspondent{Handle: handle})
				if err != nil || owner != customer.ID {
					t.Fatalf("after the repeat the chat's handle belongs to %q (%v), want the customer %s", owner, err, customer.ID)
				}
				got, err := f.svc.GetContact(ctx, f.actor, customer.ID)
				if err != nil || !containsString(got.VerifiedHandles, handle) {
					t.Fatalf("customer = %+v (%v), want %s among its verified handles", got, err, handle)
				}
				if convID == "" {
					convID = got.ConversationID
				}
				page, err := f.svc.ListMessages(ctx, f.actor, convID, inbox.PageRequest{})
				if err != nil {
					t.Fatal(err)
				}
				var found bool
				for _, m := range page.Items {
					found = found || m.Body == "hello from the chat"
				}
				if !found {
					t.Errorf("the visitor's message is not in the customer's thread %s", convID)
				}
			})
		}
		if done || failAt > 30 {
			return
		}
	}
}

func containsString(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
