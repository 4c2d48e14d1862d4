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
// Cognito would put in its tokens: ID tokens for people, and access tokens
// (client credentials) for the machine clients in Machines.
type Tokens struct {
	Key      []byte
	Machines auth.MachineClients
}

const devIssuer = "parley-local"

type devClaims struct {
	TokenUse  string   `json:"token_use,omitempty"`
	Workspace string   `json:"custom:workspace_id,omitempty"`
	Groups    []string `json:"cognito:groups,omitempty"`
	// A machine client's access token: client_id (also its sub) and the
	// granted scopes, space-separated ("parley/messages.write").
	ClientID string `json:"client_id,omitempty"`
	Scope    string `json:"scope,omitempty"`
	jwt.RegisteredClaims
}

// Issue signs a token for a user of a workspace.
func (d Tokens) Issue(workspace, user string, role inbox.Role, ttl time.Duration) (string, error) {
	now := time.Now()
	claims := devClaims{
		TokenUse:  "id",
		Workspace: workspace,
		Groups:    []string{string(role)},
		RegisteredClaims: jwt.RegisteredClaims{
			Subject: user, Issuer: devIssuer,
			IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(d.Key)
}

// IssueMachine signs an access token for a machine client, as Cognito's
// token endpoint does for client credentials: sub and client_id are the
// client, scope the granted scopes (short names, such as messages.write).
func (d Tokens) IssueMachine(clientID string, scopes []string, ttl time.Duration) (string, error) {
	full := make([]string, len(scopes))
	for i, s := range scopes {
		full[i] = auth.FullScope(s)
	}
	now := time.Now()
	claims := devClaims{
		TokenUse: "access", ClientID: clientID, Scope: strings.Join(full, " "),
		RegisteredClaims: jwt.RegisteredClaims{
			Subject: clientID, Issuer: devIssuer,
			IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(d.Key)
}

// Authenticate takes a person's token or a machine client's, as the
// deployed API does.
func (d Tokens) Authenticate(r *http.Request) (inbox.Actor, error) {
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || raw == "" {
		return inbox.Actor{}, auth.ErrNoToken
	}
	claims, err := d.parse(raw)
	if err != nil {
		return inbox.Actor{}, err
	}
	if claims.TokenUse == "access" {
		return d.Machines.ActorFromAccessToken(claims.Subject, claims.ClientID, claims.Scope)
	}
	return auth.ActorFromClaims(claims.Subject, claims.Workspace, claims.Groups)
}

// VerifyToken checks a raw development token, as the WebSocket gate does
// with the one in its query string. Like the deployed $connect authorizer,
// which takes ID tokens only, it refuses machine clients' access tokens.
func (d Tokens) VerifyToken(raw string) (inbox.Actor, error) {
	claims, err := d.parse(raw)
	if err != nil {
		return inbox.Actor{}, err
	}
	if claims.TokenUse == "access" {
		return inbox.Actor{}, auth.ErrNoToken
	}
	return auth.ActorFromClaims(claims.Subject, claims.Workspace, claims.Groups)
}

func (d Tokens) parse(raw string) (devClaims, error) {
	var claims devClaims
	_, err := jwt.ParseWithClaims(raw, &claims, func(*jwt.Token) (any, error) { return d.Key, nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithIssuer(devIssuer), jwt.WithExpirationRequired())
	if err != nil {
		return devClaims{}, &inbox.Error{Kind: inbox.KindUnauthorized, Message: tokenProblem(err), Err: err}
	}
	return claims, nil
}

func tokenProblem(err error) string {
	if errors.Is(err, jwt.ErrTokenExpired) {
		return "the bearer token has expired; sign in again"
	}
	return fmt.Sprintf("the bearer token is not valid (%s)", "signature, issuer or format")
}
