// Package eventbus is the in-process stand-in for the EventBridge bus of
// shared/adapter/eventbus, for make dev and tests.
package eventbus

import (
	"context"
	"slices"
	"sync"

	"github.com/parley-inbox/parley/shared/inbox"
)

// Local is an in-process bus for make dev and tests: subscribers run in
// the publisher's goroutine, and the latest events are kept for inspection.
type Local struct {
	mu     sync.Mutex
	subs   []func(context.Context, inbox.Event)
	recent []inbox.Event
}

var _ inbox.EventPublisher = (*Local)(nil)

// keepRecent bounds the events a Local bus remembers.
const keepRecent = 500

// Subscribe registers a handler for every event published after it.
func (l *Local) Subscribe(fn func(context.Context, inbox.Event)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.subs = append(l.subs, fn)
}

func (l *Local) Publish(ctx context.Context, events []inbox.Event) error {
	l.mu.Lock()
	l.recent = append(l.recent, events...)
	if n := len(l.recent); n > keepRecent {
		l.recent = slices.Clone(l.recent[n-keepRecent:])
	}
	subs := slices.Clone(l.subs)
	l.mu.Unlock()
	for _, e := range events {
		for _, fn := range subs {
			fn(ctx, e)
		}
	}
	return nil
}

// Recent returns the latest events of a workspace, oldest first.
func (l *Local) Recent(workspaceID string) []inbox.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := []inbox.Event{}
	for _, e := range l.recent {
		if e.WorkspaceID == workspaceID {
			out = append(out, e)
		}
	}
	return out
}
