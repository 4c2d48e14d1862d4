package dynamo_test

import (
	"context"
	"strings"
	"testing"

	"github.com/parley-inbox/parley/shared/inbox"
)

// TestCustomFields: typed fields defined per workspace; contacts' values
// are checked and kept canonical; merge tags name them once defined.
func TestCustomFields(t *testing.T) {
	svc, _, admin := newService(t)
	ctx := context.Background()
	agent := admin
	agent.UserID, agent.Role = "agent-1", inbox.RoleAgent

	if _, err := svc.PutContactField(ctx, agent, "plan", inbox.ContactFieldInput{Type: inbox.FieldText}); !inbox.IsKind(err, inbox.KindForbidden) {
		t.Errorf("an agent defined a field: %v", err)
	}
	for key, in := range map[string]inbox.ContactFieldInput{
		"plan":    {Label: "Plan", Type: inbox.FieldChoice, Choices: []string{"Free", "Gold"}},
		"seats":   {Label: "Seats", Type: inbox.FieldNumber},
		"renewal": {Label: "Renewal date", Type: inbox.FieldDate},
		"nick":    {Type: inbox.FieldText},
	} {
		if _, err := svc.PutContactField(ctx, admin, key, in); err != nil {
			t.Fatalf("define %s: %v", key, err)
		}
	}
	for _, c := range []struct {
		key string
		in  inbox.ContactFieldInput
	}{
		{"Plan", inbox.ContactFieldInput{Type: inbox.FieldText}},
		{"x", inbox.ContactFieldInput{Type: "color"}},
		{"y", inbox.ContactFieldInput{Type: inbox.FieldChoice}},
		{"z", inbox.ContactFieldInput{Type: inbox.FieldText, Choices: []string{"a"}}},
	} {
		if _, err := svc.PutContactField(ctx, admin, c.key, c.in); !inbox.IsKind(err, inbox.KindInvalid) {
			t.Errorf("field %s %+v: %v, want invalid", c.key, c.in, err)
		}
	}
	if _, err := svc.PutContactField(ctx, admin, "seats", inbox.ContactFieldInput{Type: inbox.FieldText}); !inbox.IsKind(err, inbox.KindConflict) {
		t.Errorf("a field's type changed: %v", err)
	}

	c, err := svc.CreateContact(ctx, agent, inbox.ContactInput{Name: "Jo Lee", Custom: map[string]string{"plan": "gold", "seats": "+12.50", "renewal": "2027-01-31"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Custom["plan"] != "Gold" || c.Custom["seats"] != "12.5" || c.Custom["renewal"] != "2027-01-31" {
		t.Errorf("custom %v, want canonical values", c.Custom)
	}
	for _, bad := range []map[string]string{{"plan": "Platinum"}, {"seats": "twelve"}, {"renewal": "31/01/2027"}, {"shoe": "42"}, {"nick": strings.Repeat("x", 501)}} {
		if _, err := svc.CreateContact(ctx, agent, inbox.ContactInput{Name: "Bad", Custom: bad}); !inbox.IsKind(err, inbox.KindInvalid) {
			t.Errorf("custom %v: %v, want invalid", bad, err)
		}
	}
	none := (*string)(nil)
	nick := "JJ"
	got, err := svc.UpdateContact(ctx, agent, c.ID, inbox.ContactPatch{Custom: map[string]*string{"seats": none, "nick": &nick}})
	if err != nil || got.Custom["seats"] != "" || got.Custom["nick"] != "JJ" || got.Custom["plan"] != "Gold" {
		t.Errorf("patch = %v, %v; want seats removed, nick set, plan kept", got.Custom, err)
	}

	// Merge tags: a defined field renders; an undefined one is refused
	// when the body is saved.
	if _, err := svc.CreateSnippet(ctx, admin, inbox.SnippetInput{Name: "Renewal", Shortcut: "/renew", Body: "Your {{contact.custom.shoe}} plan"}); !inbox.IsKind(err, inbox.KindInvalid) || !strings.Contains(err.Error(), "shoe") {
		t.Errorf("a snippet naming an undefined field: %v", err)
	}
	sn, err := svc.CreateSnippet(ctx, admin, inbox.SnippetInput{Name: "Renewal", Shortcut: "/renew", Body: `Your {{contact.custom.plan}} plan renews on {{contact.custom.renewal | "soon"}}.`})
	if err != nil {
		t.Fatal(err)
	}
	conv, _, err := svc.StartConversation(ctx, agent, inbox.StartInput{ContactID: c.ID})
	if err != nil {
		t.Fatal(err)
	}
	r, err := svc.RenderSnippet(ctx, agent, conv.ID, sn.ID, inbox.RenderInput{Channel: inbox.ChannelEmail})
	if err != nil || r.Body != "Your Gold plan renews on 2027-01-31." {
		t.Errorf("render = %+v, %v", r, err)
	}
	if err := svc.DeleteContactField(ctx, admin, "renewal"); err != nil {
		t.Fatal(err)
	}
	set, err := svc.ContactFields(ctx, agent)
	if err != nil || len(set.Fields) != 3 {
		t.Errorf("fields after a delete = %+v, %v", set, err)
	}
}
