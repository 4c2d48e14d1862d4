package e2e_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// A visitor's session is a thread: what they send is in it, agents reply
// into it, internal notes stay out of the visitor's view, the same token
// keeps the thread and a new session starts another.
func TestWebChatThread(t *testing.T) {
	t.Parallel()
	c, _ := clientFrom(t)
	r := doVia(t, c, "POST", "/chat/"+demoWS+"/sessions", "", nil, "Origin", "https://shop.example")
	s := wantJSON[ChatSession](t, r, http.StatusCreated)
	// The widget runs on customers' sites.
	if got := r.Header.Get("Access-Control-Allow-Origin"); got != "*" {
		t.Errorf("Access-Control-Allow-Origin = %q, want *", got)
	}
	if status, _ := probe(t, "OPTIONS", "/chat/"+demoWS+"/messages", nil, "Origin", "https://shop.example",
		"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "authorization,content-type"); status != http.StatusNoContent {
		t.Errorf("preflight answered %d, want 204", status)
	}

	// Before the first message there is nothing to see.
	if h := chatHistory(t, c, demoWS, s.Token); len(h) != 0 {
		t.Errorf("history before any message = %+v, want empty", h)
	}
	first := "Hello from the widget " + uniq()
	r = doVia(t, c, "POST", "/chat/"+demoWS+"/messages", s.Token, map[string]any{"body": first, "clientMessageId": "m-1"})
	m := wantJSON[VisitorMessage](t, r, http.StatusCreated)
	if !validULID(m.ID) || m.Direction != "in" || m.Channel != "webchat" || m.Body != first || m.Attachments == nil || time.Since(m.CreatedAt) > time.Minute {
		t.Errorf("sent message = %+v", m)
	}
	// A resend from a flaky connection is the same message.
	again := wantJSON[VisitorMessage](t, doVia(t, c, "POST", "/chat/"+demoWS+"/messages", s.Token, map[string]any{"body": first, "clientMessageId": "m-1"}), http.StatusCreated)
	if again.ID != m.ID {
		t.Errorf("resend with the same clientMessageId made %s, want %s", again.ID, m.ID)
	}

	row := inboxWithPreview(t, first)
	// Inbox rows leave out the reply windows; the conversation has them.
	conv := getConversation(t, tok.agent, row.ID)
	if len(conv.Channels) != 1 || conv.Channels[0] != "webchat" || !conv.Unread || conv.LastInboundAt["webchat"].IsZero() {
		t.Errorf("conversation = %+v, want an unread webchat thread", conv)
	}
	contact := getContact(t, tok.agent, conv.ContactID)
	if len(contact.Handles) != 1 || contact.Handles[0] != "webchat:"+s.VisitorID || len(contact.Emails) != 0 || len(contact.Phones) != 0 {
		t.Errorf("visitor contact = %+v, want only the handle webchat:%s", contact, s.VisitorID)
	}
	if msgs := listMessages(t, tok.agent, conv.ID, ""); len(msgs) != 1 || msgs[0].ID != m.ID || msgs[0].ContactID != contact.ID {
		t.Errorf("agents see %+v, want the one message %s", msgs, m.ID)
	}

	// The agent replies; an internal comment stays internal.
	reply := postMessage(t, tok.agent, conv.ID, "webchat", "Hi! How can we help? "+uniq())
	comment := wantJSON[Message](t, do(t, "POST", "/conversations/"+conv.ID+"/comments", tok.agent, map[string]any{"body": "Visitor looks like a VIP"}), http.StatusCreated)
	h := chatHistory(t, c, demoWS, s.Token)
	if len(h) != 2 || h[0].ID != m.ID || h[1].ID != reply.ID || h[1].Direction != "out" || h[1].Body != reply.Body || h[1].Channel != "webchat" {
		t.Errorf("history = %+v, want the visitor's message and the agent's reply", h)
	}
	for _, v := range h {
		if v.ID == comment.ID || strings.Contains(v.Body, "VIP") {
			t.Errorf("the visitor sees the internal comment: %+v", v)
		}
	}

	// The same token continues the same thread.
	second := "Still there? " + uniq()
	m2 := chatSend(t, c, demoWS, s.Token, second)
	if got := inboxWithPreview(t, second); got.ID != conv.ID {
		t.Errorf("the second message went to %s, want %s", got.ID, conv.ID)
	}
	if h := chatHistory(t, c, demoWS, s.Token); len(h) != 3 || h[2].ID != m2.ID {
		t.Errorf("history = %+v, want three entries ending with %s", h, m2.ID)
	}

	// Paging: one entry per page walks the same thread.
	page := wantJSON[Page[VisitorMessage]](t, doVia(t, c, "GET", "/chat/"+demoWS+"/messages?limit=1", s.Token, nil), http.StatusOK)
	if len(page.Items) != 1 || page.Items[0].ID != m.ID || page.NextCursor == "" {
		t.Errorf("first page of one = %+v, want %s and a cursor", page, m.ID)
	}

	// Heartbeats show the visitor online to the agents.
	before := time.Now()
	hb := wantJSON[struct {
		OnlineUntil time.Time `json:"onlineUntil"`
	}](t, doVia(t, c, "POST", "/chat/"+demoWS+"/heartbeat", s.Token, nil), http.StatusOK)
	if !hb.OnlineUntil.After(before.Add(time.Minute)) {
		t.Errorf("onlineUntil = %s, want about two minutes ahead", hb.OnlineUntil)
	}
	got := getConversation(t, tok.agent, conv.ID)
	if got.VisitorOnlineUntil == nil || !got.VisitorOnlineUntil.After(time.Now()) {
		t.Errorf("visitorOnlineUntil = %v, want a time in the future", got.VisitorOnlineUntil)
	}

	// A new session is a new visitor and a new thread.
	other := chatSession(t, c, demoWS)
	fresh := "A different device " + uniq()
	chatSend(t, c, demoWS, other.Token, fresh)
	if got := inboxWithPreview(t, fresh); got.ID == conv.ID || got.ContactID == conv.ContactID {
		t.Errorf("a new session wrote into the first visitor's thread %s", conv.ID)
	}
	if h := chatHistory(t, c, demoWS, other.Token); len(h) != 1 || h[0].Body != fresh {
		t.Errorf("the new visitor's history = %+v, want only their message", h)
	}
}

// Leaving an email: a proved new address becomes the visitor's; a proved
// existing contact's address joins the visitor's thread to that contact's.
// (An unproved one is only a claim: see safety_webchat_test.go.)
func TestWebChatLeaveEmail(t *testing.T) {
	t.Parallel()
	c, _ := clientFrom(t)
	setIdentitySecret(t)

	t.Run("a new address", func(t *testing.T) {
		s := chatSession(t, c, demoWS)
		body := "Email me later " + uniq()
		chatSend(t, c, demoWS, s.Token, body)
		conv := inboxWithPreview(t, body)
		addr := "Visitor." + uniq() + "@Example.com"
		res := wantJSON[ChatEmailResult](t, doVia(t, c, "POST", "/chat/"+demoWS+"/email", s.Token, map[string]any{"email": addr, "identifierHash": identityHash(addr)}), http.StatusOK)
		if res.Email != strings.ToLower(addr) || !res.Verified {
			t.Errorf("leave a signed email answered %+v, want %s verified", res, strings.ToLower(addr))
		}
		contact := getContact(t, tok.agent, conv.ContactID)
		if len(contact.Emails) != 1 || contact.Emails[0] != strings.ToLower(addr) || !containsStr(contact.Handles, "webchat:"+s.VisitorID) {
			t.Errorf("visitor contact = %+v, want the email (lower case) and the handle", contact)
		}
		if got, ok := contactByEmail(t, strings.ToLower(addr)); !ok || got.ID != contact.ID {
			t.Errorf("contact by email = %+v, want %s", got, contact.ID)
		}
		wantProblem(t, doVia(t, c, "POST", "/chat/"+demoWS+"/email", s.Token, map[string]any{"email": "not an address"}), http.StatusBadRequest, "invalid", "")
	})

	t.Run("an existing contact's address", func(t *testing.T) {
		addr := "known." + uniq() + "@example.com"
		known := createContact(t, tok.agent, map[string]any{"name": "Known Customer " + uniq(), "emails": []string{addr}})
		thread := startConversation(t, tok.agent, map[string]any{"contactId": known.ID}, http.StatusCreated)
		earlier := postMessage(t, tok.agent, thread.ID, "email", "Your invoice 4411 is attached "+uniq())

		s := chatSession(t, c, demoWS)
		body := "It's me, the known customer " + uniq()
		sent := chatSend(t, c, demoWS, s.Token, body)
		visitorThread := inboxWithPreview(t, body)
		if visitorThread.ID == thread.ID {
			t.Fatal("the visitor wrote into the contact's thread before leaving an email")
		}
		wantJSON[ChatEmailResult](t, doVia(t, c, "POST", "/chat/"+demoWS+"/email", s.Token, map[string]any{"email": strings.ToUpper(addr), "identifierHash": identityHash(strings.ToUpper(addr))}), http.StatusOK)

		msgs := listMessages(t, tok.agent, thread.ID, "")
		if len(msgs) != 2 || msgs[0].ID != earlier.ID || msgs[1].ID != sent.ID || msgs[1].ContactID != known.ID {
			t.Errorf("contact's thread = %+v, want the earlier message then the visitor's", msgs)
		}
		wantProblem(t, do(t, "GET", "/conversations/"+visitorThread.ID, tok.agent, nil), http.StatusNotFound, "not_found", "")
		if got := getContact(t, tok.agent, known.ID); !containsStr(got.Handles, "webchat:"+s.VisitorID) {
			t.Errorf("contact handles = %q, want the visitor's handle", got.Handles)
		}
		if merged := getConversation(t, tok.agent, thread.ID); !merged.Unread || !containsStr(merged.Channels, "webchat") {
			t.Errorf("joined conversation = %+v, want unread with webchat among its channels", merged)
		}

		// The visitor's next message lands in the contact's thread too.
		next := chatSend(t, c, demoWS, s.Token, "And one more thing "+uniq())
		msgs = listMessages(t, tok.agent, thread.ID, "")
		if len(msgs) != 3 || msgs[2].ID != next.ID {
			t.Errorf("contact's thread = %+v, want the visitor's next message last", msgs)
		}
		history := chatHistory(t, c, demoWS, s.Token)
		seen := map[string]bool{}
		for _, v := range history {
			seen[v.ID] = true
		}
		if !seen[sent.ID] || !seen[next.ID] {
			t.Errorf("visitor history = %+v, want both of the visitor's messages", history)
		}
		// Even proved, the address must not open the contact's earlier
		// conversation to this device.
		if seen[earlier.ID] {
			t.Errorf("after POST /chat/%s/email with an existing contact's address, the visitor's "+
				"GET /chat/%s/messages shows that contact's earlier thread, e.g. the agent's email %q", demoWS, demoWS, earlier.Body)
		}
	})
}

// A Messenger user and an Instagram user are different people, even if
// their scoped ids happened to be the same digits, and each contact names
// its channel in its handle.
func TestChannelHandlesAreNamespaced(t *testing.T) {
	t.Parallel()
	id := newPSID()
	fbText, igText := "From Messenger "+uniq(), "From Instagram "+uniq()
	fb, fbMid := messagingEvent("page", id, fbText)
	metaDeliver(t, demoWS, fb)
	fbConv := inboxWithPreview(t, fbText)
	oneByProvider(t, listMessages(t, tok.agent, fbConv.ID, ""), fbMid)
	ig, igMid := messagingEvent("instagram", id, igText)
	metaDeliver(t, demoWS, ig)
	if len(byProvider(listMessages(t, tok.agent, fbConv.ID, ""), igMid)) > 0 {
		t.Fatalf("Messenger PSID %s and Instagram IGSID %s share one contact and thread %s (want messenger:%s and instagram:%s)", id, id, fbConv.ID, id, id)
	}
	igConv := inboxWithPreview(t, igText)
	for _, c := range []struct {
		conv Conversation
		want string
	}{{fbConv, "messenger:" + id}, {igConv, "instagram:" + id}} {
		if got := getContact(t, tok.agent, c.conv.ContactID); !containsStr(got.Handles, c.want) {
			t.Errorf("contact handles = %q, want %s", got.Handles, c.want)
		}
	}
}

// The chat routes want a visitor token of their workspace, a JSON body of
// the documented fields, and a workspace with web chat.
func TestWebChatRefusals(t *testing.T) {
	t.Parallel()
	// Refused calls count against the caller's address too (2 a second,
	// bursts of 20), so the checks below come from three addresses.
	c, _ := clientFrom(t)
	s := chatSession(t, c, demoWS)
	path := "/chat/" + demoWS + "/messages"
	for _, token := range []string{
		"",
		"garbage",
		s.VisitorID,
		s.Token + "x",
		ulidLike() + strings.TrimPrefix(s.Token, s.VisitorID), // another visitor id, this signature
		tok.agent, // a user's JWT is no visitor token
	} {
		wantProblem(t, doVia(t, c, "POST", path, token, map[string]any{"body": "hi"}), http.StatusUnauthorized, "unauthorized", "")
		wantProblem(t, doVia(t, c, "GET", path, token, nil), http.StatusUnauthorized, "unauthorized", "")
	}
	wantProblem(t, doVia(t, c, "POST", "/chat/"+demoWS+"/heartbeat", "garbage", nil), http.StatusUnauthorized, "unauthorized", "")
	wantProblem(t, doVia(t, c, "POST", "/chat/"+demoWS+"/email", "", map[string]any{"email": "x@example.com"}), http.StatusUnauthorized, "unauthorized", "")
	// A visitor token is bound to its workspace.
	if r := doVia(t, c, "POST", "/chat/"+settingsWS+"/messages", s.Token, map[string]any{"body": "hi"}); r.Status != http.StatusNotFound {
		wantProblem(t, r, http.StatusUnauthorized, "unauthorized", "")
	}
	// And the visitor token gets nowhere in the API proper.
	wantProblem(t, do(t, "GET", "/conversations", s.Token, nil), http.StatusUnauthorized, "unauthorized", "")

	c, _ = clientFrom(t)
	for _, body := range []any{
		map[string]any{"body": "hi", "author": "admin"},
		map[string]any{"body": "   "},
		map[string]any{"body": strings.Repeat("é", 5001)},
		map[string]any{"body": "hi", "clientMessageId": strings.Repeat("c", 65)},
		"not json",
	} {
		wantProblem(t, doVia(t, c, "POST", path, s.Token, body), http.StatusBadRequest, "invalid", "")
	}
	c, _ = clientFrom(t)
	wantProblem(t, doVia(t, c, "POST", path, s.Token, map[string]any{"body": strings.Repeat("a", 17<<10)}), http.StatusRequestEntityTooLarge, "too_large", "")
	wantProblem(t, doVia(t, c, "GET", path+"?limit=abc", s.Token, nil), http.StatusBadRequest, "invalid", "")
	if h := chatHistory(t, c, demoWS, s.Token); len(h) != 0 {
		t.Errorf("refused messages were filed: %+v", h)
	}
	wantProblem(t, doVia(t, c, "POST", "/chat/no-such-ws-"+uniq()+"/sessions", "", nil), http.StatusNotFound, "not_found", "")
}

// One client address may start 10 sessions at once and then one every six
// seconds; a burst beyond is refused with 429 rate_limited.
func TestWebChatRateLimit(t *testing.T) {
	t.Parallel()
	c, isolated := clientFrom(t)
	if !isolated {
		t.Skip("no loopback address of its own: a burst would starve the other web chat tests")
	}
	const n = 40
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := sendVia(t, c, "POST", "/chat/"+demoWS+"/sessions", "", nil)
			if err != nil {
				t.Errorf("session %d: %v", i, err)
				return
			}
			statuses[i] = r.Status
			if r.Status == http.StatusTooManyRequests {
				var p Problem
				if err := json.Unmarshal(r.Body, &p); err != nil || p.Code != "rate_limited" || r.mediaType() != "application/problem+json" {
					t.Errorf("429 answer = %s, want problem+json with code rate_limited", r)
				}
			}
		}()
	}
	wg.Wait()
	created, limited := 0, 0
	for _, s := range statuses {
		switch s {
		case http.StatusCreated:
			created++
		case http.StatusTooManyRequests:
			limited++
		default:
			t.Errorf("session start answered %d", s)
		}
	}
	if created < 10 || created > 12 || limited == 0 {
		t.Errorf("a burst of %d session starts: %d created, %d rate limited; want about 10 created and the rest 429", n, created, limited)
	}
	// Another client address is not held back.
	other, _ := clientFrom(t)
	chatSession(t, other, demoWS)
}
