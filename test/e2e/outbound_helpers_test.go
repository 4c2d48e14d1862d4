package e2e_test

// Helpers for the outbound delivery tests: the fields delivery adds to
// messages, contacts and settings, the local stack's capture outbox (GET
// /dev/outbox, where the stand-in providers record every send), its
// duplicated trigger (POST /dev/deliver), and Twilio status callbacks.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/parley-inbox/parley/shared/dev/signing"
)

// Template is a WhatsApp template as a message carries it.
type Template struct {
	Name     string   `json:"name"`
	Language string   `json:"language"`
	Params   []string `json:"params"`
}

// OutMessage is a Message with the fields outbound delivery adds.
type OutMessage struct {
	Message
	Recipient string     `json:"recipient"`
	Automated bool       `json:"automated"`
	SendAt    *time.Time `json:"sendAt"`
	Timezone  string     `json:"timezone"`
	Template  *Template  `json:"template"`
	Segments  int        `json:"segments"`
	Warnings  []string   `json:"warnings"`
}

func (m OutMessage) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "{id %s %s %s status %s body %.60q to %q", m.ID, m.Direction, m.Channel, m.Status, m.Body, m.Recipient)
	if m.ProviderID != "" {
		fmt.Fprintf(&b, " providerId %s", m.ProviderID)
	}
	if m.SendAt != nil {
		fmt.Fprintf(&b, " sendAt %s (%s)", m.SendAt.Format(time.RFC3339Nano), m.Timezone)
	}
	if m.Automated {
		b.WriteString(" automated")
	}
	if m.Error != nil {
		fmt.Fprintf(&b, " error %s: %s", m.Error.Code, m.Error.Reason)
	}
	if len(m.Warnings) > 0 {
		fmt.Fprintf(&b, " warnings %q", m.Warnings)
	}
	b.WriteString("}")
	return b.String()
}

// OutContact is a Contact with consent-message and do-not-disturb state.
type OutContact struct {
	Contact
	DND            map[string]bool `json:"dnd"`
	ConsentMessage struct {
		Sent   bool       `json:"sent"`
		SentAt *time.Time `json:"sentAt"`
	} `json:"consentMessage"`
}

type QuietHours struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

type TemplateSpec struct {
	Language string `json:"language"`
	Params   int    `json:"params"`
	Body     string `json:"body"`
}

// OutWorkspace is a Workspace with the delivery settings.
type OutWorkspace struct {
	ID       string `json:"id"`
	Settings struct {
		Timezone              string                  `json:"timezone"`
		QuietHours            map[string]QuietHours   `json:"quietHours"`
		RequireConsentMessage bool                    `json:"requireConsentMessage"`
		ConsentMessage        string                  `json:"consentMessage"`
		Templates             map[string]TemplateSpec `json:"templates"`
	} `json:"settings"`
}

// Sent is one send the local stack's capture outbox recorded.
type Sent struct {
	Channel        string       `json:"channel"`
	WorkspaceID    string       `json:"workspaceId"`
	MessageID      string       `json:"messageId"`
	ConversationID string       `json:"conversationId"`
	To             string       `json:"to"`
	Body           string       `json:"body"`
	Template       *Template    `json:"template"`
	Attachments    []Attachment `json:"attachments"`
	HumanAgent     bool         `json:"humanAgent"`
	Ref            string       `json:"ref"`
	ProviderID     string       `json:"providerId"`
	At             time.Time    `json:"at"`
}

// sendWait bounds how long the tests wait for the asynchronous sender: the
// stream poller runs every 200 ms and the scheduler every 250 ms.
const sendWait = 6 * time.Second

// outbox lists a workspace's captured sends, oldest first.
func outbox(t testing.TB, ws string) []Sent {
	t.Helper()
	r := do(t, "GET", "/dev/outbox?workspace="+url.QueryEscape(ws), "", nil)
	if r.Status == http.StatusNotFound {
		t.Skip("the server has no /dev/outbox (not the local stack)")
	}
	return wantJSON[Page[Sent]](t, r, http.StatusOK).Items
}

func sendsOfMessage(list []Sent, id string) []Sent {
	var out []Sent
	for _, s := range list {
		if s.MessageID == id {
			out = append(out, s)
		}
	}
	return out
}

func sendsOfConversation(list []Sent, id string) []Sent {
	var out []Sent
	for _, s := range list {
		if s.ConversationID == id {
			out = append(out, s)
		}
	}
	return out
}

// waitSent polls the outbox until the message has been sent, and returns
// the send; more than one send of it is an error.
func waitSent(t testing.TB, ws, msgID string) Sent {
	t.Helper()
	deadline := time.Now().Add(sendWait)
	for {
		got := sendsOfMessage(outbox(t, ws), msgID)
		if len(got) > 0 {
			if len(got) > 1 {
				t.Errorf("message %s was sent %d times: %+v", msgID, len(got), got)
			}
			return got[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("message %s of %s was not in the outbox within %s", msgID, ws, sendWait)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// wantNotSent asserts that the outbox has no send of the message.
func wantNotSent(t testing.TB, ws, msgID, why string) {
	t.Helper()
	if got := sendsOfMessage(outbox(t, ws), msgID); len(got) != 0 {
		t.Errorf("%s: message %s was sent: %+v", why, msgID, got)
	}
}

// listOut reads a whole thread with the delivery fields.
func listOut(t testing.TB, token, convID string) []OutMessage {
	t.Helper()
	var all []OutMessage
	cursor := ""
	for range 50 {
		q := url.Values{"limit": {"100"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		page := wantJSON[Page[OutMessage]](t, do(t, "GET", "/conversations/"+convID+"/messages?"+q.Encode(), token, nil), http.StatusOK)
		all = append(all, page.Items...)
		if page.NextCursor == "" {
			return all
		}
		cursor = page.NextCursor
	}
	t.Fatal("thread: more than 50 pages")
	return nil
}

func getOut(t testing.TB, token, convID, id string) OutMessage {
	t.Helper()
	for _, m := range listOut(t, token, convID) {
		if m.ID == id {
			return m
		}
	}
	t.Fatalf("message %s is not in conversation %s", id, convID)
	return OutMessage{}
}

// waitStatus polls the thread until the message has one of the statuses.
func waitStatus(t testing.TB, token, convID, id string, want ...string) OutMessage {
	t.Helper()
	deadline := time.Now().Add(sendWait)
	for {
		m := getOut(t, token, convID, id)
		if containsStr(want, m.Status) {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("message %s is still %s after %s, want %s: %s", id, m.Status, sendWait, strings.Join(want, " or "), m)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// postOut posts a message and wants it accepted.
func postOut(t testing.TB, token, convID string, in map[string]any) OutMessage {
	t.Helper()
	return wantJSON[OutMessage](t, do(t, "POST", "/conversations/"+convID+"/messages", token, in), http.StatusCreated)
}

// refuseOut posts a message and wants a 400 naming the field.
func refuseOut(t testing.TB, token, convID string, in map[string]any, field string) Problem {
	t.Helper()
	return wantProblem(t, do(t, "POST", "/conversations/"+convID+"/messages", token, in), http.StatusBadRequest, "invalid", field)
}

func getOutContact(t testing.TB, token, id string) OutContact {
	t.Helper()
	return wantJSON[OutContact](t, do(t, "GET", "/contacts/"+id, token, nil), http.StatusOK)
}

func patchOutContact(t testing.TB, token, id string, in map[string]any) OutContact {
	t.Helper()
	return wantJSON[OutContact](t, do(t, "PATCH", "/contacts/"+id, token, in), http.StatusOK)
}

func patchWorkspace(t testing.TB, token string, in map[string]any) OutWorkspace {
	t.Helper()
	return wantJSON[OutWorkspace](t, do(t, "PATCH", "/workspace", token, in), http.StatusOK)
}

// needSettingsWS skips when the server does not know settingsWS.
func needSettingsWS(t testing.TB) {
	t.Helper()
	if r := do(t, "GET", "/workspace", tok.settingsAdmin, nil); r.Status != http.StatusOK {
		t.Skipf("the server has no workspace %s (GET /workspace answered %d)", settingsWS, r.Status)
	}
}

// devDeliver re-runs delivery of a message, as a duplicated stream record
// or schedule would (POST /dev/deliver, a development route).
func devDeliver(t testing.TB, ws, convID, msgID string) (*reply, error) {
	t.Helper()
	return send(t, "POST", "/dev/deliver", "", map[string]any{"workspaceId": ws, "conversationId": convID, "messageId": msgID})
}

// devDeliverN fires devDeliver n times at once and checks each answered 200.
func devDeliverN(t testing.TB, n int, ws, convID, msgID string) {
	t.Helper()
	for _, r := range concurrently(t, n, func(int) (*reply, error) { return devDeliver(t, ws, convID, msgID) }) {
		switch {
		case r == nil:
		case r.Status == http.StatusNotFound:
			t.Skip("the server has no /dev/deliver (not the local stack)")
		case r.Status != http.StatusOK:
			t.Errorf("POST /dev/deliver answered %d: %s", r.Status, r.Body)
		}
	}
}

// ---- Twilio status callbacks ----

// twilioStatusForm is a message status callback as Twilio posts it.
func twilioStatusForm(sid, status, errorCode, to string) url.Values {
	f := url.Values{
		"MessageSid": {sid}, "SmsSid": {sid}, "MessageStatus": {status}, "SmsStatus": {status},
		"AccountSid": {"ACd16c3a35ed0e2b33ff27d4d3ca80aa23"}, "From": {ourNumber}, "To": {to}, "ApiVersion": {"2010-04-01"},
	}
	if errorCode != "" {
		f.Set("ErrorCode", errorCode)
	}
	return f
}

// twilioStatus posts a status callback to the URL Parley gives Twilio for a
// message (with ?ref=<conversation>.<message>), signed as Twilio signs it:
// over the full public URL, query included.
func twilioStatus(t testing.TB, ws, ref string, form url.Values) *reply {
	t.Helper()
	path := "/webhooks/" + ws + "/twilio/status?ref=" + url.QueryEscape(ref)
	return twilioPostRaw(t, ws, "status?ref="+url.QueryEscape(ref), form.Encode(), signing.Twilio(twilioAuthToken, publicURL+path, form))
}

// ---- Meta ----

// whatsAppStatus is a WhatsApp Cloud API status webhook for a message the
// business sent: its wamid, the status, and the biz_opaque_callback_data
// Parley sent with it (the delivery ref); errCode adds an error.
func whatsAppStatus(wamid, status, ref, phone, errCode string) []byte {
	st := map[string]any{
		"id": wamid, "status": status, "timestamp": fmt.Sprint(time.Now().Unix()), "recipient_id": strings.TrimPrefix(phone, "+"),
		"biz_opaque_callback_data": ref,
	}
	if errCode != "" {
		st["errors"] = []any{map[string]any{"code": json.Number(errCode), "title": "Re-engagement message", "message": "Re-engagement message",
			"error_data": map[string]any{"details": "Message failed to send because more than 24 hours have passed since the customer last replied to this number."}}}
	}
	return mustJSON(map[string]any{
		"object": "whatsapp_business_account",
		"entry": []any{map[string]any{"id": "114209384756120", "changes": []any{map[string]any{"field": "messages", "value": map[string]any{
			"messaging_product": "whatsapp",
			"metadata":          map[string]any{"display_phone_number": "15550100199", "phone_number_id": "108374651209348"},
			"statuses":          []any{st},
		}}}}},
	})
}

// sentAt rewrites the time a Meta webhook says its messages were sent, as
// a webhook delivered late (after Meta's retries) carries it: WhatsApp's
// timestamp (seconds, a string) or Messenger's and Instagram's (ms).
func sentAt(t testing.TB, body []byte, at time.Time) []byte {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	for _, e := range doc["entry"].([]any) {
		entry := e.(map[string]any)
		if _, ok := entry["time"]; ok {
			entry["time"] = at.UnixMilli()
		}
		for _, m := range asList(entry["messaging"]) {
			m.(map[string]any)["timestamp"] = at.UnixMilli()
		}
		for _, c := range asList(entry["changes"]) {
			value := c.(map[string]any)["value"].(map[string]any)
			for _, m := range asList(value["messages"]) {
				m.(map[string]any)["timestamp"] = fmt.Sprint(at.Unix())
			}
		}
	}
	return mustJSON(doc)
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}
