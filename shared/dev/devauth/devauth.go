// Package devauth issues and checks the development tokens make dev and the
// tests use in place of Cognito's. Nothing deployed imports it.
package devauth

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/parley-inbox/parley/shared/auth"
	"github.com/parley-inbox/parley/shared/inbox"
)

// Tokens signs and verifies development tokens (HS256), with the claims
// Cognito would put in its tokens.
type Tokens struct {
	Key []byte
}

const devIssuer = "parley-local"

type devClaims struct {
	Workspace string   `json:"custom:workspace_id"`
	Groups    []string `json:"cognito:groups"`
	jwt.RegisteredClaims
}

// Issue signs a token for a user of a workspace.
func (d Tokens) Issue(workspace, user string, role inbox.Role, ttl time.Duration) (string, error) {
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

func (d Tokens) Authenticate(r *http.Request) (inbox.Actor, error) {
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || raw == "" {
		return inbox.Actor{}, auth.ErrNoToken
	}
	return d.VerifyToken(raw)
}

// VerifyToken checks a raw development token, as the WebSocket gate does
// with the one in its query string.
func (d Tokens) VerifyToken(raw string) (inbox.Actor, error) {
	var claims devClaims
	_, err := jwt.ParseWithClaims(raw, &claims, func(*jwt.Token) (any, error) { return d.Key, nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithIssuer(devIssuer), jwt.WithExpirationRequired())
	if err != nil {
		return inbox.Actor{}, &inbox.Error{Kind: inbox.KindUnauthorized, Message: tokenProblem(err), Err: err}
	}
	return auth.ActorFromClaims(claims.Subject, claims.Workspace, claims.Groups)
}

func tokenProblem(err error) string {
	if errors.Is(err, jwt.ErrTokenExpired) {
		return "the bearer token has expired; sign in again"
	}
	return fmt.Sprintf("the bearer token is not valid (%s)", "signature, issuer or format")
}
