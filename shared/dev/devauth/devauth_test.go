package devauth_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/parley-inbox/parley/shared/auth"
	"github.com/parley-inbox/parley/shared/dev/devauth"
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
	tokens := devauth.Tokens{Key: key}
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
	tokens := devauth.Tokens{Key: key}
	expired, _ := tokens.Issue("ws1", "u1", inbox.RoleAdmin, -time.Minute)
	otherKey, _ := devauth.Tokens{Key: []byte("another-key-another-key-another!!")}.Issue("ws1", "u1", inbox.RoleAdmin, time.Hour)
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

func FuzzDevTokenAuthenticate(f *testing.F) {
	valid, _ := devauth.Tokens{Key: key}.Issue("ws1", "u1", inbox.RoleAdmin, time.Hour)
	for _, s := range []string{valid, "", "a.b.c", "Bearer", valid + "x"} {
		f.Add(s)
	}
	tokens := devauth.Tokens{Key: key}
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

// Machine tokens carry Cognito's client-credentials claims and act for the
// configured client's workspace; the WebSocket gate takes people only.
func TestDevMachineTokens(t *testing.T) {
	tokens := devauth.Tokens{Key: key, Machines: auth.MachineClients{"bot": {WorkspaceID: "ws1", Name: "Bot"}}}
	tok, err := tokens.IssueMachine("bot", []string{"messages.write", "conversations.read"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	var claims jwt.MapClaims
	if _, _, err := jwt.NewParser().ParseUnverified(tok, &claims); err != nil {
		t.Fatal(err)
	}
	if claims["token_use"] != "access" || claims["client_id"] != "bot" || claims["sub"] != "bot" || claims["scope"] != "parley/messages.write parley/conversations.read" || claims["custom:workspace_id"] != nil {
		t.Errorf("claims = %v, want Cognito's client-credentials claims", claims)
	}
	got, err := tokens.Authenticate(request(tok))
	want := inbox.Actor{WorkspaceID: "ws1", UserID: "client:bot", Role: inbox.RoleAgent, ClientID: "bot", Name: "Bot", Scopes: "messages.write conversations.read"}
	if err != nil || got != want {
		t.Errorf("Authenticate = %+v, %v; want %+v", got, err, want)
	}
	if _, err := tokens.VerifyToken(tok); inbox.ErrorKind(err) != inbox.KindUnauthorized {
		t.Errorf("VerifyToken (the WebSocket gate) took a machine token: %v", err)
	}
	stranger, _ := tokens.IssueMachine("stranger", []string{"messages.write"}, time.Hour)
	if _, err := tokens.Authenticate(request(stranger)); inbox.ErrorKind(err) != inbox.KindUnauthorized {
		t.Errorf("an unconfigured client: %v, want unauthorized", err)
	}
	// A person's token is read as before.
	person, _ := tokens.Issue("ws1", "u1", inbox.RoleAdmin, time.Hour)
	if got, err := tokens.Authenticate(request(person)); err != nil || got != (inbox.Actor{WorkspaceID: "ws1", UserID: "u1", Role: inbox.RoleAdmin}) {
		t.Errorf("person = %+v, %v", got, err)
	}
}
