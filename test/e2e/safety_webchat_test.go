package e2e_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/parley-inbox/parley/shared/dev/signing"
)

// Issue 9 item 2: an email typed into the web chat is a claim, not a proof.

// ClaimedContact is a Contact with the web chat email claim.
type ClaimedContact struct {
	Contact
	ClaimedEmail *struct {
		Address          string    `json:"address"`
		Verified         bool      `json:"verified"`
		MatchesContactID string    `json:"matchesContactId"`
		ClaimedAt        time.Time `json:"claimedAt"`
	} `json:"claimedEmail"`
}

// ChatEmailResult is what the widget hears after leaving or verifying an email.
type ChatEmailResult struct {
	Email    string `json:"email"`
	Verified bool   `json:"verified"`
}

// knownCustomer is a contact with an email and a thread the team wrote in.
func knownCustomer(t *testing.T) (addr string, c Contact, thread Conversation) {
	t.Helper()
	addr = "customer." + uniq() + "@example.com"
	c = createContact(t, tok.agent, map[string]any{"name": "Known Customer " + uniq(), "emails": []string{addr}})
	thread = startConversation(t, tok.agent, map[string]any{"contactId": c.ID}, http.StatusCreated)
	return addr, c, thread
}

// visitorWith starts a chat session that has written once and is online.
func visitorWith(t *testing.T, c *http.Client, body string) (ChatSession, Conversation) {
	t.Helper()
	s := chatSession(t, c, demoWS)
	chatSend(t, c, demoWS, s.Token, body)
	wantStatus(t, doVia(t, c, "POST", "/chat/"+demoWS+"/heartbeat", s.Token, nil), http.StatusOK)
	return s, inboxWithPreview(t, body)
}

// A stranger who types a customer's address into the chat does not get the
// customer's replies: the visitor stays a separate contact with an
// unverified claim, and the agent's reply without a channel goes by email.
func TestSafetyWebChatEmailIsAClaim(t *testing.T) {
	t.Parallel()
	c, _ := clientFrom(t)
	addr, known, thread := knownCustomer(t)
	body := "Hi, I am the customer, honest " + uniq()
	s, visitorThread := visitorWith(t, c, body)

	if r := doVia(t, c, "POST", "/chat/"+demoWS+"/email", s.Token, map[string]any{"email": addr}); r.Status != http.StatusOK {
		t.Errorf("%s: want 200 telling the widget the address is unverified", r)
	} else if res := wantJSON[ChatEmailResult](t, r, http.StatusOK); res.Email != addr || res.Verified {
		t.Errorf("leave email answered %+v, want %s unverified", res, addr)
	}

	// The widget keeps sending heartbeats while the page is open.
	wantStatus(t, doVia(t, c, "POST", "/chat/"+demoWS+"/heartbeat", s.Token, nil), http.StatusOK)

	reply := postOut(t, tok.agent, thread.ID, map[string]any{"body": "Your password reset code is 771204 " + uniq()})
	if reply.Channel != "email" || reply.Recipient != "" && reply.Recipient != addr {
		t.Errorf("after a chat visitor typed %s, the agent's reply to that customer without a channel went on %s to %q, want email to %s",
			addr, reply.Channel, reply.Recipient, addr)
	}
	sent := waitSent(t, demoWS, reply.ID)
	if sent.Channel != "email" || sent.To != addr {
		t.Errorf("the reply was sent on %s to %q, want email to %s", sent.Channel, sent.To, addr)
	}
	for _, v := range chatHistory(t, c, demoWS, s.Token) {
		if v.ID == reply.ID || strings.Contains(v.Body, "771204") {
			t.Errorf("the visitor's chat shows the customer's reply: %+v", v)
		}
	}

	// The visitor's thread stays theirs, and shows the claim.
	if got := getConversation(t, tok.agent, visitorThread.ID); got.ContactID == known.ID {
		t.Errorf("the visitor's thread moved to the customer %s", known.ID)
	}
	visitor := wantJSON[ClaimedContact](t, do(t, "GET", "/contacts/"+visitorThread.ContactID, tok.agent, nil), http.StatusOK)
	if visitor.ID == known.ID || len(visitor.Emails) != 0 {
		t.Errorf("visitor contact = %+v, want a contact of its own without the address", visitor.Contact)
	}
	if cl := visitor.ClaimedEmail; cl == nil || cl.Address != addr || cl.Verified || cl.MatchesContactID != known.ID {
		t.Errorf("visitor claimedEmail = %+v, want {%s verified:false matchesContactId:%s}", cl, addr, known.ID)
	}
	if got := getContact(t, tok.agent, known.ID); containsStr(got.Handles, "webchat:"+s.VisitorID) {
		t.Errorf("the customer's contact took the unverified visitor's handle: %q", got.Handles)
	}

	// The visitor's next message stays in the visitor's thread.
	next := "And another thing " + uniq()
	chatSend(t, c, demoWS, s.Token, next)
	if got := inboxWithPreview(t, next); got.ID != visitorThread.ID {
		t.Errorf("the visitor's next message went to %s, want their own thread %s", got.ID, visitorThread.ID)
	}

	// An address nobody has is a claim too: it does not become the
	// visitor's, so that address's real owner later starts a contact of
	// their own instead of writing into the stranger's.
	fresh := "nobody." + uniq() + "@example.com"
	wantJSON[ChatEmailResult](t, doVia(t, c, "POST", "/chat/"+demoWS+"/email", s.Token, map[string]any{"email": fresh}), http.StatusOK)
	visitor = wantJSON[ClaimedContact](t, do(t, "GET", "/contacts/"+visitorThread.ContactID, tok.agent, nil), http.StatusOK)
	if len(visitor.Emails) != 0 || visitor.ClaimedEmail == nil || visitor.ClaimedEmail.Address != fresh || visitor.ClaimedEmail.MatchesContactID != "" {
		t.Errorf("visitor after claiming a new address = %+v, claim %+v; want no email and an unverified claim of %s", visitor.Contact, visitor.ClaimedEmail, fresh)
	}
	if _, ok := contactByEmail(t, fresh); ok {
		t.Errorf("an unverified claim made %s a contact's address", fresh)
	}
}

// identitySecret is the demo workspace's web chat identity secret in these tests.
const identitySecret = "e2e-identity-secret-0123456789abcdef"

// setIdentitySecret gives the demo workspace the tests' identity secret.
func setIdentitySecret(t *testing.T) map[string]any {
	t.Helper()
	return wantJSON[map[string]any](t, do(t, "PATCH", "/workspace", tok.admin, map[string]any{"webChatIdentitySecret": identitySecret}), http.StatusOK)
}

func identityHash(email string) string {
	return signing.WebChatIdentity(identitySecret, email)
}

// The site vouches for a logged-in visitor by signing their email with the
// workspace's identity secret (as Intercom and Chatwoot do): a valid hash
// joins the visitor to the customer; a wrong one is refused.
func TestSafetyWebChatIdentityVerification(t *testing.T) {
	t.Parallel()
	ws := setIdentitySecret(t)
	settings, _ := ws["settings"].(map[string]any)
	if strings.Contains(string(do(t, "GET", "/workspace", tok.admin, nil).Body), identitySecret) || settings["webChatIdentitySecret"] != nil {
		t.Errorf("the workspace shows its identity secret: %v", settings)
	}
	if hint, _ := settings["webChatIdentitySecretHint"].(string); !strings.HasSuffix(identitySecret, strings.TrimLeft(hint, "…")) || hint == "" {
		t.Errorf("webChatIdentitySecretHint = %q, want the secret's last characters", hint)
	}
	wantProblem(t, do(t, "PATCH", "/workspace", tok.agent, map[string]any{"webChatIdentitySecret": "agents-cannot-set-this-0123456789"}), http.StatusForbidden, "forbidden", "")
	wantProblem(t, do(t, "PATCH", "/workspace", tok.admin, map[string]any{"webChatIdentitySecret": "short"}), http.StatusBadRequest, "invalid", "webChatIdentitySecret")

	c, _ := clientFrom(t)
	addr, known, thread := knownCustomer(t)

	// A wrong hash: refused, nothing recorded.
	s, visitorThread := visitorWith(t, c, "Signed in, wrong hash "+uniq())
	wantProblem(t, doVia(t, c, "POST", "/chat/"+demoWS+"/email", s.Token, map[string]any{"email": addr, "identifierHash": identityHash(addr + "x")}), http.StatusForbidden, "forbidden", "")
	wantProblem(t, doVia(t, c, "POST", "/chat/"+demoWS+"/email", s.Token, map[string]any{"email": addr, "identifierHash": "not hex"}), http.StatusForbidden, "forbidden", "")
	if v := wantJSON[ClaimedContact](t, do(t, "GET", "/contacts/"+visitorThread.ContactID, tok.agent, nil), http.StatusOK); v.ClaimedEmail != nil || len(v.Emails) != 0 {
		t.Errorf("a refused hash left %+v / %+v on the visitor", v.ClaimedEmail, v.Emails)
	}
	if got := getContact(t, tok.agent, known.ID); containsStr(got.Handles, "webchat:"+s.VisitorID) {
		t.Errorf("a wrong hash joined the visitor to the customer")
	}

	// The right hash: joined as the customer.
	body := "Signed in as the customer " + uniq()
	s2, visitorThread2 := visitorWith(t, c, body)
	res := wantJSON[ChatEmailResult](t, doVia(t, c, "POST", "/chat/"+demoWS+"/email", s2.Token, map[string]any{"email": addr, "identifierHash": identityHash(addr)}), http.StatusOK)
	if !res.Verified {
		t.Errorf("a valid identity hash answered %+v, want verified", res)
	}
	if got := getContact(t, tok.agent, known.ID); !containsStr(got.Handles, "webchat:"+s2.VisitorID) {
		t.Errorf("customer handles = %q, want the verified visitor's", got.Handles)
	}
	if msgs := listMessages(t, tok.agent, thread.ID, ""); len(msgs) != 1 || msgs[0].Body != body {
		t.Errorf("customer's thread = %+v, want the verified visitor's message", msgs)
	}
	wantProblem(t, do(t, "GET", "/conversations/"+visitorThread2.ID, tok.agent, nil), http.StatusNotFound, "not_found", "")
	// Verified and online: chat is the customer's channel now.
	wantStatus(t, doVia(t, c, "POST", "/chat/"+demoWS+"/heartbeat", s2.Token, nil), http.StatusOK)
	reply := postOut(t, tok.agent, thread.ID, map[string]any{"body": "Welcome back " + uniq()})
	if reply.Channel != "webchat" {
		t.Errorf("reply to a verified online visitor went on %s, want webchat", reply.Channel)
	}
}

var codeRE = regexp.MustCompile(`\b(\d{6})\b`)

// emailedCode waits for the newest verification code sent to addr.
func emailedCode(t *testing.T, addr string) string {
	t.Helper()
	deadline := time.Now().Add(sendWait)
	for {
		list := outbox(t, demoWS)
		for i := len(list) - 1; i >= 0; i-- {
			if list[i].Channel == "email" && list[i].To == addr {
				if m := codeRE.FindStringSubmatch(list[i].Body); m != nil {
					return m[1]
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no verification code was emailed to %s", addr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// A visitor proves an address by the code emailed to it: then they join.
// Wrong codes are counted, and past the limit the address is locked.
func TestSafetyWebChatEmailCode(t *testing.T) {
	t.Parallel()

	t.Run("verify", func(t *testing.T) {
		c, _ := clientFrom(t)
		addr, known, thread := knownCustomer(t)
		body := "Please verify me " + uniq()
		s, visitorThread := visitorWith(t, c, body)
		wantStatus(t, doVia(t, c, "POST", "/chat/"+demoWS+"/email/code", s.Token, map[string]any{"email": addr}), http.StatusAccepted)
		v := wantJSON[ClaimedContact](t, do(t, "GET", "/contacts/"+visitorThread.ContactID, tok.agent, nil), http.StatusOK)
		if v.ClaimedEmail == nil || v.ClaimedEmail.Address != addr || v.ClaimedEmail.Verified {
			t.Errorf("claim while the code is out = %+v, want %s unverified", v.ClaimedEmail, addr)
		}
		code := emailedCode(t, addr)
		res := wantJSON[ChatEmailResult](t, doVia(t, c, "POST", "/chat/"+demoWS+"/email/verify", s.Token, map[string]any{"email": addr, "code": code}), http.StatusOK)
		if !res.Verified || res.Email != addr {
			t.Errorf("verify answered %+v, want %s verified", res, addr)
		}
		// A retried verify is the same success.
		wantJSON[ChatEmailResult](t, doVia(t, c, "POST", "/chat/"+demoWS+"/email/verify", s.Token, map[string]any{"email": addr, "code": code}), http.StatusOK)
		if got := getContact(t, tok.agent, known.ID); !containsStr(got.Handles, "webchat:"+s.VisitorID) {
			t.Errorf("customer handles = %q, want the verified visitor's", got.Handles)
		}
		if msgs := listMessages(t, tok.agent, thread.ID, ""); len(msgs) != 1 || msgs[0].Body != body {
			t.Errorf("customer's thread = %+v, want the visitor's message", msgs)
		}
		// Another visitor cannot use the code.
		other := chatSession(t, c, demoWS)
		wantProblem(t, doVia(t, c, "POST", "/chat/"+demoWS+"/email/verify", other.Token, map[string]any{"email": addr, "code": code}), http.StatusForbidden, "forbidden", "")
	})

	t.Run("a new address becomes the visitor's", func(t *testing.T) {
		c, _ := clientFrom(t)
		addr := "fresh." + uniq() + "@example.com"
		s, visitorThread := visitorWith(t, c, "New here "+uniq())
		wantStatus(t, doVia(t, c, "POST", "/chat/"+demoWS+"/email/code", s.Token, map[string]any{"email": addr}), http.StatusAccepted)
		wantJSON[ChatEmailResult](t, doVia(t, c, "POST", "/chat/"+demoWS+"/email/verify", s.Token, map[string]any{"email": addr, "code": emailedCode(t, addr)}), http.StatusOK)
		v := wantJSON[ClaimedContact](t, do(t, "GET", "/contacts/"+visitorThread.ContactID, tok.agent, nil), http.StatusOK)
		if len(v.Emails) != 1 || v.Emails[0] != addr || v.ClaimedEmail != nil {
			t.Errorf("visitor after verifying a new address = %+v, claim %+v; want the address and no claim", v.Contact, v.ClaimedEmail)
		}
	})

	t.Run("wrong codes lock", func(t *testing.T) {
		c, _ := clientFrom(t)
		addr, known, _ := knownCustomer(t)
		s, _ := visitorWith(t, c, "Guessing codes "+uniq())
		wantStatus(t, doVia(t, c, "POST", "/chat/"+demoWS+"/email/code", s.Token, map[string]any{"email": addr}), http.StatusAccepted)
		code := emailedCode(t, addr)
		wrong := "000000"
		if code == wrong {
			wrong = "111111"
		}
		for range 5 {
			wantProblem(t, doVia(t, c, "POST", "/chat/"+demoWS+"/email/verify", s.Token, map[string]any{"email": addr, "code": wrong}), http.StatusForbidden, "forbidden", "")
		}
		// Locked: even the right code is refused now, and no new code is sent.
		wantProblem(t, doVia(t, c, "POST", "/chat/"+demoWS+"/email/verify", s.Token, map[string]any{"email": addr, "code": code}), http.StatusTooManyRequests, "rate_limited", "")
		wantProblem(t, doVia(t, c, "POST", "/chat/"+demoWS+"/email/code", s.Token, map[string]any{"email": addr}), http.StatusTooManyRequests, "rate_limited", "")
		if got := getContact(t, tok.agent, known.ID); containsStr(got.Handles, "webchat:"+s.VisitorID) {
			t.Errorf("a locked-out guesser joined the customer")
		}
		wantProblem(t, doVia(t, c, "POST", "/chat/"+demoWS+"/email/verify", s.Token, map[string]any{"email": addr, "code": "12345"}), http.StatusBadRequest, "invalid", "")
	})
}
