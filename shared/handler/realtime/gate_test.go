package realtime_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/golang-jwt/jwt/v5"

	"github.com/parley-inbox/parley/shared/auth"
	"github.com/parley-inbox/parley/shared/dev/devauth"
	"github.com/parley-inbox/parley/shared/handler/realtime"
	"github.com/parley-inbox/parley/shared/inbox"
)

var (
	agentTokens   = devauth.Tokens{Key: []byte("agent-key-agent-key-agent-key-32")}
	visitorTokens = auth.VisitorTokens{Key: []byte("visitor-key-visitor-key-visitor!")}
	gate          = realtime.Gate{Agents: agentTokens, Visitors: visitorTokens}
)

const (
	ws        = "01JD0000000000000000000WS1"
	otherWS   = "01JD0000000000000000000WS2"
	visitorID = "01JD00000000000000000000V1"
	methodArn = "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/live/$connect"
)

func agentToken(tb testing.TB, workspace string, role inbox.Role, ttl time.Duration) string {
	tb.Helper()
	tok, err := agentTokens.Issue(workspace, "u1", role, ttl)
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

// tokens are the callers the gate meets at $connect.
func tokens(tb testing.TB) map[string]string {
	tb.Helper()
	forged, err := devauth.Tokens{Key: []byte("another-key-another-key-another!")}.Issue(ws, "u1", inbox.RoleAdmin, time.Hour)
	if err != nil {
		tb.Fatal(err)
	}
	noRole, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "u1", "custom:workspace_id": ws,
		"iss": "parley-local", "exp": time.Now().Add(time.Hour).Unix()}).SignedString(agentTokens.Key)
	if err != nil {
		tb.Fatal(err)
	}
	visitor := visitorTokens.Issue(ws, visitorID)
	return map[string]string{
		"agent":                     agentToken(tb, ws, inbox.RoleAgent, time.Hour),
		"admin":                     agentToken(tb, ws, inbox.RoleAdmin, time.Hour),
		"other workspace's agent":   agentToken(tb, otherWS, inbox.RoleAdmin, time.Hour),
		"expired agent":             agentToken(tb, ws, inbox.RoleAgent, -time.Minute),
		"forged agent":              forged,
		"agent without a role":      noRole,
		"visitor":                   visitor,
		"other workspace's visitor": visitorTokens.Issue(otherWS, visitorID),
		"tampered visitor":          visitor[:len(visitor)-2] + "AA",
		"visitor id not an id":      visitorTokens.Issue(ws, "not-an-id"),
		"garbage":                   "garbage",
		"missing":                   "",
	}
}

func TestGateAdmit(t *testing.T) {
	toks := tokens(t)
	tests := []struct {
		token, workspace string
		want             inbox.Connection
		wantKind         inbox.Kind
	}{
		{"agent", ws, inbox.Connection{WorkspaceID: ws, UserID: "u1", Role: inbox.RoleAgent}, ""},
		{"admin", ws, inbox.Connection{WorkspaceID: ws, UserID: "u1", Role: inbox.RoleAdmin}, ""},
		{"visitor", ws, inbox.Connection{WorkspaceID: ws, VisitorID: visitorID}, ""},
		{"other workspace's agent", ws, inbox.Connection{}, inbox.KindForbidden},
		{"agent without a role", ws, inbox.Connection{}, inbox.KindForbidden},
		{"agent", "", inbox.Connection{}, inbox.KindUnauthorized},
		{"agent", ws + "#LIVE", inbox.Connection{}, inbox.KindUnauthorized},
		{"agent", strings.Repeat("w", 65), inbox.Connection{}, inbox.KindUnauthorized},
		{"expired agent", ws, inbox.Connection{}, inbox.KindUnauthorized},
		{"forged agent", ws, inbox.Connection{}, inbox.KindUnauthorized},
		{"other workspace's visitor", ws, inbox.Connection{}, inbox.KindUnauthorized},
		{"tampered visitor", ws, inbox.Connection{}, inbox.KindUnauthorized},
		{"visitor id not an id", ws, inbox.Connection{}, inbox.KindUnauthorized},
		{"visitor", "", inbox.Connection{}, inbox.KindUnauthorized},
		{"garbage", ws, inbox.Connection{}, inbox.KindUnauthorized},
		{"missing", ws, inbox.Connection{}, inbox.KindUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.token+" to "+tt.workspace, func(t *testing.T) {
			got, err := gate.Admit(tt.workspace, toks[tt.token])
			if kind := inbox.ErrorKind(err); tt.wantKind != "" && (err == nil || kind != tt.wantKind) {
				t.Fatalf("Admit = %+v, %v; want kind %q", got, err, tt.wantKind)
			}
			if tt.wantKind == "" && err != nil {
				t.Fatalf("Admit: %v", err)
			}
			if got != tt.want {
				t.Errorf("Admit = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func authorize(workspace, token string) (events.APIGatewayCustomAuthorizerResponse, error) {
	q := map[string]string{}
	if workspace != "" {
		q["workspace"] = workspace
	}
	if token != "" {
		q["token"] = token
	}
	return gate.Authorize(context.Background(), events.APIGatewayCustomAuthorizerRequestTypeRequest{
		Type: "REQUEST", MethodArn: methodArn, QueryStringParameters: q,
		RequestContext: events.APIGatewayCustomAuthorizerRequestTypeRequestContext{Stage: "live"},
	})
}

func TestGateAuthorize(t *testing.T) {
	toks := tokens(t)
	allowed := []struct {
		token, principal string
		context          map[string]any
	}{
		{"agent", "u1", map[string]any{"workspaceId": ws, "userId": "u1", "role": "agent", "visitorId": ""}},
		{"admin", "u1", map[string]any{"workspaceId": ws, "userId": "u1", "role": "admin", "visitorId": ""}},
		{"visitor", "visitor:" + visitorID, map[string]any{"workspaceId": ws, "userId": "", "role": "", "visitorId": visitorID}},
	}
	for _, tt := range allowed {
		t.Run("allow "+tt.token, func(t *testing.T) {
			res, err := authorize(ws, toks[tt.token])
			if err != nil {
				t.Fatal(err)
			}
			assertPolicy(t, res, "Allow")
			if res.PrincipalID != tt.principal {
				t.Errorf("principal = %q, want %q", res.PrincipalID, tt.principal)
			}
			if len(res.Context) != len(tt.context) {
				t.Errorf("context = %v, want %v", res.Context, tt.context)
			}
			for k, v := range tt.context {
				if res.Context[k] != v {
					t.Errorf("context[%s] = %v, want %v", k, res.Context[k], v)
				}
			}
		})
	}
	for _, token := range []string{"other workspace's agent", "agent without a role"} {
		t.Run("deny "+token, func(t *testing.T) {
			res, err := authorize(ws, toks[token])
			if err != nil {
				t.Fatalf("a valid token of the wrong workspace should be a Deny policy (403), got error %v", err)
			}
			assertPolicy(t, res, "Deny")
			if res.Context["workspaceId"] != "" || res.Context["userId"] != "" {
				t.Errorf("a denied caller's context names %v", res.Context)
			}
		})
	}
	unauthorized := []struct{ name, workspace, token string }{
		{"expired", ws, toks["expired agent"]},
		{"forged", ws, toks["forged agent"]},
		{"garbage", ws, toks["garbage"]},
		{"missing token", ws, ""},
		{"missing workspace", "", toks["agent"]},
		{"visitor of another workspace", ws, toks["other workspace's visitor"]},
		{"tampered visitor", ws, toks["tampered visitor"]},
	}
	for _, tt := range unauthorized {
		t.Run("401 "+tt.name, func(t *testing.T) {
			res, err := authorize(tt.workspace, tt.token)
			// Only this exact error text makes API Gateway answer 401.
			if err == nil || err.Error() != "Unauthorized" {
				t.Fatalf("Authorize = %+v, %v; want the error \"Unauthorized\"", res, err)
			}
			if len(res.PolicyDocument.Statement) != 0 {
				t.Errorf("an unauthorized caller got a policy: %+v", res.PolicyDocument)
			}
		})
	}
}

// brokenVerifier fails as a verifier may when it cannot check at all
// (its signing keys unreachable).
type brokenVerifier struct{}

func (brokenVerifier) VerifyToken(string) (inbox.Actor, error) {
	return inbox.Actor{}, inbox.Internal(errors.New("jwks unreachable"))
}

func TestGateAuthorizeRefusesWhenItCannotVerify(t *testing.T) {
	g := realtime.Gate{Agents: brokenVerifier{}, Visitors: visitorTokens}
	res, err := g.Authorize(context.Background(), events.APIGatewayCustomAuthorizerRequestTypeRequest{
		MethodArn: methodArn, QueryStringParameters: map[string]string{"workspace": ws, "token": agentToken(t, ws, inbox.RoleAgent, time.Hour)},
	})
	if err == nil || err.Error() != "Unauthorized" {
		t.Errorf("Authorize = %+v, %v; want the error \"Unauthorized\"", res, err)
	}
}

func assertPolicy(tb testing.TB, res events.APIGatewayCustomAuthorizerResponse, effect string) {
	tb.Helper()
	st := res.PolicyDocument.Statement
	if res.PolicyDocument.Version != "2012-10-17" || len(st) != 1 {
		tb.Fatalf("policy = %+v, want one statement", res.PolicyDocument)
	}
	if st[0].Effect != effect || len(st[0].Action) != 1 || st[0].Action[0] != "execute-api:Invoke" ||
		len(st[0].Resource) != 1 || st[0].Resource[0] != methodArn {
		tb.Errorf("statement = %+v, want %s execute-api:Invoke on %s", st[0], effect, methodArn)
	}
}

// FuzzGateAdmit: whatever a stranger puts in the query string, the gate
// never panics, refuses with 401 or 403 only, and admits a connection only
// to the workspace asked for, as exactly one agent or one visitor (the one
// the token names).
func FuzzGateAdmit(f *testing.F) {
	for _, tok := range tokens(f) {
		f.Add(ws, tok)
		f.Add(otherWS, tok)
	}
	f.Add(ws, "a.b")
	f.Add("", ".")
	f.Fuzz(func(t *testing.T, workspace, token string) {
		c, err := gate.Admit(workspace, token)
		if err != nil {
			if !inbox.IsKind(err, inbox.KindUnauthorized) && !inbox.IsKind(err, inbox.KindForbidden) {
				t.Fatalf("Admit(%q, %q) failed with %v, want 401 or 403", workspace, token, err)
			}
			return
		}
		visitor, _, _ := strings.Cut(token, ".")
		if c.WorkspaceID != workspace || (c.UserID == "") == (c.VisitorID == "") || (c.VisitorID != "" && c.VisitorID != visitor) {
			t.Fatalf("Admit(%q, %q) admitted %+v", workspace, token, c)
		}
	})
}
