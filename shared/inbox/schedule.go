package inbox

import (
	"regexp"
	"time"
)

// validScheduleName is EventBridge Scheduler's schedule name rule; the local
// scheduler applies it too, so make dev catches a name AWS would refuse.
var validScheduleName = regexp.MustCompile(`^[0-9A-Za-z_.-]{1,64}$`)

// CheckScheduleName applies that rule.
func CheckScheduleName(name string) error {
	if !validScheduleName.MatchString(name) {
		return Errorf(KindInvalid, "schedule name %q must be 1-64 letters, digits, '-', '_' or '.'", name)
	}
	return nil
}

// Check applies EventBridge Scheduler's rules to a schedule, so make dev
// refuses what AWS would, and returns its zone (UTC when unset).
func (s Schedule) Check() (string, *time.Location, error) {
	if err := CheckScheduleName(s.Name); err != nil {
		return "", nil, err
	}
	if s.At.IsZero() {
		return "", nil, Errorf(KindInvalid, "schedule %s has no time", s.Name)
	}
	tz := s.Timezone
	if tz == "" {
		tz = "UTC"
	}
	loc, err := time.LoadLocation(tz)
	if err != nil || tz == "Local" {
		return "", nil, Errorf(KindInvalid, "schedule %s: %q is not an IANA timezone", s.Name, tz)
	}
	return tz, loc, nil
}
