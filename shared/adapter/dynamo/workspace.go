package dynamo

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/parley-inbox/parley/shared/inbox"
)

type workspaceItem struct {
	PK string `json:"PK"`
	SK string `json:"SK"`
	inbox.Workspace
}

type userItem struct {
	PK string `json:"PK"`
	SK string `json:"SK"`
	inbox.User
}

func (s *Store) GetWorkspace(ctx context.Context, ws string) (*inbox.Workspace, error) {
	var it workspaceItem
	ok, err := s.getItem(ctx, "GetWorkspace", key(workspacePK(ws), skWorkspace), true, &it)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, notFound("workspace", ws)
	}
	return &it.Workspace, nil
}

// WorkspaceSettings reads a workspace's settings eventually consistently:
// half a read unit on every send and step, and a change is seen within
// about a second.
func (s *Store) WorkspaceSettings(ctx context.Context, ws string) (inbox.WorkspaceSettings, error) {
	var it workspaceItem
	ok, err := s.getItem(ctx, "WorkspaceSettings", key(workspacePK(ws), skWorkspace), false, &it)
	if err != nil {
		return inbox.WorkspaceSettings{}, err
	}
	if !ok {
		return inbox.WorkspaceSettings{}, notFound("workspace", ws)
	}
	return it.Settings, nil
}

// WorkspaceName reads only the workspace's name, eventually consistently
// (half a read unit), for merge tags.
func (s *Store) WorkspaceName(ctx context.Context, ws string) (string, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.table, Key: key(workspacePK(ws), skWorkspace),
		ProjectionExpression: aws.String("#n"), ExpressionAttributeNames: map[string]string{"#n": "name"},
		ReturnConsumedCapacity: capacityMode(ctx),
	})
	if err != nil {
		return "", unavailable("WorkspaceName", err)
	}
	record(ctx, reading, out.ConsumedCapacity)
	if out.Item == nil {
		return "", notFound("workspace", ws)
	}
	var it struct {
		Name string `json:"name"`
	}
	if err := unmarshal(out.Item, &it); err != nil {
		return "", inbox.Internal(err)
	}
	return it.Name, nil
}

func (s *Store) PutWorkspace(ctx context.Context, w *inbox.Workspace) error {
	next := *w
	next.Version++
	item, err := marshal(workspaceItem{PK: workspacePK(w.ID), SK: skWorkspace, Workspace: next})
	if err != nil {
		return inbox.Internal(err)
	}
	if err := s.putVersioned(ctx, "PutWorkspace", item, w.Version); err != nil {
		return err
	}
	w.Version = next.Version
	return nil
}

// putVersioned writes an item if its stored version is prev (0: absent).
func (s *Store) putVersioned(ctx context.Context, op string, item map[string]types.AttributeValue, prev int64) error {
	cond := expression.AttributeNotExists(expression.Name(AttrPK))
	if prev > 0 {
		cond = expression.Name("version").Equal(expression.Value(prev))
	}
	return s.putIf(ctx, op, item, cond)
}

// putIf writes an item if cond holds; otherwise ErrVersionConflict.
func (s *Store) putIf(ctx context.Context, op string, item map[string]types.AttributeValue, cond expression.ConditionBuilder) error {
	expr, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return inbox.Internal(err)
	}
	out, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 &s.table,
		Item:                      item,
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		ReturnConsumedCapacity:    capacityMode(ctx),
	})
	if isConditionFailed(err) {
		return inbox.ErrVersionConflict
	}
	if err != nil {
		return unavailable(op, err)
	}
	record(ctx, writing, out.ConsumedCapacity)
	return nil
}

func (s *Store) GetUser(ctx context.Context, ws, id string) (*inbox.User, error) {
	var it userItem
	ok, err := s.getItem(ctx, "GetUser", key(workspacePK(ws), prefixUser+id), false, &it)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, notFound("user", id)
	}
	return &it.User, nil
}

func (s *Store) PutUser(ctx context.Context, u *inbox.User) error {
	item, err := marshal(userItem{PK: workspacePK(u.WorkspaceID), SK: prefixUser + u.ID, User: *u})
	if err != nil {
		return inbox.Internal(err)
	}
	out, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item, ReturnConsumedCapacity: capacityMode(ctx)})
	if err != nil {
		return unavailable("PutUser", err)
	}
	record(ctx, writing, out.ConsumedCapacity)
	return nil
}

func (s *Store) ListUsers(ctx context.Context, ws string) ([]*inbox.User, error) {
	items, err := s.queryAll(ctx, "ListUsers", workspacePK(ws), prefixUser)
	if err != nil {
		return nil, err
	}
	out := make([]*inbox.User, 0, len(items))
	for _, item := range items {
		var it userItem
		if err := unmarshal(item, &it); err != nil {
			return nil, inbox.Internal(err)
		}
		out = append(out, &it.User)
	}
	return out, nil
}

// queryAll reads a small item collection (users, labels) in full.
func (s *Store) queryAll(ctx context.Context, op, pk, skPrefix string) ([]map[string]types.AttributeValue, error) {
	kc := expression.Key(AttrPK).Equal(expression.Value(pk)).And(expression.Key(AttrSK).BeginsWith(skPrefix))
	expr, err := expression.NewBuilder().WithKeyCondition(kc).Build()
	if err != nil {
		return nil, inbox.Internal(err)
	}
	in := &dynamodb.QueryInput{
		TableName:                 &s.table,
		KeyConditionExpression:    expr.KeyCondition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		ReturnConsumedCapacity:    capacityMode(ctx),
	}
	var items []map[string]types.AttributeValue
	for {
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, unavailable(op, err)
		}
		record(ctx, reading, out.ConsumedCapacity)
		items = append(items, out.Items...)
		if len(out.LastEvaluatedKey) == 0 || len(items) > 10000 {
			return items, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}
