package e2e_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestStartConversation(t *testing.T) {
	t.Parallel()
	phone := newPhone(t)
	name := "Starter " + uniq()
	first := startConversation(t, tok.agent, map[string]any{"phone": nationalFormats(phone)[1], "name": name}, http.StatusCreated)
	if !validULID(first.ID) || first.WorkspaceID != demoWS || first.Status != "open" || first.Archived || first.Unread {
		t.Errorf("new conversation = %+v, want an open, read, active thread in %s", first, demoWS)
	}
	if first.ContactName != name || len(first.Labels) != 0 || len(first.Channels) != 0 || first.LastMessageAt != nil {
		t.Errorf("new conversation = %+v, want contactName %q and no labels, channels or messages", first, name)
	}
	// Starting the thread created the contact, linked to it.
	contacts := searchContacts(t, tok.agent, url.Values{"phone": {phone}})
	if len(contacts) != 1 || contacts[0].ID != first.ContactID || contacts[0].ConversationID != first.ID || contacts[0].Name != name {
		t.Fatalf("contact for %s = %+v, want id %s linked to %s named %q", phone, contacts, first.ContactID, first.ID, name)
	}

	// The same phone, in any format, is the same thread: 200, same id.
	for _, f := range nationalFormats(phone)[2:4] {
		again := startConversation(t, tok.admin, map[string]any{"phone": f}, http.StatusOK)
		if again.ID != first.ID || again.ContactID != first.ContactID {
			t.Errorf("start again with %q: id %s contact %s, want %s and %s", f, again.ID, again.ContactID, first.ID, first.ContactID)
		}
	}
	byContact := startConversation(t, tok.agent, map[string]any{"contactId": first.ContactID}, http.StatusOK)
	if byContact.ID != first.ID {
		t.Errorf("start by contactId: id %s, want %s", byContact.ID, first.ID)
	}

	// From an existing contact that has no thread yet: 201, then 200.
	c := createContact(t, tok.agent, map[string]any{"name": "Existing " + uniq(), "emails": []string{"ex." + uniq() + "@example.com"}})
	conv := startConversation(t, tok.agent, map[string]any{"contactId": c.ID}, http.StatusCreated)
	if conv.ContactID != c.ID || conv.ContactName != c.Name {
		t.Errorf("thread for contact %s: contactId %s contactName %q, want %s and %q", c.ID, conv.ContactID, conv.ContactName, c.ID, c.Name)
	}
	if again := startConversation(t, tok.agent, map[string]any{"contactId": c.ID}, http.StatusOK); again.ID != conv.ID {
		t.Errorf("second start for contact %s: %s, want %s", c.ID, again.ID, conv.ID)
	}
	if got := getContact(t, tok.agent, c.ID); got.ConversationID != conv.ID {
		t.Errorf("contact.conversationId = %q, want %q", got.ConversationID, conv.ID)
	}
	// A phone that an existing contact holds starts that contact's thread.
	p2 := newPhone(t)
	holder := createContact(t, tok.agent, map[string]any{"name": "Holder " + uniq(), "phones": []string{p2}})
	if got := startConversation(t, tok.agent, map[string]any{"phone": p2, "name": "Ignored"}, http.StatusCreated); got.ContactID != holder.ID || got.ContactName != holder.Name {
		t.Errorf("start by a held phone: contact %s %q, want %s %q", got.ContactID, got.ContactName, holder.ID, holder.Name)
	}

	// Exactly one of phone and contactId; a bad phone is named; unknown
	// contacts are 404.
	wantProblem(t, do(t, "POST", "/conversations", tok.agent, map[string]any{}), http.StatusBadRequest, "invalid", "phone")
	wantProblem(t, do(t, "POST", "/conversations", tok.agent, map[string]any{"phone": phone, "contactId": c.ID}), http.StatusBadRequest, "invalid", "phone")
	wantProblem(t, do(t, "POST", "/conversations", tok.agent, map[string]any{"phone": "555"}), http.StatusBadRequest, "invalid", "phone")
	wantProblem(t, do(t, "POST", "/conversations", tok.agent, map[string]any{"contactId": ulidLike()}), http.StatusNotFound, "not_found", "")
	wantProblem(t, do(t, "POST", "/conversations", tok.other, map[string]any{"contactId": c.ID}), http.StatusNotFound, "not_found", "")

	// The other tenant starting a thread with the same phone gets its own.
	theirs := startConversation(t, tok.other, map[string]any{"phone": phone}, http.StatusCreated)
	if theirs.ID == first.ID || theirs.ContactID == first.ContactID || theirs.WorkspaceID != otherWS {
		t.Errorf("other tenant's thread for the same phone = %+v; want its own contact and thread", theirs)
	}
}

func TestConversationStateChanges(t *testing.T) {
	t.Parallel()
	conv := newConversation(t, tok.agent, "States "+uniq())
	v := conv.Version
	step := func(verb string, check func(Conversation) bool, want string) {
		t.Helper()
		got := action(t, tok.agent, conv.ID, verb)
		v++
		if !check(got) || got.Version != v {
			t.Errorf("POST %s: %+v, want %s at version %d", verb, got, want, v)
		}
		if stored := getConversation(t, tok.admin, conv.ID); !check(stored) || stored.Version != v {
			t.Errorf("GET after %s: %+v, want %s at version %d", verb, stored, want, v)
		}
	}
	step("unread", func(c Conversation) bool { return c.Unread }, "unread")
	step("read", func(c Conversation) bool { return !c.Unread }, "read")
	step("complete", func(c Conversation) bool { return c.Status == "complete" }, "complete")
	step("reopen", func(c Conversation) bool { return c.Status == "open" }, "open")
	step("archive", func(c Conversation) bool { return c.Archived }, "archived")
	if convIDs(listInbox(t, tok.agent, ""))[conv.ID] {
		t.Errorf("archived conversation %s is in the inbox", conv.ID)
	}
	step("unarchive", func(c Conversation) bool { return !c.Archived }, "active")
	if !convIDs(listInbox(t, tok.agent, ""))[conv.ID] {
		t.Errorf("unarchived conversation %s is not in the inbox", conv.ID)
	}

	// Assign and unassign.
	got := wantJSON[Conversation](t, do(t, "PUT", "/conversations/"+conv.ID+"/assignee", tok.agent, map[string]any{"assigneeId": demoAgent}), http.StatusOK)
	if got.AssigneeID != demoAgent {
		t.Errorf("assigneeId = %q, want %q", got.AssigneeID, demoAgent)
	}
	if g := getConversation(t, tok.agent, conv.ID); g.AssigneeID != demoAgent {
		t.Errorf("GET after assign: assigneeId = %q, want %q", g.AssigneeID, demoAgent)
	}
	before := getConversation(t, tok.agent, conv.ID)
	wantProblem(t, do(t, "PUT", "/conversations/"+conv.ID+"/assignee", tok.agent, map[string]any{"assigneeId": "nobody-" + uniq()}), http.StatusBadRequest, "invalid", "assigneeId")
	wantProblem(t, do(t, "PUT", "/conversations/"+conv.ID+"/assignee", tok.agent, map[string]any{"assigneeId": intruder}), http.StatusBadRequest, "invalid", "assigneeId")
	wantProblem(t, do(t, "PUT", "/conversations/"+conv.ID+"/assignee", tok.agent, map[string]any{}), http.StatusBadRequest, "invalid", "assigneeId")
	if g := getConversation(t, tok.agent, conv.ID); g.AssigneeID != demoAgent || g.Version != before.Version {
		t.Errorf("failed assignments changed the conversation: assignee %q version %d -> %d", g.AssigneeID, before.Version, g.Version)
	}
	wantStatus(t, do(t, "DELETE", "/conversations/"+conv.ID+"/assignee", tok.agent, nil), http.StatusNoContent)
	if got = getConversation(t, tok.agent, conv.ID); got.AssigneeID != "" {
		t.Errorf("after unassign: assigneeId = %q, want none", got.AssigneeID)
	}
	if g := getConversation(t, tok.agent, conv.ID); g.AssigneeID != "" {
		t.Errorf("GET after unassign: assigneeId = %q, want none", g.AssigneeID)
	}

	// Renaming the contact renames the inbox row.
	newName := "Renamed " + uniq()
	do(t, "PATCH", "/contacts/"+conv.ContactID, tok.agent, map[string]any{"name": newName})
	if g := getConversation(t, tok.agent, conv.ID); g.ContactName != newName {
		t.Errorf("contactName after renaming the contact = %q, want %q", g.ContactName, newName)
	}

	wantProblem(t, do(t, "POST", "/conversations/"+ulidLike()+"/archive", tok.agent, nil), http.StatusNotFound, "not_found", "")
	wantProblem(t, do(t, "GET", "/conversations/not-an-id", tok.agent, nil), http.StatusNotFound, "not_found", "")
}

func TestConversationLabels(t *testing.T) {
	t.Parallel()
	conv := newConversation(t, tok.agent, "Labels "+uniq())
	billing := createLabel(t, "Billing "+uniq())
	support := createLabel(t, "Support "+uniq())
	if !validULID(billing.ID) || billing.WorkspaceID != demoWS || billing.Color != "#22c55e" {
		t.Errorf("created label = %+v", billing)
	}
	// Names are unique ignoring case; the label list is readable by agents.
	wantProblem(t, do(t, "POST", "/labels", tok.admin, map[string]any{"name": strings.ToUpper(billing.Name)}), http.StatusConflict, "conflict", "name")
	labels := wantJSON[Page[Label]](t, do(t, "GET", "/labels", tok.agent, nil), http.StatusOK)
	if got := ids(labels.Items, func(l Label) string { return l.ID }); !got[billing.ID] || !got[support.ID] {
		t.Errorf("GET /labels is missing %s or %s", billing.ID, support.ID)
	}
	if l := wantJSON[Label](t, do(t, "GET", "/labels/"+billing.ID, tok.agent, nil), http.StatusOK); l.Name != billing.Name {
		t.Errorf("GET /labels/%s name = %q, want %q", billing.ID, l.Name, billing.Name)
	}

	add := func(labelID string) Conversation {
		t.Helper()
		return wantJSON[Conversation](t, do(t, "PUT", "/conversations/"+conv.ID+"/labels/"+labelID, tok.agent, nil), http.StatusOK)
	}
	add(billing.ID)
	got := add(support.ID)
	if len(got.Labels) != 2 || !containsStr(got.Labels, billing.ID) || !containsStr(got.Labels, support.ID) {
		t.Errorf("labels = %v, want %s and %s", got.Labels, billing.ID, support.ID)
	}
	// Adding twice keeps one.
	if got = add(billing.ID); len(got.Labels) != 2 {
		t.Errorf("labels after adding %s again = %v, want 2 labels", billing.ID, got.Labels)
	}
	wantStatus(t, do(t, "DELETE", "/conversations/"+conv.ID+"/labels/"+billing.ID, tok.agent, nil), http.StatusNoContent)
	if got = getConversation(t, tok.agent, conv.ID); len(got.Labels) != 1 || got.Labels[0] != support.ID {
		t.Errorf("labels after removing %s = %v, want [%s]", billing.ID, got.Labels, support.ID)
	}
	if stored := getConversation(t, tok.agent, conv.ID); strings.Join(stored.Labels, ",") != support.ID {
		t.Errorf("GET labels = %v, want [%s]", stored.Labels, support.ID)
	}

	// Unknown labels, and the other tenant's labels, cannot be added.
	before := getConversation(t, tok.agent, conv.ID)
	wantProblem(t, do(t, "PUT", "/conversations/"+conv.ID+"/labels/"+ulidLike(), tok.agent, nil), http.StatusBadRequest, "invalid", "labelId")
	wantProblem(t, do(t, "PUT", "/conversations/"+conv.ID+"/labels/not-a-label", tok.agent, nil), http.StatusBadRequest, "invalid", "labelId")
	theirs := wantJSON[Label](t, do(t, "POST", "/labels", tok.other, map[string]any{"name": "Theirs " + uniq()}), http.StatusCreated)
	if theirs.Color != "#6b7280" {
		t.Errorf("default label color = %q, want #6b7280", theirs.Color)
	}
	wantProblem(t, do(t, "PUT", "/conversations/"+conv.ID+"/labels/"+theirs.ID, tok.agent, nil), http.StatusBadRequest, "invalid", "labelId")
	if after := getConversation(t, tok.agent, conv.ID); after.Version != before.Version || len(after.Labels) != 1 {
		t.Errorf("refused label changes changed the conversation: %v version %d -> %d", after.Labels, before.Version, after.Version)
	}
	wantProblem(t, do(t, "GET", "/labels/"+theirs.ID, tok.agent, nil), http.StatusNotFound, "not_found", "")

	// Label admin: rename, refuse a bad color, delete.
	renamed := wantJSON[Label](t, do(t, "PATCH", "/labels/"+support.ID, tok.admin, map[string]any{"name": "Help " + uniq(), "color": "#ABCDEF"}), http.StatusOK)
	if renamed.Version != support.Version+1 || renamed.Color != "#ABCDEF" {
		t.Errorf("patched label = %+v", renamed)
	}
	wantProblem(t, do(t, "PATCH", "/labels/"+support.ID, tok.admin, map[string]any{"color": "green"}), http.StatusBadRequest, "invalid", "color")
	wantStatus(t, do(t, "DELETE", "/labels/"+billing.ID, tok.admin, nil), http.StatusNoContent)
	wantProblem(t, do(t, "GET", "/labels/"+billing.ID, tok.agent, nil), http.StatusNotFound, "not_found", "")
	// The deleted label's name is free again.
	createLabel(t, billing.Name)
}

// Search finds threads, archived ones too, by name prefix, phone or email.
func TestConversationSearch(t *testing.T) {
	t.Parallel()
	phone := newPhone(t)
	email := "Search." + uniq() + "@Example.com"
	name := "Srch" + uniq() + " Customer"
	c := createContact(t, tok.agent, map[string]any{"name": name, "phones": []string{phone}, "emails": []string{email}})
	conv := startConversation(t, tok.agent, map[string]any{"contactId": c.ID}, http.StatusCreated)
	action(t, tok.agent, conv.ID, "archive")

	for _, q := range []string{name[:9], strings.ToLower(name), nationalFormats(phone)[1], nationalFormats(phone)[3], phone, email, strings.ToLower(email)} {
		found := wantJSON[Page[Conversation]](t, do(t, "GET", "/conversations/search?"+url.Values{"q": {q}}.Encode(), tok.agent, nil), http.StatusOK).Items
		if len(found) != 1 || found[0].ID != conv.ID || !found[0].Archived {
			t.Errorf("search %q = %d results %v, want the archived %s", q, len(found), convIDs(found), conv.ID)
		}
	}
	// A contact without a thread is not a search result.
	lone := createContact(t, tok.agent, map[string]any{"name": name + " Lone"})
	found := wantJSON[Page[Conversation]](t, do(t, "GET", "/conversations/search?"+url.Values{"q": {name}}.Encode(), tok.agent, nil), http.StatusOK).Items
	if len(found) != 1 {
		t.Errorf("search %q returned %d results, want 1 (contact %s has no thread)", name, len(found), lone.ID)
	}
	// The other tenant finds nothing.
	for _, q := range []string{name, phone, email} {
		if found := wantJSON[Page[Conversation]](t, do(t, "GET", "/conversations/search?"+url.Values{"q": {q}}.Encode(), tok.other, nil), http.StatusOK).Items; len(found) != 0 {
			t.Errorf("other tenant's search %q found %v", q, convIDs(found))
		}
	}
	wantProblem(t, do(t, "GET", "/conversations/search?q=%20", tok.agent, nil), http.StatusBadRequest, "invalid", "q")
}
