// Package background runs the loops that make dev, the tests and the bench
// start beside their work (schedulers, executors, pollers) and stops them:
// a stop cancels the loop's context and waits for it to return, so nothing
// outlives the test or the table it polls.
package background

import (
	"context"
	"sync"
	"testing"
)

// Run calls fn in a goroutine with a context derived from ctx. stop
// cancels that context, waits for fn to return and returns fn's error;
// later calls return the same error without waiting again.
func Run(ctx context.Context, fn func(context.Context) error) (stop func() error) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- fn(ctx) }()
	var (
		once sync.Once
		err  error
	)
	return func() error {
		once.Do(func() {
			cancel()
			err = <-done
		})
		return err
	}
}

// RunT is Run for a test: the loop stops when the test ends, if stop has
// not been called before, and an error it returns fails the test.
func RunT(t testing.TB, fn func(context.Context) error) (stop func()) {
	t.Helper()
	stopRun := Run(context.Background(), fn)
	var once sync.Once
	stop = func() {
		once.Do(func() {
			if err := stopRun(); err != nil {
				t.Errorf("background loop: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}
