package e2e_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/parley-inbox/parley/shared/inbox"
)

// noContactWith asserts that no contact holds the phone: the refused
// request wrote nothing.
func noContactWith(t *testing.T, phone, why string) {
	t.Helper()
	if found := searchContacts(t, tok.admin, url.Values{"phone": {phone}}); len(found) != 0 {
		t.Errorf("%s: a contact with %s was written anyway: %v", why, phone, contactIDs(found))
	}
}

// Malformed, oversized or mistyped bodies are refused with a problem, and
// nothing is written.
func TestBadBodies(t *testing.T) {
	t.Parallel()
	type tc struct {
		name        string
		body        func(phone string) string
		hdr         []string
		status      int
		code, field string
		viaStart    bool // POST /conversations instead of /contacts
	}
	cases := []tc{
		{name: "malformed JSON", body: func(p string) string { return `{"name":"Bad","phones":["` + p + `"],}` }, status: 400, code: "invalid", field: ""},
		{name: "cut short", body: func(p string) string { return `{"name":"Bad","phones":["` + p + `"]` }, status: 400, code: "invalid", field: ""},
		{name: "empty body", body: func(p string) string { return `` }, status: 400, code: "invalid", field: ""},
		{name: "two values", body: func(p string) string { return `{"name":"Bad","phones":["` + p + `"]} {}` }, status: 400, code: "invalid", field: ""},
		{name: "not an object", body: func(p string) string { return `["` + p + `"]` }, status: 400, code: "invalid", field: anyField},
		{name: "wrong type", body: func(p string) string { return `{"name":42,"phones":["` + p + `"]}` }, status: 400, code: "invalid", field: "name"},
		{name: "unknown field", body: func(p string) string { return `{"name":"Bad","phones":["` + p + `"],"nickname":"B"}` }, status: 400, code: "invalid", field: "nickname"},
		{name: "unknown field on start", body: func(p string) string { return `{"phone":"` + p + `","nickname":"B"}` }, status: 400, code: "invalid", field: "nickname", viaStart: true},
		{name: "over 1 MB", body: func(p string) string {
			return `{"name":"Big","phones":["` + p + `"],"tags":["` + strings.Repeat("a", 1<<20) + `"]}`
		}, status: 413, code: "too_large", field: ""},
		{name: "over 1 MB with a key", body: func(p string) string {
			return `{"name":"Big","phones":["` + p + `"],"tags":["` + strings.Repeat("a", 1<<20) + `"]}`
		}, hdr: []string{"Idempotency-Key", "big-" + uniq()}, status: 413, code: "too_large", field: ""},
		{name: "text/plain", body: func(p string) string { return `{"name":"Bad","phones":["` + p + `"]}` }, hdr: []string{"Content-Type", "text/plain"}, status: 415, code: "unsupported_media_type", field: ""},
		{name: "form encoded", body: func(p string) string { return "name=Bad&phones=" + url.QueryEscape(p) }, hdr: []string{"Content-Type", "application/x-www-form-urlencoded"}, status: 415, code: "unsupported_media_type", field: ""},
		{name: "no content type", body: func(p string) string { return `{"name":"Bad","phones":["` + p + `"]}` }, hdr: []string{"Content-Type", ""}, status: 415, code: "unsupported_media_type", field: ""},
		{name: "text/plain on start", body: func(p string) string { return `{"phone":"` + p + `"}` }, hdr: []string{"Content-Type", "text/plain"}, status: 415, code: "unsupported_media_type", field: "", viaStart: true},
		{name: "invalid phone", body: func(p string) string { return `{"name":"Bad","phones":["` + p + `","+1 555"]}` }, status: 400, code: "invalid", field: "phones"},
		{name: "missing token", body: func(p string) string { return `{"name":"Bad","phones":["` + p + `"]}` }, hdr: []string{"Authorization", ""}, status: 401, code: "unauthorized", field: ""},
		{name: "garbage token", body: func(p string) string { return `{"name":"Bad","phones":["` + p + `"]}` }, hdr: []string{"Authorization", "Bearer garbage"}, status: 401, code: "unauthorized", field: ""},
		{name: "not a bearer token", body: func(p string) string { return `{"name":"Bad","phones":["` + p + `"]}` }, hdr: []string{"Authorization", "Basic YWRtaW46YWRtaW4="}, status: 401, code: "unauthorized", field: ""},
		{name: "expired token", body: func(p string) string { return `{"name":"Bad","phones":["` + p + `"]}` }, hdr: []string{"Authorization", "Bearer " + tok.expired}, status: 401, code: "unauthorized", field: ""},
		{name: "forged token", body: func(p string) string { return `{"name":"Bad","phones":["` + p + `"]}` }, hdr: []string{"Authorization", "Bearer " + tok.forged}, status: 401, code: "unauthorized", field: ""},
		{name: "token on start missing", body: func(p string) string { return `{"phone":"` + p + `"}` }, hdr: []string{"Authorization", ""}, status: 401, code: "unauthorized", field: "", viaStart: true},
	}
	for _, c := range cases {
		phone := newPhone(t)
		path := "/contacts"
		if c.viaStart {
			path = "/conversations"
		}
		r := do(t, "POST", path, tok.agent, c.body(phone), c.hdr...)
		if r.Status != c.status {
			t.Errorf("%s: POST %s → %s, want %d", c.name, path, r, c.status)
			continue
		}
		wantProblem(t, r, c.status, c.code, c.field)
		noContactWith(t, phone, c.name)
	}

	// A patch refused for its body changes nothing.
	contact := createContact(t, tok.agent, map[string]any{"name": "Patch target " + uniq()})
	for _, c := range []struct {
		body, ct string
		status   int
	}{
		{`{"name":"x",}`, "application/json", 400},
		{`{"nickname":"x"}`, "application/json", 400},
		{`{"name":"x"}`, "text/plain", 415},
		{`{"name":"` + strings.Repeat("x", 1<<20) + `"}`, "application/json", 413},
	} {
		r := do(t, "PATCH", "/contacts/"+contact.ID, tok.agent, c.body, "Content-Type", c.ct)
		if r.Status != c.status {
			t.Errorf("PATCH %.40s as %s → %s, want %d", c.body, c.ct, r, c.status)
		}
	}
	if got := getContact(t, tok.agent, contact.ID); got.Version != contact.Version || got.Name != contact.Name {
		t.Errorf("refused patches changed the contact: %+v", got)
	}

	// A content type with parameters is still JSON.
	ok := do(t, "POST", "/contacts", tok.agent, map[string]any{"name": "Charset " + uniq()}, "Content-Type", "application/json; charset=utf-8")
	wantStatus(t, ok, http.StatusCreated)
}

// Every route needs a valid token.
func TestAuthRequired(t *testing.T) {
	t.Parallel()
	conv := newConversation(t, tok.agent, "Auth "+uniq())
	routes := []struct {
		method, path string
		body         any
	}{
		{"GET", "/me", nil},
		{"GET", "/workspace", nil},
		{"GET", "/users", nil},
		{"GET", "/contacts?name=a", nil},
		{"GET", "/contacts/" + conv.ContactID, nil},
		{"GET", "/conversations", nil},
		{"GET", "/conversations/" + conv.ID, nil},
		{"GET", "/conversations/" + conv.ID + "/messages", nil},
		{"POST", "/conversations/" + conv.ID + "/messages", map[string]any{"channel": "sms", "body": "sneaky"}},
		{"POST", "/conversations/" + conv.ID + "/archive", nil},
		{"DELETE", "/conversations/" + conv.ID, nil},
		{"GET", "/labels", nil},
	}
	for _, rt := range routes {
		for _, token := range []string{"", "garbage", tok.expired, tok.forged} {
			r := do(t, rt.method, rt.path, token, rt.body)
			wantProblem(t, r, http.StatusUnauthorized, "unauthorized", "")
		}
	}
	got := getConversation(t, tok.agent, conv.ID)
	if got.Archived || got.Version != conv.Version {
		t.Errorf("unauthenticated requests changed the conversation: %+v", got)
	}
	if msgs := listMessages(t, tok.agent, conv.ID, ""); len(msgs) != 0 {
		t.Errorf("an unauthenticated post wrote %d messages", len(msgs))
	}
}

// Agents cannot use admin routes, and nothing changes when they try.
func TestAgentOnAdminRoutes(t *testing.T) {
	t.Parallel()
	before := wantJSON[Workspace](t, do(t, "GET", "/workspace", tok.admin, nil), http.StatusOK)
	wantProblem(t, do(t, "PATCH", "/workspace", tok.agent, map[string]any{"name": "Hijacked " + uniq()}), http.StatusForbidden, "forbidden", "")
	wantProblem(t, do(t, "PATCH", "/workspace", tok.agent, map[string]any{"timezone": "UTC"}), http.StatusForbidden, "forbidden", "")
	after := wantJSON[Workspace](t, do(t, "GET", "/workspace", tok.admin, nil), http.StatusOK)
	if after.Name != before.Name || after.Settings.Timezone != before.Settings.Timezone {
		t.Errorf("an agent's PATCH /workspace changed it: %+v -> %+v", before, after)
	}

	name := "Agent label " + uniq()
	wantProblem(t, do(t, "POST", "/labels", tok.agent, map[string]any{"name": name}), http.StatusForbidden, "forbidden", "")
	labels := wantJSON[Page[Label]](t, do(t, "GET", "/labels", tok.agent, nil), http.StatusOK)
	for _, l := range labels.Items {
		if l.Name == name {
			t.Errorf("an agent's refused POST /labels created %+v", l)
		}
	}
	l := createLabel(t, "Admin label "+uniq())
	wantProblem(t, do(t, "PATCH", "/labels/"+l.ID, tok.agent, map[string]any{"name": "Renamed " + uniq()}), http.StatusForbidden, "forbidden", "")
	wantProblem(t, do(t, "DELETE", "/labels/"+l.ID, tok.agent, nil), http.StatusForbidden, "forbidden", "")
	if got := wantJSON[Label](t, do(t, "GET", "/labels/"+l.ID, tok.agent, nil), http.StatusOK); got.Name != l.Name || got.Version != l.Version {
		t.Errorf("refused label changes changed it: %+v -> %+v", l, got)
	}

	conv := newConversation(t, tok.agent, "Agent delete "+uniq())
	wantProblem(t, do(t, "DELETE", "/conversations/"+conv.ID, tok.agent, nil), http.StatusForbidden, "forbidden", "")
	getConversation(t, tok.agent, conv.ID)

	user := "new-user-" + uniq()
	wantProblem(t, do(t, "PUT", "/users/"+user, tok.agent, map[string]any{"name": "Mallory", "email": "mallory@example.com", "role": "admin"}), http.StatusForbidden, "forbidden", "")
	users := wantJSON[Page[struct {
		ID string `json:"id"`
	}]](t, do(t, "GET", "/users", tok.admin, nil), http.StatusOK)
	for _, u := range users.Items {
		if u.ID == user {
			t.Errorf("an agent's refused PUT /users created %s", user)
		}
	}
	// The other tenant's agent is refused the same way.
	wantProblem(t, do(t, "POST", "/labels", tok.otherAgent, map[string]any{"name": name}), http.StatusForbidden, "forbidden", "")
}

// Ids from the demo workspace do not exist for another tenant: 404 on every
// route, and nothing changes.
func TestTenantIsolation(t *testing.T) {
	t.Parallel()
	conv := newConversation(t, tok.agent, "Tenant "+uniq())
	postMessage(t, tok.agent, conv.ID, "sms", "private")
	label := createLabel(t, "Tenant "+uniq())
	contact := getContact(t, tok.agent, conv.ContactID)

	notFound := []struct {
		method, path string
		body         any
	}{
		{"GET", "/contacts/" + contact.ID, nil},
		{"PATCH", "/contacts/" + contact.ID, map[string]any{"name": "Stolen"}},
		{"POST", "/contacts/" + contact.ID + "/opt-out", map[string]any{"channel": "sms"}},
		{"GET", "/conversations/" + conv.ID, nil},
		{"POST", "/conversations/" + conv.ID + "/archive", nil},
		{"POST", "/conversations/" + conv.ID + "/unread", nil},
		{"POST", "/conversations/" + conv.ID + "/complete", nil},
		{"PUT", "/conversations/" + conv.ID + "/assignee", map[string]any{"assigneeId": intruder}},
		{"DELETE", "/conversations/" + conv.ID + "/assignee", nil},
		{"DELETE", "/conversations/" + conv.ID + "/labels/" + label.ID, nil},
		{"GET", "/conversations/" + conv.ID + "/messages", nil},
		{"POST", "/conversations/" + conv.ID + "/messages", map[string]any{"channel": "sms", "body": "injected"}},
		{"POST", "/conversations/" + conv.ID + "/comments", map[string]any{"body": "injected"}},
		{"DELETE", "/conversations/" + conv.ID, nil},
		{"GET", "/labels/" + label.ID, nil},
		{"PATCH", "/labels/" + label.ID, map[string]any{"name": "Stolen " + uniq()}},
		{"DELETE", "/labels/" + label.ID, nil},
	}
	for _, rt := range notFound {
		r := do(t, rt.method, rt.path, tok.other, rt.body)
		if r.Status != http.StatusNotFound {
			// Assigning an unknown user may fail validation first; that
			// still must not reveal or change anything.
			if rt.method == "PUT" && r.Status == http.StatusBadRequest {
				continue
			}
			t.Errorf("as %s: %s, want 404", otherWS, r)
			continue
		}
		wantProblem(t, r, http.StatusNotFound, "not_found", "")
	}
	// The other tenant's inbox and searches do not contain demo's data.
	if convIDs(listInbox(t, tok.other, ""))[conv.ID] {
		t.Errorf("%s's inbox lists demo's %s", otherWS, conv.ID)
	}
	for _, l := range wantJSON[Page[Label]](t, do(t, "GET", "/labels", tok.other, nil), http.StatusOK).Items {
		if l.ID == label.ID || l.WorkspaceID != otherWS {
			t.Errorf("%s's labels include %+v", otherWS, l)
		}
	}
	// Nothing changed in demo.
	after := getConversation(t, tok.agent, conv.ID)
	if after.Version != conv.Version+1 || after.Archived || after.Status != "open" || after.AssigneeID != "" {
		t.Errorf("the other tenant changed demo's conversation: %+v", after)
	}
	if msgs := listMessages(t, tok.agent, conv.ID, ""); len(msgs) != 1 {
		t.Errorf("demo's thread has %d messages, want 1", len(msgs))
	}
	if c := getContact(t, tok.agent, contact.ID); c.Version != contact.Version || c.Name != contact.Name || len(c.Consent) != 0 {
		t.Errorf("the other tenant changed demo's contact: %+v", c)
	}
	if l := wantJSON[Label](t, do(t, "GET", "/labels/"+label.ID, tok.agent, nil), http.StatusOK); l.Version != label.Version {
		t.Errorf("the other tenant changed demo's label: %+v", l)
	}
}

// Tokens the server signed but whose claims are unusable are refused.
func TestTokenClaims(t *testing.T) {
	t.Parallel()
	issue := func(ws, user string, role inbox.Role) string {
		t.Helper()
		s, err := devTokens.Issue(ws, user, role, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	// In neither group: authenticated but not allowed (403).
	wantProblem(t, do(t, "GET", "/me", issue(demoWS, demoAgent, "viewer"), nil), http.StatusForbidden, "forbidden", "")
	// A workspace id that could forge a key, no subject, or no workspace: 401.
	for _, bad := range []string{
		issue(demoWS+"#CONV#x", demoAdmin, inbox.RoleAdmin),
		issue(demoWS, "", inbox.RoleAdmin),
		issue("", demoAdmin, inbox.RoleAdmin),
	} {
		wantProblem(t, do(t, "GET", "/conversations", bad, nil), http.StatusUnauthorized, "unauthorized", "")
	}
	// "Bearer" is required, with the token after one space.
	wantProblem(t, do(t, "GET", "/me", "", nil, "Authorization", tok.admin), http.StatusUnauthorized, "unauthorized", "")
}

// Admins manage the team; assignment follows it.
func TestTeamMembers(t *testing.T) {
	t.Parallel()
	id := "user-" + uniq()
	email := id + "@Example.com"
	u := wantJSON[struct {
		ID, WorkspaceID, Name, Email, Role string
	}](t, do(t, "PUT", "/users/"+id, tok.admin, map[string]any{"name": "Nia New", "email": email, "role": "agent"}), http.StatusOK)
	if u.ID != id || u.WorkspaceID != demoWS || u.Email != strings.ToLower(email) || u.Role != "agent" {
		t.Errorf("PUT /users/%s = %+v", id, u)
	}
	conv := newConversation(t, tok.agent, "Team "+uniq())
	got := wantJSON[Conversation](t, do(t, "PUT", "/conversations/"+conv.ID+"/assignee", tok.agent, map[string]any{"assigneeId": id}), http.StatusOK)
	if got.AssigneeID != id {
		t.Errorf("assigning the new member: assigneeId = %q, want %q", got.AssigneeID, id)
	}
	for _, bad := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"name": "X", "email": "x@example.com", "role": "owner"}, "role"},
		{map[string]any{"name": "X", "email": "nope", "role": "agent"}, "email"},
	} {
		wantProblem(t, do(t, "PUT", "/users/"+id+"-bad", tok.admin, bad.body), http.StatusBadRequest, "invalid", bad.field)
	}
	// The other tenant cannot see demo's team member, nor assign to them.
	wantProblem(t, do(t, "PUT", "/conversations/"+conv.ID+"/assignee", tok.other, map[string]any{"assigneeId": id}), http.StatusBadRequest, "invalid", "assigneeId")
}

// Every list validates limit the same way: 1 to 100, else 400 naming it.
func TestListLimitsValidated(t *testing.T) {
	t.Parallel()
	conv := newConversation(t, tok.agent, "Limits "+uniq())
	for _, path := range []string{
		"/conversations?",
		"/conversations/" + conv.ID + "/messages?",
		"/contacts?name=lim&",
		"/conversations/search?q=lim&",
	} {
		for _, limit := range []string{"0", "101", "ten", "-1"} {
			r := do(t, "GET", path+"limit="+limit, tok.agent, nil)
			if r.Status != http.StatusBadRequest {
				t.Errorf("GET %slimit=%s → %d, want 400 with field limit (as GET /conversations does)", path, limit, r.Status)
				continue
			}
			wantProblem(t, r, http.StatusBadRequest, "invalid", "limit")
		}
	}
}
