package e2e_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// The live inbox, driven as the SPA and the widget drive it: a WebSocket
// to /live, frames that are JSON arrays of events, and delta sync over
// HTTP after a reconnect.

// LiveEvent is one event of a server frame.
type LiveEvent struct {
	ID             string `json:"id"`
	Seq            string `json:"seq"`
	Type           string `json:"type"`
	WorkspaceID    string `json:"workspaceId"`
	ConversationID string `json:"conversationId"`
	ContactID      string `json:"contactId"`
	MessageID      string `json:"messageId"`
	// Status is a message's status, or an error frame's HTTP status.
	Status       any           `json:"status"`
	From         string        `json:"from"`
	Changes      []string      `json:"changes"`
	Online       *bool         `json:"online"`
	Message      *Message      `json:"message"`
	Conversation *Conversation `json:"conversation"`
	Counts       *struct {
		All  struct{ Open, Unread int } `json:"all"`
		Mine struct{ Open, Unread int } `json:"mine"`
	} `json:"counts"`
	// Title and the status above are an error frame's.
	Title string `json:"title"`
}

// live is one open socket and every event it has received.
type live struct {
	t      testing.TB
	conn   *websocket.Conn
	mu     sync.Mutex
	events []LiveEvent
	closed chan struct{}
	// closeStatus is how the server closed it.
	closeStatus websocket.StatusCode
}

func liveURL(ws, token string) string {
	return "ws" + strings.TrimPrefix(baseURL, "http") + "/live?" + url.Values{"workspace": {ws}, "token": {token}}.Encode()
}

// dialLive connects and reads in the background until the socket closes.
func dialLive(t testing.TB, ws, token string) *live {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, liveURL(ws, token), nil)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("connect to /live: %v (status %d)", err, status)
	}
	conn.SetReadLimit(1 << 20)
	l := &live{t: t, conn: conn, closed: make(chan struct{})}
	go l.read()
	t.Cleanup(func() { conn.Close(websocket.StatusNormalClosure, "") })
	return l
}

func (l *live) read() {
	defer close(l.closed)
	for {
		_, data, err := l.conn.Read(context.Background())
		if err != nil {
			l.mu.Lock()
			l.closeStatus = websocket.CloseStatus(err)
			l.mu.Unlock()
			return
		}
		var batch []LiveEvent
		if err := json.Unmarshal(data, &batch); err != nil {
			l.t.Errorf("a server frame is not a JSON array of events: %v: %s", err, data)
			continue
		}
		l.mu.Lock()
		l.events = append(l.events, batch...)
		l.mu.Unlock()
	}
}

func (l *live) send(t testing.TB, frame string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := l.conn.Write(ctx, websocket.MessageText, []byte(frame)); err != nil {
		t.Fatalf("send %s: %v", frame, err)
	}
}

// wait returns the first event that matches, waiting up to 10 s.
func (l *live) wait(t testing.TB, what string, match func(LiveEvent) bool) LiveEvent {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if e, ok := l.find(match); ok {
			return e
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no %s within 10 s; got %d events: %s", what, len(l.all()), l.summary())
	return LiveEvent{}
}

func (l *live) find(match func(LiveEvent) bool) (LiveEvent, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range l.events {
		if match(e) {
			return e, true
		}
	}
	return LiveEvent{}, false
}

func (l *live) all() []LiveEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.events)
}

func (l *live) summary() string {
	var b strings.Builder
	for _, e := range l.all() {
		b.WriteString(e.Type + " " + e.ConversationID + "; ")
	}
	return b.String()
}

func newMessage(body string) func(LiveEvent) bool {
	return func(e LiveEvent) bool {
		return e.Type == "message.created" && e.Message != nil && e.Message.Body == body
	}
}

// Connections are refused at the door, with the API's problem bodies.
func TestLiveRefusesBadTokens(t *testing.T) {
	t.Parallel()
	otherVisitor := wantJSON[ChatSession](t, do(t, "POST", "/chat/"+settingsWS+"/sessions", "", nil), http.StatusCreated)
	demoVisitor := wantJSON[ChatSession](t, do(t, "POST", "/chat/"+demoWS+"/sessions", "", nil), http.StatusCreated)
	for _, c := range []struct {
		name, ws, token string
		status          int
	}{
		{"no token", demoWS, "", http.StatusUnauthorized},
		{"expired agent token", demoWS, tok.expired, http.StatusUnauthorized},
		{"forged agent token", demoWS, tok.forged, http.StatusUnauthorized},
		{"agent token of another workspace", demoWS, tok.other, http.StatusForbidden},
		{"visitor token of another workspace", demoWS, otherVisitor.Token, http.StatusUnauthorized},
		{"tampered visitor token", demoWS, demoVisitor.Token[:len(demoVisitor.Token)-2] + "AA", http.StatusUnauthorized},
		{"no workspace", "", tok.agent, http.StatusUnauthorized},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			conn, resp, err := websocket.Dial(ctx, liveURL(c.ws, c.token), nil)
			if err == nil {
				conn.Close(websocket.StatusNormalClosure, "")
				t.Fatalf("connected; want %d", c.status)
			}
			if resp == nil || resp.StatusCode != c.status || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") {
				t.Fatalf("refusal = %v; want %d with a problem body", resp, c.status)
			}
		})
	}
}

// An inbound SMS and then a delivery report reach a connected agent, with
// the conversation's change and the badges after it.
func TestLiveAgentSeesInboundAndStatus(t *testing.T) {
	t.Parallel()
	agent := dialLive(t, demoWS, tok.agent)
	agent.send(t, `{"type":"ping"}`)
	agent.wait(t, "pong", func(e LiveEvent) bool { return e.Type == "pong" })

	phone := newPhone(t)
	body := "Live hello " + uniq()
	twilioSMS(t, demoWS, twilioSMSForm(phone, body))
	in := agent.wait(t, "the inbound SMS", newMessage(body))
	if in.Message.Direction != "in" || in.Message.Channel != "sms" || in.WorkspaceID != demoWS || in.ID == "" || in.Seq == "" {
		t.Errorf("message.created = %+v", in)
	}
	created := agent.wait(t, "the new conversation", func(e LiveEvent) bool {
		return e.Type == "conversation.created" && e.ConversationID == in.ConversationID
	})
	if c := created.Conversation; c == nil || c.ContactID != in.Message.ContactID {
		t.Errorf("conversation.created carries %+v, want the contact's conversation", c)
	}
	updated := agent.wait(t, "the conversation's new message", func(e LiveEvent) bool {
		return e.Type == "conversation.updated" && e.ConversationID == in.ConversationID && e.Conversation != nil && e.Conversation.Unread
	})
	if !containsStr(updated.Changes, "lastMessage") || !containsStr(updated.Changes, "unread") || !strings.Contains(body, updated.Conversation.Preview) {
		t.Errorf("conversation.updated = %+v (changes %v), want the new message's preview, unread", updated.Conversation, updated.Changes)
	}
	counts := agent.wait(t, "the badges", func(e LiveEvent) bool { return e.Type == "counts.changed" })
	if counts.Counts == nil || counts.Counts.All.Unread < 1 || counts.Counts.All.Open < 1 {
		t.Errorf("counts.changed = %+v, want at least the new unread conversation", counts.Counts)
	}

	out := postOut(t, tok.agent, in.ConversationID, map[string]any{"channel": "sms", "body": "Live reply " + uniq()})
	sent := waitStatus(t, tok.agent, in.ConversationID, out.ID, "sent")
	wantStatus(t, twilioStatus(t, demoWS, in.ConversationID+"."+out.ID, twilioStatusForm(sent.ProviderID, "delivered", "", phone)), http.StatusNoContent)
	st := agent.wait(t, "the delivery report", func(e LiveEvent) bool {
		return e.Type == "message.status_changed" && e.MessageID == out.ID && e.Status == "delivered"
	})
	if st.Message == nil || st.Message.Status != "delivered" {
		t.Errorf("message.status_changed carries %+v", st.Message)
	}
	// Events are ordered per workspace by seq.
	if !(in.Seq < st.Seq) {
		t.Errorf("seq of the inbound message %s is not before the later delivery's %s", in.Seq, st.Seq)
	}
}

// A visitor sees only the agents' replies in their own chat: never
// another visitor's, never a comment, never another workspace's.
func TestLiveVisitorsSeeOnlyTheirOwnReplies(t *testing.T) {
	t.Parallel()
	agent := dialLive(t, demoWS, tok.agent)
	type visitor struct {
		session ChatSession
		socket  *live
		convID  string
	}
	var vs [2]*visitor
	for i := range vs {
		s := wantJSON[ChatSession](t, do(t, "POST", "/chat/"+demoWS+"/sessions", "", nil), http.StatusCreated)
		v := &visitor{session: s, socket: dialLive(t, demoWS, s.Token)}
		body := "Visitor says hi " + uniq()
		wantStatus(t, do(t, "POST", "/chat/"+demoWS+"/messages", s.Token, map[string]any{"body": body}), http.StatusCreated)
		v.convID = agent.wait(t, "the visitor's message", newMessage(body)).ConversationID
		vs[i] = v
	}
	// Another workspace's visitor is connected too.
	other := wantJSON[ChatSession](t, do(t, "POST", "/chat/"+settingsWS+"/sessions", "", nil), http.StatusCreated)
	otherSocket := dialLive(t, settingsWS, other.Token)

	// The visitor types; the agent sees it on that conversation.
	vs[0].socket.send(t, `{"type":"typing"}`)
	typing := agent.wait(t, "the visitor typing", func(e LiveEvent) bool { return e.Type == "typing" && e.ConversationID == vs[0].convID })
	if typing.From != "visitor" {
		t.Errorf("typing = %+v, want from the visitor", typing)
	}
	agent.send(t, `{"type":"typing","conversationId":"`+vs[0].convID+`"}`)
	vs[0].socket.wait(t, "the agent typing", func(e LiveEvent) bool { return e.Type == "typing" && e.From == "agent" })

	comment := "Internal: VIP, be nice " + uniq()
	wantStatus(t, do(t, "POST", "/conversations/"+vs[0].convID+"/comments", tok.agent, map[string]any{"body": comment}), http.StatusCreated)
	replies := [2]string{"Reply to the first " + uniq(), "Reply to the second " + uniq()}
	for i, v := range vs {
		postOut(t, tok.agent, v.convID, map[string]any{"channel": "webchat", "body": replies[i]})
	}
	for i, v := range vs {
		got := v.socket.wait(t, "the agent's reply", newMessage(replies[i]))
		if got.Message.Direction != "out" || got.Message.Channel != "webchat" || got.Message.AuthorID != "" || got.ConversationID != "" {
			t.Errorf("the visitor's reply event = %+v, want the visitor's view only", got)
		}
	}
	agent.wait(t, "the comment", newMessage(comment))
	// Everything has been fanned out by now; nothing foreign arrived.
	time.Sleep(300 * time.Millisecond)
	for i, v := range vs {
		for _, e := range v.socket.all() {
			if (e.Type != "message.created" && e.Type != "typing" && e.Type != "pong") || (e.Message != nil && e.Message.Body != replies[i]) {
				t.Errorf("visitor %d received %s %+v", i, e.Type, e.Message)
			}
		}
	}
	if n := len(otherSocket.all()); n != 0 {
		t.Errorf("another workspace's visitor received %d events: %s", n, otherSocket.summary())
	}
}

// A client that was offline follows the contract (connect, sync since the
// last event seen, trust the socket) and loses nothing.
func TestLiveReconnectLosesNothing(t *testing.T) {
	t.Parallel()
	phone := newPhone(t)
	first := "Before the outage " + uniq()
	agent := dialLive(t, demoWS, tok.agent)
	twilioSMS(t, demoWS, twilioSMSForm(phone, first))
	seen := agent.wait(t, "the first message", newMessage(first))
	conv := seen.ConversationID
	doomed := newConversation(t, tok.agent, "Deleted while offline "+uniq())
	agent.wait(t, "the second conversation", func(e LiveEvent) bool { return e.Type == "conversation.created" && e.ConversationID == doomed.ID })
	var last string
	for _, e := range agent.all() {
		last = max(last, e.Seq)
	}
	agent.conn.Close(websocket.StatusNormalClosure, "going offline")

	// While it is away: a reply arrives, a colleague assigns and labels.
	missed := "During the outage " + uniq()
	twilioSMS(t, demoWS, twilioSMSForm(phone, missed))
	wantStatus(t, do(t, "PUT", "/conversations/"+conv+"/assignee", tok.admin, map[string]any{"assigneeId": demoAgent}), http.StatusOK)
	label := createLabel(t, "Outage "+uniq())
	wantStatus(t, do(t, "PUT", "/conversations/"+conv+"/labels/"+label.ID, tok.admin, nil), http.StatusOK)
	wantStatus(t, do(t, "DELETE", "/conversations/"+doomed.ID, tok.admin, nil), http.StatusNoContent)
	time.Sleep(500 * time.Millisecond) // let the stream log the changes, as time passes offline

	// 1. connect; 2. sync since the last event seen; 3. trust the socket.
	back := dialLive(t, demoWS, tok.agent)
	// Other tests write to demo meanwhile: read every page of the sync.
	var got *Conversation
	deleted := false
	cursor := ""
	for page := 0; page < 50; page++ {
		q := url.Values{"updatedSince": {last}, "limit": {"100"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		sync := wantJSON[struct {
			Items      []Conversation `json:"items"`
			Deleted    []string       `json:"deleted"`
			NextCursor string         `json:"nextCursor"`
		}](t, do(t, "GET", "/conversations?"+q.Encode(), tok.agent, nil), http.StatusOK)
		deleted = deleted || slices.Contains(sync.Deleted, doomed.ID)
		for i, c := range sync.Items {
			if c.ID == conv && (got == nil || c.Version > got.Version) {
				got = &sync.Items[i] // apply by version, as a client does
			}
		}
		if cursor = sync.NextCursor; cursor == "" {
			break
		}
	}
	if got == nil || got.AssigneeID != demoAgent || !containsStr(got.Labels, label.ID) || !strings.Contains(missed, got.Preview) {
		t.Fatalf("sync since %s = %+v, want the conversation assigned, labelled and with the missed message", last, got)
	}
	if !deleted {
		t.Errorf("sync since %s does not name %s, deleted meanwhile, in deleted", last, doomed.ID)
	}
	msgs := wantJSON[struct {
		Items []Message `json:"items"`
	}](t, do(t, "GET", "/conversations/"+conv+"/messages?updatedSince="+last, tok.agent, nil), http.StatusOK)
	// The sync re-reads a few seconds before the cursor, so the message
	// seen may come again (clients apply by id); the missed one must.
	if !slices.ContainsFunc(msgs.Items, func(m Message) bool { return m.Body == missed }) {
		t.Errorf("thread sync since %s = %+v, want the missed message", last, msgs.Items)
	}
	after := "After the outage " + uniq()
	twilioSMS(t, demoWS, twilioSMSForm(phone, after))
	back.wait(t, "the next message on the new socket", newMessage(after))

	// A cursor older than the change log is refused: reload instead.
	wantProblem(t, do(t, "GET", "/conversations?updatedSince="+time.Now().Add(-8*24*time.Hour).UTC().Format(time.RFC3339), tok.agent, nil), http.StatusGone, "gone", "")
	wantProblem(t, do(t, "GET", "/conversations?updatedSince=yesterday", tok.agent, nil), http.StatusBadRequest, "invalid", "updatedSince")
	wantProblem(t, do(t, "GET", "/conversations?updatedSince="+last+"&unread=true", tok.agent, nil), http.StatusBadRequest, "invalid", "updatedSince")
}

// Frames the protocol does not have close the connection with the
// documented codes, after an error frame.
func TestLiveBadFramesCloseTheConnection(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, frame string
		code        websocket.StatusCode
		status      int
	}{
		{"malformed", `{"type":`, websocket.StatusPolicyViolation, 400},
		{"unknown type", `{"type":"subscribe","workspace":"other-ws"}`, websocket.StatusPolicyViolation, 400},
		{"agent typing without a conversation", `{"type":"typing"}`, websocket.StatusPolicyViolation, 400},
		{"oversized", `{"type":"ping","pad":"` + strings.Repeat("x", 5000) + `"}`, websocket.StatusMessageTooBig, 413},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := dialLive(t, demoWS, tok.agent)
			l.send(t, c.frame)
			select {
			case <-l.closed:
			case <-time.After(5 * time.Second):
				t.Fatal("the connection stayed open")
			}
			l.mu.Lock()
			code := l.closeStatus
			l.mu.Unlock()
			if code != c.code {
				t.Errorf("closed with %d, want %d", code, c.code)
			}
			if c.status == 400 {
				if e, ok := l.find(func(e LiveEvent) bool { return e.Type == "error" }); !ok || e.Title == "" {
					t.Errorf("no error frame before the close: %s", l.summary())
				}
			}
		})
	}
	// The server is still there.
	l := dialLive(t, demoWS, tok.agent)
	l.send(t, `{"type":"ping"}`)
	l.wait(t, "pong", func(e LiveEvent) bool { return e.Type == "pong" })
}

// The badges follow the inbox: one agent's own view (mine) changes only
// through this test, so its counts are exact despite the parallel tests.
func TestLiveCounts(t *testing.T) {
	t.Parallel()
	user := "counts-" + uniq()
	wantStatus(t, do(t, "PUT", "/users/"+user, tok.admin, map[string]any{"name": "Cai Counts", "email": user + "@example.com", "role": "agent"}), http.StatusOK)
	token, err := devTokens.Issue(demoWS, user, "agent", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	type tally struct{ Open, Unread int }
	type counts struct {
		All        tally            `json:"all"`
		Mine       tally            `json:"mine"`
		Unassigned tally            `json:"unassigned"`
		Labels     map[string]tally `json:"labels"`
		Channels   map[string]tally `json:"channels"`
	}
	agent := dialLive(t, demoWS, token)
	waitMine := func(what string, want tally) {
		t.Helper()
		var got counts
		for deadline := time.Now().Add(sendWait); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if got = wantJSON[counts](t, do(t, "GET", "/conversations/counts", token, nil), http.StatusOK); got.Mine == want {
				return
			}
		}
		t.Fatalf("%s: mine = %+v, want %+v", what, got.Mine, want)
	}
	waitMine("a new agent", tally{})

	phone := newPhone(t)
	twilioSMS(t, demoWS, twilioSMSForm(phone, "Count me "+uniq()))
	conv := threadOfPhone(t, phone)
	wantStatus(t, do(t, "PUT", "/conversations/"+conv.ID+"/assignee", tok.admin, map[string]any{"assigneeId": user}), http.StatusOK)
	waitMine("assigned an unread conversation", tally{Open: 1, Unread: 1})
	// The same badges reach the agent's socket, personalised.
	agent.wait(t, "counts.changed with the assignment", func(e LiveEvent) bool {
		return e.Type == "counts.changed" && e.Counts != nil && e.Counts.Mine.Open == 1 && e.Counts.Mine.Unread == 1
	})
	if got := wantJSON[counts](t, do(t, "GET", "/conversations/counts", token, nil), http.StatusOK); got.Channels["sms"].Open < 1 || got.All.Open < 1 {
		t.Errorf("counts = %+v, want the SMS conversation counted overall and under sms", got)
	}
	wantStatus(t, do(t, "POST", "/conversations/"+conv.ID+"/read", token, nil), http.StatusOK)
	waitMine("read", tally{Open: 1})
	wantStatus(t, do(t, "POST", "/conversations/"+conv.ID+"/archive", token, nil), http.StatusOK)
	waitMine("archived", tally{})

	tasks := wantJSON[struct{ Open, Mine, Unassigned int }](t, do(t, "GET", "/tasks/counts", token, nil), http.StatusOK)
	if tasks.Mine != 0 || tasks.Open < 0 || tasks.Unassigned < 0 {
		t.Errorf("task counts = %+v, want none of this new agent's", tasks)
	}
}
