package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/parley-inbox/parley/shared/handler/api"
	"github.com/parley-inbox/parley/shared/handler/problem"
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
	// Redocly's recommended rules want servers and a license: the local
	// server and the deployed HTTP API, templated by id and region.
	if doc.Info.License == nil || doc.Info.License.Name == "" {
		t.Error("info.license is missing")
	}
	if len(doc.Servers) != 2 || doc.Servers[0].URL != "http://127.0.0.1:8080" ||
		doc.Servers[1].Variables["apiId"] == nil || doc.Servers[1].Variables["region"] == nil {
		t.Errorf("servers = %v, want the local server and the API Gateway URL with apiId and region", doc.Servers)
	}
	scheme := doc.Components.SecuritySchemes["bearerAuth"]
	if scheme == nil || scheme.Value == nil {
		t.Fatal("components.securitySchemes.bearerAuth is missing")
	}
	if v := scheme.Value; v.Type != "http" || v.Scheme != "bearer" || v.BearerFormat != "JWT" {
		t.Errorf("bearerAuth = %s %s %s, want http bearer JWT", v.Type, v.Scheme, v.BearerFormat)
	}
	visitor := doc.Components.SecuritySchemes["visitorToken"]
	if visitor == nil || visitor.Value == nil {
		t.Fatal("components.securitySchemes.visitorToken is missing")
	}
	if v := visitor.Value; v.Type != "http" || v.Scheme != "bearer" {
		t.Errorf("visitorToken = %s %s, want http bearer", v.Type, v.Scheme)
	}
	for _, name := range []string{
		"Workspace", "WorkspaceSettings", "User", "Contact", "ChannelConsent", "ConsentMessageStatus",
		"Conversation", "Message", "Attachment", "CallDetails", "EmailDetails", "DeliveryError", "Template", "Label", "BulkResult", "Problem",
		"QuietHours", "TemplateSpec", "ScheduledEdit", "DraftSend",
		"ConversationPage", "MessagePage",
		"WorkspaceSettingsPatch", "UserInput", "ContactInput", "ContactPatch", "ConsentChange", "StartInput",
		"BulkArchiveInput", "AssigneeInput", "OutboundInput", "CommentInput", "LabelInput", "LabelPatch",
		"ChatSession", "VisitorMessage", "VisitorMessagePage", "VisitorPresence", "ChatMessageInput", "ChatEmailInput",
		"TwilioMessageForm", "TwilioStatusForm", "TwilioCallForm", "MetaWebhook", "SnsMessage",
		"Run", "RunPage", "SequenceRunPage", "RunStatus", "StopReason", "Automation", "AutomationInput", "AutomationPatch", "Trigger",
		"AutomationStep", "ManualTask", "TaskStatus", "EnrollmentInput", "ConversationEnrollmentInput",
		"Snippet", "SnippetInput", "SnippetPatch", "SnippetPage", "RenderInput", "RenderedSnippet",
		"MessageTemplate", "TemplateInput", "TemplateComponent", "TemplateButton", "MessageTemplatePage",
	} {
		if doc.Components.Schemas[name] == nil {
			t.Errorf("components.schemas.%s is missing", name)
		}
	}
}

var oaCamelCase = regexp.MustCompile(`^[a-z][a-zA-Z0-9]*$`)

// oaKind says who calls an operation, which decides how it must be secured.
type oaKind int

const (
	oaSPA     oaKind = iota // the API proper: a user's bearer JWT
	oaDoc                   // GET /openapi.json: public
	oaChat                  // the web chat widget: a visitor token
	oaSession               // POST /chat/{workspaceId}/sessions: public, starts a visitor
	oaWidget                // GET /chat/{workspaceId}/widget(.js): public, the widget and its settings
	oaWebhook               // a provider's webhook: public, signed by the provider
)

func oaKindOf(method, path string) oaKind {
	switch {
	case method == http.MethodGet && path == "/openapi.json":
		return oaDoc
	case method == http.MethodPost && path == "/chat/{workspaceId}/sessions":
		return oaSession
	case method == http.MethodGet && (path == "/chat/{workspaceId}/widget" || path == "/chat/{workspaceId}/widget.js"):
		return oaWidget
	case strings.HasPrefix(path, "/chat/"):
		return oaChat
	case strings.HasPrefix(path, "/webhooks/"):
		return oaWebhook
	}
	return oaSPA
}

// The public operations, listed so that a new route cannot become public
// by accident: everything else must require a token.
var oaPublicOps = map[string]bool{
	"GET /openapi.json":                            true,
	"POST /chat/{workspaceId}/sessions":            true,
	"GET /chat/{workspaceId}/widget":               true,
	"GET /chat/{workspaceId}/widget.js":            true,
	"POST /webhooks/{workspaceId}/twilio/messages": true,
	"POST /webhooks/{workspaceId}/twilio/status":   true,
	"POST /webhooks/{workspaceId}/twilio/calls":    true,
	"GET /webhooks/{workspaceId}/meta":             true,
	"POST /webhooks/{workspaceId}/meta":            true,
	"POST /webhooks/{workspaceId}/email":           true,
	"POST /webhooks/{workspaceId}/events":          true,
	"POST /webhooks/{workspaceId}/stripe":          true,
}

func TestOpenAPIOperations(t *testing.T) {
	doc := loadOpenAPI(t)
	tags := map[string]bool{"workspace": true, "users": true, "contacts": true, "conversations": true, "messages": true, "labels": true, "campaigns": true, "automations": true, "templates": true, "tasks": true, "snippets": true, "webchat": true, "webhooks": true, "integrations": true, "payments": true, "assignment": true, "lists": true}
	ids := map[string]string{}
	counts := map[oaKind]int{}
	public := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			kind := oaKindOf(method, path)
			counts[kind]++
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
				if (tag == "webchat") != (kind == oaChat || kind == oaSession || kind == oaWidget) || (tag == "webhooks") != (kind == oaWebhook) {
					t.Errorf("%s: tag %q does not match its route group", where, tag)
				}
			}

			security := doc.Security
			if op.Security != nil {
				security = *op.Security
			}
			if op.Security != nil && len(*op.Security) == 0 {
				public[where] = true
			}
			switch kind {
			case oaDoc, oaSession, oaWidget, oaWebhook:
				if op.Security == nil || len(*op.Security) != 0 {
					t.Errorf("%s: want security: [] (public)", where)
				}
			case oaChat:
				// The widget's calls take a visitor token and nothing else:
				// a user's JWT is no visitor.
				if !oaRequires(security, "visitorToken") || oaAllows(security, "bearerAuth") {
					t.Errorf("%s: want security visitorToken only", where)
				}
				if op.Responses.Status(http.StatusUnauthorized) == nil {
					t.Errorf("%s: no 401 response", where)
				}
			case oaSPA:
				// A user's JWT, or for some operations a machine client's
				// access token (TestRouteScopesMatchDocument checks which).
				if !oaAllows(security, "bearerAuth") || !oaOnly(security, "bearerAuth", "machineClient") {
					t.Errorf("%s: does not take bearerAuth (or also takes a visitor token)", where)
				}
				if op.Responses.Status(http.StatusForbidden) == nil {
					t.Errorf("%s: no 403 response (machine clients get one)", where)
				}
				if op.Responses.Status(http.StatusUnauthorized) == nil {
					t.Errorf("%s: no 401 response", where)
				}
			}
			switch kind {
			case oaChat, oaSession:
				// The widget must learn about rate limits and a workspace
				// without web chat.
				for _, status := range []int{404, 429} {
					if op.Responses.Status(status) == nil {
						t.Errorf("%s: no %d response", where, status)
					}
				}
				if r := op.Responses.Status(429); r != nil {
					if m := r.Value.Content.Get("application/problem+json"); m == nil || m.Schema == nil || m.Schema.Ref != "#/components/schemas/Problem" {
						t.Errorf("%s: 429 is not application/problem+json with the Problem schema (code rate_limited)", where)
					}
				}
			case oaWidget:
				// A site learns when its tag names a workspace without web chat.
				if op.Responses.Status(404) == nil {
					t.Errorf("%s: no 404 response", where)
				}
			case oaWebhook:
				// Providers get told about bad signatures and unknown workspaces.
				for _, status := range []int{403, 404} {
					if op.Responses.Status(status) == nil {
						t.Errorf("%s: no %d response", where, status)
					}
				}
			}
			if op.Responses.Status(http.StatusInternalServerError) == nil {
				t.Errorf("%s: no 500 response", where)
			}
			if op.RequestBody != nil {
				want := []int{400, 413, 415}
				if kind != oaSPA {
					want = []int{400, 413} // they do not check Content-Type: 415 never happens
				}
				for _, status := range want {
					if op.Responses.Status(status) == nil {
						t.Errorf("%s: has a body but no %d response", where, status)
					}
				}
				body := op.RequestBody.Value
				if !body.Required {
					t.Errorf("%s: request body is not required", where)
				}
				if kind == oaWebhook {
					// Providers' formats: form posts, JSON, SNS's JSON sent as
					// text/plain. They are open, as providers add fields.
					if len(body.Content) == 0 {
						t.Errorf("%s: request body has no media type", where)
					}
					for mt, media := range body.Content {
						if media.Schema == nil {
							t.Errorf("%s: request body %s has no schema", where, mt)
						}
					}
				} else {
					media := body.Content.Get("application/json")
					switch {
					case media == nil || media.Schema == nil || len(body.Content) != 1:
						t.Errorf("%s: request body is not application/json", where)
					case !oaClosedObject(media.Schema.Value):
						t.Errorf("%s: request body schema allows unknown fields; want additionalProperties: false", where)
					}
				}
			}
			for code, resp := range op.Responses.Map() {
				if code[0] != '4' && code[0] != '5' {
					continue
				}
				media := resp.Value.Content.Get("application/problem+json")
				if media == nil || media.Schema == nil || media.Schema.Ref != "#/components/schemas/Problem" {
					t.Errorf("%s: response %s is not application/problem+json with the Problem schema", where, code)
				}
			}
		}
	}
	if counts[oaSPA]+counts[oaDoc] != 122 || counts[oaChat]+counts[oaSession]+counts[oaWidget] != 9 || counts[oaWebhook] != 8 {
		t.Errorf("found %d API, %d web chat and %d webhook operations; want 122, 9 and 8",
			counts[oaSPA]+counts[oaDoc], counts[oaChat]+counts[oaSession]+counts[oaWidget], counts[oaWebhook])
	}
	for op := range public {
		if !oaPublicOps[op] {
			t.Errorf("%s is public (security: []) but is not one of the public operations", op)
		}
	}
	for op := range oaPublicOps {
		if !public[op] {
			t.Errorf("%s: want it documented as public (security: [])", op)
		}
	}
}

// TestOpenAPIMediaExamples holds every operation to an example of each
// request and response body it documents, shared responses included, so a
// client developer sees a realistic body for every status.
// loadOpenAPI validates each example against its schema.
func TestOpenAPIMediaExamples(t *testing.T) {
	doc := loadOpenAPI(t)
	count := 0
	check := func(where string, content openapi3.Content) {
		for mt, media := range content {
			count++
			if media.Example == nil && len(media.Examples) == 0 {
				t.Errorf("%s %s: no example", where, mt)
			}
		}
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			where := method + " " + path
			if op.RequestBody != nil {
				check(where+" request", op.RequestBody.Value.Content)
			}
			for code, resp := range op.Responses.Map() {
				check(where+" "+code, resp.Value.Content)
			}
		}
	}
	if count == 0 {
		t.Fatal("no media objects found")
	}
}

// TestOpenAPIChannelMaps keeps the keys of channel-keyed maps in the
// document, where a generated client sees them: each is a closed object
// whose optional properties are exactly the channels (consent: the consent
// channels, as mms is kept under sms). propertyNames alone is lost by
// openapi-typescript, so the only open maps are the templates, keyed by
// template name, the label badges, keyed by label id, and contacts'
// custom values, keyed by the workspace's field keys.
func TestOpenAPIChannelMaps(t *testing.T) {
	doc := loadOpenAPI(t)
	enum := func(name string) map[string]bool {
		set := map[string]bool{}
		ref := doc.Components.Schemas[name]
		if ref == nil {
			t.Fatalf("components.schemas.%s is missing", name)
		}
		for _, v := range ref.Value.Enum {
			set[v.(string)] = true
		}
		return set
	}
	channels, consent := enum("Channel"), enum("ConsentChannel")
	if len(channels) != 7 || len(consent) != 6 || consent["mms"] {
		t.Fatalf("Channel = %v, ConsentChannel = %v; want 7 channels and the 6 without mms", channels, consent)
	}
	openMaps := map[string]bool{"WorkspaceSettings.templates": true, "WorkspaceSettingsPatch.templates": true, "ConversationCounts.labels": true,
		// Keyed by the workspace's own contact fields (GET /contact-fields).
		"Contact.custom": true, "ContactInput.custom": true, "ContactPatch.custom": true}
	maps := 0
	for name, ref := range doc.Components.Schemas {
		for prop, p := range ref.Value.Properties {
			where, s := name+"."+prop, p.Value
			if s.AdditionalProperties.Schema != nil || s.PropertyNames != nil {
				if !openMaps[where] {
					t.Errorf("%s: an open map; give it its keys as properties and additionalProperties: false", where)
				}
				continue
			}
			keys := map[string]bool{}
			for k := range s.Properties {
				if channels[k] {
					keys[k] = true
				}
			}
			if len(keys) < 2 {
				continue // not keyed by channel
			}
			maps++
			want := channels
			if where == "Contact.consent" || where == "Conversation.contactConsent" || where == "ImportInput.consent" || where == "ContactImport.consent" {
				want = consent
			}
			for k := range s.Properties {
				keys[k] = true
			}
			if fmt.Sprint(keys) != fmt.Sprint(want) || s.AdditionalProperties.Has == nil || *s.AdditionalProperties.Has {
				t.Errorf("%s: keys %v (additionalProperties %v); want exactly %v and additionalProperties: false", where, keys, s.AdditionalProperties.Has, want)
			}
		}
	}
	if maps != 14 {
		t.Errorf("found %d channel-keyed maps; want 14 (quietHours twice, consent, marketing and dnd thrice, lastInboundAt, the channel badges, an inbox row's contactConsent, an import's consent twice)", maps)
	}
}

// oaNobody refuses every token.
type oaNobody struct{}

func (oaNobody) Authenticate(*http.Request) (inbox.Actor, error) {
	return inbox.Actor{}, inbox.Errorf(inbox.KindUnauthorized, "no token")
}

// TestOpenAPIOperationsAreServed checks that the API's mux has a route for
// every operation the document lists: the caller reaches the route's
// authentication (401) rather than the catch-all 404.
func TestOpenAPIOperationsAreServed(t *testing.T) {
	doc := loadOpenAPI(t)
	handler := api.New(nil, nil, nil, api.Exports{}, oaNobody{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	param := regexp.MustCompile(`\{[^}]+\}`)
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			if oaKindOf(method, path) != oaSPA {
				continue // GET /openapi.json is public; the chat and webhook routes are served by other handlers
			}
			rec := httptest.NewRecorder()
			handler.ServeHTTP(rec, httptest.NewRequest(method, param.ReplaceAllString(path, oaContact), nil))
			var p problem.Problem
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || rec.Code != http.StatusUnauthorized || p.Code != string(inbox.KindUnauthorized) {
				t.Errorf("%s %s: got %d %s, want the route's 401", method, path, rec.Code, rec.Body)
			}
		}
	}
}

// oaRequires reports whether every alternative includes the scheme, so
// that none lets a caller skip it.
func oaRequires(reqs openapi3.SecurityRequirements, scheme string) bool {
	if len(reqs) == 0 {
		return false
	}
	for _, req := range reqs {
		if _, ok := req[scheme]; !ok {
			return false
		}
	}
	return true
}

// oaOnly reports whether every alternative is exactly one of the schemes.
func oaOnly(reqs openapi3.SecurityRequirements, schemes ...string) bool {
	for _, req := range reqs {
		if len(req) != 1 {
			return false
		}
		for name := range req {
			if !slices.Contains(schemes, name) {
				return false
			}
		}
	}
	return true
}

// oaAllows reports whether any alternative mentions the scheme.
func oaAllows(reqs openapi3.SecurityRequirements, scheme string) bool {
	for _, req := range reqs {
		if _, ok := req[scheme]; ok {
			return true
		}
	}
	return false
}

// oaClosedObject reports whether s takes no unknown fields: it is closed,
// or it is a oneOf whose every alternative is.
func oaClosedObject(s *openapi3.Schema) bool {
	if s == nil {
		return false
	}
	if len(s.OneOf) > 0 {
		for _, alt := range s.OneOf {
			if !oaClosedObject(alt.Value) {
				return false
			}
		}
		return true
	}
	return s.AdditionalProperties.Has != nil && !*s.AdditionalProperties.Has
}

// oaResponseValidator checks live responses against the document. It is the
// recipe the end-to-end suite uses: route the response's request with the
// gorillamux router, then openapi3filter.ValidateResponse, which enables
// JSON Schema 2020-12 by itself for a 3.1 document.
type oaResponseValidator struct {
	router routers.Router
}

// oaBarePathRouter routes on the bare path, whatever the scheme and host:
// without the document's servers the router matches the local server and the
// HTTP API's $default stage alike.
func oaBarePathRouter(t *testing.T, doc *openapi3.T) routers.Router {
	t.Helper()
	doc.Servers = nil
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatalf("router: %v", err)
	}
	return router
}

func newOAResponseValidator(t *testing.T, doc *openapi3.T) *oaResponseValidator {
	t.Helper()
	router := oaBarePathRouter(t, doc)
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
	raw         string // a non-JSON body, written as is
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
		if s.raw != "" {
			w.Header().Set("Content-Type", s.contentType)
			w.WriteHeader(s.status)
			_, _ = io.WriteString(w, s.raw)
			return
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
	oaVisitor   = "01J9ZQ5D1B2C3D4E5F6G7H8J9K"
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

// TwiML answers are text/xml, for which kin-openapi has no decoder of its
// own: read them as text, as the end-to-end suite does.
func init() {
	openapi3filter.RegisterBodyDecoder("text/xml", openapi3filter.PlainBodyDecoder)
	openapi3filter.RegisterBodyDecoder("text/javascript", openapi3filter.PlainBodyDecoder) // the chat widget
}

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
	snippet := &inbox.Snippet{ID: oaLabel, WorkspaceID: oaWorkspace, Name: "Thanks", Shortcut: "/thanks", Category: "General", Body: `Hi {{contact.first_name | "there"}}`,
		Attachments: []inbox.Attachment{{URL: "https://example.com/a.jpg", ContentType: "image/jpeg"}}, Channel: inbox.ChannelSMS, CreatedBy: "user-1", CreatedAt: now, UpdatedAt: now, Version: 1}
	waTemplate, err := inbox.NewMessageTemplate(oaWorkspace, inbox.TemplateInput{Channel: inbox.ChannelWhatsApp, Name: "order_update", Language: "en_US",
		Category: inbox.CategoryUtility, Components: []inbox.TemplateComponent{{Type: "header", Text: "Your order"},
			{Type: "body", Text: "Order {{1}} is {{2}}", Example: []string{"4411", "shipped"}},
			{Type: "buttons", Buttons: []inbox.TemplateButton{{Type: "url", Text: "Track", URL: "https://example.com/t"}, {Type: "phone_number", Text: "Call", PhoneNumber: "+14155550123"}}}}}, now)
	if err != nil {
		t.Fatal(err)
	}
	waTemplate.Status, waTemplate.ProviderID, waTemplate.Version = inbox.TemplatePending, "1627019861106475", 2
	// A template moved from the old settings map has no category.
	migrated := &inbox.MessageTemplate{ID: "whatsapp.hello.en", WorkspaceID: oaWorkspace, Channel: inbox.ChannelWhatsApp, Name: "hello", Language: "en",
		Components: []inbox.TemplateComponent{}, Status: inbox.TemplateRejected, Reason: "INVALID_FORMAT", CreatedAt: now, UpdatedAt: now, Version: 1}
	workspace := &inbox.Workspace{ID: oaWorkspace, Name: "Acme", Settings: inbox.WorkspaceSettings{Timezone: "UTC"}, CreatedAt: now, UpdatedAt: now}
	user := &inbox.User{ID: "user-1", WorkspaceID: oaWorkspace, Name: "Grace", Email: "grace@example.com", Role: inbox.RoleAdmin, CreatedAt: now}

	// What providers and web chat add: handles, keyword and carrier
	// consent, reply windows, presence, calls, email headers, failures.
	handled := *contact
	handled.ID = oaContact
	handled.Handles = []string{"messenger:25873012456789012", "webchat:" + oaVisitor}
	handled.Consent = map[inbox.Channel]inbox.ChannelConsent{}
	handled.SetConsent(inbox.ChannelSMS, inbox.ConsentOptedOut, inbox.ConsentSourceKeyword, "", now)
	handled.SetConsent(inbox.ChannelWhatsApp, inbox.ConsentOptedOut, inbox.ConsentSourceProvider, "", now)
	conv2 := inbox.NewConversation(&handled, now)
	online := now.Add(2 * time.Minute)
	conv2.VisitorOnlineUntil = &online
	inbound := func(kind inbox.MessageKind, ch inbox.Channel, body string) *inbox.Message {
		return &inbox.Message{
			ID: inbox.NewID(now), WorkspaceID: oaWorkspace, ConversationID: conv2.ID, ContactID: handled.ID,
			Direction: inbox.DirectionIn, Kind: kind, Channel: ch, Body: body, Attachments: []inbox.Attachment{},
			Status: inbox.MessageReceived, ProviderID: "provider-id", CreatedAt: now, UpdatedAt: now,
		}
	}
	call := inbound(inbox.KindCall, "", "Inbound call, 3m 12s")
	call.Call = &inbox.CallDetails{Direction: inbox.DirectionIn, Status: "completed", DurationSeconds: 192, RecordingURL: "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1"}
	missed := inbound(inbox.KindCall, "", "Unanswered outbound call (no-answer)")
	missed.Call = &inbox.CallDetails{Direction: inbox.DirectionOut, Status: "no-answer"}
	mail := inbound(inbox.KindMessage, inbox.ChannelEmail, "Thanks!")
	mail.Email = &inbox.EmailDetails{Subject: "Re: Your order", MessageID: "a@example.com", InReplyTo: "b@parley.example", References: []string{"b@parley.example"}, HTML: true}
	mail.Attachments = []inbox.Attachment{{Name: "invoice.pdf", ContentType: "application/pdf", Size: 2048}} // no URL: the bytes stay in the raw email
	failed := inbound(inbox.KindMessage, inbox.ChannelWhatsApp, "Are you still there?")
	failed.Direction, failed.Status, failed.AuthorID, failed.ProviderID = inbox.DirectionOut, inbox.MessageFailed, "user-1", "wamid.X"
	failed.Error = &inbox.DeliveryError{Code: "131047", Reason: "Re-engagement message"}
	activity := inbound(inbox.KindActivity, "", "Contact opted out of SMS by replying STOP")
	activity.Direction, activity.ProviderID = "", ""
	for _, m := range []*inbox.Message{mail, failed} {
		conv2.RecordMessage(m)
	}
	conv2.LastInboundAt = map[inbox.Channel]time.Time{inbox.ChannelEmail: now, inbox.ChannelWebchat: now}
	recording := *workspace
	recording.Settings.CallRecording, recording.Settings.HelpReply = true, "Acme: reply STOP to opt out."
	chatIn := inbound(inbox.KindMessage, inbox.ChannelWebchat, "Hello?")
	chatOut := inbound(inbox.KindMessage, inbox.ChannelWebchat, "Hi! How can we help?")
	chatOut.Direction = inbox.DirectionOut
	visitorMsg := func(m *inbox.Message) map[string]any {
		return map[string]any{"id": m.ID, "direction": m.Direction, "channel": m.Channel, "body": m.Body, "attachments": m.Attachments, "createdAt": m.CreatedAt}
	}

	pendingExport := &inbox.Export{ID: inbox.NewID(now), WorkspaceID: oaWorkspace, ConversationID: conv2.ID, Status: inbox.ExportPending,
		ExportRequest: inbox.ExportRequest{Format: inbox.ExportHTML, From: now.Add(-24 * time.Hour), To: now, IncludeComments: true},
		RequestedBy:   "user-1", CreatedAt: now, UpdatedAt: now, ExpiresAt: now.Add(inbox.ExportRetention)}
	doneExport := *pendingExport
	linkExpires := now.Add(inbox.ExportLinkTTL)
	doneExport.Status, doneExport.Messages, doneExport.DownloadURL, doneExport.URLExpires = inbox.ExportDone, 1200, "http://127.0.0.1:8080/dev/objects?key=exports%2Fx.html&sig=ab", &linkExpires

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
		"GET /snippets":                                jsonOK(200, inbox.Page[*inbox.Snippet]{Items: []*inbox.Snippet{snippet}, NextCursor: "abc"}),
		"POST /conversations/" + conv.ID + "/snippets/" + oaLabel + "/render": jsonOK(200, &inbox.RenderedSnippet{SnippetID: oaLabel, Body: "Hi Jo", Attachments: []inbox.Attachment{}, Channel: inbox.ChannelSMS, Warnings: []string{}}),
		"PATCH /workspace":                   problem(403, "forbidden"),
		"POST /labels":                       problem(409, "conflict"),
		"GET /openapi.json":                  jsonOK(200, map[string]any{"openapi": "3.1.0"}),
		"POST /templates":                    jsonOK(201, waTemplate),
		"GET /templates":                     jsonOK(200, map[string]any{"items": []*inbox.MessageTemplate{waTemplate, migrated}}),
		"POST /templates/refresh":            problem(503, "unavailable"),
		"DELETE /templates/" + waTemplate.ID: {status: 204},
		// Exports: the file itself, or a background export, pending and done.
		"GET /conversations/" + conv.ID + "/export":  {status: 200, contentType: "text/csv; charset=utf-8", raw: "time,direction\n2025-03-14T15:09:26Z,in\n"},
		"GET /conversations/" + conv2.ID + "/export": {status: 202, contentType: "application/json", body: pendingExport},
		"GET /exports/" + doneExport.ID:              jsonOK(200, doneExport),
		// What API Gateway answers itself in AWS.
		"GET /labels/" + oaLabel: {status: 401, contentType: "application/json", body: map[string]any{"message": "Unauthorized"}},
		"PUT /users/user-2":      {status: 429, contentType: "application/json", body: map[string]any{"message": "Too Many Requests"}},

		// Fields the providers and web chat bring.
		"GET /contacts/" + oaContact:                   jsonOK(200, &handled),
		"GET /conversations/" + conv2.ID:               jsonOK(200, conv2),
		"GET /conversations/" + conv2.ID + "/messages": jsonOK(200, inbox.Page[*inbox.Message]{Items: []*inbox.Message{call, missed, mail, failed, activity}}),

		// The web chat widget's routes.
		"POST /chat/" + oaWorkspace + "/sessions":     jsonOK(201, map[string]string{"visitorId": oaVisitor, "token": oaVisitor + ".c2lnbmF0dXJl"}),
		"POST /chat/" + oaWorkspace + "/messages":     jsonOK(201, visitorMsg(chatIn)),
		"GET /chat/" + oaWorkspace + "/messages":      jsonOK(200, map[string]any{"items": []any{visitorMsg(chatIn), visitorMsg(chatOut), visitorMsg(mail)}}),
		"POST /chat/" + oaWorkspace + "/heartbeat":    jsonOK(200, map[string]any{"onlineUntil": now.Add(2 * time.Minute)}),
		"POST /chat/" + oaWorkspace + "/email":        jsonOK(200, map[string]any{"email": "jo@example.com", "verified": false}),
		"POST /chat/" + oaWorkspace + "/email/code":   jsonOK(202, map[string]any{"email": "jo@example.com", "verified": false}),
		"POST /chat/" + oaWorkspace + "/email/verify": jsonOK(200, map[string]any{"email": "jo@example.com", "verified": true}),
		"POST /chat/other/email/verify":               problem(403, "forbidden"),
		"POST /chat/other/sessions":                   problem(429, "rate_limited"),
		"POST /chat/other/heartbeat":                  problem(401, "unauthorized"),
		"GET /chat/other/messages":                    problem(404, "not_found"),
		"GET /chat/" + oaWorkspace + "/widget": jsonOK(200, map[string]any{"title": "Chat with us", "greeting": "Hi!", "color": "#2563eb",
			"webSocketUrl": "ws://127.0.0.1:8080/live", "emailCapture": true}),
		"GET /chat/" + oaWorkspace + "/widget.js": {status: 200, contentType: "text/javascript; charset=utf-8", raw: "(() => {})();\n"},
		"GET /chat/other/widget.js":               {status: 304},
		"GET /chat/other/widget":                  problem(429, "rate_limited"),

		// The providers' webhooks.
		"POST /webhooks/" + oaWorkspace + "/twilio/messages": {status: 200, contentType: "text/xml", raw: `<?xml version="1.0" encoding="UTF-8"?><Response></Response>`},
		"POST /webhooks/" + oaWorkspace + "/twilio/status":   {status: 204},
		"POST /webhooks/" + oaWorkspace + "/twilio/calls":    {status: 204},
		"GET /webhooks/" + oaWorkspace + "/meta":             {status: 200, contentType: "text/plain; charset=utf-8", raw: "1158201444"},
		"POST /webhooks/" + oaWorkspace + "/meta":            {status: 200, contentType: "text/plain; charset=utf-8", raw: "EVENT_RECEIVED"},
		"POST /webhooks/" + oaWorkspace + "/email":           {status: 204},
		"POST /webhooks/other/twilio/messages":               problem(403, "forbidden"),
		"POST /webhooks/other/meta":                          problem(413, "too_large"),
		"POST /webhooks/other/email":                         problem(404, "not_found"),
		"GET /webhooks/other/meta":                           problem(403, "forbidden"),
	}
	// Keys repeat across these: the settings a workspace gains.
	styled := *workspace
	styled.Settings.Widget = &inbox.WidgetSettings{Title: "Acme support", Color: "#ff8800"}
	more := map[string]oaSample{"PATCH /workspace": jsonOK(200, recording), "GET /workspace": jsonOK(200, styled)}

	// Outbound delivery: who a message went to, schedules, templates,
	// warnings and Parley's own failure reasons, and the settings and
	// contact fields that govern them.
	outbound := *workspace
	outbound.Settings.QuietHours = map[inbox.Channel]inbox.QuietHours{inbox.ChannelSMS: {Start: "21:00", End: "08:00"}, inbox.ChannelWhatsApp: {Start: "9:30", End: "10:00"}}
	outbound.Settings.RequireConsentMessage, outbound.Settings.ConsentMessage = true, "Acme here: reply STOP to opt out."
	outbound.Settings.Templates = map[string]inbox.TemplateSpec{"order_update": {Language: "en_US", Params: 2, Body: "Order {{1}} is {{2}}"}, "hello": {Language: "de"}}
	dnd := *contact
	dnd.DND = map[inbox.Channel]bool{inbox.ChannelSMS: true, inbox.ChannelEmail: false}
	sendAt := now.Add(time.Hour)
	outMsg := func(ch inbox.Channel, status inbox.MessageStatus) *inbox.Message {
		return &inbox.Message{
			ID: inbox.NewID(now), WorkspaceID: oaWorkspace, ConversationID: conv.ID, ContactID: contact.ID, Direction: inbox.DirectionOut,
			Kind: inbox.KindMessage, Channel: ch, Body: "Your order shipped", Attachments: []inbox.Attachment{}, Status: status,
			AuthorID: "user-1", Recipient: "+14155550123", CreatedAt: now, UpdatedAt: now,
		}
	}
	sentSMS := outMsg(inbox.ChannelSMS, inbox.MessageSent)
	sentSMS.ProviderID, sentSMS.Segments = "SM0123456789abcdef0123456789abcdef", 1
	scheduled := outMsg(inbox.ChannelMMS, inbox.MessageScheduled)
	scheduled.SendAt, scheduled.Timezone, scheduled.Segments = &sendAt, "America/New_York", 1
	scheduled.Attachments = []inbox.Attachment{{URL: "https://cdn.example.com/big.jpg", ContentType: "image/jpeg", Size: 2 << 20}}
	scheduled.Warnings = []string{"big.jpg is over 1.5 MB; some carriers filter large MMS"}
	held := outMsg(inbox.ChannelSMS, inbox.MessageScheduled)
	held.Automated, held.SendAt, held.Timezone = true, &sendAt, "UTC"
	held.Warnings = []string{"held for quiet hours until " + sendAt.Format(time.RFC3339)}
	canceled := outMsg(inbox.ChannelSMS, inbox.MessageCanceled)
	canceled.SendAt, canceled.Timezone = &sendAt, "UTC"
	tmpl := outMsg(inbox.ChannelWhatsApp, inbox.MessageQueued)
	tmpl.Body, tmpl.Template = "", &inbox.Template{Name: "order_update", Language: "en_US", Params: []string{"4411", "shipped"}}
	dndFailed := outMsg(inbox.ChannelSMS, inbox.MessageFailed)
	dndFailed.Automated, dndFailed.Error = true, &inbox.DeliveryError{Code: "dnd", Reason: "the contact has do-not-disturb on for sms"}
	email := outMsg(inbox.ChannelEmail, inbox.MessageDelivered)
	email.Recipient, email.ProviderID = "ada@example.com", "<0123456789abcdef@capture.local>"
	outSamples := map[string]oaSample{
		"GET /workspace":                                                          jsonOK(200, outbound),
		"PATCH /contacts/" + contact.ID:                                           jsonOK(200, &dnd),
		"POST /conversations/" + conv.ID + "/messages":                            jsonOK(201, tmpl),
		"GET /conversations/" + conv.ID + "/messages":                             jsonOK(200, inbox.Page[*inbox.Message]{Items: []*inbox.Message{sentSMS, scheduled, held, canceled, tmpl, dndFailed, email}}),
		"GET /scheduled-messages":                                                 jsonOK(200, inbox.Page[*inbox.Message]{Items: []*inbox.Message{scheduled, held}, NextCursor: "abc"}),
		"PATCH /conversations/" + conv.ID + "/messages/" + scheduled.ID:           jsonOK(200, scheduled),
		"POST /conversations/" + conv.ID + "/messages/" + canceled.ID + "/cancel": jsonOK(200, canceled),
		"PATCH /conversations/" + conv.ID + "/messages/" + sentSMS.ID:             problem(409, "conflict"),
		"POST /conversations/" + conv.ID + "/messages/" + sentSMS.ID + "/cancel":  problem(409, "conflict"),
		"POST /conversations/" + conv2.ID + "/messages/" + sentSMS.ID + "/cancel": problem(404, "not_found"),
		"PATCH /conversations/" + conv2.ID + "/messages/" + sentSMS.ID:            problem(400, "invalid"),
	}
	// Sequences: drip enrollments, automations and their runs, manual
	// actions, and the messages runs create.
	campaign := &inbox.Campaign{ID: inbox.NewID(now), WorkspaceID: oaWorkspace, Name: "Welcome", CreatedAt: now, UpdatedAt: now,
		Steps: []inbox.DripStep{{Channel: inbox.ChannelSMS, Body: "Welcome!"}, {AfterMinutes: 1440, Channel: inbox.ChannelWhatsApp, Template: &inbox.Template{Name: "order_update", Language: "en_US", Params: []string{"1", "2"}}}}}
	nextAt := now.Add(24 * time.Hour)
	enrolled := &inbox.Run{ID: inbox.NewID(now), WorkspaceID: oaWorkspace, Kind: inbox.SequenceDrip, SequenceID: campaign.ID, SequenceName: campaign.Name,
		ContactID: contact.ID, ConversationID: conv.ID, Status: inbox.RunStarted, Step: 1, StepsDone: 1, NextAt: &nextAt, Steps: campaign.Steps,
		Execution: inbox.ExecutionName(inbox.SequenceDrip, "01J9ZQ5E1B2C3D4E5F6G7H8J9K"), StartedBy: "user-1", StartedAt: now, UpdatedAt: now}
	canceledRun := *enrolled
	canceledRun.Status, canceledRun.Reason, canceledRun.NextAt, canceledRun.EndedAt = inbox.RunExited, inbox.StopCanceled, nil, &now
	automation := &inbox.Automation{ID: inbox.NewID(now), WorkspaceID: oaWorkspace, Name: "Abandoned cart", Enabled: true,
		Trigger: inbox.Trigger{Type: inbox.TriggerCartAbandoned}, CreatedAt: now, UpdatedAt: now, Version: 2,
		Steps: []inbox.AutomationStep{
			{Type: inbox.StepDelay, Minutes: 60},
			{Type: inbox.StepMessage, Mode: inbox.ModeSendNow, Channel: inbox.ChannelSMS, Body: "You left something behind"},
			{Type: inbox.StepMessage, Mode: inbox.ModeSchedule, Minutes: 120, Channel: inbox.ChannelEmail, Body: "Still thinking?", Attachments: []inbox.Attachment{{URL: "https://cdn.example.com/cart.png", ContentType: "image/png"}}},
			{Type: inbox.StepMessage, Mode: inbox.ModeDraft, Channel: inbox.ChannelWhatsApp, Template: &inbox.Template{Name: "order_update", Params: []string{"1", "2"}}},
			{Type: inbox.StepLabel, Add: []string{oaLabel}},
			{Type: inbox.StepTag, Add: []string{"cart"}, Remove: []string{"browsing"}},
			{Type: inbox.StepAssign, AssigneeID: "user-1"},
			{Type: inbox.StepManual, Action: inbox.ManualCall, Instructions: "Call about the cart", AssigneeID: "user-1"},
		}}
	keyword := &inbox.Automation{ID: inbox.NewID(now), WorkspaceID: oaWorkspace, Name: "Keyword", Trigger: inbox.Trigger{Type: inbox.TriggerKeyword, Keyword: "PROMO"},
		Steps: []inbox.AutomationStep{{Type: inbox.StepAssign}}, CreatedAt: now, UpdatedAt: now}
	tagged := &inbox.Automation{ID: inbox.NewID(now), WorkspaceID: oaWorkspace, Name: "Subscribed", Trigger: inbox.Trigger{Type: inbox.TriggerSubscribed, Channel: inbox.ChannelSMS},
		Steps: []inbox.AutomationStep{{Type: inbox.StepManual, Action: inbox.ManualMessage, Instructions: "Say hello"}}, CreatedAt: now, UpdatedAt: now}
	triggered := now.Add(-time.Minute)
	autoRun := &inbox.Run{ID: inbox.NewID(now), WorkspaceID: oaWorkspace, Kind: inbox.SequenceAutomation, SequenceID: automation.ID, SequenceName: automation.Name,
		ContactID: contact.ID, Status: inbox.RunStarted, Step: 7, StepsDone: 5, LastError: "step 5 skipped: label not found",
		Trigger: inbox.TriggerCartAbandoned, TriggerEventID: "ext-0123456789abcdef", TriggeredAt: &triggered, Reference: "cart-42", TaskID: inbox.NewID(now),
		Execution: "auto-x", StartedBy: "automation", StartedAt: now, UpdatedAt: now}
	converted := *autoRun
	converted.Status, converted.Reason, converted.TaskID, converted.EndedAt = inbox.RunConverted, inbox.StopConverted, "", &now
	counts := map[inbox.RunStatus]int{inbox.RunStarted: 1, inbox.RunConverted: 1, inbox.RunExited: 0, inbox.RunCompleted: 3}
	task := &inbox.ManualTask{ID: autoRun.TaskID, WorkspaceID: oaWorkspace, AssigneeID: "user-1", Action: inbox.ManualCall, Instructions: "Call about the cart",
		Status: inbox.TaskOpen, AutomationID: automation.ID, AutomationName: automation.Name, RunID: autoRun.ID, Step: 7, ContactID: contact.ID,
		ConversationID: conv.ID, Token: "secret", CreatedAt: now}
	unassigned := *task
	unassigned.ID, unassigned.AssigneeID, unassigned.ConversationID = inbox.NewID(now), inbox.Unassigned, ""
	done := *task
	done.Status, done.DoneAt, done.DoneBy = inbox.TaskDone, &now, "user-1"
	skipped := *task
	skipped.Status, skipped.DoneAt, skipped.DoneBy = inbox.TaskSkipped, &now, "user-1"
	draft := outMsg(inbox.ChannelSMS, inbox.MessageDraft)
	draft.Automated, draft.RunID = true, autoRun.ID
	fromRun := outMsg(inbox.ChannelSMS, inbox.MessageSent)
	fromRun.Automated, fromRun.RunID = true, enrolled.ID
	enrollments := "/campaigns/" + campaign.ID + "/enrollments"
	seqSamples := map[string]oaSample{
		"POST " + enrollments:                                               jsonOK(201, enrolled),
		"GET " + enrollments:                                                jsonOK(200, inbox.RunsPage{Page: inbox.Page[*inbox.Run]{Items: []*inbox.Run{enrolled}, NextCursor: "abc"}, Counts: counts}),
		"POST /conversations/" + conv.ID + "/enrollments":                   jsonOK(200, enrolled),
		"POST /campaigns/" + oaLabel + "/enrollments":                       problem(503, "unavailable"),
		"POST /conversations/" + conv2.ID + "/enrollments":                  problem(409, "conflict"),
		"GET /campaigns/" + oaLabel + "/enrollments":                        problem(404, "not_found"),
		"DELETE /campaigns/" + campaign.ID:                                  problem(409, "conflict"),
		"GET /automations":                                                  jsonOK(200, map[string]any{"items": []*inbox.Automation{automation, keyword, tagged}}),
		"POST /automations":                                                 jsonOK(201, automation),
		"GET /automations/" + automation.ID:                                 jsonOK(200, automation),
		"PATCH /automations/" + automation.ID:                               jsonOK(200, keyword),
		"DELETE /automations/" + automation.ID:                              {status: 204},
		"DELETE /automations/" + keyword.ID:                                 problem(409, "conflict"),
		"GET /automations/" + automation.ID + "/runs":                       jsonOK(200, inbox.RunsPage{Page: inbox.Page[*inbox.Run]{Items: []*inbox.Run{autoRun, &converted}}, Counts: counts}),
		"GET /contacts/" + contact.ID + "/runs":                             jsonOK(200, map[string]any{"items": []*inbox.Run{enrolled, &canceledRun, autoRun, &converted}}),
		"POST /contacts/" + contact.ID + "/runs/" + enrolled.ID + "/cancel": jsonOK(200, &canceledRun),
		"GET /tasks":                                  jsonOK(200, inbox.Page[*inbox.ManualTask]{Items: []*inbox.ManualTask{task, &unassigned}, NextCursor: "abc"}),
		"POST /tasks/" + task.ID + "/done":            jsonOK(200, &done),
		"POST /tasks/" + task.ID + "/skip":            jsonOK(200, &skipped),
		"POST /tasks/" + unassigned.ID + "/done":      problem(403, "forbidden"),
		"POST /tasks/" + unassigned.ID + "/skip":      problem(409, "conflict"),
		"GET /conversations/" + conv.ID + "/messages": jsonOK(200, inbox.Page[*inbox.Message]{Items: []*inbox.Message{draft, fromRun}}),
	}
	for _, set := range []map[string]oaSample{samples, more, outSamples, seqSamples} {
		srv := oaServe(t, set)
		for key := range set {
			method, path, _ := strings.Cut(key, " ")
			target := path
			if path == "/conversations" && method == http.MethodGet {
				target += "?status=open&limit=25"
			}
			if err := v.check(oaDo(t, srv, method, target)); err != nil {
				t.Errorf("%s: %v", key, err)
			}
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
		// Consent is kept under sms: a consent map or record on mms is wrong.
		"POST /contacts/" + contact.ID + "/opt-out": jsonOK(200, func() map[string]any {
			m := oaToMap(t, contact)
			m["consent"] = map[string]any{"mms": map[string]any{"status": "opted_out", "changedAt": "2025-03-14T15:09:26Z", "source": "manual"}}
			return m
		}()),
		"GET /contacts/" + contact.ID + "/consent": jsonOK(200, map[string]any{"items": []any{map[string]any{
			"id": oaLabel, "workspaceId": oaWorkspace, "contactId": contact.ID, "channel": "mms",
			"status": "opted_out", "source": "manual", "changedAt": "2025-03-14T15:09:26Z",
		}}}),
		"GET /labels": {status: 500, contentType: "application/problem+json", body: map[string]any{"type": "https://parley.example/internal", "title": "Internal Server Error", "status": 500, "detail": "x", "code": "internal"}},
		"POST /conversations/" + conv.ID + "/comments": {status: 201, contentType: "application/json", header: map[string]string{"Idempotent-Replayed": "yes"}, body: comment},
		"GET /conversations/" + conv2.ID + "/messages": jsonOK(200, map[string]any{"items": []any{func() map[string]any {
			m := oaToMap(t, call)
			m["call"] = map[string]any{"direction": "in", "status": "ringing", "durationSeconds": 0}
			return m
		}()}}),
		"GET /conversations/" + conv2.ID: jsonOK(200, func() map[string]any {
			m := oaToMap(t, conv2)
			m["lastInboundAt"] = map[string]any{"fax": "2025-03-14T15:09:26Z"}
			return m
		}()),
		"GET /contacts/" + oaContact: jsonOK(200, func() map[string]any {
			m := oaToMap(t, &handled)
			delete(m, "handles")
			return m
		}()),
		"POST /chat/" + oaWorkspace + "/messages":            jsonOK(201, map[string]any{"id": chatIn.ID, "direction": "in", "body": "x", "attachments": []any{}, "createdAt": now}),
		"POST /chat/other/sessions":                          problem(429, "slow_down"),
		"GET /chat/" + oaWorkspace + "/widget":               jsonOK(200, map[string]any{"title": "Hi", "greeting": "Hi!", "color": "orange", "webSocketUrl": "ws://127.0.0.1:8080/live", "emailCapture": true}),
		"POST /webhooks/" + oaWorkspace + "/twilio/messages": jsonOK(200, map[string]any{}),
		"POST /webhooks/" + oaWorkspace + "/twilio/status":   jsonOK(418, map[string]any{}),
		"GET /scheduled-messages": jsonOK(200, map[string]any{"items": []any{func() map[string]any {
			m := oaToMap(t, held)
			m["template"] = map[string]any{"language": "en_US", "params": []any{}} // no name
			return m
		}()}}),
		"PATCH /contacts/" + contact.ID: jsonOK(200, func() map[string]any {
			m := oaToMap(t, &dnd)
			m["dnd"] = map[string]any{"fax": true}
			return m
		}()),
		"PATCH /workspace": jsonOK(200, func() map[string]any {
			m := oaToMap(t, outbound)
			m["settings"].(map[string]any)["quietHours"] = map[string]any{"sms": map[string]any{"start": "9pm", "end": "08:00"}}
			return m
		}()),
		"POST /conversations/" + conv.ID + "/messages/" + canceled.ID + "/cancel": jsonOK(200, func() map[string]any {
			m := oaToMap(t, canceled)
			m["sendAt"] = "next tuesday"
			return m
		}()),
		// Sequences.
		"POST " + enrollments: jsonOK(201, func() map[string]any {
			m := oaToMap(t, enrolled)
			m["status"] = "paused"
			return m
		}()),
		"GET " + enrollments:                          jsonOK(200, inbox.Page[*inbox.Run]{Items: []*inbox.Run{enrolled}}), // no counts
		"GET /automations/" + automation.ID + "/runs": jsonOK(200, inbox.RunsPage{Page: inbox.Page[*inbox.Run]{Items: []*inbox.Run{}}, Counts: map[inbox.RunStatus]int{inbox.RunStarted: 1, "paused": 2}}),
		"GET /automations/" + automation.ID: jsonOK(200, func() map[string]any {
			m := oaToMap(t, automation)
			m["trigger"] = map[string]any{"type": "contact.deleted"}
			return m
		}()),
		"PATCH /automations/" + automation.ID: jsonOK(200, func() map[string]any {
			m := oaToMap(t, automation)
			m["steps"] = []any{map[string]any{"type": "message", "mode": "later", "channel": "sms", "body": "x"}}
			return m
		}()),
		"GET /contacts/" + contact.ID + "/runs": jsonOK(200, map[string]any{"items": []any{func() map[string]any {
			m := oaToMap(t, &canceledRun)
			m["reason"] = "bored"
			return m
		}()}}),
		"POST /tasks/" + task.ID + "/done": jsonOK(200, func() map[string]any {
			m := oaToMap(t, &done)
			m["status"] = "finished"
			return m
		}()),
		"GET /tasks": jsonOK(200, map[string]any{"items": []any{func() map[string]any {
			m := oaToMap(t, task)
			delete(m, "runId")
			return m
		}()}}),
		"GET /conversations/" + conv.ID + "/messages": jsonOK(200, map[string]any{"items": []any{func() map[string]any {
			m := oaToMap(t, draft)
			m["runId"] = "run-1"
			return m
		}()}}),
	}
	srv := oaServe(t, bad)
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
	router := oaBarePathRouter(t, doc)
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
		{"PATCH", "/workspace", `{"callRecording":true,"helpReply":"Acme: reply STOP to opt out."}`, true},
		{"PATCH", "/workspace", `{"helpReply":"` + strings.Repeat("x", 321) + `"}`, false},
		{"POST", "/chat/demo/messages", `{"body":"Hello?","clientMessageId":"c-1"}`, true},
		{"POST", "/chat/demo/messages", `{"body":"Hello?","author":"me"}`, false},
		{"POST", "/chat/demo/messages", `{"body":"   "}`, false},
		{"POST", "/chat/demo/messages", `{"body":"Hello?","clientMessageId":"a#b"}`, false},
		{"POST", "/chat/demo/email", `{"email":"jo@example.com"}`, true},
		{"POST", "/chat/demo/email", `{"email":"jo@example.com","name":"Jo"}`, false},
		// Outbound delivery.
		{"POST", "/conversations/" + oaConv + "/messages", `{"body":"hi"}`, true}, // Parley picks the channel
		{"POST", "/conversations/" + oaConv + "/messages", `{"channel":"sms","body":"hi","sendAt":"2030-01-02T15:04:05Z","timezone":"America/New_York","automated":true}`, true},
		{"POST", "/conversations/" + oaConv + "/messages", `{"channel":"whatsapp","template":{"name":"order_update","language":"en_US","params":["4411","shipped"]}}`, true},
		{"POST", "/conversations/" + oaConv + "/messages", `{"channel":"whatsapp","template":{"name":"order_update","params":["4411"],"namespace":"x"}}`, false},
		{"POST", "/conversations/" + oaConv + "/messages", `{"channel":"sms","body":"hi","sendAt":"tomorrow"}`, false},
		{"POST", "/conversations/" + oaConv + "/messages", `{"channel":"sms","body":"hi","automated":"yes"}`, false},
		{"PATCH", "/conversations/" + oaConv + "/messages/" + oaContact, `{"sendAt":"2030-01-02T15:04:05Z","body":"moved"}`, true},
		{"PATCH", "/conversations/" + oaConv + "/messages/" + oaContact, `{"timezone":"Europe/Paris"}`, true},
		{"PATCH", "/conversations/" + oaConv + "/messages/" + oaContact, `{"status":"canceled"}`, false},
		{"PATCH", "/workspace", `{"quietHours":{"sms":{"start":"21:00","end":"08:00"}},"requireConsentMessage":true,"consentMessage":"Reply STOP to opt out."}`, true},
		{"PATCH", "/workspace", `{"quietHours":{}}`, true},
		{"PATCH", "/workspace", `{"quietHours":{"fax":{"start":"21:00","end":"08:00"}}}`, false},
		{"PATCH", "/workspace", `{"quietHours":{"sms":{"start":"9pm","end":"08:00"}}}`, false},
		{"PATCH", "/workspace", `{"quietHours":{"sms":{"start":"21:00"}}}`, false},
		{"PATCH", "/workspace", `{"templates":{"order_update":{"language":"en_US","params":2}}}`, true},
		{"PATCH", "/workspace", `{"templates":{"order_update":{"language":"en_US","params":11}}}`, false},
		{"PATCH", "/workspace", `{"consentMessage":"` + strings.Repeat("x", 321) + `"}`, false},
		{"POST", "/contacts", `{"name":"Ada","dnd":{"sms":true}}`, true},
		{"POST", "/contacts", `{"name":"Ada","dnd":{"fax":true}}`, false},
		{"PATCH", "/contacts/" + oaContact, `{"dnd":{"sms":false,"whatsapp":true}}`, true},
		// Sequences.
		{"POST", "/campaigns/" + oaLabel + "/enrollments", `{"contactId":"` + oaContact + `"}`, true},
		{"POST", "/campaigns/" + oaLabel + "/enrollments", `{}`, false},
		{"POST", "/campaigns/" + oaLabel + "/enrollments", `{"contactId":"` + oaContact + `","campaignId":"` + oaLabel + `"}`, false},
		{"POST", "/conversations/" + oaConv + "/enrollments", `{"campaignId":"` + oaLabel + `"}`, true},
		{"POST", "/conversations/" + oaConv + "/enrollments", `{"contactId":"` + oaContact + `"}`, false},
		{"POST", "/automations", `{"name":"Cart","trigger":{"type":"cart.abandoned"},"steps":[{"type":"delay","minutes":60},` +
			`{"type":"message","mode":"send_now","channel":"sms","body":"Hi"},{"type":"message","mode":"schedule","minutes":5,"channel":"whatsapp","template":{"name":"order_update","params":["1","2"]}},` +
			`{"type":"label","add":["` + oaLabel + `"]},{"type":"tag","remove":["cart"]},{"type":"assign","assigneeId":"user-1"},{"type":"manual","action":"call","instructions":"Call them"}]}`, true},
		{"POST", "/automations", `{"name":"Promo","enabled":false,"trigger":{"type":"message.keyword","keyword":"PROMO"},"steps":[{"type":"message","mode":"draft","channel":"email","body":"Hi"}]}`, true},
		{"POST", "/automations", `{"name":"Cart","trigger":{"type":"cart.emptied"},"steps":[{"type":"delay","minutes":60}]}`, false},
		{"POST", "/automations", `{"name":"Cart","trigger":{"type":"cart.abandoned"},"steps":[]}`, false},
		{"POST", "/automations", `{"name":"Cart","trigger":{"type":"cart.abandoned"},"steps":[{"type":"wait","minutes":60}]}`, false},
		{"POST", "/automations", `{"name":"Cart","trigger":{"type":"cart.abandoned"},"steps":[{"type":"delay","minutes":0}]}`, false},
		{"POST", "/automations", `{"name":"Cart","trigger":{"type":"cart.abandoned"},"steps":[{"type":"message","mode":"later","channel":"sms","body":"Hi"}]}`, false},
		{"POST", "/automations", `{"name":"Cart","trigger":{"type":"cart.abandoned"},"steps":[{"type":"manual","action":"email","instructions":"x"}]}`, false},
		{"POST", "/automations", `{"name":"Cart","trigger":{"type":"cart.abandoned"},"steps":[{"type":"delay","minutes":60,"hours":1}]}`, false},
		// A message step has a template, a body or attachments; a label or
		// tag step adds or removes something.
		{"POST", "/automations", `{"name":"Cart","trigger":{"type":"cart.abandoned"},"steps":[{"type":"message","mode":"send_now","channel":"sms"}]}`, false},
		{"POST", "/automations", `{"name":"Cart","trigger":{"type":"cart.abandoned"},"steps":[{"type":"message","mode":"send_now","channel":"mms","attachments":[{"url":"https://x.test/a.png","contentType":"image/png"}]}]}`, true},
		{"POST", "/automations", `{"name":"Cart","trigger":{"type":"cart.abandoned"},"steps":[{"type":"message","mode":"send_now","channel":"whatsapp","body":"Hi","template":{"name":"order_update"}}]}`, true},
		{"POST", "/automations", `{"name":"Cart","trigger":{"type":"cart.abandoned"},"steps":[{"type":"label"}]}`, false},
		{"POST", "/automations", `{"name":"Cart","trigger":{"type":"cart.abandoned"},"steps":[{"type":"tag","add":["vip"],"remove":["cart"]},{"type":"label","remove":["` + oaLabel + `"]}]}`, true},
		{"PATCH", "/automations/" + oaLabel, `{"enabled":false}`, true},
		{"PATCH", "/automations/" + oaLabel, `{"enabled":"no"}`, false},
		{"PATCH", "/automations/" + oaLabel, `{"trigger":{"type":"contact.tagged","tag":"vip","when":"now"}}`, false},
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

// TestOpenAPINamingRules holds the document to its naming rules: operationIds
// are verbNoun without HTTP verbs, every DELETE answers 204 with no body, and
// every list is an XPage of {items, nextCursor}.
func TestOpenAPINamingRules(t *testing.T) {
	doc := loadOpenAPI(t)
	httpVerb := regexp.MustCompile(`^(put|post|patch)[A-Z]`)
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			where := method + " " + path
			if httpVerb.MatchString(op.OperationID) {
				t.Errorf("%s: operationId %q starts with an HTTP verb", where, op.OperationID)
			}
			if method != http.MethodDelete {
				continue
			}
			for code, resp := range op.Responses.Map() {
				if code[0] == '2' && (code != "204" || len(resp.Value.Content) != 0) {
					t.Errorf("%s: answers %s with %d media types; want 204 with no body", where, code, len(resp.Value.Content))
				}
			}
		}
	}
	for name, ref := range doc.Components.Schemas {
		props := ref.Value.Properties
		isList := props["items"] != nil && props["items"].Value.Type.Is("array")
		if strings.HasSuffix(name, "List") || isList != strings.HasSuffix(name, "Page") {
			t.Errorf("schema %s: a list is named XPage, and only a list", name)
		}
		if isList && (props["nextCursor"] == nil || props["nextCursor"].Ref != "#/components/schemas/Cursor") {
			t.Errorf("schema %s: no optional nextCursor of the Cursor schema", name)
		}
	}
}
