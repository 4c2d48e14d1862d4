package inbox

import "context"

// CampaignInput creates a campaign; CampaignPatch changes one (Steps, when
// given, replaces them all).
type CampaignInput struct {
	Name  string     `json:"name"`
	Steps []DripStep `json:"steps"`
}

type CampaignPatch struct {
	Name  *string     `json:"name"`
	Steps *[]DripStep `json:"steps"`
}

// CreateCampaign adds a drip campaign (admins only).
func (s *Desk) CreateCampaign(ctx context.Context, actor Actor, in CampaignInput) (*Campaign, error) {
	if err := requireAdmin(actor, "manage campaigns"); err != nil {
		return nil, err
	}
	settings, err := s.settings(ctx, actor.WorkspaceID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	c := &Campaign{ID: NewID(now), WorkspaceID: actor.WorkspaceID, Name: in.Name, Steps: in.Steps, CreatedAt: now, UpdatedAt: now}
	if err := c.Validate(settings); err != nil {
		return nil, err
	}
	if err := s.checkCampaignTemplates(ctx, c, settings); err != nil {
		return nil, err
	}
	if err := s.checkStepFiles(ctx, c); err != nil {
		return nil, err
	}
	return c, s.store.PutCampaign(ctx, c)
}

// GetCampaign returns one campaign.
func (s *Desk) GetCampaign(ctx context.Context, actor Actor, id string) (*Campaign, error) {
	if !ValidID(id) {
		return nil, Errorf(KindNotFound, "campaign %q not found", id)
	}
	return s.store.GetCampaign(ctx, actor.WorkspaceID, id)
}

// Campaigns lists the workspace's campaigns.
func (s *Desk) Campaigns(ctx context.Context, actor Actor) ([]*Campaign, error) {
	return s.store.ListCampaigns(ctx, actor.WorkspaceID)
}

// UpdateCampaign renames a campaign or replaces its steps (admins only).
// Contacts already enrolled keep the steps they were enrolled with.
func (s *Desk) UpdateCampaign(ctx context.Context, actor Actor, id string, p CampaignPatch) (*Campaign, error) {
	if err := requireAdmin(actor, "manage campaigns"); err != nil {
		return nil, err
	}
	settings, err := s.settings(ctx, actor.WorkspaceID)
	if err != nil {
		return nil, err
	}
	var out *Campaign
	err = retryOnConflict(ctx, func() error {
		c, err := s.GetCampaign(ctx, actor, id)
		if err != nil {
			return err
		}
		if p.Name != nil {
			c.Name = *p.Name
		}
		if p.Steps != nil {
			c.Steps = *p.Steps
		}
		if err := c.Validate(settings); err != nil {
			return err
		}
		if err := s.checkCampaignTemplates(ctx, c, settings); err != nil {
			return err
		}
		if err := s.checkStepFiles(ctx, c); err != nil {
			return err
		}
		c.UpdatedAt = s.now()
		out = c
		return s.store.PutCampaign(ctx, c)
	})
	return out, err
}

// DeleteCampaign removes a campaign (admins only).
func (s *Desk) DeleteCampaign(ctx context.Context, actor Actor, id string) error {
	if err := requireAdmin(actor, "manage campaigns"); err != nil {
		return err
	}
	c, err := s.GetCampaign(ctx, actor, id)
	if err != nil {
		return err
	}
	if err := s.refuseActiveRuns(ctx, actor.WorkspaceID, id); err != nil {
		return err
	}
	return s.store.DeleteCampaign(ctx, c)
}

// checkStepFiles checks the uploaded files the drip's steps send and the
// custom fields their merge tags name.
func (s *core) checkStepFiles(ctx context.Context, c *Campaign) error {
	bodies := make([]string, 0, len(c.Steps))
	for _, st := range c.Steps {
		bodies = append(bodies, st.Body)
	}
	if err := s.checkCustomTags(ctx, c.WorkspaceID, bodies...); err != nil {
		return err
	}
	for i := range c.Steps {
		atts, err := s.storedAttachments(ctx, c.WorkspaceID, c.Steps[i].Attachments)
		if err != nil {
			return err
		}
		c.Steps[i].Attachments = atts
	}
	return nil
}
