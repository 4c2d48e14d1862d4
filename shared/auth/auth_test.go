package auth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/core"
	"github.com/golang-jwt/jwt/v5"

	"github.com/parley-inbox/parley/shared/auth"
	"github.com/parley-inbox/parley/shared/inbox"
)

var key = []byte("0123456789abcdef0123456789abcdef")

func request(token string) *http.Request {
	r := httptest.NewRequest("GET", "/me", nil)
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	return r
}

func TestDevTokenRoundTrip(t *testing.T) {
	tokens := auth.DevTokens{Key: key}
	tok, err := tokens.Issue("ws1", "u1", inbox.RoleAgent, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	got, err := tokens.Authenticate(request(tok))
	want := inbox.Actor{WorkspaceID: "ws1", UserID: "u1", Role: inbox.RoleAgent}
	if err != nil || got != want {
		t.Fatalf("Authenticate = %+v, %v; want %+v", got, err, want)
	}
}

func TestDevTokenRejections(t *testing.T) {
	tokens := auth.DevTokens{Key: key}
	expired, _ := tokens.Issue("ws1", "u1", inbox.RoleAdmin, -time.Minute)
	otherKey, _ := auth.DevTokens{Key: []byte("another-key-another-key-another!!")}.Issue("ws1", "u1", inbox.RoleAdmin, time.Hour)
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"sub": "u1", "custom:workspace_id": "ws1", "cognito:groups": []string{"admin"}, "iss": "parley-local", "exp": time.Now().Add(time.Hour).Unix()}).SignedString(jwt.UnsafeAllowNoneSignatureType)
	noGroup, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "u1", "custom:workspace_id": "ws1", "iss": "parley-local", "exp": time.Now().Add(time.Hour).Unix()}).SignedString(key)
	tests := []struct {
		name, token string
		want        inbox.Kind
	}{
		{"missing", "", inbox.KindUnauthorized},
		{"garbage", "not.a.jwt", inbox.KindUnauthorized},
		{"expired", expired, inbox.KindUnauthorized},
		{"wrong key", otherKey, inbox.KindUnauthorized},
		{"alg none", none, inbox.KindUnauthorized},
		{"no role group", noGroup, inbox.KindForbidden},
	}
	for _, tt := range tests {
		if _, err := tokens.Authenticate(request(tt.token)); inbox.ErrorKind(err) != tt.want {
			t.Errorf("%s: kind %q, want %q (%v)", tt.name, inbox.ErrorKind(err), tt.want, err)
		}
	}
}

func TestActorFromClaims(t *testing.T) {
	a, err := auth.ActorFromClaims("u", "ws", []string{"agent", "admin"})
	if err != nil || a.Role != inbox.RoleAdmin {
		t.Errorf("agent+admin groups = %+v, %v; want admin", a, err)
	}
	if _, err := auth.ActorFromClaims("u", "ws#x", []string{"admin"}); inbox.ErrorKind(err) != inbox.KindUnauthorized {
		t.Errorf("a workspace id with # must be refused, got %v", err)
	}
	if _, err := auth.ActorFromClaims("", "ws", []string{"admin"}); inbox.ErrorKind(err) != inbox.KindUnauthorized {
		t.Errorf("a token without sub must be refused, got %v", err)
	}
}

func TestAPIGatewayClaims(t *testing.T) {
	tests := []struct {
		groups string
		want   inbox.Role
	}{
		{"[admin]", inbox.RoleAdmin},
		{"[agent]", inbox.RoleAgent},
		{"[agent admin]", inbox.RoleAdmin},
	}
	for _, tt := range tests {
		ev := events.APIGatewayV2HTTPRequest{RawPath: "/me", RequestContext: events.APIGatewayV2HTTPRequestContext{
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET", Path: "/me"},
			Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
				JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: map[string]string{
					"sub": "u1", "custom:workspace_id": "ws1", "cognito:groups": tt.groups,
				}},
			}}}
		// The same conversion the Lambda adapter performs.
		r, err := (&core.RequestAccessorV2{}).EventToRequestWithContext(context.Background(), ev)
		if err != nil {
			t.Fatal(err)
		}
		got, err := auth.APIGateway{}.Authenticate(r)
		if err != nil || got.Role != tt.want || got.WorkspaceID != "ws1" || got.UserID != "u1" {
			t.Errorf("groups %s: %+v, %v; want role %s", tt.groups, got, err, tt.want)
		}
	}
	if _, err := (auth.APIGateway{}).Authenticate(request("")); inbox.ErrorKind(err) != inbox.KindUnauthorized {
		t.Errorf("no authorizer context: %v, want unauthorized", err)
	}
}

func FuzzDevTokenAuthenticate(f *testing.F) {
	valid, _ := auth.DevTokens{Key: key}.Issue("ws1", "u1", inbox.RoleAdmin, time.Hour)
	for _, s := range []string{valid, "", "a.b.c", "Bearer", valid + "x"} {
		f.Add(s)
	}
	tokens := auth.DevTokens{Key: key}
	f.Fuzz(func(t *testing.T, token string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header["Authorization"] = []string{"Bearer " + token}
		a, err := tokens.Authenticate(r)
		if err == nil && (a.WorkspaceID == "" || a.UserID == "" || !a.Role.Valid()) {
			t.Fatalf("accepted a token without a full identity: %+v", a)
		}
		if want := (inbox.Actor{WorkspaceID: "ws1", UserID: "u1", Role: inbox.RoleAdmin}); err == nil && a != want {
			t.Fatalf("accepted a token it did not sign: %q -> %+v", token, a)
		}
	})
}
