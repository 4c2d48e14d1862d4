package inbox

import "context"

// CreateLabel adds a conversation label (admins only). Names are unique per
// workspace, case-insensitively.
func (s *Desk) CreateLabel(ctx context.Context, actor Actor, in LabelInput) (*Label, error) {
	if err := requireAdmin(actor, "manage labels"); err != nil {
		return nil, err
	}
	now := s.now()
	l := &Label{ID: NewID(now), WorkspaceID: actor.WorkspaceID, Name: in.Name, Color: in.Color, Description: in.Description, CreatedAt: now, UpdatedAt: now}
	if err := l.validate(); err != nil {
		return nil, err
	}
	if err := s.store.CreateLabel(ctx, l); err != nil {
		return nil, err
	}
	return l, nil
}

// GetLabel returns one label.
func (s *Desk) GetLabel(ctx context.Context, actor Actor, id string) (*Label, error) {
	if !ValidID(id) {
		return nil, Errorf(KindNotFound, "label %q not found", id)
	}
	return s.store.GetLabel(ctx, actor.WorkspaceID, id)
}

// Labels lists the workspace's labels, by name.
func (s *Desk) Labels(ctx context.Context, actor Actor) ([]*Label, error) {
	return s.store.ListLabels(ctx, actor.WorkspaceID)
}

// UpdateLabel renames or recolours a label (admins only).
func (s *Desk) UpdateLabel(ctx context.Context, actor Actor, id string, p LabelPatch) (*Label, error) {
	if err := requireAdmin(actor, "manage labels"); err != nil {
		return nil, err
	}
	var out *Label
	err := retryOnConflict(ctx, func() error {
		prev, err := s.GetLabel(ctx, actor, id)
		if err != nil {
			return err
		}
		if err := checkIfMatch(p.IfMatch, "label", prev.Version); err != nil {
			return err
		}
		next := *prev
		if p.Name != nil {
			next.Name = *p.Name
		}
		if p.Color != nil {
			next.Color = *p.Color
		}
		if p.Description != nil {
			next.Description = *p.Description
		}
		if err := next.validate(); err != nil {
			return err
		}
		next.UpdatedAt = s.now()
		out = &next
		return s.store.UpdateLabel(ctx, prev, &next)
	})
	return out, err
}

// DeleteLabel removes a label (admins only). Conversations that carry it keep
// the stale id until next edited; clients drop ids they do not know. Removing
// it from every conversation would mean scanning the workspace.
func (s *Desk) DeleteLabel(ctx context.Context, actor Actor, id string) error {
	if err := requireAdmin(actor, "manage labels"); err != nil {
		return err
	}
	l, err := s.GetLabel(ctx, actor, id)
	if err != nil {
		return err
	}
	return s.store.DeleteLabel(ctx, l)
}
