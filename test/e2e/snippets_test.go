package e2e_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

type Snippet struct {
	ID          string       `json:"id"`
	Name        string       `json:"name"`
	Shortcut    string       `json:"shortcut"`
	Category    string       `json:"category"`
	Body        string       `json:"body"`
	Attachments []Attachment `json:"attachments"`
	Channel     string       `json:"channel"`
	Version     int64        `json:"version"`
}

type RenderedSnippet struct {
	SnippetID   string       `json:"snippetId"`
	Body        string       `json:"body"`
	Attachments []Attachment `json:"attachments"`
	Channel     string       `json:"channel"`
	Warnings    []string     `json:"warnings"`
}

func listSnippets(t testing.TB, token string, q url.Values) Page[Snippet] {
	t.Helper()
	return wantJSON[Page[Snippet]](t, do(t, "GET", "/snippets?"+q.Encode(), token, nil), http.StatusOK)
}

func snippetNames(list []Snippet) string {
	var out []string
	for _, s := range list {
		out = append(out, s.Name)
	}
	return strings.Join(out, ",")
}

// An admin writes a snippet with merge tags; an agent finds it by category
// and by shortcut, renders it for a conversation (nothing is sent), and
// sends the text.
func TestSnippetRenderAndSend(t *testing.T) {
	t.Parallel()
	u := uniq()
	category := "Orders " + u
	body := `Hi {{ contact.first_name | "there" }}, {{agent.first_name}} from {{workspace.name}} here. ` +
		`We will write to {{contact.email | "this number"}}.`
	created := wantJSON[Snippet](t, do(t, "POST", "/snippets", tok.admin, map[string]any{
		"name": "Order shipped " + u, "shortcut": "/shipped-" + u, "category": category, "body": body,
	}), http.StatusCreated)
	if created.Shortcut != "/shipped-"+u || created.Category != category || created.Body != body || created.Version != 1 {
		t.Errorf("created = %+v", created)
	}
	other := wantJSON[Snippet](t, do(t, "POST", "/snippets", tok.admin, map[string]any{
		"name": "Apology " + u, "shortcut": "sorry-" + u, "category": category, "body": "Sorry about that.",
	}), http.StatusCreated)
	if other.Shortcut != "/sorry-"+u {
		t.Errorf("a shortcut without / = %q, want /sorry-%s", other.Shortcut, u)
	}

	// An agent lists the category (sorted by name) and searches.
	if got := snippetNames(listSnippets(t, tok.agent, url.Values{"category": {strings.ToLower(category)}}).Items); got != "Apology "+u+",Order shipped "+u {
		t.Errorf("category %q lists %q", category, got)
	}
	page := listSnippets(t, tok.agent, url.Values{"category": {category}, "limit": {"1"}})
	if len(page.Items) != 1 || page.NextCursor == "" {
		t.Fatalf("a page of 1: %+v", page)
	}
	if next := listSnippets(t, tok.agent, url.Values{"category": {category}, "limit": {"1"}, "cursor": {page.NextCursor}}); snippetNames(next.Items) != "Order shipped "+u {
		t.Errorf("the second page = %q", snippetNames(next.Items))
	}
	if got := listSnippets(t, tok.agent, url.Values{"q": {"/ship"}}).Items; !containsSnippet(got, created.ID) {
		t.Errorf("shortcut search /ship found %q", snippetNames(got))
	}
	if got := snippetNames(listSnippets(t, tok.agent, url.Values{"q": {"ORDER SHIPPED " + u}}).Items); got != "Order shipped "+u {
		t.Errorf("name search found %q", got)
	}

	// Render for a conversation: the contact has a first name and no email,
	// so the email tag takes its fallback. Nothing is sent or stored.
	conv := newConversation(t, tok.agent, "Jo "+u)
	before := len(sendsOfConversation(outbox(t, demoWS), conv.ID))
	r := wantJSON[RenderedSnippet](t, do(t, "POST", "/conversations/"+conv.ID+"/snippets/"+created.ID+"/render", tok.agent, map[string]any{}), http.StatusOK)
	want := "Hi Jo, Alex from Demo workspace here. We will write to this number."
	if r.Body != want || r.Channel != "sms" || r.SnippetID != created.ID || len(r.Warnings) != 0 {
		t.Errorf("rendered = %+v, want body %q on sms without warnings", r, want)
	}
	if got := listMessages(t, tok.agent, conv.ID, ""); len(got) != 0 {
		t.Errorf("rendering wrote %d messages", len(got))
	}
	if after := len(sendsOfConversation(outbox(t, demoWS), conv.ID)); after != before {
		t.Errorf("rendering sent %d messages", after-before)
	}
	// Rendering for another channel checks that channel: the contact has no
	// email, which is a warning, not a send.
	wantProblem(t, do(t, "POST", "/conversations/"+conv.ID+"/snippets/"+created.ID+"/render", tok.agent, map[string]any{"channel": "fax"}), http.StatusBadRequest, "invalid", "channel")
	wantProblem(t, do(t, "POST", "/conversations/"+conv.ID+"/snippets/"+ulidLike()+"/render", tok.agent, map[string]any{}), http.StatusNotFound, "not_found", "")

	// The agent sends it.
	m := postOut(t, tok.agent, conv.ID, map[string]any{"channel": "sms", "body": r.Body})
	if sent := waitSent(t, demoWS, m.ID); sent.Body != want {
		t.Errorf("sent %q, want %q", sent.Body, want)
	}

	// "render": true fills tags in a message; without it they are sent as written.
	rendered := postOut(t, tok.agent, conv.ID, map[string]any{"channel": "sms", "body": `Thanks {{contact.first_name}}! {{contact.email | "-"}}`, "render": true})
	if rendered.Body != "Thanks Jo! -" {
		t.Errorf("a rendered message = %q", rendered.Body)
	}
	literal := postOut(t, tok.agent, conv.ID, map[string]any{"channel": "sms", "body": "Use {{contact.first_name}} in a snippet"})
	if literal.Body != "Use {{contact.first_name}} in a snippet" {
		t.Errorf("an unrendered message = %q", literal.Body)
	}
	refuseOut(t, tok.agent, conv.ID, map[string]any{"channel": "sms", "body": "Hi {{contact.nickname}}", "render": true}, "body")
	// The rendered text is checked against the channel: 1600 characters on SMS.
	refuseOut(t, tok.agent, conv.ID, map[string]any{"channel": "sms", "render": true,
		"body": strings.Repeat("a", 1590) + `{{contact.email | "no email on file"}}`}, "body")
}

func containsSnippet(list []Snippet, id string) bool {
	for _, s := range list {
		if s.ID == id {
			return true
		}
	}
	return false
}

// Bad snippets get a 4xx problem and nothing is stored.
func TestSnippetBadInput(t *testing.T) {
	t.Parallel()
	u := uniq()
	p := wantProblem(t, do(t, "POST", "/snippets", tok.admin, map[string]any{
		"name": "Bad " + u, "shortcut": "/bad-" + u, "body": "Hi {{contact.nickname | \"x\"}}",
	}), http.StatusBadRequest, "invalid", "body")
	if !strings.Contains(p.Detail, "{{contact.nickname}}") {
		t.Errorf("an unknown tag's problem does not name it: %q", p.Detail)
	}
	wantProblem(t, do(t, "POST", "/snippets", tok.admin, map[string]any{
		"name": "Long " + u, "shortcut": "/long-" + u, "body": strings.Repeat("x", 5001),
	}), http.StatusBadRequest, "invalid", "body")
	wantProblem(t, do(t, "POST", "/snippets", tok.admin, map[string]any{
		"name": "Shortcut " + u, "shortcut": "/no spaces", "body": "x",
	}), http.StatusBadRequest, "invalid", "shortcut")
	wantProblem(t, do(t, "POST", "/snippets", tok.agent, map[string]any{
		"name": "Agent " + u, "shortcut": "/agent-" + u, "body": "x",
	}), http.StatusForbidden, "forbidden", "")
	for _, sc := range []string{"/bad-" + u, "/long-" + u, "/agent-" + u} {
		if got := listSnippets(t, tok.admin, url.Values{"q": {sc}}).Items; len(got) != 0 {
			t.Errorf("a refused snippet was stored: %q", snippetNames(got))
		}
	}

	sn := wantJSON[Snippet](t, do(t, "POST", "/snippets", tok.admin, map[string]any{"name": "Ok " + u, "shortcut": "/ok-" + u, "body": "ok"}), http.StatusCreated)
	wantProblem(t, do(t, "POST", "/snippets", tok.admin, map[string]any{"name": "Dup " + u, "shortcut": "/OK-" + u, "body": "x"}), http.StatusConflict, "conflict", "shortcut")
	wantProblem(t, do(t, "PATCH", "/snippets/"+sn.ID, tok.agent, map[string]any{"body": "x"}), http.StatusForbidden, "forbidden", "")
	wantProblem(t, do(t, "DELETE", "/snippets/"+sn.ID, tok.agent, nil), http.StatusForbidden, "forbidden", "")
	wantProblem(t, do(t, "PATCH", "/snippets/"+sn.ID, tok.admin, map[string]any{"body": "{{agent.phone}}"}), http.StatusBadRequest, "invalid", "body")
	up := wantJSON[Snippet](t, do(t, "PATCH", "/snippets/"+sn.ID, tok.admin, map[string]any{"category": "Closing", "channel": "email"}), http.StatusOK)
	if up.Category != "Closing" || up.Channel != "email" || up.Version != 2 || up.Body != "ok" {
		t.Errorf("patched = %+v", up)
	}
	// Restricted to email: rendering it for an SMS conversation is refused.
	conv := newConversation(t, tok.agent, "Restricted "+u)
	wantProblem(t, do(t, "POST", "/conversations/"+conv.ID+"/snippets/"+sn.ID+"/render", tok.agent, map[string]any{"channel": "sms"}), http.StatusBadRequest, "invalid", "channel")
	wantStatus(t, do(t, "GET", "/snippets/"+sn.ID, tok.agent, nil), http.StatusOK)
	wantStatus(t, do(t, "DELETE", "/snippets/"+sn.ID, tok.admin, nil), http.StatusNoContent)
	wantProblem(t, do(t, "GET", "/snippets/"+sn.ID, tok.agent, nil), http.StatusNotFound, "not_found", "")

	// Drip steps and automation messages check merge tags when saved.
	p = wantProblem(t, do(t, "POST", "/campaigns", tok.admin, map[string]any{"name": "Tags " + u,
		"steps": []map[string]any{{"afterMinutes": 10, "channel": "sms", "body": "Hi {{contact.nick}}"}}}), http.StatusBadRequest, "invalid", anyField)
	if !strings.Contains(p.Detail, "contact.nick") || !strings.Contains(p.Field, "body") {
		t.Errorf("a drip step's unknown tag: %+v", p)
	}
	p = wantProblem(t, do(t, "POST", "/automations", tok.admin, map[string]any{"name": "Tags " + u,
		"trigger": map[string]any{"type": "conversation.created"},
		"steps":   []any{map[string]any{"type": "message", "mode": "draft", "channel": "sms", "body": "Hi {{ contact.first_name | there }}"}}}),
		http.StatusBadRequest, "invalid", anyField)
	if !strings.Contains(p.Detail, "double-quoted") || !strings.Contains(p.Field, "body") {
		t.Errorf("an automation step's bad fallback: %+v", p)
	}
}

// A drip step's merge tags are filled when its message is created, from
// the contact and the workspace; a missing value takes the fallback.
func TestDripStepRendersMergeTags(t *testing.T) {
	needTimeScale(t)
	t.Parallel()
	u := uniq()
	contact := createContact(t, tok.agent, map[string]any{"name": "Sam " + u, "phones": []string{newPhone(t)}})
	campaign := createCampaign(t, smsStep(1, `Hi {{contact.first_name | "there"}}, welcome to {{workspace.name}}! {{agent.first_name | "The team"}}`))
	wantStatus(t, do(t, "POST", "/campaigns/"+campaign+"/enrollments", tok.agent, map[string]any{"contactId": contact.ID}), http.StatusCreated)
	waitRun(t, contact.ID, campaign, "completed", 30*time.Second)
	conv := getContact(t, tok.agent, contact.ID).ConversationID
	sent := outbound(listMessages(t, tok.agent, conv, ""))
	want := "Hi Sam, welcome to Demo workspace! The team"
	if len(sent) != 1 || sent[0].Body != want {
		t.Fatalf("the step sent %+v, want one message %q", sent, want)
	}
	if got := waitSent(t, demoWS, sent[0].ID); got.Body != want {
		t.Errorf("the provider got %q, want %q", got.Body, want)
	}
}

// An automation message step can use a snippet: its body and attachments
// are copied in when the automation is saved.
func TestAutomationStepUsesSnippet(t *testing.T) {
	t.Parallel()
	u := uniq()
	sn := wantJSON[Snippet](t, do(t, "POST", "/snippets", tok.admin, map[string]any{"name": "Away " + u, "shortcut": "/away-" + u,
		"body": `Thanks {{contact.first_name | "for writing"}}! We are away and will answer tomorrow.`}), http.StatusCreated)
	type step struct {
		Type      string `json:"type"`
		Body      string `json:"body"`
		SnippetID string `json:"snippetId"`
	}
	type automation struct {
		ID    string `json:"id"`
		Steps []step `json:"steps"`
	}
	trigger := map[string]any{"type": "message.keyword", "keyword": "hours-" + u}
	a := wantJSON[automation](t, do(t, "POST", "/automations", tok.admin, map[string]any{"name": "Away " + u, "enabled": false, "trigger": trigger,
		"steps": []any{map[string]any{"type": "message", "mode": "draft", "channel": "sms", "snippetId": sn.ID}}}), http.StatusCreated)
	if len(a.Steps) != 1 || a.Steps[0].Body != sn.Body || a.Steps[0].SnippetID != sn.ID {
		t.Errorf("the step = %+v, want the snippet's body and id", a.Steps)
	}
	for name, st := range map[string]map[string]any{
		"an unknown snippet":      {"type": "message", "mode": "draft", "channel": "sms", "snippetId": ulidLike()},
		"a snippet on a tag step": {"type": "tag", "add": []string{"x"}, "snippetId": sn.ID},
	} {
		p := wantProblem(t, do(t, "POST", "/automations", tok.admin, map[string]any{"name": "Bad " + u, "enabled": false, "trigger": trigger,
			"steps": []any{st}}), http.StatusBadRequest, "invalid", "steps[0].snippetId")
		if p.Detail == "" {
			t.Errorf("%s: no detail", name)
		}
	}
}
