package dynamo

import (
	"context"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/parley-inbox/parley/shared/inbox"
)

// Campaigns are few per workspace: they share its partition, and one Query
// lists them.
const prefixCampaign = "CAMPAIGN#"

type campaignItem struct {
	PK string `json:"PK"`
	SK string `json:"SK"`
	inbox.Campaign
}

func (s *Store) PutCampaign(ctx context.Context, c *inbox.Campaign) error {
	next := *c
	next.Version++
	item, err := marshal(campaignItem{PK: workspacePK(c.WorkspaceID), SK: prefixCampaign + c.ID, Campaign: next})
	if err != nil {
		return inbox.Internal(err)
	}
	if err := s.putVersioned(ctx, "PutCampaign", item, c.Version); err != nil {
		return err
	}
	c.Version = next.Version
	return nil
}

func (s *Store) GetCampaign(ctx context.Context, ws, id string) (*inbox.Campaign, error) {
	var it campaignItem
	ok, err := s.getItem(ctx, "GetCampaign", key(workspacePK(ws), prefixCampaign+id), true, &it)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, notFound("campaign", id)
	}
	return &it.Campaign, nil
}

func (s *Store) ListCampaigns(ctx context.Context, ws string) ([]*inbox.Campaign, error) {
	items, err := s.queryAll(ctx, "ListCampaigns", workspacePK(ws), prefixCampaign)
	if err != nil {
		return nil, err
	}
	out := make([]*inbox.Campaign, 0, len(items))
	for _, item := range items {
		var it campaignItem
		if err := unmarshal(item, &it); err != nil {
			return nil, inbox.Internal(err)
		}
		out = append(out, &it.Campaign)
	}
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i].Name) < strings.ToLower(out[j].Name) })
	return out, nil
}

// DeleteCampaign removes the campaign and its run counts; its runs stay,
// as the contacts' history.
func (s *Store) DeleteCampaign(ctx context.Context, c *inbox.Campaign) error {
	return s.deleteKeys(ctx, []map[string]types.AttributeValue{
		key(workspacePK(c.WorkspaceID), prefixCampaign+c.ID),
		runCountKey(c.WorkspaceID, c.ID),
	})
}
