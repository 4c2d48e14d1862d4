package e2e_test

import (
	"encoding/json"
	"net/http"
	"testing"
)

func TestCampaignsCRUD(t *testing.T) {
	t.Parallel()
	steps := []map[string]any{
		{"afterMinutes": 1440, "channel": "sms", "body": "Day 1: welcome!"},
		{"afterMinutes": 4320, "channel": "sms", "body": "Day 3: any questions?"},
		{"afterMinutes": 7200, "channel": "sms", "body": "Day 5: last nudge"},
	}
	created := do(t, "POST", "/campaigns", tok.admin, map[string]any{"name": "Welcome " + uniq(), "steps": steps})
	wantStatus(t, created, http.StatusCreated)
	var c struct {
		ID    string           `json:"id"`
		Steps []map[string]any `json:"steps"`
	}
	if err := json.Unmarshal(created.Body, &c); err != nil || len(c.Steps) != 3 {
		t.Fatalf("created campaign: %s", created)
	}
	wantStatus(t, do(t, "GET", "/campaigns/"+c.ID, tok.agent, nil), http.StatusOK)
	wantStatus(t, do(t, "GET", "/campaigns", tok.agent, nil), http.StatusOK)
	wantStatus(t, do(t, "PATCH", "/campaigns/"+c.ID, tok.admin, map[string]any{"name": "Renamed " + uniq()}), http.StatusOK)

	// Bad input: 400 and nothing created; agents may not manage campaigns.
	for _, bad := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"name": "No steps", "steps": []any{}}, "steps"},
		{map[string]any{"name": "Unordered", "steps": []any{steps[1], steps[0]}}, "steps[1]"},
		{map[string]any{"name": "Negative", "steps": []any{map[string]any{"afterMinutes": -1, "channel": "sms", "body": "x"}}}, ""},
		{map[string]any{"name": "Template", "steps": []any{map[string]any{"afterMinutes": 5, "channel": "whatsapp", "template": map[string]any{"name": "no-such-template", "language": "en_US", "params": []string{}}}}}, "template"},
	} {
		r := do(t, "POST", "/campaigns", tok.admin, bad.body)
		if r.Status != http.StatusBadRequest {
			t.Errorf("%v: status %d, want 400: %s", bad.body["name"], r.Status, r)
		}
	}
	wantProblem(t, do(t, "POST", "/campaigns", tok.agent, map[string]any{"name": "Agent", "steps": steps}), http.StatusForbidden, "forbidden", "")
	wantProblem(t, do(t, "GET", "/campaigns/"+c.ID, tok.other, nil), http.StatusNotFound, "not_found", "")
	wantStatus(t, do(t, "DELETE", "/campaigns/"+c.ID, tok.admin, nil), http.StatusNoContent)
	wantProblem(t, do(t, "GET", "/campaigns/"+c.ID, tok.admin, nil), http.StatusNotFound, "not_found", "")
}
