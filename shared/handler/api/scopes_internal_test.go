package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/parley-inbox/parley/shared/auth"
	"github.com/parley-inbox/parley/shared/handler/problem"
	"github.com/parley-inbox/parley/shared/inbox"
)

// asActor authenticates every request as one caller.
type asActor inbox.Actor

func (a asActor) Authenticate(*http.Request) (inbox.Actor, error) { return inbox.Actor(a), nil }

func newTestAPI(t *testing.T, actor inbox.Actor) *API {
	t.Helper()
	return New(nil, nil, nil, Exports{}, asActor(actor), nil)
}

var pathParam = regexp.MustCompile(`\{[^}]+\}`)

// A misspelt pattern in routeScopes would close its route to machine
// clients without anyone noticing.
func TestRouteScopesNameRoutes(t *testing.T) {
	a := newTestAPI(t, inbox.Actor{})
	for pattern, scope := range routeScopes {
		method, path, _ := strings.Cut(pattern, " ")
		r := httptest.NewRequest(method, pathParam.ReplaceAllString(path, "x1"), nil)
		if _, got := a.mux.Handler(r); got != pattern {
			t.Errorf("routeScopes[%q] matches route %q, not itself", pattern, got)
		}
		if scope != anyScope && !auth.KnownScope(scope) {
			t.Errorf("routeScopes[%q] = %q, not a scope of auth.Scopes", pattern, scope)
		}
	}
}

// The document lists, for each operation, the scope a machine client
// needs (its machineClient security alternative), and no other.
func TestRouteScopesMatchDocument(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(OpenAPIDocument, &doc); err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for path, item := range doc.Paths {
		for method, raw := range item {
			if method == "parameters" || strings.HasPrefix(path, "/chat/") || strings.HasPrefix(path, "/webhooks/") {
				continue
			}
			var op struct {
				Security []map[string][]string `json:"security"`
			}
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatalf("%s %s: %v", method, path, err)
			}
			pattern := strings.ToUpper(method) + " " + path
			var scopes []string
			machine := false
			for _, req := range op.Security {
				if s, ok := req["machineClient"]; ok {
					machine, scopes = true, s
				}
			}
			want, open := routeScopes[pattern]
			switch {
			case !machine && open:
				t.Errorf("%s: routeScopes opens it with %q, the document not to machine clients", pattern, want)
			case machine && !open:
				t.Errorf("%s: the document opens it to machine clients with %v, routeScopes does not", pattern, scopes)
			case machine && want == anyScope && len(scopes) != 0:
				t.Errorf("%s: the document wants %v, routeScopes any scope", pattern, scopes)
			case machine && want != anyScope && !slices.Equal(scopes, []string{auth.FullScope(want)}):
				t.Errorf("%s: the document wants %v, routeScopes %q", pattern, scopes, auth.FullScope(want))
			}
			documented[pattern] = true
		}
	}
	for pattern := range routeScopes {
		if !documented[pattern] {
			t.Errorf("%s is in routeScopes but not in the document", pattern)
		}
	}
}

func TestMachineClientScopes(t *testing.T) {
	bot := inbox.Actor{WorkspaceID: "ws1", UserID: inbox.MachineUserID("c1"), Role: inbox.RoleAgent,
		ClientID: "c1", Name: "CRM", Scopes: "messages.write conversations.read"}
	tests := []struct {
		name          string
		actor         inbox.Actor
		method, path  string
		status        int
		code, field   string
		wantChallenge string
	}{
		{"a scope for another route", bot, "POST", "/contacts", 403, string(problem.KindInsufficientScope), "scope", "parley/contacts.write"},
		{"no scope at all", inbox.Actor{WorkspaceID: "ws1", UserID: "client:c2", Role: inbox.RoleAgent, ClientID: "c2"},
			"GET", "/conversations/x1/messages", 403, string(problem.KindInsufficientScope), "scope", "parley/conversations.read"},
		{"an admin route", bot, "PATCH", "/workspace", 403, string(inbox.KindForbidden), "", ""},
		{"a route outside the table", bot, "GET", "/campaigns", 403, string(inbox.KindForbidden), "", ""},
	}
	for _, tt := range tests {
		w := httptest.NewRecorder()
		newTestAPI(t, tt.actor).ServeHTTP(w, httptest.NewRequest(tt.method, tt.path, nil))
		var p problem.Problem
		_ = json.Unmarshal(w.Body.Bytes(), &p)
		if w.Code != tt.status || p.Code != tt.code || p.Field != tt.field {
			t.Errorf("%s: %d %+v, want %d code %s field %q", tt.name, w.Code, p, tt.status, tt.code, tt.field)
		}
		if got := w.Header().Get("WWW-Authenticate"); tt.wantChallenge != "" && !strings.Contains(got, `scope="`+tt.wantChallenge+`"`) {
			t.Errorf("%s: WWW-Authenticate %q, want scope %s", tt.name, got, tt.wantChallenge)
		}
	}

	// Any machine token may ask who it is; a person's answer is unchanged.
	for _, tt := range []struct {
		actor inbox.Actor
		want  string
	}{
		{bot, `{"clientId":"c1","name":"CRM","role":"agent","scopes":["messages.write","conversations.read"],"userId":"client:c1","workspaceId":"ws1"}`},
		{inbox.Actor{WorkspaceID: "ws1", UserID: "u1", Role: inbox.RoleAdmin}, `{"role":"admin","userId":"u1","workspaceId":"ws1"}`},
	} {
		w := httptest.NewRecorder()
		newTestAPI(t, tt.actor).ServeHTTP(w, httptest.NewRequest("GET", "/me", nil))
		if got := strings.TrimSpace(w.Body.String()); w.Code != 200 || got != tt.want {
			t.Errorf("GET /me as %+v = %d %s, want 200 %s", tt.actor, w.Code, got, tt.want)
		}
	}
}

// People are never limited by scopes: checkScope lets every user through.
func TestScopesDoNotLimitPeople(t *testing.T) {
	for pattern := range routeScopes {
		if err := checkScope(pattern, inbox.Actor{WorkspaceID: "ws", UserID: "u", Role: inbox.RoleAgent}); err != nil {
			t.Errorf("%s refused a person: %v", pattern, err)
		}
	}
	if err := checkScope("PATCH /workspace", inbox.Actor{WorkspaceID: "ws", UserID: "u", Role: inbox.RoleAdmin}); err != nil {
		t.Errorf("an admin route refused an admin: %v", err)
	}
}
