package dynamo

import (
	"context"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/parley-inbox/parley/shared/inbox"
)

// Automations, like campaigns, are few per workspace: they share its
// partition, and one Query lists them.
const prefixAutomation = "AUTOMATION#"

type automationItem struct {
	PK string `json:"PK"`
	SK string `json:"SK"`
	inbox.Automation
}

func (s *Store) PutAutomation(ctx context.Context, a *inbox.Automation) error {
	next := *a
	next.Version++
	item, err := marshal(automationItem{PK: workspacePK(a.WorkspaceID), SK: prefixAutomation + a.ID, Automation: next})
	if err != nil {
		return inbox.Internal(err)
	}
	if err := s.putVersioned(ctx, "PutAutomation", item, a.Version); err != nil {
		return err
	}
	a.Version = next.Version
	return nil
}

func (s *Store) GetAutomation(ctx context.Context, ws, id string) (*inbox.Automation, error) {
	var it automationItem
	ok, err := s.getItem(ctx, "GetAutomation", key(workspacePK(ws), prefixAutomation+id), true, &it)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, notFound("automation", id)
	}
	return &it.Automation, nil
}

func (s *Store) ListAutomations(ctx context.Context, ws string) ([]*inbox.Automation, error) {
	items, err := s.queryAll(ctx, "ListAutomations", workspacePK(ws), prefixAutomation)
	if err != nil {
		return nil, err
	}
	out := make([]*inbox.Automation, 0, len(items))
	for _, item := range items {
		var it automationItem
		if err := unmarshal(item, &it); err != nil {
			return nil, inbox.Internal(err)
		}
		out = append(out, &it.Automation)
	}
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i].Name) < strings.ToLower(out[j].Name) })
	return out, nil
}

// DeleteAutomation removes the automation and its run counts; its runs
// stay, as the contacts' history.
func (s *Store) DeleteAutomation(ctx context.Context, a *inbox.Automation) error {
	return s.deleteKeys(ctx, []map[string]types.AttributeValue{
		key(workspacePK(a.WorkspaceID), prefixAutomation+a.ID),
		runCountKey(a.WorkspaceID, a.ID),
	})
}
