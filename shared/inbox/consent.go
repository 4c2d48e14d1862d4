package inbox

import (
	"context"
	"time"
)

// ConsentRecord is one entry of a contact's consent history: who changed
// consent on which channel, when, how, and from what.
type ConsentRecord struct {
	ID          string        `json:"id"`
	WorkspaceID string        `json:"workspaceId"`
	ContactID   string        `json:"contactId"`
	Channel     Channel       `json:"channel"`
	Status      ConsentStatus `json:"status"`
	// Previous is the status before; empty when this is the first consent
	// recorded on the channel.
	Previous  ConsentStatus `json:"previous,omitempty"`
	Source    ConsentSource `json:"source"`
	ChangedBy string        `json:"changedBy,omitempty"`
	ChangedAt time.Time     `json:"changedAt"`
	// MessageID is the inbound message (a keyword) or the outbound one (a
	// carrier's opt-out report) that made the change; Keyword the keyword.
	MessageID string `json:"messageId,omitempty"`
	Keyword   string `json:"keyword,omitempty"`
	// EventID is the sender's id of the external event (a form signup)
	// that made the change.
	EventID string `json:"eventId,omitempty"`
	// MergedFrom is the contact this entry was recorded on before that
	// contact was merged into this one.
	MergedFrom string `json:"mergedFrom,omitempty"`
}

func (r *ConsentRecord) current() ChannelConsent {
	return ChannelConsent{Status: r.Status, ChangedAt: r.ChangedAt, Source: r.Source, ChangedBy: r.ChangedBy}
}

// changeConsent records a consent change on the contact's own consent
// items, never on the contact item: a contact grown large by anything else
// can always be opted out. Nothing is written when the channel's recorded
// status is already rec.Status; the first consent recorded on a channel is
// a change even if it matches the default, so a new subscriber is one
// (contact.opted_in, the contact.subscribed trigger). An opt-in older than
// the recorded consent (a late or redelivered signup) does not undo a newer
// decision; an opt-out always applies.
func (s *core) changeConsent(ctx context.Context, workspaceID, contactID string, rec ConsentRecord) (*Contact, error) {
	var out *Contact
	changed := false
	err := retryOnConflict(ctx, func() error {
		changed = false
		c, err := s.store.GetContact(ctx, workspaceID, contactID)
		if err != nil {
			return err
		}
		r := rec
		r.Channel = r.Channel.ConsentChannel()
		if r.ChangedAt.IsZero() {
			r.ChangedAt = s.now()
		}
		prev, recorded := c.Consent[r.Channel]
		if recorded && (prev.Status == r.Status || (r.Status == ConsentOptedIn && prev.ChangedAt.After(r.ChangedAt))) {
			out = c
			return nil
		}
		var prevp *ChannelConsent
		if recorded {
			prevp = &prev
			r.Previous = prev.Status
		}
		r.ID, r.WorkspaceID, r.ContactID = NewID(r.ChangedAt), workspaceID, contactID
		if err := s.store.RecordConsent(ctx, prevp, &r); err != nil {
			return err
		}
		c.Consent = cloneMap(c.Consent)
		if c.Consent == nil {
			c.Consent = map[Channel]ChannelConsent{}
		}
		c.Consent[r.Channel] = r.current()
		out = c
		changed = true
		return nil
	})
	if err == nil && changed {
		s.syncRowConsent(ctx, out)
	}
	return out, err
}

// ConsentHistory pages through a contact's consent changes, newest first.
func (s *Desk) ConsentHistory(ctx context.Context, actor Actor, contactID string, p PageRequest) (Page[*ConsentRecord], error) {
	if _, err := s.getContact(ctx, actor, contactID); err != nil {
		return Page[*ConsentRecord]{}, err
	}
	if err := normalizePage(&p); err != nil {
		return Page[*ConsentRecord]{}, err
	}
	return s.store.ListConsentHistory(ctx, actor.WorkspaceID, contactID, p)
}
