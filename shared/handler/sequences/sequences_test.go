package sequences_test

import (
	"testing"

	"github.com/parley-inbox/parley/shared/handler/sequences"
)

func TestParseInvocation(t *testing.T) {
	for _, tc := range []struct {
		name, raw string
		task      string // action, or "" for an event
		ok        bool
	}{
		{"drip step", `{"action":"drip.step","run":{"workspaceId":"w","kind":"drip","contactId":"c","runId":"r","step":1,"waitUntil":"2026-01-01T00:00:00Z","next":"wait"}}`, "drip.step", true},
		{"manual with token", `{"action":"automation.manual","run":{"workspaceId":"w","runId":"r","manual":null},"taskToken":"tok"}`, "automation.manual", true},
		{"back from manual", `{"action":"automation.step","run":{"workspaceId":"w","manual":{"taskId":"t","status":"done"}}}`, "automation.step", true},
		{"event", `{"version":"0","id":"1","detail-type":"message.received","source":"parley","detail":{"id":"e","type":"message.received","workspaceId":"w","contactId":"c","occurredAt":"2026-01-01T00:00:00Z"}}`, "", true},
		{"mismatched event", `{"detail-type":"order.placed","detail":{"type":"message.received"}}`, "", false},
		{"unknown action", `{"action":"drip.jump","run":{}}`, "", false},
		{"no run", `{"action":"drip.step"}`, "", false},
		{"unknown field", `{"action":"drip.step","run":{},"extra":1}`, "", false},
		{"not an object", `[1]`, "", false},
	} {
		inv, err := sequences.ParseInvocation([]byte(tc.raw))
		if (err == nil) != tc.ok {
			t.Errorf("%s: err %v, want ok=%v", tc.name, err, tc.ok)
			continue
		}
		if !tc.ok {
			continue
		}
		if tc.task != "" && (inv.Task == nil || inv.Task.Action != tc.task) {
			t.Errorf("%s: %+v, want task %s", tc.name, inv, tc.task)
		}
		if tc.task == "" && inv.Event == nil {
			t.Errorf("%s: %+v, want an event", tc.name, inv)
		}
	}
}

// FuzzParseInvocation: whatever Step Functions or EventBridge hands the
// function, parsing refuses or yields exactly one complete invocation.
func FuzzParseInvocation(f *testing.F) {
	f.Add([]byte(`{"action":"drip.step","run":{"workspaceId":"w","runId":"r"}}`))
	f.Add([]byte(`{"detail-type":"cart.abandoned","detail":{"type":"cart.abandoned","workspaceId":"w","contactId":"c","reference":"x"}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		inv, err := sequences.ParseInvocation(raw)
		if err != nil {
			return
		}
		if (inv.Task == nil) == (inv.Event == nil) {
			t.Fatalf("%s parsed to %+v", raw, inv)
		}
		if inv.Task != nil && inv.Task.Run == nil {
			t.Fatalf("%s: a task without a run", raw)
		}
	})
}
