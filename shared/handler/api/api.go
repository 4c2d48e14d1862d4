// Package api is Parley's HTTP API for the SPA: one net/http handler,
// served by Lambda (through API Gateway's payload v2) and by the local server.
package api

import (
	_ "embed"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/parley-inbox/parley/shared/auth"
	"github.com/parley-inbox/parley/shared/handler/problem"
	"github.com/parley-inbox/parley/shared/inbox"
)

// OpenAPIDocument is the API's OpenAPI 3.1 description, served at /openapi.json.
//
//go:embed openapi.json
var OpenAPIDocument []byte

// API serves the SPA's routes.
type API struct {
	svc *inbox.Desk
	// templates serves /templates; its registry reaches Meta.
	templates *inbox.TemplateDesk
	exports   *inbox.Exports
	// integrations is nil where the api was built without WithIntegrations.
	integrations *inbox.Integrations
	// payments serves payment requests; nil without a provider.
	payments  *inbox.Payments
	inlineMax int
	merges    inbox.MergeRunner
	imports   *inbox.Imports
	idem      inbox.RequestLog
	auth      auth.Authenticator
	log       *slog.Logger
	mux       *http.ServeMux
}

// Store is what the API keeps in the database: the domain and the
// idempotency keys of requests.
type Store interface {
	inbox.Store
	inbox.RequestLog
	inbox.WebhookStore
	inbox.PaymentStore
}

// New builds functions/api's handler: the agents' desk on store, scheduling
// sends with scheduler, running sequences with sequencer, and starting
// background exports with exports. Options add what only some deployments
// have.
func New(store Store, scheduler inbox.Scheduler, sequencer inbox.Sequencer, exports Exports, authn auth.Authenticator, log *slog.Logger, opts ...Option) *API {
	desk := inbox.NewDesk(store, inbox.SystemClock{}, scheduler, sequencer)
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.media != nil {
		desk.UseMedia(o.media)
	}
	if exports.InlineMax <= 0 {
		exports.InlineMax = DefaultInlineMax
	}
	a := &API{svc: desk, templates: inbox.NewTemplateDesk(store, inbox.SystemClock{}, o.registry),
		exports: inbox.NewExports(store, inbox.SystemClock{}, exports.Objects, exports.Runner), inlineMax: exports.InlineMax,
		idem: store, auth: authn, log: log, mux: http.NewServeMux(), merges: o.merges,
		imports: inbox.NewImports(store, inbox.SystemClock{}, o.importFiles, exports.Objects, o.importRunner)}
	if o.webhookTransport != nil {
		a.integrations = inbox.NewIntegrations(store, inbox.SystemClock{}, o.webhookTransport, o.webhookQueue, nil, nil)
		a.integrations.AllowHTTP = o.webhookHTTP
	}
	if o.payments != nil {
		a.payments = inbox.NewPayments(desk, store, o.payments)
	}
	a.routes()
	return a
}

func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

// handlerFunc is a route handler for an authenticated caller; a returned
// error becomes a problem response.
type handlerFunc func(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error

// handle registers a route for authenticated callers; a machine client
// also needs the route's scope (routeScopes).
func (a *API) handle(pattern string, h handlerFunc) {
	a.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		actor, err := a.auth.Authenticate(r)
		if err == nil {
			if err = checkScope(pattern, actor); inbox.IsKind(err, problem.KindInsufficientScope) {
				challengeScope(w, pattern)
			}
		}
		if err == nil {
			err = h(w, r, actor)
		}
		if err != nil {
			a.writeError(w, r, err)
		}
	})
}

func (a *API) routes() {
	a.mux.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(OpenAPIDocument)
	})
	a.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		a.writeError(w, r, inbox.Errorf(inbox.KindNotFound, "no route for %s %s", r.Method, r.URL.Path))
	})

	a.handle("GET /me", a.me)
	a.handle("GET /workspace", a.getWorkspace)
	a.handle("PATCH /workspace", a.updateWorkspace)
	a.handle("GET /users", a.listUsers)
	a.handle("PUT /users/{userId}", a.updateUser)
	a.handle("GET /agents", a.listAgents)
	a.handle("PUT /users/{userId}/availability", a.setAvailability)
	a.handle("PUT /users/{userId}/capacity", a.setCapacity)
	a.handle("GET /assignment-rules", a.listAssignmentRules)
	a.handle("POST /assignment-rules", a.idempotent(a.createAssignmentRule))
	a.handle("GET /assignment-rules/{ruleId}", a.getAssignmentRule)
	a.handle("PATCH /assignment-rules/{ruleId}", a.updateAssignmentRule)
	a.handle("DELETE /assignment-rules/{ruleId}", a.deleteAssignmentRule)

	a.handle("POST /contacts", a.idempotent(a.createContact))
	a.handle("GET /contacts", a.searchContacts)
	a.handle("GET /contacts/{contactId}", a.getContact)
	a.handle("PUT /contacts/{contactId}/tags/{tag}", a.addContactTag)
	a.handle("DELETE /contacts/{contactId}/tags/{tag}", a.removeContactTag)
	a.handle("GET /tags", a.listTags)
	a.handle("PATCH /contacts/{contactId}", a.updateContact)
	a.handle("DELETE /contacts/{contactId}/handles/{handle}", a.removeHandle)
	a.handle("POST /contacts/{contactId}/claimed-email/accept", a.acceptClaimedEmail)
	a.handle("DELETE /contacts/{contactId}/claimed-email", a.dismissClaimedEmail)
	a.handle("POST /contacts/{contactId}/opt-out", a.setConsent(inbox.ConsentOptedOut))
	a.handle("POST /contacts/{contactId}/opt-in", a.setConsent(inbox.ConsentOptedIn))
	a.handle("GET /contacts/{contactId}/consent", a.listContactConsent)
	a.handle("GET /contacts/{contactId}/runs", a.listContactRuns)
	a.handle("POST /contacts/{contactId}/runs/{runId}/cancel", a.cancelRun)

	a.handle("POST /conversations", a.idempotent(a.startConversation))
	a.handle("GET /conversations", a.listConversations)
	a.handle("GET /conversations/search", a.searchConversations)
	a.handle("GET /conversations/counts", a.conversationCounts)
	a.handle("POST /conversations/bulk-archive", a.bulkArchive)
	a.handle("GET /conversations/{conversationId}", a.getConversation)
	a.handle("DELETE /conversations/{conversationId}", a.deleteConversation)
	s := a.svc
	a.handle("POST /conversations/{conversationId}/archive", a.conversationAction(with(s.SetArchived, true)))
	a.handle("POST /conversations/{conversationId}/unarchive", a.conversationAction(with(s.SetArchived, false)))
	a.handle("POST /conversations/{conversationId}/read", a.conversationAction(with(s.SetUnread, false)))
	a.handle("POST /conversations/{conversationId}/unread", a.conversationAction(with(s.SetUnread, true)))
	a.handle("POST /conversations/{conversationId}/complete", a.conversationAction(with(s.SetStatus, inbox.StatusComplete)))
	a.handle("POST /conversations/{conversationId}/reopen", a.conversationAction(with(s.SetStatus, inbox.StatusOpen)))
	a.handle("PUT /conversations/{conversationId}/assignee", a.assign)
	a.handle("PUT /conversations/{conversationId}/bot", a.setBot)
	a.handle("DELETE /conversations/{conversationId}/assignee", a.conversationRemoval(with(s.Assign, "")))
	a.handle("PUT /conversations/{conversationId}/labels/{labelId}", a.addLabel)
	a.handle("DELETE /conversations/{conversationId}/labels/{labelId}", a.removeLabel)
	a.handle("POST /conversations/{conversationId}/enrollments", a.enrollConversation)

	a.handle("GET /conversations/{conversationId}/messages", a.listMessages)
	a.handle("POST /conversations/{conversationId}/messages", a.sendMessage)
	a.handle("POST /conversations/{conversationId}/comments", a.createComment)
	a.handle("PATCH /conversations/{conversationId}/messages/{messageId}", a.updateScheduledMessage)
	a.handle("POST /conversations/{conversationId}/messages/{messageId}/cancel", a.cancelScheduled)
	a.handle("POST /conversations/{conversationId}/messages/{messageId}/send", a.idempotent(a.sendDraft))
	a.handle("GET /conversations/{conversationId}/export", a.exportConversation)
	a.handle("GET /exports/{exportId}", a.getExport)
	a.handle("GET /scheduled-messages", a.listScheduled)
	a.handle("GET /drafts", a.listDrafts)

	a.handle("GET /campaigns", a.listCampaigns)
	a.handle("POST /campaigns", a.idempotent(a.createCampaign))
	a.handle("GET /campaigns/{campaignId}", a.getCampaign)
	a.handle("PATCH /campaigns/{campaignId}", a.updateCampaign)
	a.handle("DELETE /campaigns/{campaignId}", a.deleteCampaign)
	a.handle("POST /campaigns/{campaignId}/enrollments", a.enroll)
	a.handle("GET /campaigns/{campaignId}/enrollments", a.listEnrollments)

	a.handle("GET /automations", a.listAutomations)
	a.handle("POST /automations", a.idempotent(a.createAutomation))
	a.handle("GET /automations/{automationId}", a.getAutomation)
	a.handle("PATCH /automations/{automationId}", a.updateAutomation)
	a.handle("DELETE /automations/{automationId}", a.deleteAutomation)
	a.handle("GET /automations/{automationId}/runs", a.listAutomationRuns)

	a.handle("GET /tasks", a.listTasks)
	a.handle("GET /tasks/counts", a.taskCounts)
	a.handle("POST /tasks/{taskId}/done", a.finishTask(inbox.TaskDone))
	a.handle("POST /tasks/{taskId}/skip", a.finishTask(inbox.TaskSkipped))

	a.handle("GET /labels", a.listLabels)
	a.handle("POST /labels", a.idempotent(a.createLabel))
	a.handle("GET /labels/{labelId}", a.getLabel)
	a.handle("PATCH /labels/{labelId}", a.updateLabel)
	a.handle("DELETE /labels/{labelId}", a.deleteLabel)
	a.handle("GET /snippets", a.listSnippets)
	a.handle("POST /snippets", a.idempotent(a.createSnippet))
	a.handle("GET /snippets/{snippetId}", a.getSnippet)
	a.handle("PATCH /snippets/{snippetId}", a.updateSnippet)
	a.handle("DELETE /snippets/{snippetId}", a.deleteSnippet)
	a.handle("POST /conversations/{conversationId}/snippets/{snippetId}/render", a.renderSnippet)

	a.listRoutes()
	a.templateRoutes()
	a.mediaRoutes()
	a.mergeRoutes()
	a.importRoutes()
	a.contactFieldRoutes()
	a.integrationRoutes()
	a.paymentRoutes()
}

// pageRequest reads limit and cursor query parameters.
func pageRequest(r *http.Request) (inbox.PageRequest, error) {
	q := r.URL.Query()
	p := inbox.PageRequest{Cursor: q.Get("cursor")}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > inbox.MaxPageSize {
			return p, inbox.Invalid("limit", "limit must be a number from 1 to %d", inbox.MaxPageSize)
		}
		p.Limit = n
	}
	return p, nil
}

// listPage is the one list shape: items, and nextCursor until the last page.
// Lists that are never long come whole, as one page without a cursor.
type listPage[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"nextCursor,omitempty"`
}
