package e2e_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Templates for regulated channels (issue 13, seed 001): a WhatsApp
// template is submitted to Meta (locally, a stand-in that records it) and
// is pending; it cannot be sent until Meta's signed
// message_template_status_update webhook approves it.

// testWABA is the WhatsApp Business Account of the test workspaces; status
// webhooks name it as their entry id.
const testWABA = "102290129340398"

// MessageTemplate is a template as the API returns it.
type MessageTemplate struct {
	ID         string           `json:"id"`
	Channel    string           `json:"channel"`
	Name       string           `json:"name"`
	Language   string           `json:"language"`
	Category   string           `json:"category"`
	Components []map[string]any `json:"components"`
	Variables  int              `json:"variables"`
	Status     string           `json:"status"`
	Reason     string           `json:"reason"`
	ProviderID string           `json:"providerId"`
	Version    int64            `json:"version"`
}

// SubmittedTemplate is what the local Meta stand-in recorded (GET /dev/templates).
type SubmittedTemplate struct {
	ProviderID string           `json:"providerId"`
	Name       string           `json:"name"`
	Language   string           `json:"language"`
	Category   string           `json:"category"`
	Components []map[string]any `json:"components"`
	Deleted    bool             `json:"deleted"`
}

// templateName is a template name unique to one test run.
func templateName(prefix string) string { return prefix + "_" + uniq() }

// waTemplateInput is a WhatsApp utility template whose body takes params
// variables.
func waTemplateInput(name string, params int) map[string]any {
	body, examples := "Hello", []string{}
	for i := 1; i <= params; i++ {
		body += fmt.Sprintf(" {{%d}}", i)
		examples = append(examples, fmt.Sprintf("value%d", i))
	}
	c := map[string]any{"type": "body", "text": body}
	if params > 0 {
		c["example"] = examples
	}
	return map[string]any{"channel": "whatsapp", "name": name, "language": "en_US", "category": "utility", "components": []any{c}}
}

func createTemplate(t testing.TB, token string, in map[string]any) MessageTemplate {
	t.Helper()
	return wantJSON[MessageTemplate](t, do(t, "POST", "/templates", token, in), http.StatusCreated)
}

func getTemplate(t testing.TB, token, id string) MessageTemplate {
	t.Helper()
	return wantJSON[MessageTemplate](t, do(t, "GET", "/templates/"+id, token, nil), http.StatusOK)
}

// templateStatus is Meta's message_template_status_update webhook body.
func templateStatus(providerID, name, language, event, reason string) []byte {
	return mustJSON(map[string]any{
		"object": "whatsapp_business_account",
		"entry": []any{map[string]any{"id": testWABA, "time": time.Now().Unix(), "changes": []any{map[string]any{
			"field": "message_template_status_update",
			"value": map[string]any{"event": event, "message_template_id": json.Number(providerID), "message_template_name": name,
				"message_template_language": language, "reason": reason, "message_template_category": "UTILITY"},
		}}}},
	})
}

// approveTemplate delivers Meta's signed approval of a template and waits
// for it to read approved.
func approveTemplate(t testing.TB, ws, token string, tpl MessageTemplate) MessageTemplate {
	t.Helper()
	metaDeliver(t, ws, templateStatus(tpl.ProviderID, tpl.Name, strings.ReplaceAll(tpl.Language, "_", "-"), "APPROVED", "NONE"))
	got := getTemplate(t, token, tpl.ID)
	if got.Status != "approved" || got.Reason != "" {
		t.Fatalf("after the approval webhook, template %s = %+v, want approved", tpl.ID, got)
	}
	return got
}

func devTemplates(t testing.TB, ws string) []SubmittedTemplate {
	t.Helper()
	return wantJSON[struct {
		Items []SubmittedTemplate `json:"items"`
	}](t, do(t, "GET", "/dev/templates?workspace="+ws, "", nil), http.StatusOK).Items
}

func TestTemplateApproval(t *testing.T) {
	t.Parallel()
	needSettingsWS(t)
	name := templateName("order_update")
	in := waTemplateInput(name, 2)
	in["components"] = []any{
		map[string]any{"type": "header", "format": "text", "text": "Your order"},
		map[string]any{"type": "body", "text": "Order {{1}} is {{2}}.", "example": []string{"4411", "shipped"}},
		map[string]any{"type": "footer", "text": "Reply STOP to opt out"},
		map[string]any{"type": "buttons", "buttons": []any{map[string]any{"type": "quick_reply", "text": "Thanks"}}},
	}
	// An agent cannot create one.
	wantProblem(t, do(t, "POST", "/templates", tok.agent, in), http.StatusForbidden, "forbidden", "")

	tpl := createTemplate(t, tok.settingsAdmin, in)
	if tpl.Status != "pending" || tpl.ID != "whatsapp."+name+".en_US" || tpl.Variables != 2 || tpl.ProviderID == "" || tpl.Category != "utility" {
		t.Fatalf("created template = %+v, want pending, 2 variables, a Meta id", tpl)
	}
	// The local stack did not call Meta: its stand-in recorded the submission.
	var sub *SubmittedTemplate
	for _, s := range devTemplates(t, settingsWS) {
		if s.Name == name {
			sub = &s
		}
	}
	if sub == nil || sub.ProviderID != tpl.ProviderID || sub.Language != "en_US" || len(sub.Components) != 4 {
		t.Fatalf("the Meta stand-in recorded %+v, want the submission of %s", sub, name)
	}
	// The same name and language again is a conflict.
	wantProblem(t, do(t, "POST", "/templates", tok.settingsAdmin, in), http.StatusConflict, "conflict", "name")

	phone := newPhone(t)
	conv := startConversation(t, tok.settingsAdmin, map[string]any{"phone": phone, "name": "Template approval " + uniq()}, http.StatusCreated)
	send := map[string]any{"channel": "whatsapp", "template": map[string]any{"name": name, "params": []string{"4411", "shipped"}}}
	p := wantProblem(t, do(t, "POST", "/conversations/"+conv.ID+"/messages", tok.settingsAdmin, send), http.StatusConflict, "conflict", "template")
	if !strings.Contains(p.Detail, "only approved templates can be sent") {
		t.Errorf("refusal of a pending template = %q, want it to say only approved templates can be sent", p.Detail)
	}
	// Listed, filtered by channel.
	list := wantJSON[struct{ Items []MessageTemplate }](t, do(t, "GET", "/templates?channel=whatsapp", tok.settingsAdmin, nil), http.StatusOK)
	found := false
	for _, x := range list.Items {
		found = found || x.ID == tpl.ID
		if x.Channel != "whatsapp" {
			t.Errorf("GET /templates?channel=whatsapp listed %+v", x)
		}
	}
	if !found {
		t.Errorf("GET /templates?channel=whatsapp does not list %s", tpl.ID)
	}

	// Meta approves it: the signed webhook, twice (a redelivery changes nothing).
	approved := approveTemplate(t, settingsWS, tok.settingsAdmin, tpl)
	again := approveTemplate(t, settingsWS, tok.settingsAdmin, tpl)
	if again.Version != approved.Version {
		t.Errorf("a redelivered approval rewrote the template: version %d, then %d", approved.Version, again.Version)
	}
	// A refresh keeps it: the local stand-in reports no statuses of its own.
	refreshed := wantJSON[struct{ Items []MessageTemplate }](t, do(t, "POST", "/templates/refresh", tok.settingsAdmin, nil), http.StatusOK)
	for _, x := range refreshed.Items {
		if x.ID == tpl.ID && x.Status != "approved" {
			t.Errorf("after a refresh, template = %+v, want still approved", x)
		}
	}
	wantProblem(t, do(t, "POST", "/templates/refresh", tok.agent, nil), http.StatusForbidden, "forbidden", "")
	m := postOut(t, tok.settingsAdmin, conv.ID, send)
	s := checkDelivered(t, settingsWS, tok.settingsAdmin, m, "whatsapp", phone, "wamid.")
	if s.Template == nil || s.Template.Name != name || s.Template.Language != "en_US" || strings.Join(s.Template.Params, ",") != "4411,shipped" {
		t.Errorf("sent template = %+v", s.Template)
	}
	// Meta pauses it: sends are refused again, with Meta's reason.
	metaDeliver(t, settingsWS, templateStatus(tpl.ProviderID, name, "en_US", "PAUSED", "Low quality"))
	if got := getTemplate(t, tok.settingsAdmin, tpl.ID); got.Status != "paused" || got.Reason != "Low quality" {
		t.Errorf("after PAUSED, template = %+v", got)
	}
	wantProblem(t, do(t, "POST", "/conversations/"+conv.ID+"/messages", tok.settingsAdmin, send), http.StatusConflict, "conflict", "template")
	// A status of a template Parley never made is acknowledged and ignored.
	metaDeliver(t, settingsWS, templateStatus("999000111222333", templateName("elsewhere"), "en_US", "APPROVED", "NONE"))

	// Deleting it deletes it at Meta (the stand-in) too.
	wantStatus(t, do(t, "DELETE", "/templates/"+tpl.ID, tok.settingsAdmin, nil), http.StatusNoContent)
	wantProblem(t, do(t, "GET", "/templates/"+tpl.ID, tok.settingsAdmin, nil), http.StatusNotFound, "not_found", "")
	for _, s := range devTemplates(t, settingsWS) {
		if s.Name == name && !s.Deleted {
			t.Errorf("template %s was not deleted at Meta", name)
		}
	}
	if got := sendsOfConversation(outbox(t, settingsWS), conv.ID); len(got) != 1 {
		t.Errorf("sends = %+v, want only the one approved template message", got)
	}
}

func TestTemplateBadInput(t *testing.T) {
	t.Parallel()
	needSettingsWS(t)
	body := func(text string) []any { return []any{map[string]any{"type": "body", "text": text}} }
	for _, c := range []struct {
		name  string
		in    map[string]any
		field string
	}{
		{"an email template", map[string]any{"channel": "email", "name": "x", "language": "en", "category": "utility", "components": body("hi")}, "channel"},
		{"a name with capitals", map[string]any{"channel": "sms", "name": "Promo", "language": "en", "category": "marketing", "components": body("hi")}, "name"},
		{"no language", map[string]any{"channel": "sms", "name": "promo", "language": "", "category": "marketing", "components": body("hi")}, "language"},
		{"an unknown category", map[string]any{"channel": "sms", "name": "promo", "language": "en", "category": "promo", "components": body("hi")}, "category"},
		{"no body", map[string]any{"channel": "whatsapp", "name": "promo", "language": "en", "category": "utility", "components": []any{map[string]any{"type": "footer", "text": "x"}}}, "components"},
		{"a gap in the variables", map[string]any{"channel": "sms", "name": "promo", "language": "en", "category": "marketing", "components": body("{{1}} and {{3}}")}, "components[0].text"},
		{"WhatsApp variables without examples", map[string]any{"channel": "whatsapp", "name": "promo", "language": "en", "category": "utility", "components": body("Hi {{1}}")}, "components[0].example"},
		{"an SMS header", map[string]any{"channel": "sms", "name": "promo", "language": "en", "category": "marketing", "components": []any{map[string]any{"type": "header", "text": "x"}, map[string]any{"type": "body", "text": "y"}}}, "components[0].type"},
	} {
		t.Run(c.name, func(t *testing.T) {
			wantProblem(t, do(t, "POST", "/templates", tok.settingsAdmin, c.in), http.StatusBadRequest, "invalid", c.field)
		})
	}
	wantProblem(t, do(t, "GET", "/templates?channel=email", tok.settingsAdmin, nil), http.StatusBadRequest, "invalid", "channel")
	// PATCH /workspace no longer takes templates: it points to /templates.
	p := wantProblem(t, do(t, "PATCH", "/workspace", tok.settingsAdmin, map[string]any{"templates": map[string]any{}}), http.StatusBadRequest, "invalid", "templates")
	if !strings.Contains(p.Detail, "/templates") {
		t.Errorf("PATCH /workspace templates refusal = %q, want it to point to /templates", p.Detail)
	}
}

// SMS templates are the workspace's registered wording: approved at once,
// and an SMS that names one must be that wording, filled in.
func TestSMSTemplates(t *testing.T) {
	t.Parallel()
	needSettingsWS(t)
	name := templateName("spring_sale")
	tpl := createTemplate(t, tok.settingsAdmin, map[string]any{"channel": "sms", "name": name, "language": "en", "category": "marketing",
		"components": []any{map[string]any{"type": "body", "text": "Spring sale: {{1}} off today. Reply STOP to opt out."}}})
	if tpl.Status != "approved" || tpl.Variables != 1 || tpl.ProviderID != "" {
		t.Fatalf("SMS template = %+v, want approved with 1 variable", tpl)
	}
	phone := newPhone(t)
	conv := startConversation(t, tok.settingsAdmin, map[string]any{"phone": phone, "name": "Sms template " + uniq()}, http.StatusCreated)
	ref := map[string]any{"name": name, "params": []string{"20%"}}
	// Other wording under the template's name is refused.
	refuseOut(t, tok.settingsAdmin, conv.ID, map[string]any{"channel": "sms", "body": "Spring sale: everything free", "template": ref}, "body")
	// A WhatsApp message cannot name an SMS template: the wrong channel.
	refuseOut(t, tok.settingsAdmin, conv.ID, map[string]any{"channel": "whatsapp", "template": ref}, "template")
	// Left out, the body is the wording filled in.
	m := postOut(t, tok.settingsAdmin, conv.ID, map[string]any{"channel": "sms", "template": ref})
	if want := "Spring sale: 20% off today. Reply STOP to opt out."; m.Body != want {
		t.Errorf("SMS from a template has body %q, want %q", m.Body, want)
	}
	checkDelivered(t, settingsWS, tok.settingsAdmin, m, "sms", phone, "SM")
	// Given, it must match.
	m2 := postOut(t, tok.settingsAdmin, conv.ID, map[string]any{"channel": "sms", "body": "Spring sale: 30% off today. Reply STOP to opt out.", "template": map[string]any{"name": name, "params": []string{"30%"}}})
	waitSent(t, settingsWS, m2.ID)
}

// A retried create with the same Idempotency-Key answers the original and
// submits nothing more to Meta.
func TestTemplateCreateIsIdempotent(t *testing.T) {
	t.Parallel()
	needSettingsWS(t)
	name, key := templateName("welcome"), "tpl-"+uniq()
	in := waTemplateInput(name, 1)
	first := wantJSON[MessageTemplate](t, do(t, "POST", "/templates", tok.settingsAdmin, in, "Idempotency-Key", key), http.StatusCreated)
	again := do(t, "POST", "/templates", tok.settingsAdmin, in, "Idempotency-Key", key)
	second := wantJSON[MessageTemplate](t, again, http.StatusCreated)
	if again.Header.Get("Idempotent-Replayed") != "true" || second.ID != first.ID || second.ProviderID != first.ProviderID {
		t.Errorf("retry = %+v (replayed %q), want the original %+v", second, again.Header.Get("Idempotent-Replayed"), first)
	}
	n := 0
	for _, s := range devTemplates(t, settingsWS) {
		if s.Name == name {
			n++
		}
	}
	if n != 1 {
		t.Errorf("Meta's stand-in got %d submissions of %s, want 1", n, name)
	}
}
