package api

import (
	"net/http"

	"github.com/parley-inbox/parley/shared/auth"
	"github.com/parley-inbox/parley/shared/handler/problem"
	"github.com/parley-inbox/parley/shared/inbox"
)

// anyScope opens a route to every machine client, whatever its scopes.
const anyScope = "*"

// routeScopes is the scope a machine client needs for each route, by the
// pattern it is registered with. A route missing here is closed to
// machine clients (deny by default), so a new route is never opened to
// integrations by accident. People are not limited by scopes.
var routeScopes = map[string]string{
	"GET /me": anyScope,

	"GET /conversations":                           auth.ScopeConversationsRead,
	"GET /conversations/search":                    auth.ScopeConversationsRead,
	"GET /conversations/counts":                    auth.ScopeConversationsRead,
	"GET /conversations/{conversationId}":          auth.ScopeConversationsRead,
	"GET /conversations/{conversationId}/messages": auth.ScopeConversationsRead,
	"GET /conversations/{conversationId}/messages/{messageId}/attachments/{index}": auth.ScopeConversationsRead,
	"GET /labels":           auth.ScopeConversationsRead,
	"GET /labels/{labelId}": auth.ScopeConversationsRead,

	"POST /conversations":                                     auth.ScopeConversationsWrite,
	"POST /conversations/{conversationId}/archive":            auth.ScopeConversationsWrite,
	"POST /conversations/{conversationId}/unarchive":          auth.ScopeConversationsWrite,
	"POST /conversations/{conversationId}/read":               auth.ScopeConversationsWrite,
	"POST /conversations/{conversationId}/unread":             auth.ScopeConversationsWrite,
	"POST /conversations/{conversationId}/complete":           auth.ScopeConversationsWrite,
	"POST /conversations/{conversationId}/reopen":             auth.ScopeConversationsWrite,
	"PUT /conversations/{conversationId}/assignee":            auth.ScopeConversationsWrite,
	"PUT /conversations/{conversationId}/bot":                 auth.ScopeConversationsWrite,
	"DELETE /conversations/{conversationId}/assignee":         auth.ScopeConversationsWrite,
	"PUT /conversations/{conversationId}/labels/{labelId}":    auth.ScopeConversationsWrite,
	"DELETE /conversations/{conversationId}/labels/{labelId}": auth.ScopeConversationsWrite,

	"POST /conversations/{conversationId}/messages":                    auth.ScopeMessagesWrite,
	"POST /conversations/{conversationId}/comments":                    auth.ScopeMessagesWrite,
	"PATCH /conversations/{conversationId}/messages/{messageId}":       auth.ScopeMessagesWrite,
	"POST /conversations/{conversationId}/messages/{messageId}/cancel": auth.ScopeMessagesWrite,
	"POST /conversations/{conversationId}/messages/{messageId}/send":   auth.ScopeMessagesWrite,
	"POST /uploads": auth.ScopeMessagesWrite,

	"GET /contacts":                              auth.ScopeContactsRead,
	"GET /contacts/{contactId}":                  auth.ScopeContactsRead,
	"GET /contacts/{contactId}/consent":          auth.ScopeContactsRead,
	"GET /contacts/{contactId}/merges/{mergeId}": auth.ScopeContactsRead,
	"GET /tags":                    auth.ScopeContactsRead,
	"GET /contact-fields":          auth.ScopeContactsRead,
	"GET /lists":                   auth.ScopeContactsRead,
	"GET /lists/{listId}":          auth.ScopeContactsRead,
	"GET /lists/{listId}/contacts": auth.ScopeContactsRead,

	"POST /contacts":                                auth.ScopeContactsWrite,
	"PATCH /contacts/{contactId}":                   auth.ScopeContactsWrite,
	"PUT /contacts/{contactId}/tags/{tag}":          auth.ScopeContactsWrite,
	"DELETE /contacts/{contactId}/tags/{tag}":       auth.ScopeContactsWrite,
	"DELETE /contacts/{contactId}/handles/{handle}": auth.ScopeContactsWrite,
	"POST /contacts/{contactId}/opt-out":            auth.ScopeContactsWrite,
	"POST /contacts/{contactId}/opt-in":             auth.ScopeContactsWrite,
	"POST /contacts/{contactId}/merge":              auth.ScopeContactsWrite,
	"POST /lists":                                   auth.ScopeContactsWrite,
	"PATCH /lists/{listId}":                         auth.ScopeContactsWrite,
	"POST /lists/{listId}/contacts":                 auth.ScopeContactsWrite,
	"DELETE /lists/{listId}/contacts/{contactId}":   auth.ScopeContactsWrite,
}

// checkScope lets a person through, and a machine client only onto a
// route its token has the scope for.
func checkScope(pattern string, actor inbox.Actor) error {
	if !actor.IsMachine() {
		return nil
	}
	need, ok := routeScopes[pattern]
	switch {
	case !ok:
		return inbox.Errorf(inbox.KindForbidden, "machine clients cannot call %s; it needs a person's sign-in", pattern)
	case need == anyScope || actor.HasScope(need):
		return nil
	}
	return &inbox.Error{Kind: problem.KindInsufficientScope, Field: "scope",
		Message: "this client's token lacks the scope " + auth.FullScope(need) + ", which " + pattern + " needs"}
}

// challengeScope tells an OAuth client which scope to ask for (RFC 6750 §3).
func challengeScope(w http.ResponseWriter, pattern string) {
	if need := routeScopes[pattern]; need != "" && need != anyScope {
		w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope", scope="`+auth.FullScope(need)+`"`)
	}
}
