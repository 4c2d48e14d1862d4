package e2e_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"
)

// Anonymous chat sessions that leave a customer's email must not make the
// customer unfileable: the customer's SMS is still filed afterwards, and
// the customer's thread can be deleted and started afresh (issue 9, item 1).
func TestSafetyClaimsManyChatSessionsLeavingOneEmail(t *testing.T) {
	t.Parallel()
	phone := newPhone(t)
	addr := "many.sessions." + uniq() + "@example.com"
	contact := createContact(t, tok.agent, map[string]any{"name": "Many Sessions", "phones": []string{phone}, "emails": []string{addr}})

	// The widget on 100 devices, each leaving the same address, proved by
	// the site's identity hash as a signed-in customer's would be (an
	// unproved address is only a claim and adds no handle). The chat
	// limiter allows 10 sessions a minute per address, so every 10 sessions
	// come from another loopback address, as different visitors would.
	setIdentitySecret(t)
	const sessions = 100
	var c *http.Client
	for i := range sessions {
		if i%10 == 0 {
			var isolated bool
			if c, isolated = clientFrom(t); !isolated {
				t.Skip("needs distinct loopback client addresses to open 100 chat sessions")
			}
		}
		s := chatSession(t, c, demoWS)
		wantStatus(t, doVia(t, c, "POST", "/chat/"+demoWS+"/email", s.Token, map[string]any{"email": addr, "identifierHash": identityHash(addr)}), http.StatusOK)
	}
	after := getContact(t, tok.agent, contact.ID)
	t.Logf("after %d sessions the contact holds %d phones, %d emails, %d handles", sessions, len(after.Phones), len(after.Emails), len(after.Handles))
	if len(after.Handles) > 10 {
		t.Errorf("after %d sessions the contact holds %d handles, want at most 10 (the oldest released)", sessions, len(after.Handles))
	}

	// The customer texts: Twilio must get its 200, and the SMS is filed.
	body := "Where is my order? " + uniq()
	twilioSMS(t, demoWS, twilioSMSForm(phone, body))
	conv := inboxWithPreview(t, body)
	if conv.ContactID != contact.ID {
		t.Fatalf("the SMS was filed under contact %s, want %s", conv.ContactID, contact.ID)
	}

	// The thread can be deleted, and the next SMS starts a new one.
	deleteConversation(t, conv.ID)
	wantProblem(t, do(t, "GET", "/conversations/"+conv.ID, tok.admin, nil), http.StatusNotFound, "not_found", "")
	body = "Hello again " + uniq()
	twilioSMS(t, demoWS, twilioSMSForm(phone, body))
	again := inboxWithPreview(t, body)
	if again.ID == conv.ID || again.ContactID != contact.ID {
		t.Errorf("after the delete the SMS went to %s of contact %s, want a new thread of %s", again.ID, again.ContactID, contact.ID)
	}
}

// deleteConversation deletes a thread as an admin. Another test turns
// deletion off for a moment, so a 403 is retried briefly.
func deleteConversation(t *testing.T, id string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := do(t, "DELETE", "/conversations/"+id, tok.admin, nil)
		if r.Status != http.StatusForbidden || time.Now().After(deadline) {
			wantStatus(t, r, http.StatusNoContent)
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// An agent takes a handle off a contact: the handle is released, so that
// visitor's next chat message starts a contact of its own.
func TestSafetyClaimsRemoveHandle(t *testing.T) {
	t.Parallel()
	c, _ := clientFrom(t)
	s := chatSession(t, c, demoWS)
	first := "Please forget this device " + uniq()
	chatSend(t, c, demoWS, s.Token, first)
	conv := inboxWithPreview(t, first)
	handle := "webchat:" + s.VisitorID
	path := "/contacts/" + conv.ContactID + "/handles/" + url.PathEscape(handle)

	wantProblem(t, do(t, "DELETE", path, tok.other, nil), http.StatusNotFound, "not_found", "")
	wantProblem(t, do(t, "DELETE", "/contacts/"+conv.ContactID+"/handles/webchat:"+ulidLike(), tok.agent, nil), http.StatusNotFound, "not_found", "")
	wantStatus(t, do(t, "DELETE", path, tok.agent, nil), http.StatusNoContent)
	got := getContact(t, tok.agent, conv.ContactID)
	if containsStr(got.Handles, handle) || got.ID != conv.ContactID {
		t.Errorf("after DELETE %s the contact is %+v, want it without %s", path, got, handle)
	}
	wantProblem(t, do(t, "DELETE", path, tok.agent, nil), http.StatusNotFound, "not_found", "")

	next := "New me " + uniq()
	chatSend(t, c, demoWS, s.Token, next)
	if again := inboxWithPreview(t, next); again.ContactID == conv.ContactID || again.ID == conv.ID {
		t.Errorf("after the handle was removed the visitor's message went to %s of contact %s, want a new contact", again.ID, again.ContactID)
	}
}
