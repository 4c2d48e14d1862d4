package inbox

import (
	"context"
	"errors"
	"testing"
	"time"
)

// A burst of conflicts must not hold a request whose caller has gone: the
// pause between attempts ends with the context.
func TestRetryOnConflictStopsWhenTheContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	attempts := 0
	start := time.Now()
	err := retryOnConflict(ctx, func() error {
		attempts++
		if attempts == 2 {
			cancel()
		}
		return ErrVersionConflict
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if attempts != 2 {
		t.Errorf("attempts = %d, want 2: no attempt after the context ended", attempts)
	}
	// Ten attempts would pause for about a second in all.
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("took %v after the context ended", d)
	}
}

func TestRetryOnConflictGivesUpAfterMaxAttempts(t *testing.T) {
	attempts := 0
	err := retryOnConflict(context.Background(), func() error { attempts++; return ErrVersionConflict })
	if !errors.Is(err, ErrVersionConflict) || attempts != maxAttempts {
		t.Fatalf("err = %v after %d attempts, want the conflict after %d", err, attempts, maxAttempts)
	}
}

// A use case built without a clock, or a zero one, reads the system's.
func TestUseCasesWithoutAClockUseTheSystemClock(t *testing.T) {
	for name, now := range map[string]func() time.Time{
		"zero":            (&core{}).now,
		"nil clock":       NewDesk(nil, nil, nil, nil).now,
		"nil in intake":   NewIntake(nil, nil).now,
		"nil in web chat": NewWebChat(nil, nil, nil).now,
	} {
		got := now()
		if d := time.Since(got); d < 0 || d > time.Minute || got.Location() != time.UTC {
			t.Errorf("%s: now() = %v, want the system's time in UTC", name, got)
		}
	}
}
