package inbox

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Campaign is a drip campaign (seed 002): messages sent at fixed intervals
// from the moment it is applied to a contact, until the contact replies.
type Campaign struct {
	ID          string     `json:"id"`
	WorkspaceID string     `json:"workspaceId"`
	Name        string     `json:"name"`
	Steps       []DripStep `json:"steps"`
	CreatedAt   time.Time  `json:"createdAt"`
	UpdatedAt   time.Time  `json:"updatedAt"`
	Version     int64      `json:"version"`
}

// DripStep is one message of a campaign. AfterMinutes counts from when the
// campaign was applied, not from the previous step.
type DripStep struct {
	AfterMinutes int          `json:"afterMinutes"`
	Channel      Channel      `json:"channel"`
	Body         string       `json:"body"`
	Template     *Template    `json:"template,omitempty"`
	Attachments  []Attachment `json:"attachments,omitempty"`
}

const maxDripSteps = 50

// Validate checks a campaign before it is stored: steps in order, each one
// deliverable on its channel.
func (c *Campaign) Validate(settings WorkspaceSettings) error {
	c.Name = strings.TrimSpace(c.Name)
	if c.Name == "" || utf8.RuneCountInString(c.Name) > maxNameLen {
		return Invalid("name", "a campaign needs a name of at most %d characters", maxNameLen)
	}
	if len(c.Steps) == 0 {
		return Invalid("steps", "a campaign needs at least one step")
	}
	if len(c.Steps) > maxDripSteps {
		return Invalid("steps", "a campaign has at most %d steps", maxDripSteps)
	}
	for i, s := range c.Steps {
		field := fmt.Sprintf("steps[%d]", i)
		switch {
		case s.AfterMinutes < 0:
			return Invalid(field, "afterMinutes cannot be negative")
		case i > 0 && s.AfterMinutes <= c.Steps[i-1].AfterMinutes:
			return Invalid(field, "steps must be in order: afterMinutes %d is not after the previous step's %d", s.AfterMinutes, c.Steps[i-1].AfterMinutes)
		case s.AfterMinutes > 366*24*60:
			return Invalid(field, "a step is at most a year after the campaign is applied")
		}
		if !s.Channel.Valid() {
			return Invalid(field+".channel", "unknown channel %q", s.Channel)
		}
		if s.Template != nil {
			if err := checkTemplateRef(s.Channel, s.Template); err != nil {
				return err
			}
		} else if _, err := validateBody(s.Body, len(s.Attachments) == 0); err != nil {
			return Invalid(field+".body", "a step needs a body or a template")
		}
		if err := CheckBodyLength(s.Channel, s.Body); err != nil {
			return err
		}
		if _, err := parseMergeTags(field+".body", s.Body); err != nil {
			return err
		}
	}
	return checkStoredSize("steps", "a campaign", c)
}

// StepAt is when step i of a campaign applied at applied is due.
func (c *Campaign) StepAt(applied time.Time, i int) time.Time {
	return applied.Add(time.Duration(c.Steps[i].AfterMinutes) * time.Minute)
}

// DripDecision is what a drip step does now.
type DripDecision struct {
	// Send the step's message now.
	Send bool
	// Stop the enrollment for this reason (unsent steps are dropped).
	Stop StopReason
	// Hold the step: quiet hours; look again at WaitUntil.
	Hold bool
	// WaitUntil is when to look again: the same step after quiet hours, or
	// the next step (zero after the last).
	WaitUntil time.Time
}

// DecideDripStep applies seed 002's rules to one due step: a reply after the
// campaign was applied ends it, and so does an opt-out; quiet hours and the
// contact's DND hold the step until sending is allowed.
func DecideDripStep(c *Campaign, step int, applied time.Time, contact *Contact, conv *Conversation, settings WorkspaceSettings, now time.Time) DripDecision {
	ch := c.Steps[step].Channel
	if conv != nil {
		for _, at := range conv.LastInboundAt {
			if at.After(applied) {
				return DripDecision{Stop: StopReplied}
			}
		}
	}
	if contact.ConsentOn(ch).Status == ConsentOptedOut {
		return DripDecision{Stop: StopOptedOut}
	}
	if q, ok := settings.QuietHours[ch.ConsentChannel()]; ok {
		if next := q.NextAllowed(now, ContactLocation(contact, settings.Timezone)); next.After(now) {
			return DripDecision{Hold: true, WaitUntil: next}
		}
	}
	d := DripDecision{Send: !contact.DND[ch.ConsentChannel()]}
	if step+1 < len(c.Steps) {
		d.WaitUntil = c.StepAt(applied, step+1)
	}
	return d
}
