package dynamo

import (
	"context"
	"testing"
	"time"

	"github.com/parley-inbox/parley/shared/inbox"
)

func TestBatchBackOffEndsWithTheContextAndTheAttempts(t *testing.T) {
	if err := backOff(context.Background(), 0, "BatchGetItem"); err != nil {
		t.Errorf("first attempt paused: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	// Attempt 7 would pause almost a second.
	if err := backOff(ctx, maxBatchAttempts-1, "BatchGetItem"); !inbox.IsKind(err, inbox.KindUnavailable) {
		t.Errorf("canceled: err = %v, want unavailable", err)
	}
	if d := time.Since(start); d > 200*time.Millisecond {
		t.Errorf("a canceled context still paused %v", d)
	}
	if err := backOff(context.Background(), maxBatchAttempts, "BatchGetItem"); !inbox.IsKind(err, inbox.KindUnavailable) {
		t.Errorf("past the last attempt: err = %v, want unavailable", err)
	}
}
