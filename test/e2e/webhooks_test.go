package e2e_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/parley-inbox/parley/shared/adapter/email"
	"github.com/parley-inbox/parley/shared/dev/signing"
)

// A contact has one thread across channels: an SMS and then a WhatsApp
// message from the same number are one conversation, and each message
// says which channel it came on.
func TestOneThreadAcrossChannels(t *testing.T) {
	t.Parallel()
	phone := newPhone(t)
	sms := twilioSMSForm(phone, "Texting first "+uniq())
	twilioSMS(t, demoWS, sms)
	wa, wamid := whatsAppText(phone, "Ana "+uniq(), "And now on WhatsApp "+uniq())
	metaDeliver(t, demoWS, wa)

	if contacts := searchContacts(t, tok.agent, url.Values{"phone": {phone}}); len(contacts) != 1 {
		t.Fatalf("contacts with %s = %d, want 1", phone, len(contacts))
	}
	conv := threadOfPhone(t, phone)
	if len(conv.Channels) != 2 || conv.Channels[0] != "sms" || conv.Channels[1] != "whatsapp" {
		t.Errorf("channels = %v, want [sms whatsapp] in order of first use", conv.Channels)
	}
	if conv.LastInboundAt["sms"].IsZero() || conv.LastInboundAt["whatsapp"].IsZero() || !conv.Unread || conv.LastMessageDirection != "in" {
		t.Errorf("conversation = %+v, want unread with reply windows on sms and whatsapp", conv)
	}
	msgs := listMessages(t, tok.agent, conv.ID, "")
	if len(msgs) != 2 {
		t.Fatalf("thread has %d entries, want 2: %+v", len(msgs), msgs)
	}
	if m := msgs[0]; m.Channel != "sms" || m.ProviderID != sms.Get("MessageSid") || m.Body != sms.Get("Body") {
		t.Errorf("first entry = %+v, want the SMS", m)
	}
	if m := msgs[1]; m.Channel != "whatsapp" || m.ProviderID != wamid || m.ContactID != conv.ContactID {
		t.Errorf("second entry = %+v, want the WhatsApp message", m)
	}
}

// A webhook delivered many times, at once or later, is one message.
func TestWebhookDuplicates(t *testing.T) {
	t.Parallel()

	t.Run("twilio", func(t *testing.T) {
		t.Parallel()
		phone := newPhone(t)
		form := twilioSMSForm(phone, "Ten times "+uniq())
		statuses := deliverConcurrently(t, 10, func() (*reply, error) {
			body := form.Encode()
			sig := signing.Twilio(twilioAuthToken, publicURL+"/webhooks/"+demoWS+"/twilio/messages", form)
			return send(t, "POST", "/webhooks/"+demoWS+"/twilio/messages", "", body,
				"Content-Type", "application/x-www-form-urlencoded", "X-Twilio-Signature", sig)
		})
		wantAll(t, statuses, http.StatusOK)
		conv := threadOfPhone(t, phone)
		if msgs := listMessages(t, tok.agent, conv.ID, ""); len(msgs) != 1 {
			t.Fatalf("thread after 10 concurrent deliveries has %d entries, want 1: %+v", len(msgs), msgs)
		}
		// Other messages, then the same delivery again.
		twilioSMS(t, demoWS, twilioSMSForm(phone, "Second "+uniq()))
		twilioSMS(t, demoWS, twilioSMSForm(phone, "Third "+uniq()))
		twilioSMS(t, demoWS, form)
		msgs := listMessages(t, tok.agent, conv.ID, "")
		oneByProvider(t, msgs, form.Get("MessageSid"))
		if len(msgs) != 3 {
			t.Errorf("thread has %d entries, want 3", len(msgs))
		}
		if got := threadOfPhone(t, phone); got.ID != conv.ID {
			t.Errorf("the redelivery made thread %s, want %s", got.ID, conv.ID)
		}
	})

	t.Run("after twenty other messages", func(t *testing.T) {
		t.Parallel()
		// Providers retry for a long time (Meta for days), while a busy
		// thread moves on.
		// Twilio sends no timestamp, so its ids are remembered by the
		// conversation (its last 20 keyed entries); Twilio retries within
		// seconds, never after a 2xx.
		phone := newPhone(t)
		form := twilioSMSForm(phone, "Retried late "+uniq())
		twilioSMS(t, demoWS, form)
		for range 15 {
			twilioSMS(t, demoWS, twilioSMSForm(phone, "Meanwhile "+uniq()))
		}
		twilioSMS(t, demoWS, form)
		msgs := listMessages(t, tok.agent, threadOfPhone(t, phone).ID, "limit=100")
		if n := len(byProvider(msgs, form.Get("MessageSid"))); n != 1 {
			t.Errorf("a redelivery after 15 newer messages was filed %d times, want once", n)
		}
	})

	t.Run("meta redelivery days later after many messages", func(t *testing.T) {
		// Meta retries for days; its messages carry a timestamp, which makes
		// the message id reproducible, so the check does not depend on how
		// many messages came in between.
		phone := newPhone(t)
		first, wamid := whatsAppText(phone, "Late Retry", "First "+uniq())
		metaDeliver(t, demoWS, first)
		for range 25 {
			body, _ := whatsAppText(phone, "Late Retry", "Meanwhile "+uniq())
			metaDeliver(t, demoWS, body)
		}
		metaDeliver(t, demoWS, first)
		msgs := listMessages(t, tok.agent, threadOfPhone(t, phone).ID, "limit=100")
		if n := len(byProvider(msgs, wamid)); n != 1 {
			t.Errorf("a WhatsApp redelivery after 25 newer messages was filed %d times, want once", n)
		}
	})

	t.Run("meta", func(t *testing.T) {
		t.Parallel()
		phone := newPhone(t)
		body, wamid := whatsAppText(phone, "Dup", "Ten times on WhatsApp "+uniq())
		statuses := deliverConcurrently(t, 10, func() (*reply, error) {
			return send(t, "POST", "/webhooks/"+demoWS+"/meta", "", body,
				"Content-Type", "application/json", "X-Hub-Signature-256", signing.Meta(metaAppSecret, body))
		})
		wantAll(t, statuses, http.StatusOK)
		metaDeliver(t, demoWS, body)
		msgs := listMessages(t, tok.agent, threadOfPhone(t, phone).ID, "")
		oneByProvider(t, msgs, wamid)
		if len(msgs) != 1 {
			t.Errorf("thread has %d entries, want 1", len(msgs))
		}
	})

	t.Run("ses", func(t *testing.T) {
		t.Parallel()
		from := "dup." + uniq() + "@example.net"
		id := uniq() + "." + uniq() + "@mail.example.net"
		note := sesNotification(t, rawEmail("Dee Dup", from, id, "", "Hello", "Once, please."), from, passAll)
		statuses := deliverConcurrently(t, 5, func() (*reply, error) {
			return send(t, "POST", "/webhooks/"+demoWS+"/email", "", mustJSON(note), "Content-Type", "text/plain; charset=UTF-8")
		})
		wantAll(t, statuses, http.StatusNoContent)
		msgs := listMessages(t, tok.agent, threadOfEmail(t, from).ID, "")
		oneByProvider(t, msgs, id)
		if len(msgs) != 1 {
			t.Errorf("thread has %d entries, want 1", len(msgs))
		}
	})
}

// deliverConcurrently runs n identical deliveries at once and returns
// their statuses.
func deliverConcurrently(t *testing.T, n int, post func() (*reply, error)) []int {
	t.Helper()
	statuses := make([]int, n)
	for i, r := range concurrently(t, n, func(int) (*reply, error) { return post() }) {
		if r == nil {
			continue
		}
		statuses[i] = r.Status
		if r.Status/100 != 2 {
			t.Logf("delivery %d: %s", i, r)
		}
	}
	return statuses
}

func wantAll(t *testing.T, statuses []int, status int) {
	t.Helper()
	for i, s := range statuses {
		if s != status {
			t.Errorf("delivery %d answered %d, want %d (a provider would retry, but nothing may fail here)", i, s, status)
		}
	}
}

// A webhook whose signature is missing or wrong is refused with 403 and
// stores nothing: not in an existing thread, and no contact for a new
// sender.
func TestWebhookBadSignatures(t *testing.T) {
	t.Parallel()

	t.Run("twilio", func(t *testing.T) {
		t.Parallel()
		phone := newPhone(t)
		twilioSMS(t, demoWS, twilioSMSForm(phone, "Genuine "+uniq()))
		conv := threadOfPhone(t, phone)
		stranger := newPhone(t)
		messagesURL := publicURL + "/webhooks/" + demoWS + "/twilio/messages"
		var refused []string
		for _, c := range []struct {
			name string
			post func(form url.Values) *reply
		}{
			{"tampered body", func(form url.Values) *reply {
				sig := signing.Twilio(twilioAuthToken, messagesURL, form)
				form.Set("Body", "Please refund me twice")
				return twilioPostRaw(t, demoWS, "messages", form.Encode(), sig)
			}},
			{"wrong auth token", func(form url.Values) *reply {
				return twilioPostRaw(t, demoWS, "messages", form.Encode(), signing.Twilio("not-the-token", messagesURL, form))
			}},
			{"missing header", func(form url.Values) *reply {
				return twilioPost(t, demoWS, "messages", form, "X-Twilio-Signature", "")
			}},
			{"signed for another URL", func(form url.Values) *reply {
				return twilioPostRaw(t, demoWS, "messages", form.Encode(), signing.Twilio(twilioAuthToken, publicURL+"/webhooks/"+demoWS+"/twilio/status", form))
			}},
			{"an unsigned second value", func(form url.Values) *reply {
				sig := signing.Twilio(twilioAuthToken, messagesURL, form)
				return twilioPostRaw(t, demoWS, "messages", form.Encode()+"&Body=injected", sig)
			}},
		} {
			for _, from := range []string{phone, stranger} {
				form := twilioSMSForm(from, "Forged "+uniq())
				wantProblem(t, c.post(form), http.StatusForbidden, "forbidden", "")
				refused = append(refused, form.Get("MessageSid"))
			}
		}
		msgs := listMessages(t, tok.agent, conv.ID, "")
		if len(msgs) != 1 {
			t.Errorf("after refused deliveries the thread has %d entries, want 1: %+v", len(msgs), msgs)
		}
		for _, sid := range refused {
			if len(byProvider(msgs, sid)) != 0 {
				t.Errorf("refused delivery %s was filed", sid)
			}
		}
		if after := getConversation(t, tok.agent, conv.ID); after.Version != conv.Version {
			t.Errorf("refused deliveries changed the conversation: version %d -> %d", conv.Version, after.Version)
		}
		if c, ok := contactByPhone(t, stranger); ok {
			t.Errorf("refused deliveries from a new number created contact %+v", c)
		}
	})

	t.Run("meta", func(t *testing.T) {
		t.Parallel()
		phone := newPhone(t)
		body, _ := whatsAppText(phone, "Mallory", "Forged "+uniq())
		tampered := bytes.Replace(body, []byte("Forged"), []byte("Faked!"), 1)
		for _, c := range []struct {
			name, sig string
			body      []byte
		}{
			{"tampered body", signing.Meta(metaAppSecret, body), tampered},
			{"wrong app secret", signing.Meta("not-the-secret", body), body},
			{"missing header", "", body},
			{"no sha256= prefix", strings.TrimPrefix(signing.Meta(metaAppSecret, body), "sha256="), body},
		} {
			r := do(t, "POST", "/webhooks/"+demoWS+"/meta", "", c.body, "Content-Type", "application/json", "X-Hub-Signature-256", c.sig)
			wantProblem(t, r, http.StatusForbidden, "forbidden", "")
		}
		if c, ok := contactByPhone(t, phone); ok {
			t.Errorf("refused Meta deliveries created contact %+v", c)
		}
	})

	t.Run("sns", func(t *testing.T) {
		t.Parallel()
		from := "forged." + uniq() + "@example.net"
		raw := rawEmail("Mallory", from, uniq()+"@example.net", "", "Hi", "Forged")
		otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			name   string
			forge  func(m *email.SNSMessage)
			resign bool
		}{
			{"tampered message", func(m *email.SNSMessage) { m.Message = strings.Replace(m.Message, `"PASS"`, `"FAIL"`, 1) }, false},
			{"another key", func(m *email.SNSMessage) { signSNS(t, m, otherKey) }, false},
			{"another topic", func(m *email.SNSMessage) { m.TopicArn = "arn:aws:sns:us-east-1:999999999999:someone-elses-topic" }, true},
			{"an untrusted certificate URL", func(m *email.SNSMessage) {
				m.SigningCertURL = "https://sns.us-east-1.amazonaws.com.evil.example/cert.pem"
			}, true},
			{"an unsupported signature version", func(m *email.SNSMessage) { m.SignatureVersion = "3" }, false},
		} {
			m := sesNotification(t, raw, from, passAll)
			c.forge(m)
			if c.resign {
				signSNS(t, m, nil)
			}
			wantProblem(t, snsPost(t, demoWS, m), http.StatusForbidden, "forbidden", "")
		}
		if c, ok := contactByEmail(t, from); ok {
			t.Errorf("refused SNS deliveries created contact %+v", c)
		}
	})
}

// A workspace that does not exist (or has no such provider) answers 404
// with the same body as a path that does not exist, whatever the
// signature: a probe learns nothing.
func TestWebhookUnknownWorkspace(t *testing.T) {
	t.Parallel()
	ws := "no-such-ws-" + uniq()
	status, want := probe(t, "POST", "/webhooks/"+demoWS+"/no-such-provider", []byte("x=1"), "Content-Type", "application/x-www-form-urlencoded")
	if status != http.StatusNotFound {
		t.Fatalf("unknown path: %d %s, want 404", status, want)
	}
	phone := newPhone(t)
	body, _ := whatsAppText(phone, "Probe", "Hello?")
	q := url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {metaVerifyToken}, "hub.challenge": {"1"}}
	for _, r := range []*reply{
		twilioPost(t, ws, "messages", twilioSMSForm(phone, "Hello?")),
		twilioPost(t, ws, "status", url.Values{"MessageSid": {twilioSID("SM")}, "MessageStatus": {"delivered"}}),
		twilioPost(t, ws, "calls", twilioCallForm(phone, "completed", 5, "")),
		metaPost(t, ws, body),
		do(t, "GET", "/webhooks/"+ws+"/meta?"+q.Encode(), "", nil),
		snsPost(t, ws, sesNotification(t, rawEmail("P", "p@example.net", uniq()+"@x", "", "s", "b"), "p@example.net", passAll)),
		do(t, "POST", "/chat/"+ws+"/sessions", "", nil),
	} {
		p := wantProblem(t, r, http.StatusNotFound, "not_found", "")
		if strings.Contains(string(r.Body), ws) || strings.Contains(p.Detail, "workspace") {
			t.Errorf("%s: the answer names the workspace: %s", r, r.Body)
		}
		if !bytes.Equal(r.Body, want) {
			t.Errorf("%s: body %s differs from an unknown path's %s", r, r.Body, want)
		}
	}
	if c, ok := contactByPhone(t, phone); ok {
		t.Errorf("a delivery to an unknown workspace created contact %+v in demo", c)
	}
}

// A correctly signed body that is not what the provider sends is a 400,
// and nothing is stored.
func TestWebhookMalformed(t *testing.T) {
	t.Parallel()
	phone := newPhone(t)
	noSid := twilioSMSForm(phone, "No id")
	noSid.Del("MessageSid")
	badFrom := twilioSMSForm(phone, "Bad from")
	badFrom.Set("From", "client:alice")
	badMedia := twilioSMSForm(phone, "Bad media")
	badMedia.Set("NumMedia", "1")
	badMedia.Set("MediaUrl0", "http://insecure.example/a.jpg")
	badMedia.Set("MediaContentType0", "image/jpeg")
	for _, form := range []url.Values{noSid, badFrom, badMedia} {
		wantProblem(t, twilioPost(t, demoWS, "messages", form), http.StatusBadRequest, "invalid", "")
	}
	wantProblem(t, twilioPost(t, demoWS, "status", url.Values{"MessageSid": {twilioSID("SM")}, "MessageStatus": {"teleported"}}), http.StatusBadRequest, "invalid", "")
	wantProblem(t, twilioPost(t, demoWS, "calls", twilioCallForm(phone, "exploded", 1, "")), http.StatusBadRequest, "invalid", "")
	// A signed form sent as JSON is not a Twilio webhook.
	good := twilioSMSForm(phone, "As JSON")
	wantProblem(t, twilioPost(t, demoWS, "messages", good, "Content-Type", "application/json"), http.StatusBadRequest, "invalid", "")

	for _, body := range []string{`not json`, `{"object":"telegram","entry":[]}`, `[]`} {
		wantProblem(t, metaPost(t, demoWS, []byte(body)), http.StatusBadRequest, "invalid", "")
	}

	notSES := &email.SNSMessage{Type: "Notification", MessageID: uuid(), TopicArn: snsTopicARN, Message: "hello",
		Timestamp: time.Now().UTC().Format(time.RFC3339), SignatureVersion: "2", SigningCertURL: snsCertURL}
	signSNS(t, notSES, nil)
	wantProblem(t, snsPost(t, demoWS, notSES), http.StatusBadRequest, "invalid", "")
	wantProblem(t, snsPostRaw(t, demoWS, []byte("not json"), "Notification"), http.StatusBadRequest, "invalid", "")
	unsigned := *notSES
	unsigned.Signature = ""
	wantProblem(t, snsPost(t, demoWS, &unsigned), http.StatusBadRequest, "invalid", "")
	// A notification naming a raw message that is not MIME.
	from := "garbled." + uniq() + "@example.net"
	wantProblem(t, snsPost(t, demoWS, sesNotification(t, []byte("\x00\x01 not a message"), from, passAll)), http.StatusBadRequest, "invalid", "")

	if c, ok := contactByPhone(t, phone); ok {
		t.Errorf("malformed deliveries created contact %+v", c)
	}
	if c, ok := contactByEmail(t, from); ok {
		t.Errorf("a malformed email created contact %+v", c)
	}
}

// Bodies over a provider's limit are refused with 413 before they are
// parsed; a body at the limit is read.
func TestWebhookBodyLimits(t *testing.T) {
	t.Parallel()

	t.Run("twilio 64 KB", func(t *testing.T) {
		t.Parallel()
		phone := newPhone(t)
		padded := func(size int) url.Values {
			form := twilioSMSForm(phone, "Padded "+uniq())
			form.Set("Pad", "")
			form.Set("Pad", strings.Repeat("a", size-len(form.Encode())))
			if n := len(form.Encode()); n != size {
				t.Fatalf("padded form is %d bytes, want %d", n, size)
			}
			return form
		}
		at := padded(64 << 10)
		twilioSMS(t, demoWS, at)
		over := padded(64<<10 + 1)
		wantProblem(t, twilioPost(t, demoWS, "messages", over), http.StatusRequestEntityTooLarge, "too_large", "")
		msgs := listMessages(t, tok.agent, threadOfPhone(t, phone).ID, "")
		if len(msgs) != 1 || msgs[0].ProviderID != at.Get("MessageSid") {
			t.Errorf("thread = %+v, want only the message at the limit", msgs)
		}
	})

	t.Run("meta 1 MB", func(t *testing.T) {
		t.Parallel()
		padded := func(size int) []byte {
			head := `{"object":"whatsapp_business_account","entry":[],"pad":"`
			return []byte(head + strings.Repeat("a", size-len(head)-2) + `"}`)
		}
		metaDeliver(t, demoWS, padded(1<<20))
		wantProblem(t, metaPost(t, demoWS, padded(1<<20+1)), http.StatusRequestEntityTooLarge, "too_large", "")
	})

	t.Run("sns 256 KB", func(t *testing.T) {
		t.Parallel()
		from := "big." + uniq() + "@example.net"
		id := uniq() + "@example.net"
		note := mustJSON(sesNotification(t, rawEmail("Big", from, id, "", "Padded", "Whitespace is not signed"), from, passAll))
		pad := func(size int) []byte { return append(bytes.Clone(note), bytes.Repeat([]byte(" "), size-len(note))...) }
		wantProblem(t, snsPostRaw(t, demoWS, pad(256<<10+1), "Notification"), http.StatusRequestEntityTooLarge, "too_large", "")
		if c, ok := contactByEmail(t, from); ok {
			t.Fatalf("an oversized notification was filed: contact %+v", c)
		}
		wantStatus(t, snsPostRaw(t, demoWS, pad(256<<10), "Notification"), http.StatusNoContent)
		oneByProvider(t, listMessages(t, tok.agent, threadOfEmail(t, from).ID, ""), id)
	})
}

// An inbound message brings a finished, archived conversation back: open,
// in the inbox and unread.
func TestInboundReopensAndMarksUnread(t *testing.T) {
	t.Parallel()
	phone := newPhone(t)
	first := twilioSMSForm(phone, "First "+uniq())
	twilioSMS(t, demoWS, first)
	conv := threadOfPhone(t, phone)
	if conv.Status != "open" || conv.Archived || !conv.Unread || conv.Preview != first.Get("Body") || conv.LastMessageDirection != "in" {
		t.Fatalf("new thread = %+v, want open, active and unread with the message as preview", conv)
	}
	// Read, then an inbound message: unread again.
	if c := action(t, tok.agent, conv.ID, "read"); c.Unread {
		t.Fatalf("after read: %+v", c)
	}
	twilioSMS(t, demoWS, twilioSMSForm(phone, "Are you there? "+uniq()))
	if c := getConversation(t, tok.agent, conv.ID); !c.Unread {
		t.Errorf("after an inbound message: unread = false, want true")
	}
	// Completed, read and archived: out of the inbox.
	action(t, tok.agent, conv.ID, "complete")
	action(t, tok.agent, conv.ID, "read")
	done := action(t, tok.agent, conv.ID, "archive")
	if done.Status != "complete" || !done.Archived || done.Unread {
		t.Fatalf("after complete, read, archive: %+v", done)
	}
	if convIDs(listInbox(t, tok.agent, "status=complete"))[conv.ID] {
		t.Fatal("an archived conversation is listed in the inbox")
	}
	again := twilioSMSForm(phone, "Actually, one more thing "+uniq())
	twilioSMS(t, demoWS, again)
	back := getConversation(t, tok.agent, conv.ID)
	if back.Status != "open" || back.Archived || !back.Unread || back.Preview != again.Get("Body") {
		t.Errorf("after an inbound message: %+v, want open, unarchived and unread", back)
	}
	if got := inboxWithPreview(t, again.Get("Body")); got.ID != conv.ID {
		t.Errorf("inbox shows %s for the message, want %s", got.ID, conv.ID)
	}
	if threadOfPhone(t, phone).ID != conv.ID {
		t.Error("the message started a new thread instead of reopening")
	}
}

// Carrier keywords are whole messages: STOP (any case, padded) opts the
// contact out of SMS, START back in, each with a note in the thread; HELP
// queues the help reply; a sentence containing "stop" is a message.
func TestSMSKeywords(t *testing.T) {
	t.Parallel()
	phone := newPhone(t)
	twilioSMS(t, demoWS, twilioSMSForm(phone, "Hello "+uniq()))
	contact, _ := contactByPhone(t, phone)
	if s := contact.Consent["sms"].Status; s == "opted_out" {
		t.Fatalf("a new contact is opted out: %+v", contact.Consent)
	}
	conv := threadOfPhone(t, phone)

	twilioSMS(t, demoWS, twilioSMSForm(phone, "please stop"))
	if c := getContact(t, tok.agent, contact.ID); c.Consent["sms"].Status == "opted_out" {
		t.Errorf(`"please stop" opted the contact out: %+v`, c.Consent)
	}

	stop := twilioSMSForm(phone, " stop ")
	twilioSMS(t, demoWS, stop)
	c := getContact(t, tok.agent, contact.ID)
	if cc := c.Consent["sms"]; cc.Status != "opted_out" || cc.Source != "keyword" || cc.ChangedBy != "" || cc.ChangedAt.IsZero() {
		t.Errorf("sms consent after STOP = %+v, want opted_out by keyword", cc)
	}
	twilioSMS(t, demoWS, stop) // Twilio retries: still one note
	notes := activities(listMessages(t, tok.agent, conv.ID, ""))
	if len(notes) != 1 || !strings.Contains(notes[0].Body, "opted out of SMS by replying STOP") ||
		notes[0].Channel != "" || notes[0].Direction != "" || notes[0].Internal || notes[0].Status != "received" {
		t.Errorf("activity entries after STOP = %+v, want one opt-out note", notes)
	}

	twilioSMS(t, demoWS, twilioSMSForm(phone, "START"))
	c = getContact(t, tok.agent, contact.ID)
	if cc := c.Consent["sms"]; cc.Status != "opted_in" || cc.Source != "keyword" {
		t.Errorf("sms consent after START = %+v, want opted_in by keyword", cc)
	}
	msgs := listMessages(t, tok.agent, conv.ID, "")
	if notes := activities(msgs); len(notes) != 2 || !strings.Contains(notes[1].Body, "opted back in to SMS by replying START") {
		t.Errorf("activity entries after START = %+v", notes)
	}
	// "please stop" stayed an ordinary message.
	for _, m := range msgs {
		if m.Body == "please stop" && (m.Kind != "message" || m.Channel != "sms") {
			t.Errorf(`"please stop" = %+v, want an ordinary sms`, m)
		}
	}

	// HELP, with the demo workspace's help text (the default unless set).
	ws := wantJSON[Workspace](t, do(t, "GET", "/workspace", tok.agent, nil), http.StatusOK)
	want := ws.Settings.HelpReply
	if want == "" {
		want = "Reply STOP to unsubscribe, START to resubscribe. Msg & data rates may apply."
	}
	help := twilioSMSForm(phone, "Help")
	twilioSMS(t, demoWS, help)
	checkHelpReply(t, tok.agent, conv.ID, help.Get("MessageSid"), want)
}

func activities(msgs []Message) []Message {
	var out []Message
	for _, m := range msgs {
		if m.Kind == "activity" {
			out = append(out, m)
		}
	}
	return out
}

// checkHelpReply finds the reply filed right after a HELP message.
func checkHelpReply(t *testing.T, token, convID, helpSid, want string) {
	t.Helper()
	msgs := listMessages(t, token, convID, "")
	for i, m := range msgs {
		if m.ProviderID != helpSid {
			continue
		}
		if i+1 >= len(msgs) {
			t.Fatalf("no entry after HELP in %+v", msgs)
		}
		r := msgs[i+1]
		// The sender picks it up within a moment, so it may be on its way.
		if r.Kind != "message" || r.Direction != "out" || r.Channel != "sms" || !containsStr([]string{"queued", "sending", "sent"}, r.Status) || r.Body != want || r.ContactID == "" {
			t.Errorf("reply to HELP = %+v, want an outbound sms %q, queued or sent", r, want)
		}
		return
	}
	t.Fatalf("HELP message %s not in the thread", helpSid)
}

// callRecording and helpReply reach the webhooks. They run in settingsWS,
// a workspace of their own, because webhooks cache settings for a minute:
// demo keeps callRecording off throughout the run, settingsWS turns it on
// before its first call.
func TestWorkspaceSettingsOnWebhooks(t *testing.T) {
	t.Parallel()
	if r := twilioPostRaw(t, settingsWS, "calls", "x=1", "bad"); r.Status == http.StatusNotFound {
		t.Skipf("the server has no provider secrets for %s", settingsWS)
	}
	const recording = "https://api.twilio.com/2010-04-01/Accounts/ACd16c3a35ed0e2b33ff27d4d3ca80aa23/Recordings/RE0123456789abcdef0123456789abcdef"

	// Off (demo, as seeded): the link is dropped.
	if ws := wantJSON[Workspace](t, do(t, "GET", "/workspace", tok.agent, nil), http.StatusOK); ws.Settings.CallRecording {
		t.Fatal("the demo workspace has callRecording on; this suite expects it off")
	}
	offPhone := newPhone(t)
	off := twilioCallForm(offPhone, "completed", 75, recording)
	wantStatus(t, twilioPost(t, demoWS, "calls", off), http.StatusNoContent)
	m := oneByProvider(t, listMessages(t, tok.agent, threadOfPhone(t, offPhone).ID, ""), off.Get("CallSid"))
	if m.Call == nil || m.Call.RecordingURL != "" || m.Call.DurationSeconds != 75 || m.Body != "Inbound call, 1m 15s" {
		t.Errorf("call with callRecording off = %+v (call %+v), want 75 s and no recording", m, m.Call)
	}

	// On (settingsWS), with a help text of its own.
	// The same text every run: a rerun against the same server within the
	// minute the webhooks cache settings must expect what they cached.
	const helpText = "E2E Co: reply STOP to opt out. Help: support@e2e.example"
	ws := wantJSON[Workspace](t, do(t, "PATCH", "/workspace", tok.settingsAdmin, map[string]any{"callRecording": true, "helpReply": helpText}), http.StatusOK)
	if !ws.Settings.CallRecording || ws.Settings.HelpReply != helpText {
		t.Fatalf("PATCH /workspace = %+v", ws.Settings)
	}
	wantProblem(t, do(t, "PATCH", "/workspace", tok.settingsAdmin, map[string]any{"helpReply": strings.Repeat("x", 321)}), http.StatusBadRequest, "invalid", "helpReply")

	onPhone := newPhone(t)
	on := twilioCallForm(onPhone, "completed", 192, recording)
	wantStatus(t, twilioPost(t, settingsWS, "calls", on), http.StatusNoContent)
	found := searchContacts(t, tok.settingsAdmin, url.Values{"phone": {onPhone}})
	if len(found) != 1 {
		t.Fatalf("contacts for %s in %s: %+v", onPhone, settingsWS, found)
	}
	m = oneByProvider(t, listMessages(t, tok.settingsAdmin, found[0].ConversationID, ""), on.Get("CallSid"))
	if m.Call == nil || m.Call.RecordingURL != recording || m.Call.DurationSeconds != 192 {
		t.Errorf("call with callRecording on = %+v (call %+v), want the recording link", m, m.Call)
	}
	// Calls that did not connect have no duration.
	missed := twilioCallForm(onPhone, "no-answer", 0, "")
	wantStatus(t, twilioPost(t, settingsWS, "calls", missed), http.StatusNoContent)
	m = oneByProvider(t, listMessages(t, tok.settingsAdmin, found[0].ConversationID, ""), missed.Get("CallSid"))
	if m.Call == nil || m.Call.Status != "no-answer" || m.Body != "Missed inbound call (no-answer)" {
		t.Errorf("missed call = %+v (call %+v)", m, m.Call)
	}
	// Interim statuses are not call entries.
	ringing := twilioCallForm(onPhone, "ringing", 0, "")
	wantStatus(t, twilioPost(t, settingsWS, "calls", ringing), http.StatusNoContent)
	if n := len(byProvider(listMessages(t, tok.settingsAdmin, found[0].ConversationID, ""), ringing.Get("CallSid"))); n != 0 {
		t.Errorf("a ringing callback made %d entries, want none", n)
	}

	help := twilioSMSForm(onPhone, "HELP")
	twilioSMS(t, settingsWS, help)
	checkHelpReply(t, tok.settingsAdmin, found[0].ConversationID, help.Get("MessageSid"), helpText)
}

// Email threads by its In-Reply-To when SES saw SPF or DKIM pass, even
// from another sender; with both failing, the header is ignored and the
// email threads by its sender.
func TestEmailThreading(t *testing.T) {
	t.Parallel()
	u := uniq()
	ann := "ann." + u + "@example.net"
	annID := "ann-" + u + "@mail.example.net"
	deliverEmail(t, rawEmail("Ann Asker", ann, annID, "", "Order question", "Where is order 77?"), ann, passAll)
	thread := threadOfEmail(t, ann)
	oneByProvider(t, listMessages(t, tok.agent, thread.ID, ""), annID)

	// A colleague replies to Ann's email from another address: even
	// authenticated, an address that is not Ann's does not write in Ann's
	// thread as Ann (issue 9); it gets a thread of its own.
	bob := "bob." + u + "@example.org"
	bobID := "bob-" + u + "@mail.example.org"
	deliverEmail(t, rawEmail("Bob Colleague", bob, bobID, annID, "Re: Order question", "Adding that it was a gift."), bob, passAll)
	if n := len(byProvider(listMessages(t, tok.agent, thread.ID, ""), bobID)); n != 0 {
		t.Errorf("a reply from another address joined Ann's thread")
	}
	m := oneByProvider(t, listMessages(t, tok.agent, threadOfEmail(t, bob).ID, ""), bobID)
	if m.Email == nil || m.Email.InReplyTo != annID || m.ContactID == thread.ContactID || m.Channel != "email" {
		t.Errorf("colleague's reply = %+v (email %+v), want it in Bob's own thread, replying to %s", m, m.Email, annID)
	}

	// The same header from a sender SES could not authenticate is ignored.
	eve := "eve." + u + "@example.com"
	eveID := "eve-" + u + "@mail.example.com"
	deliverEmail(t, rawEmail("Eve", eve, eveID, annID, "Re: Order question", "Please send the refund to me."), eve, verdicts{"FAIL", "FAIL", "FAIL"})
	if n := len(byProvider(listMessages(t, tok.agent, thread.ID, ""), eveID)); n != 0 {
		t.Fatalf("an unauthenticated email with In-Reply-To joined Ann's thread")
	}
	own := threadOfEmail(t, eve)
	m = oneByProvider(t, listMessages(t, tok.agent, own.ID, ""), eveID)
	if own.ID == thread.ID || (m.Email != nil && m.Email.InReplyTo != "") {
		t.Errorf("unauthenticated reply = %+v (email %+v) in %s, want its own thread and the header dropped", m, m.Email, own.ID)
	}
}

// Changes become domain events, which the local stack's stream poller
// publishes on its in-process bus (GET /dev/events).
func TestDomainEvents(t *testing.T) {
	t.Parallel()
	phone := newPhone(t)
	twilioSMS(t, demoWS, twilioSMSForm(phone, "Event me "+uniq()))
	conv := threadOfPhone(t, phone)
	msg := listMessages(t, tok.agent, conv.ID, "")[0]
	e := waitEvent(t, demoWS, "message.received", func(e DomainEvent) bool { return e.Type == "message.received" && e.MessageID == msg.ID })
	if e.ConversationID != conv.ID || e.ContactID != conv.ContactID || e.Channel != "sms" || e.Kind != "message" || e.Body != msg.Body || e.ID == "" {
		t.Errorf("message.received = %+v, want message %s of %s on sms", e, msg.ID, conv.ID)
	}

	twilioSMS(t, demoWS, twilioSMSForm(phone, "STOP"))
	e = waitEvent(t, demoWS, "contact.opted_out", func(e DomainEvent) bool { return e.Type == "contact.opted_out" && e.ContactID == conv.ContactID })
	if e.Channel != "sms" || e.Source != "keyword" {
		t.Errorf("contact.opted_out = %+v, want channel sms, source keyword", e)
	}

	action(t, tok.agent, conv.ID, "complete")
	twilioSMS(t, demoWS, twilioSMSForm(phone, "Reopen please "+uniq()))
	waitEvent(t, demoWS, "conversation.reopened", func(e DomainEvent) bool {
		return e.Type == "conversation.reopened" && e.ConversationID == conv.ID && e.ContactID == conv.ContactID
	})
	// One message.received per inbound message (three here), however the
	// stream is polled.
	events := wantJSON[Page[DomainEvent]](t, do(t, "GET", "/dev/events?workspace="+demoWS, "", nil), http.StatusOK)
	counts := map[string]int{}
	for _, e := range events.Items {
		if e.ConversationID == conv.ID {
			counts[e.Type]++
		}
	}
	if counts["message.received"] > 3 {
		t.Errorf("events for the thread: %v, want at most one message.received per inbound message", counts)
	}
}

// Status callbacks move only messages Parley sent and knows by provider
// id. One that names an inbound message, or an id Parley never saw,
// changes nothing, even a carrier opt-out (Twilio error 21610).
func TestStatusCallbacksForUnknownMessages(t *testing.T) {
	t.Parallel()
	phone := newPhone(t)
	in := twilioSMSForm(phone, "Inbound, not sent "+uniq())
	twilioSMS(t, demoWS, in)
	conv := threadOfPhone(t, phone)
	for _, form := range []url.Values{
		{"MessageSid": {in.Get("MessageSid")}, "MessageStatus": {"delivered"}, "AccountSid": {in.Get("AccountSid")}},
		{"MessageSid": {in.Get("MessageSid")}, "MessageStatus": {"undelivered"}, "ErrorCode": {"21610"}, "AccountSid": {in.Get("AccountSid")}},
		{"MessageSid": {twilioSID("SM")}, "MessageStatus": {"failed"}, "ErrorCode": {"21610"}, "To": {phone}, "From": {ourNumber}},
		{"MessageSid": {twilioSID("MM")}, "MessageStatus": {"sending"}},
	} {
		wantStatus(t, twilioPost(t, demoWS, "status", form), http.StatusNoContent)
	}
	msgs := listMessages(t, tok.agent, conv.ID, "")
	if len(msgs) != 1 || msgs[0].Status != "received" || msgs[0].Error != nil {
		t.Errorf("thread = %+v, want the inbound message unchanged", msgs)
	}
	if after := getConversation(t, tok.agent, conv.ID); after.Version != conv.Version {
		t.Errorf("status callbacks changed the conversation: version %d -> %d", conv.Version, after.Version)
	}
	if c, _ := contactByPhone(t, phone); c.Consent["sms"].Status == "opted_out" {
		t.Errorf("a 21610 callback for a message Parley did not send opted the contact out: %+v", c.Consent)
	}
}

// SNS retries only 5xx (and 429) answers, dropping a message answered with
// any other 4xx. A notification whose raw message cannot be read yet must
// therefore be answered so that SNS tries again, and nothing is filed.
func TestEmailWithUnreadableRawMessage(t *testing.T) {
	t.Parallel()
	from := "missing." + uniq() + "@example.net"
	m := sesNotification(t, rawEmail("Mia Missing", from, uniq()+"@mail.example.net", "", "Hello", "Lost?"), from, passAll)
	m.Message = strings.Replace(m.Message, `"objectKey":"inbound/`, `"objectKey":"inbound/not-stored-`, 1)
	signSNS(t, m, nil)
	r := snsPost(t, demoWS, m)
	if c, ok := contactByEmail(t, from); ok {
		t.Errorf("an email whose raw message is missing was filed: contact %+v", c)
	}
	if r.Status == http.StatusNotFound {
		t.Skipf("server bug: %s; a raw message that is not (yet) in S3 is answered 404, which SNS treats as final, "+
			"so the email is lost; want a 5xx (503) so SNS redelivers", r)
	}
	if r.Status < 500 {
		t.Errorf("%s: want a 5xx so that SNS redelivers", r)
	}
}
