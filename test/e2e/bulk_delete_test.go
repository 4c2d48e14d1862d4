package e2e_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/parley-inbox/parley/shared/dev/dynamolocal"
)

func TestBulkArchive(t *testing.T) {
	t.Parallel()
	a := newConversation(t, tok.agent, "Bulk A "+uniq())
	b := newConversation(t, tok.agent, "Bulk B "+uniq())
	keep := newConversation(t, tok.agent, "Bulk keep "+uniq())
	theirs := newConversation(t, tok.other, "Their bulk "+uniq())
	unknown := ulidLike()

	req := []string{a.ID, unknown, theirs.ID, b.ID, "not-an-id", a.ID}
	res := wantJSON[struct {
		Results []BulkResult `json:"results"`
	}](t, do(t, "POST", "/conversations/bulk-archive", tok.agent, map[string]any{"ids": req}), http.StatusOK)
	want := []int{200, 404, 404, 200, 404, 200}
	if len(res.Results) != len(req) {
		t.Fatalf("bulk archive returned %d results for %d ids: %+v", len(res.Results), len(req), res.Results)
	}
	for i, r := range res.Results {
		if r.ID != req[i] || r.Status != want[i] {
			t.Errorf("result %d = %+v, want id %s status %d (results are in request order)", i, r, req[i], want[i])
		}
		if (r.Status == 200) != (r.Error == "") {
			t.Errorf("result %d = %+v: error must be present exactly when status is not 200", i, r)
		}
	}
	for _, id := range []string{a.ID, b.ID} {
		if c := getConversation(t, tok.agent, id); !c.Archived {
			t.Errorf("%s not archived after bulk archive", id)
		}
	}
	inboxIDs := convIDs(listInbox(t, tok.agent, ""))
	if inboxIDs[a.ID] || inboxIDs[b.ID] || !inboxIDs[keep.ID] {
		t.Errorf("inbox after bulk archive: a listed %v, b listed %v, keep listed %v; want false, false, true", inboxIDs[a.ID], inboxIDs[b.ID], inboxIDs[keep.ID])
	}
	// The other tenant's thread is untouched.
	if c := getConversation(t, tok.other, theirs.ID); c.Archived || c.Version != theirs.Version {
		t.Errorf("demo's bulk archive changed the other tenant's %s: %+v", theirs.ID, c)
	}
	if !convIDs(listInbox(t, tok.other, ""))[theirs.ID] {
		t.Errorf("the other tenant's %s left its inbox", theirs.ID)
	}

	// Over 100 ids: refused whole, nothing archived.
	many := []string{keep.ID}
	for i := 0; len(many) < 101; i++ {
		many = append(many, ulidLike())
	}
	wantProblem(t, do(t, "POST", "/conversations/bulk-archive", tok.agent, map[string]any{"ids": many}), http.StatusBadRequest, "invalid", "ids")
	wantProblem(t, do(t, "POST", "/conversations/bulk-archive", tok.agent, map[string]any{"ids": []string{}}), http.StatusBadRequest, "invalid", "ids")
	wantProblem(t, do(t, "POST", "/conversations/bulk-archive", tok.agent, map[string]any{}), http.StatusBadRequest, "invalid", "ids")
	if c := getConversation(t, tok.agent, keep.ID); c.Archived || c.Version != keep.Version {
		t.Errorf("a refused bulk archive changed %s: %+v", keep.ID, c)
	}
	// Exactly 100 is allowed.
	hundred := append([]string{keep.ID}, many[1:100]...)
	res = wantJSON[struct {
		Results []BulkResult `json:"results"`
	}](t, do(t, "POST", "/conversations/bulk-archive", tok.agent, map[string]any{"ids": hundred}), http.StatusOK)
	if len(res.Results) != 100 || res.Results[0].Status != 200 {
		t.Errorf("bulk archive of 100 ids: %d results, first %+v", len(res.Results), res.Results[0])
	}
}

// TestDeleteConversation is not parallel: it turns workspace-wide deletion
// off and on, and runs before the parallel tests start.
func TestDeleteConversation(t *testing.T) {
	phone := newPhone(t)
	name := "Delete " + uniq()
	conv := startConversation(t, tok.agent, map[string]any{"phone": phone, "name": name}, http.StatusCreated)
	// More messages than one delete batch (25).
	for i := range 27 {
		postMessage(t, tok.agent, conv.ID, "sms", fmt.Sprintf("message %d", i))
	}
	wantJSON[Message](t, do(t, "POST", "/conversations/"+conv.ID+"/comments", tok.agent, map[string]any{"body": "note"}), http.StatusCreated)

	if n := storedItems(t, "WS#"+demoWS+"#CONV#"+conv.ID, "#CONV", "MSG#"); dynamoEndpoint != "" && n != 29 {
		t.Errorf("before the delete, the conversation's partition holds %d items, want 29 (thread + 28 messages)", n)
	}

	// Agents may not delete.
	wantProblem(t, do(t, "DELETE", "/conversations/"+conv.ID, tok.agent, nil), http.StatusForbidden, "forbidden", "")
	getConversation(t, tok.agent, conv.ID)

	// Admins may not either while the workspace forbids it.
	ws := wantJSON[Workspace](t, do(t, "PATCH", "/workspace", tok.admin, map[string]any{"conversationDeletion": false}), http.StatusOK)
	t.Cleanup(func() {
		r, err := send(t, "PATCH", "/workspace", tok.admin, map[string]any{"conversationDeletion": true})
		if err != nil || r.Status != http.StatusOK {
			t.Errorf("re-enable conversation deletion: %v %v", r, err)
		}
	})
	if ws.Settings.ConversationDeletion {
		t.Fatalf("PATCH /workspace conversationDeletion=false answered %+v", ws.Settings)
	}
	if got := wantJSON[Workspace](t, do(t, "GET", "/workspace", tok.agent, nil), http.StatusOK); got.Settings.ConversationDeletion || got.Settings.Timezone != ws.Settings.Timezone {
		t.Errorf("GET /workspace after disabling deletion = %+v", got.Settings)
	}
	wantProblem(t, do(t, "DELETE", "/conversations/"+conv.ID, tok.admin, nil), http.StatusForbidden, "forbidden", "")
	if got := listMessages(t, tok.agent, conv.ID, "limit=100"); len(got) != 28 {
		t.Errorf("refused delete: thread has %d messages, want 28", len(got))
	}
	wantJSON[Workspace](t, do(t, "PATCH", "/workspace", tok.admin, map[string]any{"conversationDeletion": true}), http.StatusOK)

	// An admin deletes it: 204, then it is gone everywhere.
	r := do(t, "DELETE", "/conversations/"+conv.ID, tok.admin, nil)
	wantStatus(t, r, http.StatusNoContent)
	if len(r.Body) != 0 {
		t.Errorf("204 with a body: %q", r.Body)
	}
	wantProblem(t, do(t, "GET", "/conversations/"+conv.ID, tok.admin, nil), http.StatusNotFound, "not_found", "")
	wantProblem(t, do(t, "GET", "/conversations/"+conv.ID+"/messages", tok.admin, nil), http.StatusNotFound, "not_found", "")
	wantProblem(t, do(t, "POST", "/conversations/"+conv.ID+"/messages", tok.admin, map[string]any{"channel": "sms", "body": "ghost"}), http.StatusNotFound, "not_found", "")
	wantProblem(t, do(t, "POST", "/conversations/"+conv.ID+"/archive", tok.admin, nil), http.StatusNotFound, "not_found", "")
	wantProblem(t, do(t, "DELETE", "/conversations/"+conv.ID, tok.admin, nil), http.StatusNotFound, "not_found", "")
	if convIDs(listInbox(t, tok.admin, ""))[conv.ID] {
		t.Errorf("deleted conversation %s is still in the inbox", conv.ID)
	}
	if found := wantJSON[Page[Conversation]](t, do(t, "GET", "/conversations/search?"+url.Values{"q": {phone}}.Encode(), tok.admin, nil), http.StatusOK).Items; len(found) != 0 {
		t.Errorf("search finds the deleted conversation: %v", convIDs(found))
	}
	// No message is left behind in the table (HTTP cannot see orphans),
	// nor in the thread's change log: the publisher purges what it logged
	// once the stream brings it the thread's removal.
	if n := storedItems(t, "WS#"+demoWS+"#CONV#"+conv.ID, "#CONV", "MSG#"); n != 0 {
		t.Errorf("%d items remain under the deleted conversation's partition, want 0", n)
	}
	deadline := time.Now().Add(sendWait)
	for storedItems(t, "WS#"+demoWS+"#CONV#"+conv.ID) != 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if n := storedItems(t, "WS#"+demoWS+"#CONV#"+conv.ID); n != 0 {
		t.Errorf("%d change log entries remain under the deleted conversation's partition, want 0", n)
	}
	// The contact stays, unlinked.
	contact := getContact(t, tok.admin, conv.ContactID)
	if contact.ConversationID != "" {
		t.Errorf("contact still links the deleted conversation %q", contact.ConversationID)
	}
	// Starting again with the same phone makes a new, empty thread for the same contact.
	fresh := startConversation(t, tok.agent, map[string]any{"phone": phone}, http.StatusCreated)
	if fresh.ID == conv.ID || fresh.ContactID != conv.ContactID {
		t.Errorf("restart: id %s contact %s, want a new id for contact %s", fresh.ID, fresh.ContactID, conv.ContactID)
	}
	if got := listMessages(t, tok.agent, fresh.ID, ""); len(got) != 0 {
		t.Errorf("the new thread has %d messages from the deleted one", len(got))
	}
	if fresh.Preview != "" || fresh.LastMessageAt != nil {
		t.Errorf("the new thread carries the old summary: %+v", fresh)
	}

	// Unknown ids, and the other tenant's admin, get 404.
	wantProblem(t, do(t, "DELETE", "/conversations/"+ulidLike(), tok.admin, nil), http.StatusNotFound, "not_found", "")
	wantProblem(t, do(t, "DELETE", "/conversations/"+fresh.ID, tok.other, nil), http.StatusNotFound, "not_found", "")
	getConversation(t, tok.agent, fresh.ID)
}

// storedItems counts the table's items under a partition key, straight from
// DynamoDB Local; it returns -1 (and logs) when the stack was not started
// by this suite.
// storedItems counts a partition's items, or only those whose sort keys
// start with one of prefixes.
func storedItems(t *testing.T, pk string, prefixes ...string) int {
	t.Helper()
	if dynamoEndpoint == "" {
		t.Log("no DynamoDB endpoint (external server): skipping the table-level check")
		return 0
	}
	out, err := dynamolocal.Client(dynamoEndpoint).Query(context.Background(), &dynamodb.QueryInput{
		TableName:                 aws.String("parley"),
		KeyConditionExpression:    aws.String("PK = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: pk}},
		ConsistentRead:            aws.Bool(true),
	})
	if err != nil {
		t.Fatalf("query DynamoDB Local for %s: %v", pk, err)
	}
	if len(prefixes) == 0 {
		return int(out.Count)
	}
	n := 0
	for _, item := range out.Items {
		sk, _ := item["SK"].(*types.AttributeValueMemberS)
		for _, p := range prefixes {
			if sk != nil && strings.HasPrefix(sk.Value, p) {
				n++
				break
			}
		}
	}
	return n
}

// One id named several times in a bulk request is archived once and
// reported as archived each time, not as a conflict with itself.
func TestBulkArchiveRepeatedIDs(t *testing.T) {
	t.Parallel()
	conv := newConversation(t, tok.agent, "Bulk repeat "+uniq())
	req := make([]string, 12)
	for i := range req {
		req[i] = conv.ID
	}
	res := wantJSON[struct {
		Results []BulkResult `json:"results"`
	}](t, do(t, "POST", "/conversations/bulk-archive", tok.agent, map[string]any{"ids": req}), http.StatusOK)
	if len(res.Results) != len(req) {
		t.Fatalf("%d results for %d ids", len(res.Results), len(req))
	}
	bad := 0
	for _, r := range res.Results {
		if r.ID != conv.ID || r.Status != http.StatusOK {
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("bulk archive of one id named %d times: %d results are not 200 (e.g. %+v); want all 200", len(req), bad, res.Results)
	}
	if c := getConversation(t, tok.agent, conv.ID); !c.Archived {
		t.Errorf("%s not archived", conv.ID)
	}
}
