package e2e_test

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parley-inbox/parley/shared/dev/signing"
	"github.com/parley-inbox/parley/shared/handler/webhooks"
)

// timeScale is the started stack's PARLEY_TIME_SCALE: a minute of a
// sequence's business time passes in 20 ms, a day in under 30 s.
const timeScale = 3000

// eventsSigningSecret signs external events (orders, carts, lists).
const eventsSigningSecret = "events-e2e-signing-secret"

// scaled is how long d of business time takes on the stack.
func scaled(d time.Duration) time.Duration { return time.Duration(float64(d) / float64(timeScale)) }

// needTimeScale skips sequence tests on a server this suite did not start,
// unless PARLEY_E2E_TIME_SCALE says it runs at the suite's scale.
func needTimeScale(t *testing.T) {
	t.Helper()
	if os.Getenv("PARLEY_E2E_BASE_URL") != "" && os.Getenv("PARLEY_E2E_TIME_SCALE") != strconv.Itoa(timeScale) {
		t.Skipf("sequence tests need the server to run with PARLEY_TIME_SCALE=%d (set PARLEY_E2E_TIME_SCALE=%d)", timeScale, timeScale)
	}
}

type Run struct {
	ID             string     `json:"id"`
	Kind           string     `json:"kind"`
	SequenceID     string     `json:"sequenceId"`
	ContactID      string     `json:"contactId"`
	ConversationID string     `json:"conversationId"`
	Status         string     `json:"status"`
	Reason         string     `json:"reason"`
	Step           int        `json:"step"`
	StepsDone      int        `json:"stepsDone"`
	LastError      string     `json:"lastError"`
	TaskID         string     `json:"taskId"`
	Reference      string     `json:"reference"`
	StartedAt      time.Time  `json:"startedAt"`
	EndedAt        *time.Time `json:"endedAt"`
}

type RunsPage struct {
	Items      []Run          `json:"items"`
	NextCursor string         `json:"nextCursor"`
	Counts     map[string]int `json:"counts"`
}

type Task struct {
	ID           string `json:"id"`
	AssigneeID   string `json:"assigneeId"`
	Action       string `json:"action"`
	Instructions string `json:"instructions"`
	Status       string `json:"status"`
	RunID        string `json:"runId"`
	ContactID    string `json:"contactId"`
}

func createCampaign(t *testing.T, steps ...map[string]any) string {
	t.Helper()
	c := wantJSON[struct {
		ID string `json:"id"`
	}](t, do(t, "POST", "/campaigns", tok.admin, map[string]any{"name": "Drip " + uniq(), "steps": steps}), http.StatusCreated)
	return c.ID
}

func smsStep(afterMinutes int, body string) map[string]any {
	return map[string]any{"afterMinutes": afterMinutes, "channel": "sms", "body": body}
}

func createAutomation(t *testing.T, trigger map[string]any, steps ...map[string]any) string {
	t.Helper()
	a := wantJSON[struct {
		ID string `json:"id"`
	}](t, do(t, "POST", "/automations", tok.admin, map[string]any{"name": "Automation " + uniq(), "trigger": trigger, "steps": steps}), http.StatusCreated)
	return a.ID
}

// contactRun finds the contact's run of a sequence.
func contactRun(t *testing.T, contactID, sequenceID string) (Run, bool) {
	t.Helper()
	runs := wantJSON[struct {
		Items []Run `json:"items"`
	}](t, do(t, "GET", "/contacts/"+contactID+"/runs", tok.agent, nil), http.StatusOK)
	var found Run
	ok := false
	for _, r := range runs.Items {
		if r.SequenceID == sequenceID && (!ok || r.StartedAt.After(found.StartedAt)) {
			found, ok = r, true
		}
	}
	return found, ok
}

// waitRun waits until the contact's latest run of the sequence has status.
func waitRun(t *testing.T, contactID, sequenceID, status string, within time.Duration) Run {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		r, ok := contactRun(t, contactID, sequenceID)
		if ok && r.Status == status {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("run of %s for contact %s: %+v (found %v), want status %s", sequenceID, contactID, r, ok, status)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func outbound(msgs []Message) []Message {
	var out []Message
	for _, m := range msgs {
		if m.Direction == "out" && m.Kind == "message" {
			out = append(out, m)
		}
	}
	return out
}

// postEvent posts an external event the way a shop does, signed.
func postEvent(t *testing.T, ws string, event map[string]any, hdr ...string) *reply {
	t.Helper()
	if _, ok := event["occurredAt"]; !ok {
		event["occurredAt"] = time.Now().UTC().Format(time.RFC3339Nano)
	}
	body := mustJSON(event)
	h := append([]string{"Content-Type", "application/json", webhooks.SignatureHeader, signing.Event(eventsSigningSecret, time.Now(), body)}, hdr...)
	return do(t, "POST", "/webhooks/"+ws+"/events", "", body, h...)
}

func TestDripSendsThreeStepsOnSchedule(t *testing.T) {
	needTimeScale(t)
	t.Parallel()
	phone := newPhone(t)
	contact := createContact(t, tok.agent, map[string]any{"name": "Drip " + uniq(), "phones": []string{phone}})
	campaign := createCampaign(t, smsStep(60, "Hour 1: welcome"), smsStep(120, "Hour 2: tips"), smsStep(180, "Hour 3: offer"))

	applied := time.Now()
	first := wantJSON[Run](t, do(t, "POST", "/campaigns/"+campaign+"/enrollments", tok.agent, map[string]any{"contactId": contact.ID}), http.StatusCreated)
	if first.Status != "started" || first.Kind != "drip" {
		t.Fatalf("enrollment: %+v", first)
	}
	// Applying it again while it runs is the same enrollment.
	again := wantJSON[Run](t, do(t, "POST", "/campaigns/"+campaign+"/enrollments", tok.agent, map[string]any{"contactId": contact.ID}), http.StatusOK)
	if again.ID != first.ID {
		t.Errorf("applying twice made two enrollments: %s, %s", first.ID, again.ID)
	}
	running := wantJSON[RunsPage](t, do(t, "GET", "/campaigns/"+campaign+"/enrollments", tok.agent, nil), http.StatusOK)
	if len(running.Items) != 1 || running.Counts["started"] != 1 {
		t.Errorf("running enrollments: %+v", running)
	}

	done := waitRun(t, contact.ID, campaign, "completed", 30*time.Second)
	conv := getContact(t, tok.agent, contact.ID).ConversationID
	if done.StepsDone != 3 || done.ConversationID != conv {
		t.Errorf("completed enrollment: %+v, want 3 steps done in thread %s", done, conv)
	}
	sent := outbound(listMessages(t, tok.agent, conv, ""))
	if len(sent) != 3 {
		t.Fatalf("the thread has %d outbound messages, want the 3 steps: %+v", len(sent), sent)
	}
	for i, m := range sent {
		due := applied.Add(scaled(time.Duration(60*(i+1)) * time.Minute))
		if m.Body != []string{"Hour 1: welcome", "Hour 2: tips", "Hour 3: offer"}[i] {
			t.Errorf("message %d is %q", i, m.Body)
		}
		// Never early: each step waits for its interval from when the
		// campaign was applied.
		if m.CreatedAt.Before(due.Add(-50 * time.Millisecond)) {
			t.Errorf("step %d created at %s, before it was due at %s", i+1, m.CreatedAt.Format(time.StampMilli), due.Format(time.StampMilli))
		}
	}
	for _, m := range sent {
		waitSent(t, demoWS, m.ID)
	}
	counts := wantJSON[RunsPage](t, do(t, "GET", "/campaigns/"+campaign+"/enrollments?status=completed", tok.agent, nil), http.StatusOK)
	if counts.Counts["completed"] != 1 || counts.Counts["started"] != 0 || len(counts.Items) != 1 {
		t.Errorf("after completion: %+v", counts)
	}
	// Once finished it cannot be applied again, and the campaign can go.
	wantProblem(t, do(t, "POST", "/campaigns/"+campaign+"/enrollments", tok.agent, map[string]any{"contactId": contact.ID}), http.StatusConflict, "conflict", "")
	wantStatus(t, do(t, "DELETE", "/campaigns/"+campaign, tok.admin, nil), http.StatusNoContent)
}

func TestDripReplyCancelsTheRest(t *testing.T) {
	needTimeScale(t)
	t.Parallel()
	phone := newPhone(t)
	contact := createContact(t, tok.agent, map[string]any{"name": "Replier " + uniq(), "phones": []string{phone}})
	campaign := createCampaign(t, smsStep(30, "First"), smsStep(24*60, "Second"), smsStep(48*60, "Third"))
	wantStatus(t, do(t, "POST", "/campaigns/"+campaign+"/enrollments", tok.agent, map[string]any{"contactId": contact.ID}), http.StatusCreated)

	deadline := time.Now().Add(15 * time.Second)
	var conv string
	for {
		if conv = getContact(t, tok.agent, contact.ID).ConversationID; conv != "" && len(outbound(listMessages(t, tok.agent, conv, ""))) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first step was never sent")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Still running: the second step is due a day after applying (about 29 s here).
	if r, _ := contactRun(t, contact.ID, campaign); r.Status != "started" || r.Step != 1 {
		t.Fatalf("after the first step: %+v", r)
	}
	twilioSMS(t, demoWS, twilioSMSForm(phone, "Thanks, tell me more"))
	r := waitRun(t, contact.ID, campaign, "exited", 10*time.Second)
	if r.Reason != "replied" {
		t.Errorf("the enrollment ended with reason %q, want replied", r.Reason)
	}
	// Well past the second step's time: nothing more was sent.
	time.Sleep(scaled(26*time.Hour) - time.Since(r.StartedAt) + time.Second)
	if n := len(outbound(listMessages(t, tok.agent, conv, ""))); n != 1 {
		t.Errorf("after the reply %d steps were sent in all, want only the first", n)
	}
}

func TestDripRefusals(t *testing.T) {
	needTimeScale(t)
	t.Parallel()
	campaign := createCampaign(t, smsStep(60, "Hello"))
	contact := createContact(t, tok.agent, map[string]any{"name": "Opted out " + uniq(), "phones": []string{newPhone(t)}})
	wantStatus(t, do(t, "POST", "/contacts/"+contact.ID+"/opt-out", tok.agent, map[string]any{"channel": "sms"}), http.StatusOK)

	wantProblem(t, do(t, "POST", "/campaigns/"+campaign+"/enrollments", tok.agent, map[string]any{"contactId": contact.ID}), http.StatusConflict, "conflict", "contactId")
	wantProblem(t, do(t, "POST", "/campaigns/"+campaign+"/enrollments", tok.agent, map[string]any{"contactId": ulidLike()}), http.StatusBadRequest, "invalid", "contactId")
	wantProblem(t, do(t, "POST", "/campaigns/"+ulidLike()+"/enrollments", tok.agent, map[string]any{"contactId": contact.ID}), http.StatusNotFound, "not_found", "")
	page := wantJSON[RunsPage](t, do(t, "GET", "/campaigns/"+campaign+"/enrollments", tok.agent, nil), http.StatusOK)
	if len(page.Items) != 0 || page.Counts["started"] != 0 {
		t.Errorf("refused enrollments started something: %+v", page)
	}
	if r, ok := contactRun(t, contact.ID, campaign); ok {
		t.Errorf("the opted-out contact has a run: %+v", r)
	}

	// Applied from a conversation, then cancelled: the execution stops and
	// the enrollment says why.
	conv := newConversation(t, tok.agent, "Cancel "+uniq())
	slow := createCampaign(t, smsStep(24*60, "Tomorrow"))
	run := wantJSON[Run](t, do(t, "POST", "/conversations/"+conv.ID+"/enrollments", tok.agent, map[string]any{"campaignId": slow}), http.StatusCreated)
	wantProblem(t, do(t, "DELETE", "/campaigns/"+slow, tok.admin, nil), http.StatusConflict, "conflict", "")
	canceled := wantJSON[Run](t, do(t, "POST", "/contacts/"+run.ContactID+"/runs/"+run.ID+"/cancel", tok.agent, nil), http.StatusOK)
	if canceled.Status != "exited" || canceled.Reason != "canceled" {
		t.Errorf("cancelled enrollment: %+v", canceled)
	}
	time.Sleep(scaled(25 * time.Hour))
	if n := len(outbound(listMessages(t, tok.agent, conv.ID, ""))); n != 0 {
		t.Errorf("a cancelled enrollment sent %d messages", n)
	}
}

func TestAutomationDraftsWithoutMarketingConsent(t *testing.T) {
	needTimeScale(t)
	t.Parallel()
	tag := "vip-" + uniq()
	automation := createAutomation(t, map[string]any{"type": "contact.tagged", "tag": tag},
		map[string]any{"type": "message", "mode": "send_now", "channel": "sms", "body": "Welcome to VIP"})

	noConsent := createContact(t, tok.agent, map[string]any{"name": "No marketing " + uniq(), "phones": []string{newPhone(t)}})
	consented := createContact(t, tok.agent, map[string]any{"name": "Marketing " + uniq(), "phones": []string{newPhone(t)}, "marketing": map[string]bool{"sms": true}})
	for _, c := range []Contact{noConsent, consented} {
		wantStatus(t, do(t, "PATCH", "/contacts/"+c.ID, tok.agent, map[string]any{"tags": []string{tag}}), http.StatusOK)
	}
	for _, c := range []Contact{noConsent, consented} {
		waitRun(t, c.ID, automation, "completed", 15*time.Second)
	}
	draft := outbound(listMessages(t, tok.agent, getContact(t, tok.agent, noConsent.ID).ConversationID, ""))
	if len(draft) != 1 || draft[0].Status != "draft" || draft[0].Body != "Welcome to VIP" {
		t.Errorf("without marketing consent: %+v, want one draft", draft)
	} else {
		wantNotSent(t, demoWS, draft[0].ID, "a draft waits for an agent")
		agentSendsDraft(t, draft[0])
	}
	sent := outbound(listMessages(t, tok.agent, getContact(t, tok.agent, consented.ID).ConversationID, ""))
	if len(sent) != 1 || sent[0].Status == "draft" {
		t.Fatalf("with marketing consent: %+v, want one message sent", sent)
	}
	waitSent(t, demoWS, sent[0].ID)
}

// agentSendsDraft reviews a draft the way the SPA does: it is in the
// drafts list, the agent sends it with an edit, and it goes out once.
func agentSendsDraft(t *testing.T, draft Message) {
	t.Helper()
	found := false
	for query := "?limit=100"; query != ""; {
		page := wantJSON[Page[Message]](t, do(t, "GET", "/drafts"+query, tok.agent, nil), http.StatusOK)
		for _, m := range page.Items {
			found = found || m.ID == draft.ID
		}
		query = ""
		if page.NextCursor != "" {
			query = "?limit=100&cursor=" + url.QueryEscape(page.NextCursor)
		}
	}
	if !found {
		t.Errorf("draft %s is not in GET /drafts", draft.ID)
	}
	path := "/conversations/" + draft.ConversationID + "/messages/" + draft.ID
	wantProblem(t, do(t, "POST", path+"/send", tok.agent, map[string]any{"body": ""}), http.StatusBadRequest, "invalid", "body")
	key := "send-" + uniq()
	sent := wantJSON[Message](t, do(t, "POST", path+"/send", tok.agent, map[string]any{"body": "Welcome to VIP, friend"}, "Idempotency-Key", key), http.StatusOK)
	if sent.Status != "queued" || sent.Body != "Welcome to VIP, friend" || sent.AuthorID == "" || sent.ID != draft.ID {
		t.Errorf("sent draft: %+v", sent)
	}
	replay := do(t, "POST", path+"/send", tok.agent, map[string]any{"body": "Welcome to VIP, friend"}, "Idempotency-Key", key)
	if again := wantJSON[Message](t, replay, http.StatusOK); again.ID != draft.ID || !replay.replayed() {
		t.Errorf("a repeat with the same key: %+v, replayed %v", again, replay.replayed())
	}
	wantProblem(t, do(t, "POST", path+"/send", tok.agent, map[string]any{}), http.StatusConflict, "conflict", "")
	wantProblem(t, do(t, "POST", path+"/cancel", tok.agent, nil), http.StatusConflict, "conflict", "")
	if got := waitSent(t, demoWS, draft.ID); got.Body != "Welcome to VIP, friend" {
		t.Errorf("sent %q, want the agent's edit", got.Body)
	}
}

func TestAutomationStatuses(t *testing.T) {
	needTimeScale(t)
	t.Parallel()
	// Cart abandonment: a reminder an hour later, then a second a day later.
	cart := createAutomation(t, map[string]any{"type": "cart.abandoned"},
		map[string]any{"type": "delay", "minutes": 60},
		map[string]any{"type": "message", "mode": "send_now", "channel": "sms", "body": "You left something behind"},
		map[string]any{"type": "delay", "minutes": 24 * 60},
		map[string]any{"type": "message", "mode": "send_now", "channel": "sms", "body": "Still thinking?"})

	abandoned := map[string]time.Time{} // a redelivery repeats the event as it was
	abandon := func(phone, cartID string) {
		t.Helper()
		at, ok := abandoned[cartID]
		if !ok {
			at = time.Now().UTC()
			abandoned[cartID] = at
		}
		r := postEvent(t, demoWS, map[string]any{"id": "cart-" + cartID, "type": "cart.abandoned", "reference": cartID, "occurredAt": at.Format(time.RFC3339Nano),
			"contact": map[string]any{"phone": phone, "name": "Shopper"}})
		wantStatus(t, r, http.StatusAccepted)
	}

	// Converted: a purchase during the run completes it as converted.
	buyer := newPhone(t)
	abandon(buyer, uniq())
	buyerID := waitContactByPhone(t, buyer)
	waitRun(t, buyerID, cart, "started", 10*time.Second)
	wantStatus(t, postEvent(t, demoWS, map[string]any{"id": "order-" + uniq(), "type": "order.placed", "reference": "o-1", "contact": map[string]any{"phone": buyer}}), http.StatusAccepted)
	if r := waitRun(t, buyerID, cart, "converted", 10*time.Second); r.Reason != "converted" || r.EndedAt == nil {
		t.Errorf("converted run: %+v", r)
	}

	// Exited: the contact opts out during the run.
	quitter := newPhone(t)
	abandon(quitter, uniq())
	quitterID := waitContactByPhone(t, quitter)
	waitRun(t, quitterID, cart, "started", 10*time.Second)
	twilioSMS(t, demoWS, twilioSMSForm(quitter, "STOP"))
	if r := waitRun(t, quitterID, cart, "exited", 10*time.Second); r.Reason != "opted_out" {
		t.Errorf("opted-out run: %+v", r)
	}

	// A new cart abandonment exits the old run and starts a new one.
	again := newPhone(t)
	firstCart := uniq()
	abandon(again, firstCart)
	againID := waitContactByPhone(t, again)
	old := waitRun(t, againID, cart, "started", 10*time.Second)
	abandon(again, firstCart) // a redelivery changes nothing
	abandon(again, uniq())
	deadline := time.Now().Add(10 * time.Second)
	for {
		prev, _ := findRun(t, againID, old.ID)
		latest, _ := contactRun(t, againID, cart)
		if prev.Status == "exited" && latest.ID != old.ID && latest.Status == "started" {
			if prev.Reason != "restarted" {
				t.Errorf("the replaced run's reason is %q, want restarted", prev.Reason)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after a second abandonment: old %+v, latest %+v", prev, latest)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Completed: the last step is reached (the second message, a day on).
	done := waitRun(t, againID, cart, "completed", 60*time.Second)
	conv := getContact(t, tok.agent, againID).ConversationID
	if got := outbound(listMessages(t, tok.agent, conv, "")); len(got) < 2 || got[len(got)-1].Body != "Still thinking?" || done.StepsDone != 4 {
		t.Errorf("completed run %+v sent %+v", done, got)
	}

	page := wantJSON[RunsPage](t, do(t, "GET", "/automations/"+cart+"/runs?status=exited", tok.agent, nil), http.StatusOK)
	want := map[string]int{"started": 0, "converted": 1, "exited": 2, "completed": 1}
	for status, n := range want {
		if page.Counts[status] != n {
			t.Errorf("counts %v, want %v", page.Counts, want)
			break
		}
	}
	if len(page.Items) != 2 {
		t.Errorf("exited runs listed: %+v, want 2", page.Items)
	}
}

func findRun(t *testing.T, contactID, runID string) (Run, bool) {
	t.Helper()
	runs := wantJSON[struct {
		Items []Run `json:"items"`
	}](t, do(t, "GET", "/contacts/"+contactID+"/runs", tok.agent, nil), http.StatusOK)
	for _, r := range runs.Items {
		if r.ID == runID {
			return r, true
		}
	}
	return Run{}, false
}

// waitContactByPhone finds the contact an external event created.
func waitContactByPhone(t *testing.T, phone string) string {
	t.Helper()
	found := searchContacts(t, tok.agent, url.Values{"phone": {phone}})
	if len(found) != 1 {
		t.Fatalf("contacts with %s: %+v", phone, found)
	}
	return found[0].ID
}

func TestManualActionBlocksItsRun(t *testing.T) {
	needTimeScale(t)
	t.Parallel()
	tag := "call-me-" + uniq()
	done := "called-" + uniq()
	automation := createAutomation(t, map[string]any{"type": "contact.tagged", "tag": tag},
		map[string]any{"type": "manual", "action": "call", "instructions": "Call to welcome them", "assigneeId": demoAgent},
		map[string]any{"type": "tag", "add": []string{done}})
	contact := createContact(t, tok.agent, map[string]any{"name": "Manual " + uniq(), "phones": []string{newPhone(t)}})
	wantStatus(t, do(t, "PATCH", "/contacts/"+contact.ID, tok.agent, map[string]any{"tags": []string{tag}}), http.StatusOK)

	var task Task
	deadline := time.Now().Add(10 * time.Second)
	for task.ID == "" {
		queue := wantJSON[struct {
			Items []Task `json:"items"`
		}](t, do(t, "GET", "/tasks", tok.agent, nil), http.StatusOK)
		for _, q := range queue.Items {
			if q.ContactID == contact.ID {
				task = q
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the manual action never reached the agent's queue")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if task.Action != "call" || task.Status != "open" || task.AssigneeID != demoAgent {
		t.Errorf("task: %+v", task)
	}
	// The run waits until the task is done: here half a day.
	time.Sleep(scaled(12 * time.Hour))
	if r, _ := contactRun(t, contact.ID, automation); r.Status != "started" || r.TaskID != task.ID {
		t.Fatalf("while the task is open: %+v", r)
	}
	if c := getContact(t, tok.agent, contact.ID); containsStr(c.Tags, done) {
		t.Fatal("the step after the manual action ran before the task was done")
	}
	// An unknown task is 404.
	wantProblem(t, do(t, "POST", "/tasks/"+ulidLike()+"/done", tok.agent, nil), http.StatusNotFound, "not_found", "")

	finished := wantJSON[Task](t, do(t, "POST", "/tasks/"+task.ID+"/done", tok.agent, nil), http.StatusOK)
	if finished.Status != "done" {
		t.Errorf("finished task: %+v", finished)
	}
	wantJSON[Task](t, do(t, "POST", "/tasks/"+task.ID+"/done", tok.agent, nil), http.StatusOK) // again: unchanged
	wantProblem(t, do(t, "POST", "/tasks/"+task.ID+"/skip", tok.agent, nil), http.StatusConflict, "conflict", "")
	waitRun(t, contact.ID, automation, "completed", 10*time.Second)
	if c := getContact(t, tok.agent, contact.ID); !containsStr(c.Tags, done) {
		t.Errorf("after the task, the tag step did not run: %v", c.Tags)
	}
	queue := wantJSON[struct {
		Items []Task `json:"items"`
	}](t, do(t, "GET", "/tasks", tok.agent, nil), http.StatusOK)
	for _, q := range queue.Items {
		if q.ID == task.ID {
			t.Error("a done task is still in the queue")
		}
	}
}

func TestSequenceBadInput(t *testing.T) {
	t.Parallel()
	step := map[string]any{"type": "message", "mode": "send_now", "channel": "sms", "body": "Hi"}
	for _, bad := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"name": "Unknown trigger", "trigger": map[string]any{"type": "moon.full"}, "steps": []any{step}}, "trigger.type"},
		{map[string]any{"name": "No trigger", "trigger": map[string]any{}, "steps": []any{step}}, "trigger.type"},
		{map[string]any{"name": "No steps", "trigger": map[string]any{"type": "order.placed"}, "steps": []any{}}, "steps"},
		{map[string]any{"name": "Bad step", "trigger": map[string]any{"type": "order.placed"}, "steps": []any{map[string]any{"type": "teleport"}}}, "steps[0].type"},
		{map[string]any{"name": "Bad mode", "trigger": map[string]any{"type": "order.placed"}, "steps": []any{map[string]any{"type": "message", "mode": "shout", "channel": "sms", "body": "x"}}}, "steps[0].mode"},
		{map[string]any{"name": "Template", "trigger": map[string]any{"type": "order.placed"}, "steps": []any{map[string]any{"type": "message", "mode": "send_now", "channel": "whatsapp", "template": map[string]any{"name": "no-such-template", "language": "en_US", "params": []string{}}}}}, "template"},
		{map[string]any{"name": "Reserved keyword", "trigger": map[string]any{"type": "message.keyword", "keyword": "STOP"}, "steps": []any{step}}, "trigger.keyword"},
	} {
		wantProblem(t, do(t, "POST", "/automations", tok.admin, bad.body), http.StatusBadRequest, "invalid", bad.field)
	}
	list := wantJSON[struct {
		Items []struct {
			Name string `json:"name"`
		} `json:"items"`
	}](t, do(t, "GET", "/automations", tok.admin, nil), http.StatusOK)
	for _, a := range list.Items {
		if a.Name == "Unknown trigger" || a.Name == "No steps" {
			t.Errorf("a refused automation was stored: %s", a.Name)
		}
	}

	// External events: signed, well formed, of a known type.
	ok := map[string]any{"id": "evt-" + uniq(), "type": "order.placed", "contact": map[string]any{"phone": newPhone(t)}}
	if p := wantProblem(t, postEvent(t, demoWS, map[string]any{"id": "evt-" + uniq(), "type": "moon.full", "contact": map[string]any{"phone": newPhone(t)}}), http.StatusBadRequest, "invalid", ""); !strings.Contains(p.Detail, "unknown event type") {
		t.Errorf("an unknown event type is refused with %q", p.Detail)
	}
	wantProblem(t, postEvent(t, demoWS, map[string]any{"type": "order.placed", "contact": map[string]any{"phone": newPhone(t)}}), http.StatusBadRequest, "invalid", "")
	wantProblem(t, postEvent(t, demoWS, map[string]any{"id": "evt-" + uniq(), "type": "order.placed", "occurredAt": nil, "contact": map[string]any{"phone": newPhone(t)}}), http.StatusBadRequest, "invalid", "")
	wantProblem(t, postEvent(t, demoWS, map[string]any{"id": "evt-" + uniq(), "type": "order.placed", "occurredAt": "2020-01-01T00:00:00Z", "contact": map[string]any{"phone": newPhone(t)}}), http.StatusBadRequest, "invalid", "")
	wantProblem(t, postEvent(t, demoWS, map[string]any{"id": "evt-" + uniq(), "type": "order.placed", "contact": map[string]any{}}), http.StatusBadRequest, "invalid", "")
	wantProblem(t, postEvent(t, demoWS, map[string]any{"id": "evt-" + uniq(), "type": "order.placed", "contact": map[string]any{"id": ulidLike()}}), http.StatusBadRequest, "invalid", "")
	wantProblem(t, postEvent(t, demoWS, map[string]any{"id": "evt-" + uniq(), "type": "order.placed", "colour": "blue", "contact": map[string]any{"phone": newPhone(t)}}), http.StatusBadRequest, "invalid", "")
	r := do(t, "POST", "/webhooks/"+demoWS+"/events", "", `{"id":"x","type":`, "Content-Type", "application/json",
		webhooks.SignatureHeader, signing.Event(eventsSigningSecret, time.Now(), []byte(`{"id":"x","type":`)))
	wantProblem(t, r, http.StatusBadRequest, "invalid", "")
	body := mustJSON(ok)
	for name, sig := range map[string]string{
		"missing":   "",
		"wrong key": signing.Event("not-the-secret", time.Now(), body),
		"stale":     signing.Event(eventsSigningSecret, time.Now().Add(-time.Hour), body),
		"garbage":   "t=abc,v1=zz",
	} {
		r := do(t, "POST", "/webhooks/"+demoWS+"/events", "", body, "Content-Type", "application/json", webhooks.SignatureHeader, sig)
		if r.Status != http.StatusForbidden {
			t.Errorf("%s signature: %d, want 403", name, r.Status)
		}
	}
	if found := searchContacts(t, tok.agent, url.Values{"phone": {fmt.Sprint(ok["contact"].(map[string]any)["phone"])}}); len(found) != 0 {
		t.Errorf("a refused event created a contact: %+v", found)
	}
	wantProblem(t, postEvent(t, otherWS, ok), http.StatusNotFound, "not_found", "")
}
