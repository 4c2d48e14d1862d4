package e2e_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// Scheduled messages: listed soonest first until they go out at their
// time; edited (moved, rewritten) or canceled before then; a trigger that
// fires after a cancel sends nothing.
func TestScheduledMessages(t *testing.T) {
	t.Parallel()
	phone := newPhone(t)
	conv := startConversation(t, tok.agent, map[string]any{"phone": phone, "name": "Scheduled " + uniq()}, http.StatusCreated)
	start := time.Now().Truncate(time.Millisecond)
	schedule := func(after time.Duration, body string, extra ...string) OutMessage {
		t.Helper()
		in := map[string]any{"channel": "sms", "body": body, "sendAt": sendAtOf(start.Add(after))}
		for i := 0; i+1 < len(extra); i += 2 {
			in[extra[i]] = extra[i+1]
		}
		m := postOut(t, tok.agent, conv.ID, in)
		if m.Status != "scheduled" || m.SendAt == nil || !m.SendAt.Equal(start.Add(after)) {
			t.Fatalf("posted with sendAt %s: %s, want status scheduled at that time", sendAtOf(start.Add(after)), m)
		}
		return m
	}
	soon := schedule(2*time.Second, "Reminder: your table is at 8 "+uniq())
	if soon.Timezone != "America/New_York" || soon.Recipient != phone {
		t.Errorf("scheduled message = %s, want the workspace's timezone America/New_York and recipient %s", soon, phone)
	}
	moved := schedule(3*time.Second, "Draft text "+uniq())
	canceled := schedule(2*time.Second, "Never sent "+uniq())
	msgPath := func(m OutMessage) string { return "/conversations/" + conv.ID + "/messages/" + m.ID }

	// Move one later and rewrite it; cancel one due with the first. (At
	// once, well before their times.)
	newBody := "Your table is at 8:30 now " + uniq()
	newAt := start.Add(5 * time.Second)
	edited := wantJSON[OutMessage](t, do(t, "PATCH", msgPath(moved), tok.agent, map[string]any{"body": newBody, "sendAt": sendAtOf(newAt), "timezone": "America/Chicago"}), http.StatusOK)
	if edited.Status != "scheduled" || edited.Body != newBody || edited.SendAt == nil || !edited.SendAt.Equal(newAt) || edited.Timezone != "America/Chicago" {
		t.Errorf("edited = %s, want the new body, time and timezone, still scheduled", edited)
	}
	c := wantJSON[OutMessage](t, do(t, "POST", msgPath(canceled)+"/cancel", tok.agent, nil), http.StatusOK)
	if c.Status != "canceled" {
		t.Errorf("canceled = %s", c)
	}
	later := schedule(time.Hour, "Next hour "+uniq(), "timezone", "Europe/Paris")
	if later.Timezone != "Europe/Paris" {
		t.Errorf("scheduled with timezone Europe/Paris: %s", later)
	}
	farther := schedule(2*time.Hour, "In two hours "+uniq())

	// Listed soonest first, page by page.
	ours := map[string]bool{soon.ID: true, moved.ID: true, canceled.ID: true, later.ID: true, farther.ID: true}
	sendAts := map[string]time.Time{}
	pick := func(list []OutMessage) []string {
		var out []string
		for i, m := range list {
			if i > 0 && m.SendAt != nil && list[i-1].SendAt != nil && m.SendAt.Before(*list[i-1].SendAt) {
				t.Errorf("scheduled list: %s (sendAt %s) after %s (sendAt %s); want soonest first", m.ID, m.SendAt, list[i-1].ID, list[i-1].SendAt)
			}
			if m.Status != "scheduled" || m.SendAt == nil {
				t.Errorf("scheduled list holds %s", m)
			}
			if ours[m.ID] {
				out = append(out, m.ID)
				sendAts[m.ID] = *m.SendAt
			}
		}
		return out
	}
	want := []string{soon.ID, moved.ID, later.ID, farther.ID} // not the canceled one; the moved one at its new time
	if got := pick(listScheduled(t, tok.agent, 100)); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("GET /scheduled-messages lists %v of ours, want %v", got, want)
	}
	if got := pick(listScheduled(t, tok.agent, 1)); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("GET /scheduled-messages?limit=1, page by page, lists %v of ours, want %v", got, want)
	}
	if !sendAts[moved.ID].Equal(newAt) {
		t.Errorf("the list shows the moved message at %s, want %s", sendAts[moved.ID], newAt)
	}
	wantProblem(t, do(t, "GET", "/scheduled-messages?limit=0", tok.agent, nil), http.StatusBadRequest, "invalid", "limit")
	wantProblem(t, do(t, "GET", "/scheduled-messages?cursor=forged", tok.agent, nil), http.StatusBadRequest, "invalid", "cursor")
	if got := listScheduled(t, tok.other, 100); len(pick(got)) != 0 {
		t.Errorf("another workspace sees our scheduled messages")
	}

	// Bad edits change nothing.
	for _, bad := range []struct {
		in    map[string]any
		field string
	}{
		{map[string]any{"sendAt": sendAtOf(time.Now().Add(-time.Minute))}, "sendAt"},
		{map[string]any{"sendAt": sendAtOf(time.Now().AddDate(1, 0, 2))}, "sendAt"},
		{map[string]any{"timezone": "Mars/Olympus_Mons"}, "timezone"},
		{map[string]any{"body": strings.Repeat("a", 1601)}, "body"},
		{map[string]any{"body": "  "}, "body"},
		{map[string]any{"status": "sent"}, "status"},
	} {
		wantProblem(t, do(t, "PATCH", msgPath(later), tok.agent, bad.in), http.StatusBadRequest, "invalid", bad.field)
	}
	if got := getOut(t, tok.agent, conv.ID, later.ID); got.Body != later.Body || !got.SendAt.Equal(*later.SendAt) {
		t.Errorf("refused edits changed the message: %s", got)
	}
	wantProblem(t, do(t, "PATCH", "/conversations/"+conv.ID+"/messages/"+ulidLike(), tok.agent, map[string]any{"body": "x"}), http.StatusNotFound, "not_found", "")
	wantProblem(t, do(t, "POST", "/conversations/"+conv.ID+"/messages/"+ulidLike()+"/cancel", tok.agent, nil), http.StatusNotFound, "not_found", "")
	wantProblem(t, do(t, "POST", "/conversations/"+conv.ID+"/messages/"+later.ID+"/cancel", tok.other, nil), http.StatusNotFound, "not_found", "")

	// A canceled message stays canceled, even when its schedule fires
	// anyway (as one already in flight would).
	devDeliverN(t, 5, demoWS, conv.ID, canceled.ID)
	wantProblem(t, do(t, "POST", msgPath(canceled)+"/cancel", tok.agent, nil), http.StatusConflict, "conflict", "")
	wantProblem(t, do(t, "PATCH", msgPath(canceled), tok.agent, map[string]any{"body": "revived?"}), http.StatusConflict, "conflict", "")

	// A trigger an hour early does nothing; one after a cancel neither.
	devDeliverN(t, 3, demoWS, conv.ID, later.ID)
	if got := getOut(t, tok.agent, conv.ID, later.ID); got.Status != "scheduled" {
		t.Errorf("an early trigger for a message due in an hour made it %s", got.Status)
	}
	wantJSON[OutMessage](t, do(t, "POST", msgPath(farther)+"/cancel", tok.agent, nil), http.StatusOK)
	devDeliverN(t, 5, demoWS, conv.ID, farther.ID)
	if got := getOut(t, tok.agent, conv.ID, farther.ID); got.Status != "canceled" {
		t.Errorf("a trigger after the cancel made it %s", got)
	}

	// The first goes out at its time.
	s := waitSent(t, demoWS, soon.ID)
	if s.Body != soon.Body || s.To != phone || s.At.Before(soon.SendAt.Add(-100*time.Millisecond)) {
		t.Errorf("scheduled send = %+v, want %q to %s at or after %s", s, soon.Body, phone, soon.SendAt)
	}
	sent := waitStatus(t, tok.agent, conv.ID, soon.ID, "sent")
	wantProblem(t, do(t, "PATCH", msgPath(soon), tok.agent, map[string]any{"body": "too late"}), http.StatusConflict, "conflict", "")
	wantProblem(t, do(t, "POST", msgPath(soon)+"/cancel", tok.agent, nil), http.StatusConflict, "conflict", "")
	if got := getOut(t, tok.agent, conv.ID, soon.ID); got.Status != sent.Status || got.Body != soon.Body {
		t.Errorf("a refused edit of a sent message changed it: %s", got)
	}
	// Sent messages leave the list.
	for _, m := range listScheduled(t, tok.agent, 100) {
		if m.ID == soon.ID {
			t.Errorf("a sent message is still listed: %s", m)
		}
	}

	// Past the original times, the moved one has not gone, nor the canceled.
	time.Sleep(time.Until(start.Add(4 * time.Second)))
	wantNotSent(t, demoWS, moved.ID, "moved to "+sendAtOf(newAt)+", checked at "+sendAtOf(time.Now()))
	wantNotSent(t, demoWS, canceled.ID, "canceled")
	s = waitSent(t, demoWS, moved.ID)
	if s.Body != newBody || s.At.Before(newAt.Add(-100*time.Millisecond)) {
		t.Errorf("moved send = %+v, want %q at or after %s", s, newBody, sendAtOf(newAt))
	}
	waitStatus(t, tok.agent, conv.ID, moved.ID, "sent")
	for _, m := range []OutMessage{canceled, farther} {
		wantNotSent(t, demoWS, m.ID, "canceled")
		if got := getOut(t, tok.agent, conv.ID, m.ID); got.Status != "canceled" {
			t.Errorf("canceled message became %s", got)
		}
	}
	wantJSON[OutMessage](t, do(t, "POST", msgPath(later)+"/cancel", tok.agent, nil), http.StatusOK)
}

// A scheduled message can only be edited or canceled while it is still
// scheduled: racing cancels agree on one winner.
func TestScheduledCancelRace(t *testing.T) {
	t.Parallel()
	conv := newConversation(t, tok.agent, "Cancel race "+uniq())
	m := postOut(t, tok.agent, conv.ID, map[string]any{"channel": "sms", "body": "Race " + uniq(), "sendAt": sendAtOf(time.Now().Add(time.Hour))})
	statuses := make([]int, 6)
	var wg sync.WaitGroup
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := send(t, "POST", "/conversations/"+conv.ID+"/messages/"+m.ID+"/cancel", tok.agent, nil)
			if err != nil {
				t.Error(err)
				return
			}
			statuses[i] = r.Status
		}()
	}
	wg.Wait()
	ok := 0
	for _, s := range statuses {
		switch s {
		case http.StatusOK:
			ok++
		case http.StatusConflict:
		default:
			t.Errorf("a concurrent cancel answered %d", s)
		}
	}
	if ok != 1 {
		t.Errorf("6 concurrent cancels: %d answered 200 (statuses %v), want exactly 1 and the rest 409", ok, statuses)
	}
}

// What changes between posting a scheduled message and its time counts
// when it goes: an opt-out fails it, a deleted conversation takes it
// along, and it goes where the message says it went.
func TestScheduledMessageMeetsChanges(t *testing.T) {
	t.Parallel()
	due := time.Now().Add(2 * time.Second)
	type item struct {
		conv  Conversation
		m     OutMessage
		phone string
	}
	schedule := func(name string) item {
		phone := newPhone(t)
		conv := startConversation(t, tok.agent, map[string]any{"phone": phone, "name": name + " " + uniq()}, http.StatusCreated)
		m := postOut(t, tok.agent, conv.ID, map[string]any{"channel": "sms", "body": name + " " + uniq(), "sendAt": sendAtOf(due)})
		return item{conv, m, phone}
	}
	stop := schedule("Stops")
	twilioSMS(t, demoWS, twilioSMSForm(stop.phone, "STOP"))

	deleted := schedule("Deleted")
	wantStatus(t, do(t, "DELETE", "/conversations/"+deleted.conv.ID, tok.admin, nil), http.StatusNoContent)
	for _, m := range listScheduled(t, tok.agent, 100) {
		if m.ID == deleted.m.ID {
			t.Errorf("a message of a deleted conversation is still listed as scheduled: %s", m)
		}
	}

	moved := schedule("New number")
	newNumber := newPhone(t)
	patchOutContact(t, tok.agent, moved.conv.ContactID, map[string]any{"phones": []string{newNumber}})

	gone := schedule("No number")
	patchOutContact(t, tok.agent, gone.conv.ContactID, map[string]any{"phones": []string{}})

	time.Sleep(time.Until(due))
	got := waitStatus(t, tok.agent, stop.conv.ID, stop.m.ID, "failed", "sent")
	if got.Status != "failed" || got.Error == nil || got.Error.Code != "opted_out" {
		t.Errorf("scheduled SMS to a contact who texted STOP before it was due = %s, want failed with error code opted_out", got)
	}
	wantNotSent(t, demoWS, stop.m.ID, "the contact opted out")

	s := waitSent(t, demoWS, moved.m.ID)
	final := waitStatus(t, tok.agent, moved.conv.ID, moved.m.ID, "sent")
	if s.To != final.Recipient {
		t.Errorf("scheduled SMS posted when the contact's number was %s, sent after it became %s: it went to %s but the message says recipient %q",
			moved.phone, newNumber, s.To, final.Recipient)
	}

	last := waitStatus(t, tok.agent, gone.conv.ID, gone.m.ID, "failed", "sent")
	if sends := sendsOfMessage(outbox(t, demoWS), gone.m.ID); len(sends) != 0 || last.Status != "failed" {
		t.Errorf("scheduled SMS whose contact has no phone number any more when it is due (PATCH /contacts/%s {phones: []}): status %s, sends %+v; "+
			"want it failed and nothing handed to the provider (a send with an empty To)", gone.conv.ContactID, last, sends)
	}

	time.Sleep(300 * time.Millisecond)
	wantNotSent(t, demoWS, deleted.m.ID, "its conversation was deleted")
}
