package inbox

import (
	"testing"
	"time"
)

func TestBusinessHoursHold(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip(err)
	}
	weekdays := &BusinessHours{Days: []string{"mon", "tue", "wed", "thu", "fri"}, Start: "09:00", End: "17:00"}
	night := &BusinessHours{Days: []string{"fri"}, Start: "22:00", End: "06:00"}
	after := &BusinessHours{Days: []string{"mon", "tue", "wed", "thu", "fri"}, Start: "09:00", End: "17:00", Outside: true}
	for _, tc := range []struct {
		name string
		h    *BusinessHours
		at   string // UTC
		want bool
	}{
		{"Monday 10:00 in New York", weekdays, "2026-12-07T15:00:00Z", true},
		{"Monday 08:59 in New York", weekdays, "2026-12-07T13:59:00Z", false},
		{"Monday 17:00 in New York (end is out)", weekdays, "2026-12-07T22:00:00Z", false},
		{"Saturday noon", weekdays, "2026-12-12T17:00:00Z", false},
		{"Friday 23:00, a night span", night, "2026-12-12T04:00:00Z", true},
		{"Saturday 05:00 belongs to Friday's night", night, "2026-12-12T10:00:00Z", true},
		{"Saturday 23:00 is no Friday", night, "2026-12-13T04:00:00Z", false},
		{"outside: Saturday noon", after, "2026-12-12T17:00:00Z", true},
		{"outside: Monday 10:00", after, "2026-12-07T15:00:00Z", false},
	} {
		at, _ := time.Parse(time.RFC3339, tc.at)
		if got := tc.h.holds(at, ny); got != tc.want {
			t.Errorf("%s: holds = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestPickOrder(t *testing.T) {
	at := func(m int) *time.Time { v := time.Date(2026, 1, 1, 0, m, 0, 0, time.UTC); return &v }
	three := 3
	agents := map[string]*Agent{
		"a": {UserID: "a", Availability: AvailabilityOnline, OpenAssigned: 2, LastAssignedAt: at(1)},
		"b": {UserID: "b", Availability: AvailabilityOnline, OpenAssigned: 1, LastAssignedAt: at(5)},
		"c": {UserID: "c", Availability: AvailabilityOnline, OpenAssigned: 3, Capacity: &three, LastAssignedAt: at(0)},
		"d": {UserID: "d", Availability: AvailabilityBusy},
		"e": {UserID: "e", Availability: AvailabilityOnline, OpenAssigned: 1},
	}
	ids := func(list []*Agent) (out []string) {
		for _, a := range list {
			out = append(out, a.UserID)
		}
		return out
	}
	// Round robin: never assigned first, then the longest ago; c is full, d busy.
	if got := ids(pickOrder(agents, StrategyRoundRobin)); len(got) != 3 || got[0] != "e" || got[1] != "a" || got[2] != "b" {
		t.Errorf("round robin %v, want [e a b]", got)
	}
	// Balanced: the fewest open, ties by round robin.
	if got := ids(pickOrder(agents, StrategyBalanced)); len(got) != 3 || got[0] != "e" || got[1] != "b" || got[2] != "a" {
		t.Errorf("balanced %v, want [e b a]", got)
	}
}
