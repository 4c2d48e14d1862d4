package dynamo_test

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-inbox/parley/shared/inbox"
)

// The address book pages in name order across the name shards: names in
// several letters, a digit and a non-ASCII letter, with page sizes that end
// pages inside shards, at their ends, and across empty ones.
func TestAddressBookPagesAcrossNameShards(t *testing.T) {
	svc, _, actor := newService(t)
	ctx := context.Background()
	names := []string{"Ann", "anna", "Ann Lee", "Ann!", "Bob", "Zed", "zoe", "Émile", "Ólafur", "42 Club", "Carl", "Cleo", "Mia", "Ann-Marie"}
	for _, n := range names {
		if _, err := svc.CreateContact(ctx, actor, inbox.ContactInput{Name: n}); err != nil {
			t.Fatal(err)
		}
	}
	// A contact with only a phone has no name and is not in the book.
	if _, err := svc.CreateContact(ctx, actor, inbox.ContactInput{Phones: []string{"+14155550177"}}); err != nil {
		t.Fatal(err)
	}
	want := slices.Clone(names)
	sort.Slice(want, func(i, j int) bool { return inbox.NameKey(want[i]) < inbox.NameKey(want[j]) })
	for _, limit := range []int{1, 2, 3, 5, 100} {
		var got []string
		p := inbox.PageRequest{Limit: limit}
		for pages := 0; ; pages++ {
			if pages > len(names)+2 {
				t.Fatalf("limit %d: more pages than contacts", limit)
			}
			page, err := svc.ListContacts(ctx, actor, inbox.ContactQuery{}, p)
			if err != nil {
				t.Fatalf("limit %d: %v", limit, err)
			}
			if len(page.Items) > limit {
				t.Fatalf("limit %d: page of %d", limit, len(page.Items))
			}
			for _, c := range page.Items {
				got = append(got, c.Name)
			}
			if page.NextCursor == "" {
				break
			}
			p.Cursor = page.NextCursor
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("limit %d: address book = %q, want %q", limit, got, want)
		}
	}
	// Another workspace's book is empty, and a cursor does not cross over.
	other := actor
	other.WorkspaceID = inbox.NewID(time.Now())
	page, err := svc.ListContacts(ctx, other, inbox.ContactQuery{}, inbox.PageRequest{})
	if err != nil || len(page.Items) != 0 {
		t.Errorf("other workspace's book = %d contacts, %v", len(page.Items), err)
	}
	first, _ := svc.ListContacts(ctx, actor, inbox.ContactQuery{}, inbox.PageRequest{Limit: 2})
	if _, err := svc.ListContacts(ctx, other, inbox.ContactQuery{}, inbox.PageRequest{Limit: 2, Cursor: first.NextCursor}); inbox.ErrorKind(err) != inbox.KindInvalid {
		t.Errorf("another workspace's cursor: %v, want invalid", err)
	}
	// A name prefix pages within its shard, in order, with a cursor.
	var got []string
	p := inbox.PageRequest{Limit: 1}
	for {
		page, err := svc.ListContacts(ctx, actor, inbox.ContactQuery{Name: "AN"}, p)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range page.Items {
			got = append(got, c.Name)
		}
		if page.NextCursor == "" {
			break
		}
		p.Cursor = page.NextCursor
	}
	if want := "[Ann Ann Lee Ann! Ann-Marie anna]"; fmt.Sprint(got) != want {
		t.Errorf("prefix an = %v, want %s", got, want)
	}
	if page, err := svc.ListContacts(ctx, actor, inbox.ContactQuery{Name: "é"}, inbox.PageRequest{}); err != nil || len(page.Items) != 1 || page.Items[0].Name != "Émile" {
		t.Errorf("prefix é = %v, %v", page.Items, err)
	}
}

// Eight agents adding different tags at the same moment all win; adding
// one twice is a no-op; the catalog counts them.
func TestConcurrentTagAddsAllWin(t *testing.T) {
	svc, _, actor := newService(t)
	ctx := context.Background()
	c, err := svc.CreateContact(ctx, actor, inbox.ContactInput{Name: "Tagged", Tags: []string{"base"}})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := 0; i < 8; i++ {
		wg.Add(2)
		tag := fmt.Sprintf("t%d", i)
		go func() { defer wg.Done(); errs <- svc.AddContactTag(ctx, actor, c.ID, tag) }()
		go func() { defer wg.Done(); errs <- svc.AddContactTag(ctx, actor, c.ID, tag) }()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got, err := svc.GetContact(ctx, actor, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	tags := slices.Clone(got.Tags)
	sort.Strings(tags)
	if want := "[base t0 t1 t2 t3 t4 t5 t6 t7]"; fmt.Sprint(tags) != want {
		t.Errorf("tags = %v, want %s", tags, want)
	}
	if got.Version != c.Version+8 {
		t.Errorf("version = %d, want %d (one bump per tag added)", got.Version, c.Version+8)
	}
	// Concurrent removals of different tags all win too.
	wg = sync.WaitGroup{}
	for i := 0; i < 4; i++ {
		wg.Add(1)
		tag := fmt.Sprintf("t%d", i)
		go func() {
			defer wg.Done()
			if err := svc.RemoveContactTag(ctx, actor, c.ID, tag); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	got, _ = svc.GetContact(ctx, actor, c.ID)
	tags = slices.Clone(got.Tags)
	sort.Strings(tags)
	if want := "[base t4 t5 t6 t7]"; fmt.Sprint(tags) != want {
		t.Errorf("after removals tags = %v, want %s", tags, want)
	}
	page, err := svc.Tags(ctx, actor, "T", inbox.PageRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var cat []string
	for _, tc := range page.Items {
		cat = append(cat, fmt.Sprintf("%s:%d", tc.Name, tc.Count))
	}
	if want := "t4:1 t5:1 t6:1 t7:1"; strings.Join(cat, " ") != want {
		t.Errorf("catalog for prefix T = %q, want %q (removed tags at 0 are left out)", strings.Join(cat, " "), want)
	}
	if page, _ := svc.Tags(ctx, actor, "", inbox.PageRequest{}); len(page.Items) != 5 || page.Items[0].Name != "base" {
		t.Errorf("catalog = %v, want base (from create) and t4-t7", page.Items)
	}
	// The cap holds for single adds.
	many := make([]string, 50)
	for i := range many {
		many[i] = fmt.Sprintf("m%02d", i)
	}
	if _, err := svc.UpdateContact(ctx, actor, c.ID, inbox.ContactPatch{Tags: &many}); err != nil {
		t.Fatal(err)
	}
	if err := svc.AddContactTag(ctx, actor, c.ID, "one-too-many"); inbox.ErrorKind(err) != inbox.KindInvalid {
		t.Errorf("51st tag: %v, want invalid", err)
	}
	if err := svc.AddContactTag(ctx, actor, inbox.NewID(got.CreatedAt), "x"); inbox.ErrorKind(err) != inbox.KindNotFound {
		t.Errorf("tag on a missing contact: %v, want not found", err)
	}
}

// An update with a stale If-Match is refused with 412's kind and writes
// nothing; the current version goes through.
func TestIfMatchRefusesStaleVersions(t *testing.T) {
	svc, _, actor := newService(t)
	ctx := context.Background()
	c, err := svc.CreateContact(ctx, actor, inbox.ContactInput{Name: "Versioned"})
	if err != nil {
		t.Fatal(err)
	}
	stale := c.Version
	name := "Changed"
	if _, err := svc.UpdateContact(ctx, actor, c.ID, inbox.ContactPatch{Name: &name, IfMatch: &stale}); err != nil {
		t.Fatal(err)
	}
	other := "Lost update"
	_, err = svc.UpdateContact(ctx, actor, c.ID, inbox.ContactPatch{Name: &other, IfMatch: &stale})
	if inbox.ErrorKind(err) != inbox.KindPreconditionFailed {
		t.Fatalf("stale If-Match: %v, want precondition failed", err)
	}
	got, _ := svc.GetContact(ctx, actor, c.ID)
	if got.Name != "Changed" || got.Version != stale+1 {
		t.Errorf("after a refused update: %q v%d, want Changed v%d", got.Name, got.Version, stale+1)
	}
	// A tag add moves the version too, so an edit of the copy before it is refused.
	if err := svc.AddContactTag(ctx, actor, c.ID, "vip"); err != nil {
		t.Fatal(err)
	}
	v := got.Version
	if _, err := svc.UpdateContact(ctx, actor, c.ID, inbox.ContactPatch{Name: &other, IfMatch: &v}); inbox.ErrorKind(err) != inbox.KindPreconditionFailed {
		t.Errorf("If-Match from before a tag add: %v, want precondition failed", err)
	}
	// Labels and the workspace too.
	l, err := svc.CreateLabel(ctx, actor, inbox.LabelInput{Name: "Urgent", Color: "#ff0000"})
	if err != nil {
		t.Fatal(err)
	}
	lv := l.Version + 1
	color := "#00ff00"
	if _, err := svc.UpdateLabel(ctx, actor, l.ID, inbox.LabelPatch{Color: &color, IfMatch: &lv}); inbox.ErrorKind(err) != inbox.KindPreconditionFailed {
		t.Errorf("label stale If-Match: %v", err)
	}
	ws, _ := svc.Workspace(ctx, actor)
	wv := ws.Version + 1
	tz := "Europe/Paris"
	if _, err := svc.UpdateSettings(ctx, actor, inbox.WorkspaceSettingsPatch{Timezone: &tz, IfMatch: &wv}); inbox.ErrorKind(err) != inbox.KindPreconditionFailed {
		t.Errorf("workspace stale If-Match: %v", err)
	}
}

// An inbox row carries the contact's consent, kept in sync when it changes.
func TestInboxRowsCarryConsent(t *testing.T) {
	svc, _, actor := newService(t)
	ctx := context.Background()
	conv, _, err := svc.StartConversation(ctx, actor, inbox.StartInput{Phone: "+14155550178"})
	if err != nil {
		t.Fatal(err)
	}
	row := func() *inbox.Conversation {
		t.Helper()
		page, err := svc.Inbox(ctx, actor, inbox.InboxFilter{}, inbox.PageRequest{})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range page.Items {
			if c.ID == conv.ID {
				return c
			}
		}
		t.Fatalf("conversation %s is not in the inbox", conv.ID)
		return nil
	}
	if r := row(); len(r.Consent) != 0 || r.ConsentMessageSent {
		t.Errorf("new row consent = %v %v, want none recorded", r.Consent, r.ConsentMessageSent)
	}
	if _, err := svc.SetConsent(ctx, actor, conv.ContactID, "sms", inbox.ConsentOptedOut); err != nil {
		t.Fatal(err)
	}
	if r := row(); r.Consent[inbox.ChannelSMS] != inbox.ConsentOptedOut {
		t.Errorf("row consent after opt-out = %v, want sms opted_out", r.Consent)
	}
	if _, err := svc.SetConsent(ctx, actor, conv.ContactID, "sms", inbox.ConsentOptedIn); err != nil {
		t.Fatal(err)
	}
	if r := row(); r.Consent[inbox.ChannelSMS] != inbox.ConsentOptedIn {
		t.Errorf("row consent after opt-in = %v, want sms opted_in", r.Consent)
	}
}
