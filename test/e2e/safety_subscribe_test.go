package e2e_test

import (
	"net/http"
	"testing"
	"time"
)

// Issue 9 item 12 (seed 003): a signup form, through the signed external
// event webhook, subscribes a new contact on WhatsApp; the first consent
// starts the welcome series, and a redelivery of the event changes nothing.
func TestSafetySubscribeFormEventStartsWelcomeSeries(t *testing.T) {
	needTimeScale(t)
	t.Parallel()
	tag := "form-welcomed-" + uniq()
	automation := createAutomation(t, map[string]any{"type": "contact.subscribed", "channel": "whatsapp"},
		map[string]any{"type": "tag", "add": []string{tag}},
		map[string]any{"type": "message", "mode": "draft", "channel": "whatsapp", "body": "Welcome to E2E Co on WhatsApp!"})
	phone := newPhone(t)
	event := map[string]any{"id": "form-" + uniq(), "type": "contact.subscribed", "channel": "whatsapp", "marketing": true,
		"occurredAt": time.Now().UTC().Format(time.RFC3339Nano), "contact": map[string]any{"phone": phone, "name": "Form Signup"}}
	accepted := wantJSON[struct {
		ID        string `json:"id"`
		Type      string `json:"type"`
		ContactID string `json:"contactId"`
	}](t, postEvent(t, demoWS, event), http.StatusAccepted)
	if accepted.Type != "contact.subscribed" || accepted.ContactID == "" {
		t.Fatalf("accepted %+v, want a contact.subscribed event for a contact", accepted)
	}
	waitRun(t, accepted.ContactID, automation, "completed", 15*time.Second)
	got := getContact(t, tok.agent, accepted.ContactID)
	if !containsStr(got.Tags, tag) || got.Consent["whatsapp"].Status != "opted_in" || got.Consent["whatsapp"].Source != "form" || !got.Marketing["whatsapp"] {
		t.Errorf("after the welcome series: tags %v, whatsapp consent %+v, marketing %v", got.Tags, got.Consent["whatsapp"], got.Marketing)
	}
	history := func() []formConsentRecord {
		return wantJSON[Page[formConsentRecord]](t, do(t, "GET", "/contacts/"+accepted.ContactID+"/consent", tok.agent, nil), http.StatusOK).Items
	}
	if h := history(); len(h) != 1 || h[0].Source != "form" || h[0].EventID != event["id"] || h[0].Previous != "" {
		t.Errorf("consent history %+v, want one form entry from event %s", h, event["id"])
	}

	// The shop retries the same event: no second history entry, no second run.
	again := wantJSON[struct {
		ID string `json:"id"`
	}](t, postEvent(t, demoWS, event), http.StatusAccepted)
	if again.ID != accepted.ID {
		t.Errorf("redelivery published %s, want the same event %s", again.ID, accepted.ID)
	}
	time.Sleep(scaled(0) + time.Second)
	if h := history(); len(h) != 1 {
		t.Errorf("consent history after a redelivery: %d entries, want 1", len(h))
	}
	runs := wantJSON[struct {
		Items []Run `json:"items"`
	}](t, do(t, "GET", "/contacts/"+accepted.ContactID+"/runs", tok.agent, nil), http.StatusOK)
	if n := countRuns(runs.Items, automation); n != 1 {
		t.Errorf("runs after a redelivery: %d, want 1", n)
	}

	// An opt-out after the signup stands: a late redelivery of the form
	// does not subscribe the contact again.
	wantJSON[Contact](t, do(t, "POST", "/contacts/"+accepted.ContactID+"/opt-out", tok.agent, map[string]any{"channel": "whatsapp"}), http.StatusOK)
	wantStatus(t, postEvent(t, demoWS, event), http.StatusAccepted)
	if c := getContact(t, tok.agent, accepted.ContactID); c.Consent["whatsapp"].Status != "opted_out" {
		t.Errorf("whatsapp consent after an opt-out and a redelivered signup: %+v, want opted_out", c.Consent["whatsapp"])
	}
}

// A subscription names its channel; bad ones are refused and nothing is written.
func TestSafetySubscribeFormEventBadInput(t *testing.T) {
	t.Parallel()
	for name, extra := range map[string]map[string]any{
		"no channel":      {},
		"unknown channel": {"channel": "pigeon"},
	} {
		phone := newPhone(t)
		event := map[string]any{"id": "form-" + uniq(), "type": "contact.subscribed", "contact": map[string]any{"phone": phone}}
		for k, v := range extra {
			event[k] = v
		}
		if r := postEvent(t, demoWS, event); r.Status != http.StatusBadRequest {
			t.Errorf("%s: %s, want 400", name, r)
		}
		if _, found := contactByPhone(t, phone); found {
			t.Errorf("%s: a contact was created for a refused event", name)
		}
	}
}

// countRuns counts the runs of one sequence: tests running alongside in the
// same workspace may have automations with the same trigger.
func countRuns(runs []Run, sequenceID string) int {
	n := 0
	for _, r := range runs {
		if r.SequenceID == sequenceID {
			n++
		}
	}
	return n
}

// formConsentRecord is a consent history entry with the event it came from.
type formConsentRecord struct {
	ConsentRecord
	EventID string `json:"eventId"`
}
