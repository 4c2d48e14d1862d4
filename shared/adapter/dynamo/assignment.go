package dynamo

import (
	"context"
	"errors"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/parley-inbox/parley/shared/inbox"
)

// Assignment's items:
//
//	WS#w           AGENT#u             an agent's availability, capacity, open-assigned count, last assignment
//	WS#w           ASSIGNRULE#r        an assignment rule
//	WS#w#ASSIGNQ   <message ulid>#<v>  a conversation waiting for an agent, oldest first
const (
	prefixAgent      = "AGENT#"
	prefixAssignRule = "ASSIGNRULE#"
)

func assignQueuePK(ws string) string { return workspacePK(ws) + "#ASSIGNQ" }

type agentItem struct {
	PK             string             `json:"PK"`
	SK             string             `json:"SK"`
	Availability   inbox.Availability `json:"availability,omitempty"`
	Capacity       *int               `json:"capacity,omitempty"`
	OpenAssigned   int                `json:"openAssigned"`
	LastAssignedAt *time.Time         `json:"lastAssignedAt,omitempty"`
	// Manual says a person chose the availability, so presence leaves it.
	Manual bool `json:"manual,omitempty"`
}

func (it *agentItem) domain(userID string) *inbox.Agent {
	a := &inbox.Agent{UserID: userID, Availability: it.Availability, Capacity: it.Capacity,
		OpenAssigned: it.OpenAssigned, LastAssignedAt: it.LastAssignedAt, ByPresence: !it.Manual}
	if a.Availability == "" {
		a.Availability = inbox.AvailabilityOffline
	}
	return a
}

// countAgent moves an agent's open-assigned count by delta. The count is
// moved only with the conversation write that changes its holder.
func (s *Store) countAgent(ws, userID string, delta int64) *types.Update {
	return &types.Update{
		TableName:                 &s.table,
		Key:                       key(workspacePK(ws), prefixAgent+userID),
		UpdateExpression:          aws.String("ADD openAssigned :d"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":d": num(delta)},
	}
}

// GetAgents reads up to 100 agents with one BatchGetItem (eventually
// consistent: a stale count only makes a candidate's conditional write
// fail, and the next one is tried).
func (s *Store) GetAgents(ctx context.Context, ws string, ids []string) (map[string]*inbox.Agent, error) {
	out := make(map[string]*inbox.Agent, len(ids))
	for _, id := range ids {
		out[id] = (&agentItem{}).domain(id)
	}
	for start := 0; start < len(ids); start += 100 {
		keys := make([]map[string]types.AttributeValue, 0, 100)
		for _, id := range ids[start:min(start+100, len(ids))] {
			keys = append(keys, key(workspacePK(ws), prefixAgent+id))
		}
		req := map[string]types.KeysAndAttributes{s.table: {Keys: keys}}
		for attempt := 0; len(req) > 0; attempt++ {
			if err := backOff(ctx, attempt, "BatchGetItem"); err != nil {
				return nil, err
			}
			res, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req, ReturnConsumedCapacity: capacityMode(ctx)})
			if err != nil {
				return nil, unavailable("GetAgents", err)
			}
			recordAll(ctx, reading, res.ConsumedCapacity)
			for _, item := range res.Responses[s.table] {
				var it agentItem
				if err := unmarshal(item, &it); err != nil {
					return nil, inbox.Internal(err)
				}
				id := it.SK[len(prefixAgent):]
				out[id] = it.domain(id)
			}
			req = res.UnprocessedKeys
		}
	}
	return out, nil
}

// UpdateAgent sets availability or capacity with one UpdateItem that
// leaves the count alone (it starts at 0, so the capacity condition of
// AutoAssign can compare it).
func (s *Store) UpdateAgent(ctx context.Context, ws, userID string, p inbox.AgentPatch) (*inbox.Agent, error) {
	upd := expression.Set(expression.Name("openAssigned"), expression.IfNotExists(expression.Name("openAssigned"), expression.Value(0)))
	if p.Availability != nil {
		upd = upd.Set(expression.Name("availability"), expression.Value(*p.Availability))
		upd = upd.Set(expression.Name("manual"), expression.Value(!p.ByPresence && !p.OnlyIfByPresence))
	}
	if p.SetCapacity {
		if p.Capacity == nil {
			upd = upd.Remove(expression.Name("capacity"))
		} else {
			upd = upd.Set(expression.Name("capacity"), expression.Value(*p.Capacity))
		}
	}
	b := expression.NewBuilder().WithUpdate(upd)
	if p.OnlyIfByPresence {
		b = b.WithCondition(expression.Name("manual").Equal(expression.Value(false)))
	}
	expr, err := b.Build()
	if err != nil {
		return nil, inbox.Internal(err)
	}
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: key(workspacePK(ws), prefixAgent+userID),
		UpdateExpression: expr.Update(), ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
		ReturnValues: types.ReturnValueAllNew, ReturnConsumedCapacity: capacityMode(ctx),
	})
	if isConditionFailed(err) {
		return nil, inbox.ErrVersionConflict
	}
	if err != nil {
		return nil, unavailable("UpdateAgent", err)
	}
	record(ctx, writing, out.ConsumedCapacity)
	var it agentItem
	if err := unmarshal(out.Attributes, &it); err != nil {
		return nil, inbox.Internal(err)
	}
	return it.domain(userID), nil
}

// AutoAssign is one transaction: the conversation (still at its version,
// so still unassigned), the agent's count (only if still online with
// room), the activity note, and the conversation's place in the queue.
func (s *Store) AutoAssign(ctx context.Context, c *inbox.Conversation, agentID string, note *inbox.Message, queueKey string) error {
	next := *c
	next.Version++
	next.CountedFor = agentID
	item, err := marshal(conversationRecord(&next))
	if err != nil {
		return inbox.Internal(err)
	}
	noteItem, err := marshal(messageRecord(note))
	if err != nil {
		return inbox.Internal(err)
	}
	if c.CountedFor != "" || next.Holder() != agentID {
		return inbox.Internal(errors.New("AutoAssign: the conversation must go from no one to the agent"))
	}
	items := []types.TransactWriteItem{
		{Put: &types.Put{TableName: &s.table, Item: item,
			ConditionExpression:       aws.String("version = :v"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":v": num(c.Version)}}},
		{Update: &types.Update{
			TableName:        &s.table,
			Key:              key(workspacePK(c.WorkspaceID), prefixAgent+agentID),
			UpdateExpression: aws.String("ADD openAssigned :one SET lastAssignedAt = :now"),
			// An absent capacity is no limit; openAssigned exists on
			// every agent that is online (UpdateAgent sets it).
			ConditionExpression:      aws.String("availability = :online AND (attribute_not_exists(#cap) OR openAssigned < #cap)"),
			ExpressionAttributeNames: map[string]string{"#cap": "capacity"},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":one": num(1), ":now": str(note.CreatedAt.UTC().Format(time.RFC3339Nano)), ":online": str(string(inbox.AvailabilityOnline))},
		}},
		{Put: &types.Put{TableName: &s.table, Item: noteItem}},
	}
	if queueKey != "" {
		items = append(items, types.TransactWriteItem{Delete: &types.Delete{TableName: &s.table, Key: key(assignQueuePK(c.WorkspaceID), queueKey)}})
	}
	if err := s.transact(ctx, items); err != nil {
		reasons := cancelReasons(err)
		switch {
		case reasons == nil:
			return unavailable("AutoAssign", err)
		case reasons[0] == "ConditionalCheckFailed":
			return inbox.ErrVersionConflict
		case reasons[1] == "ConditionalCheckFailed":
			return inbox.ErrAgentFull
		}
		return inbox.ErrVersionConflict // another transaction on an item: retry
	}
	c.Version, c.CountedFor = next.Version, next.CountedFor
	return nil
}

// cancelReasons lists a cancelled transaction's reason per item ("None"
// for items that were fine), or nil for any other error.
func cancelReasons(err error) []string {
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) {
		return nil
	}
	out := make([]string, len(tce.CancellationReasons))
	for i, r := range tce.CancellationReasons {
		out[i] = aws.ToString(r.Code)
	}
	return out
}

type queueItem struct {
	PK             string `json:"PK"`
	SK             string `json:"SK"`
	ConversationID string `json:"conversationId"`
	RuleID         string `json:"ruleId"`
}

// Enqueue marks the conversation waiting and gives it its place in the
// queue, in one transaction.
func (s *Store) Enqueue(ctx context.Context, c *inbox.Conversation, ruleID string) error {
	next := *c
	next.Version++
	if next.Holder() != c.CountedFor {
		return inbox.Internal(errors.New("Enqueue: the conversation's holder must not change"))
	}
	item, err := marshal(conversationRecord(&next))
	if err != nil {
		return inbox.Internal(err)
	}
	q, err := marshal(queueItem{PK: assignQueuePK(c.WorkspaceID), SK: c.QueueKey, ConversationID: c.ID, RuleID: ruleID})
	if err != nil {
		return inbox.Internal(err)
	}
	err = s.transact(ctx, []types.TransactWriteItem{
		{Put: &types.Put{TableName: &s.table, Item: item,
			ConditionExpression:       aws.String("version = :v"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":v": num(c.Version)}}},
		{Put: &types.Put{TableName: &s.table, Item: q}},
	})
	if cancelReasons(err) != nil {
		return inbox.ErrVersionConflict
	}
	if err != nil {
		return unavailable("Enqueue", err)
	}
	c.Version = next.Version
	return nil
}

// Waiting reads the queue's oldest places: one Query.
func (s *Store) Waiting(ctx context.Context, ws string, limit int) ([]inbox.QueuedConversation, error) {
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName:                 &s.table,
		KeyConditionExpression:    aws.String("PK = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(assignQueuePK(ws))},
		Limit:                     aws.Int32(int32(limit)),
		ConsistentRead:            aws.Bool(true),
		ReturnConsumedCapacity:    capacityMode(ctx),
	})
	if err != nil {
		return nil, unavailable("Waiting", err)
	}
	record(ctx, reading, out.ConsumedCapacity)
	list := make([]inbox.QueuedConversation, 0, len(out.Items))
	for _, item := range out.Items {
		var it queueItem
		if err := unmarshal(item, &it); err != nil {
			return nil, inbox.Internal(err)
		}
		list = append(list, inbox.QueuedConversation{WorkspaceID: ws, ConversationID: it.ConversationID, Key: it.SK, RuleID: it.RuleID})
	}
	return list, nil
}

// Dequeue removes a place in the queue; removing one already gone is fine.
func (s *Store) Dequeue(ctx context.Context, q inbox.QueuedConversation) error {
	out, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: &s.table, Key: key(assignQueuePK(q.WorkspaceID), q.Key), ReturnConsumedCapacity: capacityMode(ctx),
	})
	if err != nil {
		return unavailable("Dequeue", err)
	}
	record(ctx, writing, out.ConsumedCapacity)
	return nil
}

// ---- rules ----

type ruleItem struct {
	PK string `json:"PK"`
	SK string `json:"SK"`
	inbox.AssignmentRule
}

func (s *Store) PutAssignmentRule(ctx context.Context, r *inbox.AssignmentRule) error {
	next := *r
	next.Version++
	it := ruleItem{PK: workspacePK(r.WorkspaceID), SK: prefixAssignRule + r.ID, AssignmentRule: next}
	it.WorkspaceID = ""
	item, err := marshal(it)
	if err != nil {
		return inbox.Internal(err)
	}
	if err := s.putVersioned(ctx, "PutAssignmentRule", item, r.Version); err != nil {
		return err
	}
	r.Version = next.Version
	return nil
}

func (s *Store) GetAssignmentRule(ctx context.Context, ws, id string) (*inbox.AssignmentRule, error) {
	var it ruleItem
	ok, err := s.getItem(ctx, "GetAssignmentRule", key(workspacePK(ws), prefixAssignRule+id), true, &it)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, notFound("assignment rule", id)
	}
	it.WorkspaceID = ws
	return &it.AssignmentRule, nil
}

// ListAssignmentRules is one Query of the workspace partition's rules (at
// most 50 small items), sorted by position, then age.
func (s *Store) ListAssignmentRules(ctx context.Context, ws string) ([]*inbox.AssignmentRule, error) {
	items, err := s.queryAll(ctx, "ListAssignmentRules", workspacePK(ws), prefixAssignRule)
	if err != nil {
		return nil, err
	}
	out := make([]*inbox.AssignmentRule, 0, len(items))
	for _, item := range items {
		var it ruleItem
		if err := unmarshal(item, &it); err != nil {
			return nil, inbox.Internal(err)
		}
		it.WorkspaceID = ws
		out = append(out, &it.AssignmentRule)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Position != out[j].Position {
			return out[i].Position < out[j].Position
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

func (s *Store) DeleteAssignmentRule(ctx context.Context, r *inbox.AssignmentRule) error {
	return s.deleteKeys(ctx, []map[string]types.AttributeValue{key(workspacePK(r.WorkspaceID), prefixAssignRule+r.ID)})
}
