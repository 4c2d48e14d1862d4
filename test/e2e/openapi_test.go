package e2e_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// The API document is public: no token needed, and it parses as OpenAPI 3.1.
func TestOpenAPIDocumentIsPublic(t *testing.T) {
	t.Parallel()
	r := do(t, "GET", "/openapi.json", "", nil)
	wantStatus(t, r, http.StatusOK)
	if mt := r.mediaType(); mt != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", mt)
	}
	var raw map[string]any
	if err := json.Unmarshal(r.Body, &raw); err != nil {
		t.Fatalf("the document is not JSON: %v", err)
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(r.Body)
	if err != nil {
		t.Fatalf("kin-openapi cannot load the document: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1") || !doc.IsOpenAPI31OrLater() {
		t.Errorf("openapi = %q, want 3.1.x", doc.OpenAPI)
	}
	if oaDocErr != nil {
		t.Errorf("the served document does not validate: %v", oaDocErr)
	}
	// A token is not needed, and a bad one does not get in the way either.
	wantStatus(t, do(t, "GET", "/openapi.json", "garbage", nil), http.StatusOK)

	// Every route the suite calls must be documented; spot-check the
	// literal paths that share a prefix with templated ones.
	for _, c := range []struct{ method, path, op string }{
		{"GET", "/conversations/search?q=x", "searchConversations"},
		{"POST", "/conversations/bulk-archive", "bulkArchiveConversations"},
		{"GET", "/conversations/" + ulidLike(), "getConversation"},
	} {
		req, _ := http.NewRequest(c.method, "http://parley.test"+c.path, nil)
		route, _, err := oaRouter.FindRoute(req)
		if err != nil {
			t.Errorf("%s %s: %v", c.method, c.path, err)
			continue
		}
		if route.Operation.OperationID != c.op {
			t.Errorf("%s %s routes to %s, want %s", c.method, c.path, route.Operation.OperationID, c.op)
		}
	}
}

// /me tells the SPA who the token is for; /users and /workspace are the
// seeded team and settings.
func TestWhoAmIAndTeam(t *testing.T) {
	t.Parallel()
	me := wantJSON[map[string]string](t, do(t, "GET", "/me", tok.agent, nil), http.StatusOK)
	if me["workspaceId"] != demoWS || me["userId"] != demoAgent || me["role"] != "agent" {
		t.Errorf("GET /me as the demo agent = %v, want workspace %s, user %s, role agent", me, demoWS, demoAgent)
	}
	users := wantJSON[Page[struct {
		ID   string `json:"id"`
		Role string `json:"role"`
	}]](t, do(t, "GET", "/users", tok.agent, nil), http.StatusOK)
	roles := map[string]string{}
	for _, u := range users.Items {
		roles[u.ID] = u.Role
	}
	if roles[demoAdmin] != "admin" || roles[demoAgent] != "agent" {
		t.Errorf("GET /users roles = %v, want %s admin and %s agent", roles, demoAdmin, demoAgent)
	}
	ws := wantJSON[Workspace](t, do(t, "GET", "/workspace", tok.agent, nil), http.StatusOK)
	if ws.ID != demoWS || ws.Name == "" {
		t.Errorf("GET /workspace = %+v, want the demo workspace", ws)
	}
	// Invalid settings are refused, and change nothing.
	before := wantJSON[Workspace](t, do(t, "GET", "/workspace", tok.admin, nil), http.StatusOK)
	wantProblem(t, do(t, "PATCH", "/workspace", tok.admin, map[string]any{"timezone": "Bad/Zone"}), http.StatusBadRequest, "invalid", "timezone")
	wantProblem(t, do(t, "PATCH", "/workspace", tok.admin, map[string]any{"name": "  "}), http.StatusBadRequest, "invalid", "name")
	wantProblem(t, do(t, "PATCH", "/workspace", tok.admin, map[string]any{"deletion": true}), http.StatusBadRequest, "invalid", "deletion")
	if after := wantJSON[Workspace](t, do(t, "GET", "/workspace", tok.admin, nil), http.StatusOK); after.Name != before.Name || after.Settings.Timezone != before.Settings.Timezone {
		t.Errorf("refused PATCH /workspace changed it: %+v -> %+v", before, after)
	}
	// The other tenant has no workspace record; its other routes still work.
	wantProblem(t, do(t, "GET", "/workspace", tok.other, nil), http.StatusNotFound, "not_found", "")
	other := wantJSON[map[string]string](t, do(t, "GET", "/me", tok.other, nil), http.StatusOK)
	if other["workspaceId"] != otherWS {
		t.Errorf("GET /me as the intruder: workspaceId = %q, want %q", other["workspaceId"], otherWS)
	}
}

// captureT records errors instead of failing, for testing the harness itself.
type captureT struct {
	*testing.T
	mu   sync.Mutex
	errs []string
}

func (c *captureT) Errorf(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.errs = append(c.errs, fmt.Sprintf(format, args...))
}

// The validator must catch what the document forbids, or every other test
// proves nothing about the document.
func TestValidatorCatchesMismatches(t *testing.T) {
	t.Parallel()
	id := ulidLike()
	cases := []struct {
		name   string
		r      reply
		reqHdr http.Header
		body   string
	}{
		{"wrong enum", reply{Method: "GET", Path: "/conversations/" + id, Status: 200,
			Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{"id":"` + id + `","status":"closed"}`)}, nil, ""},
		{"undocumented status", reply{Method: "GET", Path: "/me", Status: 418,
			Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{}`)}, nil, ""},
		{"problem with a bad code", reply{Method: "GET", Path: "/labels/" + id, Status: 404,
			Header: http.Header{"Content-Type": {"application/problem+json"}}, Body: []byte(`{"type":"about:blank","title":"Not Found","status":404,"detail":"x","code":"vanished"}`)}, nil, ""},
		{"bad replay header", reply{Method: "POST", Path: "/contacts", Status: 201,
			Header: http.Header{"Content-Type": {"application/json"}, "Idempotent-Replayed": {"yes"}}, Body: []byte(`{}`)}, nil, ""},
		{"request with unknown field accepted", reply{Method: "POST", Path: "/labels", Status: 201,
			Header: http.Header{"Content-Type": {"application/json"}},
			Body:   []byte(`{"id":"` + id + `","workspaceId":"demo","name":"x","color":"#000000","description":"","createdAt":"2025-01-01T00:00:00Z","updatedAt":"2025-01-01T00:00:00Z","version":1}`)},
			http.Header{"Content-Type": {"application/json"}}, `{"name":"x","colour":"#000000"}`},
	}
	for _, c := range cases {
		ct := &captureT{T: t}
		r := c.r
		hdr := c.reqHdr
		if hdr == nil {
			hdr = http.Header{}
		}
		validate(ct, &r, hdr, []byte(c.body), c.body != "")
		if len(ct.errs) == 0 {
			t.Errorf("%s: the validator accepted %s", c.name, r.String())
		}
	}
	// And a right one passes.
	ct := &captureT{T: t}
	r := reply{Method: "GET", Path: "/me", Status: 200, Header: http.Header{"Content-Type": {"application/json"}},
		Body: []byte(`{"workspaceId":"demo","userId":"u","role":"agent"}`)}
	validate(ct, &r, http.Header{}, nil, false)
	if len(ct.errs) != 0 || r.Op != "getMe" {
		t.Errorf("a valid GET /me response: op %q, errors %v", r.Op, ct.errs)
	}
}
