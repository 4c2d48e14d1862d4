package meta_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/parley-inbox/parley/shared/adapter/meta"
	"github.com/parley-inbox/parley/shared/inbox"
)

const waba = "102290129340398"

// graphCall is what the fake Graph API checks of one request.
type graphCall struct {
	Method, Path, Query, Auth, ContentType string
	Body                                   any // decoded JSON, nil without a body
}

// scriptedGraph answers each request with the next reply and records it.
func scriptedGraph(t *testing.T, replies ...reply) (*meta.Templates, *[]graphCall) {
	t.Helper()
	var calls []graphCall
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		c := graphCall{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Auth: r.Header.Get("Authorization"), ContentType: r.Header.Get("Content-Type")}
		if len(raw) > 0 {
			if err := json.Unmarshal(raw, &c.Body); err != nil {
				t.Errorf("%s %s: body is not JSON: %s", r.Method, r.URL.Path, raw)
			}
		}
		calls = append(calls, c)
		rep := replies[min(len(calls), len(replies))-1]
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(rep.status)
		io.WriteString(w, rep.body)
	}))
	t.Cleanup(srv.Close)
	acct := account
	acct.WhatsAppBusinessAccountID = waba
	return &meta.Templates{Accounts: func(string) (meta.Account, error) { return acct, nil }, BaseURL: srv.URL + "/v21.0", HTTP: srv.Client()}, &calls
}

func jsonOf(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestSubmitTemplate(t *testing.T) {
	m, calls := scriptedGraph(t, reply{200, `{"id":"1627019861106475","status":"PENDING","category":"UTILITY"}`})
	tpl := &inbox.MessageTemplate{Channel: inbox.ChannelWhatsApp, Name: "order_update", Language: "en_US", Category: inbox.CategoryUtility,
		Components: []inbox.TemplateComponent{
			{Type: "header", Format: "text", Text: "Your order"},
			{Type: "body", Text: "Order {{1}} is {{2}}.", Example: []string{"4411", "shipped"}},
			{Type: "footer", Text: "Reply STOP to opt out"},
			{Type: "buttons", Buttons: []inbox.TemplateButton{{Type: "quick_reply", Text: "Thanks"}, {Type: "url", Text: "Track", URL: "https://example.com/track"},
				{Type: "phone_number", Text: "Call us", PhoneNumber: "+14155550123"}}},
		}}
	id, status, err := m.Submit(context.Background(), "demo", tpl)
	if err != nil || id != "1627019861106475" || status != inbox.TemplatePending {
		t.Fatalf("Submit = %q, %q, %v", id, status, err)
	}
	want := graphCall{Method: "POST", Path: "/v21.0/" + waba + "/message_templates", Auth: "Bearer wa-secret-token", ContentType: "application/json",
		Body: jsonOf(t, `{"name":"order_update","language":"en_US","category":"UTILITY","components":[
			{"type":"HEADER","format":"TEXT","text":"Your order"},
			{"type":"BODY","text":"Order {{1}} is {{2}}.","example":{"body_text":[["4411","shipped"]]}},
			{"type":"FOOTER","text":"Reply STOP to opt out"},
			{"type":"BUTTONS","buttons":[{"type":"QUICK_REPLY","text":"Thanks"},{"type":"URL","text":"Track","url":"https://example.com/track"},
				{"type":"PHONE_NUMBER","text":"Call us","phone_number":"+14155550123"}]}]}`)}
	if len(*calls) != 1 || !reflect.DeepEqual((*calls)[0], want) {
		t.Errorf("request =\n%+v\nwant\n%+v", *calls, want)
	}
}

func TestSubmitTemplateRefusals(t *testing.T) {
	tpl := &inbox.MessageTemplate{Channel: inbox.ChannelWhatsApp, Name: "promo", Language: "en", Category: inbox.CategoryMarketing,
		Components: []inbox.TemplateComponent{{Type: "body", Text: "Hi"}}}
	for name, c := range map[string]struct {
		rep  reply
		kind inbox.Kind
	}{
		"content refused": {reply{400, `{"error":{"message":"Invalid parameter","type":"OAuthException","code":100,"error_subcode":2388023,"error_user_msg":"Message template language is being deleted"}}`}, inbox.KindInvalid},
		"throttled":       {reply{429, `{"error":{"message":"Too many calls","code":80008}}`}, inbox.KindUnavailable},
		"token expired":   {reply{401, `{"error":{"message":"Error validating access token","code":190}}`}, inbox.KindUnavailable},
		"outage":          {reply{503, `oops`}, inbox.KindUnavailable},
	} {
		t.Run(name, func(t *testing.T) {
			m, _ := scriptedGraph(t, c.rep)
			_, _, err := m.Submit(context.Background(), "demo", tpl)
			if !inbox.IsKind(err, c.kind) {
				t.Errorf("err = %v, want %s", err, c.kind)
			}
		})
	}
	// No WABA configured: nothing is sent.
	m := &meta.Templates{Accounts: func(string) (meta.Account, error) { return account, nil }, BaseURL: "http://127.0.0.1:1"}
	if _, _, err := m.Submit(context.Background(), "demo", tpl); !inbox.IsKind(err, inbox.KindUnavailable) {
		t.Errorf("without a WABA: err = %v, want unavailable", err)
	}
}

func TestListTemplates(t *testing.T) {
	m, calls := scriptedGraph(t,
		reply{200, `{"data":[{"name":"order_update","language":"en_US","status":"APPROVED","category":"UTILITY","id":"1627019861106475"},
			{"name":"promo","language":"es","status":"REJECTED","category":"MARKETING","id":"22","rejected_reason":"INVALID_FORMAT"}],
			"paging":{"cursors":{"before":"QVFI","after":"QVFIUmlt"},"next":"https://graph.facebook.com/v21.0/x?after=QVFIUmlt"}}`},
		reply{200, `{"data":[{"name":"hello","language":"en","status":"PAUSED","category":"UTILITY","id":"33"},{"name":"odd","language":"en","status":"LOCKED","id":"44"}],
			"paging":{"cursors":{"before":"QVFJ","after":"QVFK"}}}`})
	got, err := m.List(context.Background(), "demo")
	if err != nil {
		t.Fatal(err)
	}
	want := []inbox.TemplateState{
		{WorkspaceID: "demo", ProviderID: "1627019861106475", Name: "order_update", Language: "en_US", Status: inbox.TemplateApproved, Category: inbox.CategoryUtility},
		{WorkspaceID: "demo", ProviderID: "22", Name: "promo", Language: "es", Status: inbox.TemplateRejected, Reason: "INVALID_FORMAT", Category: inbox.CategoryMarketing},
		{WorkspaceID: "demo", ProviderID: "33", Name: "hello", Language: "en", Status: inbox.TemplatePaused, Category: inbox.CategoryUtility},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("List =\n%+v\nwant\n%+v", got, want)
	}
	const fields = "fields=id%2Cname%2Clanguage%2Cstatus%2Ccategory%2Crejected_reason&limit=100"
	wantCalls := []graphCall{
		{Method: "GET", Path: "/v21.0/" + waba + "/message_templates", Query: fields, Auth: "Bearer wa-secret-token"},
		{Method: "GET", Path: "/v21.0/" + waba + "/message_templates", Query: "after=QVFIUmlt&" + fields, Auth: "Bearer wa-secret-token"},
	}
	if !reflect.DeepEqual(*calls, wantCalls) {
		t.Errorf("requests =\n%+v\nwant\n%+v", *calls, wantCalls)
	}
}

func TestDeleteTemplate(t *testing.T) {
	m, calls := scriptedGraph(t, reply{200, `{"success":true}`})
	if err := m.Delete(context.Background(), "demo", "order_update"); err != nil {
		t.Fatal(err)
	}
	want := []graphCall{{Method: "DELETE", Path: "/v21.0/" + waba + "/message_templates", Query: "name=order_update", Auth: "Bearer wa-secret-token"}}
	if !reflect.DeepEqual(*calls, want) {
		t.Errorf("requests = %+v, want %+v", *calls, want)
	}
	gone, _ := scriptedGraph(t, reply{404, ``})
	if err := gone.Delete(context.Background(), "demo", "order_update"); err != nil {
		t.Errorf("a template Meta no longer has: err = %v, want deleted", err)
	}
}

func TestParseTemplateStatusUpdates(t *testing.T) {
	body := `{"object":"whatsapp_business_account","entry":[{"id":"` + waba + `","time":1795253520,"changes":[
		{"field":"message_template_status_update","value":{"event":"REJECTED","message_template_id":22,"message_template_name":"promo","message_template_language":"pt-BR","reason":"INCORRECT_CATEGORY"}},
		{"field":"message_template_status_update","value":{"event":"APPROVED","message_template_id":23,"message_template_name":"hello","message_template_language":"en","reason":null}},
		{"field":"message_template_quality_update","value":{"previous_quality_score":"GREEN","new_quality_score":"YELLOW","message_template_id":23}},
		{"field":"message_template_status_update","value":{"event":"LOCKED","message_template_id":24,"message_template_name":"x","message_template_language":"en"}},
		{"field":"message_template_status_update","value":{"event":"APPROVED","message_template_id":25}}]}]}`
	got, err := meta.Parse("demo", []byte(body))
	want := []inbox.TemplateState{
		{WorkspaceID: "demo", AccountID: waba, ProviderID: "22", Name: "promo", Language: "pt_BR", Status: inbox.TemplateRejected, Reason: "INCORRECT_CATEGORY"},
		{WorkspaceID: "demo", AccountID: waba, ProviderID: "23", Name: "hello", Language: "en", Status: inbox.TemplateApproved},
	}
	if !reflect.DeepEqual(got.Templates, want) {
		t.Errorf("Templates =\n%+v\nwant\n%+v", got.Templates, want)
	}
	// The change that names no template is reported by its path; the rest are kept.
	if !inbox.IsKind(err, inbox.KindInvalid) || len(got.Templates) != 2 {
		t.Errorf("err = %v, want the nameless change reported", err)
	}
}
