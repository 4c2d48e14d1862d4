package meta_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-inbox/parley/shared/adapter/meta"
	"github.com/parley-inbox/parley/shared/inbox"
)

var _ inbox.ChannelSender = (*meta.Sender)(nil)

var account = meta.Account{
	WhatsAppPhoneNumberID: "106540352242922", WhatsAppToken: "wa-secret-token",
	PageID: "112233445566778", PageToken: "page-secret-token",
	InstagramAccountID: "17841400000000000", InstagramToken: "ig-secret-token",
}

// graphRequest is one request the fake Graph API received.
type graphRequest struct {
	Path, Query, Auth string
	Body              map[string]any
}

// reply is a scripted answer.
type reply struct {
	status int
	body   string
}

// fakeGraph answers requests with replies in order, repeating the last.
type fakeGraph struct {
	mu       sync.Mutex
	replies  []reply
	requests []graphRequest
}

func (f *fakeGraph) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil || r.Header.Get("Content-Type") != "application/json" {
		http.Error(w, "not JSON", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.requests = append(f.requests, graphRequest{Path: r.URL.Path, Query: r.URL.RawQuery, Auth: r.Header.Get("Authorization"), Body: body})
	rep := f.replies[min(len(f.requests), len(f.replies))-1]
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(rep.status)
	io.WriteString(w, rep.body)
}

func newSender(t *testing.T, ch inbox.Channel, replies ...reply) (*meta.Sender, *fakeGraph) {
	t.Helper()
	f := &fakeGraph{replies: replies}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return &meta.Sender{
		Channel:  ch,
		Accounts: func(string) (meta.Account, error) { return account, nil },
		BaseURL:  srv.URL + "/v21.0",
		HTTP:     srv.Client(),
	}, f
}

const (
	waOK = `{"messaging_product":"whatsapp","contacts":[{"input":"14155550123","wa_id":"14155550123"}],"messages":[{"id":"wamid.HBgLMTQxNTU1NTAxMjMVAgARGBI1"}]}`
	fbOK = `{"recipient_id":"6024418402345678","message_id":"m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM"}`
)

func outbound(body string) inbox.Outbound {
	m := &inbox.Message{ID: "01J0MSG", ConversationID: "01J0CONV", Body: body}
	return inbox.Outbound{WorkspaceID: "demo", Message: m, To: "+14155550123", Ref: inbox.DeliveryRef(m)}
}

// jsonEqual compares a received body with the expected JSON.
func jsonEqual(t *testing.T, got map[string]any, want string) {
	t.Helper()
	var w map[string]any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, w) {
		g, _ := json.Marshal(got)
		t.Errorf("body\n got %s\nwant %s", g, want)
	}
}

func send(t *testing.T, s *meta.Sender, out inbox.Outbound) string {
	t.Helper()
	id, err := s.Send(context.Background(), out)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	return id
}

func TestWhatsAppText(t *testing.T) {
	s, f := newSender(t, inbox.ChannelWhatsApp, reply{200, waOK})
	if id := send(t, s, outbound("Your order shipped")); id != "wamid.HBgLMTQxNTU1NTAxMjMVAgARGBI1" {
		t.Errorf("id = %q", id)
	}
	r := f.requests[0]
	if r.Path != "/v21.0/106540352242922/messages" || r.Auth != "Bearer wa-secret-token" || r.Query != "" {
		t.Errorf("request %s?%s auth %q", r.Path, r.Query, r.Auth)
	}
	jsonEqual(t, r.Body, `{"messaging_product":"whatsapp","recipient_type":"individual","to":"14155550123","type":"text",
		"text":{"body":"Your order shipped","preview_url":false},"biz_opaque_callback_data":"01J0CONV.01J0MSG"}`)
}

func TestWhatsAppTemplate(t *testing.T) {
	s, f := newSender(t, inbox.ChannelWhatsApp, reply{200, waOK})
	out := outbound("Hi Ana, your order 1234 shipped")
	out.Message.Template = &inbox.Template{Name: "order_shipped", Language: "en_US", Params: []string{"Ana", "1234"}}
	send(t, s, out)
	jsonEqual(t, f.requests[0].Body, `{"messaging_product":"whatsapp","recipient_type":"individual","to":"14155550123","type":"template",
		"template":{"name":"order_shipped","language":{"code":"en_US"},"components":[{"type":"body","parameters":[
			{"type":"text","text":"Ana"},{"type":"text","text":"1234"}]}]},
		"biz_opaque_callback_data":"01J0CONV.01J0MSG"}`)
}

func TestWhatsAppMediaSendsTextFirst(t *testing.T) {
	s, f := newSender(t, inbox.ChannelWhatsApp, reply{200, waOK}, reply{200, `{"messages":[{"id":"wamid.second"}]}`})
	out := outbound("Here you go")
	out.Message.Attachments = []inbox.Attachment{
		{URL: "https://files.example/a.jpg", ContentType: "image/jpeg"},
		{URL: "https://files.example/invoice.pdf", ContentType: "application/pdf", Name: "invoice.pdf"},
	}
	if id := send(t, s, out); id != "wamid.HBgLMTQxNTU1NTAxMjMVAgARGBI1" {
		t.Errorf("id = %q, want the first message's", id)
	}
	if len(f.requests) != 3 {
		t.Fatalf("%d requests, want 3", len(f.requests))
	}
	const head = `"messaging_product":"whatsapp","recipient_type":"individual","to":"14155550123","biz_opaque_callback_data":"01J0CONV.01J0MSG",`
	jsonEqual(t, f.requests[1].Body, `{`+head+`"type":"image","image":{"link":"https://files.example/a.jpg"}}`)
	jsonEqual(t, f.requests[2].Body, `{`+head+`"type":"document","document":{"link":"https://files.example/invoice.pdf","filename":"invoice.pdf"}}`)
}

func TestMessengerMessagingTypes(t *testing.T) {
	s, f := newSender(t, inbox.ChannelMessenger, reply{200, fbOK})
	out := outbound("Thanks for waiting")
	out.To = "6024418402345678"
	if id := send(t, s, out); id != "m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM" {
		t.Errorf("id = %q", id)
	}
	out.HumanAgent = true
	out.Message.Body = ""
	out.Message.Attachments = []inbox.Attachment{{URL: "https://files.example/a.png", ContentType: "image/png"}}
	send(t, s, out)
	for _, r := range f.requests {
		if r.Path != "/v21.0/me/messages" || r.Auth != "Bearer page-secret-token" || r.Query != "" {
			t.Errorf("request %s?%s auth %q", r.Path, r.Query, r.Auth)
		}
	}
	jsonEqual(t, f.requests[0].Body, `{"recipient":{"id":"6024418402345678"},"messaging_type":"RESPONSE","message":{"text":"Thanks for waiting"}}`)
	jsonEqual(t, f.requests[1].Body, `{"recipient":{"id":"6024418402345678"},"messaging_type":"MESSAGE_TAG","tag":"HUMAN_AGENT",
		"message":{"attachment":{"type":"image","payload":{"url":"https://files.example/a.png","is_reusable":false}}}}`)
}

func TestInstagramUsesAccountID(t *testing.T) {
	s, f := newSender(t, inbox.ChannelInstagram, reply{200, fbOK})
	out := outbound("Hello")
	out.To, out.HumanAgent = "1234567890123456", true
	send(t, s, out)
	r := f.requests[0]
	if r.Path != "/v21.0/17841400000000000/messages" || r.Auth != "Bearer ig-secret-token" {
		t.Errorf("request %s auth %q", r.Path, r.Auth)
	}
	jsonEqual(t, r.Body, `{"recipient":{"id":"1234567890123456"},"messaging_type":"MESSAGE_TAG","tag":"HUMAN_AGENT","message":{"text":"Hello"}}`)

	// An Instagram account linked to a Page sends with the Page's token.
	s.Accounts = func(string) (meta.Account, error) {
		return meta.Account{PageID: "112233445566778", PageToken: "page-secret-token"}, nil
	}
	send(t, s, out)
	if r := f.requests[1]; r.Path != "/v21.0/112233445566778/messages" || r.Auth != "Bearer page-secret-token" {
		t.Errorf("fallback request %s auth %q", r.Path, r.Auth)
	}
}

func graphErr(code, subcode int, message string) string {
	b, _ := json.Marshal(map[string]any{"error": map[string]any{
		"message": message, "type": "OAuthException", "code": code, "error_subcode": subcode, "fbtrace_id": "AbCdEf"}})
	return string(b)
}

func TestErrorMapping(t *testing.T) {
	cases := []struct {
		name      string
		ch        inbox.Channel
		rep       reply
		code      string
		retryable bool
		reason    string
	}{
		{"429", inbox.ChannelWhatsApp, reply{429, graphErr(130429, 0, "(#130429) Rate limit hit")}, "130429", true, "rate limit"},
		{"429 without body", inbox.ChannelMessenger, reply{429, ""}, "http_429", true, "Too Many Requests"},
		{"throttled as 400", inbox.ChannelMessenger, reply{400, graphErr(613, 0, "Calls to this api have exceeded the rate limit.")}, "613", true, "rate limit"},
		{"WABA rate limit", inbox.ChannelWhatsApp, reply{400, graphErr(80007, 0, "(#80007) Rate limit issues")}, "80007", true, "rate limit"},
		{"outside 24h", inbox.ChannelWhatsApp, reply{400, graphErr(131047, 0, "(#131047) Re-engagement message")}, "131047", false, "24 hours"},
		{"undeliverable", inbox.ChannelWhatsApp, reply{400, graphErr(131026, 0, "(#131026) Message Undeliverable")}, "131026", false, "could not deliver"},
		{"server error 2", inbox.ChannelMessenger, reply{500, graphErr(2, 0, "An unexpected error has occurred. Please retry your request later.")}, "2", true, "temporarily unavailable"},
		{"code 2 as 400", inbox.ChannelMessenger, reply{400, graphErr(2, 0, "An unexpected error has occurred.")}, "2", false, "Meta error 2"},
		{"invalid parameter", inbox.ChannelMessenger, reply{400, graphErr(100, 0, "(#100) The parameter recipient is required")}, "100", false, "parameter recipient is required"},
		{"permission", inbox.ChannelInstagram, reply{403, graphErr(200, 0, "(#200) Permissions error")}, "200", false, "permission"},
		{"unavailable user", inbox.ChannelMessenger, reply{400, graphErr(551, 0, "This person isn't available right now.")}, "551", false, "isn't available"},
		{"outside window", inbox.ChannelMessenger, reply{400, graphErr(10, 2018278, "(#10) This message is sent outside of allowed window.")}, "10-2018278", false, "window"},
		{"gateway timeout", inbox.ChannelWhatsApp, reply{504, "upstream timed out"}, "http_504", false, "Gateway Timeout"},
		{"unknown 500", inbox.ChannelWhatsApp, reply{500, graphErr(131000, 0, "Something went wrong")}, "131000", false, "Something went wrong"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, _ := newSender(t, c.ch, c.rep)
			id, err := s.Send(context.Background(), outbound("hi"))
			var se *inbox.SendError
			if !errors.As(err, &se) {
				t.Fatalf("Send = %q, %v; want a SendError", id, err)
			}
			if se.Code != c.code || se.Retryable != c.retryable || !strings.Contains(se.Reason, c.reason) {
				t.Errorf("got %+v; want code %s retryable %v reason containing %q", se, c.code, c.retryable, c.reason)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error leaks a token: %v", err)
			}
		})
	}
}

func TestConnectionRefusedIsRetryable(t *testing.T) {
	s, _ := newSender(t, inbox.ChannelWhatsApp, reply{200, waOK})
	srv := httptest.NewServer(http.NotFoundHandler())
	s.BaseURL = srv.URL
	srv.Close() // nothing listens: the request is never sent
	_, err := s.Send(context.Background(), outbound("hi"))
	var se *inbox.SendError
	if !errors.As(err, &se) || !se.Retryable {
		t.Fatalf("err = %v; want a retryable SendError", err)
	}
}

func TestTimeoutAfterSendingIsNotRetryable(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body) // the request arrived: Meta may have accepted it
		<-r.Context().Done()
	}))
	defer srv.Close()
	s := &meta.Sender{Channel: inbox.ChannelWhatsApp, BaseURL: srv.URL,
		Accounts: func(string) (meta.Account, error) { return account, nil },
		HTTP:     &http.Client{Timeout: 100 * time.Millisecond}}
	_, err := s.Send(context.Background(), outbound("hi"))
	var se *inbox.SendError
	if err == nil || (errors.As(err, &se) && se.Retryable) {
		t.Fatalf("err = %v; want a non-retryable error", err)
	}
}

func TestAcceptedWithoutIDIsNotRetryable(t *testing.T) {
	s, _ := newSender(t, inbox.ChannelMessenger, reply{200, `{"recipient_id":"1"}`})
	_, err := s.Send(context.Background(), outbound("hi"))
	var se *inbox.SendError
	if err == nil || (errors.As(err, &se) && se.Retryable) {
		t.Fatalf("err = %v; want a non-retryable error", err)
	}
}

func TestPartialFailureIsNotRetryable(t *testing.T) {
	s, f := newSender(t, inbox.ChannelMessenger, reply{200, fbOK}, reply{429, graphErr(4, 0, "Application request limit reached")})
	out := outbound("see attached")
	out.Message.Attachments = []inbox.Attachment{{URL: "https://files.example/a.mp4", ContentType: "video/mp4"}}
	id, err := s.Send(context.Background(), out)
	var se *inbox.SendError
	if !errors.As(err, &se) || se.Retryable || se.Code != "partial" {
		t.Fatalf("err = %v; want a non-retryable partial SendError", err)
	}
	if id != "m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM" {
		t.Errorf("id = %q; want the part that went out", id)
	}
	if typ := f.requests[1].Body["message"].(map[string]any)["attachment"].(map[string]any)["type"]; typ != "video" {
		t.Errorf("attachment type %v", typ)
	}
}

func TestNotConfigured(t *testing.T) {
	s, f := newSender(t, inbox.ChannelWhatsApp, reply{200, waOK})
	s.Accounts = func(string) (meta.Account, error) { return meta.Account{PageToken: "page-secret-token"}, nil }
	_, err := s.Send(context.Background(), outbound("hi"))
	var se *inbox.SendError
	if !errors.As(err, &se) || se.Retryable || se.Code != "not_configured" {
		t.Errorf("no WhatsApp account: err = %v", err)
	}
	s.Accounts = func(string) (meta.Account, error) { return meta.Account{}, errors.New("secret not found") }
	if _, err := s.Send(context.Background(), outbound("hi")); !errors.As(err, &se) || se.Retryable {
		t.Errorf("accounts failing: err = %v", err)
	}
	if len(f.requests) != 0 {
		t.Errorf("%d requests sent", len(f.requests))
	}
}
