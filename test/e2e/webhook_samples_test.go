package e2e_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/parley-inbox/parley/shared/adapter/email"
	"github.com/parley-inbox/parley/shared/dev/signing"
)

// samplesURL is the public URL the samples in events/ are signed for.
const samplesURL = "https://api.parley.example"

// The suite's signers reproduce the signatures of the samples in events/,
// so the fresh deliveries the other tests build are signed exactly as the
// providers sign.
func TestSignersMatchSamples(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"twilio-sms-inbound", "twilio-mms-inbound", "twilio-sms-stop", "twilio-call-completed", "twilio-call-no-answer", "twilio-sms-status-delivered", "twilio-sms-status-failed"} {
		s := loadSample(t, name)
		form, err := url.ParseQuery(string(s.Body))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got, want := signing.Twilio(twilioAuthToken, samplesURL+s.Path, form), s.Header["x-twilio-signature"]; got != want {
			t.Errorf("%s: Twilio signature %s, the sample has %s", name, got, want)
		}
	}
	for _, name := range []string{"meta-whatsapp-text", "meta-whatsapp-image", "meta-messenger-message", "meta-instagram-message", "meta-messenger-delivery", "meta-whatsapp-status-failed"} {
		s := loadSample(t, name)
		if got, want := signing.Meta(metaAppSecret, s.Body), s.Header["x-hub-signature-256"]; got != want {
			t.Errorf("%s: Meta signature %s, the sample has %s", name, got, want)
		}
	}
	for _, name := range []string{"ses-sns-subscription-confirmation", "ses-sns-inbound", "ses-sns-inbound-new-sender"} {
		var m email.SNSMessage
		if err := json.Unmarshal(loadSample(t, name).Body, &m); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want := m.Signature
		signSNS(t, &m, nil) // PKCS #1 v1.5 signatures are deterministic
		if m.Signature != want {
			t.Errorf("%s: SNS signature (version %s) differs from the sample's", name, m.SignatureVersion)
		}
	}
}

// Every signed sample in events/, replayed over HTTP exactly as make invoke
// posts it, lands where it should and shows through the API. The samples
// share one phone number (and so one thread), so they run in order.
func TestSampleReplays(t *testing.T) {
	t.Parallel()
	if publicURL != samplesURL {
		t.Skipf("the server's public URL is %s; the samples are signed for %s", publicURL, samplesURL)
	}
	const phone = "+14155550142"
	thread := func(t *testing.T) (Conversation, []Message) {
		t.Helper()
		conv := threadOfPhone(t, phone)
		return conv, listMessages(t, tok.agent, conv.ID, "limit=100")
	}

	t.Run("twilio sms", func(t *testing.T) {
		wantTwiML(t, replay(t, "twilio-sms-inbound"))
		conv, msgs := thread(t)
		m := oneByProvider(t, msgs, "SMfc190b21b9eaf768b17cd2884cef5f1e")
		contact, _ := contactByPhone(t, phone)
		if m.Kind != "message" || m.Direction != "in" || m.Channel != "sms" || m.Status != "received" ||
			m.Body != "Hi, is my order #1042 ready for pickup?" || m.ContactID != contact.ID || m.ConversationID != conv.ID {
			t.Errorf("filed SMS = %+v, want an inbound sms from contact %s", m, contact.ID)
		}
		if !containsStr(conv.Channels, "sms") || conv.LastInboundAt["sms"].IsZero() {
			t.Errorf("conversation = %+v, want channel sms and lastInboundAt.sms", conv)
		}
		// A redelivery is the same message.
		wantTwiML(t, replay(t, "twilio-sms-inbound"))
		_, msgs = thread(t)
		oneByProvider(t, msgs, "SMfc190b21b9eaf768b17cd2884cef5f1e")
	})

	t.Run("twilio mms with two attachments", func(t *testing.T) {
		wantTwiML(t, replay(t, "twilio-mms-inbound"))
		conv, msgs := thread(t)
		m := oneByProvider(t, msgs, "MM495c312218502a49cfc3dafffe5c5552")
		if m.Channel != "mms" || m.Body != "Here's the damaged box & the label" || len(m.Attachments) != 2 {
			t.Fatalf("filed MMS = %+v, want channel mms with 2 attachments", m)
		}
		for i, ct := range []string{"image/jpeg", "image/png"} {
			a := m.Attachments[i]
			if a.ContentType != ct || !strings.HasPrefix(a.URL, "https://api.twilio.com/2010-04-01/Accounts/") || !strings.Contains(a.URL, "/Media/ME") {
				t.Errorf("attachment %d = %+v, want %s at Twilio's media URL", i, a, ct)
			}
		}
		if !containsStr(conv.Channels, "mms") {
			t.Errorf("channels = %v, want mms among them", conv.Channels)
		}
	})

	t.Run("twilio call completed", func(t *testing.T) {
		wantStatus(t, replay(t, "twilio-call-completed"), http.StatusNoContent)
		conv, msgs := thread(t)
		m := oneByProvider(t, msgs, "CA3e6043596534c973a0fe8fb53c07df30")
		if m.Kind != "call" || m.Channel != "" || m.Body != "Inbound call, 3m 12s" || m.Call == nil ||
			m.Call.Direction != "in" || m.Call.Status != "completed" || m.Call.DurationSeconds != 192 {
			t.Fatalf("call entry = %+v (call %+v), want a completed inbound call of 192 s without a channel", m, m.Call)
		}
		// The demo workspace keeps callRecording off, so the link is dropped
		// (TestCallRecordingSetting shows the other side).
		if m.Call.RecordingURL != "" {
			t.Errorf("recordingUrl = %q, want none while the workspace's callRecording is off", m.Call.RecordingURL)
		}
		if containsStr(conv.Channels, "") {
			t.Errorf("channels = %q: a call must not add a channel", conv.Channels)
		}
	})

	t.Run("twilio outbound call not answered", func(t *testing.T) {
		wantStatus(t, replay(t, "twilio-call-no-answer"), http.StatusNoContent)
		_, msgs := thread(t)
		m := oneByProvider(t, msgs, "CA9acb45f2b527b31738c0371044e66f96")
		if m.Kind != "call" || m.Body != "Unanswered outbound call (no-answer)" || m.Call == nil || m.Call.Direction != "out" || m.Call.Status != "no-answer" {
			t.Fatalf("call entry = %+v (call %+v), want an unanswered outbound call", m, m.Call)
		}
		if m.Direction != m.Call.Direction {
			t.Errorf("the entry of an outbound call has direction %q while call.direction is %q", m.Direction, m.Call.Direction)
		}
	})

	t.Run("twilio status callbacks for unknown ids", func(t *testing.T) {
		before, msgsBefore := thread(t)
		wantStatus(t, replay(t, "twilio-sms-status-delivered"), http.StatusNoContent)
		wantStatus(t, replay(t, "twilio-sms-status-failed"), http.StatusNoContent)
		after, msgsAfter := thread(t)
		if after.Version != before.Version || len(msgsAfter) != len(msgsBefore) {
			t.Errorf("status callbacks for ids Parley never sent changed the thread: version %d -> %d, %d -> %d entries",
				before.Version, after.Version, len(msgsBefore), len(msgsAfter))
		}
		for i := range msgsAfter {
			if msgsAfter[i].Status != msgsBefore[i].Status || msgsAfter[i].Error != nil {
				t.Errorf("entry %s changed: %+v -> %+v", msgsAfter[i].ID, msgsBefore[i], msgsAfter[i])
			}
		}
	})

	t.Run("twilio stop", func(t *testing.T) {
		wantTwiML(t, replay(t, "twilio-sms-stop"))
		contact, _ := contactByPhone(t, phone)
		if c := contact.Consent["sms"]; c.Status != "opted_out" || c.Source != "keyword" {
			t.Errorf("sms consent after the STOP sample = %+v, want opted_out by keyword", c)
		}
	})

	t.Run("whatsapp text joins the same thread", func(t *testing.T) {
		wantText(t, replay(t, "meta-whatsapp-text"), http.StatusOK, "text/plain")
		conv, msgs := thread(t)
		m := oneByProvider(t, msgs, "wamid.HBgLMTQxNTU1NTAxNDIVAgASGBQ1OEIyQTIwNTVCQjU1QkNCQjM3RAA=")
		if m.Channel != "whatsapp" || m.Direction != "in" || m.Body != "Hi! Do you ship to San José? 🙂" {
			t.Errorf("filed WhatsApp message = %+v", m)
		}
		if !containsStr(conv.Channels, "whatsapp") || !containsStr(conv.Channels, "sms") || conv.LastInboundAt["whatsapp"].IsZero() {
			t.Errorf("conversation = %+v, want sms and whatsapp and a WhatsApp reply window", conv)
		}
	})

	t.Run("whatsapp image", func(t *testing.T) {
		wantText(t, replay(t, "meta-whatsapp-image"), http.StatusOK, "text/plain")
		_, msgs := thread(t)
		m := oneByProvider(t, msgs, "wamid.HBgLMTQxNTU1NTAxNDIVAgASGBREMDY2NTQ4QkJDREVEODA3N0VGQwA=")
		if m.Channel != "whatsapp" || m.Body != "The lid arrived cracked" || len(m.Attachments) != 1 ||
			m.Attachments[0].URL != "https://graph.facebook.com/1503728440715742" || m.Attachments[0].ContentType != "image/jpeg" {
			t.Errorf("filed WhatsApp image = %+v, want the caption and the media id's Graph URL as image/jpeg", m)
		}
	})

	t.Run("whatsapp statuses for unknown ids", func(t *testing.T) {
		before, msgsBefore := thread(t)
		for _, name := range []string{"meta-whatsapp-status-delivered", "meta-whatsapp-status-failed"} {
			if got := wantText(t, replay(t, name), http.StatusOK, "text/plain"); got != "EVENT_RECEIVED" {
				t.Errorf("%s: %q", name, got)
			}
		}
		if after, msgsAfter := thread(t); after.Version != before.Version || len(msgsAfter) != len(msgsBefore) {
			t.Errorf("statuses for unknown wamids changed the thread")
		}
	})

	t.Run("messenger message", func(t *testing.T) {
		wantText(t, replay(t, "meta-messenger-message"), http.StatusOK, "text/plain")
		conv := inboxWithPreview(t, "Is the blue one still available?")
		msgs := listMessages(t, tok.agent, conv.ID, "")
		m := oneByProvider(t, msgs, "m_GbFEZxdbVVmliWKO8ioa5dYh2NdBWflcpjaxvHDRe3vjxJtcoglGK37Ei7o2PJvWP6SC-veN2kNpOylGtAhl_e")
		if m.Channel != "messenger" || len(m.Attachments) != 1 || m.Attachments[0].ContentType != "image/*" ||
			!strings.HasPrefix(m.Attachments[0].URL, "https://scontent.xx.fbcdn.net/") {
			t.Errorf("filed Messenger message = %+v", m)
		}
		if len(conv.Channels) != 1 || conv.Channels[0] != "messenger" {
			t.Errorf("channels = %v, want [messenger]", conv.Channels)
		}
		wantText(t, replay(t, "meta-messenger-delivery"), http.StatusOK, "text/plain")
		contact := getContact(t, tok.agent, conv.ContactID)
		if len(contact.Phones) != 0 || len(contact.Emails) != 0 || contact.ConversationID != conv.ID {
			t.Errorf("Messenger contact = %+v, want no phone or email and the thread %s", contact, conv.ID)
		}
		if !containsStr(contact.Handles, "messenger:25873012456789012") {
			t.Errorf("the Messenger contact's handles are %q, want [messenger:25873012456789012]", contact.Handles)
		}
	})

	t.Run("instagram message", func(t *testing.T) {
		wantText(t, replay(t, "meta-instagram-message"), http.StatusOK, "text/plain")
		conv := inboxWithPreview(t, "Do you have this in size M?")
		msgs := listMessages(t, tok.agent, conv.ID, "")
		// The page's own echo in the same delivery is not filed.
		if len(msgs) != 1 || msgs[0].Channel != "instagram" || msgs[0].Direction != "in" {
			t.Errorf("Instagram thread = %+v, want the one inbound message and not the echo", msgs)
		}
	})

	t.Run("meta verify", func(t *testing.T) {
		if got := wantText(t, replay(t, "meta-verify"), http.StatusOK, "text/plain"); got != "1158201444" {
			t.Errorf("challenge echoed as %q, want 1158201444", got)
		}
		q := url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {"not-the-token"}, "hub.challenge": {"42"}}
		wantProblem(t, do(t, "GET", "/webhooks/"+demoWS+"/meta?"+q.Encode(), "", nil), http.StatusForbidden, "forbidden", "")
		q.Set("hub.verify_token", metaVerifyToken)
		q.Set("hub.mode", "unsubscribe")
		wantProblem(t, do(t, "GET", "/webhooks/"+demoWS+"/meta?"+q.Encode(), "", nil), http.StatusForbidden, "forbidden", "")
		// The challenge is echoed as text, never as markup.
		q.Set("hub.mode", "subscribe")
		q.Set("hub.challenge", "<script>alert(1)</script>")
		r := do(t, "GET", "/webhooks/"+demoWS+"/meta?"+q.Encode(), "", nil)
		if got := wantText(t, r, http.StatusOK, "text/plain"); got != "<script>alert(1)</script>" {
			t.Errorf("challenge echoed as %q", got)
		}
	})

	t.Run("ses subscription confirmation", func(t *testing.T) {
		wantStatus(t, replay(t, "ses-sns-subscription-confirmation"), http.StatusNoContent)
	})

	t.Run("ses new sender", func(t *testing.T) {
		wantStatus(t, replay(t, "ses-sns-inbound-new-sender"), http.StatusNoContent)
		conv := threadOfEmail(t, "renee.dubois@example.org")
		m := oneByProvider(t, listMessages(t, tok.agent, conv.ID, ""), "4f1e9b2c-7d3a-4c8e-9a61-2b5d0e7f3c19@example.org")
		if m.Channel != "email" || m.Email == nil || m.Email.Subject != "Question about wholesale pricing – café order" ||
			m.Email.MessageID != "4f1e9b2c-7d3a-4c8e-9a61-2b5d0e7f3c19@example.org" || !m.Email.HTML || !strings.Contains(m.Body, "40 units") {
			t.Errorf("filed email = %+v (email %+v)", m, m.Email)
		}
		if c := getContact(t, tok.agent, conv.ContactID); c.Name != "Renée Dubois" {
			t.Errorf("contact name = %q, want the From header's Renée Dubois", c.Name)
		}
	})

	t.Run("ses reply to an unknown message threads by address", func(t *testing.T) {
		wantStatus(t, replay(t, "ses-sns-inbound"), http.StatusNoContent)
		conv := threadOfEmail(t, "jo.customer@example.com")
		msgs := listMessages(t, tok.agent, conv.ID, "")
		m := oneByProvider(t, msgs, "CAJx7Kq3Vn2p8Lz+Fw1bD4eH6gT9rS0uY5mQcA8xN2kP@mail.example.com")
		if m.Email == nil || m.Email.InReplyTo != "01JDA8Z6Q4M3X5V7B9N2K4P6R8@parley.example" || len(m.Email.References) != 2 {
			t.Errorf("email details = %+v", m.Email)
		}
		if len(m.Attachments) != 1 || m.Attachments[0].Name != "delivery-note-10482.pdf" || m.Attachments[0].ContentType != "application/pdf" || m.Attachments[0].Size == 0 {
			t.Errorf("attachments = %+v, want the delivery note's metadata", m.Attachments)
		}
		if renee := threadOfEmail(t, "renee.dubois@example.org"); renee.ID == conv.ID {
			t.Error("the reply landed in another sender's thread")
		}
		// Replayed (SNS retries), it is still one message.
		wantStatus(t, replay(t, "ses-sns-inbound"), http.StatusNoContent)
		oneByProvider(t, listMessages(t, tok.agent, conv.ID, ""), "CAJx7Kq3Vn2p8Lz+Fw1bD4eH6gT9rS0uY5mQcA8xN2kP@mail.example.com")
	})

}
