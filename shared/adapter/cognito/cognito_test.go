package cognito_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/parley-inbox/parley/shared/adapter/cognito"
	"github.com/parley-inbox/parley/shared/inbox"
)

const clientID = "3n4b5urk1ft4fl3mg5e62d9ado"

// pool is a user pool's JWKS endpoint: it serves the public halves of
// its keys, and counts how often it is asked.
type pool struct {
	mu      sync.Mutex
	keys    map[string]*rsa.PrivateKey
	omitAlg bool // "alg" is optional in a JWK
	fetches atomic.Int32
	srv     *httptest.Server
}

func newKey(tb testing.TB) *rsa.PrivateKey {
	tb.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

func newPool(tb testing.TB, keys map[string]*rsa.PrivateKey) *pool {
	tb.Helper()
	p := &pool{keys: keys}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /us-east-1_Parley/.well-known/jwks.json", func(w http.ResponseWriter, r *http.Request) {
		p.fetches.Add(1)
		p.mu.Lock()
		defer p.mu.Unlock()
		var set struct {
			Keys []map[string]string `json:"keys"`
		}
		for kid, k := range p.keys {
			jwk := map[string]string{
				"alg": "RS256", "kty": "RSA", "use": "sig", "kid": kid,
				"n": base64.RawURLEncoding.EncodeToString(k.N.Bytes()),
				"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.E)).Bytes()),
			}
			if p.omitAlg {
				delete(jwk, "alg")
			}
			set.Keys = append(set.Keys, jwk)
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(set)
	})
	p.srv = httptest.NewServer(mux)
	tb.Cleanup(p.srv.Close)
	return p
}

func (p *pool) issuer() string { return p.srv.URL + "/us-east-1_Parley" }

func (p *pool) verifier(tb testing.TB) *cognito.Verifier {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	v, err := cognito.New(ctx, p.issuer(), clientID)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// idClaims are the claims of a Cognito ID token for user u1, an agent of
// workspace w1.
func idClaims(issuer string) jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{
		"sub": "u1", "custom:workspace_id": "w1", "cognito:groups": []string{"agent"}, "token_use": "id",
		"aud": clientID, "iss": issuer, "iat": now.Unix(), "auth_time": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"email": "ann@example.com",
	}
}

func sign(tb testing.TB, claims jwt.MapClaims, kid string, key *rsa.PrivateKey) string {
	tb.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func TestVerifyToken(t *testing.T) {
	key := newKey(t)
	p := newPool(t, map[string]*rsa.PrivateKey{"k1": key})
	v := p.verifier(t)
	with := func(change func(c jwt.MapClaims)) string {
		c := idClaims(p.issuer())
		change(c)
		return sign(t, c, "k1", key)
	}

	valid := []struct {
		name, token string
		want        inbox.Actor
	}{
		{"an agent's ID token", with(func(jwt.MapClaims) {}), inbox.Actor{WorkspaceID: "w1", UserID: "u1", Role: inbox.RoleAgent}},
		{"an admin's ID token", with(func(c jwt.MapClaims) { c["cognito:groups"] = []string{"agent", "admin"} }), inbox.Actor{WorkspaceID: "w1", UserID: "u1", Role: inbox.RoleAdmin}},
	}
	for _, tt := range valid {
		t.Run(tt.name, func(t *testing.T) {
			got, err := v.VerifyToken(tt.token)
			if err != nil || got != tt.want {
				t.Errorf("VerifyToken = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}

	publicPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: must(x509.MarshalPKIXPublicKey(&key.PublicKey))})
	hs256 := func(secret []byte) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, idClaims(p.issuer()))
		tok.Header["kid"] = "k1"
		s, err := tok.SignedString(secret)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	none := jwt.NewWithClaims(jwt.SigningMethodNone, idClaims(p.issuer()))
	none.Header["kid"] = "k1"
	unsigned, _ := none.SignedString(jwt.UnsafeAllowNoneSignatureType)
	stranger := newKey(t)

	rejected := []struct {
		name, token string
		want        inbox.Kind
	}{
		{"wrong audience", with(func(c jwt.MapClaims) { c["aud"] = "another-app-client" }), inbox.KindUnauthorized},
		{"no audience", with(func(c jwt.MapClaims) { delete(c, "aud") }), inbox.KindUnauthorized},
		{"wrong issuer", with(func(c jwt.MapClaims) { c["iss"] = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other" }), inbox.KindUnauthorized},
		{"expired", with(func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Minute).Unix() }), inbox.KindUnauthorized},
		{"no expiry", with(func(c jwt.MapClaims) { delete(c, "exp") }), inbox.KindUnauthorized},
		{"not yet valid", with(func(c jwt.MapClaims) { c["nbf"] = time.Now().Add(time.Hour).Unix() }), inbox.KindUnauthorized},
		{"an access token", with(func(c jwt.MapClaims) { c["token_use"] = "access" }), inbox.KindUnauthorized},
		{"no token_use", with(func(c jwt.MapClaims) { delete(c, "token_use") }), inbox.KindUnauthorized},
		{"no workspace", with(func(c jwt.MapClaims) { delete(c, "custom:workspace_id") }), inbox.KindUnauthorized},
		{"HS256 keyed with the public key (alg confusion)", hs256(publicPEM), inbox.KindUnauthorized},
		{"HS256 keyed with the modulus", hs256(key.N.Bytes()), inbox.KindUnauthorized},
		{"alg none", unsigned, inbox.KindUnauthorized},
		{"unknown kid", sign(t, idClaims(p.issuer()), "k2", stranger), inbox.KindUnauthorized},
		{"another key under a known kid", sign(t, idClaims(p.issuer()), "k1", stranger), inbox.KindUnauthorized},
		{"no kid", sign(t, idClaims(p.issuer()), "", key), inbox.KindUnauthorized},
		{"tampered claims", with(func(jwt.MapClaims) {})[:40] + "x" + with(func(jwt.MapClaims) {})[41:], inbox.KindUnauthorized},
		{"garbage", "not.a.token", inbox.KindUnauthorized},
		{"in no group", with(func(c jwt.MapClaims) { delete(c, "cognito:groups") }), inbox.KindForbidden},
	}
	for _, tt := range rejected {
		t.Run(tt.name, func(t *testing.T) {
			got, err := v.VerifyToken(tt.token)
			if err == nil || inbox.ErrorKind(err) != tt.want {
				t.Errorf("VerifyToken = %+v, %v; want kind %q", got, err, tt.want)
			}
			if got != (inbox.Actor{}) {
				t.Errorf("a rejected token still named %+v", got)
			}
		})
	}
	// The keys are fetched at cold start; a kid never seen asks once more
	// (rate limited), and nothing else does.
	if n := p.fetches.Load(); n < 1 || n > 2 {
		t.Errorf("the JWKS was fetched %d times for %d tokens, want once at start and at most once for the unknown kid", n, len(valid)+len(rejected))
	}
}

func TestVerifyTokenAfterTheKeysRotate(t *testing.T) {
	old := newKey(t)
	p := newPool(t, map[string]*rsa.PrivateKey{"k1": old})
	v := p.verifier(t)
	if _, err := v.VerifyToken(sign(t, idClaims(p.issuer()), "k1", old)); err != nil {
		t.Fatal(err)
	}
	next := newKey(t)
	p.mu.Lock()
	p.keys["k2"] = next
	p.mu.Unlock()
	if _, err := v.VerifyToken(sign(t, idClaims(p.issuer()), "k2", next)); err != nil {
		t.Errorf("a token signed with the pool's new key: %v", err)
	}
	if n := p.fetches.Load(); n != 2 {
		t.Errorf("JWKS fetches = %d, want 2 (cold start, then the new kid)", n)
	}
}

// The verifier takes RS256 only, whatever the JWKS says of its keys.
func TestVerifyTokenTakesRS256Only(t *testing.T) {
	key := newKey(t)
	p := newPool(t, map[string]*rsa.PrivateKey{"k1": key})
	p.omitAlg = true
	v := p.verifier(t)
	for _, method := range []jwt.SigningMethod{jwt.SigningMethodRS512, jwt.SigningMethodPS256} {
		tok := jwt.NewWithClaims(method, idClaims(p.issuer()))
		tok.Header["kid"] = "k1"
		raw, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := v.VerifyToken(raw); err == nil {
			t.Errorf("%s with the pool's own key was accepted as %+v", method.Alg(), got)
		}
	}
	if _, err := v.VerifyToken(sign(t, idClaims(p.issuer()), "k1", key)); err != nil {
		t.Errorf("RS256 with the same key: %v", err)
	}
}

// A cold start that cannot reach the pool's keys does not fail: the first
// token fetches them again.
func TestVerifierThatStartedWithoutKeysFetchesThemForTheFirstToken(t *testing.T) {
	key := newKey(t)
	p := newPool(t, map[string]*rsa.PrivateKey{})
	v := p.verifier(t)
	p.mu.Lock()
	p.keys["k1"] = key
	p.mu.Unlock()
	got, err := v.VerifyToken(sign(t, idClaims(p.issuer()), "k1", key))
	if want := (inbox.Actor{WorkspaceID: "w1", UserID: "u1", Role: inbox.RoleAgent}); err != nil || got != want {
		t.Errorf("VerifyToken = %+v, %v; want %+v", got, err, want)
	}
	if n := p.fetches.Load(); n != 2 {
		t.Errorf("JWKS fetches = %d, want 2 (cold start, then the token's kid)", n)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
