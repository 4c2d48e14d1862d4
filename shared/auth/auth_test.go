package auth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/core"

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
