package inbox

import (
	"fmt"
	"slices"
	"testing"
)

func handles(ch string, from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("%s:%d", ch, i))
	}
	return out
}

func TestCapHandlesReleasesTheOldestOfAGrownChannel(t *testing.T) {
	for _, tc := range []struct {
		name       string
		prev, next []string
		want       []string
	}{
		{"under the cap", handles("webchat", 0, 3), handles("webchat", 0, 4), handles("webchat", 0, 4)},
		{"at the cap", handles("webchat", 0, 10), handles("webchat", 0, 10), handles("webchat", 0, 10)},
		{"one past the cap", handles("webchat", 0, 10), handles("webchat", 0, 11), handles("webchat", 1, 11)},
		{"other channels keep theirs",
			append(handles("messenger", 0, 1), handles("webchat", 0, 10)...),
			append(handles("messenger", 0, 1), handles("webchat", 0, 11)...),
			append(handles("messenger", 0, 1), handles("webchat", 1, 11)...)},
		// A contact over the cap from before does not grow, and an unrelated
		// change releases nothing, so one write stays small.
		{"over the cap, unrelated change", handles("webchat", 0, 150), handles("webchat", 0, 150), handles("webchat", 0, 150)},
		{"over the cap, one added", handles("webchat", 0, 150), handles("webchat", 0, 151), handles("webchat", 1, 151)},
		{"over the cap, one removed", handles("webchat", 0, 150), handles("webchat", 1, 150), handles("webchat", 1, 150)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prev, next := &Contact{Handles: tc.prev}, &Contact{Handles: slices.Clone(tc.next)}
			capHandles(prev, next)
			if !slices.Equal(next.Handles, tc.want) {
				t.Errorf("got %v, want %v", next.Handles, tc.want)
			}
		})
	}
}
