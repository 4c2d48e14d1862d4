package e2e_test

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// demoClient is the local stack's machine client (localstack.DemoClient),
// a stand-in for a Cognito app client with client credentials.
const demoClient = "demo-bot"

// A machine client posts into a conversation and reads it back with the
// scopes its token carries, and is refused everywhere else.
func TestMachineClient(t *testing.T) {
	t.Parallel()
	bot, err := devTokens.IssueMachine(demoClient, []string{"messages.write", "conversations.read"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	conv := newConversation(t, tok.agent, "Machine "+uniq())

	me := wantJSON[map[string]any](t, do(t, "GET", "/me", bot, nil), http.StatusOK)
	if me["clientId"] != demoClient || me["workspaceId"] != demoWS || me["role"] != "agent" || me["userId"] != "client:"+demoClient || me["name"] != "Demo bot" {
		t.Errorf("GET /me as the machine client = %v", me)
	}

	m := wantJSON[Message](t, do(t, "POST", "/conversations/"+conv.ID+"/messages", bot, map[string]any{"channel": "sms", "body": "Your order shipped (bot)"}), http.StatusCreated)
	if m.AuthorID != "client:"+demoClient || m.AuthorName != "Demo bot" || m.Direction != "out" || m.Status != "queued" {
		t.Errorf("the machine client's message = %+v, want by client:%s (Demo bot), out, queued", m, demoClient)
	}
	thread := listMessages(t, bot, conv.ID, "")
	if len(thread) != 1 || thread[0].ID != m.ID || thread[0].AuthorID != m.AuthorID || thread[0].AuthorName != "Demo bot" {
		t.Errorf("thread read by the machine client = %+v, want its message", thread)
	}
	// People see who sent it.
	if got := listMessages(t, tok.agent, conv.ID, ""); len(got) != 1 || got[0].AuthorName != "Demo bot" {
		t.Errorf("thread read by an agent = %+v, want the bot's message with its name", got)
	}
	if got := getConversation(t, bot, conv.ID); got.ID != conv.ID {
		t.Errorf("GET the conversation as the machine client = %+v", got)
	}

	// Admin routes, and routes no scope opens, are closed to it.
	wantProblem(t, do(t, "PATCH", "/workspace", bot, map[string]any{"name": "Taken over"}), http.StatusForbidden, "forbidden", "")
	wantProblem(t, do(t, "GET", "/users", bot, nil), http.StatusForbidden, "forbidden", "")
	wantProblem(t, do(t, "GET", "/automations", bot, nil), http.StatusForbidden, "forbidden", "")
	// Routes needing a scope it lacks name the scope.
	for _, r := range []*reply{
		do(t, "POST", "/conversations/"+conv.ID+"/archive", bot, nil),
		do(t, "GET", "/contacts", bot, nil),
		do(t, "POST", "/contacts", bot, map[string]any{"name": "Jo", "phones": []string{newPhone(t)}}),
	} {
		wantProblem(t, r, http.StatusForbidden, "insufficient_scope", "scope")
		if h := r.Header.Get("WWW-Authenticate"); !strings.Contains(h, `error="insufficient_scope"`) || !strings.Contains(h, `scope="parley/`) {
			t.Errorf("%s: WWW-Authenticate = %q, want the scope it needs", r, h)
		}
	}
	if got := getConversation(t, tok.agent, conv.ID); got.Archived {
		t.Error("a refused archive archived the conversation")
	}

	// A token without scopes only learns who it is.
	bare, _ := devTokens.IssueMachine(demoClient, nil, time.Hour)
	wantJSON[map[string]any](t, do(t, "GET", "/me", bare, nil), http.StatusOK)
	wantProblem(t, do(t, "GET", "/conversations/"+conv.ID+"/messages", bare, nil), http.StatusForbidden, "insufficient_scope", "scope")

	// A client the deployment does not know has no workspace to act in.
	stranger, _ := devTokens.IssueMachine("stranger-bot", []string{"messages.write", "conversations.read"}, time.Hour)
	wantProblem(t, do(t, "GET", "/conversations/"+conv.ID+"/messages", stranger, nil), http.StatusUnauthorized, "unauthorized", "")
}
