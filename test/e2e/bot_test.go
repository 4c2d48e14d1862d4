package e2e_test

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-inbox/parley/shared/inbox"
)

// testBot is a small agent bot: it verifies each delivery's signature,
// answers every message through the API as a machine client, and hands
// the contact to the team when they ask for a person.
type testBot struct {
	t      *testing.T
	token  string
	mu     sync.Mutex
	secret string
	heard  []string
}

func (b *testBot) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	b.mu.Lock()
	secret := b.secret
	b.mu.Unlock()
	if err := inbox.VerifyWebhook(secret, r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp"), r.Header.Get("webhook-signature"), body, time.Now()); err != nil {
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var p struct {
		Type string `json:"type"`
		Data struct {
			ConversationID string `json:"conversationId"`
			Body           string `json:"body"`
		} `json:"data"`
	}
	if json.Unmarshal(body, &p) != nil || p.Type != "message.received" {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	b.mu.Lock()
	b.heard = append(b.heard, p.Data.Body)
	b.mu.Unlock()
	// Answer after acknowledging, as a bot on a queue would.
	w.WriteHeader(http.StatusNoContent)
	go func() {
		if strings.Contains(strings.ToLower(p.Data.Body), "human") {
			do(b.t, "PUT", "/conversations/"+p.Data.ConversationID+"/bot", b.token, map[string]any{"enabled": false, "reason": "asked for a person"})
			return
		}
		do(b.t, "POST", "/conversations/"+p.Data.ConversationID+"/messages", b.token, map[string]any{"channel": "sms", "body": "We are open 9 to 5."})
	}()
}

func (b *testBot) heardBodies() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.heard...)
}

// TestBotConversationHandedToAPerson: the workspace's bot hears only the
// contacts who are with it, replies as the bot, and hands a contact who
// asks for a person to the team; the thread shows each step.
func TestBotConversationHandedToAPerson(t *testing.T) {
	const base = "/integrations/webhooks/subscriptions"
	token, err := devTokens.IssueMachine(demoClient, []string{"messages.write", "conversations.read", "conversations.write"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	bot := &testBot{t: t, token: token}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: bot, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })

	sub := wantJSON[hookSubscription](t, do(t, "POST", base, tok.admin, map[string]any{
		"url": "http://" + ln.Addr().String() + "/bot", "eventTypes": []string{"message.received"}, "bot": true, "description": "test bot"}), http.StatusCreated)
	t.Cleanup(func() { do(t, "DELETE", base+"/"+sub.ID, tok.admin, nil) })
	bot.mu.Lock()
	bot.secret = sub.Secret
	bot.mu.Unlock()
	wantProblem(t, do(t, "POST", base, tok.admin, map[string]any{"url": "http://" + ln.Addr().String() + "/bot2", "eventTypes": []string{"message.received"}, "bot": true}), http.StatusConflict, "conflict", "")

	phone := newPhone(t)
	first := "hello before the bot " + uniq()
	twilioSMS(t, demoWS, twilioSMSForm(phone, first))
	conv := threadOfPhone(t, phone)
	// The bot is asked whether a contact is with it when an event is
	// delivered: wait until this one was, before the bot takes over.
	waitEvent(t, demoWS, "message.received of the first message", func(e DomainEvent) bool {
		return e.Type == "message.received" && e.ConversationID == conv.ID
	})
	time.Sleep(300 * time.Millisecond)
	if on := wantJSON[Conversation](t, do(t, "PUT", "/conversations/"+conv.ID+"/bot", tok.agent, map[string]any{"enabled": true}), http.StatusOK); !on.Bot {
		t.Fatalf("conversation %+v: not with the bot", on)
	}
	if got := getOutContact(t, tok.agent, conv.ContactID); !got.BotEnabled {
		t.Fatalf("contact %+v: bot status not on", got)
	}

	question := "what are your hours? " + uniq()
	twilioSMS(t, demoWS, twilioSMSForm(phone, question))
	var reply Message
	waitFor(t, 10*time.Second, "the bot's reply", func() bool {
		for _, m := range listMessages(t, tok.agent, conv.ID, "") {
			if m.Direction == "out" && m.Body == "We are open 9 to 5." {
				reply = m
				return true
			}
		}
		return false
	})
	if !strings.HasPrefix(reply.AuthorID, "client:") || reply.AuthorName != "Demo bot" {
		t.Errorf("reply by %q (%q), want the bot", reply.AuthorID, reply.AuthorName)
	}

	twilioSMS(t, demoWS, twilioSMSForm(phone, "I want a human please"))
	waitFor(t, 10*time.Second, "the handover", func() bool {
		c := getConversation(t, tok.agent, conv.ID)
		return !c.Bot
	})
	var notes []string
	for _, m := range listMessages(t, tok.agent, conv.ID, "") {
		if m.Kind == "activity" {
			notes = append(notes, m.Body)
		}
	}
	if !containsStr(notes, "Demo bot handed the conversation to the team: asked for a person") {
		t.Errorf("activity notes %q", notes)
	}
	// After the handover the bot hears nothing more from this contact.
	twilioSMS(t, demoWS, twilioSMSForm(phone, "thanks "+uniq()))
	time.Sleep(time.Second)
	heard := bot.heardBodies()
	if len(heard) != 2 || heard[0] != question || !strings.Contains(heard[1], "human") {
		t.Errorf("the bot heard %q, want the question and the request for a person only", heard)
	}
}

// waitFor polls ok until it holds or within passes.
func waitFor(t testing.TB, within time.Duration, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(within); ; time.Sleep(100 * time.Millisecond) {
		if ok() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not happen within %s", what, within)
		}
	}
}
