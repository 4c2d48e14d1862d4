package e2e_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parley-inbox/parley/shared/inbox"
)

type Merge struct {
	ID         string     `json:"id"`
	ContactID  string     `json:"contactId"`
	From       string     `json:"from"`
	FromName   string     `json:"fromName"`
	Status     string     `json:"status"`
	Moved      int        `json:"messagesMoved"`
	FinishedAt *time.Time `json:"finishedAt"`
}

// Issue 14: a phone contact with an SMS thread and a Messenger contact with
// a Messenger thread merge into one contact holding the phone and the
// handle, with one conversation holding both channels' messages in time
// order; the absorbed contact is gone, a replay is harmless, and later
// Messenger messages land in the merged thread.
func TestMergePhoneContactWithMessengerContact(t *testing.T) {
	t.Parallel()
	phone := newPhone(t)
	sms1 := "Merge SMS one " + uniq()
	twilioSMS(t, demoWS, twilioSMSForm(phone, sms1))
	found := searchContacts(t, tok.agent, url.Values{"phone": {phone}})
	if len(found) != 1 {
		t.Fatalf("found %d contacts with %s, want 1", len(found), phone)
	}
	survivor := found[0]
	smsConv := inboxWithPreview(t, sms1)

	psid := newPSID()
	fb := "Merge Messenger hello " + uniq()
	body, _ := messagingEvent("page", psid, fb)
	metaDeliver(t, demoWS, body)
	fbConv := inboxWithPreview(t, fb)
	absorbed := getContact(t, tok.agent, fbConv.ContactID)
	if absorbed.ID == survivor.ID || !slices.Contains(absorbed.Handles, "messenger:"+psid) {
		t.Fatalf("the Messenger sender is contact %+v; want a new contact with handle messenger:%s", absorbed, psid)
	}
	time.Sleep(5 * time.Millisecond)
	sms2 := "Merge SMS two " + uniq()
	twilioSMS(t, demoWS, twilioSMSForm(phone, sms2))
	inboxWithPreview(t, sms2)

	t.Run("bad input changes nothing", func(t *testing.T) {
		wantProblem(t, do(t, "POST", "/contacts/"+survivor.ID+"/merge", tok.agent, map[string]any{"from": survivor.ID}), http.StatusBadRequest, "invalid", "from")
		wantProblem(t, do(t, "POST", "/contacts/"+survivor.ID+"/merge", tok.agent, map[string]any{}), http.StatusBadRequest, "invalid", "from")
		// Another workspace cannot see either contact.
		wantProblem(t, do(t, "POST", "/contacts/"+survivor.ID+"/merge", tok.other, map[string]any{"from": absorbed.ID}), http.StatusNotFound, "not_found", "")
		getContact(t, tok.agent, absorbed.ID)
	})

	m := wantJSON[Merge](t, do(t, "POST", "/contacts/"+survivor.ID+"/merge", tok.agent, map[string]any{"from": absorbed.ID}), http.StatusOK)
	if m.Status != "done" || m.ID != absorbed.ID || m.ContactID != survivor.ID || m.Moved != 1 || m.FinishedAt == nil {
		t.Fatalf("merge = %+v; want done, 1 message moved", m)
	}

	merged := getContact(t, tok.agent, survivor.ID)
	if !slices.Contains(merged.Phones, phone) || !slices.Contains(merged.Handles, "messenger:"+psid) {
		t.Errorf("merged contact has phones %v and handles %v; want %s and messenger:%s", merged.Phones, merged.Handles, phone, psid)
	}
	if merged.ConversationID != smsConv.ID {
		t.Errorf("merged contact's conversation is %s, want the phone contact's %s", merged.ConversationID, smsConv.ID)
	}
	wantProblem(t, do(t, "GET", "/contacts/"+absorbed.ID, tok.agent, nil), http.StatusNotFound, "not_found", "")
	wantProblem(t, do(t, "GET", "/conversations/"+fbConv.ID, tok.agent, nil), http.StatusNotFound, "not_found", "")

	msgs := listMessages(t, tok.agent, smsConv.ID, "")
	var bodies []string
	note := false
	for i, msg := range msgs {
		if i > 0 && msg.ID < msgs[i-1].ID {
			t.Errorf("thread out of order at %d: %s before %s", i, msgs[i-1].ID, msg.ID)
		}
		if msg.Kind == "activity" && strings.Contains(msg.Body, "Merged") && strings.Contains(msg.Body, "messenger") {
			note = true
		}
		if msg.Kind == "message" {
			bodies = append(bodies, msg.Channel+":"+msg.Body)
		}
	}
	want := []string{"sms:" + sms1, "messenger:" + fb, "sms:" + sms2}
	if !slices.Equal(bodies, want) {
		t.Errorf("merged thread holds %q, want %q in time order", bodies, want)
	}
	if !note {
		t.Errorf("no activity recording the merge in %+v", msgs)
	}
	conv := getConversation(t, tok.agent, smsConv.ID)
	if !slices.Contains(conv.Channels, "messenger") || !slices.Contains(conv.Channels, "sms") || conv.LastInboundAt["messenger"].IsZero() {
		t.Errorf("merged conversation has channels %v and lastInboundAt %v; want sms and messenger", conv.Channels, conv.LastInboundAt)
	}

	t.Run("replay is harmless", func(t *testing.T) {
		again := wantJSON[Merge](t, do(t, "POST", "/contacts/"+survivor.ID+"/merge", tok.agent, map[string]any{"from": absorbed.ID}), http.StatusOK)
		if again.Status != "done" || again.ID != m.ID || again.Moved != m.Moved {
			t.Errorf("replayed merge = %+v, want %+v", again, m)
		}
		got := wantJSON[Merge](t, do(t, "GET", "/contacts/"+survivor.ID+"/merges/"+m.ID, tok.agent, nil), http.StatusOK)
		if got.Status != "done" {
			t.Errorf("GET merge = %+v", got)
		}
		if n := len(listMessages(t, tok.agent, smsConv.ID, "")); n != len(msgs) {
			t.Errorf("after the replay the thread has %d messages, want %d", n, len(msgs))
		}
		// Into another contact: the absorbed contact is already merged.
		other := createContact(t, tok.agent, map[string]any{"name": "Other " + uniq()})
		wantProblem(t, do(t, "POST", "/contacts/"+other.ID+"/merge", tok.agent, map[string]any{"from": absorbed.ID}), http.StatusConflict, "conflict", "")
	})

	t.Run("later Messenger messages land in the merged thread", func(t *testing.T) {
		later := "Merge Messenger later " + uniq()
		body, _ := messagingEvent("page", psid, later)
		metaDeliver(t, demoWS, body)
		if got := inboxWithPreview(t, later); got.ID != smsConv.ID || got.ContactID != survivor.ID {
			t.Errorf("a later Messenger message went to conversation %s of contact %s, want %s of %s", got.ID, got.ContactID, smsConv.ID, survivor.ID)
		}
	})
}

// A merge of a thread longer than the request moves (200 messages) answers
// 202 and finishes in the background; the thread holds every message once.
func TestMergeLongThreadInBackground(t *testing.T) {
	t.Parallel()
	survivorConv := newConversation(t, tok.agent, "Long Survivor "+uniq())
	absorbedConv := newConversation(t, tok.agent, "Long Absorbed "+uniq())
	now := time.Now().UTC()
	const n = 230
	var msgs []*inbox.Message
	for i := range n {
		msgs = append(msgs, &inbox.Message{Direction: inbox.DirectionIn, Kind: inbox.KindMessage, Channel: inbox.ChannelSMS,
			ContactID: absorbedConv.ContactID, Status: inbox.MessageReceived, Body: fmt.Sprintf("old %03d", i),
			CreatedAt: now.Add(-time.Duration(n-i) * time.Minute)})
	}
	seedHistory(t, absorbedConv.ID, msgs...)
	r := do(t, "POST", "/contacts/"+survivorConv.ContactID+"/merge", tok.agent, map[string]any{"from": absorbedConv.ContactID})
	m := wantJSON[Merge](t, r, http.StatusAccepted)
	if m.Status != "running" || m.Moved < 200 || r.Header.Get("Location") != "/contacts/"+survivorConv.ContactID+"/merges/"+m.ID {
		t.Fatalf("202 = %+v, Location %q", m, r.Header.Get("Location"))
	}
	for deadline := time.Now().Add(30 * time.Second); m.Status != "done"; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("merge still %+v after 30 s", m)
		}
		m = wantJSON[Merge](t, do(t, "GET", "/contacts/"+survivorConv.ContactID+"/merges/"+m.ID, tok.agent, nil), http.StatusOK)
	}
	if m.Moved != n {
		t.Errorf("moved %d, want %d", m.Moved, n)
	}
	seen := map[string]bool{}
	for _, msg := range listMessages(t, tok.agent, survivorConv.ID, "limit=100") {
		if strings.HasPrefix(msg.Body, "old ") {
			if seen[msg.Body] {
				t.Errorf("%q twice", msg.Body)
			}
			seen[msg.Body] = true
		}
	}
	if len(seen) != n {
		t.Errorf("the survivor's thread holds %d of the %d moved messages", len(seen), n)
	}
	wantProblem(t, do(t, "GET", "/conversations/"+absorbedConv.ID, tok.agent, nil), http.StatusNotFound, "not_found", "")
}
