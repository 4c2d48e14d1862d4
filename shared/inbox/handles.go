package inbox

import (
	"context"
	"strings"
)

// maxHandlesPerChannel bounds a contact's handles on one channel. Web chat
// adds one per device that leaves the contact's email, which anyone can do,
// so without a bound a stranger could grow the contact without end.
const maxHandlesPerChannel = 10

func handleChannel(h string) string {
	ch, _, _ := strings.Cut(h, ":")
	return ch
}

// capHandles applies the handle bound to a change from prev to next: a
// channel the change grew past maxHandlesPerChannel releases its oldest
// handles, as many as the change added there. One write thus never
// releases more than it added, and a contact already over the bound (from
// before it existed) does not grow.
func capHandles(prev, next *Contact) {
	before := map[string]int{}
	for _, h := range prev.Handles {
		before[handleChannel(h)]++
	}
	after := map[string]int{}
	for _, h := range next.Handles {
		after[handleChannel(h)]++
	}
	release := map[string]int{}
	for ch, n := range after {
		if over := min(n-maxHandlesPerChannel, n-before[ch]); over > 0 {
			release[ch] = over
		}
	}
	if len(release) == 0 {
		return
	}
	kept := make([]string, 0, len(next.Handles))
	for _, h := range next.Handles { // oldest first
		if ch := handleChannel(h); release[ch] > 0 {
			release[ch]--
			continue
		}
		kept = append(kept, h)
	}
	next.Handles = kept
}

// RemoveHandle takes a handle ("webchat:<visitor>", "messenger:<PSID>", …)
// off a contact and releases it: that sender's next message starts a
// contact of its own. Phones and emails are removed with UpdateContact.
func (s *Desk) RemoveHandle(ctx context.Context, actor Actor, id, handle string) (*Contact, error) {
	return s.mutateContact(ctx, actor, id, func(c *Contact) error {
		if !contains(c.Handles, handle) {
			return Errorf(KindNotFound, "contact %s has no handle %q", id, handle)
		}
		c.Handles = removeValue(c.Handles, handle)
		return nil
	})
}
