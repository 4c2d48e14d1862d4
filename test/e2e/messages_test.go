package e2e_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestPostMessageAndComment(t *testing.T) {
	t.Parallel()
	conv := newConversation(t, tok.agent, "Messages "+uniq())
	action(t, tok.agent, conv.ID, "unread")

	m := postMessage(t, tok.agent, conv.ID, "sms", "Your order shipped")
	if !validULID(m.ID) || m.ConversationID != conv.ID || m.WorkspaceID != demoWS {
		t.Errorf("message ids = %+v", m)
	}
	if m.Kind != "message" || m.Internal || m.Direction != "out" || m.Channel != "sms" || m.Status != "queued" || m.AuthorID != demoAgent || m.Body != "Your order shipped" {
		t.Errorf("outbound message = %+v, want kind message, not internal, direction out, channel sms, status queued, author %s", m, demoAgent)
	}
	c := getConversation(t, tok.agent, conv.ID)
	if c.Unread || c.Preview != "Your order shipped" || c.LastMessageDirection != "out" || c.LastMessageAt == nil || !c.LastMessageAt.Equal(m.CreatedAt) {
		t.Errorf("conversation after a reply = %+v; want read (replying is reading), preview and lastMessageAt from the message", c)
	}

	// Media turns an SMS into an MMS.
	mms := wantJSON[Message](t, do(t, "POST", "/conversations/"+conv.ID+"/messages", tok.admin, map[string]any{
		"channel": "sms", "attachments": []map[string]any{{"url": "https://cdn.example.com/a.jpg", "contentType": "image/jpeg", "size": 1234}},
	}), http.StatusCreated)
	if mms.Channel != "mms" || len(mms.Attachments) != 1 || mms.Attachments[0].URL != "https://cdn.example.com/a.jpg" || mms.AuthorID != demoAdmin {
		t.Errorf("sms with media = %+v, want channel mms with the attachment, by %s", mms, demoAdmin)
	}

	cm := wantJSON[Message](t, do(t, "POST", "/conversations/"+conv.ID+"/comments", tok.agent, map[string]any{"body": "VIP, be nice"}), http.StatusCreated)
	if cm.Kind != "comment" || !cm.Internal || cm.Channel != "" || cm.Direction != "" || cm.AuthorID != demoAgent || cm.Status != "received" {
		t.Errorf("comment = %+v, want kind comment, internal, no channel or direction, status received", cm)
	}
	if got := getConversation(t, tok.agent, conv.ID); got.Preview == "VIP, be nice" {
		t.Errorf("a comment became the inbox preview")
	}
	all := listMessages(t, tok.agent, conv.ID, "")
	if len(all) != 3 || all[0].ID != m.ID || all[1].ID != mms.ID || all[2].ID != cm.ID {
		t.Errorf("thread = %v, want [%s %s %s]", messageIDs(all), m.ID, mms.ID, cm.ID)
	}

	// Refused messages write nothing.
	for _, bad := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"channel": "sms", "body": "  "}, "body"},
		{map[string]any{"channel": "fax", "body": "hi"}, "channel"},
		{map[string]any{"channel": "email", "body": "hi"}, "channel"}, // the contact has no email address
		{map[string]any{"channel": "sms", "body": strings.Repeat("x", 10001)}, "body"},
		{map[string]any{"channel": "sms", "attachments": []map[string]any{{"url": "http://insecure.example.com/a.jpg", "contentType": "image/jpeg"}}}, "attachments"},
		{map[string]any{"channel": "sms", "attachments": []map[string]any{{"url": "https://x.example.com/a", "contentType": "jpeg"}}}, "attachments"},
	} {
		wantProblem(t, do(t, "POST", "/conversations/"+conv.ID+"/messages", tok.agent, bad.body), http.StatusBadRequest, "invalid", bad.field)
	}
	wantProblem(t, do(t, "POST", "/conversations/"+conv.ID+"/comments", tok.agent, map[string]any{"body": ""}), http.StatusBadRequest, "invalid", "body")
	if got := listMessages(t, tok.agent, conv.ID, ""); len(got) != 3 {
		t.Errorf("refused messages were stored: thread has %d messages, want 3", len(got))
	}
	wantProblem(t, do(t, "POST", "/conversations/"+ulidLike()+"/messages", tok.agent, map[string]any{"channel": "sms", "body": "hi"}), http.StatusNotFound, "not_found", "")
	wantProblem(t, do(t, "GET", "/conversations/"+ulidLike()+"/messages", tok.agent, nil), http.StatusNotFound, "not_found", "")
}

func messageIDs(list []Message) []string {
	out := make([]string, 0, len(list))
	for _, m := range list {
		out = append(out, m.ID)
	}
	return out
}

// Threads list oldest first by default, in pages; order=newest reverses.
func TestListMessagesPaging(t *testing.T) {
	t.Parallel()
	conv := newConversation(t, tok.agent, "Paging "+uniq())
	var posted []string
	for i := range 7 {
		if i == 3 {
			cm := wantJSON[Message](t, do(t, "POST", "/conversations/"+conv.ID+"/comments", tok.agent, map[string]any{"body": "comment"}), http.StatusCreated)
			posted = append(posted, cm.ID)
			continue
		}
		posted = append(posted, postMessage(t, tok.agent, conv.ID, "sms", fmt.Sprintf("message %d", i)).ID)
	}

	var pages [][]string
	cursor := ""
	for {
		q := url.Values{"limit": {"3"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		page := wantJSON[Page[Message]](t, do(t, "GET", "/conversations/"+conv.ID+"/messages?"+q.Encode(), tok.agent, nil), http.StatusOK)
		if len(page.Items) > 3 {
			t.Errorf("page of limit=3 has %d items", len(page.Items))
		}
		pages = append(pages, messageIDs(page.Items))
		if page.NextCursor == "" || len(pages) > 10 {
			break
		}
		cursor = page.NextCursor
	}
	var flat []string
	for _, p := range pages {
		flat = append(flat, p...)
	}
	if strings.Join(flat, ",") != strings.Join(posted, ",") {
		t.Errorf("paged thread = %v (pages %v), want %v in posting order", flat, pages, posted)
	}
	if len(pages) < 3 {
		t.Errorf("7 messages at limit=3 came in %d pages, want at least 3", len(pages))
	}

	newest := listMessages(t, tok.agent, conv.ID, "order=newest&limit=2")
	want := make([]string, len(posted))
	for i, id := range posted {
		want[len(posted)-1-i] = id
	}
	if strings.Join(messageIDs(newest), ",") != strings.Join(want, ",") {
		t.Errorf("order=newest = %v, want %v", messageIDs(newest), want)
	}
	oldest := listMessages(t, tok.agent, conv.ID, "order=oldest&limit=100")
	if strings.Join(messageIDs(oldest), ",") != strings.Join(posted, ",") {
		t.Errorf("order=oldest = %v, want %v", messageIDs(oldest), posted)
	}
	for i := 1; i < len(oldest); i++ {
		if oldest[i].CreatedAt.Before(oldest[i-1].CreatedAt) {
			t.Errorf("message %s created %s before its predecessor %s", oldest[i].ID, oldest[i].CreatedAt, oldest[i-1].CreatedAt)
		}
	}
	wantProblem(t, do(t, "GET", "/conversations/"+conv.ID+"/messages?order=sideways", tok.agent, nil), http.StatusBadRequest, "invalid", "order")
	wantProblem(t, do(t, "GET", "/conversations/"+conv.ID+"/messages?limit=0", tok.agent, nil), http.StatusBadRequest, "invalid", "limit")
	wantProblem(t, do(t, "GET", "/conversations/"+conv.ID+"/messages?limit=101", tok.agent, nil), http.StatusBadRequest, "invalid", "limit")
}

func TestMessageIdempotency(t *testing.T) {
	t.Parallel()
	conv := newConversation(t, tok.agent, "Idem "+uniq())
	key := "msg-" + uniq()

	first := do(t, "POST", "/conversations/"+conv.ID+"/messages", tok.agent, map[string]any{"channel": "sms", "body": "once"}, "Idempotency-Key", key)
	m1 := wantJSON[Message](t, first, http.StatusCreated)
	if first.replayed() {
		t.Errorf("the first request with a key says Idempotent-Replayed: %q", first.Header.Get("Idempotent-Replayed"))
	}
	second := do(t, "POST", "/conversations/"+conv.ID+"/messages", tok.agent, map[string]any{"channel": "sms", "body": "once"}, "Idempotency-Key", key)
	m2 := wantJSON[Message](t, second, http.StatusCreated)
	if !second.replayed() {
		t.Errorf("the retry has Idempotent-Replayed %q, want true", second.Header.Get("Idempotent-Replayed"))
	}
	if m2.ID != m1.ID || m2.Body != m1.Body || !m2.CreatedAt.Equal(m1.CreatedAt) {
		t.Errorf("retry returned %+v, want the first message %+v", m2, m1)
	}
	// Comments too.
	ck := "cmt-" + uniq()
	c1 := wantJSON[Message](t, do(t, "POST", "/conversations/"+conv.ID+"/comments", tok.agent, map[string]any{"body": "note"}, "Idempotency-Key", ck), http.StatusCreated)
	r := do(t, "POST", "/conversations/"+conv.ID+"/comments", tok.agent, map[string]any{"body": "note"}, "Idempotency-Key", ck)
	if c2 := wantJSON[Message](t, r, http.StatusCreated); c2.ID != c1.ID || !r.replayed() {
		t.Errorf("comment retry: id %s replayed %v, want %s replayed", c2.ID, r.replayed(), c1.ID)
	}
	// Keys belong to their user: the admin's same key is a new message.
	m3 := wantJSON[Message](t, do(t, "POST", "/conversations/"+conv.ID+"/messages", tok.admin, map[string]any{"channel": "sms", "body": "once"}, "Idempotency-Key", key), http.StatusCreated)
	if m3.ID == m1.ID {
		t.Errorf("another user's request with the same key replayed the agent's message")
	}
	if got := listMessages(t, tok.agent, conv.ID, ""); len(got) != 3 {
		t.Errorf("thread has %d messages %v, want 3 (agent's message, comment, admin's message)", len(got), messageIDs(got))
	}
	// The key of the earliest of the last ten keyed posts still replays.
	var keys []string
	var firstOfTen Message
	for i := range 10 {
		k := fmt.Sprintf("ten-%d-%s", i, uniq())
		keys = append(keys, k)
		m := postMessage(t, tok.agent, conv.ID, "sms", fmt.Sprintf("ten %d", i), "Idempotency-Key", k)
		if i == 0 {
			firstOfTen = m
		}
	}
	rr := do(t, "POST", "/conversations/"+conv.ID+"/messages", tok.agent, map[string]any{"channel": "sms", "body": "ten 0"}, "Idempotency-Key", keys[0])
	if m := wantJSON[Message](t, rr, http.StatusCreated); m.ID != firstOfTen.ID || !rr.replayed() {
		t.Errorf("retry of the oldest of 10 keyed posts: id %s replayed %v, want %s replayed", m.ID, rr.replayed(), firstOfTen.ID)
	}
	if got := listMessages(t, tok.agent, conv.ID, "limit=100"); len(got) != 13 {
		t.Errorf("thread has %d messages, want 13", len(got))
	}
	wantProblem(t, do(t, "POST", "/conversations/"+conv.ID+"/messages", tok.agent, map[string]any{"channel": "sms", "body": "x"}, "Idempotency-Key", strings.Repeat("k", 256)),
		http.StatusBadRequest, "invalid", "Idempotency-Key")
}

// Eight concurrent posts with one key make exactly one message.
func TestMessageIdempotencyConcurrent(t *testing.T) {
	t.Parallel()
	conv := newConversation(t, tok.agent, "Idem race "+uniq())
	key := "race-" + uniq()
	const n = 8
	replies := concurrently(t, n, func(int) (*reply, error) {
		return send(t, "POST", "/conversations/"+conv.ID+"/messages", tok.agent, map[string]any{"channel": "sms", "body": "exactly once"}, "Idempotency-Key", key)
	})
	ids := map[string]int{}
	fresh := 0
	for i, r := range replies {
		if r == nil {
			continue
		}
		if r.Status != http.StatusCreated {
			t.Errorf("concurrent post %d: %s, want 201", i, r)
			continue
		}
		ids[decodeInto[Message](t, r).ID]++
		if !r.replayed() {
			fresh++
		}
	}
	if len(ids) != 1 {
		t.Errorf("concurrent posts with one key returned ids %v, want one id", ids)
	}
	if fresh != 1 {
		t.Errorf("%d responses were not marked Idempotent-Replayed, want exactly 1", fresh)
	}
	if got := listMessages(t, tok.agent, conv.ID, ""); len(got) != 1 {
		t.Errorf("thread has %d messages after %d concurrent posts with one key, want 1", len(got), n)
	}
}

// POST /contacts (and the other creates) replay a stored response.
func TestCreateIdempotency(t *testing.T) {
	t.Parallel()
	phone := newPhone(t)
	key := "contact-" + uniq()
	body := map[string]any{"name": "Idem Contact " + uniq(), "phones": []string{phone}}

	first := do(t, "POST", "/contacts", tok.agent, body, "Idempotency-Key", key)
	c1 := wantJSON[Contact](t, first, http.StatusCreated)
	if first.replayed() {
		t.Errorf("first create is marked replayed")
	}
	second := do(t, "POST", "/contacts", tok.agent, body, "Idempotency-Key", key)
	c2 := wantJSON[Contact](t, second, http.StatusCreated)
	if !second.replayed() || c2.ID != c1.ID || c2.Version != c1.Version {
		t.Errorf("retry: replayed=%v id=%s version=%d, want replayed, id %s, version %d", second.replayed(), c2.ID, c2.Version, c1.ID, c1.Version)
	}
	// The same key for a different body is refused and writes nothing.
	otherPhone := newPhone(t)
	wantProblem(t, do(t, "POST", "/contacts", tok.agent, map[string]any{"name": "Different", "phones": []string{otherPhone}}, "Idempotency-Key", key),
		http.StatusBadRequest, "invalid", "Idempotency-Key")
	if found := searchContacts(t, tok.agent, url.Values{"phone": {otherPhone}}); len(found) != 0 {
		t.Errorf("the refused request created contact %v", contactIDs(found))
	}
	// The same key on another create route is a different request too.
	wantProblem(t, do(t, "POST", "/conversations", tok.agent, map[string]any{"phone": phone}, "Idempotency-Key", key),
		http.StatusBadRequest, "invalid", "Idempotency-Key")
	if found := searchContacts(t, tok.agent, url.Values{"phone": {phone}}); len(found) != 1 || found[0].ID != c1.ID {
		t.Errorf("phone %s belongs to %v, want only %s", phone, contactIDs(found), c1.ID)
	}
	if got := getContact(t, tok.agent, c1.ID); got.ConversationID != "" {
		t.Errorf("the refused start created conversation %s", got.ConversationID)
	}

	// A failed create is not remembered: fixing the body under the same key works.
	fixKey := "fix-" + uniq()
	fixPhone := newPhone(t)
	wantProblem(t, do(t, "POST", "/contacts", tok.agent, map[string]any{"name": "Fix", "phones": []string{fixPhone}, "timezone": "Bad/Zone"}, "Idempotency-Key", fixKey),
		http.StatusBadRequest, "invalid", "timezone")
	wantProblem(t, do(t, "POST", "/contacts", tok.agent, map[string]any{"name": "Fix", "phones": []string{fixPhone}, "timezone": "Bad/Zone"}, "Idempotency-Key", fixKey),
		http.StatusBadRequest, "invalid", "timezone")
	fixed := do(t, "POST", "/contacts", tok.agent, map[string]any{"name": "Fix", "phones": []string{fixPhone}}, "Idempotency-Key", fixKey)
	if wantJSON[Contact](t, fixed, http.StatusCreated); fixed.replayed() {
		t.Errorf("a create after failures under the same key was marked replayed")
	}

	// Starting a conversation and creating a label replay too.
	sk := "start-" + uniq()
	sp := newPhone(t)
	s1 := startConversation(t, tok.agent, map[string]any{"phone": sp}, http.StatusCreated)
	_ = s1
	s2r := do(t, "POST", "/conversations", tok.agent, map[string]any{"phone": sp, "name": "x"}, "Idempotency-Key", sk)
	s2 := wantJSON[Conversation](t, s2r, http.StatusOK)
	s3r := do(t, "POST", "/conversations", tok.agent, map[string]any{"phone": sp, "name": "x"}, "Idempotency-Key", sk)
	if s3 := wantJSON[Conversation](t, s3r, http.StatusOK); s3.ID != s2.ID || !s3r.replayed() {
		t.Errorf("start replay: id %s replayed %v, want %s replayed", s3.ID, s3r.replayed(), s2.ID)
	}
	lk := "label-" + uniq()
	lname := "Idem label " + uniq()
	l1 := wantJSON[Label](t, do(t, "POST", "/labels", tok.admin, map[string]any{"name": lname}, "Idempotency-Key", lk), http.StatusCreated)
	l2r := do(t, "POST", "/labels", tok.admin, map[string]any{"name": lname}, "Idempotency-Key", lk)
	if l2 := wantJSON[Label](t, l2r, http.StatusCreated); l2.ID != l1.ID || !l2r.replayed() {
		t.Errorf("label replay: id %s replayed %v, want %s replayed (not a 409 duplicate)", l2.ID, l2r.replayed(), l1.ID)
	}
}

// Concurrent creates with one key make one contact; the losers either wait
// for a replay or are told to retry (409), never a second contact.
func TestCreateIdempotencyConcurrent(t *testing.T) {
	t.Parallel()
	phone := newPhone(t)
	key := "race-contact-" + uniq()
	body := map[string]any{"name": "Race " + uniq(), "phones": []string{phone}}
	const n = 6
	replies := concurrently(t, n, func(int) (*reply, error) {
		return send(t, "POST", "/contacts", tok.agent, body, "Idempotency-Key", key)
	})
	created := map[string]bool{}
	fresh := 0
	for i, r := range replies {
		if r == nil {
			continue
		}
		switch r.Status {
		case http.StatusCreated:
			created[decodeInto[Contact](t, r).ID] = true
			if !r.replayed() {
				fresh++
			}
		case http.StatusConflict:
			wantProblem(t, r, http.StatusConflict, "conflict", "")
		default:
			t.Errorf("concurrent create %d: %s, want 201 or 409", i, r)
		}
	}
	if len(created) != 1 || fresh != 1 {
		t.Errorf("concurrent creates with one key: ids %v, %d unreplayed; want one id, one fresh response", created, fresh)
	}
	time.Sleep(50 * time.Millisecond)
	if found := searchContacts(t, tok.agent, url.Values{"phone": {phone}}); len(found) != 1 || !created[found[0].ID] {
		t.Errorf("phone %s belongs to %v, want the one created contact %v", phone, contactIDs(found), created)
	}
	// A later retry replays it.
	r := do(t, "POST", "/contacts", tok.agent, body, "Idempotency-Key", key)
	if c := wantJSON[Contact](t, r, http.StatusCreated); !created[c.ID] || !r.replayed() {
		t.Errorf("retry after the race: id %s replayed %v", c.ID, r.replayed())
	}
}
