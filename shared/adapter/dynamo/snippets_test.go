package dynamo_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/parley-inbox/parley/shared/inbox"
)

func names(items []*inbox.Snippet) string {
	var out []string
	for _, s := range items {
		out = append(out, s.Name)
	}
	return strings.Join(out, ",")
}

func TestSnippetsListSearchAndShortcutClaims(t *testing.T) {
	svc, _, admin := newService(t)
	ctx := context.Background()
	agent := inbox.Actor{WorkspaceID: admin.WorkspaceID, UserID: "agent-1", Role: inbox.RoleAgent}
	create := func(name, shortcut, category string) *inbox.Snippet {
		t.Helper()
		sn, err := svc.CreateSnippet(ctx, admin, inbox.SnippetInput{Name: name, Shortcut: shortcut, Category: category, Body: "Hi {{contact.first_name | \"there\"}}"})
		if err != nil {
			t.Fatalf("CreateSnippet(%s): %v", name, err)
		}
		return sn
	}
	thanks := create("Thanks", "/thanks", "Closing")
	create("Thanks again", "/thx", "Closing")
	create("Shipping times", "/ship", "Orders")
	create("Refund policy", "/refund", "orders") // same category, other case
	create("Hours", "/hours", "")                // General

	if _, err := svc.CreateSnippet(ctx, agent, inbox.SnippetInput{Name: "Mine", Shortcut: "/mine", Body: "x"}); !inbox.IsKind(err, inbox.KindForbidden) {
		t.Fatalf("an agent creating a snippet: %v, want forbidden", err)
	}
	if _, err := svc.CreateSnippet(ctx, admin, inbox.SnippetInput{Name: "Dup", Shortcut: "/THANKS", Body: "x"}); !inbox.IsKind(err, inbox.KindConflict) {
		t.Fatalf("a taken shortcut: %v, want conflict", err)
	}

	list := func(q inbox.SnippetQuery) string {
		t.Helper()
		p, err := svc.Snippets(ctx, agent, q)
		if err != nil {
			t.Fatalf("Snippets(%+v): %v", q, err)
		}
		return names(p.Items)
	}
	for _, tt := range []struct {
		q    inbox.SnippetQuery
		want string
	}{
		{inbox.SnippetQuery{}, "Hours,Refund policy,Shipping times,Thanks,Thanks again"},
		{inbox.SnippetQuery{Category: "orders"}, "Refund policy,Shipping times"},
		{inbox.SnippetQuery{Category: "Closing", Q: "thanks a"}, "Thanks again"},
		{inbox.SnippetQuery{Q: "SHI"}, "Shipping times"},
		{inbox.SnippetQuery{Q: "/th"}, "Thanks,Thanks again"},
		{inbox.SnippetQuery{Q: "/h", Category: "general"}, "Hours"},
		{inbox.SnippetQuery{Q: "/h", Category: "Orders"}, ""},
	} {
		if got := list(tt.q); got != tt.want {
			t.Errorf("Snippets(%+v) = %q, want %q", tt.q, got, tt.want)
		}
	}

	// Pages: two at a time, and a cursor only continues its own list.
	p1, err := svc.Snippets(ctx, agent, inbox.SnippetQuery{Page: inbox.PageRequest{Limit: 2}})
	if err != nil || names(p1.Items) != "Hours,Refund policy" || p1.NextCursor == "" {
		t.Fatalf("first page: %q, %q, %v", names(p1.Items), p1.NextCursor, err)
	}
	p2, err := svc.Snippets(ctx, agent, inbox.SnippetQuery{Page: inbox.PageRequest{Limit: 2, Cursor: p1.NextCursor}})
	if err != nil || names(p2.Items) != "Shipping times,Thanks" {
		t.Fatalf("second page: %q, %v", names(p2.Items), err)
	}
	if _, err := svc.Snippets(ctx, agent, inbox.SnippetQuery{Category: "Closing", Page: inbox.PageRequest{Limit: 2, Cursor: p1.NextCursor}}); !inbox.IsKind(err, inbox.KindInvalid) {
		t.Errorf("a cursor of another list: %v, want invalid", err)
	}
	other := agent
	other.WorkspaceID = inbox.NewID(time.Now())
	if _, err := svc.Snippets(ctx, other, inbox.SnippetQuery{Page: inbox.PageRequest{Limit: 2, Cursor: p1.NextCursor}}); !inbox.IsKind(err, inbox.KindInvalid) {
		t.Errorf("a cursor of another workspace: %v, want invalid", err)
	}

	// Renaming the shortcut frees the old one; the new one is searchable.
	newShortcut, newCategory := "/ty", "Orders"
	up, err := svc.UpdateSnippet(ctx, admin, thanks.ID, inbox.SnippetPatch{Shortcut: &newShortcut, Category: &newCategory})
	if err != nil || up.Version != 2 {
		t.Fatalf("UpdateSnippet: %+v, %v", up, err)
	}
	if got := list(inbox.SnippetQuery{Q: "/t"}); got != "Thanks again,Thanks" {
		t.Errorf("after the rename, /t finds %q", got)
	}
	if got := list(inbox.SnippetQuery{Category: "Orders"}); got != "Refund policy,Shipping times,Thanks" {
		t.Errorf("after the move, Orders holds %q", got)
	}
	create("Thanks (new)", "/thanks", "Closing")
	taken := "/ship"
	if _, err := svc.UpdateSnippet(ctx, admin, thanks.ID, inbox.SnippetPatch{Shortcut: &taken}); !inbox.IsKind(err, inbox.KindConflict) {
		t.Errorf("renaming onto a taken shortcut: %v, want conflict", err)
	}
	body := "Hello {{contact.nick}}"
	if _, err := svc.UpdateSnippet(ctx, admin, thanks.ID, inbox.SnippetPatch{Body: &body}); !inbox.IsKind(err, inbox.KindInvalid) || !strings.Contains(err.Error(), "contact.nick") {
		t.Errorf("an unknown tag: %v, want invalid naming it", err)
	}

	if err := svc.DeleteSnippet(ctx, admin, thanks.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.GetSnippet(ctx, agent, thanks.ID); !inbox.IsKind(err, inbox.KindNotFound) {
		t.Errorf("a deleted snippet: %v, want not found", err)
	}
	if got := list(inbox.SnippetQuery{Q: "/ty"}); got != "" {
		t.Errorf("a deleted snippet's shortcut still finds %q", got)
	}
	create("Ty again", "/ty", "")
}

func TestRenderSnippetFillsTagsAndSendsNothing(t *testing.T) {
	svc, _, admin := newService(t)
	ctx := context.Background()
	agent := inbox.Actor{WorkspaceID: admin.WorkspaceID, UserID: "agent-1", Role: inbox.RoleAgent}
	conv, _, err := svc.StartConversation(ctx, agent, inbox.StartInput{Phone: "+14155550123", Name: "Jo Customer"})
	if err != nil {
		t.Fatal(err)
	}
	sn, err := svc.CreateSnippet(ctx, admin, inbox.SnippetInput{Name: "Greeting", Shortcut: "/hi", Category: "Openers",
		Body: `Hi {{contact.first_name | "there"}}, {{agent.first_name}} from {{workspace.name}}. {{contact.email | "No email on file"}}.`})
	if err != nil {
		t.Fatal(err)
	}
	got, err := svc.RenderSnippet(ctx, agent, conv.ID, sn.ID, inbox.RenderInput{})
	if err != nil {
		t.Fatal(err)
	}
	if want := "Hi Jo, Bob from Acme. No email on file."; got.Body != want || got.Channel != inbox.ChannelSMS {
		t.Errorf("RenderSnippet = %q on %s, want %q on sms", got.Body, got.Channel, want)
	}
	msgs, err := svc.ListMessages(ctx, agent, conv.ID, inbox.PageRequest{})
	if err != nil || len(msgs.Items) != 0 {
		t.Errorf("rendering wrote messages: %d, %v", len(msgs.Items), err)
	}
	if _, err := svc.RenderSnippet(ctx, agent, conv.ID, sn.ID, inbox.RenderInput{Channel: "fax"}); !inbox.IsKind(err, inbox.KindInvalid) {
		t.Errorf("an unknown channel: %v, want invalid", err)
	}
}
