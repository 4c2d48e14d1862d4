package meta_test

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/parley-inbox/parley/shared/adapter/meta"
	"github.com/parley-inbox/parley/shared/dev/signing"
	"github.com/parley-inbox/parley/shared/inbox"
)

// The samples in ../../../events are signed with this secret.
const (
	appSecret   = "meta-test-app-secret"
	verifyToken = "meta-test-verify-token"
)

func loadEvent(t testing.TB, name string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "..", "events", name))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatalf("decode %s: %v", name, err)
	}
	return ev
}

func at(h, m, s, ms int) time.Time {
	return time.Date(2026, 11, 21, h, m, s, ms*int(time.Millisecond), time.UTC)
}

func TestSamplesVerifyAndParse(t *testing.T) {
	const (
		wabaNumberID = "108374651209348"
		phone        = "+14155550142"
		page         = "107234567890123"
		psid         = "25873012456789012"
		igAccount    = "17841405793187218"
		igsid        = "6735418290567182"
	)
	tests := []struct {
		file string
		want meta.Batch
	}{
		{"meta-whatsapp-text.json", meta.Batch{Messages: []inbox.Inbound{{
			WorkspaceID: "demo",
			Channel:     inbox.ChannelWhatsApp,
			Kind:        inbox.KindMessage,
			ProviderID:  "wamid.HBgLMTQxNTU1NTAxNDIVAgASGBQ1OEIyQTIwNTVCQjU1QkNCQjM3RAA=",
			From:        inbox.Correspondent{Phone: phone, Name: "María López"},
			To:          wabaNumberID,
			Body:        "Hi! Do you ship to San José? 🙂",
			SentAt:      at(9, 29, 12, 0),
		}}}},
		{"meta-whatsapp-image.json", meta.Batch{Messages: []inbox.Inbound{{
			WorkspaceID: "demo",
			Channel:     inbox.ChannelWhatsApp,
			Kind:        inbox.KindMessage,
			ProviderID:  "wamid.HBgLMTQxNTU1NTAxNDIVAgASGBREMDY2NTQ4QkJDREVEODA3N0VGQwA=",
			From:        inbox.Correspondent{Phone: phone, Name: "María López"},
			To:          wabaNumberID,
			Body:        "The lid arrived cracked",
			Attachments: []inbox.Attachment{{URL: "https://graph.facebook.com/1503728440715742", ContentType: "image/jpeg"}},
			SentAt:      at(9, 29, 21, 0),
		}}}},
		{"meta-whatsapp-status-delivered.json", meta.Batch{Statuses: []inbox.DeliveryUpdate{{
			WorkspaceID: "demo",
			Channel:     inbox.ChannelWhatsApp,
			ProviderID:  "wamid.HBgLMTQxNTU1NTAxNDIVAgARGBJFQTkzNTk2ODBDQkY5QTBGNEQA",
			Status:      inbox.MessageDelivered,
			At:          at(9, 29, 49, 0),
		}}}},
		{"meta-whatsapp-status-failed.json", meta.Batch{Statuses: []inbox.DeliveryUpdate{{
			WorkspaceID: "demo",
			Channel:     inbox.ChannelWhatsApp,
			ProviderID:  "wamid.HBgLMTQxNTU1NTAxNDIVAgARGBJGM0IyQzk3ODAxNzVFM0ZGOTkA",
			Status:      inbox.MessageFailed,
			ErrorCode:   "131047",
			ErrorReason: "Re-engagement message: Message failed to send because more than 24 hours have passed since the customer last replied to this number.",
			At:          at(9, 29, 54, 0),
		}}}},
		{"meta-messenger-message.json", meta.Batch{Messages: []inbox.Inbound{{
			WorkspaceID: "demo",
			Channel:     inbox.ChannelMessenger,
			Kind:        inbox.KindMessage,
			ProviderID:  "m_GbFEZxdbVVmliWKO8ioa5dYh2NdBWflcpjaxvHDRe3vjxJtcoglGK37Ei7o2PJvWP6SC-veN2kNpOylGtAhl_e",
			From:        inbox.Correspondent{Handle: "messenger:" + psid},
			To:          page,
			Body:        "Is the blue one still available?",
			Attachments: []inbox.Attachment{{
				URL:         "https://scontent.xx.fbcdn.net/v/t1.15752-9/467913420_1183724936152847_3850172946603188243_n.jpg?_nc_cat=104&ccb=1-7&_nc_sid=fc17b8&_nc_ohc=Xk2vB7pQm9sAX8n3LqR&_nc_ad=z-m&_nc_cid=0&oh=03_Q7cD1QHm4kTz8bLwY2aVnR5sEoP3xJfK6uG9dA1cB0eM&oe=67A1B2C3",
				ContentType: "image/*",
			}},
			SentAt: at(9, 29, 36, 512),
		}}}},
		{"meta-messenger-delivery.json", meta.Batch{
			Statuses: []inbox.DeliveryUpdate{
				{WorkspaceID: "demo", Channel: inbox.ChannelMessenger, ProviderID: "m_Xdqnmaal5qAdTPC6rZgkxI5aSA6SMyGoW9rteZI1jglexA0So40X9EHCzgVqFzNhG5WPLq70mXRBGpn9a5pS05", Status: inbox.MessageDelivered, At: at(9, 29, 51, 204)},
				{WorkspaceID: "demo", Channel: inbox.ChannelMessenger, ProviderID: "m_ABWEvox3cfAVuzDfF8dBKLh7mdJ-T5IOVl_-vcT7i3ii5C7mLf-e-_GamCm06recAqQTKMHlbFxQDY1ngzz2VD", Status: inbox.MessageDelivered, At: at(9, 29, 51, 204)},
			},
			Reads: []inbox.ReadReceipt{{WorkspaceID: "demo", Channel: inbox.ChannelMessenger, Handle: "messenger:" + psid, Until: at(9, 29, 55, 870)}},
		}},
		// The sample also holds the account's own echo, which must not appear.
		{"meta-instagram-message.json", meta.Batch{Messages: []inbox.Inbound{{
			WorkspaceID: "demo",
			Channel:     inbox.ChannelInstagram,
			Kind:        inbox.KindMessage,
			ProviderID:  "aWdfaXRlbToxOklHTWVzc2FnZUlEOjE3ODQxNDA1NzkzMTg3MjE4OjM0MDI4MjM2Njg0MTcxMDMwMDk0OTEyODI1MTg5Njg1NjcyMDkwMDoyODA3ODk1Njg1MjM1NjUwMzMxMDY5MTA3NDg0MzE1NA",
			From:        inbox.Correspondent{Handle: "instagram:" + igsid},
			To:          igAccount,
			Body:        "Do you have this in size M?",
			SentAt:      at(9, 29, 43, 227),
		}}}},
		{"meta-template-status-approved.json", meta.Batch{Templates: []inbox.TemplateState{{
			WorkspaceID: "demo", AccountID: "102290129340398", ProviderID: "1627019861106475",
			Name: "order_update", Language: "en_US", Status: inbox.TemplateApproved, Reason: "NONE", Category: inbox.CategoryUtility,
		}}}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			ev := loadEvent(t, tt.file)
			if ev.IsBase64Encoded || ev.Headers["content-type"] != "application/json" {
				t.Fatalf("sample should carry a plain JSON body")
			}
			if !meta.VerifySignature(appSecret, []byte(ev.Body), ev.Headers["x-hub-signature-256"]) {
				t.Fatalf("signature of %s does not verify; after editing a body set x-hub-signature-256 to %s", tt.file, signing.Meta(appSecret, []byte(ev.Body)))
			}
			got, err := meta.Parse("demo", []byte(ev.Body))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestVerifySignatureRejects(t *testing.T) {
	ev := loadEvent(t, "meta-whatsapp-text.json")
	body, header := []byte(ev.Body), ev.Headers["x-hub-signature-256"]
	tampered := []byte(strings.Replace(ev.Body, "San Jos", "San Fran", 1))
	hexOnly := strings.TrimPrefix(header, "sha256=")
	tests := []struct {
		name, secret string
		body         []byte
		header       string
	}{
		{"tampered body", appSecret, tampered, header},
		{"wrong secret", "another-secret", body, header},
		{"empty secret", "", body, header},
		{"missing prefix", appSecret, body, hexOnly},
		{"sha1 header", appSecret, body, ev.Headers["x-hub-signature"]},
		{"sha1 prefix on sha256 hex", appSecret, body, "sha1=" + hexOnly},
		{"upper-case prefix", appSecret, body, "SHA256=" + hexOnly},
		{"missing header", appSecret, body, ""},
		{"not hex", appSecret, body, "sha256=" + strings.Repeat("zz", 32)},
		{"truncated", appSecret, body, header[:len(header)-2]},
	}
	for _, tt := range tests {
		if meta.VerifySignature(tt.secret, tt.body, tt.header) {
			t.Errorf("%s: VerifySignature = true, want false", tt.name)
		}
	}
}

func TestChallenge(t *testing.T) {
	ev := loadEvent(t, "meta-verify.json")
	if ev.RequestContext.HTTP.Method != "GET" {
		t.Fatalf("method = %s, want GET", ev.RequestContext.HTTP.Method)
	}
	query, err := url.ParseQuery(ev.RawQueryString)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := meta.Challenge(query, verifyToken); !ok || got != "1158201444" {
		t.Errorf("Challenge = %q, %v; want 1158201444, true", got, ok)
	}

	for name, tweak := range map[string]func(url.Values){
		"wrong token":       func(q url.Values) { q.Set("hub.verify_token", "guess") },
		"wrong mode":        func(q url.Values) { q.Set("hub.mode", "unsubscribe") },
		"missing challenge": func(q url.Values) { q.Del("hub.challenge") },
	} {
		q, _ := url.ParseQuery(ev.RawQueryString)
		tweak(q)
		if got, ok := meta.Challenge(q, verifyToken); ok {
			t.Errorf("%s: Challenge = %q, true; want false", name, got)
		}
	}
	if _, ok := meta.Challenge(url.Values{"hub.mode": {"subscribe"}, "hub.challenge": {"1"}}, ""); ok {
		t.Error("an unset verify token must not accept an empty one")
	}
}

func TestParseRejectsBodies(t *testing.T) {
	for name, body := range map[string]string{
		"bad JSON":       `{"object":"page","entry":[`,
		"empty":          ``,
		"unknown object": `{"object":"user","entry":[{"id":"1","time":1,"changes":[]}]}`,
		"no object":      `{"entry":[]}`,
	} {
		got, err := meta.Parse("demo", []byte(body))
		if !inbox.IsKind(err, inbox.KindInvalid) {
			t.Errorf("%s: error = %v, want invalid", name, err)
		}
		if !reflect.DeepEqual(got, meta.Batch{}) {
			t.Errorf("%s: batch = %+v, want empty", name, got)
		}
	}
}

func TestParseSkipsOwnSends(t *testing.T) {
	const body = `{"object":"page","entry":[{"id":"107234567890123","time":1795253377034,"messaging":[
		{"sender":{"id":"107234567890123"},"recipient":{"id":"25873012456789012"},"timestamp":1795253376512,
		 "message":{"mid":"m_echo1","text":"Sent from the inbox","is_echo":true,"app_id":1517776481860111}},
		{"sender":{"id":"107234567890123"},"recipient":{"id":"25873012456789012"},"timestamp":1795253376600,
		 "message":{"mid":"m_page2","text":"Page sender without is_echo"}},
		{"sender":{"id":"25873012456789012"},"recipient":{"id":"107234567890123"},"timestamp":1795253376700,
		 "message":{"mid":"m_echo3","text":"Echo under a user's id","is_echo":true}}]}]}`
	got, err := meta.Parse("demo", []byte(body))
	if err != nil || len(got.Messages) != 0 {
		t.Errorf("Parse = %+v, %v; want no messages and no error", got, err)
	}
}

// waBody wraps one WhatsApp message object in a webhook body.
func waBody(message string) []byte {
	return []byte(`{"object":"whatsapp_business_account","entry":[{"id":"114209384756120","changes":[{"field":"messages","value":{
		"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550100199","phone_number_id":"108374651209348"},
		"contacts":[{"profile":{"name":"María López"},"wa_id":"14155550142"}],"messages":[` + message + `]}}]}]}`)
}

func TestWhatsAppMessageTypes(t *testing.T) {
	const head = `"from":"14155550142","id":"wamid.X","timestamp":"1795253352",`
	tests := []struct {
		name, message, wantBody string
		wantAttachments         []inbox.Attachment
	}{
		{"location", `"type":"location","location":{"latitude":37.7793,"longitude":-122.4193,"name":"Philz Coffee","address":"201 Berry St, San Francisco"}`,
			"[location 37.7793,-122.4193 Philz Coffee, 201 Berry St, San Francisco]", nil},
		{"bare location", `"type":"location","location":{"latitude":37.78,"longitude":-122.41}`, "[location 37.78,-122.41]", nil},
		{"reaction", `"type":"reaction","reaction":{"message_id":"wamid.Y","emoji":"👍"}`, "[reacted 👍 to a message]", nil},
		{"removed reaction", `"type":"reaction","reaction":{"message_id":"wamid.Y"}`, "[removed a reaction]", nil},
		{"button", `"type":"button","button":{"payload":"STOP","text":"Stop promotions"}`, "Stop promotions", nil},
		{"list reply", `"type":"interactive","interactive":{"type":"list_reply","list_reply":{"id":"r1","title":"Returns","description":"Start a return"}}`, "Returns", nil},
		{"contacts", `"type":"contacts","contacts":[{"name":{"formatted_name":"Sam Ortiz","first_name":"Sam"},"phones":[{"phone":"+1 415 555 0177"}]}]`, "[shared contact Sam Ortiz]", nil},
		{"unsupported", `"type":"unsupported","errors":[{"code":131051,"title":"Message type unknown"}]`, "[unsupported message]", nil},
		{"future type", `"type":"hologram","hologram":{"id":"1"}`, "[unsupported message]", nil},
		{"document", `"type":"document","document":{"filename":"invoice-1042.pdf","mime_type":"application/pdf","sha256":"x","id":"889214467304551"}`,
			"", []inbox.Attachment{{URL: "https://graph.facebook.com/889214467304551", ContentType: "application/pdf", Name: "invoice-1042.pdf"}}},
		{"voice note", `"type":"audio","audio":{"mime_type":"audio/ogg; codecs=opus","sha256":"x","id":"731055892231786","voice":true}`,
			"", []inbox.Attachment{{URL: "https://graph.facebook.com/731055892231786", ContentType: "audio/ogg; codecs=opus"}}},
	}
	for _, tt := range tests {
		got, err := meta.Parse("demo", waBody("{"+head+tt.message+"}"))
		if err != nil || len(got.Messages) != 1 {
			t.Errorf("%s: Parse = %+v, %v; want one message", tt.name, got, err)
			continue
		}
		m := got.Messages[0]
		if m.Body != tt.wantBody || !reflect.DeepEqual(m.Attachments, tt.wantAttachments) {
			t.Errorf("%s: body %q, attachments %+v; want %q, %+v", tt.name, m.Body, m.Attachments, tt.wantBody, tt.wantAttachments)
		}
	}
}

func TestParseKeepsGoodItemsAndReportsBadOnes(t *testing.T) {
	body := waBody(`{"from":"14155550142","id":"wamid.GOOD","timestamp":"1795253352","type":"text","text":{"body":"ok"}},
		{"id":"wamid.NOFROM","timestamp":"1795253352","type":"text","text":{"body":"who?"}},
		{"from":"123","id":"wamid.BADPHONE","timestamp":"1795253352","type":"text","text":{"body":"bad number"}},
		{"from":"14155550142","timestamp":"1795253352","type":"text","text":{"body":"no id"}},
		{"from":"14155550142","id":"wamid.NOMEDIA","type":"image","image":{"caption":"lost"}},
		{"from":14155550142,"id":"wamid.NUMERIC","type":"text","text":{"body":"wrong type"}}`)
	got, err := meta.Parse("demo", body)
	if len(got.Messages) != 1 || got.Messages[0].ProviderID != "wamid.GOOD" {
		t.Errorf("messages = %+v, want only wamid.GOOD", got.Messages)
	}
	// A message from a known sender that cannot be filed is refused in
	// their thread; the rest name no usable sender and are described by
	// their JSON path.
	if len(got.Refused) != 1 || got.Refused[0].Inbound.ProviderID != "wamid.NOMEDIA" || got.Refused[0].Inbound.From.Phone != "+14155550142" ||
		!strings.Contains(got.Refused[0].Reason, "media id") {
		t.Errorf("refused = %+v, want wamid.NOMEDIA from +14155550142, saying its media id is missing", got.Refused)
	}
	if !inbox.IsKind(err, inbox.KindInvalid) || !strings.Contains(err.Error(), "skipped 4 item(s)") ||
		!strings.Contains(err.Error(), "entry[0].changes[0].value.messages[5].from must be a string, not a number") {
		t.Errorf("error = %v, want invalid, naming 4 skipped items by path", err)
	}
}

func TestParseRefusesMalformedItemsOfKnownSenders(t *testing.T) {
	wa := waBody(`{"from":"14155550142","id":"wamid.BADTEXT","timestamp":"1795253352","type":"text","text":5}`)
	got, err := meta.Parse("demo", wa)
	if err != nil || len(got.Refused) != 1 || got.Refused[0].Inbound.ProviderID != "wamid.BADTEXT" ||
		got.Refused[0].Reason != "entry[0].changes[0].value.messages[0].text must be an object, not a number" {
		t.Errorf("Parse = %+v, %v; want wamid.BADTEXT refused, naming text's path and type", got, err)
	}
	fb := `{"object":"page","entry":[{"id":"107234567890123","messaging":[
		{"sender":{"id":"6735418290567182"},"recipient":{"id":"107234567890123"},"timestamp":1795253390000,"message":{"mid":"m_BAD","text":["x"]}}]}]}`
	got, err = meta.Parse("demo", []byte(fb))
	if err != nil || len(got.Refused) != 1 || got.Refused[0].Inbound.From.Handle != "messenger:6735418290567182" ||
		!strings.Contains(got.Refused[0].Reason, "message.text must be a string, not an array") {
		t.Errorf("Parse = %+v, %v; want m_BAD refused, naming message.text", got, err)
	}
}

func TestParseProblemsSpeakOfTheRequest(t *testing.T) {
	for body, want := range map[string]string{
		`{"object":"page","entry":{"id":"1"}}`: "entry must be an array, not an object",
		`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messages":"hi"}}]}]}`: "entry[0].changes[0].value.messages must be an array, not a string",
		`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":"x"}]}`:                                              "entry[0].changes must be an array, not a string",
		`{"object":"instagram","entry":[{"id":"1","messaging":[7]}]}`:                                                            "entry[0].messaging[0] must be an object, not a number",
	} {
		got, err := meta.Parse("demo", []byte(body))
		if !got.Empty() || err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "Go ") {
			t.Errorf("Parse(%s) = %+v, %v; want nothing and an error saying %q", body, got, err, want)
		}
	}
}

func TestMessengerEdgeCases(t *testing.T) {
	const body = `{"object":"instagram","entry":[{"id":"17841405793187218","time":1795253383650,"messaging":[
		{"sender":{"id":"6735418290567182"},"recipient":{"id":"17841405793187218"},"timestamp":1795253390000,"read":{"mid":"aWdfMID"}},
		{"sender":{"id":"6735418290567182"},"recipient":{"id":"17841405793187218"},"timestamp":1795253391000,
		 "message":{"mid":"aWdfFILES","attachments":[
			{"type":"file","payload":{"url":"https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1&signature=x"}},
			{"type":"image","payload":{"url":"javascript:alert(1)"}},
			{"type":"fallback","payload":null}]}},
		{"sender":{"id":"6735418290567182"},"recipient":{"id":"17841405793187218"},"timestamp":1795253392000,
		 "message":{"mid":"aWdfUNSUPPORTED","is_unsupported":true}},
		{"sender":{"id":"6735418290567182"},"recipient":{"id":"17841405793187218"},"timestamp":1795253393000,
		 "message":{"mid":"aWdfFILES","is_deleted":true}},
		{"sender":{"id":"6735418290567182"},"recipient":{"id":"17841405793187218"},"timestamp":1795253394000,
		 "reaction":{"mid":"aWdfMID","action":"react","reaction":"love","emoji":"❤"}},
		{"sender":{"id":"6735418290567182"},"recipient":{"id":"17841405793187218"},"delivery":{"watermark":1795253394000}}]}]}`
	got, err := meta.Parse("demo", []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	wantStatuses := []inbox.DeliveryUpdate{{WorkspaceID: "demo", Channel: inbox.ChannelInstagram, ProviderID: "aWdfMID", Status: inbox.MessageRead, At: at(9, 29, 50, 0)}}
	if !reflect.DeepEqual(got.Statuses, wantStatuses) {
		t.Errorf("statuses = %+v, want %+v", got.Statuses, wantStatuses)
	}
	if len(got.Messages) != 2 || len(got.Reads) != 0 {
		t.Fatalf("got %d messages and %d reads, want 2 and 0: %+v", len(got.Messages), len(got.Reads), got)
	}
	wantFiles := []inbox.Attachment{{URL: "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1&signature=x", ContentType: "application/octet-stream"}}
	if m := got.Messages[0]; m.Body != "" || !reflect.DeepEqual(m.Attachments, wantFiles) {
		t.Errorf("files message = %q %+v, want no body and %+v", m.Body, m.Attachments, wantFiles)
	}
	if m := got.Messages[1]; m.Body != "[unsupported message]" {
		t.Errorf("unsupported body = %q", m.Body)
	}
}
