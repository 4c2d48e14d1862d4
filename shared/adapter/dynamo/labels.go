package dynamo

import (
	"context"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/parley-inbox/parley/shared/inbox"
)

type labelItem struct {
	PK string `json:"PK"`
	SK string `json:"SK"`
	inbox.Label
}

func labelPut(table string, l *inbox.Label, cond expression.ConditionBuilder) (*types.Put, error) {
	item, err := marshal(labelItem{PK: workspacePK(l.WorkspaceID), SK: prefixLabel + l.ID, Label: *l})
	if err != nil {
		return nil, err
	}
	expr, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return nil, err
	}
	return &types.Put{TableName: aws.String(table), Item: item, ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values()}, nil
}

func labelNameClaim(l *inbox.Label) claim {
	return claim{pk: labelNamePK(l.WorkspaceID, l.Name), field: "name", value: l.Name}
}

func duplicateLabel(err error, name string) error {
	if ids := cancelledAt(err); len(ids) > 0 && ids[0] > 0 {
		return &inbox.Error{Kind: inbox.KindConflict, Field: "name", Message: "a label named " + name + " already exists"}
	}
	if len(cancelledAt(err)) > 0 {
		return inbox.ErrVersionConflict
	}
	return unavailable("TransactWriteItems", err)
}

func (s *Store) CreateLabel(ctx context.Context, l *inbox.Label) error {
	l.Version = 1
	put, err := labelPut(s.table, l, expression.AttributeNotExists(expression.Name(AttrPK)))
	if err != nil {
		return inbox.Internal(err)
	}
	nameClaim, err := claimPut(s.table, labelNameClaim(l), l.ID, "")
	if err != nil {
		return inbox.Internal(err)
	}
	if err := s.transact(ctx, []types.TransactWriteItem{{Put: put}, nameClaim}); err != nil {
		l.Version = 0
		return duplicateLabel(err, l.Name)
	}
	return nil
}

func (s *Store) UpdateLabel(ctx context.Context, prev, next *inbox.Label) error {
	next.Version = prev.Version + 1
	put, err := labelPut(s.table, next, expression.Name("version").Equal(expression.Value(prev.Version)))
	if err != nil {
		return inbox.Internal(err)
	}
	items := []types.TransactWriteItem{{Put: put}}
	if !strings.EqualFold(prev.Name, next.Name) {
		nameClaim, err := claimPut(s.table, labelNameClaim(next), next.ID, "")
		if err != nil {
			return inbox.Internal(err)
		}
		items = append(items, nameClaim, claimDelete(s.table, labelNameClaim(prev), prev.ID))
	}
	if err := s.transact(ctx, items); err != nil {
		return duplicateLabel(err, next.Name)
	}
	return nil
}

func (s *Store) GetLabel(ctx context.Context, ws, id string) (*inbox.Label, error) {
	var it labelItem
	ok, err := s.getItem(ctx, "GetLabel", key(workspacePK(ws), prefixLabel+id), false, &it)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, notFound("label", id)
	}
	return &it.Label, nil
}

func (s *Store) ListLabels(ctx context.Context, ws string) ([]*inbox.Label, error) {
	items, err := s.queryAll(ctx, "ListLabels", workspacePK(ws), prefixLabel)
	if err != nil {
		return nil, err
	}
	out := make([]*inbox.Label, 0, len(items))
	for _, item := range items {
		var it labelItem
		if err := unmarshal(item, &it); err != nil {
			return nil, inbox.Internal(err)
		}
		out = append(out, &it.Label)
	}
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i].Name) < strings.ToLower(out[j].Name) })
	return out, nil
}

func (s *Store) DeleteLabel(ctx context.Context, l *inbox.Label) error {
	err := s.transact(ctx, []types.TransactWriteItem{
		{Delete: &types.Delete{TableName: &s.table, Key: key(workspacePK(l.WorkspaceID), prefixLabel+l.ID)}},
		claimDelete(s.table, labelNameClaim(l), l.ID),
	})
	if len(cancelledAt(err)) > 0 {
		return inbox.ErrVersionConflict
	}
	if err != nil {
		return unavailable("DeleteLabel", err)
	}
	return nil
}
