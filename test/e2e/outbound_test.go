package e2e_test

// Outbound delivery end to end: what an agent (or an integration) posts is
// checked at once, stored, and then sent in the background by the sender,
// which the local stack runs on its table stream and its scheduler; the
// stand-in providers record every send in the capture outbox (GET
// /dev/outbox), which these tests read.

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-inbox/parley/shared/dev/signing"
)

// checkDelivered waits for a posted message to go out and checks the send
// and the message's final state.
func checkDelivered(t *testing.T, ws, token string, m OutMessage, channel, to, providerPrefix string) Sent {
	t.Helper()
	s := waitSent(t, ws, m.ID)
	if s.Channel != channel || s.To != to || s.Body != m.Body || s.ConversationID != m.ConversationID || s.Ref != m.ConversationID+"."+m.ID {
		t.Errorf("send of %s = %+v, want %s to %q with body %q and ref %s.%s", m.ID, s, channel, to, m.Body, m.ConversationID, m.ID)
	}
	got := waitStatus(t, token, m.ConversationID, m.ID, "sent")
	if got.ProviderID != s.ProviderID || !strings.HasPrefix(got.ProviderID, providerPrefix) || got.Error != nil {
		t.Errorf("sent message = %s, want providerId %s (from the provider, starting %s) and no error", got, s.ProviderID, providerPrefix)
	}
	if got.Recipient != to || got.Channel != channel || got.Body != m.Body {
		t.Errorf("sent message = %s, want %s to %q", got, channel, to)
	}
	return s
}

// Every channel sends: the send reaches the channel's provider with the
// contact's address on that channel, and the message becomes sent with
// the provider's id.
func TestSendOnEveryChannel(t *testing.T) {
	t.Parallel()

	t.Run("sms", func(t *testing.T) {
		t.Parallel()
		phone := newPhone(t)
		conv := startConversation(t, tok.agent, map[string]any{"phone": phone, "name": "Sms " + uniq()}, http.StatusCreated)
		m := postOut(t, tok.agent, conv.ID, map[string]any{"channel": "sms", "body": "Your order shipped " + uniq()})
		if m.Status != "queued" || m.Channel != "sms" || m.Recipient != phone || m.Segments != 1 || m.Automated || m.SendAt != nil || m.AuthorID != demoAgent {
			t.Errorf("posted sms = %s (segments %d), want queued to %s, 1 segment, not automated or scheduled", m, m.Segments, phone)
		}
		checkDelivered(t, demoWS, tok.agent, m, "sms", phone, "SM")
	})

	t.Run("mms", func(t *testing.T) {
		t.Parallel()
		phone := newPhone(t)
		conv := startConversation(t, tok.agent, map[string]any{"phone": phone, "name": "Mms " + uniq()}, http.StatusCreated)
		att := map[string]any{"url": "https://cdn.example.com/" + uniq() + ".jpg", "contentType": "image/jpeg", "size": 48213, "name": "photo.jpg"}
		m := postOut(t, tok.agent, conv.ID, map[string]any{"channel": "sms", "body": "Here is your receipt", "attachments": []any{att}})
		if m.Channel != "mms" || len(m.Attachments) != 1 || m.Attachments[0].Size != 48213 || m.Recipient != phone || len(m.Warnings) != 0 {
			t.Errorf("sms with an image = %s %+v, want mms with the attachment and no warning", m, m.Attachments)
		}
		s := checkDelivered(t, demoWS, tok.agent, m, "mms", phone, "SM")
		if len(s.Attachments) != 1 || s.Attachments[0].URL != att["url"] || s.Attachments[0].ContentType != "image/jpeg" || s.Attachments[0].Size != 48213 {
			t.Errorf("sent attachments = %+v, want %v", s.Attachments, att)
		}
	})

	t.Run("email", func(t *testing.T) {
		t.Parallel()
		addr := "buyer." + uniq() + "@example.com"
		c := createContact(t, tok.agent, map[string]any{"name": "Email " + uniq(), "emails": []string{addr}})
		conv := startConversation(t, tok.agent, map[string]any{"contactId": c.ID}, http.StatusCreated)
		m := postOut(t, tok.agent, conv.ID, map[string]any{"channel": "email", "body": "Your invoice is attached.\n\nThanks!"})
		if m.Recipient != addr || m.Segments != 0 {
			t.Errorf("posted email = %s, want it to %s without SMS segments", m, addr)
		}
		checkDelivered(t, demoWS, tok.agent, m, "email", addr, "<")
	})

	t.Run("whatsapp", func(t *testing.T) {
		t.Parallel()
		phone := newPhone(t)
		text := "Is my order on its way? " + uniq()
		body, _ := whatsAppText(phone, "Wa Customer", text)
		metaDeliver(t, demoWS, body)
		conv := threadOfPhone(t, phone)
		if conv.LastInboundAt["whatsapp"].IsZero() {
			t.Fatalf("conversation after a WhatsApp message = %+v, want lastInboundAt.whatsapp", conv)
		}
		m := postOut(t, tok.agent, conv.ID, map[string]any{"channel": "whatsapp", "body": "Yes, it arrives tomorrow."})
		checkDelivered(t, demoWS, tok.agent, m, "whatsapp", phone, "wamid.")
	})

	for _, ch := range []struct{ channel, object string }{{"messenger", "page"}, {"instagram", "instagram"}} {
		t.Run(ch.channel, func(t *testing.T) {
			t.Parallel()
			psid := newPSID()
			text := "Hi from " + ch.channel + " " + uniq()
			body, _ := messagingEvent(ch.object, psid, text)
			metaDeliver(t, demoWS, body)
			conv := inboxWithPreview(t, text)
			m := postOut(t, tok.agent, conv.ID, map[string]any{"channel": ch.channel, "body": "Thanks for writing!"})
			if m.Recipient != psid {
				t.Errorf("posted %s = %s, want recipient %s", ch.channel, m, psid)
			}
			s := checkDelivered(t, demoWS, tok.agent, m, ch.channel, psid, "m_")
			// Inside 24 hours of the contact's message a reply needs no tag.
			if s.HumanAgent {
				t.Errorf("%s reply minutes after the contact wrote was sent with the HUMAN_AGENT tag: %+v", ch.channel, s)
			}
		})
	}

	t.Run("webchat", func(t *testing.T) {
		t.Parallel()
		c, _ := clientFrom(t)
		sess := chatSession(t, c, demoWS)
		text := "Anyone there? " + uniq()
		chatSend(t, c, demoWS, sess.Token, text)
		conv := inboxWithPreview(t, text)
		m := postOut(t, tok.agent, conv.ID, map[string]any{"channel": "webchat", "body": "Hi! How can I help? " + uniq()})
		if m.Recipient != sess.VisitorID {
			t.Errorf("posted web chat reply = %s, want recipient %s", m, sess.VisitorID)
		}
		checkDelivered(t, demoWS, tok.agent, m, "webchat", sess.VisitorID, "webchat-")
		found := false
		for _, v := range chatHistory(t, c, demoWS, sess.Token) {
			if v.ID == m.ID {
				found = true
				if v.Direction != "out" || v.Body != m.Body || v.Channel != "webchat" {
					t.Errorf("the visitor sees the reply as %+v", v)
				}
			}
		}
		if !found {
			t.Errorf("the agent's reply %s is not in the visitor's history", m.ID)
		}
	})
}

// Without a channel, Parley picks one: web chat while the visitor is
// online, email once an offline visitor has left an address, otherwise the
// channel the contact last wrote on.
func TestDefaultChannel(t *testing.T) {
	t.Parallel()

	t.Run("the channel of the last inbound message", func(t *testing.T) {
		t.Parallel()
		phone := newPhone(t)
		conv := startConversation(t, tok.agent, map[string]any{"phone": phone, "name": "Default " + uniq()}, http.StatusCreated)
		// Before the contact writes: their phone, by SMS.
		first := postOut(t, tok.agent, conv.ID, map[string]any{"body": "Hello from the shop"})
		if first.Channel != "sms" || first.Recipient != phone {
			t.Errorf("no channel, a contact who never wrote = %s, want sms to %s", first, phone)
		}
		checkDelivered(t, demoWS, tok.agent, first, "sms", phone, "SM")

		body, _ := whatsAppText(phone, "Default Customer", "Answering on WhatsApp "+uniq())
		metaDeliver(t, demoWS, body)
		if got := threadOfPhone(t, phone); got.ID != conv.ID {
			t.Fatalf("the WhatsApp message went to %s, want the contact's thread %s", got.ID, conv.ID)
		}
		m := postOut(t, tok.agent, conv.ID, map[string]any{"body": "Thanks, we got it"})
		if m.Channel != "whatsapp" {
			t.Errorf("no channel after the contact wrote on WhatsApp = %s, want whatsapp", m)
		}
		checkDelivered(t, demoWS, tok.agent, m, "whatsapp", phone, "wamid.")
	})

	t.Run("web chat while the visitor is online", func(t *testing.T) {
		t.Parallel()
		c, _ := clientFrom(t)
		sess := chatSession(t, c, demoWS)
		text := "Question about sizes " + uniq()
		chatSend(t, c, demoWS, sess.Token, text)
		conv := inboxWithPreview(t, text)
		// The visitor also leaves an address; online, chat still wins.
		wantStatus(t, doVia(t, c, "POST", "/chat/"+demoWS+"/email", sess.Token, map[string]any{"email": "online." + uniq() + "@example.com"}), http.StatusOK)
		wantStatus(t, doVia(t, c, "POST", "/chat/"+demoWS+"/heartbeat", sess.Token, nil), http.StatusOK)
		m := postOut(t, tok.agent, conv.ID, map[string]any{"body": "Sizes run small " + uniq()})
		if m.Channel != "webchat" || m.Recipient != sess.VisitorID {
			t.Errorf("no channel, visitor online = %s, want webchat to %s", m, sess.VisitorID)
		}
		checkDelivered(t, demoWS, tok.agent, m, "webchat", sess.VisitorID, "webchat-")
	})

	t.Run("email once the visitor is offline", func(t *testing.T) {
		t.Parallel()
		c, _ := clientFrom(t)
		sess := chatSession(t, c, demoWS)
		text := "Please email me the quote " + uniq()
		chatSend(t, c, demoWS, sess.Token, text)
		conv := inboxWithPreview(t, text)
		addr := "offline." + uniq() + "@example.com"
		// The visitor proves the address with the code emailed to it.
		wantStatus(t, doVia(t, c, "POST", "/chat/"+demoWS+"/email/code", sess.Token, map[string]any{"email": addr}), http.StatusAccepted)
		wantStatus(t, doVia(t, c, "POST", "/chat/"+demoWS+"/email/verify", sess.Token, map[string]any{"email": addr, "code": emailedCode(t, addr)}), http.StatusOK)
		// No heartbeat: the visitor is not online.
		if got := getConversation(t, tok.agent, conv.ID); got.VisitorOnlineUntil != nil && got.VisitorOnlineUntil.After(time.Now()) {
			t.Fatalf("visitor online until %s without a heartbeat", got.VisitorOnlineUntil)
		}
		m := postOut(t, tok.agent, conv.ID, map[string]any{"body": "Here is your quote " + uniq()})
		if m.Channel != "email" || m.Recipient != addr {
			t.Errorf("no channel, visitor offline with an email = %s, want email to %s", m, addr)
		}
		checkDelivered(t, demoWS, tok.agent, m, "email", addr, "<")
	})

	t.Run("nothing to pick", func(t *testing.T) {
		t.Parallel()
		c := createContact(t, tok.agent, map[string]any{"name": "Nameless " + uniq()})
		conv := startConversation(t, tok.agent, map[string]any{"contactId": c.ID}, http.StatusCreated)
		refuseOut(t, tok.agent, conv.ID, map[string]any{"body": "hello?"}, "channel")
	})
}

// Messages that cannot lawfully or technically go out are refused when
// posted, and nothing reaches a provider.
func TestOutboundRefusals(t *testing.T) {
	t.Parallel()

	t.Run("STOP blocks texts, START lifts it", func(t *testing.T) {
		t.Parallel()
		phone := newPhone(t)
		twilioSMS(t, demoWS, twilioSMSForm(phone, "STOP"))
		conv := threadOfPhone(t, phone)
		p := refuseOut(t, tok.agent, conv.ID, map[string]any{"channel": "sms", "body": "But wait!"}, "channel")
		if !strings.Contains(p.Detail, "opted out") {
			t.Errorf("refusal detail %q does not say the contact opted out", p.Detail)
		}
		// Media makes it an MMS, which shares the SMS opt-out.
		refuseOut(t, tok.agent, conv.ID, map[string]any{"channel": "mms", "attachments": []any{map[string]any{"url": "https://cdn.example.com/a.png", "contentType": "image/png"}}}, "channel")
		refuseOut(t, tok.agent, conv.ID, map[string]any{"body": "No channel named"}, "channel") // the default is SMS, the channel they wrote on
		time.Sleep(300 * time.Millisecond)
		if got := sendsOfConversation(outbox(t, demoWS), conv.ID); len(got) != 0 {
			t.Errorf("sends after STOP: %+v", got)
		}
		for _, m := range listOut(t, tok.agent, conv.ID) {
			if m.Direction == "out" {
				t.Errorf("a refused message was stored: %s", m)
			}
		}

		twilioSMS(t, demoWS, twilioSMSForm(phone, "START"))
		m := postOut(t, tok.agent, conv.ID, map[string]any{"channel": "sms", "body": "Welcome back"})
		checkDelivered(t, demoWS, tok.agent, m, "sms", phone, "SM")
	})

	t.Run("a manual opt-out stops automated messages only", func(t *testing.T) {
		t.Parallel()
		phone := newPhone(t)
		conv := startConversation(t, tok.agent, map[string]any{"phone": phone, "name": "Opted out " + uniq()}, http.StatusCreated)
		c := wantJSON[Contact](t, do(t, "POST", "/contacts/"+conv.ContactID+"/opt-out", tok.agent, map[string]any{"channel": "sms"}), http.StatusOK)
		if c.Consent["sms"].Status != "opted_out" || c.Consent["sms"].Source != "manual" {
			t.Fatalf("consent after opt-out = %+v", c.Consent)
		}
		p := refuseOut(t, tok.agent, conv.ID, map[string]any{"channel": "sms", "body": "Flash sale!", "automated": true}, "channel")
		if !strings.Contains(p.Detail, "opted out") {
			t.Errorf("refusal detail %q does not say the contact opted out", p.Detail)
		}
		// An agent may still answer by hand: carriers block only after the
		// contact's own STOP.
		m := postOut(t, tok.agent, conv.ID, map[string]any{"channel": "sms", "body": "About your question"})
		checkDelivered(t, demoWS, tok.agent, m, "sms", phone, "SM")
		if got := sendsOfConversation(outbox(t, demoWS), conv.ID); len(got) != 1 {
			t.Errorf("sends = %+v, want only the manual one", got)
		}
	})

	t.Run("no address on the channel", func(t *testing.T) {
		t.Parallel()
		conv := newConversation(t, tok.agent, "Phone only "+uniq())
		for _, ch := range []string{"email", "messenger", "instagram", "webchat"} {
			refuseOut(t, tok.agent, conv.ID, map[string]any{"channel": ch, "body": "hello"}, "channel")
		}
	})

	t.Run("WhatsApp outside the window needs a template", func(t *testing.T) {
		t.Parallel()
		conv := newConversation(t, tok.agent, "Never on WhatsApp "+uniq())
		p := refuseOut(t, tok.agent, conv.ID, map[string]any{"channel": "whatsapp", "body": "hello"}, "channel")
		if !strings.Contains(p.Detail, "template") {
			t.Errorf("refusal detail %q does not mention the template", p.Detail)
		}
		refuseOut(t, tok.agent, conv.ID, map[string]any{"channel": "whatsapp", "template": map[string]any{"name": "no_such_template_" + uniq(), "params": []string{}}}, "template")
		// Messenger and Instagram without the contact ever writing: no
		// handle, so no address either.
		time.Sleep(300 * time.Millisecond)
		if got := sendsOfConversation(outbox(t, demoWS), conv.ID); len(got) != 0 {
			t.Errorf("sends: %+v", got)
		}
	})
}

// WhatsApp templates: created through /templates and approved by Meta,
// sent outside the 24-hour window, with exactly the parameters they take.
// In settingsWS, under names unique to the run.
func TestWhatsAppTemplates(t *testing.T) {
	t.Parallel()
	needSettingsWS(t)
	phone := newPhone(t)
	conv := startConversation(t, tok.settingsAdmin, map[string]any{"phone": phone, "name": "Template " + uniq()}, http.StatusCreated)
	refuseOut(t, tok.settingsAdmin, conv.ID, map[string]any{"channel": "whatsapp", "body": "Your order shipped"}, "channel")

	// Templates are their own resource: created (and submitted to Meta's
	// stand-in), then approved by Meta's signed status webhook.
	orderUpdate, hello := templateName("order_update"), templateName("hello")
	in := waTemplateInput(orderUpdate, 2)
	in["components"] = []any{map[string]any{"type": "body", "text": "Order {{1}} is {{2}}", "example": []string{"4411", "shipped"}}}
	spec := approveTemplate(t, settingsWS, tok.settingsAdmin, createTemplate(t, tok.settingsAdmin, in))
	approveTemplate(t, settingsWS, tok.settingsAdmin, createTemplate(t, tok.settingsAdmin, waTemplateInput(hello, 0)))
	t.Cleanup(func() {
		for _, id := range []string{"whatsapp." + orderUpdate + ".en_US", "whatsapp." + hello + ".en_US"} {
			do(t, "DELETE", "/templates/"+id, tok.settingsAdmin, nil)
		}
	})
	if spec.Language != "en_US" || spec.Variables != 2 {
		t.Fatalf("template = %+v", spec)
	}

	m := postOut(t, tok.settingsAdmin, conv.ID, map[string]any{"channel": "whatsapp", "template": map[string]any{"name": orderUpdate, "params": []string{"4411", "shipped"}}})
	if m.Template == nil || m.Template.Name != orderUpdate || m.Template.Language != "en_US" || strings.Join(m.Template.Params, ",") != "4411,shipped" {
		t.Errorf("template message = %s template %+v, want order_update en_US [4411 shipped] (the language filled in)", m, m.Template)
	}
	s := checkDelivered(t, settingsWS, tok.settingsAdmin, m, "whatsapp", phone, "wamid.")
	if s.Template == nil || s.Template.Name != orderUpdate || s.Template.Language != "en_US" || strings.Join(s.Template.Params, ",") != "4411,shipped" {
		t.Errorf("sent template = %+v", s.Template)
	}

	for _, bad := range []map[string]any{
		{"name": orderUpdate, "params": []string{"4411"}},                     // one parameter short
		{"name": orderUpdate, "params": []string{"4411", "shipped", "x"}},     // one too many
		{"name": orderUpdate, "params": []string{"4411", "  "}},               // blank
		{"name": orderUpdate, "language": "fr", "params": []string{"a", "b"}}, // not approved in French
		{"name": "shipping_notice", "params": []string{"a", "b"}},             // not registered
	} {
		refuseOut(t, tok.settingsAdmin, conv.ID, map[string]any{"channel": "whatsapp", "template": bad}, "template")
	}
	// A template without parameters may leave params out.
	hm := postOut(t, tok.settingsAdmin, conv.ID, map[string]any{"channel": "whatsapp", "template": map[string]any{"name": hello}})
	if hm.Template == nil || hm.Template.Name != hello || len(hm.Template.Params) != 0 {
		t.Errorf("template without parameters = %s template %+v", hm, hm.Template)
	}
	waitSent(t, settingsWS, hm.ID)
	// A WhatsApp template is not an SMS one: the wrong channel.
	refuseOut(t, tok.settingsAdmin, conv.ID, map[string]any{"channel": "sms", "body": "x", "template": map[string]any{"name": orderUpdate, "params": []string{"a", "b"}}}, "template")
	if got := sendsOfConversation(outbox(t, settingsWS), conv.ID); len(got) != 2 {
		t.Errorf("sends = %+v, want only the two template messages", got)
	}
}

// Bad input is refused with 400 and the field at fault, before anything is
// stored or sent.
func TestOutboundBadInput(t *testing.T) {
	t.Parallel()
	phone := newPhone(t)
	conv := startConversation(t, tok.agent, map[string]any{"phone": phone, "name": "Bad input " + uniq()}, http.StatusCreated)
	img := func(size int64) map[string]any {
		return map[string]any{"url": "https://cdn.example.com/" + uniq() + ".jpg", "contentType": "image/jpeg", "size": size}
	}
	for _, c := range []struct {
		name  string
		in    map[string]any
		field string
	}{
		{"an SMS over 1600 characters", map[string]any{"channel": "sms", "body": strings.Repeat("a", 1601)}, "body"},
		{"a WhatsApp message over 4096 characters", map[string]any{"channel": "whatsapp", "body": strings.Repeat("a", 4097)}, "body"},
		{"a zip by MMS", map[string]any{"channel": "mms", "attachments": []any{map[string]any{"url": "https://cdn.example.com/a.zip", "contentType": "application/zip", "size": 1000}}}, "attachments"},
		{"a zip by SMS (so MMS)", map[string]any{"channel": "sms", "body": "see attached", "attachments": []any{map[string]any{"url": "https://cdn.example.com/a.zip", "contentType": "application/zip"}}}, "attachments"},
		{"a PDF by MMS", map[string]any{"channel": "sms", "attachments": []any{map[string]any{"url": "https://cdn.example.com/a.pdf", "contentType": "application/pdf"}}}, "attachments"},
		{"a zip by WhatsApp", map[string]any{"channel": "whatsapp", "attachments": []any{map[string]any{"url": "https://cdn.example.com/a.zip", "contentType": "application/zip"}}}, "attachments"},
		{"MMS media over 5 MB in all", map[string]any{"channel": "sms", "attachments": []any{img(3 << 20), img(2<<20 + 1)}}, "attachments"},
		{"a template with missing parameters", map[string]any{"channel": "whatsapp", "template": map[string]any{"name": "order_update", "params": []string{}}}, "template"},
		{"an unreachable channel", map[string]any{"channel": "messenger", "body": "hi"}, "channel"},
		{"an unknown channel", map[string]any{"channel": "pager", "body": "hi"}, "channel"},
		{"sendAt in the past", map[string]any{"channel": "sms", "body": "hi", "sendAt": time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)}, "sendAt"},
		{"sendAt more than a year ahead", map[string]any{"channel": "sms", "body": "hi", "sendAt": time.Now().AddDate(1, 0, 2).UTC().Format(time.RFC3339)}, "sendAt"},
		{"an unknown timezone", map[string]any{"channel": "sms", "body": "hi", "sendAt": time.Now().Add(time.Hour).UTC().Format(time.RFC3339), "timezone": "Mars/Olympus_Mons"}, "timezone"},
		{"an unknown field", map[string]any{"channel": "sms", "body": "hi", "priority": "high"}, "priority"},
	} {
		t.Run(c.name, func(t *testing.T) {
			refuseOut(t, tok.agent, conv.ID, c.in, c.field)
		})
	}
	if got := listOut(t, tok.agent, conv.ID); len(got) != 0 {
		t.Errorf("refused messages were stored: %v", got)
	}

	// At the limits: accepted.
	long := postOut(t, tok.agent, conv.ID, map[string]any{"channel": "sms", "body": strings.Repeat("a", 1600)})
	if long.Segments != 11 {
		t.Errorf("1600 GSM-7 characters = %d segments, want 11 (153 a part)", long.Segments)
	}
	uni := postOut(t, tok.agent, conv.ID, map[string]any{"channel": "sms", "body": strings.Repeat("é", 70) + "😀"})
	if uni.Segments != 2 {
		t.Errorf("72 UCS-2 code units = %d segments, want 2", uni.Segments)
	}
	big := postOut(t, tok.agent, conv.ID, map[string]any{"channel": "sms", "attachments": []any{img(3 << 20), img(2 << 20)}})
	if big.Channel != "mms" || len(big.Warnings) != 2 {
		t.Errorf("MMS of 3 MB + 2 MB = %s, want accepted with a warning for each attachment over 1.5 MB", big)
	}
	for _, m := range []OutMessage{long, uni, big} {
		waitSent(t, demoWS, m.ID)
	}
}

// Status callbacks move a sent message on: delivered, or failed with the
// carrier's error; Twilio's 21610 also records the contact's opt-out.
func TestTwilioStatusCallbacks(t *testing.T) {
	t.Parallel()
	sentSMS := func(t *testing.T) (OutMessage, string) {
		phone := newPhone(t)
		conv := startConversation(t, tok.agent, map[string]any{"phone": phone, "name": "Callbacks " + uniq()}, http.StatusCreated)
		m := postOut(t, tok.agent, conv.ID, map[string]any{"channel": "sms", "body": "Status please " + uniq()})
		checkDelivered(t, demoWS, tok.agent, m, "sms", phone, "SM")
		return waitStatus(t, tok.agent, conv.ID, m.ID, "sent"), phone
	}

	t.Run("delivered", func(t *testing.T) {
		t.Parallel()
		m, phone := sentSMS(t)
		ref := m.ConversationID + "." + m.ID
		// The signature covers the query: one made for the bare path fails.
		form := twilioStatusForm(m.ProviderID, "delivered", "", phone)
		bare := signing.Twilio(twilioAuthToken, publicURL+"/webhooks/"+demoWS+"/twilio/status", form)
		wantProblem(t, twilioPostRaw(t, demoWS, "status?ref="+ref, form.Encode(), bare), http.StatusForbidden, "forbidden", "")

		wantStatus(t, twilioStatus(t, demoWS, ref, form), http.StatusNoContent)
		if got := getOut(t, tok.agent, m.ConversationID, m.ID); got.Status != "delivered" || got.Error != nil {
			t.Errorf("after a delivered callback: %s, want delivered", got)
		}
		// A late "sent" does not move it back.
		wantStatus(t, twilioStatus(t, demoWS, ref, twilioStatusForm(m.ProviderID, "sent", "", phone)), http.StatusNoContent)
		if got := getOut(t, tok.agent, m.ConversationID, m.ID); got.Status != "delivered" {
			t.Errorf("after a late sent callback: %s, want still delivered", got)
		}
	})

	t.Run("failed", func(t *testing.T) {
		t.Parallel()
		m, phone := sentSMS(t)
		wantStatus(t, twilioStatus(t, demoWS, m.ConversationID+"."+m.ID, twilioStatusForm(m.ProviderID, "undelivered", "30007", phone)), http.StatusNoContent)
		got := getOut(t, tok.agent, m.ConversationID, m.ID)
		if got.Status != "failed" || got.Error == nil || got.Error.Code != "30007" || got.Error.Reason == "" || strings.Contains(got.Error.Reason, "Twilio error") {
			t.Errorf("after an undelivered callback with 30007: %s, want failed with code 30007 and a readable reason", got)
		}
		// Failed is final.
		wantStatus(t, twilioStatus(t, demoWS, m.ConversationID+"."+m.ID, twilioStatusForm(m.ProviderID, "delivered", "", phone)), http.StatusNoContent)
		if got := getOut(t, tok.agent, m.ConversationID, m.ID); got.Status != "failed" {
			t.Errorf("a delivered callback after failed moved it to %s", got.Status)
		}
	})

	t.Run("21610 opts the contact out", func(t *testing.T) {
		t.Parallel()
		m, phone := sentSMS(t)
		wantStatus(t, twilioStatus(t, demoWS, m.ConversationID+"."+m.ID, twilioStatusForm(m.ProviderID, "failed", "21610", phone)), http.StatusNoContent)
		got := getOut(t, tok.agent, m.ConversationID, m.ID)
		if got.Status != "failed" || got.Error == nil || got.Error.Code != "21610" {
			t.Errorf("after a failed callback with 21610: %s", got)
		}
		c := getOutContact(t, tok.agent, m.ContactID)
		if cc := c.Consent["sms"]; cc.Status != "opted_out" || cc.Source != "provider" {
			t.Errorf("SMS consent after 21610 = %+v, want opted_out from provider", cc)
		}
		// Carriers block texts after it, so Parley refuses them.
		refuseOut(t, tok.agent, m.ConversationID, map[string]any{"channel": "sms", "body": "Still there?"}, "channel")
	})

	t.Run("a callback for another message id changes nothing", func(t *testing.T) {
		t.Parallel()
		m, phone := sentSMS(t)
		other := twilioSID("SM")
		wantStatus(t, twilioStatus(t, demoWS, m.ConversationID+"."+m.ID, twilioStatusForm(other, "failed", "21610", phone)), http.StatusNoContent)
		if got := getOut(t, tok.agent, m.ConversationID, m.ID); got.Status != "sent" || got.Error != nil {
			t.Errorf("a callback for MessageSid %s with the ref of %s (providerId %s) changed it: %s", other, m.ID, m.ProviderID, got)
		}
		if cc := getOutContact(t, tok.agent, m.ContactID).Consent["sms"]; cc.Status == "opted_out" {
			t.Errorf("POST /webhooks/%s/twilio/status?ref=%s.%s with MessageSid %s (not the message's providerId %s), MessageStatus failed, ErrorCode 21610: "+
				"the message is rightly left alone, but the contact's SMS consent became %+v; want it unchanged, as the callback is not about this message",
				demoWS, m.ConversationID, m.ID, other, m.ProviderID, cc)
		}
	})
}

// A duplicated trigger (a retried stream batch, a schedule firing twice)
// never sends a message twice.
func TestNoDoubleSend(t *testing.T) {
	t.Parallel()

	t.Run("after it was sent", func(t *testing.T) {
		t.Parallel()
		conv := newConversation(t, tok.agent, "Dup sent "+uniq())
		m := postOut(t, tok.agent, conv.ID, map[string]any{"channel": "sms", "body": "Only once " + uniq()})
		waitSent(t, demoWS, m.ID)
		waitStatus(t, tok.agent, conv.ID, m.ID, "sent")
		devDeliverN(t, 5, demoWS, conv.ID, m.ID)
		if got := sendsOfMessage(outbox(t, demoWS), m.ID); len(got) != 1 {
			t.Errorf("message %s sent %d times after 5 duplicated triggers: %+v", m.ID, len(got), got)
		}
	})

	t.Run("while it is queued", func(t *testing.T) {
		t.Parallel()
		conv := newConversation(t, tok.agent, "Dup queued "+uniq())
		m := postOut(t, tok.agent, conv.ID, map[string]any{"channel": "sms", "body": "Only once, racing " + uniq()})
		devDeliverN(t, 5, demoWS, conv.ID, m.ID)
		waitSent(t, demoWS, m.ID)
		got := waitStatus(t, tok.agent, conv.ID, m.ID, "sent")
		time.Sleep(400 * time.Millisecond) // the stream's own trigger comes within 200 ms
		if sends := sendsOfMessage(outbox(t, demoWS), m.ID); len(sends) != 1 || sends[0].ProviderID != got.ProviderID {
			t.Errorf("message %s (providerId %s) sent %d times by the stream and 5 concurrent triggers: %+v", m.ID, got.ProviderID, len(sends), sends)
		}
	})

	t.Run("many messages at once", func(t *testing.T) {
		t.Parallel()
		conv := newConversation(t, tok.agent, "Dup many "+uniq())
		var wg sync.WaitGroup
		msgs := make([]OutMessage, 6)
		for i := range msgs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := send(t, "POST", "/conversations/"+conv.ID+"/messages", tok.agent, map[string]any{"channel": "sms", "body": "Burst " + uniq()})
				if err != nil || r.Status != http.StatusCreated {
					t.Errorf("post %d: %v %v", i, err, r)
					return
				}
				msgs[i] = decodeOut(t, r)
			}()
		}
		wg.Wait()
		for _, m := range msgs {
			if m.ID != "" {
				devDeliverN(t, 2, demoWS, conv.ID, m.ID)
			}
		}
		for _, m := range msgs {
			if m.ID != "" {
				waitSent(t, demoWS, m.ID)
			}
		}
		if got := sendsOfConversation(outbox(t, demoWS), conv.ID); len(got) != len(msgs) {
			t.Errorf("%d messages made %d sends", len(msgs), len(got))
		}
	})
}

func decodeOut(t testing.TB, r *reply) OutMessage {
	t.Helper()
	return wantJSON[OutMessage](t, r, http.StatusCreated)
}

// sendAtOf formats a time as the API takes it.
func sendAtOf(at time.Time) string { return at.UTC().Format(time.RFC3339Nano) }

// listScheduled reads the whole scheduled list at a page size.
func listScheduled(t testing.TB, token string, limit int) []OutMessage {
	t.Helper()
	var all []OutMessage
	cursor := ""
	for range 100 {
		q := url.Values{"limit": {strconv.Itoa(limit)}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		page := wantJSON[Page[OutMessage]](t, do(t, "GET", "/scheduled-messages?"+q.Encode(), token, nil), http.StatusOK)
		if len(page.Items) > limit {
			t.Errorf("a page of limit %d has %d items", limit, len(page.Items))
		}
		all = append(all, page.Items...)
		if page.NextCursor == "" {
			return all
		}
		cursor = page.NextCursor
	}
	t.Fatal("scheduled messages: more than 100 pages")
	return nil
}

func scheduledIDs(list []OutMessage) []string {
	out := make([]string, 0, len(list))
	for _, m := range list {
		out = append(out, m.ID)
	}
	return out
}

// WhatsApp's status webhooks name the message by the callback data Parley
// sent with it and move it on like Twilio's callbacks.
func TestWhatsAppStatusWebhooks(t *testing.T) {
	t.Parallel()
	phone := newPhone(t)
	in, _ := whatsAppText(phone, "Status Customer", "Where is it? "+uniq())
	metaDeliver(t, demoWS, in)
	conv := threadOfPhone(t, phone)
	post := func() OutMessage {
		m := postOut(t, tok.agent, conv.ID, map[string]any{"channel": "whatsapp", "body": "On its way " + uniq()})
		checkDelivered(t, demoWS, tok.agent, m, "whatsapp", phone, "wamid.")
		return waitStatus(t, tok.agent, conv.ID, m.ID, "sent")
	}
	m := post()
	ref := conv.ID + "." + m.ID
	for _, st := range []string{"delivered", "read"} {
		metaDeliver(t, demoWS, whatsAppStatus(m.ProviderID, st, ref, phone, ""))
		if got := getOut(t, tok.agent, conv.ID, m.ID); got.Status != st {
			t.Errorf("after a %s status: %s", st, got)
		}
	}
	// Out of order: a late delivered does not undo read.
	metaDeliver(t, demoWS, whatsAppStatus(m.ProviderID, "delivered", ref, phone, ""))
	if got := getOut(t, tok.agent, conv.ID, m.ID); got.Status != "read" {
		t.Errorf("a late delivered status moved a read message to %s", got.Status)
	}

	f := post()
	metaDeliver(t, demoWS, whatsAppStatus(f.ProviderID, "failed", conv.ID+"."+f.ID, phone, "131047"))
	got := getOut(t, tok.agent, conv.ID, f.ID)
	if got.Status != "failed" || got.Error == nil || got.Error.Code != "131047" || got.Error.Reason == "" {
		t.Errorf("after a failed status with 131047: %s, want failed with code 131047 and a reason", got)
	}
}

// The reply windows of WhatsApp (24 hours) and Messenger/Instagram (24
// hours, then 7 days with the HUMAN_AGENT tag) run from when the contact
// wrote, which Meta's webhook carries; Meta redelivers webhooks for hours
// or days after a failure, so receipt is not the same thing.
func TestReplyWindowRunsFromTheContactsMessage(t *testing.T) {
	t.Parallel()

	t.Run("whatsapp written 25 hours ago", func(t *testing.T) {
		t.Parallel()
		phone := newPhone(t)
		wrote := time.Now().Add(-25 * time.Hour)
		body, _ := whatsAppText(phone, "Late Customer", "Sent yesterday "+uniq())
		metaDeliver(t, demoWS, sentAt(t, body, wrote))
		conv := threadOfPhone(t, phone)
		r := do(t, "POST", "/conversations/"+conv.ID+"/messages", tok.agent, map[string]any{"channel": "whatsapp", "body": "Sorry for the wait"})
		if r.Status != http.StatusBadRequest {
			t.Errorf("a WhatsApp message whose webhook (message timestamp %s) arrived 25 hours late opened the 24-hour window: "+
				"POST /conversations/%s/messages {channel whatsapp, body} answered %d (want 400, field channel: WhatsApp would refuse it with 131047); "+
				"conversation lastInboundAt = %v",
				wrote.UTC().Format(time.RFC3339), conv.ID, r.Status, getConversation(t, tok.agent, conv.ID).LastInboundAt)
		}
	})

	t.Run("messenger written two days ago", func(t *testing.T) {
		t.Parallel()
		psid := newPSID()
		text := "Sent two days ago " + uniq()
		wrote := time.Now().Add(-48 * time.Hour)
		body, _ := messagingEvent("page", psid, text)
		metaDeliver(t, demoWS, sentAt(t, body, wrote))
		conv := inboxWithPreview(t, text)
		m := postOut(t, tok.agent, conv.ID, map[string]any{"channel": "messenger", "body": "Still need help?"})
		if s := waitSent(t, demoWS, m.ID); !s.HumanAgent {
			t.Errorf("a Messenger reply two days after the contact's message (timestamp %s, webhook received now) was sent without the HUMAN_AGENT tag; "+
				"Messenger refuses untagged messages after 24 hours", wrote.UTC().Format(time.RFC3339))
		}
	})
}
