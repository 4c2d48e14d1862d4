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

// apiGatewayRequest is a request as the Lambda adapter builds it from an
// event whose JWT authorizer verified claims.
func apiGatewayRequest(t *testing.T, claims map[string]string) *http.Request {
	t.Helper()
	ev := events.APIGatewayV2HTTPRequest{RawPath: "/me", RequestContext: events.APIGatewayV2HTTPRequestContext{
		HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET", Path: "/me"},
		Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims},
		}}}
	r, err := (&core.RequestAccessorV2{}).EventToRequestWithContext(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestAPIGatewayMachineClients(t *testing.T) {
	g := auth.APIGateway{Machines: auth.MachineClients{"crm123": {WorkspaceID: "ws1", Name: "CRM"}, "noname": {WorkspaceID: "ws2"}}}
	access := func(sub, client, scope string) map[string]string {
		return map[string]string{"token_use": "access", "sub": sub, "client_id": client, "scope": scope}
	}
	tests := []struct {
		name   string
		claims map[string]string
		want   inbox.Actor
		kind   inbox.Kind
	}{
		{"client credentials", access("crm123", "crm123", "parley/messages.write parley/conversations.read"),
			inbox.Actor{WorkspaceID: "ws1", UserID: "client:crm123", Role: inbox.RoleAgent, ClientID: "crm123", Name: "CRM", Scopes: "messages.write conversations.read"}, ""},
		{"another resource server's and unknown scopes are dropped", access("crm123", "crm123", "other/messages.write parley/everything messages.write parley/contacts.read"),
			inbox.Actor{WorkspaceID: "ws1", UserID: "client:crm123", Role: inbox.RoleAgent, ClientID: "crm123", Name: "CRM", Scopes: "contacts.read"}, ""},
		{"no scope", access("noname", "noname", ""),
			inbox.Actor{WorkspaceID: "ws2", UserID: "client:noname", Role: inbox.RoleAgent, ClientID: "noname", Name: "noname"}, ""},
		{"unknown client", access("stranger", "stranger", "parley/messages.write"), inbox.Actor{}, inbox.KindUnauthorized},
		{"a user's access token from a known client", access("3c5d2f4e-user", "crm123", "parley/messages.write"), inbox.Actor{}, inbox.KindUnauthorized},
		{"no client id", access("", "", "parley/messages.write"), inbox.Actor{}, inbox.KindUnauthorized},
		// An ID token is read as before, even with a machine client's claims mixed in.
		{"ID token", map[string]string{"token_use": "id", "sub": "u1", "custom:workspace_id": "ws1", "cognito:groups": "[agent]", "client_id": "crm123"},
			inbox.Actor{WorkspaceID: "ws1", UserID: "u1", Role: inbox.RoleAgent}, ""},
	}
	for _, tt := range tests {
		got, err := g.Authenticate(apiGatewayRequest(t, tt.claims))
		if (err == nil) != (tt.kind == "") || (err != nil && inbox.ErrorKind(err) != tt.kind) || got != tt.want {
			t.Errorf("%s: %+v, %v; want %+v, kind %q", tt.name, got, err, tt.want, tt.kind)
		}
	}
	// A machine client is never an admin, whatever it is granted.
	if got, _ := g.Authenticate(apiGatewayRequest(t, access("crm123", "crm123", "parley/contacts.write"))); got.IsAdmin() || !got.IsMachine() {
		t.Errorf("machine actor = %+v, want a non-admin machine", got)
	}
	// Without configured clients every access token is refused.
	if _, err := (auth.APIGateway{}).Authenticate(apiGatewayRequest(t, access("crm123", "crm123", "parley/messages.write"))); inbox.ErrorKind(err) != inbox.KindUnauthorized {
		t.Errorf("no machine clients configured: %v, want unauthorized", err)
	}
}
