// Package auth turns a caller's token into an inbox.Actor. In AWS, API
// Gateway's JWT authorizer has already verified the Cognito token and the
// function only reads its claims; locally, tokens are signed with a
// development key and verified here. Both read the same claims.
package auth

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/awslabs/aws-lambda-go-api-proxy/core"
	"github.com/golang-jwt/jwt/v5"

	"github.com/parley-inbox/parley/shared/inbox"
)

// Claim names, as Cognito puts them in ID tokens.
const (
	ClaimSubject   = "sub"
	ClaimWorkspace = "custom:workspace_id"
	ClaimGroups    = "cognito:groups"
)

// Authenticator identifies the caller of a request.
type Authenticator interface {
	Authenticate(r *http.Request) (inbox.Actor, error)
}

var errNoToken = &inbox.Error{Kind: inbox.KindUnauthorized, Message: "missing or invalid bearer token"}

// ActorFromClaims reads workspace, user and role. groups is either a list
// or, as API Gateway flattens it, a string such as "[admin agent]".
func ActorFromClaims(sub, workspace string, groups []string) (inbox.Actor, error) {
	if sub == "" || workspace == "" || strings.Contains(workspace, "#") {
		return inbox.Actor{}, errNoToken
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

// APIGateway reads the claims API Gateway's JWT authorizer verified.
type APIGateway struct{}

func (APIGateway) Authenticate(r *http.Request) (inbox.Actor, error) {
	rc, ok := core.GetAPIGatewayV2ContextFromContext(r.Context())
	if !ok || rc.Authorizer == nil || rc.Authorizer.JWT == nil {
		return inbox.Actor{}, errNoToken
	}
	c := rc.Authorizer.JWT.Claims
	return ActorFromClaims(c[ClaimSubject], c[ClaimWorkspace], splitGroups(c[ClaimGroups]))
}

// DevTokens signs and verifies development tokens (HS256). Never use it in AWS.
type DevTokens struct {
	Key []byte
}

const devIssuer = "parley-local"

type devClaims struct {
	Workspace string   `json:"custom:workspace_id"`
	Groups    []string `json:"cognito:groups"`
	jwt.RegisteredClaims
}

// Issue signs a token for a user of a workspace.
func (d DevTokens) Issue(workspace, user string, role inbox.Role, ttl time.Duration) (string, error) {
	now := time.Now()
	claims := devClaims{
		Workspace: workspace,
		Groups:    []string{string(role)},
		RegisteredClaims: jwt.RegisteredClaims{
			Subject: user, Issuer: devIssuer,
			IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(d.Key)
}

func (d DevTokens) Authenticate(r *http.Request) (inbox.Actor, error) {
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || raw == "" {
		return inbox.Actor{}, errNoToken
	}
	var claims devClaims
	_, err := jwt.ParseWithClaims(raw, &claims, func(*jwt.Token) (any, error) { return d.Key, nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithIssuer(devIssuer), jwt.WithExpirationRequired())
	if err != nil {
		return inbox.Actor{}, &inbox.Error{Kind: inbox.KindUnauthorized, Message: tokenProblem(err), Err: err}
	}
	return ActorFromClaims(claims.Subject, claims.Workspace, claims.Groups)
}

func tokenProblem(err error) string {
	if errors.Is(err, jwt.ErrTokenExpired) {
		return "the bearer token has expired; sign in again"
	}
	return fmt.Sprintf("the bearer token is not valid (%s)", "signature, issuer or format")
}
