package dynamo_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/parley-inbox/parley/shared/adapter/dynamo"
	"github.com/parley-inbox/parley/shared/inbox"
)

func TestListsMembersCountedOncePagedAndScoped(t *testing.T) {
	svc, _, admin := newService(t)
	ctx := context.Background()
	agent := inbox.Actor{WorkspaceID: admin.WorkspaceID, UserID: "agent-1", Role: inbox.RoleAgent}
	ids := make([]string, 250)
	for i := range ids {
		c, err := svc.CreateContact(ctx, admin, inbox.ContactInput{Name: fmt.Sprintf("Member %03d", i)})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = c.ID
	}
	l, err := svc.CreateList(ctx, agent, inbox.ListInput{Name: "VIPs", Description: "best customers"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateList(ctx, agent, inbox.ListInput{Name: " "}); !inbox.IsKind(err, inbox.KindInvalid) {
		t.Fatalf("a blank name: %v, want invalid", err)
	}

	// 250 members in 3 calls that overlap: 0-119, 100-219 (+ a repeat), 200-249.
	var meter dynamo.Meter
	mctx := dynamo.WithMeter(ctx, &meter)
	added, already := 0, 0
	for _, chunk := range [][]string{ids[0:120], append(slices.Clone(ids[100:220]), ids[150]), ids[200:250]} {
		res, err := svc.AddToList(mctx, agent, l.ID, inbox.AddToListInput{ContactIDs: chunk})
		if err != nil {
			t.Fatal(err)
		}
		added += res.Added
		already += res.AlreadyMembers
	}
	if added != 250 || already != 40 {
		t.Fatalf("added %d, already members %d; want 250 and 40", added, already)
	}
	t.Logf("adding: %.1f RRU and %.1f WRU for 290 ids (250 new), %.2f WRU per member added", meter.Read, meter.Write, meter.Write/250)
	got, err := svc.GetList(ctx, agent, l.ID)
	if err != nil || got.Members != 250 {
		t.Fatalf("GetList: %+v, %v; want 250 members", got, err)
	}

	seen := map[string]bool{}
	pages := 0
	p := inbox.PageRequest{Limit: 100}
	for {
		var pm dynamo.Meter
		page, err := svc.ListMembers(dynamo.WithMeter(ctx, &pm), agent, l.ID, p)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if pages == 1 {
			t.Logf("a page of 100 members: %.1f RRU in %d calls (GetList + one Query)", pm.Read, pm.Calls)
		}
		for _, m := range page.Items {
			if seen[m.ContactID] || !strings.HasPrefix(m.Name, "Member ") {
				t.Fatalf("member %+v repeated or nameless", m)
			}
			seen[m.ContactID] = true
		}
		if page.NextCursor == "" {
			break
		}
		p.Cursor = page.NextCursor
	}
	if len(seen) != 250 || pages != 3 {
		t.Fatalf("paged %d distinct members in %d pages, want 250 in 3", len(seen), pages)
	}

	for _, id := range []string{ids[0], ids[0], ids[1]} { // the repeat is a no-op
		if err := svc.RemoveFromList(ctx, agent, l.ID, id); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := svc.GetList(ctx, agent, l.ID); got.Members != 248 {
		t.Fatalf("after removing 2: %d members, want 248", got.Members)
	}

	// Another workspace's contact is refused, naming it; nothing is added.
	other, _, otherAdmin := newService(t)
	stranger, err := other.CreateContact(ctx, otherAdmin, inbox.ContactInput{Name: "Stranger"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = svc.AddToList(ctx, agent, l.ID, inbox.AddToListInput{ContactIDs: []string{ids[0], stranger.ID}})
	if !inbox.IsKind(err, inbox.KindInvalid) || !strings.Contains(err.Error(), stranger.ID) {
		t.Fatalf("another workspace's contact: %v, want invalid naming %s", err, stranger.ID)
	}
	if got, _ := svc.GetList(ctx, agent, l.ID); got.Members != 248 {
		t.Fatalf("after a refused add: %d members, want 248", got.Members)
	}

	renamed := "VIP customers"
	if u, err := svc.UpdateList(ctx, agent, l.ID, inbox.ListPatch{Name: &renamed}); err != nil || u.Name != renamed || u.Members != 248 || u.Version != 2 {
		t.Fatalf("UpdateList: %+v, %v", u, err)
	}
	if page, err := svc.ListLists(ctx, agent, inbox.PageRequest{}); err != nil || len(page.Items) != 1 || page.Items[0].Name != renamed {
		t.Fatalf("ListLists: %+v, %v", page, err)
	}

	if err := svc.DeleteList(ctx, agent, l.ID); !inbox.IsKind(err, inbox.KindForbidden) {
		t.Fatalf("an agent deleting a list: %v, want forbidden", err)
	}
	if err := svc.DeleteList(ctx, admin, l.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.GetList(ctx, agent, l.ID); !inbox.IsKind(err, inbox.KindNotFound) {
		t.Fatalf("a deleted list: %v, want not found", err)
	}
	if _, err := svc.Store.ListMembers(ctx, admin.WorkspaceID, l.ID, inbox.PageRequest{Limit: 10}); err != nil {
		t.Fatal(err)
	} else if page, _ := svc.Store.ListMembers(ctx, admin.WorkspaceID, l.ID, inbox.PageRequest{Limit: 10}); len(page.Items) != 0 {
		t.Fatalf("members left after delete: %d", len(page.Items))
	}
}
