package dynamo

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/parley-inbox/parley/shared/inbox"
)

// A run lives in its contact's partition, so a contact's runs are one
// Query. The sparse "lists" index files it under its sequence and status,
// and one counter item per sequence counts runs by status: writing a run
// and moving its count is one transaction, so the counts never drift.
const (
	prefixRun      = "RUN#"
	prefixRunCount = "RUNCOUNT#"
)

func runSK(id string) string { return prefixRun + id }

// runListPK is a sequence's partition of the "lists" index.
func runListPK(ws, sequenceID string) string { return workspacePK(ws) + "#SEQ#" + sequenceID }

func runListSK(status inbox.RunStatus, id string) string { return string(status) + "#" + id }

func runCountKey(ws, sequenceID string) map[string]types.AttributeValue {
	return key(workspacePK(ws), prefixRunCount+sequenceID)
}

type runItem struct {
	PK     string `json:"PK"`
	SK     string `json:"SK"`
	GSI4PK string `json:"GSI4PK"`
	GSI4SK string `json:"GSI4SK"`
	inbox.Run
}

// runRecord encodes a run; its index keys follow its current status.
func runRecord(r *inbox.Run) (map[string]types.AttributeValue, error) {
	if !r.Status.Valid() {
		return nil, fmt.Errorf("run %s has unknown status %q", r.ID, r.Status)
	}
	return marshal(runItem{
		PK: contactPK(r.WorkspaceID, r.ContactID), SK: runSK(r.ID),
		GSI4PK: runListPK(r.WorkspaceID, r.SequenceID), GSI4SK: runListSK(r.Status, r.ID),
		Run: *r,
	})
}

// countMove adds delta[status] to a sequence's counters.
func (s *Store) countMove(ws, sequenceID string, delta map[inbox.RunStatus]int64) types.TransactWriteItem {
	var ub expression.UpdateBuilder
	for _, st := range inbox.RunStatuses {
		if d, ok := delta[st]; ok {
			ub = ub.Add(expression.Name(string(st)), expression.Value(d))
		}
	}
	expr, _ := expression.NewBuilder().WithUpdate(ub).Build() // only fails on an empty update
	return types.TransactWriteItem{Update: &types.Update{
		TableName: &s.table, Key: runCountKey(ws, sequenceID),
		UpdateExpression: expr.Update(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	}}
}

func (s *Store) CreateRun(ctx context.Context, r *inbox.Run) error {
	item, err := runRecord(r)
	if err != nil {
		return inbox.Internal(err)
	}
	items := []types.TransactWriteItem{
		{Put: &types.Put{TableName: &s.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(PK)")}},
		s.countMove(r.WorkspaceID, r.SequenceID, map[inbox.RunStatus]int64{r.Status: 1}),
	}
	exists := &inbox.Error{Kind: inbox.KindConflict, Message: "the contact already has run " + r.ID}
	return runTxError("CreateRun", s.transactRetry(ctx, items), exists)
}

func (s *Store) UpdateRun(ctx context.Context, r *inbox.Run, prev inbox.RunStatus) error {
	item, err := runRecord(r)
	if err != nil {
		return inbox.Internal(err)
	}
	cond := expression.Name("status").Equal(expression.Value(prev))
	if r.Status == prev {
		return s.putIf(ctx, "UpdateRun", item, cond)
	}
	if !prev.Valid() {
		return inbox.Internal(fmt.Errorf("run %s: unknown previous status %q", r.ID, prev))
	}
	expr, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return inbox.Internal(err)
	}
	items := []types.TransactWriteItem{
		{Put: &types.Put{TableName: &s.table, Item: item, ConditionExpression: expr.Condition(),
			ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values()}},
		s.countMove(r.WorkspaceID, r.SequenceID, map[inbox.RunStatus]int64{prev: -1, r.Status: 1}),
	}
	return runTxError("UpdateRun", s.transactRetry(ctx, items), inbox.ErrVersionConflict)
}

// transactRetry is transact for writes that touch a sequence's counter: a
// busy sequence's concurrent transactions on that one item cancel each
// other (TransactionConflict), which a short, jittered retry resolves.
// Other failures, and conflicts that outlast the retries, are returned.
func (s *Store) transactRetry(ctx context.Context, items []types.TransactWriteItem) error {
	const attempts = 6
	for attempt := 1; ; attempt++ {
		err := s.transact(ctx, items)
		if !transactionConflict(err) || attempt == attempts {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(5<<attempt)*time.Millisecond + rand.N(10*time.Millisecond)):
		}
	}
}

// runTxError maps a failed run transaction: the run's condition failing
// (item 0) is conditionErr, lasting contention is a retryable 503.
func runTxError(op string, err, conditionErr error) error {
	if err == nil {
		return nil
	}
	if ids := cancelledAt(err); len(ids) > 0 && ids[0] == 0 {
		return conditionErr
	}
	if transactionConflict(err) {
		return &inbox.Error{Kind: inbox.KindUnavailable, Message: "the database is busy; retry shortly", Err: err}
	}
	return unavailable(op, err)
}

// transactionConflict reports a transaction cancelled only because another
// transaction was writing one of its items, with no condition failing.
func transactionConflict(err error) bool {
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) || len(cancelledAt(err)) > 0 {
		return false
	}
	for _, r := range tce.CancellationReasons {
		if aws.ToString(r.Code) == "TransactionConflict" {
			return true
		}
	}
	return false
}

func (s *Store) GetRun(ctx context.Context, ws, contactID, runID string) (*inbox.Run, error) {
	var it runItem
	ok, err := s.getItem(ctx, "GetRun", key(contactPK(ws, contactID), runSK(runID)), true, &it)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, notFound("run", runID)
	}
	return &it.Run, nil
}

func (s *Store) ContactRuns(ctx context.Context, ws, contactID string) ([]*inbox.Run, error) {
	items, err := s.queryAll(ctx, "ContactRuns", contactPK(ws, contactID), prefixRun)
	if err != nil {
		return nil, err
	}
	out := make([]*inbox.Run, 0, len(items))
	for _, item := range items {
		var it runItem
		if err := unmarshal(item, &it); err != nil {
			return nil, inbox.Internal(err)
		}
		out = append(out, &it.Run)
	}
	return out, nil
}

func (s *Store) ListRuns(ctx context.Context, ws, sequenceID string, status inbox.RunStatus, p inbox.PageRequest) (inbox.Page[*inbox.Run], error) {
	var page inbox.Page[*inbox.Run]
	pk := runListPK(ws, sequenceID)
	kc := expression.Key(AttrGSI4PK).Equal(expression.Value(pk)).
		And(expression.Key(AttrGSI4SK).BeginsWith(runListSK(status, "")))
	items, next, err := s.queryList(ctx, "ListRuns", ws, "runs:"+pk+":"+string(status), kc, p)
	if err != nil {
		return page, err
	}
	page.Items = make([]*inbox.Run, 0, len(items))
	for _, item := range items {
		var it runItem
		if err := unmarshal(item, &it); err != nil {
			return page, inbox.Internal(err)
		}
		page.Items = append(page.Items, &it.Run)
	}
	page.NextCursor = next
	return page, nil
}

// queryList reads one page of the "lists" index. The cursor's scope names
// the list's full index key, so a cursor only continues the list (and
// workspace) that issued it.
func (s *Store) queryList(ctx context.Context, op, ws, scope string, kc expression.KeyConditionBuilder, p inbox.PageRequest) ([]map[string]types.AttributeValue, string, error) {
	start, err := s.cursors.decode(scope, workspacePK(ws)+"#", p.Cursor)
	if err != nil {
		return nil, "", err
	}
	expr, err := expression.NewBuilder().WithKeyCondition(kc).Build()
	if err != nil {
		return nil, "", inbox.Internal(err)
	}
	limit := p.Limit
	if limit <= 0 {
		limit = inbox.DefaultPageSize
	}
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName: &s.table, IndexName: aws.String(IndexLists),
		KeyConditionExpression: expr.KeyCondition(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
		Limit: aws.Int32(int32(limit)), ExclusiveStartKey: start, ReturnConsumedCapacity: capacityMode(ctx),
	})
	if err != nil {
		return nil, "", unavailable(op, err)
	}
	record(ctx, reading, out.ConsumedCapacity)
	return out.Items, s.cursors.encode(scope, out.LastEvaluatedKey), nil
}

// RunCounts reads a sequence's counter item: one number per status, each
// absent until a run first enters it. An eventually consistent read: the
// counts are for display.
func (s *Store) RunCounts(ctx context.Context, ws, sequenceID string) (map[inbox.RunStatus]int, error) {
	var it map[string]any
	if _, err := s.getItem(ctx, "RunCounts", runCountKey(ws, sequenceID), false, &it); err != nil {
		return nil, err
	}
	counts := make(map[inbox.RunStatus]int, len(inbox.RunStatuses))
	for _, st := range inbox.RunStatuses {
		n, _ := it[string(st)].(float64)
		// A run that ends after its sequence (and counter) was deleted
		// starts a new counter below zero.
		counts[st] = max(int(n), 0)
	}
	return counts, nil
}
