// Package cognito verifies Cognito ID tokens where no API Gateway JWT
// authorizer has: at the WebSocket API's $connect. The pool's signing keys
// (JWKS) are fetched once at cold start and refreshed only for a key id
// the cache does not know.
package cognito

import (
	"context"
	"fmt"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"

	"github.com/parley-inbox/parley/shared/auth"
	"github.com/parley-inbox/parley/shared/inbox"
)

// Verifier checks ID tokens of one user pool and app client.
type Verifier struct {
	issuer, clientID string
	keys             keyfunc.Keyfunc
}

// New fetches the pool's JWKS from <issuer>/.well-known/jwks.json.
func New(ctx context.Context, issuer, clientID string) (*Verifier, error) {
	keys, err := keyfunc.NewDefaultCtx(ctx, []string{issuer + "/.well-known/jwks.json"})
	if err != nil {
		return nil, fmt.Errorf("cognito JWKS: %w", err)
	}
	return &Verifier{issuer: issuer, clientID: clientID, keys: keys}, nil
}

type idClaims struct {
	TokenUse  string   `json:"token_use"`
	Workspace string   `json:"custom:workspace_id"`
	Groups    []string `json:"cognito:groups"`
	jwt.RegisteredClaims
}

// VerifyToken checks an ID token's signature (RS256 only), issuer,
// audience, expiry and use, and reads the caller from its claims.
func (v *Verifier) VerifyToken(raw string) (inbox.Actor, error) {
	var c idClaims
	_, err := jwt.ParseWithClaims(raw, &c, v.keys.Keyfunc, jwt.WithValidMethods([]string{"RS256"}),
		jwt.WithIssuer(v.issuer), jwt.WithAudience(v.clientID), jwt.WithExpirationRequired())
	if err != nil || c.TokenUse != "id" {
		return inbox.Actor{}, auth.ErrNoToken
	}
	return auth.ActorFromClaims(c.Subject, c.Workspace, c.Groups)
}
