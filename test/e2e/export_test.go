package e2e_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/parley-inbox/parley/shared/adapter/dynamo"
	"github.com/parley-inbox/parley/shared/dev/dynamolocal"
	"github.com/parley-inbox/parley/shared/inbox"
)

// exportInlineMax is the stack's PARLEY_EXPORT_INLINE_MAX: an export of
// more messages goes to the background.
const exportInlineMax = 40

func init() {
	openapi3filter.RegisterBodyDecoder("text/csv", openapi3filter.PlainBodyDecoder)
	openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
}

// seedHistory writes messages stamped days ago into a thread. Through HTTP
// every message is stamped now, so a thread that spans days is written into
// the table the way ingestion stores it: a ULID of its time, MSG#<ulid>.
func seedHistory(t *testing.T, convID string, msgs ...*inbox.Message) {
	t.Helper()
	if dynamoEndpoint == "" {
		t.Skip("needs the stack's DynamoDB Local (not available with PARLEY_E2E_BASE_URL)")
	}
	store := dynamo.New(dynamolocal.Client(dynamoEndpoint), "parley", []byte("e2e-seed-cursor-key-not-used-here"))
	for _, m := range msgs {
		m.ID, m.WorkspaceID, m.ConversationID, m.UpdatedAt = inbox.NewID(m.CreatedAt), demoWS, convID, m.CreatedAt
		if m.Attachments == nil {
			m.Attachments = []inbox.Attachment{}
		}
		if err := store.PutMessage(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
}

func exportPath(convID, format string, from, to time.Time, comments bool) string {
	q := url.Values{"format": {format}, "from": {from.Format(time.RFC3339)}, "to": {to.Format(time.RFC3339)}}
	if comments {
		q.Set("comments", "true")
	}
	return "/conversations/" + convID + "/export?" + q.Encode()
}

// wantExported is the thread as the export must show it: every message
// created in [from, to), oldest first, comments only when asked.
func wantExported(t *testing.T, convID string, from, to time.Time, comments bool) []Message {
	var want []Message
	for _, m := range listMessages(t, tok.agent, convID, "") {
		if m.CreatedAt.Before(from) || !m.CreatedAt.Before(to) || m.Kind == "comment" && !comments {
			continue
		}
		want = append(want, m)
	}
	return want
}

func neutralised(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// TestExportThread: a thread with messages over several days and an
// internal comment, exported over 30 days as CSV and HTML, with and without
// comments, matches the thread; hostile bodies are neutralised and escaped.
func TestExportThread(t *testing.T) {
	conv := newConversation(t, tok.agent, "Jo <b>Export</b>")
	now := time.Now().UTC()
	day := 24 * time.Hour
	seedHistory(t, conv.ID,
		&inbox.Message{Direction: inbox.DirectionIn, Kind: inbox.KindMessage, Channel: inbox.ChannelSMS, Status: inbox.MessageReceived,
			Body: "too old to export", CreatedAt: now.Add(-40 * day)},
		&inbox.Message{Direction: inbox.DirectionIn, Kind: inbox.KindMessage, Channel: inbox.ChannelSMS, Status: inbox.MessageReceived,
			Body: `=HYPERLINK("http://evil.example","click me")`, CreatedAt: now.Add(-20 * day)},
		&inbox.Message{Direction: inbox.DirectionOut, Kind: inbox.KindMessage, Channel: inbox.ChannelSMS, Status: inbox.MessageDelivered,
			AuthorID: demoAgent, Body: "<script>alert('x')</script> we ship, \"soon\"", CreatedAt: now.Add(-10 * day),
			Attachments: []inbox.Attachment{{URL: "https://cdn.example.com/label.pdf", ContentType: "application/pdf"}}},
		&inbox.Message{Direction: inbox.DirectionIn, Kind: inbox.KindMessage, Channel: inbox.ChannelEmail, Status: inbox.MessageReceived,
			Body: "+1 555 0100\nsecond line", CreatedAt: now.Add(-3 * day)},
	)
	do(t, "POST", "/conversations/"+conv.ID+"/comments", tok.agent, map[string]any{"body": "@team VIP, handle with care"})
	postMessage(t, tok.agent, conv.ID, "sms", "Thanks, Jo!")

	to := now.Add(time.Minute).Truncate(time.Second)
	from := to.Add(-30 * day)
	for _, comments := range []bool{false, true} {
		want := wantExported(t, conv.ID, from, to, comments)
		if len(want) != 4+map[bool]int{false: 0, true: 1}[comments] {
			t.Fatalf("the thread holds %d messages in the range, want %d", len(want), 4)
		}

		r := do(t, "GET", exportPath(conv.ID, "csv", from, to, comments), tok.agent, nil)
		body := wantText(t, r, http.StatusOK, "text/csv")
		if cd := r.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment; filename=conversation-"+conv.ID) {
			t.Errorf("Content-Disposition = %q", cd)
		}
		rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
		if err != nil {
			t.Fatalf("the CSV does not parse: %v\n%s", err, body)
		}
		if len(rows) != len(want)+1 || strings.Join(rows[0], ",") != "time,direction,channel,kind,author,status,body,attachments" {
			t.Fatalf("CSV (comments %v) has %d rows, want header + %d:\n%s", comments, len(rows), len(want), body)
		}
		for i, m := range want {
			row := rows[i+1]
			if row[0] != m.CreatedAt.UTC().Format(time.RFC3339) || row[1] != m.Direction || row[6] != neutralised(m.Body) {
				t.Errorf("row %d = %q, want the message %s (%q at %s)", i+1, row, m.ID, m.Body, m.CreatedAt)
			}
			if m.Kind == "comment" && row[3] != "internal comment" {
				t.Errorf("the comment's kind cell = %q, want it marked internal", row[3])
			}
			if m.AuthorID == demoAgent && row[4] != "Alex Agent" {
				t.Errorf("author = %q, want the agent's name", row[4])
			}
		}
		if !strings.Contains(body, `'=HYPERLINK(""http://evil.example"",""click me"")`) || !strings.Contains(body, "'+1 555 0100") || strings.Contains(body, "'@team") != comments {
			t.Errorf("formula cells are not neutralised:\n%s", body)
		}
		if strings.Contains(body, "too old") {
			t.Error("a message from before the range was exported")
		}

		r = do(t, "GET", exportPath(conv.ID, "html", from, to, comments), tok.agent, nil)
		page := wantText(t, r, http.StatusOK, "text/html")
		if n := strings.Count(page, "<li class="); n != len(want) {
			t.Errorf("HTML (comments %v) shows %d messages, want %d", comments, n, len(want))
		}
		if strings.Contains(page, "<script") || strings.Contains(page, "<b>") || !strings.Contains(page, "&lt;script&gt;") || !strings.Contains(page, "Jo &lt;b&gt;Export&lt;/b&gt;") {
			t.Errorf("user text is not escaped in the HTML:\n%s", page)
		}
		if strings.Contains(page, "<link") || strings.Contains(page, "<img") || strings.Contains(page, " src=") || strings.Contains(page, " href=") {
			t.Errorf("the HTML loads something from outside itself:\n%s", page)
		}
		if got := strings.Contains(page, `<span class="tag">internal</span>`); got != comments {
			t.Errorf("HTML (comments %v) marks an internal comment: %v", comments, got)
		}
		if strings.Contains(page, "VIP, handle with care") != comments {
			t.Errorf("HTML (comments %v): the comment's presence is wrong", comments)
		}
	}
}

// TestExportBadInput: the range is checked before anything is read, and
// another workspace's conversation is not found.
func TestExportBadInput(t *testing.T) {
	conv := newConversation(t, tok.agent, "Range Checker")
	from := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	wantProblem(t, do(t, "GET", exportPath(conv.ID, "csv", from, from.Add(31*24*time.Hour), false), tok.agent, nil), http.StatusBadRequest, "invalid", "to")
	wantProblem(t, do(t, "GET", exportPath(conv.ID, "html", from, from.Add(-time.Hour), false), tok.agent, nil), http.StatusBadRequest, "invalid", "to")
	wantProblem(t, do(t, "GET", exportPath(conv.ID, "pdf", from, from.Add(time.Hour), false), tok.agent, nil), http.StatusBadRequest, "invalid", "format")
	wantProblem(t, do(t, "GET", "/conversations/"+conv.ID+"/export?from=yesterday&to=2026-11-02T00:00:00Z", tok.agent, nil), http.StatusBadRequest, "invalid", "from")
	wantProblem(t, do(t, "GET", exportPath(conv.ID, "csv", from, from.Add(time.Hour), false), tok.other, nil), http.StatusNotFound, "not_found", anyField)
	wantProblem(t, do(t, "GET", "/exports/"+conv.ID, tok.agent, nil), http.StatusNotFound, "not_found", anyField)
}

// TestExportInBackground: past the inline limit, the export answers 202,
// runs in the background, and its file downloads through a short-lived
// link; another workspace cannot read the export.
func TestExportInBackground(t *testing.T) {
	conv := newConversation(t, tok.agent, "Long Thread")
	now := time.Now().UTC()
	var msgs []*inbox.Message
	n := exportInlineMax + 25
	for i := range n {
		msgs = append(msgs, &inbox.Message{Direction: inbox.DirectionIn, Kind: inbox.KindMessage, Channel: inbox.ChannelSMS,
			Status: inbox.MessageReceived, Body: fmt.Sprintf("message %03d", i), CreatedAt: now.Add(-time.Duration(n-i) * time.Hour)})
	}
	seedHistory(t, conv.ID, msgs...)
	to := now.Add(time.Minute).Truncate(time.Second)
	r := do(t, "GET", exportPath(conv.ID, "csv", to.Add(-30*24*time.Hour), to, false), tok.agent, nil)
	job := wantJSON[inbox.Export](t, r, http.StatusAccepted)
	if r.Header.Get("Location") != "/exports/"+job.ID || job.Status != inbox.ExportPending || job.DownloadURL != "" {
		t.Fatalf("202 = %s, Location %q", r, r.Header.Get("Location"))
	}
	wantProblem(t, do(t, "GET", "/exports/"+job.ID, tok.other, nil), http.StatusNotFound, "not_found", anyField)

	var done inbox.Export
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		done = wantJSON[inbox.Export](t, do(t, "GET", "/exports/"+job.ID, tok.agent, nil), http.StatusOK)
		if done.Status != inbox.ExportPending || time.Now().After(deadline) {
			break
		}
	}
	if done.Status != inbox.ExportDone || done.Messages != n || done.DownloadURL == "" {
		t.Fatalf("export = %+v, want done with %d messages and a link", done, n)
	}
	resp, err := httpClient.Get(done.DownloadURL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("download = %d %v", resp.StatusCode, resp.Header)
	}
	rows, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
	if err != nil || len(rows) != n+1 || rows[1][6] != "message 000" || rows[n][6] != fmt.Sprintf("message %03d", n-1) {
		t.Fatalf("downloaded %d rows (err %v), want header + %d in order", len(rows), err, n)
	}
	// The link is signed: another object under the same signature is refused.
	forged := strings.Replace(done.DownloadURL, url.QueryEscape(job.ID), url.QueryEscape(conv.ID), 1)
	if resp, err := httpClient.Get(forged); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("a forged link: %v %v, want 403", resp.Status, err)
	} else {
		resp.Body.Close()
	}
	var raw map[string]any
	_ = json.Unmarshal(do(t, "GET", "/exports/"+job.ID, tok.agent, nil).Body, &raw)
	if _, ok := raw["retainedUntil"]; !ok {
		t.Errorf("the export does not say how long it is kept: %v", raw)
	}
}
