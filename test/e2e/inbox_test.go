package e2e_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// position maps ids to their index in a list.
func position(list []Conversation) map[string]int {
	out := make(map[string]int, len(list))
	for i, c := range list {
		out[c.ID] = i
	}
	return out
}

// The inbox lists newest activity first: a message moves a thread up, a
// comment does not, and archived threads are left out.
func TestInboxOrder(t *testing.T) {
	t.Parallel()
	a := newConversation(t, tok.agent, "Order A "+uniq())
	b := newConversation(t, tok.agent, "Order B "+uniq())
	c := newConversation(t, tok.agent, "Order C "+uniq())
	archived := newConversation(t, tok.agent, "Order Archived "+uniq())
	postMessage(t, tok.agent, archived.ID, "sms", "archived soon")
	action(t, tok.agent, archived.ID, "archive")

	// Creation order alone: c, b, a.
	pos := position(listInbox(t, tok.agent, ""))
	if !(pos[c.ID] < pos[b.ID] && pos[b.ID] < pos[a.ID]) {
		t.Errorf("before messages: positions a=%d b=%d c=%d, want c before b before a", pos[a.ID], pos[b.ID], pos[c.ID])
	}
	// Messages to b, then a, then c: c, a, b.
	postMessage(t, tok.agent, b.ID, "sms", "to b")
	postMessage(t, tok.agent, a.ID, "sms", "to a")
	giveEmail(t, c)
	postMessage(t, tok.agent, c.ID, "email", "to c")
	list := listInbox(t, tok.agent, "")
	pos = position(list)
	for _, id := range []string{a.ID, b.ID, c.ID} {
		if _, ok := pos[id]; !ok {
			t.Fatalf("conversation %s is missing from the inbox", id)
		}
	}
	if !(pos[c.ID] < pos[a.ID] && pos[a.ID] < pos[b.ID]) {
		t.Errorf("after messages to b, a, c: positions a=%d b=%d c=%d, want c before a before b", pos[a.ID], pos[b.ID], pos[c.ID])
	}
	if _, ok := pos[archived.ID]; ok {
		t.Errorf("archived conversation %s is in the inbox", archived.ID)
	}
	row := list[pos[c.ID]]
	if row.Preview != "to c" || row.LastMessageDirection != "out" || row.LastMessageAt == nil || strings.Join(row.Channels, ",") != "email" {
		t.Errorf("inbox row for c = %+v, want preview %q, direction out, channels [email]", row, "to c")
	}
	// A comment is internal: it does not move b above a.
	wantJSON[Message](t, do(t, "POST", "/conversations/"+b.ID+"/comments", tok.agent, map[string]any{"body": "note"}), http.StatusCreated)
	pos = position(listInbox(t, tok.agent, ""))
	if pos[b.ID] < pos[a.ID] {
		t.Errorf("a comment on b moved it above a (positions a=%d b=%d)", pos[a.ID], pos[b.ID])
	}
	if got := getConversation(t, tok.agent, b.ID); got.Preview != "to b" {
		t.Errorf("preview after a comment = %q, want the last message %q", got.Preview, "to b")
	}
}

// Every filter returns exactly the conversations that match it.
func TestInboxFilters(t *testing.T) {
	t.Parallel()
	label := createLabel(t, "Filter "+uniq())
	other := createLabel(t, "Filter other "+uniq())
	// f1: sms, assigned to the agent, labelled, unread, open.
	f1 := newConversation(t, tok.agent, "F1 "+uniq())
	postMessage(t, tok.agent, f1.ID, "sms", "one")
	do(t, "PUT", "/conversations/"+f1.ID+"/assignee", tok.agent, map[string]any{"assigneeId": demoAgent})
	do(t, "PUT", "/conversations/"+f1.ID+"/labels/"+label.ID, tok.agent, nil)
	action(t, tok.agent, f1.ID, "unread")
	// f2: email, unassigned, complete, other label.
	f2 := newConversation(t, tok.agent, "F2 "+uniq())
	giveEmail(t, f2)
	postMessage(t, tok.agent, f2.ID, "email", "two")
	do(t, "PUT", "/conversations/"+f2.ID+"/labels/"+other.ID, tok.agent, nil)
	action(t, tok.agent, f2.ID, "complete")
	// f3: no messages, assigned to the admin, labelled, complete.
	f3 := newConversation(t, tok.agent, "F3 "+uniq())
	do(t, "PUT", "/conversations/"+f3.ID+"/assignee", tok.agent, map[string]any{"assigneeId": demoAdmin})
	do(t, "PUT", "/conversations/"+f3.ID+"/labels/"+label.ID, tok.agent, nil)
	action(t, tok.agent, f3.ID, "complete")
	// f4: whatsapp then sms, assigned then unassigned, open, read; f5: like f1 but archived.
	f4 := newConversation(t, tok.agent, "F4 "+uniq())
	do(t, "PUT", "/conversations/"+f4.ID+"/assignee", tok.agent, map[string]any{"assigneeId": demoAgent})
	do(t, "DELETE", "/conversations/"+f4.ID+"/assignee", tok.agent, nil) // unassigned again
	// The contact writes on WhatsApp first: that opens the 24-hour window.
	wa, _ := whatsAppText(getContact(t, tok.agent, f4.ContactID).Phones[0], "F4", "hello from WhatsApp")
	metaDeliver(t, demoWS, wa)
	postMessage(t, tok.agent, f4.ID, "whatsapp", "four")
	postMessage(t, tok.agent, f4.ID, "sms", "four again")
	f5 := newConversation(t, tok.agent, "F5 "+uniq())
	postMessage(t, tok.agent, f5.ID, "sms", "five")
	do(t, "PUT", "/conversations/"+f5.ID+"/labels/"+label.ID, tok.agent, nil)
	action(t, tok.agent, f5.ID, "unread")
	action(t, tok.agent, f5.ID, "archive")
	mine := []Conversation{f1, f2, f3, f4, f5}
	// One sentinel for "no assignee", as in the tasks' filter: "none" is not it.
	wantProblem(t, do(t, "GET", "/conversations?assignee=none", tok.agent, nil), http.StatusBadRequest, "invalid", "assignee")

	cases := []struct {
		query   string
		want    []string                // which of mine must be listed (the rest must not)
		matches func(Conversation) bool // every listed row, mine or not, must match
		exact   bool                    // the list must be exactly want (a label unique to this test)
	}{
		{"status=open", []string{f1.ID, f4.ID}, func(c Conversation) bool { return c.Status == "open" }, false},
		{"status=complete", []string{f2.ID, f3.ID}, func(c Conversation) bool { return c.Status == "complete" }, false},
		{"assignee=" + demoAgent, []string{f1.ID}, func(c Conversation) bool { return c.AssigneeID == demoAgent }, false},
		{"assignee=" + demoAdmin, []string{f3.ID}, func(c Conversation) bool { return c.AssigneeID == demoAdmin }, false},
		{"assignee=unassigned", []string{f2.ID, f4.ID}, func(c Conversation) bool { return c.AssigneeID == "" }, false},
		{"label=" + label.ID, []string{f1.ID, f3.ID}, func(c Conversation) bool { return containsStr(c.Labels, label.ID) }, true},
		{"label=" + other.ID, []string{f2.ID}, func(c Conversation) bool { return containsStr(c.Labels, other.ID) }, true},
		{"channel=sms", []string{f1.ID, f4.ID}, func(c Conversation) bool { return containsStr(c.Channels, "sms") }, false},
		{"channel=email", []string{f2.ID}, func(c Conversation) bool { return containsStr(c.Channels, "email") }, false},
		{"channel=whatsapp", []string{f4.ID}, func(c Conversation) bool { return containsStr(c.Channels, "whatsapp") }, false},
		{"unread=true", []string{f1.ID}, func(c Conversation) bool { return c.Unread }, false},
		{"unread=false", []string{f2.ID, f3.ID, f4.ID}, func(c Conversation) bool { return !c.Unread }, false},
		{"label=" + label.ID + "&status=complete", []string{f3.ID}, func(c Conversation) bool { return containsStr(c.Labels, label.ID) && c.Status == "complete" }, true},
		{"status=open&assignee=unassigned&channel=sms&unread=false", []string{f4.ID}, func(c Conversation) bool {
			return c.Status == "open" && c.AssigneeID == "" && containsStr(c.Channels, "sms") && !c.Unread
		}, false},
		// A small page size makes filtered pages cross the scan window.
		{"label=" + label.ID + "&limit=1", []string{f1.ID, f3.ID}, func(c Conversation) bool { return containsStr(c.Labels, label.ID) }, true},
	}
	var wg sync.WaitGroup
	for _, c := range cases {
		wg.Add(1)
		go func() {
			defer wg.Done()
			list := listInbox(t, tok.agent, c.query)
			got := convIDs(list)
			for _, row := range list {
				if !c.matches(row) {
					t.Errorf("?%s listed %s, which does not match: %+v", c.query, row.ID, row)
				}
			}
			want := map[string]bool{}
			for _, id := range c.want {
				want[id] = true
			}
			for _, m := range mine {
				if got[m.ID] != want[m.ID] {
					t.Errorf("?%s: listed(%s) = %v, want %v", c.query, m.ID, got[m.ID], want[m.ID])
				}
			}
			if c.exact && len(list) != len(c.want) {
				t.Errorf("?%s returned %d conversations %v, want exactly %v", c.query, len(list), got, c.want)
			}
		}()
	}
	wg.Wait()

	for _, bad := range []struct{ query, field string }{
		{"status=closed", "status"}, {"channel=fax", "channel"}, {"label=billing", "label"},
		{"unread=maybe", "unread"}, {"limit=0", "limit"}, {"limit=101", "limit"}, {"limit=ten", "limit"},
	} {
		wantProblem(t, do(t, "GET", "/conversations?"+bad.query, tok.agent, nil), http.StatusBadRequest, "invalid", bad.field)
	}
}

// Paging with limit=10 visits every conversation exactly once, with
// signed cursors bound to the list and workspace.
func TestInboxPagination(t *testing.T) {
	t.Parallel()
	const n = 30
	label := createLabel(t, "Page "+uniq())
	created := make([]Conversation, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			r, err := send(t, "POST", "/conversations", tok.agent, map[string]any{"phone": newPhone(t), "name": fmt.Sprintf("Page %02d %s", i, uniq())})
			if err != nil || r.Status != http.StatusCreated {
				t.Errorf("start conversation %d: %v %v", i, r, err)
				return
			}
			created[i] = decodeInto[Conversation](t, r)
			if r, err := send(t, "PUT", "/conversations/"+created[i].ID+"/labels/"+label.ID, tok.agent, nil); err != nil || r.Status != http.StatusOK {
				t.Errorf("label conversation %d: %v %v", i, r, err)
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	want := convIDs(created)

	// Unfiltered: other tests add threads meanwhile, but none of ours moves,
	// so each of ours must be seen exactly once, and nothing twice.
	// Filtered by our label: exactly our 30, each once.
	for _, query := range []string{"", "label=" + label.ID} {
		seen := map[string]int{}
		pages := 0
		cursor := ""
		for {
			q, _ := url.ParseQuery(query)
			q.Set("limit", "10")
			if cursor != "" {
				q.Set("cursor", cursor)
			}
			page := wantJSON[Page[Conversation]](t, do(t, "GET", "/conversations?"+q.Encode(), tok.agent, nil), http.StatusOK)
			pages++
			if len(page.Items) > 10 {
				t.Errorf("?%s page %d has %d items, want at most 10", query, pages, len(page.Items))
			}
			for _, c := range page.Items {
				seen[c.ID]++
			}
			if page.NextCursor == "" {
				break
			}
			if pages > 100 {
				t.Fatalf("?%s: more than 100 pages", query)
			}
			cursor = page.NextCursor
		}
		for id, k := range seen {
			if k > 1 {
				t.Errorf("?%s: %s listed %d times", query, id, k)
			}
		}
		for id := range want {
			if seen[id] != 1 {
				t.Errorf("?%s: our conversation %s listed %d times, want once", query, id, seen[id])
			}
		}
		if query != "" && len(seen) != n {
			t.Errorf("?%s: %d conversations listed, want our %d", query, len(seen), n)
		}
		if query != "" && pages < 3 {
			t.Errorf("?%s: %d pages for %d conversations at limit=10, want at least 3", query, pages, n)
		}
	}

	// Cursors are opaque and signed: tampering, or using one elsewhere, is a 400.
	page := wantJSON[Page[Conversation]](t, do(t, "GET", "/conversations?limit=10", tok.agent, nil), http.StatusOK)
	cursor := page.NextCursor
	if cursor == "" {
		t.Fatal("the first page of a 30+ thread inbox has no nextCursor")
	}
	for _, bad := range tamper(cursor) {
		wantProblem(t, do(t, "GET", "/conversations?"+url.Values{"limit": {"10"}, "cursor": {bad}}.Encode(), tok.agent, nil), http.StatusBadRequest, "invalid", "cursor")
	}
	wantProblem(t, do(t, "GET", "/conversations?"+url.Values{"limit": {"10"}, "cursor": {cursor}}.Encode(), tok.other, nil), http.StatusBadRequest, "invalid", "cursor")
	// A message-list cursor is not an inbox cursor.
	conv := created[0]
	for i := range 3 {
		postMessage(t, tok.agent, conv.ID, "sms", fmt.Sprintf("m%d", i))
	}
	mp := wantJSON[Page[Message]](t, do(t, "GET", "/conversations/"+conv.ID+"/messages?limit=1", tok.agent, nil), http.StatusOK)
	if mp.NextCursor == "" {
		t.Fatal("message page of limit=1 over 3 messages has no nextCursor")
	}
	wantProblem(t, do(t, "GET", "/conversations?"+url.Values{"cursor": {mp.NextCursor}}.Encode(), tok.agent, nil), http.StatusBadRequest, "invalid", "cursor")
	wantProblem(t, do(t, "GET", "/conversations/"+created[1].ID+"/messages?"+url.Values{"cursor": {mp.NextCursor}}.Encode(), tok.agent, nil), http.StatusBadRequest, "invalid", "cursor")
	wantProblem(t, do(t, "GET", "/conversations/"+conv.ID+"/messages?"+url.Values{"cursor": {mp.NextCursor}, "order": {"newest"}}.Encode(), tok.agent, nil), http.StatusBadRequest, "invalid", "cursor")
	// The same cursor, unchanged, still works.
	wantStatus(t, do(t, "GET", "/conversations?"+url.Values{"limit": {"10"}, "cursor": {cursor}}.Encode(), tok.agent, nil), http.StatusOK)
}

// tamper returns altered copies of a cursor.
func tamper(cursor string) []string {
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	out := []string{flip(cursor, 3), flip(cursor, len(cursor)-2), "garbage", cursor + "x", "." + cursor}
	if payload, sig, ok := strings.Cut(cursor, "."); ok {
		out = append(out, payload, payload+".", "."+sig)
	}
	return out
}

func decodeInto[T any](t testing.TB, r *reply) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Errorf("%s: decode: %v", r, err)
	}
	return v
}

// giveEmail gives a conversation's contact an email address, so it can be
// written to by email.
func giveEmail(t *testing.T, c Conversation) {
	t.Helper()
	addr := "c" + strings.ToLower(uniq()) + "@example.com"
	do(t, "PATCH", "/contacts/"+c.ContactID, tok.agent, map[string]any{"emails": []string{addr}})
}
