package e2e_test

// The workspace settings that govern sending: the consent message before a
// contact's first SMS, and quiet hours for automated messages; and the
// contact's do-not-disturb. They change settingsWS, so these tests do not
// run in parallel (they finish before the parallel tests start, and
// restore what they change), and no other test sees their settings.

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestConsentMessageBeforeFirstSMS(t *testing.T) {
	needSettingsWS(t)
	text := "E2E Co: you'll get texts about your orders. Reply STOP to opt out, HELP for help."
	ws := patchWorkspace(t, tok.settingsAdmin, map[string]any{"requireConsentMessage": true, "consentMessage": text})
	t.Cleanup(func() {
		patchWorkspace(t, tok.settingsAdmin, map[string]any{"requireConsentMessage": false, "consentMessage": ""})
	})
	if !ws.Settings.RequireConsentMessage || ws.Settings.ConsentMessage != text {
		t.Fatalf("settings after PATCH = %+v", ws.Settings)
	}
	if got := wantJSON[OutWorkspace](t, do(t, "GET", "/workspace", tok.settingsAdmin, nil), http.StatusOK); !got.Settings.RequireConsentMessage || got.Settings.ConsentMessage != text {
		t.Errorf("GET /workspace settings = %+v", got.Settings)
	}

	phone := newPhone(t)
	conv := startConversation(t, tok.settingsAdmin, map[string]any{"phone": phone, "name": "Consent " + uniq()}, http.StatusCreated)
	if c := getOutContact(t, tok.settingsAdmin, conv.ContactID); c.ConsentMessage.Sent {
		t.Fatalf("a new contact has consentMessage %+v", c.ConsentMessage)
	}
	first := postOut(t, tok.settingsAdmin, conv.ID, map[string]any{"channel": "sms", "body": "Your order 4411 shipped"})
	waitSent(t, settingsWS, first.ID)
	sends := sendsOfConversation(outbox(t, settingsWS), conv.ID)
	if len(sends) != 2 || sends[0].Body != text || sends[0].To != phone || sends[0].Channel != "sms" || sends[1].MessageID != first.ID {
		t.Fatalf("sends of the first SMS = %+v, want the consent message to %s, then the SMS", sends, phone)
	}
	c := getOutContact(t, tok.settingsAdmin, conv.ContactID)
	if !c.ConsentMessage.Sent || c.ConsentMessage.SentAt == nil {
		t.Errorf("contact consentMessage = %+v, want sent with a time", c.ConsentMessage)
	}
	// The consent message is in the thread, just before the SMS.
	thread := listOut(t, tok.settingsAdmin, conv.ID)
	if len(thread) != 2 || thread[0].ID != sends[0].MessageID || thread[1].ID != first.ID {
		t.Errorf("thread = %v, want the consent message %s then %s", thread, sends[0].MessageID, first.ID)
	} else if cm := thread[0]; cm.Body != text || cm.Direction != "out" || cm.Channel != "sms" || !cm.Automated || cm.Recipient != "" && cm.Recipient != phone {
		t.Errorf("consent message in the thread = %s", cm)
	} else {
		waitStatus(t, tok.settingsAdmin, conv.ID, cm.ID, "sent")
	}

	second := postOut(t, tok.settingsAdmin, conv.ID, map[string]any{"channel": "sms", "body": "It arrives tomorrow"})
	waitSent(t, settingsWS, second.ID)
	mms := postOut(t, tok.settingsAdmin, conv.ID, map[string]any{"channel": "sms", "attachments": []any{map[string]any{"url": "https://cdn.example.com/label.png", "contentType": "image/png"}}})
	waitSent(t, settingsWS, mms.ID)
	if n := countBody(sendsOfConversation(outbox(t, settingsWS), conv.ID), text); n != 1 {
		t.Errorf("the consent message was sent %d times to one contact, want once", n)
	}

	// Email needs no consent message.
	addr := "consent." + uniq() + "@example.com"
	ec := createContact(t, tok.settingsAdmin, map[string]any{"name": "Mail only " + uniq(), "emails": []string{addr}})
	econv := startConversation(t, tok.settingsAdmin, map[string]any{"contactId": ec.ID}, http.StatusCreated)
	em := postOut(t, tok.settingsAdmin, econv.ID, map[string]any{"channel": "email", "body": "Welcome"})
	waitSent(t, settingsWS, em.ID)
	if got := sendsOfConversation(outbox(t, settingsWS), econv.ID); len(got) != 1 {
		t.Errorf("sends of an email = %+v, want only the email", got)
	}

	// Several first messages racing: still one consent message. Each is
	// triggered several times at once, as a retried stream batch would.
	rphone := newPhone(t)
	rconv := startConversation(t, tok.settingsAdmin, map[string]any{"phone": rphone, "name": "Consent race " + uniq()}, http.StatusCreated)
	var racers []OutMessage
	for i := range 3 {
		racers = append(racers, postOut(t, tok.settingsAdmin, rconv.ID, map[string]any{"channel": "sms", "body": "Racing " + string(rune('a'+i))}))
		time.Sleep(3 * time.Millisecond) // distinct creation times, as separate agents' posts have
	}
	var wg sync.WaitGroup
	for _, m := range racers {
		wg.Add(1)
		go func() { defer wg.Done(); devDeliverN(t, 2, settingsWS, rconv.ID, m.ID) }()
	}
	wg.Wait()
	for _, m := range racers {
		waitSent(t, settingsWS, m.ID)
	}
	rsends := sendsOfConversation(outbox(t, settingsWS), rconv.ID)
	if n := countBody(rsends, text); n != 1 {
		var ids []string
		for _, s := range rsends {
			if s.Body == text {
				ids = append(ids, s.MessageID)
			}
		}
		t.Errorf("three first SMS to one new contact (%s), delivered concurrently (POST /dev/deliver twice each), sent the consent message %d times "+
			"(message ids %v); want once: its id is derived from the first message's creation time as well as the contact, so racing first messages make different ones",
			rphone, n, ids)
	}
	if len(rsends) == 0 || rsends[0].Body != text {
		t.Errorf("the first send to a new contact is %+v, want the consent message", rsends)
	}
}

func countBody(list []Sent, body string) int {
	n := 0
	for _, s := range list {
		if s.Body == body {
			n++
		}
	}
	return n
}

// Quiet hours hold automated messages until the window ends; agents'
// messages go out at once. Do-not-disturb stops automated messages to one
// contact.
func TestQuietHoursAndDoNotDisturb(t *testing.T) {
	needSettingsWS(t)
	// A window around now, in UTC, ending two hours ahead: whatever the time
	// of day, now is inside and its end is tomorrow at worst.
	now := time.Now().UTC()
	start, end := now.Add(-time.Hour), now.Add(2*time.Hour)
	endAt := time.Date(end.Year(), end.Month(), end.Day(), end.Hour(), end.Minute(), 0, 0, time.UTC)
	window := map[string]any{"start": start.Format("15:04"), "end": end.Format("15:04")}
	ws := patchWorkspace(t, tok.settingsAdmin, map[string]any{"quietHours": map[string]any{"sms": window}})
	t.Cleanup(func() { patchWorkspace(t, tok.settingsAdmin, map[string]any{"quietHours": map[string]any{}}) })
	if q := ws.Settings.QuietHours["sms"]; q.Start != window["start"] || q.End != window["end"] || len(ws.Settings.QuietHours) != 1 {
		t.Fatalf("quietHours after PATCH = %+v, want sms %v", ws.Settings.QuietHours, window)
	}
	for _, bad := range []map[string]any{
		{"fax": window},
		{"sms": map[string]any{"start": "9pm", "end": "08:00"}},
		{"sms": map[string]any{"start": "21:00", "end": "21:00"}},
	} {
		wantProblem(t, do(t, "PATCH", "/workspace", tok.settingsAdmin, map[string]any{"quietHours": bad}), http.StatusBadRequest, "invalid", anyField)
	}

	phone := newPhone(t)
	conv := startConversation(t, tok.settingsAdmin, map[string]any{"phone": phone, "name": "Quiet " + uniq()}, http.StatusCreated)
	// The window is on the contact's clock; a US number's area code
	// would put it in America/*, so pin it to UTC.
	patchOutContact(t, tok.settingsAdmin, conv.ContactID, map[string]any{"timezone": "UTC"})

	auto := postOut(t, tok.settingsAdmin, conv.ID, map[string]any{"channel": "sms", "body": "Weekly deals " + uniq(), "automated": true})
	if !auto.Automated || auto.Status != "queued" {
		t.Errorf("posted automated sms = %s, want queued and automated", auto)
	}
	held := waitStatus(t, tok.settingsAdmin, conv.ID, auto.ID, "scheduled", "sent", "failed")
	if held.Status != "scheduled" || held.SendAt == nil || !held.SendAt.Equal(endAt) || held.Timezone != "UTC" {
		t.Errorf("automated sms in quiet hours %v = %s, want scheduled for the window's end %s (UTC)", window, held, endAt.Format(time.RFC3339))
	}
	if len(held.Warnings) == 0 || !strings.Contains(strings.Join(held.Warnings, " "), "quiet hours") {
		t.Errorf("held message warnings = %q, want one about quiet hours", held.Warnings)
	}
	listed := false
	for _, m := range listScheduled(t, tok.settingsAdmin, 100) {
		listed = listed || m.ID == auto.ID
	}
	if !listed {
		t.Errorf("the held message is not in GET /scheduled-messages")
	}

	// An agent's own message is not held.
	manual := postOut(t, tok.settingsAdmin, conv.ID, map[string]any{"channel": "sms", "body": "Your order shipped " + uniq()})
	checkDelivered(t, settingsWS, tok.settingsAdmin, manual, "sms", phone, "SM")
	wantNotSent(t, settingsWS, auto.ID, "held for quiet hours")
	// A held message can be canceled like any scheduled one.
	if c := wantJSON[OutMessage](t, do(t, "POST", "/conversations/"+conv.ID+"/messages/"+auto.ID+"/cancel", tok.settingsAdmin, nil), http.StatusOK); c.Status != "canceled" {
		t.Errorf("canceled held message = %s", c)
	}

	// Do-not-disturb: automated messages fail, the agent's still go.
	dc := patchOutContact(t, tok.settingsAdmin, conv.ContactID, map[string]any{"dnd": map[string]any{"sms": true}})
	if !dc.DND["sms"] {
		t.Fatalf("contact after PATCH dnd = %+v", dc.DND)
	}
	if got := getOutContact(t, tok.settingsAdmin, conv.ContactID); !got.DND["sms"] {
		t.Errorf("GET contact dnd = %+v", got.DND)
	}
	wantProblem(t, do(t, "PATCH", "/contacts/"+conv.ContactID, tok.settingsAdmin, map[string]any{"dnd": map[string]any{"fax": true}}), http.StatusBadRequest, "invalid", "dnd")
	for _, in := range []map[string]any{
		{"channel": "sms", "body": "Flash sale " + uniq(), "automated": true},
		{"channel": "sms", "attachments": []any{map[string]any{"url": "https://cdn.example.com/sale.png", "contentType": "image/png"}}, "automated": true},
	} {
		m := postOut(t, tok.settingsAdmin, conv.ID, in)
		got := waitStatus(t, tok.settingsAdmin, conv.ID, m.ID, "failed", "scheduled", "sent")
		if got.Status != "failed" || got.Error == nil || got.Error.Code != "dnd" || got.Error.Reason == "" {
			t.Errorf("automated %s to a contact with dnd on = %s, want failed with error code dnd", m.Channel, got)
		}
		wantNotSent(t, settingsWS, m.ID, "do-not-disturb")
	}
	manual2 := postOut(t, tok.settingsAdmin, conv.ID, map[string]any{"channel": "sms", "body": "About your return " + uniq()})
	checkDelivered(t, settingsWS, tok.settingsAdmin, manual2, "sms", phone, "SM")

	// Without quiet hours, an automated message to a contact without DND
	// goes at once.
	patchWorkspace(t, tok.settingsAdmin, map[string]any{"quietHours": map[string]any{}})
	other := newPhone(t)
	oconv := startConversation(t, tok.settingsAdmin, map[string]any{"phone": other, "name": "Not quiet " + uniq()}, http.StatusCreated)
	m := postOut(t, tok.settingsAdmin, oconv.ID, map[string]any{"channel": "sms", "body": "Deals " + uniq(), "automated": true})
	checkDelivered(t, settingsWS, tok.settingsAdmin, m, "sms", other, "SM")
}
