package e2e_test

import (
	"net/http"
	"testing"
)

// TestCustomFieldsInMergeTags: an admin defines a typed field, a contact
// carries a value, and an agent's message renders it; a value of the
// wrong type and a tag naming an undefined field are refused.
func TestCustomFieldsInMergeTags(t *testing.T) {
	key := "tier_" + uniq()
	r := do(t, "PUT", "/contact-fields/"+key, tok.admin, map[string]any{"label": "Tier", "type": "choice", "choices": []string{"Bronze", "Gold"}})
	wantStatus(t, r, http.StatusOK)
	wantProblem(t, do(t, "PUT", "/contact-fields/"+key, tok.agent, map[string]any{"type": "text"}), http.StatusForbidden, "forbidden", "")
	phone := newPhone(t)
	c := createContact(t, tok.agent, map[string]any{"name": "Tia Tier", "phones": []string{phone}, "custom": map[string]any{key: "gold"}})
	wantProblem(t, do(t, "POST", "/contacts", tok.agent, map[string]any{"name": "Bad Tier", "custom": map[string]any{key: "Platinum"}}), http.StatusBadRequest, "invalid", "custom."+key)
	conv := startConversation(t, tok.agent, map[string]any{"contactId": c.ID}, http.StatusCreated)
	m := postOut(t, tok.agent, conv.ID, map[string]any{"channel": "sms", "render": true, "body": "Hi {{contact.first_name}}, your {{contact.custom." + key + "}} perks are ready."})
	if m.Body != "Hi Tia, your Gold perks are ready." {
		t.Errorf("rendered %q", m.Body)
	}
	refuseOut(t, tok.agent, conv.ID, map[string]any{"channel": "sms", "render": true, "body": "Hi {{contact.custom.never_defined}}"}, "body")
	wantStatus(t, do(t, "DELETE", "/contact-fields/"+key, tok.admin, nil), http.StatusNoContent)
}
