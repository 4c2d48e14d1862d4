package inbox_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/parley-inbox/parley/shared/inbox"
)

func waInput(body string, example ...string) inbox.TemplateInput {
	return inbox.TemplateInput{Channel: inbox.ChannelWhatsApp, Name: "order_update", Language: "en_US", Category: inbox.CategoryUtility,
		Components: []inbox.TemplateComponent{{Type: "body", Text: body, Example: example}}}
}

func TestNewMessageTemplate(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	in := waInput("Order {{1}} is {{2}}; {{1}} again", "4411", "shipped")
	in.Components = append([]inbox.TemplateComponent{{Type: "header", Text: "Your order"}}, in.Components...)
	in.Components = append(in.Components, inbox.TemplateComponent{Type: "footer", Text: "Reply STOP to opt out"},
		inbox.TemplateComponent{Type: "buttons", Buttons: []inbox.TemplateButton{{Type: "quick_reply", Text: "Thanks"},
			{Type: "phone_number", Text: "Call us", PhoneNumber: "(415) 555-0123"}}})
	tpl, err := inbox.NewMessageTemplate("ws1", in, now)
	if err != nil {
		t.Fatal(err)
	}
	if tpl.ID != "whatsapp.order_update.en_US" || tpl.Variables != 2 || tpl.Status != inbox.TemplateDraft || tpl.WorkspaceID != "ws1" || !tpl.CreatedAt.Equal(now) {
		t.Errorf("template = %+v", tpl)
	}
	if got := tpl.Components[0].Format; got != "text" {
		t.Errorf("header format = %q, want text (the default)", got)
	}
	if got := tpl.Components[3].Buttons[1].PhoneNumber; got != "+14155550123" {
		t.Errorf("phone button = %q, want E.164", got)
	}
	if got := tpl.Fill([]string{"4411", "shipped"}); got != "Order 4411 is shipped; 4411 again" {
		t.Errorf("Fill = %q", got)
	}
	if !inbox.ValidTemplateID(tpl.ID) || inbox.ValidTemplateID("email.x.en") || inbox.ValidTemplateID("whatsapp.a.b.c") || inbox.ValidTemplateID("01J9ZQ4V7KX3M8N2P5R6S7T8VW") {
		t.Error("ValidTemplateID accepts or refuses the wrong ids")
	}

	sms, err := inbox.NewMessageTemplate("ws1", inbox.TemplateInput{Channel: inbox.ChannelSMS, Name: "spring_sale", Language: "en", Category: inbox.CategoryMarketing,
		Components: []inbox.TemplateComponent{{Type: "body", Text: "Sale: {{1}} off. Reply STOP to opt out."}}}, now)
	if err != nil || sms.Variables != 1 || sms.Body() != "Sale: {{1}} off. Reply STOP to opt out." {
		t.Fatalf("SMS template = %+v, %v", sms, err)
	}
}

func TestNewMessageTemplateRefuses(t *testing.T) {
	for name, c := range map[string]struct {
		change func(*inbox.TemplateInput)
		field  string
	}{
		"email":           {func(in *inbox.TemplateInput) { in.Channel = inbox.ChannelEmail }, "channel"},
		"capital name":    {func(in *inbox.TemplateInput) { in.Name = "Order" }, "name"},
		"dotted name":     {func(in *inbox.TemplateInput) { in.Name = "a.b" }, "name"},
		"hyphen language": {func(in *inbox.TemplateInput) { in.Language = "en-US" }, "language"},
		"no category":     {func(in *inbox.TemplateInput) { in.Category = "" }, "category"},
		"no body":         {func(in *inbox.TemplateInput) { in.Components = nil }, "components"},
		"two bodies":      {func(in *inbox.TemplateInput) { in.Components = append(in.Components, in.Components[0]) }, "components[1].type"},
		"footer before body": {func(in *inbox.TemplateInput) {
			in.Components = append([]inbox.TemplateComponent{{Type: "footer", Text: "x"}}, in.Components...)
		}, "components[1].type"},
		"gap":              {func(in *inbox.TemplateInput) { in.Components[0].Text = "{{1}} {{3}}" }, "components[0].text"},
		"named variable":   {func(in *inbox.TemplateInput) { in.Components[0].Text = "Hi {{name}}" }, "components[0].text"},
		"eleven variables": {func(in *inbox.TemplateInput) { in.Components[0].Text = "{{11}}" }, "components[0].text"},
		"missing example":  {func(in *inbox.TemplateInput) { in.Components[0].Example = in.Components[0].Example[:1] }, "components[0].example"},
		"blank example":    {func(in *inbox.TemplateInput) { in.Components[0].Example[1] = " " }, "components[0].example[1]"},
		"body too long":    {func(in *inbox.TemplateInput) { in.Components[0].Text = strings.Repeat("a", 1025) }, "components[0].text"},
		"image header": {func(in *inbox.TemplateInput) {
			in.Components = append([]inbox.TemplateComponent{{Type: "header", Format: "image"}}, in.Components...)
		}, "components[0].format"},
		"header variable": {func(in *inbox.TemplateInput) {
			in.Components = append([]inbox.TemplateComponent{{Type: "header", Text: "Hi {{1}}"}}, in.Components...)
		}, "components[0].text"},
		"http url button": {func(in *inbox.TemplateInput) {
			in.Components = append(in.Components, inbox.TemplateComponent{Type: "buttons", Buttons: []inbox.TemplateButton{{Type: "url", Text: "Go", URL: "http://x"}}})
		}, "components[1].buttons[0].url"},
		"SMS footer": {func(in *inbox.TemplateInput) {
			in.Channel = inbox.ChannelSMS
			in.Components = []inbox.TemplateComponent{{Type: "body", Text: "x"}, {Type: "footer", Text: "y"}}
		}, "components[1].type"},
		"SMS example": {func(in *inbox.TemplateInput) { in.Channel = inbox.ChannelSMS }, "components[0].example"},
		"button text too long": {func(in *inbox.TemplateInput) {
			in.Components = append(in.Components, inbox.TemplateComponent{Type: "buttons", Buttons: []inbox.TemplateButton{{Type: "quick_reply", Text: strings.Repeat("b", 26)}}})
		}, "components[1].buttons[0].text"},
	} {
		t.Run(name, func(t *testing.T) {
			in := waInput("Order {{1}} is {{2}}", "4411", "shipped")
			c.change(&in)
			_, err := inbox.NewMessageTemplate("ws1", in, time.Now())
			var e *inbox.Error
			if !inbox.IsKind(err, inbox.KindInvalid) || !errors.As(err, &e) || e.Field != c.field {
				t.Errorf("err = %v, want invalid %s", err, c.field)
			}
		})
	}
}

func TestProviderTemplateStatuses(t *testing.T) {
	for word, want := range map[string]inbox.TemplateStatus{"APPROVED": inbox.TemplateApproved, "pending": inbox.TemplatePending,
		"REJECTED": inbox.TemplateRejected, "PAUSED": inbox.TemplatePaused, "DISABLED": inbox.TemplateDisabled} {
		if got, ok := inbox.ParseProviderTemplateStatus(word); !ok || got != want {
			t.Errorf("%s = %s, %v; want %s", word, got, ok, want)
		}
	}
	if _, ok := inbox.ParseProviderTemplateStatus("LOCKED"); ok {
		t.Error("LOCKED has no Parley status, yet parsed")
	}
}
