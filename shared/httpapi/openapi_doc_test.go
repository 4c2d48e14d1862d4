package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/parley-inbox/parley/shared/inbox"
)

// These tests keep openapi.json valid and honest: it must load and validate
// as OpenAPI 3.1 with kin-openapi, every operation must be documented the
// same way, and responses shaped like the domain types must validate against
// it the way the end-to-end suite validates live responses.

const oaDocFile = "openapi.json"

func loadOpenAPI(t *testing.T) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(oaDocFile)
	if err != nil {
		t.Fatalf("load %s: %v", oaDocFile, err)
	}
	// Validate switches to OpenAPI 3.1 / JSON Schema 2020-12 rules by itself
	// when the document says "openapi": "3.1.x"; no loader option is needed.
	if err := doc.Validate(loader.Context, openapi3.EnableSchemaDefaultsValidation(), openapi3.EnableExamplesValidation()); err != nil {
		t.Fatalf("validate %s: %v", oaDocFile, err)
	}
	return doc
}

func TestOpenAPIDocumentValidates(t *testing.T) {
	doc := loadOpenAPI(t)
	if !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Fatalf("openapi version = %q, want 3.1.x", doc.OpenAPI)
	}
	if !doc.IsOpenAPI31OrLater() {
		t.Fatal("kin-openapi does not treat the document as OpenAPI 3.1")
	}
	scheme := doc.Components.SecuritySchemes["bearerAuth"]
	if scheme == nil || scheme.Value == nil {
		t.Fatal("components.securitySchemes.bearerAuth is missing")
	}
	if v := scheme.Value; v.Type != "http" || v.Scheme != "bearer" || v.BearerFormat != "JWT" {
		t.Errorf("bearerAuth = %s %s %s, want http bearer JWT", v.Type, v.Scheme, v.BearerFormat)
	}
	for _, name := range []string{
		"Workspace", "WorkspaceSettings", "User", "Contact", "ChannelConsent", "ConsentMessageStatus",
		"Conversation", "Message", "Attachment", "Label", "BulkResult", "Problem",
		"ConversationPage", "MessagePage",
		"WorkspaceSettingsPatch", "UserInput", "ContactInput", "ContactPatch", "ConsentChange", "StartInput",
		"BulkArchiveInput", "AssigneeInput", "OutboundInput", "CommentInput", "LabelInput", "LabelPatch",
	} {
		if doc.Components.Schemas[name] == nil {
			t.Errorf("components.schemas.%s is missing", name)
		}
	}
}

var oaCamelCase = regexp.MustCompile(`^[a-z][a-zA-Z0-9]*$`)

func TestOpenAPIOperations(t *testing.T) {
	doc := loadOpenAPI(t)
	tags := map[string]bool{"workspace": true, "users": true, "contacts": true, "conversations": true, "messages": true, "labels": true}
	ids := map[string]string{}
	count := 0
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			count++
			where := method + " " + path
			if op.OperationID == "" || !oaCamelCase.MatchString(op.OperationID) {
				t.Errorf("%s: operationId %q is not camelCase", where, op.OperationID)
			}
			if other, dup := ids[op.OperationID]; dup {
				t.Errorf("%s: operationId %q is also used by %s", where, op.OperationID, other)
			}
			ids[op.OperationID] = where
			if op.Summary == "" {
				t.Errorf("%s: no summary", where)
			}
			if len(op.Tags) == 0 {
				t.Errorf("%s: no tags", where)
			}
			for _, tag := range op.Tags {
				if !tags[tag] {
					t.Errorf("%s: unknown tag %q", where, tag)
				}
			}

			public := method == http.MethodGet && path == "/openapi.json"
			security := doc.Security
			if op.Security != nil {
				security = *op.Security
			}
			if public {
				if op.Security == nil || len(*op.Security) != 0 {
					t.Errorf("%s: want security: [] (public)", where)
				}
			} else {
				if !oaRequiresBearer(security) {
					t.Errorf("%s: does not require bearerAuth", where)
				}
				if op.Responses.Status(http.StatusUnauthorized) == nil {
					t.Errorf("%s: no 401 response", where)
				}
			}
			if op.Responses.Status(http.StatusInternalServerError) == nil {
				t.Errorf("%s: no 500 response", where)
			}
			if op.RequestBody != nil {
				for _, status := range []int{400, 413, 415} {
					if op.Responses.Status(status) == nil {
						t.Errorf("%s: has a body but no %d response", where, status)
					}
				}
				body := op.RequestBody.Value
				media := body.Content.Get("application/json")
				switch {
				case !body.Required:
					t.Errorf("%s: request body is not required", where)
				case media == nil || media.Schema == nil:
					t.Errorf("%s: request body is not application/json", where)
				case !oaClosedObject(media.Schema.Value):
					t.Errorf("%s: request body schema allows unknown fields; want additionalProperties: false", where)
				}
			}
			for code, resp := range op.Responses.Map() {
				if code[0] != '4' && code[0] != '5' || code == "429" {
					continue // 429 only ever comes from API Gateway's throttle
				}
				media := resp.Value.Content.Get("application/problem+json")
				if media == nil || media.Schema == nil || media.Schema.Ref != "#/components/schemas/Problem" {
					t.Errorf("%s: response %s is not application/problem+json with the Problem schema", where, code)
				}
			}
		}
	}
	if count != 36 {
		t.Errorf("found %d operations; the API has 36", count)
	}
}

func oaRequiresBearer(reqs openapi3.SecurityRequirements) bool {
	if len(reqs) == 0 {
		return false
	}
	// Every alternative must include bearerAuth, so none lets a caller skip it.
	for _, req := range reqs {
		if _, ok := req["bearerAuth"]; !ok {
			return false
		}
	}
	return true
}

func oaClosedObject(s *openapi3.Schema) bool {
	return s != nil && s.AdditionalProperties.Has != nil && !*s.AdditionalProperties.Has
}

// oaResponseValidator checks live responses against the document. It is the
// recipe the end-to-end suite uses: route the response's request with the
// gorillamux router, then openapi3filter.ValidateResponse, which enables
// JSON Schema 2020-12 by itself for a 3.1 document.
type oaResponseValidator struct {
	router routers.Router
}

func newOAResponseValidator(t *testing.T, doc *openapi3.T) *oaResponseValidator {
	t.Helper()
	// The document has no servers, so the router matches any scheme and host
	// on the bare path: the local server and the HTTP API's $default stage
	// alike. A deployment under a path prefix would need doc.Servers first.
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatalf("router: %v", err)
	}
	return &oaResponseValidator{router: router}
}

// check validates resp, whose body it reads and replaces.
func (v *oaResponseValidator) check(resp *http.Response) error {
	req := resp.Request
	route, pathParams, err := v.router.FindRoute(req)
	if err != nil {
		return fmt.Errorf("%s %s: no route: %w", req.Method, req.URL.Path, err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	input := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request:    req,
			PathParams: pathParams,
			Route:      route,
		},
		Status: resp.StatusCode,
		Header: resp.Header,
		Options: &openapi3filter.Options{
			IncludeResponseStatus: true, // an undocumented status is an error
			MultiError:            true,
		},
	}
	input.SetBodyBytes(body)
	return openapi3filter.ValidateResponse(context.Background(), input)
}

// oaSample is one canned response of the stub server.
type oaSample struct {
	status      int
	contentType string
	header      map[string]string
	body        any
}

// oaServe starts a stub server that answers "METHOD /path" with the sample
// registered for it, so responses go over a real connection as in the
// end-to-end suite.
func oaServe(t *testing.T, samples map[string]oaSample) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, ok := samples[r.Method+" "+r.URL.Path]
		if !ok {
			http.Error(w, "no sample", http.StatusTeapot)
			return
		}
		for k, v := range s.header {
			w.Header().Set(k, v)
		}
		if s.body == nil {
			w.WriteHeader(s.status)
			return
		}
		w.Header().Set("Content-Type", s.contentType)
		w.WriteHeader(s.status)
		_ = json.NewEncoder(w).Encode(s.body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func oaDo(t *testing.T, srv *httptest.Server, method, target string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+target, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer test")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

const (
	oaWorkspace = "01J9ZQ4V7KX3M8N2P5R6S7T8VW"
	oaConv      = "01J9ZQ5A1B2C3D4E5F6G7H8J9K"
	oaContact   = "01J9ZQ5B1B2C3D4E5F6G7H8J9K"
	oaLabel     = "01J9ZQ5C1B2C3D4E5F6G7H8J9K"
)

// Hand-made bodies, written as the API documents them.
var (
	oaConversationPage = map[string]any{
		"items": []any{
			map[string]any{
				"id": oaConv, "workspaceId": oaWorkspace, "contactId": oaContact,
				"contactName": "Ada Lovelace", "status": "open", "archived": false, "unread": true,
				"assigneeId": "3c5d2f4e-1a2b-4c3d-9e8f-0a1b2c3d4e5f", "labels": []any{oaLabel},
				"channels": []any{"sms", "email"}, "preview": "Is my order on its way?",
				"lastMessageAt": "2025-03-14T15:09:26.535Z", "lastMessageDirection": "in",
				"createdAt": "2025-03-14T15:00:00Z", "updatedAt": "2025-03-14T15:09:26.535Z", "version": 3,
			},
			map[string]any{
				"id": oaConv, "workspaceId": oaWorkspace, "contactId": oaContact,
				"contactName": "", "status": "complete", "archived": false, "unread": false,
				"labels": []any{}, "channels": []any{}, "preview": "",
				"createdAt": "2025-03-14T15:00:00Z", "updatedAt": "2025-03-14T15:00:00Z", "version": 0,
			},
		},
		"nextCursor": "eyJrIjoiMDFKOVpRNUExQjJDM0Q0RTVGNkc3SDhKOUsifQ",
	}
	oaNotFound = map[string]any{
		"type": "about:blank", "title": "Not Found", "status": 404,
		"detail": `conversation "01J9ZQ5A1B2C3D4E5F6G7H8J9K" not found`, "code": "not_found",
	}
)

func TestOpenAPIResponsesValidate(t *testing.T) {
	doc := loadOpenAPI(t)
	v := newOAResponseValidator(t, doc)

	now := time.Date(2025, 3, 14, 15, 9, 26, 535_000_000, time.UTC)
	contact := &inbox.Contact{
		ID: inbox.NewID(now), WorkspaceID: oaWorkspace, Name: "Ada", Phones: []string{"+14155550123"},
		CreatedAt: now, UpdatedAt: now,
	}
	contact.Normalize()
	optedOut := *contact
	optedOut.Consent = map[inbox.Channel]inbox.ChannelConsent{}
	optedOut.SetConsent(inbox.ChannelMMS, inbox.ConsentOptedOut, inbox.ConsentSourceManual, "user-1", now)
	optedOut.Marketing = map[inbox.Channel]bool{inbox.ChannelEmail: true}
	sentAt := now
	optedOut.ConsentMessage = inbox.ConsentMessageStatus{Sent: true, SentAt: &sentAt}
	conv := inbox.NewConversation(contact, now)
	msg := &inbox.Message{
		ID: inbox.NewID(now), WorkspaceID: oaWorkspace, ConversationID: conv.ID, Direction: inbox.DirectionOut,
		Kind: inbox.KindMessage, Channel: inbox.ChannelMMS, Body: "Here you go",
		Attachments: []inbox.Attachment{{URL: "https://example.com/a.jpg", ContentType: "image/jpeg", Size: 1234}},
		Status:      inbox.MessageQueued, AuthorID: "user-1", CreatedAt: now, UpdatedAt: now,
	}
	conv.RecordMessage(msg)
	comment := &inbox.Message{
		ID: inbox.NewID(now), WorkspaceID: oaWorkspace, ConversationID: conv.ID, Kind: inbox.KindComment,
		Internal: true, Body: "VIP", Attachments: []inbox.Attachment{}, Status: inbox.MessageReceived,
		AuthorID: "user-1", CreatedAt: now, UpdatedAt: now,
	}
	label := &inbox.Label{ID: oaLabel, WorkspaceID: oaWorkspace, Name: "VIP", Color: "#22c55e", CreatedAt: now, UpdatedAt: now}
	workspace := &inbox.Workspace{ID: oaWorkspace, Name: "Acme", Settings: inbox.WorkspaceSettings{Timezone: "UTC"}, CreatedAt: now, UpdatedAt: now}
	user := &inbox.User{ID: "user-1", WorkspaceID: oaWorkspace, Name: "Grace", Email: "grace@example.com", Role: inbox.RoleAdmin, CreatedAt: now}

	jsonOK := func(status int, body any) oaSample {
		return oaSample{status: status, contentType: "application/json; charset=utf-8", body: body}
	}
	problem := func(status int, code string) oaSample {
		return oaSample{status: status, contentType: "application/problem+json", body: map[string]any{
			"type": "about:blank", "title": http.StatusText(status), "status": status, "detail": "x", "code": code, "field": "limit",
		}}
	}
	samples := map[string]oaSample{
		// The two hand-made samples.
		"GET /conversations":           jsonOK(200, oaConversationPage),
		"GET /conversations/" + oaConv: {status: 404, contentType: "application/problem+json", body: oaNotFound},
		// Domain values as encoding/json writes them.
		"GET /workspace":                               jsonOK(200, workspace),
		"GET /me":                                      jsonOK(200, map[string]any{"workspaceId": oaWorkspace, "userId": "user-1", "role": "agent"}),
		"GET /users":                                   jsonOK(200, map[string]any{"items": []*inbox.User{user}}),
		"POST /contacts":                               jsonOK(201, contact),
		"GET /contacts/" + contact.ID:                  jsonOK(200, &optedOut),
		"POST /conversations":                          jsonOK(201, conv),
		"GET /conversations/search":                    jsonOK(200, inbox.Page[*inbox.Conversation]{Items: []*inbox.Conversation{conv}}),
		"POST /conversations/bulk-archive":             jsonOK(200, map[string]any{"results": []inbox.BulkResult{{ID: conv.ID, Status: 200}, {ID: "nope", Status: 404, Error: "conversation not found"}}}),
		"GET /conversations/" + conv.ID + "/messages":  jsonOK(200, inbox.Page[*inbox.Message]{Items: []*inbox.Message{msg, comment}, NextCursor: "abc"}),
		"POST /conversations/" + conv.ID + "/messages": {status: 201, contentType: "application/json", header: map[string]string{"Idempotent-Replayed": "true"}, body: msg},
		"POST /conversations/" + conv.ID + "/comments": jsonOK(201, comment),
		"GET /labels":                                  jsonOK(200, inbox.Page[*inbox.Label]{Items: []*inbox.Label{label}}),
		"DELETE /labels/" + oaLabel:                    {status: 204},
		"PATCH /workspace":                             problem(403, "forbidden"),
		"POST /labels":                                 problem(409, "conflict"),
		"GET /openapi.json":                            jsonOK(200, map[string]any{"openapi": "3.1.0"}),
		// What API Gateway answers itself in AWS.
		"GET /labels/" + oaLabel: {status: 401, contentType: "application/json", body: map[string]any{"message": "Unauthorized"}},
		"PUT /users/user-2":      {status: 429, contentType: "application/json", body: map[string]any{"message": "Too Many Requests"}},
	}
	srv := oaServe(t, samples)
	for key := range samples {
		method, path, _ := strings.Cut(key, " ")
		target := path
		if path == "/conversations" && method == http.MethodGet {
			target += "?status=open&limit=25"
		}
		if err := v.check(oaDo(t, srv, method, target)); err != nil {
			t.Errorf("%s: %v", key, err)
		}
	}

	// And the validator does catch what is wrong.
	bad := map[string]oaSample{
		"GET /conversations":           jsonOK(200, map[string]any{"items": []any{map[string]any{"id": oaConv, "status": "closed"}}}),
		"GET /conversations/" + oaConv: {status: 404, contentType: "application/problem+json", body: map[string]any{"type": "about:blank", "title": "Not Found", "status": 404, "detail": "x", "code": "missing"}},
		"GET /labels/" + oaLabel:       {status: 404, contentType: "application/json", body: oaNotFound},
		"GET /me":                      jsonOK(418, map[string]any{}),
		"GET /workspace":               jsonOK(200, map[string]any{"id": oaWorkspace, "name": "Acme", "settings": map[string]any{"conversationDeletion": false, "timezone": ""}, "createdAt": "yesterday", "updatedAt": "2025-03-14T15:09:26Z", "version": 1}),
		"GET /contacts/" + contact.ID: jsonOK(200, func() map[string]any {
			m := oaToMap(t, contact)
			m["consent"] = map[string]any{"fax": map[string]any{"status": "opted_out", "changedAt": "2025-03-14T15:09:26Z", "source": "manual"}}
			return m
		}()),
		"GET /labels": {status: 500, contentType: "application/problem+json", body: map[string]any{"type": "https://parley.example/internal", "title": "Internal Server Error", "status": 500, "detail": "x", "code": "internal"}},
		"POST /conversations/" + conv.ID + "/comments": {status: 201, contentType: "application/json", header: map[string]string{"Idempotent-Replayed": "yes"}, body: comment},
	}
	srv = oaServe(t, bad)
	for key := range bad {
		method, path, _ := strings.Cut(key, " ")
		err := v.check(oaDo(t, srv, method, path))
		if err == nil {
			t.Errorf("%s: a wrong response validated", key)
			continue
		}
		t.Logf("%s: rejected as it should be: %.300s", key, err)
	}
}

func oaToMap(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestOpenAPIRequestBodiesAreStrict shows request validation with the same
// document: unknown fields and out-of-range values are rejected, as the
// server rejects them.
func TestOpenAPIRequestBodiesAreStrict(t *testing.T) {
	doc := loadOpenAPI(t)
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		method, path, body string
		ok                 bool
	}{
		{"POST", "/labels", `{"name":"VIP","color":"#22c55e"}`, true},
		{"POST", "/labels", `{"name":"VIP","colour":"#22c55e"}`, false},
		{"POST", "/labels", `{"name":"VIP","color":"green"}`, false},
		{"POST", "/conversations", `{"phone":"+14155550123","name":"Ada"}`, true},
		{"POST", "/conversations", `{"phone":"+14155550123","contactId":"` + oaContact + `"}`, false},
		{"POST", "/conversations/bulk-archive", `{"ids":[]}`, false},
		{"POST", "/conversations/" + oaConv + "/messages", `{"channel":"sms","body":"hi","attachments":[{"url":"https://x.test/a.png","contentType":"image/png"}]}`, true},
		{"POST", "/conversations/" + oaConv + "/messages", `{"channel":"fax","body":"hi"}`, false},
		{"POST", "/conversations/" + oaConv + "/messages", `{"channel":"sms","attachments":[{"url":"http://x.test/a.png","contentType":"image/png"}]}`, false},
		{"POST", "/contacts", `{"name":"Ada","marketing":{"email":true}}`, true},
		{"POST", "/contacts", `{"name":"Ada","marketing":{"fax":true}}`, false},
		{"PATCH", "/workspace", `{"conversationDeletion":true}`, true},
		{"PATCH", "/workspace", `{"deletion":true}`, false},
	}
	for _, c := range cases {
		req := httptest.NewRequest(c.method, c.path, strings.NewReader(c.body))
		req.Header.Set("Content-Type", "application/json")
		route, params, err := router.FindRoute(req)
		if err != nil {
			t.Fatalf("%s %s: %v", c.method, c.path, err)
		}
		err = openapi3filter.ValidateRequest(context.Background(), &openapi3filter.RequestValidationInput{
			Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		})
		if (err == nil) != c.ok {
			t.Errorf("%s %s %s: ok=%v, err=%v", c.method, c.path, c.body, c.ok, err)
		}
	}
}
