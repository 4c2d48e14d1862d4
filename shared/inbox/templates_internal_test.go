package inbox

import "testing"

func TestCheckTemplate(t *testing.T) {
	tpl := func(ch Channel, name, lang string, status TemplateStatus, vars int) *MessageTemplate {
		return &MessageTemplate{ID: TemplateID(ch, name, lang), Channel: ch, Name: name, Language: lang, Status: status, Variables: vars,
			Components: []TemplateComponent{{Type: "body", Text: "Order {{1}}"}}}
	}
	found := []*MessageTemplate{
		tpl(ChannelWhatsApp, "order", "en_US", TemplateApproved, 1),
		tpl(ChannelWhatsApp, "order", "fr", TemplatePending, 1),
		tpl(ChannelSMS, "order", "en", TemplateApproved, 1),
	}
	ref := &Template{Name: "order", Params: []string{"4411"}}
	got, err := checkTemplate(ChannelWhatsApp, found, ref)
	if err != nil || got.Language != "en_US" || ref.Language != "en_US" {
		t.Fatalf("checkTemplate = %+v, %v; want the approved en_US one, its language filled in", got, err)
	}
	for name, c := range map[string]struct {
		ch   Channel
		ref  Template
		kind Kind
	}{
		"pending":       {ChannelWhatsApp, Template{Name: "order", Language: "fr", Params: []string{"x"}}, KindConflict},
		"unknown":       {ChannelWhatsApp, Template{Name: "nope", Params: []string{"x"}}, KindInvalid},
		"other channel": {ChannelEmail, Template{Name: "order", Params: []string{"x"}}, KindInvalid},
		"no language":   {ChannelWhatsApp, Template{Name: "order", Language: "de", Params: []string{"x"}}, KindInvalid},
		"params":        {ChannelWhatsApp, Template{Name: "order", Params: []string{"x", "y"}}, KindInvalid},
		"blank param":   {ChannelWhatsApp, Template{Name: "order", Params: []string{" "}}, KindInvalid},
	} {
		ref := c.ref
		if _, err := checkTemplate(c.ch, found, &ref); !IsKind(err, c.kind) {
			t.Errorf("%s: err = %v, want %s", name, err, c.kind)
		}
	}
	// An MMS names the SMS template; its body must be the wording filled in.
	sms := &Template{Name: "order", Params: []string{"4411"}}
	got, err = checkTemplate(ChannelMMS, found, sms)
	if err != nil || got.Channel != ChannelSMS {
		t.Fatalf("MMS template = %+v, %v", got, err)
	}
	if err := checkTemplateBody(ChannelMMS, got, sms, "Order 4411"); err != nil {
		t.Errorf("the filled wording was refused: %v", err)
	}
	if err := checkTemplateBody(ChannelSMS, got, sms, "Order 9999"); !IsKind(err, KindInvalid) {
		t.Errorf("other wording: err = %v, want invalid", err)
	}
}
