package inbox_test

import (
	"strings"
	"testing"
	"time"

	"github.com/parley-inbox/parley/shared/inbox"
)

func threeSteps() *inbox.Campaign {
	return &inbox.Campaign{Name: "Welcome", Steps: []inbox.DripStep{
		{AfterMinutes: 24 * 60, Channel: inbox.ChannelSMS, Body: "Day 1"},
		{AfterMinutes: 3 * 24 * 60, Channel: inbox.ChannelSMS, Body: "Day 3"},
		{AfterMinutes: 5 * 24 * 60, Channel: inbox.ChannelSMS, Body: "Day 5"},
	}}
}

func TestCampaignValidation(t *testing.T) {
	settings := inbox.WorkspaceSettings{}
	if err := threeSteps().Validate(settings); err != nil {
		t.Fatalf("a valid campaign was refused: %v", err)
	}
	tests := map[string]func(c *inbox.Campaign){
		"no steps":          func(c *inbox.Campaign) { c.Steps = nil },
		"negative interval": func(c *inbox.Campaign) { c.Steps[0].AfterMinutes = -1 },
		"unordered":         func(c *inbox.Campaign) { c.Steps[2].AfterMinutes = 60 },
		"equal intervals":   func(c *inbox.Campaign) { c.Steps[1].AfterMinutes = c.Steps[0].AfterMinutes },
		// Whether a template exists, is approved and takes these parameters
		// needs the store: CreateCampaign checks it (templates_test.go).
		"template by email": func(c *inbox.Campaign) {
			c.Steps[0] = inbox.DripStep{AfterMinutes: 1, Channel: inbox.ChannelEmail, Template: &inbox.Template{Name: "promo", Params: []string{"x"}}}
		},
		"blank template parameter": func(c *inbox.Campaign) {
			c.Steps[0] = inbox.DripStep{AfterMinutes: 1, Channel: inbox.ChannelWhatsApp, Template: &inbox.Template{Name: "promo", Params: []string{" "}}}
		},
		"empty body":    func(c *inbox.Campaign) { c.Steps[0].Body = " " },
		"body too long": func(c *inbox.Campaign) { c.Steps[0].Body = strings.Repeat("x", 1601) },
		"no name":       func(c *inbox.Campaign) { c.Name = "" },
	}
	for name, spoil := range tests {
		c := threeSteps()
		spoil(c)
		if err := c.Validate(settings); inbox.ErrorKind(err) != inbox.KindInvalid {
			t.Errorf("%s: %v, want invalid", name, err)
		}
	}
}

func TestDripStepDecisions(t *testing.T) {
	c := threeSteps()
	applied := time.Date(2026, 11, 1, 15, 0, 0, 0, time.UTC)
	contact := &inbox.Contact{Timezone: "UTC"}
	conv := &inbox.Conversation{}
	now := c.StepAt(applied, 0)

	d := inbox.DecideDripStep(c, 0, applied, contact, conv, inbox.WorkspaceSettings{}, now)
	if !d.Send || d.Stop != "" || !d.WaitUntil.Equal(c.StepAt(applied, 1)) {
		t.Errorf("first step: %+v, want send and wait for day 3", d)
	}
	if last := inbox.DecideDripStep(c, 2, applied, contact, conv, inbox.WorkspaceSettings{}, c.StepAt(applied, 2)); !last.Send || !last.WaitUntil.IsZero() {
		t.Errorf("last step: %+v, want send and no next", last)
	}
	replied := &inbox.Conversation{LastInboundAt: map[inbox.Channel]time.Time{inbox.ChannelEmail: applied.Add(time.Hour)}}
	if d := inbox.DecideDripStep(c, 1, applied, contact, replied, inbox.WorkspaceSettings{}, now); d.Stop != inbox.StopReplied || d.Send {
		t.Errorf("after a reply on any channel: %+v, want stop replied", d)
	}
	before := &inbox.Conversation{LastInboundAt: map[inbox.Channel]time.Time{inbox.ChannelSMS: applied.Add(-time.Hour)}}
	if d := inbox.DecideDripStep(c, 1, applied, contact, before, inbox.WorkspaceSettings{}, now); !d.Send {
		t.Errorf("a message from before the campaign must not stop it: %+v", d)
	}
	out := &inbox.Contact{Timezone: "UTC"}
	out.SetConsent(inbox.ChannelSMS, inbox.ConsentOptedOut, inbox.ConsentSourceKeyword, "", applied)
	if d := inbox.DecideDripStep(c, 1, applied, out, conv, inbox.WorkspaceSettings{}, now); d.Stop != inbox.StopOptedOut {
		t.Errorf("opted out: %+v", d)
	}
	quiet := inbox.WorkspaceSettings{QuietHours: map[inbox.Channel]inbox.QuietHours{inbox.ChannelSMS: {Start: "14:00", End: "18:00"}}}
	d = inbox.DecideDripStep(c, 0, applied, contact, conv, quiet, now)
	if d.Send || d.Stop != "" || d.WaitUntil.Hour() != 18 {
		t.Errorf("inside quiet hours: %+v, want to wait until 18:00 the same step", d)
	}
}
