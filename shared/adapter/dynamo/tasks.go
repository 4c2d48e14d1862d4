package dynamo

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/parley-inbox/parley/shared/inbox"
)

// A manual task has its own partition. While open it carries the "lists"
// index keys of its assignee's queue; closing it removes them, so the
// queue holds open tasks only and a done task costs the index nothing.
const skTask = "#TASK"

func taskPK(ws, id string) string { return workspacePK(ws) + "#TASK#" + id }

// taskQueuePK is an assignee's queue in the "lists" index.
func taskQueuePK(ws, assigneeID string) string {
	if assigneeID == "" {
		assigneeID = inbox.Unassigned
	}
	return workspacePK(ws) + "#QUEUE#" + assigneeID
}

type taskItem struct {
	PK     string `json:"PK"`
	SK     string `json:"SK"`
	GSI4PK string `json:"GSI4PK,omitempty"`
	GSI4SK string `json:"GSI4SK,omitempty"`
	// Token is stored but never shown: the domain type hides it from JSON.
	Token string `json:"token,omitempty"`
	inbox.ManualTask
}

func taskRecord(t *inbox.ManualTask) taskItem {
	rec := taskItem{PK: taskPK(t.WorkspaceID, t.ID), SK: skTask, Token: t.Token, ManualTask: *t}
	if t.Status == inbox.TaskOpen {
		rec.GSI4PK, rec.GSI4SK = taskQueuePK(t.WorkspaceID, t.AssigneeID), t.ID
	}
	return rec
}

func (it *taskItem) domain() *inbox.ManualTask {
	t := it.ManualTask
	t.Token = it.Token
	return &t
}

func (s *Store) PutTask(ctx context.Context, t *inbox.ManualTask) error {
	item, err := marshal(taskRecord(t))
	if err != nil {
		return inbox.Internal(err)
	}
	out, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item, ReturnConsumedCapacity: capacityMode(ctx)})
	if err != nil {
		return unavailable("PutTask", err)
	}
	record(ctx, writing, out.ConsumedCapacity)
	return nil
}

func (s *Store) GetTask(ctx context.Context, ws, id string) (*inbox.ManualTask, error) {
	var it taskItem
	ok, err := s.getItem(ctx, "GetTask", key(taskPK(ws, id), skTask), true, &it)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, notFound("task", id)
	}
	return it.domain(), nil
}

func (s *Store) UpdateTask(ctx context.Context, t *inbox.ManualTask, prev inbox.TaskStatus) error {
	item, err := marshal(taskRecord(t))
	if err != nil {
		return inbox.Internal(err)
	}
	return s.putIf(ctx, "UpdateTask", item, expression.Name("status").Equal(expression.Value(prev)))
}

func (s *Store) ListTasks(ctx context.Context, ws, assigneeID string, p inbox.PageRequest) (inbox.Page[*inbox.ManualTask], error) {
	var page inbox.Page[*inbox.ManualTask]
	pk := taskQueuePK(ws, assigneeID)
	items, next, err := s.queryList(ctx, "ListTasks", ws, "tasks:"+pk, expression.Key(AttrGSI4PK).Equal(expression.Value(pk)), p)
	if err != nil {
		return page, err
	}
	page.Items = make([]*inbox.ManualTask, 0, len(items))
	for _, item := range items {
		var it taskItem
		if err := unmarshal(item, &it); err != nil {
			return page, inbox.Internal(err)
		}
		page.Items = append(page.Items, it.domain())
	}
	page.NextCursor = next
	return page, nil
}
