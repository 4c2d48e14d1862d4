package e2e_test

import (
	"strings"
	"testing"
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
