package e2e_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

type ContactList struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Members     int64  `json:"members"`
	Version     int64  `json:"version"`
}

type ListMember struct {
	ContactID string `json:"contactId"`
	Name      string `json:"name"`
}

type AddToListResult struct {
	Added          int `json:"added"`
	AlreadyMembers int `json:"alreadyMembers"`
}

func getList(t testing.TB, token, id string) ContactList {
	t.Helper()
	return wantJSON[ContactList](t, do(t, "GET", "/lists/"+id, token, nil), http.StatusOK)
}

// An agent makes a static list, adds contacts in bulk (again: no double
// count), pages through the members, removes one; unknown and other
// workspaces' ids are refused by name; only an admin deletes the list.
func TestStaticListMembership(t *testing.T) {
	t.Parallel()
	u := uniq()
	l := wantJSON[ContactList](t, do(t, "POST", "/lists", tok.agent, map[string]any{"name": "VIPs " + u, "description": "best"}), http.StatusCreated)
	if l.Members != 0 || l.Version != 1 {
		t.Fatalf("created = %+v", l)
	}
	var ids []string
	for i := range 5 {
		ids = append(ids, createContact(t, tok.agent, map[string]any{"name": fmt.Sprintf("Member %d %s", i, u)}).ID)
	}
	path := "/lists/" + l.ID + "/contacts"
	if res := wantJSON[AddToListResult](t, do(t, "POST", path, tok.agent, map[string]any{"contactIds": ids[:3]}), http.StatusOK); res.Added != 3 || res.AlreadyMembers != 0 {
		t.Errorf("first add = %+v", res)
	}
	if res := wantJSON[AddToListResult](t, do(t, "POST", path, tok.agent, map[string]any{"contactIds": ids[1:]}), http.StatusOK); res.Added != 2 || res.AlreadyMembers != 2 {
		t.Errorf("overlapping add = %+v, want 2 added, 2 already members", res)
	}
	if got := getList(t, tok.agent, l.ID); got.Members != 5 {
		t.Errorf("members = %d, want 5", got.Members)
	}

	seen := map[string]bool{}
	q := url.Values{"limit": {"2"}}
	for pages := 0; ; pages++ {
		if pages > 3 {
			t.Fatal("more than 3 pages of 2 for 5 members")
		}
		page := wantJSON[Page[ListMember]](t, do(t, "GET", path+"?"+q.Encode(), tok.agent, nil), http.StatusOK)
		for _, m := range page.Items {
			if seen[m.ContactID] || !strings.HasSuffix(m.Name, u) {
				t.Errorf("member %+v repeated or misnamed", m)
			}
			seen[m.ContactID] = true
		}
		if page.NextCursor == "" {
			break
		}
		q.Set("cursor", page.NextCursor)
	}
	if len(seen) != 5 {
		t.Errorf("paged %d members, want 5", len(seen))
	}

	wantStatus(t, do(t, "DELETE", path+"/"+ids[0], tok.agent, nil), http.StatusNoContent)
	wantStatus(t, do(t, "DELETE", path+"/"+ids[0], tok.agent, nil), http.StatusNoContent)
	if got := getList(t, tok.agent, l.ID); got.Members != 4 {
		t.Errorf("after removing one: members = %d, want 4", got.Members)
	}

	stranger := createContact(t, tok.other, map[string]any{"name": "Stranger " + u})
	p := wantProblem(t, do(t, "POST", path, tok.agent, map[string]any{"contactIds": []string{ids[0], stranger.ID}}), http.StatusBadRequest, "invalid", "contactIds")
	if !strings.Contains(p.Detail, stranger.ID) {
		t.Errorf("the 400 does not name %s: %q", stranger.ID, p.Detail)
	}
	wantProblem(t, do(t, "POST", path, tok.agent, map[string]any{"contactIds": []string{}}), http.StatusBadRequest, "invalid", "contactIds")
	if got := getList(t, tok.agent, l.ID); got.Members != 4 {
		t.Errorf("after refused adds: members = %d, want 4", got.Members)
	}
	wantStatus(t, do(t, "GET", "/lists/"+l.ID, tok.other, nil), http.StatusNotFound)

	wantProblem(t, do(t, "DELETE", "/lists/"+l.ID, tok.agent, nil), http.StatusForbidden, "forbidden", "")
	wantStatus(t, do(t, "DELETE", "/lists/"+l.ID, tok.admin, nil), http.StatusNoContent)
	wantStatus(t, do(t, "GET", "/lists/"+l.ID, tok.agent, nil), http.StatusNotFound)
}
