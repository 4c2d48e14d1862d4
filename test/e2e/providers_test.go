package e2e_test

// Helpers that play the channel providers: Twilio, Meta and Amazon SES
// (through SNS) post signed webhooks to the local stack exactly as they do
// in production, and the web chat widget calls its public routes.

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/parley-inbox/parley/shared/adapter/email"
	"github.com/parley-inbox/parley/shared/dev/signing"
)

// The test secrets of the local stack (shared/dev/localstack), which the signed
// samples in events/ use.
const (
	twilioAuthToken = "twilio-test-auth-token"
	metaAppSecret   = "meta-test-app-secret"
	metaVerifyToken = "meta-test-verify-token"
	snsTopicARN     = "arn:aws:sns:us-east-1:123456789012:parley-inbound-email"
	// snsCertURL is the only URL whose certificate (the test-only one in
	// events/testdata) the local stack trusts.
	snsCertURL = signing.SNSCertURL
	sesBucket  = "parley-inbound-mail-123456789012"
	ourMailbox = "support@inbox.parley.example"
	// The workspace's Twilio number in the samples.
	ourNumber = "+14155550100"
)

var eventsDir = filepath.Join("..", "..", "events")

// ---- signatures ----

// signSNS signs m as SNS does, with key (the test key when nil).
func signSNS(t testing.TB, m *email.SNSMessage, key *rsa.PrivateKey) {
	t.Helper()
	if err := signing.SNS(m, key); err != nil {
		t.Fatal(err)
	}
}

// ---- ids ----

func randHex(n int) string {
	b := make([]byte, (n+1)/2)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)[:n]
}

// twilioSID makes a Twilio SID: a two-letter prefix and 32 hex digits.
func twilioSID(prefix string) string { return prefix + randHex(32) }

func uuid() string {
	h := randHex(32)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// ---- Twilio ----

// twilioSMSForm is an inbound SMS webhook as Twilio posts it.
func twilioSMSForm(from, body string) url.Values {
	sid := twilioSID("SM")
	return url.Values{
		"ToCountry": {"US"}, "ToState": {"CA"}, "SmsMessageSid": {sid}, "NumMedia": {"0"}, "ToCity": {"SAN FRANCISCO"},
		"FromZip": {"94105"}, "SmsSid": {sid}, "FromState": {"CA"}, "SmsStatus": {"received"}, "FromCity": {"SAN FRANCISCO"},
		"Body": {body}, "FromCountry": {"US"}, "To": {ourNumber}, "ToZip": {"94105"}, "NumSegments": {"1"},
		"ReferralNumMedia": {"0"}, "MessageSid": {sid}, "AccountSid": {"ACd16c3a35ed0e2b33ff27d4d3ca80aa23"},
		"From": {from}, "ApiVersion": {"2010-04-01"},
	}
}

// twilioCallForm is a final voice status callback of an inbound call.
func twilioCallForm(from, status string, seconds int, recording string) url.Values {
	f := url.Values{
		"CallSid": {twilioSID("CA")}, "AccountSid": {"ACd16c3a35ed0e2b33ff27d4d3ca80aa23"}, "Direction": {"inbound"},
		"CallStatus": {status}, "From": {from}, "Caller": {from}, "To": {ourNumber}, "Called": {ourNumber},
		"CallDuration": {fmt.Sprint(seconds)}, "Duration": {fmt.Sprint((seconds + 59) / 60)}, "ApiVersion": {"2010-04-01"},
		"Timestamp": {time.Now().UTC().Format(time.RFC1123Z)}, "CallbackSource": {"call-progress-events"}, "SequenceNumber": {"0"},
	}
	if recording != "" {
		f.Set("RecordingUrl", recording)
		f.Set("RecordingSid", "RE"+randHex(32))
	}
	return f
}

// twilioPost posts a form to a Twilio route of ws, signed as Twilio signs
// it for the public URL. hdr may override headers (an empty value removes
// one, such as the signature).
func twilioPost(t testing.TB, ws, route string, form url.Values, hdr ...string) *reply {
	t.Helper()
	return twilioPostRaw(t, ws, route, form.Encode(), signing.Twilio(twilioAuthToken, publicURL+"/webhooks/"+ws+"/twilio/"+route, form), hdr...)
}

func twilioPostRaw(t testing.TB, ws, route, body, signature string, hdr ...string) *reply {
	t.Helper()
	h := append([]string{"Content-Type", "application/x-www-form-urlencoded", "X-Twilio-Signature", signature, "User-Agent", "TwilioProxy/1.1"}, hdr...)
	return do(t, "POST", "/webhooks/"+ws+"/twilio/"+route, "", body, h...)
}

// twilioSMS delivers an inbound SMS and checks Twilio's 200 empty TwiML.
func twilioSMS(t testing.TB, ws string, form url.Values) {
	t.Helper()
	wantTwiML(t, twilioPost(t, ws, "messages", form))
}

func wantTwiML(t testing.TB, r *reply) {
	t.Helper()
	body := wantText(t, r, http.StatusOK, "text/xml")
	if !strings.Contains(body, "<Response></Response>") {
		t.Errorf("%s: want empty TwiML", r)
	}
}

// ---- Meta ----

// metaPost posts a signed Meta webhook body to ws.
func metaPost(t testing.TB, ws string, body []byte, hdr ...string) *reply {
	t.Helper()
	h := append([]string{"Content-Type", "application/json", "X-Hub-Signature-256", signing.Meta(metaAppSecret, body), "User-Agent", "facebookexternalua"}, hdr...)
	return do(t, "POST", "/webhooks/"+ws+"/meta", "", body, h...)
}

// metaDeliver posts a signed body and checks Meta's 200 EVENT_RECEIVED.
func metaDeliver(t testing.TB, ws string, body []byte) {
	t.Helper()
	if got := wantText(t, metaPost(t, ws, body), http.StatusOK, "text/plain"); got != "EVENT_RECEIVED" {
		t.Errorf("Meta webhook answered %q, want EVENT_RECEIVED", got)
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// whatsAppText is a WhatsApp Cloud API inbound text message from phone
// (E.164); it returns the body and the message's wamid.
func whatsAppText(phone, name, text string) ([]byte, string) {
	waID := strings.TrimPrefix(phone, "+")
	wamid := "wamid." + base64.StdEncoding.EncodeToString([]byte("e2e-"+randHex(24)))
	return mustJSON(map[string]any{
		"object": "whatsapp_business_account",
		"entry": []any{map[string]any{"id": "114209384756120", "changes": []any{map[string]any{"field": "messages", "value": map[string]any{
			"messaging_product": "whatsapp",
			"metadata":          map[string]any{"display_phone_number": "15550100199", "phone_number_id": "108374651209348"},
			"contacts":          []any{map[string]any{"profile": map[string]any{"name": name}, "wa_id": waID}},
			"messages": []any{map[string]any{"from": waID, "id": wamid, "timestamp": fmt.Sprint(time.Now().Unix()),
				"type": "text", "text": map[string]any{"body": text}}},
		}}}}},
	}), wamid
}

// messagingEvent is a Messenger ("page") or Instagram ("instagram") inbound
// message from the page- or account-scoped id psid; it returns the body
// and the message's mid.
func messagingEvent(object, psid, text string) ([]byte, string) {
	page := "107234567890123"
	if object == "instagram" {
		page = "17841405793187218"
	}
	mid := "m_e2e" + randHex(40)
	now := time.Now().UnixMilli()
	return mustJSON(map[string]any{
		"object": object,
		"entry": []any{map[string]any{"id": page, "time": now, "messaging": []any{map[string]any{
			"sender": map[string]any{"id": psid}, "recipient": map[string]any{"id": page}, "timestamp": now,
			"message": map[string]any{"mid": mid, "text": text},
		}}}},
	}), mid
}

// newPSID makes a page-scoped id no other test uses.
func newPSID() string {
	return fmt.Sprintf("9%015d", randInt(1_000_000_000)*1_000_000+randInt(1_000_000))
}

// ---- Amazon SES through SNS ----

// rawEmail builds an RFC 5322 message. inReplyTo, when set, is also the
// References header.
func rawEmail(fromName, from, messageID, inReplyTo, subject, body string) []byte {
	var b strings.Builder
	line := func(s string) { b.WriteString(s + "\r\n") }
	line("Return-Path: <" + from + ">")
	line("MIME-Version: 1.0")
	line("Date: " + time.Now().UTC().Format(time.RFC1123Z))
	line("Message-ID: <" + messageID + ">")
	if inReplyTo != "" {
		line("In-Reply-To: <" + inReplyTo + ">")
		line("References: <" + inReplyTo + ">")
	}
	line("Subject: " + subject)
	line("From: " + fromName + " <" + from + ">")
	line("To: Parley Support <" + ourMailbox + ">")
	line(`Content-Type: text/plain; charset="UTF-8"`)
	line("Content-Transfer-Encoding: 8bit")
	line("")
	line(body)
	return []byte(b.String())
}

// stageMail puts a raw message where the local stack's stand-in for S3
// reads it: <PARLEY_DATA_DIR>/mail/<bucket>/<key>.
func stageMail(t testing.TB, key string, raw []byte) {
	t.Helper()
	if stackDataDir == "" {
		t.Skip("no PARLEY_DATA_DIR to stage inbound mail in")
	}
	dest := filepath.Join(stackDataDir, "mail", sesBucket, filepath.FromSlash(key))
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dest, raw, 0o644); err != nil {
		t.Fatal(err)
	}
}

// verdicts are what SES saw of an email's authentication.
type verdicts struct{ SPF, DKIM, DMARC string }

var passAll = verdicts{"PASS", "PASS", "PASS"}

// sesNotification is the SNS Notification SES sends when it has stored an
// inbound email in S3 (after staging the email there), signed with the
// test key (SignatureVersion 2).
func sesNotification(t testing.TB, raw []byte, from string, v verdicts) *email.SNSMessage {
	t.Helper()
	sesID := strings.ToLower(randHex(40))
	key := "inbound/" + sesID
	stageMail(t, key, raw)
	m, err := signing.SESNotification(signing.SESReceipt{TopicARN: snsTopicARN, Bucket: sesBucket, Key: key,
		SESMessageID: sesID, SNSMessageID: uuid(), From: from, To: []string{ourMailbox}, At: time.Now(),
		SPF: v.SPF, DKIM: v.DKIM, DMARC: v.DMARC})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// snsPost posts an SNS message to ws's email webhook as SNS does: JSON
// sent as text/plain.
func snsPost(t testing.TB, ws string, m *email.SNSMessage) *reply {
	t.Helper()
	return snsPostRaw(t, ws, mustJSON(m), m.Type)
}

func snsPostRaw(t testing.TB, ws string, body []byte, msgType string) *reply {
	t.Helper()
	return do(t, "POST", "/webhooks/"+ws+"/email", "", body,
		"Content-Type", "text/plain; charset=UTF-8", "User-Agent", "Amazon Simple Notification Service Agent",
		"X-Amz-Sns-Message-Type", msgType, "X-Amz-Sns-Topic-Arn", snsTopicARN)
}

// deliverEmail files a raw email through SES and SNS, checking the 204.
func deliverEmail(t testing.TB, raw []byte, from string, v verdicts) {
	t.Helper()
	wantStatus(t, snsPost(t, demoWS, sesNotification(t, raw, from, v)), http.StatusNoContent)
}

// ---- the signed samples in events/ ----

type sample struct {
	Method, Path, Query string
	Header              map[string]string
	Body                []byte
}

func loadSample(t testing.TB, name string) sample {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(eventsDir, name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		if body, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	return sample{Method: ev.RequestContext.HTTP.Method, Path: ev.RawPath, Query: ev.RawQueryString, Header: ev.Headers, Body: body}
}

// replay posts a sample the way test/invoke does (make invoke): its
// method, path, query, headers and body, after staging the raw email an
// SES sample names.
func replay(t testing.TB, name string) *reply {
	t.Helper()
	s := loadSample(t, name)
	stageSampleMail(t, s.Body)
	var hdr []string
	for k, v := range s.Header {
		if !strings.EqualFold(k, "host") && !strings.EqualFold(k, "content-length") {
			hdr = append(hdr, k, v)
		}
	}
	target := s.Path
	if s.Query != "" {
		target += "?" + s.Query
	}
	var body any
	if s.Method != http.MethodGet {
		body = s.Body
	}
	if _, ok := s.Header["content-type"]; !ok {
		hdr = append(hdr, "Content-Type", "")
	}
	return do(t, s.Method, target, "", body, hdr...)
}

// stageSampleMail stages the fixture whose Message-ID an SES sample's
// notification carries, under the S3 key it names.
func stageSampleMail(t testing.TB, body []byte) {
	t.Helper()
	var m email.SNSMessage
	if json.Unmarshal(body, &m) != nil || m.Type != "Notification" {
		return
	}
	var n struct {
		Receipt struct {
			Action struct {
				ObjectKey string `json:"objectKey"`
			} `json:"action"`
		} `json:"receipt"`
	}
	if json.Unmarshal([]byte(m.Message), &n) != nil || n.Receipt.Action.ObjectKey == "" {
		return
	}
	fixtures, _ := filepath.Glob(filepath.Join(eventsDir, "testdata", "*.eml"))
	for _, f := range fixtures {
		eml, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if id := headerID(eml, "Message-ID"); id != "" && strings.Contains(m.Message, id) {
			stageMail(t, n.Receipt.Action.ObjectKey, eml)
			return
		}
	}
	t.Fatalf("no fixture in events/testdata for the SES sample naming %s", n.Receipt.Action.ObjectKey)
}

// headerID reads a bracketed id header of a raw message, without brackets.
func headerID(eml []byte, name string) string {
	for _, line := range strings.Split(string(eml), "\n") {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			return strings.Trim(strings.TrimSpace(v), "<>")
		}
	}
	return ""
}

// ---- web chat ----

var loopbackN atomic.Int32

// clientFrom returns an HTTP client that connects from a loopback address
// no other test uses, so that the web chat limiter, which counts per client
// address, sees each test as its own device. Against a remote server, or
// where only 127.0.0.1 is usable, it is the shared client and isolated is
// false.
func clientFrom(t testing.TB) (c *http.Client, isolated bool) {
	t.Helper()
	u, err := url.Parse(baseURL)
	if err != nil || u.Hostname() != "127.0.0.1" {
		return httpClient, false
	}
	n := loopbackN.Add(1)
	local := &net.TCPAddr{IP: net.IPv4(127, 0, byte(1+n/250), byte(1+n%250))}
	dialer := &net.Dialer{LocalAddr: local, Timeout: 5 * time.Second}
	conn, err := dialer.Dial("tcp", u.Host)
	if err != nil {
		t.Logf("cannot call from %s (%v); using the shared client, whose web chat rate limits other tests share", local.IP, err)
		return httpClient, false
	}
	conn.Close()
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		return dialer.DialContext(ctx, network, addr)
	}, MaxIdleConnsPerHost: 64}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}, true
}

type ChatSession struct {
	VisitorID string `json:"visitorId"`
	Token     string `json:"token"`
}

type VisitorMessage struct {
	ID          string       `json:"id"`
	Direction   string       `json:"direction"`
	Channel     string       `json:"channel"`
	Body        string       `json:"body"`
	Attachments []Attachment `json:"attachments"`
	CreatedAt   time.Time    `json:"createdAt"`
}

func chatSession(t testing.TB, c *http.Client, ws string) ChatSession {
	t.Helper()
	s := wantJSON[ChatSession](t, doVia(t, c, "POST", "/chat/"+ws+"/sessions", "", nil), http.StatusCreated)
	if !validULID(s.VisitorID) || !strings.HasPrefix(s.Token, s.VisitorID+".") {
		t.Fatalf("session = %+v, want a ULID visitor id and a token starting with it", s)
	}
	return s
}

func chatSend(t testing.TB, c *http.Client, ws, token, body string) VisitorMessage {
	t.Helper()
	return wantJSON[VisitorMessage](t, doVia(t, c, "POST", "/chat/"+ws+"/messages", token, map[string]any{"body": body}), http.StatusCreated)
}

func chatHistory(t testing.TB, c *http.Client, ws, token string) []VisitorMessage {
	t.Helper()
	var all []VisitorMessage
	cursor := ""
	for range 20 {
		q := url.Values{"limit": {"100"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		page := wantJSON[Page[VisitorMessage]](t, doVia(t, c, "GET", "/chat/"+ws+"/messages?"+q.Encode(), token, nil), http.StatusOK)
		all = append(all, page.Items...)
		if page.NextCursor == "" {
			return all
		}
		cursor = page.NextCursor
	}
	t.Fatal("chat history: more than 20 pages")
	return nil
}

// ---- finding what a webhook filed ----

// contactByPhone returns the contact holding a phone number, if any.
func contactByPhone(t testing.TB, phone string) (Contact, bool) {
	t.Helper()
	found := searchContacts(t, tok.agent, url.Values{"phone": {phone}})
	if len(found) == 0 {
		return Contact{}, false
	}
	return found[0], true
}

func contactByEmail(t testing.TB, email string) (Contact, bool) {
	t.Helper()
	found := searchContacts(t, tok.agent, url.Values{"email": {email}})
	if len(found) == 0 {
		return Contact{}, false
	}
	return found[0], true
}

// threadOfPhone returns the conversation of the contact with the phone.
func threadOfPhone(t testing.TB, phone string) Conversation {
	t.Helper()
	c, ok := contactByPhone(t, phone)
	if !ok || c.ConversationID == "" {
		t.Fatalf("no contact with a conversation for %s (contact %+v)", phone, c)
	}
	return getConversation(t, tok.agent, c.ConversationID)
}

func threadOfEmail(t testing.TB, email string) Conversation {
	t.Helper()
	c, ok := contactByEmail(t, email)
	if !ok || c.ConversationID == "" {
		t.Fatalf("no contact with a conversation for %s (contact %+v)", email, c)
	}
	return getConversation(t, tok.agent, c.ConversationID)
}

// inboxWithPreview finds the active conversation whose preview is text
// (unique per test), for senders known only by a handle.
func inboxWithPreview(t testing.TB, text string) Conversation {
	t.Helper()
	cursor := ""
	for range 100 {
		q := url.Values{"limit": {"100"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		page := wantJSON[Page[Conversation]](t, do(t, "GET", "/conversations?"+q.Encode(), tok.agent, nil), http.StatusOK)
		for _, c := range page.Items {
			if c.Preview == text {
				return c
			}
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	t.Fatalf("no conversation in the inbox with preview %q", text)
	return Conversation{}
}

// byProvider returns the entries of a thread with a provider id.
func byProvider(msgs []Message, id string) []Message {
	var out []Message
	for _, m := range msgs {
		if m.ProviderID == id {
			out = append(out, m)
		}
	}
	return out
}

// oneByProvider asserts that the thread holds exactly one entry with the
// provider id and returns it.
func oneByProvider(t testing.TB, msgs []Message, id string) Message {
	t.Helper()
	found := byProvider(msgs, id)
	if len(found) != 1 {
		t.Fatalf("thread has %d entries with provider id %s, want 1: %+v", len(found), id, msgs)
	}
	return found[0]
}

// ---- domain events (GET /dev/events, a development route of the local
// stack that the OpenAPI document leaves out) ----

type DomainEvent struct {
	ID             string `json:"id"`
	Type           string `json:"type"`
	WorkspaceID    string `json:"workspaceId"`
	ContactID      string `json:"contactId"`
	ConversationID string `json:"conversationId"`
	MessageID      string `json:"messageId"`
	Channel        string `json:"channel"`
	Kind           string `json:"kind"`
	Body           string `json:"body"`
	Source         string `json:"source"`
}

// waitEvent polls the local stack's recent events of ws until one matches,
// for up to 5 s (the stream poller runs every 200 ms).
func waitEvent(t testing.TB, ws, what string, match func(DomainEvent) bool) DomainEvent {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := do(t, "GET", "/dev/events?workspace="+url.QueryEscape(ws), "", nil)
		if r.Status == http.StatusNotFound {
			t.Skip("the server has no /dev/events (not the local stack)")
		}
		page := wantJSON[Page[DomainEvent]](t, r, http.StatusOK)
		for _, e := range page.Items {
			if e.WorkspaceID == ws && match(e) {
				return e
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s event within 5 s; the last %d events: %+v", what, len(page.Items), tailEvents(page.Items, 10))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func tailEvents(list []DomainEvent, n int) []DomainEvent {
	if len(list) > n {
		return list[len(list)-n:]
	}
	return list
}

// probe sends a request without validating the answer against the
// document: for paths the document rightly leaves out (an unknown route),
// to compare their answers with documented ones.
func probe(t testing.TB, method, path string, body []byte, hdr ...string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, baseURL+path, strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var buf strings.Builder
	if _, err := io.Copy(&buf, resp.Body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, []byte(buf.String())
}
