// Package realtime serves the WebSocket API: the $connect authorizer, the
// connection routes, and the fan-out of domain events from the bus. The
// local stack serves the same protocol with the same Gate and inbox.Live.
package realtime

import (
	"context"
	"errors"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/parley-inbox/parley/shared/auth"
	"github.com/parley-inbox/parley/shared/inbox"
)

// AgentVerifier checks an agent's token: Cognito's ID token in AWS, a
// development token locally.
type AgentVerifier interface {
	VerifyToken(raw string) (inbox.Actor, error)
}

// Gate admits connections: agents by their token, visitors by their web
// chat token, each only to the workspace the token is for.
type Gate struct {
	Agents   AgentVerifier
	Visitors auth.VisitorTokens
}

var errNoToken = &inbox.Error{Kind: inbox.KindUnauthorized, Message: "connect with ?workspace=<id>&token=<agent or visitor token>"}

// Admit returns the connection a token opens in a workspace:
// KindUnauthorized without a valid token, KindForbidden for a valid one of
// another workspace.
func (g Gate) Admit(workspaceID, token string) (inbox.Connection, error) {
	if workspaceID == "" || len(workspaceID) > 64 || strings.Contains(workspaceID, "#") || token == "" || len(token) > 8192 {
		return inbox.Connection{}, errNoToken
	}
	// A visitor token has one dot, a JWT two.
	if strings.Count(token, ".") == 1 {
		visitor, ok := g.Visitors.Verify(workspaceID, token)
		if !ok {
			return inbox.Connection{}, errNoToken
		}
		return inbox.Connection{WorkspaceID: workspaceID, VisitorID: visitor}, nil
	}
	actor, err := g.Agents.VerifyToken(token)
	if err != nil {
		return inbox.Connection{}, err
	}
	if actor.WorkspaceID != workspaceID {
		return inbox.Connection{}, inbox.Errorf(inbox.KindForbidden, "this token is not for workspace %q", workspaceID)
	}
	return inbox.Connection{WorkspaceID: workspaceID, UserID: actor.UserID, Role: actor.Role}, nil
}

// Authorize is the $connect REQUEST authorizer. An error named
// "Unauthorized" makes API Gateway answer 401; a Deny policy, 403. The
// allowed connection's identity travels to every route as its context.
func (g Gate) Authorize(_ context.Context, req events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
	c, err := g.Admit(req.QueryStringParameters["workspace"], req.QueryStringParameters["token"])
	if inbox.IsKind(err, inbox.KindUnauthorized) || (err != nil && !inbox.IsKind(err, inbox.KindForbidden)) {
		return events.APIGatewayCustomAuthorizerResponse{}, errors.New("Unauthorized")
	}
	effect, principal := "Allow", c.UserID
	if err != nil {
		effect, principal = "Deny", "forbidden"
	}
	if c.IsVisitor() {
		principal = "visitor:" + c.VisitorID
	}
	return events.APIGatewayCustomAuthorizerResponse{
		PrincipalID: principal,
		PolicyDocument: events.APIGatewayCustomAuthorizerPolicy{Version: "2012-10-17", Statement: []events.IAMPolicyStatement{
			{Action: []string{"execute-api:Invoke"}, Effect: effect, Resource: []string{req.MethodArn}},
		}},
		Context: map[string]any{"workspaceId": c.WorkspaceID, "userId": c.UserID, "role": string(c.Role), "visitorId": c.VisitorID},
	}, nil
}

// connectionOf reads the identity the authorizer put in a route's context.
func connectionOf(rc events.APIGatewayWebsocketProxyRequestContext) (inbox.Connection, bool) {
	ctx, _ := rc.Authorizer.(map[string]any)
	get := func(k string) string { s, _ := ctx[k].(string); return s }
	c := inbox.Connection{ID: rc.ConnectionID, WorkspaceID: get("workspaceId"), UserID: get("userId"), Role: inbox.Role(get("role")), VisitorID: get("visitorId")}
	return c, c.ID != "" && c.WorkspaceID != "" && (c.UserID != "" || c.VisitorID != "")
}
