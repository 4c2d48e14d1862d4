// Package auth turns a caller's token into an inbox.Actor. In AWS, API
// Gateway's JWT authorizer has already verified the Cognito token and the
// function only reads its claims; locally, tokens are signed with a
// development key and verified here. Both read the same claims.
package auth

import (
	"net/http"
	"strings"

	"github.com/awslabs/aws-lambda-go-api-proxy/core"

	"github.com/parley-inbox/parley/shared/inbox"
)

// Claim names, as Cognito puts them in ID tokens (access tokens: machine.go).
const (
	ClaimSubject   = "sub"
	ClaimWorkspace = "custom:workspace_id"
	ClaimGroups    = "cognito:groups"
)

// Authenticator identifies the caller of a request.
type Authenticator interface {
	Authenticate(r *http.Request) (inbox.Actor, error)
}

// ErrNoToken is a request without a usable bearer token.
var ErrNoToken = &inbox.Error{Kind: inbox.KindUnauthorized, Message: "missing or invalid bearer token"}

// ActorFromClaims reads workspace, user and role. groups is either a list
// or, as API Gateway flattens it, a string such as "[admin agent]".
func ActorFromClaims(sub, workspace string, groups []string) (inbox.Actor, error) {
	if sub == "" || workspace == "" || strings.Contains(workspace, "#") {
		return inbox.Actor{}, ErrNoToken
	}
	a := inbox.Actor{WorkspaceID: workspace, UserID: sub}
	for _, g := range groups {
		switch inbox.Role(g) {
		case inbox.RoleAdmin:
			a.Role = inbox.RoleAdmin
		case inbox.RoleAgent:
			if a.Role == "" {
				a.Role = inbox.RoleAgent
			}
		}
	}
	if a.Role == "" {
		return inbox.Actor{}, inbox.Errorf(inbox.KindForbidden, "your account is in neither the admin nor the agent group")
	}
	return a, nil
}

// splitGroups parses API Gateway's rendering of a list claim.
func splitGroups(s string) []string {
	s = strings.Trim(strings.TrimSpace(s), "[]")
	return strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' })
}

// APIGateway reads the claims API Gateway's JWT authorizer verified: a
// person's ID token, or a machine client's access token (client
// credentials), whose client must be one of Machines.
type APIGateway struct {
	Machines MachineClients
}

func (g APIGateway) Authenticate(r *http.Request) (inbox.Actor, error) {
	rc, ok := core.GetAPIGatewayV2ContextFromContext(r.Context())
	if !ok || rc.Authorizer == nil || rc.Authorizer.JWT == nil {
		return inbox.Actor{}, ErrNoToken
	}
	c := rc.Authorizer.JWT.Claims
	if c[ClaimTokenUse] == "access" {
		return g.Machines.ActorFromAccessToken(c[ClaimSubject], c[ClaimClientID], c[ClaimScope])
	}
	return ActorFromClaims(c[ClaimSubject], c[ClaimWorkspace], splitGroups(c[ClaimGroups]))
}
