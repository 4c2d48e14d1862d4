package e2e_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
)

// Issue 13, part 6: the address book and list hygiene.

type TagCount struct {
	Name  string `json:"name"`
	Count int64  `json:"count"`
}

// rowConsent is what an inbox row shows of its contact's consent.
type rowConsent struct {
	ID                 string            `json:"id"`
	ContactConsent     map[string]string `json:"contactConsent"`
	ConsentMessageSent bool              `json:"consentMessageSent"`
}

// walk pages through a list to its end, returning every item.
func walk[T any](t *testing.T, token, path string, q url.Values) (all []T, pages int) {
	t.Helper()
	for range 500 {
		page := wantJSON[Page[T]](t, do(t, "GET", path+"?"+q.Encode(), token, nil), http.StatusOK)
		all = append(all, page.Items...)
		pages++
		if page.NextCursor == "" {
			return all, pages
		}
		q.Set("cursor", page.NextCursor)
	}
	t.Fatalf("%s: more than 500 pages", path)
	return nil, 0
}

func TestAddressBookPagesInNameOrder(t *testing.T) {
	t.Parallel()
	u := strings.ToLower(uniq())
	// Names across letters (each its own name shard), a digit and a
	// non-ASCII first letter, created out of order.
	names := []string{"zz " + u, "Mm " + u, "aa " + u, "é " + u, "9 " + u, "Bb " + u, "mm2 " + u}
	ids := map[string]string{}
	for _, n := range names {
		ids[createContact(t, tok.agent, map[string]any{"name": n}).ID] = n
	}
	// The demo workspace is shared by the other tests: walk it all with
	// pages of 6 (fewer than ours) and check the order and that ours come in name order.
	all, pages := walk[Contact](t, tok.agent, "/contacts", url.Values{"limit": {"6"}})
	var ours []string
	seen := map[string]bool{}
	for i, c := range all {
		if seen[c.ID] {
			t.Errorf("contact %s (%q) listed twice", c.ID, c.Name)
		}
		seen[c.ID] = true
		if i > 0 && strings.ToLower(strings.TrimSpace(all[i-1].Name)) > strings.ToLower(strings.TrimSpace(c.Name)) {
			t.Errorf("%q listed after %q; want name order", c.Name, all[i-1].Name)
		}
		if _, ok := ids[c.ID]; ok {
			ours = append(ours, c.Name)
		}
	}
	want := slices.Clone(names)
	sort.Slice(want, func(i, j int) bool { return strings.ToLower(want[i]) < strings.ToLower(want[j]) })
	if fmt.Sprint(ours) != fmt.Sprint(want) {
		t.Errorf("our contacts in the book = %q, want %q", ours, want)
	}
	if pages < 2 {
		t.Errorf("the book came in %d page(s) of 6 for %d contacts; want a cursor", pages, len(all))
	}
	// Another workspace sees none of them, and the demo cursor is refused there.
	first := wantJSON[Page[Contact]](t, do(t, "GET", "/contacts?limit=1", tok.agent, nil), http.StatusOK)
	wantProblem(t, do(t, "GET", "/contacts?limit=1&cursor="+url.QueryEscape(first.NextCursor), tok.other, nil), http.StatusBadRequest, "invalid", "cursor")
}

func TestAddressBookSearchesPage(t *testing.T) {
	t.Parallel()
	u := strings.ToLower(uniq())
	prefix := "pg" + u
	var want []string
	for i := range 5 {
		c := newConversation(t, tok.agent, fmt.Sprintf("%s %d", prefix, i))
		want = append(want, c.ID)
	}
	// A name prefix (name= or its short form q=) pages with a cursor.
	for _, param := range []string{"name", "q"} {
		found, pages := walk[Contact](t, tok.agent, "/contacts", url.Values{param: {strings.ToUpper(prefix)}, "limit": {"2"}})
		if len(found) != 5 || pages != 3 {
			t.Errorf("%s=%s: %d contacts in %d pages, want 5 in 3", param, prefix, len(found), pages)
		}
		for i := 1; i < len(found); i++ {
			if found[i-1].Name > found[i].Name {
				t.Errorf("%s search out of order: %q before %q", param, found[i-1].Name, found[i].Name)
			}
		}
	}
	// Conversation search pages the same way.
	convs, pages := walk[Conversation](t, tok.agent, "/conversations/search", url.Values{"q": {prefix}, "limit": {"2"}})
	if got := convIDs(convs); len(got) != 5 || pages != 3 {
		t.Errorf("conversation search: %d in %d pages, want 5 in 3", len(got), pages)
	}
	for _, id := range want {
		if !convIDs(convs)[id] {
			t.Errorf("conversation %s missing from the search pages", id)
		}
	}
	// An exact phone is one page, without a cursor.
	phone := newPhone(t)
	createContact(t, tok.agent, map[string]any{"name": "Exact " + u, "phones": []string{phone}})
	page := wantJSON[Page[Contact]](t, do(t, "GET", "/contacts?"+url.Values{"phone": {phone}}.Encode(), tok.agent, nil), http.StatusOK)
	if len(page.Items) != 1 || page.NextCursor != "" {
		t.Errorf("phone search = %d items, cursor %q; want 1 and none", len(page.Items), page.NextCursor)
	}
	wantProblem(t, do(t, "GET", "/contacts?name=a&q=a", tok.agent, nil), http.StatusBadRequest, "invalid", "q")
}

func TestContactTagsOneAtATime(t *testing.T) {
	t.Parallel()
	u := strings.ToLower(uniq())
	c := createContact(t, tok.agent, map[string]any{"name": "Tags " + u, "tags": []string{"base" + u}})
	tagA, tagB := "Ac"+u, "ab"+u
	// Two agents add different tags at once: both keep theirs.
	for _, r := range concurrently(t, 2, func(i int) (*reply, error) {
		tag := []string{tagA, tagB}[i]
		return send(t, "PUT", "/contacts/"+c.ID+"/tags/"+url.PathEscape(tag), []string{tok.agent, tok.admin}[i], nil)
	}) {
		if r != nil {
			wantStatus(t, r, http.StatusNoContent)
		}
	}
	got := getContact(t, tok.agent, c.ID)
	if !containsStr(got.Tags, tagA) || !containsStr(got.Tags, tagB) || !containsStr(got.Tags, "base"+u) {
		t.Errorf("tags after two concurrent adds = %v", got.Tags)
	}
	// Adding again is a no-op 204; removing one keeps the rest.
	wantStatus(t, do(t, "PUT", "/contacts/"+c.ID+"/tags/"+tagA, tok.agent, nil), http.StatusNoContent)
	wantStatus(t, do(t, "DELETE", "/contacts/"+c.ID+"/tags/"+tagB, tok.agent, nil), http.StatusNoContent)
	wantStatus(t, do(t, "DELETE", "/contacts/"+c.ID+"/tags/"+tagB, tok.agent, nil), http.StatusNoContent)
	got = getContact(t, tok.agent, c.ID)
	if len(got.Tags) != 2 || containsStr(got.Tags, tagB) {
		t.Errorf("tags after re-add and removal = %v, want base and %s", got.Tags, tagA)
	}
	// The catalog: case-insensitive prefix, counts, no removed tags.
	cat, _ := walk[TagCount](t, tok.agent, "/tags", url.Values{"prefix": {"A"}, "limit": {"100"}})
	var mine []string
	for _, tc := range cat {
		if strings.HasSuffix(tc.Name, u) {
			mine = append(mine, fmt.Sprintf("%s:%d", tc.Name, tc.Count))
		}
	}
	if want := []string{tagA + ":1"}; fmt.Sprint(mine) != fmt.Sprint(want) {
		t.Errorf("catalog for prefix A = %v, want %v", mine, want)
	}
	if cat := wantJSON[Page[TagCount]](t, do(t, "GET", "/tags?prefix=BASE"+u, tok.agent, nil), http.StatusOK); len(cat.Items) != 1 || cat.Items[0].Count != 1 {
		t.Errorf("catalog for the create's tag = %v", cat.Items)
	}
	// Bad input: an over-long tag, an unknown contact, another workspace.
	wantProblem(t, do(t, "PUT", "/contacts/"+c.ID+"/tags/"+strings.Repeat("x", 65), tok.agent, nil), http.StatusBadRequest, "invalid", "tag")
	wantProblem(t, do(t, "PUT", "/contacts/"+ulidLike()+"/tags/x", tok.agent, nil), http.StatusNotFound, "not_found", "")
	wantProblem(t, do(t, "PUT", "/contacts/"+c.ID+"/tags/x", tok.other, nil), http.StatusNotFound, "not_found", "")
	if cat := wantJSON[Page[TagCount]](t, do(t, "GET", "/tags?prefix="+tagA, tok.other, nil), http.StatusOK); len(cat.Items) != 0 {
		t.Errorf("another workspace's catalog shows %v", cat.Items)
	}
}

func TestContactIfMatchConflictIs412(t *testing.T) {
	t.Parallel()
	c := createContact(t, tok.agent, map[string]any{"name": "Match " + uniq()})
	r := do(t, "GET", "/contacts/"+c.ID, tok.agent, nil)
	etag := r.Header.Get("ETag")
	if want := fmt.Sprintf("%q", fmt.Sprint(c.Version)); etag != want {
		t.Fatalf("ETag = %q, want %s", etag, want)
	}
	// Someone else changes it; our edit of the old copy is refused.
	updated := wantJSON[Contact](t, do(t, "PATCH", "/contacts/"+c.ID, tok.admin, map[string]any{"name": "First writer"}, "If-Match", etag), http.StatusOK)
	wantProblem(t, do(t, "PATCH", "/contacts/"+c.ID, tok.agent, map[string]any{"name": "Lost update"}, "If-Match", etag), http.StatusPreconditionFailed, "precondition_failed", "")
	if got := getContact(t, tok.agent, c.ID); got.Name != "First writer" || got.Version != updated.Version {
		t.Errorf("after the 412: %q v%d, want First writer v%d (nothing written)", got.Name, got.Version, updated.Version)
	}
	// A tag add moves the version too.
	wantStatus(t, do(t, "PUT", "/contacts/"+c.ID+"/tags/vip", tok.agent, nil), http.StatusNoContent)
	wantProblem(t, do(t, "PATCH", "/contacts/"+c.ID, tok.agent, map[string]any{"name": "x"}, "If-Match", fmt.Sprintf("%q", fmt.Sprint(updated.Version))), http.StatusPreconditionFailed, "precondition_failed", "")
	// The current ETag goes through; a malformed one is a 400.
	cur := do(t, "GET", "/contacts/"+c.ID, tok.agent, nil).Header.Get("ETag")
	wantStatus(t, do(t, "PATCH", "/contacts/"+c.ID, tok.agent, map[string]any{"name": "Second writer"}, "If-Match", cur), http.StatusOK)
	wantProblem(t, do(t, "PATCH", "/contacts/"+c.ID, tok.agent, map[string]any{"name": "x"}, "If-Match", "7"), http.StatusBadRequest, "invalid", "If-Match")
	// Labels: the same contract.
	l := createLabel(t, "IfMatch "+uniq())
	lr := do(t, "GET", "/labels/"+l.ID, tok.admin, nil)
	lt := lr.Header.Get("ETag")
	wantStatus(t, do(t, "PATCH", "/labels/"+l.ID, tok.admin, map[string]any{"color": "#00ff00"}, "If-Match", lt), http.StatusOK)
	wantProblem(t, do(t, "PATCH", "/labels/"+l.ID, tok.admin, map[string]any{"color": "#0000ff"}, "If-Match", lt), http.StatusPreconditionFailed, "precondition_failed", "")
}

func TestInboxRowsShowConsent(t *testing.T) {
	t.Parallel()
	conv := newConversation(t, tok.agent, "Consent row "+uniq())
	row := func() rowConsent {
		t.Helper()
		q := url.Values{"limit": {"100"}}
		rows, _ := walk[rowConsent](t, tok.agent, "/conversations", q)
		for _, r := range rows {
			if r.ID == conv.ID {
				return r
			}
		}
		t.Fatalf("conversation %s is not in the inbox", conv.ID)
		return rowConsent{}
	}
	if r := row(); len(r.ContactConsent) != 0 || r.ConsentMessageSent {
		t.Errorf("a new row's consent = %v, sent %v; want none (absent) and false", r.ContactConsent, r.ConsentMessageSent)
	}
	wantJSON[Contact](t, do(t, "POST", "/contacts/"+conv.ContactID+"/opt-out", tok.agent, map[string]any{"channel": "sms"}), http.StatusOK)
	if r := row(); r.ContactConsent["sms"] != "opted_out" {
		t.Errorf("row consent after an opt-out = %v, want sms opted_out", r.ContactConsent)
	}
	wantJSON[Contact](t, do(t, "POST", "/contacts/"+conv.ContactID+"/opt-in", tok.agent, map[string]any{"channel": "sms"}), http.StatusOK)
	if r := row(); r.ContactConsent["sms"] != "opted_in" {
		t.Errorf("row consent after an opt-in = %v, want sms opted_in", r.ContactConsent)
	}
}
