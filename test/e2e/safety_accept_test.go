package e2e_test

import (
	"net/http"
	"strings"
	"testing"
)

// Issue 9 item 2, the agent's side: a claimed email proves nothing, so an
// agent who knows the visitor (from the chat itself, say) vouches for it.

// AcceptedContact is a Contact with the claim fields an accept records.
type AcceptedContact struct {
	Contact
	VerifiedHandles []string `json:"verifiedHandles"`
	ClaimedEmail    *struct {
		Address          string `json:"address"`
		Verified         bool   `json:"verified"`
		MatchesContactID string `json:"matchesContactId"`
		Handle           string `json:"handle"`
		AcceptedBy       string `json:"acceptedBy"`
	} `json:"claimedEmail"`
}

func claimedEmailPath(contactID string) string { return "/contacts/" + contactID + "/claimed-email" }

// A visitor claims a customer's email; an agent accepts the claim: the
// visitor's messages join the customer's thread, the agent's acceptance is
// recorded there, and chat becomes a channel the customer's replies may take.
func TestSafetyWebChatAgentAcceptsClaim(t *testing.T) {
	t.Parallel()
	c, _ := clientFrom(t)
	addr, known, thread := knownCustomer(t)
	body := "It's me, the customer, from the website " + uniq()
	s, visitorThread := visitorWith(t, c, body)
	wantJSON[ChatEmailResult](t, doVia(t, c, "POST", "/chat/"+demoWS+"/email", s.Token, map[string]any{"email": addr}), http.StatusOK)

	claimed := wantJSON[AcceptedContact](t, do(t, "GET", "/contacts/"+visitorThread.ContactID, tok.agent, nil), http.StatusOK)
	if cl := claimed.ClaimedEmail; cl == nil || cl.Handle != "webchat:"+s.VisitorID {
		t.Errorf("claim = %+v, want it to name the visitor's handle webchat:%s", cl, s.VisitorID)
	}

	// Another workspace cannot see or accept it; a claim of another address is a conflict.
	wantProblem(t, do(t, "POST", claimedEmailPath(visitorThread.ContactID)+"/accept", tok.otherAgent, map[string]any{"address": addr}), http.StatusNotFound, "not_found", "")
	wantProblem(t, do(t, "DELETE", claimedEmailPath(visitorThread.ContactID), tok.otherAgent, nil), http.StatusNotFound, "not_found", "")
	wantProblem(t, do(t, "POST", claimedEmailPath(visitorThread.ContactID)+"/accept", tok.agent, map[string]any{"address": "someone.else." + uniq() + "@example.com"}), http.StatusConflict, "conflict", "")
	wantProblem(t, do(t, "POST", claimedEmailPath(known.ID)+"/accept", tok.agent, map[string]any{"address": addr}), http.StatusNotFound, "not_found", "")

	accepted := wantJSON[AcceptedContact](t, do(t, "POST", claimedEmailPath(visitorThread.ContactID)+"/accept", tok.agent, map[string]any{"address": addr}), http.StatusOK)
	if accepted.ID != known.ID || !containsStr(accepted.Handles, "webchat:"+s.VisitorID) || !containsStr(accepted.VerifiedHandles, "webchat:"+s.VisitorID) {
		t.Errorf("accept answered %+v, want the customer %s with the visitor's handle verified", accepted, known.ID)
	}
	// Repeating it is the same success.
	again := wantJSON[AcceptedContact](t, do(t, "POST", claimedEmailPath(visitorThread.ContactID)+"/accept", tok.agent, map[string]any{"address": addr}), http.StatusOK)
	if again.ID != known.ID {
		t.Errorf("a repeated accept answered contact %s, want %s", again.ID, known.ID)
	}

	msgs := listMessages(t, tok.agent, thread.ID, "")
	var chat, notes []Message
	for _, m := range msgs {
		switch m.Kind {
		case "message":
			chat = append(chat, m)
		case "activity":
			notes = append(notes, m)
		}
	}
	if len(chat) != 1 || chat[0].Body != body {
		t.Errorf("customer's thread messages = %+v, want the visitor's message", chat)
	}
	if len(notes) != 1 || notes[0].AuthorID != demoAgent || !strings.Contains(notes[0].Body, demoAgent) || !strings.Contains(notes[0].Body, addr) {
		t.Errorf("customer's thread activities = %+v, want one note that %s accepted %s", notes, demoAgent, addr)
	}
	wantProblem(t, do(t, "GET", "/conversations/"+visitorThread.ID, tok.agent, nil), http.StatusNotFound, "not_found", "")

	// The visitor's claim stays on record as accepted, by whom.
	v := wantJSON[AcceptedContact](t, do(t, "GET", "/contacts/"+visitorThread.ContactID, tok.agent, nil), http.StatusOK)
	if cl := v.ClaimedEmail; cl == nil || !cl.Verified || cl.AcceptedBy != demoAgent || cl.MatchesContactID != known.ID {
		t.Errorf("visitor's claim after accepting = %+v, want verified, acceptedBy %s, matching %s", cl, demoAgent, known.ID)
	}

	// Vouched for and online: the agent's reply without a channel may go to the chat.
	wantStatus(t, doVia(t, c, "POST", "/chat/"+demoWS+"/heartbeat", s.Token, nil), http.StatusOK)
	reply := postOut(t, tok.agent, thread.ID, map[string]any{"body": "Thanks, found your order " + uniq()})
	if reply.Channel != "webchat" {
		t.Errorf("reply to an accepted online visitor went on %s, want webchat", reply.Channel)
	}
}

// An agent dismisses a claim: it is gone, the visitor stays their own
// contact, and dismissing again is the same.
func TestSafetyWebChatAgentDismissesClaim(t *testing.T) {
	t.Parallel()
	c, _ := clientFrom(t)
	addr, known, _ := knownCustomer(t)
	s, visitorThread := visitorWith(t, c, "Let me in "+uniq())
	wantJSON[ChatEmailResult](t, doVia(t, c, "POST", "/chat/"+demoWS+"/email", s.Token, map[string]any{"email": addr}), http.StatusOK)

	for range 2 {
		wantStatus(t, do(t, "DELETE", claimedEmailPath(visitorThread.ContactID), tok.agent, nil), http.StatusNoContent)
		v := wantJSON[AcceptedContact](t, do(t, "GET", "/contacts/"+visitorThread.ContactID, tok.agent, nil), http.StatusOK)
		if v.ID != visitorThread.ContactID || v.ClaimedEmail != nil || len(v.Emails) != 0 {
			t.Errorf("dismiss answered %+v, claim %+v; want the visitor without a claim", v.Contact, v.ClaimedEmail)
		}
	}
	wantProblem(t, do(t, "POST", claimedEmailPath(visitorThread.ContactID)+"/accept", tok.agent, map[string]any{"address": addr}), http.StatusNotFound, "not_found", "")
	if got := getContact(t, tok.agent, known.ID); containsStr(got.Handles, "webchat:"+s.VisitorID) {
		t.Errorf("a dismissed claim joined the visitor to the customer")
	}
	wantProblem(t, do(t, "POST", claimedEmailPath(visitorThread.ContactID)+"/accept", tok.agent, map[string]any{}), http.StatusBadRequest, "invalid", "address")
}

// Accepting an address nobody has gives it to the visitor, noted in their
// own thread; a claim whose address went to a contact since is a conflict.
func TestSafetyWebChatAgentAcceptsNewAddress(t *testing.T) {
	t.Parallel()
	c, _ := clientFrom(t)

	s, visitorThread := visitorWith(t, c, "New customer here "+uniq())
	fresh := "fresh." + uniq() + "@example.com"
	wantJSON[ChatEmailResult](t, doVia(t, c, "POST", "/chat/"+demoWS+"/email", s.Token, map[string]any{"email": fresh}), http.StatusOK)
	for range 2 {
		v := wantJSON[AcceptedContact](t, do(t, "POST", claimedEmailPath(visitorThread.ContactID)+"/accept", tok.admin, map[string]any{"address": strings.ToUpper(fresh)}), http.StatusOK)
		if v.ID != visitorThread.ContactID || !containsStr(v.Emails, fresh) || !containsStr(v.VerifiedHandles, "webchat:"+s.VisitorID) {
			t.Errorf("accepting a new address answered %+v (verified %q), want the visitor with %s", v.Contact, v.VerifiedHandles, fresh)
		}
		if cl := v.ClaimedEmail; cl == nil || !cl.Verified || cl.AcceptedBy != demoAdmin || cl.MatchesContactID != "" {
			t.Errorf("claim after accepting = %+v, want verified, acceptedBy %s", cl, demoAdmin)
		}
	}
	notes := 0
	for _, m := range listMessages(t, tok.agent, visitorThread.ID, "") {
		if m.Kind == "activity" && strings.Contains(m.Body, demoAdmin) && strings.Contains(m.Body, fresh) {
			notes++
		}
	}
	if notes != 1 {
		t.Errorf("visitor's thread has %d notes of the accept, want 1", notes)
	}

	// The address went to a contact after the claim: the agent saw a claim
	// matching nobody, so accepting now would merge into someone unseen.
	s2, thread2 := visitorWith(t, c, "Another newcomer "+uniq())
	later := "later." + uniq() + "@example.com"
	wantJSON[ChatEmailResult](t, doVia(t, c, "POST", "/chat/"+demoWS+"/email", s2.Token, map[string]any{"email": later}), http.StatusOK)
	createContact(t, tok.agent, map[string]any{"name": "Came later " + uniq(), "emails": []string{later}})
	wantProblem(t, do(t, "POST", claimedEmailPath(thread2.ContactID)+"/accept", tok.agent, map[string]any{"address": later}), http.StatusConflict, "conflict", "")
	if v := wantJSON[AcceptedContact](t, do(t, "GET", "/contacts/"+thread2.ContactID, tok.agent, nil), http.StatusOK); v.ClaimedEmail == nil || v.ClaimedEmail.Verified {
		t.Errorf("a refused accept changed the claim: %+v", v.ClaimedEmail)
	}
}
