package inbox_test

import (
	"strings"
	"testing"

	"github.com/parley-inbox/parley/shared/inbox"
)

func mergeData() inbox.MergeData {
	return inbox.MergeData{
		Contact:        &inbox.Contact{Name: "Jo Ann Customer", Phones: []string{"+14155550123"}, Emails: []string{"jo@example.com"}},
		ConversationID: "01JCONV",
		Channel:        inbox.ChannelSMS,
		Agent:          &inbox.User{Name: "Sam Agent", Email: "sam@example.com"},
		WorkspaceName:  "Acme",
	}
}

func TestRenderMergeTags(t *testing.T) {
	full := mergeData()
	empty := inbox.MergeData{}
	tests := []struct {
		name, body string
		data       inbox.MergeData
		want       string
	}{
		{"plain", "no tags here", full, "no tags here"},
		{"first name", "Hi {{contact.first_name}}!", full, "Hi Jo!"},
		{"whitespace", "Hi {{  contact.first_name  |  \"there\"  }}!", full, "Hi Jo!"},
		{"fallback", `Hi {{contact.first_name | "there"}}!`, empty, "Hi there!"},
		{"no fallback", "Hi {{contact.first_name}}!", empty, "Hi !"},
		{"last name", "{{contact.last_name}}", full, "Ann Customer"},
		{"all", "{{contact.name}}/{{contact.phone}}/{{contact.email}}/{{conversation.id}}/{{conversation.channel}}/{{agent.name}}/{{agent.first_name}}/{{agent.email}}/{{workspace.name}}",
			full, "Jo Ann Customer/+14155550123/jo@example.com/01JCONV/sms/Sam Agent/Sam/sam@example.com/Acme"},
		{"escapes", `{{contact.name | "a \"b\" \\ c\nd"}}`, empty, "a \"b\" \\ c\nd"},
		{"unicode fallback", `{{agent.first_name | "l'équipe 🙂"}}`, empty, "l'équipe 🙂"},
		{"single braces", "{x} } {", full, "{x} } {"},
		{"value braces", "{{contact.name}}", inbox.MergeData{Contact: &inbox.Contact{Name: "{{agent.email}}"}}, "((agent.email))"},
		{"blank value takes fallback", `{{contact.name | "friend"}}`, inbox.MergeData{Contact: &inbox.Contact{Name: "  "}}, "friend"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tpl, err := inbox.ParseTemplate(tt.body)
			if err != nil {
				t.Fatalf("ParseTemplate(%q): %v", tt.body, err)
			}
			if got := inbox.Render(tpl, tt.data); got != tt.want {
				t.Errorf("Render(%q) = %q, want %q", tt.body, got, tt.want)
			}
		})
	}
}

func TestParseMergeTagsRefuses(t *testing.T) {
	tests := []struct{ body, wantInMessage string }{
		{"Hi {{contact.nickname}}", "{{contact.nickname}}"},
		{"Hi {{contact.custom.Plan}}", "custom field key"},
		{"Hi {{contact.custom.}}", "custom field key"},
		{"Hi {{ contact.name", "not closed"},
		{"Hi {{", "not closed"},
		{"Hi {{}}", "names no field"},
		{`Hi {{contact.name | there}}`, "double-quoted"},
		{`Hi {{contact.name | "there}}`, "double-quoted"},
		{`Hi {{contact.name | "{{agent.name}}"}}`, "double-quoted"},
		{`Hi {{contact.name | "x\q"}}`, "double-quoted"},
		{`Hi {{contact.name "x"}}`, "malformed"},
		{"{{{contact.name}}", "names no field"},
	}
	for _, tt := range tests {
		_, err := inbox.ParseTemplate(tt.body)
		if !inbox.IsKind(err, inbox.KindInvalid) {
			t.Errorf("ParseTemplate(%q) = %v, want an invalid error", tt.body, err)
			continue
		}
		var e *inbox.Error
		if !asError(err, &e) || e.Field != "body" || !strings.Contains(e.Message, tt.wantInMessage) {
			t.Errorf("ParseTemplate(%q) = %v, want field body and %q in the message", tt.body, err, tt.wantInMessage)
		}
	}
}

func asError(err error, target **inbox.Error) bool {
	e, ok := err.(*inbox.Error)
	if ok {
		*target = e
	}
	return ok
}

func TestMergeTemplateNeeds(t *testing.T) {
	tpl, err := inbox.ParseTemplate(`{{agent.first_name}} at {{workspace.name | "us"}}`)
	if err != nil {
		t.Fatal(err)
	}
	for obj, want := range map[string]bool{"agent": true, "workspace": true, "contact": false, "conversation": false} {
		if got := tpl.Needs(obj); got != want {
			t.Errorf("Needs(%q) = %v, want %v", obj, got, want)
		}
	}
	if got, want := strings.Join(tpl.Tags(), ","), "agent.first_name,workspace.name"; got != want {
		t.Errorf("Tags() = %q, want %q", got, want)
	}
}

func TestCheckRendered(t *testing.T) {
	if _, err := inbox.CheckRendered(inbox.ChannelWhatsApp, strings.Repeat("a", 4097)); !inbox.IsKind(err, inbox.KindInvalid) {
		t.Errorf("a 4,097-character WhatsApp body: got %v, want invalid", err)
	}
	w, err := inbox.CheckRendered(inbox.ChannelSMS, strings.Repeat("a", 161))
	if err != nil || len(w) != 1 || !strings.Contains(w[0], "2 SMS segments") {
		t.Errorf("a 161-character SMS: got %v, %v, want a 2-segment warning", w, err)
	}
	if w, err := inbox.CheckRendered(inbox.ChannelEmail, "short"); err != nil || len(w) != 0 {
		t.Errorf("a short email: got %v, %v", w, err)
	}
}

var mergeSeeds = []string{
	"", "plain", "Hi {{contact.first_name | \"there\"}}!", "{{ agent.name }}", "{{contact.name|\"a\\\"b\"}}",
	"{{", "}}", "{{}}", "{{contact.custom.x}}", "{{contact.name | \"x", "{ {contact.name}}", "{{{contact.name}}}",
	"{{workspace.name}}{{conversation.id}}", "\xff{{contact.email}}",
}

func FuzzParseMergeTags(f *testing.F) {
	for _, s := range mergeSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		tpl, err := inbox.ParseTemplate(body)
		_, err2 := inbox.ParseTemplate(body)
		if (err == nil) != (err2 == nil) || (err != nil && err.Error() != err2.Error()) {
			t.Fatalf("validation is not idempotent: %v then %v", err, err2)
		}
		if err != nil {
			if !inbox.IsKind(err, inbox.KindInvalid) {
				t.Fatalf("ParseTemplate(%q) = %v, want an invalid error", body, err)
			}
			return
		}
		// A body without tags renders as itself.
		if !tpl.HasTags() && inbox.Render(tpl, mergeData()) != body {
			t.Fatalf("a body without tags changed: %q", body)
		}
		out := inbox.Render(tpl, inbox.MergeData{})
		if strings.Contains(out, "{{") {
			t.Fatalf("Render(%q) = %q holds {{", body, out)
		}
		// A rendered body is final: parsing it finds no tag.
		again, err := inbox.ParseTemplate(out)
		if err != nil || again.HasTags() {
			t.Fatalf("the rendering %q of %q parses as %v, %v", out, body, again, err)
		}
	})
}

func FuzzRenderMergeTags(f *testing.F) {
	for _, s := range mergeSeeds {
		f.Add(s, "Jo Customer", "{{agent.email}}", "Acme")
	}
	f.Fuzz(func(t *testing.T, body, contactName, agentName, workspace string) {
		tpl, err := inbox.ParseTemplate(body)
		if err != nil {
			return
		}
		d := inbox.MergeData{Contact: &inbox.Contact{Name: contactName, Emails: []string{contactName}},
			Agent: &inbox.User{Name: agentName}, WorkspaceName: workspace, ConversationID: "c", Channel: inbox.ChannelSMS}
		out := inbox.Render(tpl, d)
		if out != inbox.Render(tpl, d) {
			t.Fatal("Render is not deterministic")
		}
		if strings.Contains(out, "{{") {
			t.Fatalf("Render(%q) with %q, %q = %q holds {{", body, contactName, agentName, out)
		}
		if again, err := inbox.ParseTemplate(out); err != nil || again.HasTags() {
			t.Fatalf("the rendering %q parses as %v, %v", out, again, err)
		}
	})
}

func BenchmarkRenderMergeTags(b *testing.B) {
	body := `Hi {{contact.first_name | "there"}}, thanks for writing to {{workspace.name}}. ` +
		`I'm {{agent.first_name}} and I'll look after your order. Reply here or call us; your reference is {{conversation.id}}.`
	d := mergeData()
	b.ReportAllocs()
	for b.Loop() {
		tpl, err := inbox.ParseTemplate(body)
		if err != nil {
			b.Fatal(err)
		}
		_ = inbox.Render(tpl, d)
	}
}
