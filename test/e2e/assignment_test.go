package e2e_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// assignWS is a workspace of its own for assignment rules, which would
// otherwise assign the conversations other tests expect unassigned.
const assignWS = "e2e-assign"

func needAssignWS(t testing.TB) {
	t.Helper()
	if r := do(t, "GET", "/workspace", tok.assignAdmin, nil); r.Status != http.StatusOK {
		t.Skipf("the server has no workspace %s (GET /workspace answered %d)", assignWS, r.Status)
	}
}

// AssignedConversation is what assignment adds to a conversation.
type AssignedConversation struct {
	ID             string     `json:"id"`
	Status         string     `json:"status"`
	AssigneeID     string     `json:"assigneeId"`
	WaitingSince   *time.Time `json:"waitingSince"`
	AutoAssignment *struct {
		RuleName string `json:"ruleName"`
		Strategy string `json:"strategy"`
	} `json:"autoAssignment"`
}

type Agent struct {
	UserID       string `json:"userId"`
	Availability string `json:"availability"`
	Capacity     *int   `json:"capacity"`
	OpenAssigned int    `json:"openAssigned"`
}

// smsToAssign delivers a signed inbound SMS from a new number to assignWS
// and returns its conversation's id.
func smsToAssign(t *testing.T, body string) string {
	t.Helper()
	phone := newPhone(t)
	twilioSMS(t, assignWS, twilioSMSForm(phone, body))
	found := searchContacts(t, tok.assignAdmin, url.Values{"phone": {phone}})
	if len(found) != 1 || found[0].ConversationID == "" {
		t.Fatalf("no conversation for %s: %+v", phone, found)
	}
	return found[0].ConversationID
}

// settled waits until the assigner has assigned or queued a conversation
// (it runs on the conversation's events, after the webhook answered).
func settled(t *testing.T, id string) AssignedConversation {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		c := wantJSON[AssignedConversation](t, do(t, "GET", "/conversations/"+id, tok.assignAdmin, nil), http.StatusOK)
		if c.AssigneeID != "" || c.WaitingSince != nil {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("conversation %s was neither assigned nor queued", id)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// assignedTo waits until a conversation is assigned to user.
func assignedTo(t *testing.T, id, user string) AssignedConversation {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		c := wantJSON[AssignedConversation](t, do(t, "GET", "/conversations/"+id, tok.assignAdmin, nil), http.StatusOK)
		if c.AssigneeID == user {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("conversation %s is assigned to %q (waiting since %v), want %s", id, c.AssigneeID, c.WaitingSince, user)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func agents(t *testing.T) map[string]Agent {
	t.Helper()
	page := wantJSON[struct{ Items []Agent }](t, do(t, "GET", "/agents", tok.assignAdmin, nil), http.StatusOK)
	out := map[string]Agent{}
	for _, a := range page.Items {
		out[a.UserID] = a
	}
	return out
}

func TestAssignmentRoundRobinBalancedAndTheQueue(t *testing.T) {
	needAssignWS(t)
	admin := tok.assignAdmin
	suffix := strings.ToLower(uniq())
	ana, ben, cy := "ana-"+suffix, "ben-"+suffix, "cy-"+suffix
	for _, u := range []string{ana, ben, cy} {
		wantStatus(t, do(t, "PUT", "/users/"+u, admin, map[string]any{"name": strings.ToUpper(u[:1]) + u[1:2], "email": u + "@example.com", "role": "agent"}), http.StatusOK)
	}

	// Bad input changes nothing: a team of another workspace's user, a
	// capacity below zero.
	wantProblem(t, do(t, "POST", "/assignment-rules", admin, map[string]any{"name": "Theirs", "userIds": []string{demoAgent}}), http.StatusBadRequest, "invalid", "userIds")
	wantProblem(t, do(t, "PUT", "/users/"+ana+"/capacity", admin, map[string]any{"capacity": -1}), http.StatusBadRequest, "invalid", "capacity")
	if rules := wantJSON[struct{ Items []map[string]any }](t, do(t, "GET", "/assignment-rules", admin, nil), http.StatusOK); len(rules.Items) != 0 {
		t.Fatalf("rules after bad input: %v", rules.Items)
	}
	if a := agents(t)[ana]; a.Capacity != nil || a.Availability != "offline" {
		t.Fatalf("ana after bad input: %+v", a)
	}

	// Ana and Ben online with room for two each; Cy offline.
	for _, u := range []string{ana, ben, cy} {
		wantStatus(t, do(t, "PUT", "/users/"+u+"/capacity", admin, map[string]any{"capacity": 2}), http.StatusOK)
	}
	for _, u := range []string{ana, ben} {
		wantStatus(t, do(t, "PUT", "/users/"+u+"/availability", admin, map[string]any{"availability": "online"}), http.StatusOK)
	}
	rule := wantJSON[struct {
		ID string `json:"id"`
	}](t, do(t, "POST", "/assignment-rules", admin, map[string]any{"name": "Support", "userIds": []string{ana, ben, cy}, "strategy": "round_robin"}), http.StatusCreated)

	// Round robin: Ana, Ben, Ana, Ben; then both are full.
	var got []string
	first := map[string]string{}
	for i := range 4 {
		id := smsToAssign(t, fmt.Sprintf("Round robin %d %s", i, suffix))
		c := settled(t, id)
		got = append(got, c.AssigneeID)
		if c.AutoAssignment == nil || c.AutoAssignment.RuleName != "Support" || c.AutoAssignment.Strategy != "round_robin" {
			t.Errorf("conversation %s: autoAssignment %+v, want rule Support, round_robin", id, c.AutoAssignment)
		}
		if _, ok := first[c.AssigneeID]; !ok {
			first[c.AssigneeID] = id
		}
	}
	if want := []string{ana, ben, ana, ben}; !slices.Equal(got, want) {
		t.Fatalf("round robin assigned %v, want %v", got, want)
	}
	notes := listMessages(t, admin, first[ana], "")
	if last := notes[len(notes)-1]; last.Kind != "activity" || !strings.Contains(last.Body, `by rule "Support" (round robin)`) {
		t.Errorf("thread's last entry %s %q, want the assignment activity", last.Kind, last.Body)
	}

	// Two more wait, in arrival order.
	older := smsToAssign(t, "Waiting first "+suffix)
	if c := settled(t, older); c.AssigneeID != "" {
		t.Fatalf("conversation assigned to %s past capacity", c.AssigneeID)
	}
	newer := smsToAssign(t, "Waiting second "+suffix)
	if c := settled(t, newer); c.AssigneeID != "" {
		t.Fatalf("conversation assigned to %s past capacity", c.AssigneeID)
	}

	// Ana completes one: the older waiting conversation is hers.
	wantStatus(t, do(t, "POST", "/conversations/"+first[ana]+"/complete", admin, nil), http.StatusOK)
	assignedTo(t, older, ana)
	if c := wantJSON[AssignedConversation](t, do(t, "GET", "/conversations/"+newer, admin, nil), http.StatusOK); c.AssigneeID != "" || c.WaitingSince == nil {
		t.Fatalf("the newer conversation: %+v, want still waiting", c)
	}
	// Cy comes online: the newer one is theirs.
	cyTok, err := devTokens.Issue(assignWS, cy, "agent", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, do(t, "PUT", "/users/"+cy+"/availability", cyTok, map[string]any{"availability": "online"}), http.StatusOK)
	assignedTo(t, newer, cy)
	// An agent sets only their own availability.
	wantProblem(t, do(t, "PUT", "/users/"+ana+"/availability", cyTok, map[string]any{"availability": "offline"}), http.StatusForbidden, "forbidden", "")

	all := agents(t)
	if all[ana].OpenAssigned != 2 || all[ben].OpenAssigned != 2 || all[cy].OpenAssigned != 1 {
		t.Fatalf("open assigned: ana %d, ben %d, cy %d; want 2, 2, 1", all[ana].OpenAssigned, all[ben].OpenAssigned, all[cy].OpenAssigned)
	}

	// Balanced, with room for five each: the fewest open first (Cy, 1),
	// then among equals (all at 2) the one longest since their last
	// assignment (Ben), then Ana (2, before Cy's newer one).
	wantStatus(t, do(t, "PATCH", "/assignment-rules/"+rule.ID, admin, map[string]any{"strategy": "balanced"}), http.StatusOK)
	for _, u := range []string{ana, ben, cy} {
		wantStatus(t, do(t, "PUT", "/users/"+u+"/capacity", admin, map[string]any{"capacity": 5}), http.StatusOK)
	}
	got = nil
	for i := range 3 {
		c := settled(t, smsToAssign(t, fmt.Sprintf("Balanced %d %s", i, suffix)))
		got = append(got, c.AssigneeID)
	}
	if want := []string{cy, ben, ana}; !slices.Equal(got, want) {
		t.Fatalf("balanced assigned %v, want %v", got, want)
	}
	all = agents(t)
	if all[ana].OpenAssigned != 3 || all[ben].OpenAssigned != 3 || all[cy].OpenAssigned != 2 {
		t.Fatalf("open assigned: ana %d, ben %d, cy %d; want 3, 3, 2", all[ana].OpenAssigned, all[ben].OpenAssigned, all[cy].OpenAssigned)
	}
	wantStatus(t, do(t, "DELETE", "/assignment-rules/"+rule.ID, admin, nil), http.StatusNoContent)
}
