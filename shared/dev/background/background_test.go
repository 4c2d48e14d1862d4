package background_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/parley-inbox/parley/shared/dev/background"
)

func TestStopCancelsWaitsAndReturnsTheError(t *testing.T) {
	returned := make(chan struct{})
	loopErr := errors.New("loop ended")
	stop := background.Run(context.Background(), func(ctx context.Context) error {
		<-ctx.Done()
		time.Sleep(10 * time.Millisecond) // stop must wait for this
		close(returned)
		return loopErr
	})
	if err := stop(); !errors.Is(err, loopErr) {
		t.Fatalf("stop() = %v, want %v", err, loopErr)
	}
	select {
	case <-returned:
	default:
		t.Fatal("stop returned before the loop did")
	}
	if err := stop(); !errors.Is(err, loopErr) {
		t.Errorf("second stop() = %v, want the same error", err)
	}
}

func TestParentContextStopsTheLoop(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	ended := make(chan struct{})
	stop := background.Run(ctx, func(ctx context.Context) error {
		<-ctx.Done()
		close(ended)
		return nil
	})
	cancel()
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Fatal("the loop outlived its parent context")
	}
	if err := stop(); err != nil {
		t.Errorf("stop() = %v, want nil", err)
	}
}

func TestRunTStopsAtCleanup(t *testing.T) {
	var stopped bool
	t.Run("inner", func(t *testing.T) {
		background.RunT(t, func(ctx context.Context) error {
			<-ctx.Done()
			stopped = true
			return nil
		})
	})
	if !stopped {
		t.Error("the loop was still running after its test ended")
	}
}
