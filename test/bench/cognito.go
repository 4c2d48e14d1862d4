package main

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/parley-inbox/parley/shared/inbox"
)

// benchClientID is the app client (the ID tokens' audience) the stand-in
// user pool issues for.
const benchClientID = "bench-spa-client"

// cognitoStandIn is a user pool's issuer: it serves the pool's JWKS at
// <URL>/.well-known/jwks.json, as the authorizer fetches it at init, and
// signs ID tokens the way Cognito does (RS256, token_use "id").
type cognitoStandIn struct {
	*httptest.Server
	key *rsa.PrivateKey
}

const cognitoKeyID = "bench-key"

func newCognitoStandIn() *cognitoStandIn {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	check(err)
	jwks := fmt.Sprintf(`{"keys":[{"kty":"RSA","kid":%q,"use":"sig","alg":"RS256","n":%q,"e":%q}]}`, cognitoKeyID,
		base64.RawURLEncoding.EncodeToString(key.N.Bytes()), base64.RawURLEncoding.EncodeToString(big.NewInt(int64(key.E)).Bytes()))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/jwks.json" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, jwks)
	}))
	return &cognitoStandIn{Server: srv, key: key}
}

// idToken signs an ID token for a user of a workspace.
func (c *cognitoStandIn) idToken(workspace, user string, role inbox.Role) string {
	now := time.Now()
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"sub": user, "iss": c.URL, "aud": benchClientID, "token_use": "id",
		"custom:workspace_id": workspace, "cognito:groups": []string{string(role)},
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	})
	t.Header["kid"] = cognitoKeyID
	raw, err := t.SignedString(c.key)
	check(err)
	return raw
}
