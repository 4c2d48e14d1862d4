package e2e_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Issue 9 item 8: the ways people really write STOP opt them out, through a
// signed Twilio webhook, with the thread's note naming the keyword.
func TestSafetyConsentSMSStopWording(t *testing.T) {
	t.Parallel()
	for _, body := range []string{"Stop!", "ＳＴＯＰ", "STOP\u200b", "STOP\n\nSent from my iPhone", "opt out", "REVOKE"} {
		phone := newPhone(t)
		twilioSMS(t, demoWS, twilioSMSForm(phone, "Hello "+uniq()))
		contact, _ := contactByPhone(t, phone)
		twilioSMS(t, demoWS, twilioSMSForm(phone, body))
		c := getContact(t, tok.agent, contact.ID)
		if cc := c.Consent["sms"]; cc.Status != "opted_out" || cc.Source != "keyword" {
			t.Errorf("sms consent after %q = %+v, want opted_out by keyword", body, cc)
			continue
		}
		notes := activities(listMessages(t, tok.agent, threadOfPhone(t, phone).ID, ""))
		if len(notes) != 1 || !strings.Contains(notes[0].Body, "opted out of SMS by replying") {
			t.Errorf("activity entries after %q = %+v, want one opt-out note", body, notes)
		}
	}
	// A sentence that merely contains the word is a message.
	phone := newPhone(t)
	twilioSMS(t, demoWS, twilioSMSForm(phone, "Don't stop sending these!"))
	contact, _ := contactByPhone(t, phone)
	if c := getContact(t, tok.agent, contact.ID); c.Consent["sms"].Status == "opted_out" {
		t.Errorf(`"Don't stop sending these!" opted the contact out: %+v`, c.Consent)
	}
}

// Issue 9 item 12 (seed 003): a welcome series on WhatsApp starts for a new
// contact who subscribes; the first consent recorded on a channel is a
// subscription even though contacts count as opted in until they opt out.
func TestSafetyConsentWelcomeSeriesStartsForANewSubscriber(t *testing.T) {
	needTimeScale(t)
	t.Parallel()
	tag := "welcomed-" + uniq()
	automation := createAutomation(t, map[string]any{"type": "contact.subscribed", "channel": "whatsapp"},
		map[string]any{"type": "tag", "add": []string{tag}},
		map[string]any{"type": "message", "mode": "draft", "channel": "whatsapp", "body": "Welcome to E2E Co on WhatsApp!"})
	c := createContact(t, tok.agent, map[string]any{"name": "Subscriber " + uniq(), "phones": []string{newPhone(t)}})
	wantJSON[Contact](t, do(t, "POST", "/contacts/"+c.ID+"/opt-in", tok.agent, map[string]any{"channel": "whatsapp"}), http.StatusOK)
	waitRun(t, c.ID, automation, "completed", 15*time.Second)
	got := getContact(t, tok.agent, c.ID)
	if !containsStr(got.Tags, tag) || got.Consent["whatsapp"].Status != "opted_in" || got.Consent["whatsapp"].Source != "manual" {
		t.Errorf("after the welcome series: tags %v, whatsapp consent %+v", got.Tags, got.Consent["whatsapp"])
	}
	// Opting in again is no new subscription: the series does not rerun.
	wantJSON[Contact](t, do(t, "POST", "/contacts/"+c.ID+"/opt-in", tok.agent, map[string]any{"channel": "whatsapp"}), http.StatusOK)
	time.Sleep(scaled(0) + time.Second)
	runs := wantJSON[struct {
		Items []Run `json:"items"`
	}](t, do(t, "GET", "/contacts/"+c.ID+"/runs", tok.agent, nil), http.StatusOK)
	// Other tests' contact.subscribed automations run here too: count this one's.
	if n := countRuns(runs.Items, automation); n != 1 {
		t.Errorf("runs after a second opt-in: %d, want 1", n)
	}
}

type ConsentRecord struct {
	ID        string    `json:"id"`
	ContactID string    `json:"contactId"`
	Channel   string    `json:"channel"`
	Status    string    `json:"status"`
	Previous  string    `json:"previous"`
	Source    string    `json:"source"`
	ChangedBy string    `json:"changedBy"`
	ChangedAt time.Time `json:"changedAt"`
	MessageID string    `json:"messageId"`
	Keyword   string    `json:"keyword"`
}

// Issue 9 item 3: the consent history says who changed what, when, how and
// from what, per channel, newest first, a page at a time.
func TestSafetyConsentHistory(t *testing.T) {
	t.Parallel()
	phone := newPhone(t)
	twilioSMS(t, demoWS, twilioSMSForm(phone, "Hello "+uniq()))
	contact, _ := contactByPhone(t, phone)
	twilioSMS(t, demoWS, twilioSMSForm(phone, "Stop!"))
	wantJSON[Contact](t, do(t, "POST", "/contacts/"+contact.ID+"/opt-in", tok.agent, map[string]any{"channel": "sms"}), http.StatusOK)
	wantJSON[Contact](t, do(t, "POST", "/contacts/"+contact.ID+"/opt-out", tok.agent, map[string]any{"channel": "whatsapp"}), http.StatusOK)

	var all []ConsentRecord
	for query := "?limit=2"; ; {
		page := wantJSON[Page[ConsentRecord]](t, do(t, "GET", "/contacts/"+contact.ID+"/consent"+query, tok.agent, nil), http.StatusOK)
		all = append(all, page.Items...)
		if page.NextCursor == "" {
			break
		}
		query = "?limit=2&cursor=" + url.QueryEscape(page.NextCursor)
	}
	var got []string
	for _, r := range all {
		got = append(got, fmt.Sprintf("%s %s<-%s %s by=%s kw=%s msg=%v", r.Channel, r.Status, r.Previous, r.Source, r.ChangedBy, r.Keyword, r.MessageID != ""))
	}
	want := []string{
		"whatsapp opted_out<- manual by=" + demoAgent + " kw= msg=false",
		"sms opted_in<-opted_out manual by=" + demoAgent + " kw= msg=false",
		"sms opted_out<- keyword by= kw=STOP msg=true",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("consent history:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	wantProblem(t, do(t, "GET", "/contacts/"+contact.ID+"/consent", tok.other, nil), http.StatusNotFound, "not_found", "")
}

// Issue 9 item 3: writes that take user-sized input answer 400 naming the
// field when past their budget, rather than 500 from the database; an
// automation's tag step obeys the API's tag limits.
func TestSafetyConsentSizeBudgets(t *testing.T) {
	t.Parallel()
	// Each body is within its channel's limit; together they are 500 KB.
	var dripSteps, autoSteps []map[string]any
	for i := range 40 {
		dripSteps = append(dripSteps, map[string]any{"afterMinutes": i * 10, "channel": "whatsapp", "body": strings.Repeat("€", 4000)})
		autoSteps = append(autoSteps, map[string]any{"type": "message", "mode": "draft", "channel": "whatsapp", "body": strings.Repeat("€", 4000)})
	}
	wantProblem(t, do(t, "POST", "/campaigns", tok.admin, map[string]any{"name": "Big " + uniq(), "steps": dripSteps}), http.StatusBadRequest, "invalid", "steps")
	wantProblem(t, do(t, "POST", "/automations", tok.admin, map[string]any{"name": "Big " + uniq(),
		"trigger": map[string]any{"type": "conversation.created"}, "steps": autoSteps}), http.StatusBadRequest, "invalid", "steps")

	many := make([]string, 51)
	for i := range many {
		many[i] = fmt.Sprintf("tag-%d", i)
	}
	for name, add := range map[string][]string{"51 tags": many, "a 65-character tag": {strings.Repeat("x", 65)}} {
		r := do(t, "POST", "/automations", tok.admin, map[string]any{"name": "Tags " + uniq(),
			"trigger": map[string]any{"type": "conversation.created"}, "steps": []any{map[string]any{"type": "tag", "add": add}}})
		if r.Status != http.StatusBadRequest {
			t.Errorf("a tag step with %s: %s, want 400", name, r)
		}
	}
}
