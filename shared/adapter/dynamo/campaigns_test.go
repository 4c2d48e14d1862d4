package dynamo_test

import (
	"context"
	"testing"

	"github.com/parley-inbox/parley/shared/inbox"
)

func TestCampaignCRUD(t *testing.T) {
	svc, _, admin := newService(t)
	ctx := context.Background()
	steps := []inbox.DripStep{
		{AfterMinutes: 60, Channel: inbox.ChannelSMS, Body: "Hi!"},
		{AfterMinutes: 24 * 60, Channel: inbox.ChannelSMS, Body: "Still interested?"},
	}
	c, err := svc.CreateCampaign(ctx, admin, inbox.CampaignInput{Name: "Follow up", Steps: steps})
	if err != nil {
		t.Fatal(err)
	}
	agent := admin
	agent.Role, agent.UserID = inbox.RoleAgent, "agent-1"
	if _, err := svc.CreateCampaign(ctx, agent, inbox.CampaignInput{Name: "Nope", Steps: steps}); inbox.ErrorKind(err) != inbox.KindForbidden {
		t.Errorf("an agent created a campaign: %v", err)
	}
	for name, in := range map[string]inbox.CampaignInput{
		"no steps":  {Name: "Empty"},
		"unordered": {Name: "Bad", Steps: []inbox.DripStep{steps[1], steps[0]}},
		"negative":  {Name: "Bad", Steps: []inbox.DripStep{{AfterMinutes: -5, Channel: inbox.ChannelSMS, Body: "x"}}},
		"template":  {Name: "Bad", Steps: []inbox.DripStep{{AfterMinutes: 5, Channel: inbox.ChannelWhatsApp, Template: &inbox.Template{Name: "unknown"}}}},
	} {
		if _, err := svc.CreateCampaign(ctx, admin, in); inbox.ErrorKind(err) != inbox.KindInvalid {
			t.Errorf("%s: %v, want invalid", name, err)
		}
	}
	name := "Follow up (v2)"
	updated, err := svc.UpdateCampaign(ctx, admin, c.ID, inbox.CampaignPatch{Name: &name})
	if err != nil || updated.Name != name || len(updated.Steps) != 2 || updated.Version != 2 {
		t.Fatalf("update = %+v, %v", updated, err)
	}
	list, err := svc.Campaigns(ctx, admin)
	if err != nil || len(list) != 1 || list[0].Name != name {
		t.Fatalf("list = %+v, %v", list, err)
	}
	if err := svc.DeleteCampaign(ctx, admin, c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.GetCampaign(ctx, admin, c.ID); inbox.ErrorKind(err) != inbox.KindNotFound {
		t.Errorf("after delete: %v", err)
	}
}
