package auth

import (
	"strings"

	"github.com/parley-inbox/parley/shared/inbox"
)

// ResourceServer is the identifier of the Cognito resource server whose
// scopes machine clients are granted: a token's scope claim reads
// "parley/messages.write ...".
const ResourceServer = "parley"

// The scopes a machine client may be granted. Each covers a group of
// routes (api.routeScopes); a route outside every group is closed to
// machine clients, and none of them reaches an admin-only operation.
const (
	ScopeConversationsRead  = "conversations.read"
	ScopeConversationsWrite = "conversations.write"
	ScopeMessagesWrite      = "messages.write"
	ScopeContactsRead       = "contacts.read"
	ScopeContactsWrite      = "contacts.write"
)

// Scope is one scope and what it allows, as the resource server and the
// API document describe it.
type Scope struct{ Name, Description string }

// Scopes lists every scope, for the stack's resource server.
var Scopes = []Scope{
	{ScopeConversationsRead, "Read conversations, their messages and attachments, and labels"},
	{ScopeConversationsWrite, "Start conversations and change their state, assignee and labels"},
	{ScopeMessagesWrite, "Post messages and internal comments, upload attachments, manage scheduled messages"},
	{ScopeContactsRead, "Read and search contacts, their tags and consent"},
	{ScopeContactsWrite, "Create and update contacts, their tags, handles and consent"},
}

// FullScope is a scope as Cognito writes it in tokens and app clients.
func FullScope(name string) string { return ResourceServer + "/" + name }

// KnownScope reports whether name is one of Scopes.
func KnownScope(name string) bool {
	for _, s := range Scopes {
		if s.Name == name {
			return true
		}
	}
	return false
}

// MachineClient is what the deployment says about one machine client:
// the workspace it acts in and the name its messages carry. Cognito's
// client-credentials tokens hold neither.
type MachineClient struct{ WorkspaceID, Name string }

// MachineClients are the deployment's machine clients, by app client id.
type MachineClients map[string]MachineClient

// Claims of a Cognito access token.
const (
	ClaimTokenUse = "token_use"
	ClaimClientID = "client_id"
	ClaimScope    = "scope"
)

// ActorFromAccessToken reads a client-credentials access token: its
// client must be one of the deployment's (401 otherwise: no workspace to
// act in), and sub equals client_id, as in every token Cognito issues for
// client credentials (a user's access token has the user's sub and is
// refused). Only the resource server's scopes are kept.
func (m MachineClients) ActorFromAccessToken(sub, clientID, scope string) (inbox.Actor, error) {
	c, ok := m[clientID]
	if clientID == "" || sub != clientID || !ok || c.WorkspaceID == "" || strings.Contains(c.WorkspaceID, "#") {
		return inbox.Actor{}, &inbox.Error{Kind: inbox.KindUnauthorized,
			Message: "this access token is not from one of the deployment's machine clients; people sign in with an ID token"}
	}
	var granted []string
	for _, s := range strings.Fields(scope) {
		if name, ok := strings.CutPrefix(s, ResourceServer+"/"); ok && KnownScope(name) {
			granted = append(granted, name)
		}
	}
	name := c.Name
	if name == "" {
		name = clientID
	}
	return inbox.Actor{WorkspaceID: c.WorkspaceID, UserID: inbox.MachineUserID(clientID), Role: inbox.RoleAgent,
		ClientID: clientID, Name: name, Scopes: strings.Join(granted, " ")}, nil
}
