package dynamo

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/parley-inbox/parley/shared/inbox"
)

// Exports: a thread read by key range, and background export jobs
// (WS#w#EXPORT#id, #EXPORT), which expire with their files.

const skExport = "#EXPORT"

func exportPK(ws, id string) string { return workspacePK(ws) + "#EXPORT#" + id }

type exportItem struct {
	PK  string `json:"PK"`
	SK  string `json:"SK"`
	TTL int64  `json:"expiresAt"`
	inbox.Export
}

// rangeKeyCondition is a thread's messages whose ids are in r: one
// contiguous run of sort keys, MSG#<low> to MSG#<high>.
func rangeKeyCondition(ws, conversationID string, r inbox.MessageRange) (string, map[string]types.AttributeValue) {
	return "PK = :pk AND SK BETWEEN :lo AND :hi", map[string]types.AttributeValue{
		":pk": str(conversationPK(ws, conversationID)),
		":lo": str(messageSK(r.Low())),
		":hi": str(messageSK(r.High())),
	}
}

// ListMessageRange reads one page of the range, oldest first, resuming
// after the message id after: one Query.
func (s *Store) ListMessageRange(ctx context.Context, ws, conversationID string, r inbox.MessageRange, after string, limit int) ([]*inbox.Message, bool, error) {
	cond, values := rangeKeyCondition(ws, conversationID, r)
	in := &dynamodb.QueryInput{
		TableName: &s.table, KeyConditionExpression: &cond, ExpressionAttributeValues: values,
		ScanIndexForward: aws.Bool(true), Limit: aws.Int32(int32(limit)), ReturnConsumedCapacity: capacityMode(ctx),
	}
	if after != "" {
		in.ExclusiveStartKey = key(conversationPK(ws, conversationID), messageSK(after))
	}
	out, err := s.db.Query(ctx, in)
	if err != nil {
		return nil, false, unavailable("ListMessageRange", err)
	}
	record(ctx, reading, out.ConsumedCapacity)
	msgs := make([]*inbox.Message, 0, len(out.Items))
	for _, item := range out.Items {
		var it messageItem
		if err := unmarshal(item, &it); err != nil {
			return nil, false, inbox.Internal(err)
		}
		msgs = append(msgs, it.domain(ws, conversationID))
	}
	return msgs, len(out.LastEvaluatedKey) > 0, nil
}

// CountMessageRange counts the range's messages with Select COUNT, a
// page of at most max+1 keys at a time, and stops past max.
func (s *Store) CountMessageRange(ctx context.Context, ws, conversationID string, r inbox.MessageRange, max int) (int, error) {
	cond, values := rangeKeyCondition(ws, conversationID, r)
	count := 0
	var start map[string]types.AttributeValue
	for {
		out, err := s.db.Query(ctx, &dynamodb.QueryInput{
			TableName: &s.table, KeyConditionExpression: &cond, ExpressionAttributeValues: values,
			Select: types.SelectCount, Limit: aws.Int32(int32(max + 1 - count)), ExclusiveStartKey: start,
			ReturnConsumedCapacity: capacityMode(ctx),
		})
		if err != nil {
			return 0, unavailable("CountMessageRange", err)
		}
		record(ctx, reading, out.ConsumedCapacity)
		count += int(out.Count)
		if count > max || len(out.LastEvaluatedKey) == 0 {
			return count, nil
		}
		start = out.LastEvaluatedKey
	}
}

func (s *Store) PutExport(ctx context.Context, e *inbox.Export) error {
	_, err := s.putExport(ctx, e, false)
	return err
}

func (s *Store) CreateExport(ctx context.Context, e *inbox.Export) (bool, error) {
	return s.putExport(ctx, e, true)
}

func (s *Store) putExport(ctx context.Context, e *inbox.Export, onlyNew bool) (bool, error) {
	if !safeKeyPart(e.WorkspaceID) || !safeKeyPart(e.ID) {
		return false, inbox.Invalid("id", "bad export key")
	}
	stored := *e
	stored.DownloadURL, stored.URLExpires = "", nil
	item, err := marshal(exportItem{PK: exportPK(e.WorkspaceID, e.ID), SK: skExport, TTL: e.ExpiresAt.Unix(), Export: stored})
	if err != nil {
		return false, inbox.Internal(err)
	}
	in := &dynamodb.PutItemInput{TableName: &s.table, Item: item, ReturnConsumedCapacity: capacityMode(ctx)}
	if onlyNew {
		in.ConditionExpression = aws.String("attribute_not_exists(PK)")
	}
	out, err := s.db.PutItem(ctx, in)
	if onlyNew && isConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, unavailable("PutExport", err)
	}
	record(ctx, writing, out.ConsumedCapacity)
	return true, nil
}

func (s *Store) GetExport(ctx context.Context, ws, id string) (*inbox.Export, error) {
	if !safeKeyPart(ws) || !safeKeyPart(id) {
		return nil, notFound("export", id)
	}
	var it exportItem
	ok, err := s.getItem(ctx, "GetExport", key(exportPK(ws, id), skExport), true, &it)
	if err != nil {
		return nil, err
	}
	// An expired item can outlive its TTL by up to a few days.
	if !ok || it.TTL > 0 && it.TTL < s.nowUnix() {
		return nil, notFound("export", id)
	}
	e := it.Export
	e.WorkspaceID = ws
	return &e, nil
}

func (s *Store) nowUnix() int64 { return time.Now().Unix() }
