package dynamo

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/oklog/ulid/v2"

	"github.com/parley-inbox/parley/shared/inbox"
)

// The live inbox's items:
//
//	WS#w#LIVE               AGENT#<conn>       an agent's open WebSocket (TTL)
//	WS#w#VISITOR#v          LIVE#<conn>        a web chat visitor's open WebSocket (TTL)
//	WS#w#COUNTS             #conversations     inbox counters, one attribute each
//	WS#w#COUNTS             #tasks             manual task counters
//	WS#w#COUNTED#<event>    #COUNTED           a stream record already counted (TTL)
//	WS#w#CHANGES            <seq>              conversation change log (TTL)
//	WS#w#CONV#v             CHANGE#<seq>       a thread's message change log (TTL)
//
// Agents' connections share a partition (one per workspace) so
// one Query finds everyone to fan out to; a visitor's are apart, so a busy
// website's visitors never slow the agents' fan-out.
func livePK(ws string) string                 { return workspacePK(ws) + "#LIVE" }
func visitorLivePK(ws, visitor string) string { return workspacePK(ws) + "#VISITOR#" + visitor }
func countsPK(ws string) string               { return workspacePK(ws) + "#COUNTS" }
func changesPK(ws string) string              { return workspacePK(ws) + "#CHANGES" }

const (
	prefixAgentConn   = "AGENT#"
	prefixVisitorConn = "LIVE#"
	prefixChange      = "CHANGE#"
	// countedFor outlives the stream's 24-hour retention, so a redelivered
	// record always finds its marker.
	countedFor = 48 * time.Hour
)

type connectionItem struct {
	PK        string `json:"PK"`
	SK        string `json:"SK"`
	ExpiresAt int64  `json:"expiresAt"`
	inbox.Connection
}

func connectionKey(c inbox.Connection) (pk, sk string) {
	if c.IsVisitor() {
		return visitorLivePK(c.WorkspaceID, c.VisitorID), prefixVisitorConn + c.ID
	}
	return livePK(c.WorkspaceID), prefixAgentConn + c.ID
}

func (s *Store) PutConnection(ctx context.Context, c inbox.Connection) error {
	pk, sk := connectionKey(c)
	item, err := marshal(connectionItem{PK: pk, SK: sk, ExpiresAt: c.ConnectedAt.Add(inbox.ConnectionLifetime).Unix(), Connection: c})
	if err != nil {
		return inbox.Internal(err)
	}
	out, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item, ReturnConsumedCapacity: capacityMode(ctx)})
	if err != nil {
		return unavailable("PutConnection", err)
	}
	record(ctx, writing, out.ConsumedCapacity)
	return nil
}

func (s *Store) DeleteConnection(ctx context.Context, c inbox.Connection) error {
	pk, sk := connectionKey(c)
	out, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.table, Key: key(pk, sk), ReturnConsumedCapacity: capacityMode(ctx)})
	if err != nil {
		return unavailable("DeleteConnection", err)
	}
	record(ctx, writing, out.ConsumedCapacity)
	return nil
}

func (s *Store) AgentConnections(ctx context.Context, ws string) ([]inbox.Connection, error) {
	return s.connections(ctx, livePK(ws), prefixAgentConn)
}

func (s *Store) VisitorConnections(ctx context.Context, ws, visitorID string) ([]inbox.Connection, error) {
	if !safeKeyPart(visitorID) {
		return nil, nil
	}
	return s.connections(ctx, visitorLivePK(ws, visitorID), prefixVisitorConn)
}

// maxConnections bounds one fan-out's read of a partition's connections.
const maxConnections = 10_000

// connections reads a partition's live connections; records past their
// TTL that DynamoDB has not yet removed are skipped.
func (s *Store) connections(ctx context.Context, pk, prefix string) ([]inbox.Connection, error) {
	kc := expression.Key(AttrPK).Equal(expression.Value(pk)).And(expression.Key(AttrSK).BeginsWith(prefix))
	expr, err := expression.NewBuilder().WithKeyCondition(kc).Build()
	if err != nil {
		return nil, inbox.Internal(err)
	}
	now := time.Now().Unix()
	var out []inbox.Connection
	var start map[string]types.AttributeValue
	for {
		page, err := s.db.Query(ctx, &dynamodb.QueryInput{
			TableName: &s.table, KeyConditionExpression: expr.KeyCondition(),
			ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
			ExclusiveStartKey: start, ReturnConsumedCapacity: capacityMode(ctx),
		})
		if err != nil {
			return nil, unavailable("Connections", err)
		}
		record(ctx, reading, page.ConsumedCapacity)
		for _, item := range page.Items {
			var it connectionItem
			if err := unmarshal(item, &it); err != nil {
				return nil, inbox.Internal(err)
			}
			if it.ExpiresAt > now {
				out = append(out, it.Connection)
			}
		}
		start = page.LastEvaluatedKey
		if len(start) == 0 || len(out) >= maxConnections {
			return out, nil
		}
	}
}

// Counters reads a workspace's counters: one item, whatever its size.
func (s *Store) Counters(ctx context.Context, ws string, set inbox.CounterSet, consistent bool) (inbox.Counters, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.table, Key: key(countsPK(ws), "#"+string(set)),
		ConsistentRead: aws.Bool(consistent), ReturnConsumedCapacity: capacityMode(ctx),
	})
	if err != nil {
		return nil, unavailable("Counters", err)
	}
	record(ctx, reading, out.ConsumedCapacity)
	c := inbox.Counters{}
	for name, v := range out.Item {
		if n, ok := v.(*types.AttributeValueMemberN); ok {
			if i, err := strconv.ParseInt(n.Value, 10, 64); err == nil {
				c[name] = i
			}
		}
	}
	return c, nil
}

// applyCounters adds a stream record's delta to the counters once: the
// record's marker is written in the same transaction, so a redelivered
// record finds it and changes nothing.
func (s *Store) applyCounters(ctx context.Context, ws string, set inbox.CounterSet, eventID string, d inbox.Counters) error {
	// Each counter is named through its own placeholder, taken verbatim:
	// counter names hold user ids, which may hold "." or "[", and the
	// expression builder would read those as a path into a map or list.
	names := make(map[string]string, len(d))
	values := make(map[string]types.AttributeValue, len(d))
	adds := make([]string, 0, len(d))
	for i, name := range slices.Sorted(maps.Keys(d)) {
		n, v := "#c"+strconv.Itoa(i), ":c"+strconv.Itoa(i)
		names[n], values[v] = name, num(d[name])
		adds = append(adds, n+" "+v)
	}
	marker, err := marshal(map[string]any{AttrPK: workspacePK(ws) + "#COUNTED#" + eventID, AttrSK: "#COUNTED", AttrTTL: time.Now().Add(countedFor).Unix()})
	if err != nil {
		return inbox.Internal(err)
	}
	err = s.transact(ctx, []types.TransactWriteItem{
		{Put: &types.Put{TableName: &s.table, Item: marker, ConditionExpression: aws.String("attribute_not_exists(PK)")}},
		{Update: &types.Update{TableName: &s.table, Key: key(countsPK(ws), "#"+string(set)), UpdateExpression: aws.String("ADD " + strings.Join(adds, ", ")),
			ExpressionAttributeNames: names, ExpressionAttributeValues: values}},
	})
	if idx := cancelledAt(err); len(idx) == 1 && idx[0] == 0 {
		return nil // counted before
	}
	if err != nil {
		return unavailable("applyCounters", err)
	}
	return nil
}

// changeItem is one change log entry: the item as the API shows it.
type changeItem struct {
	PK        string          `json:"PK"`
	SK        string          `json:"SK"`
	ExpiresAt int64           `json:"expiresAt"`
	Data      json.RawMessage `json:"data"`
}

func (s *Store) putChange(ctx context.Context, pk, sk string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return inbox.Internal(err)
	}
	item, err := marshal(changeItem{PK: pk, SK: sk, ExpiresAt: time.Now().Add(inbox.ChangeLogRetention).Unix(), Data: data})
	if err != nil {
		return inbox.Internal(err)
	}
	out, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item, ReturnConsumedCapacity: capacityMode(ctx)})
	if err != nil {
		return unavailable("putChange", err)
	}
	record(ctx, writing, out.ConsumedCapacity)
	return nil
}

// changedConversation is a conversation change log entry: the
// conversation as the API shows it, or a deleted one's id.
type changedConversation struct {
	inbox.Conversation
	Deleted bool `json:"deleted,omitempty"`
}

// ConversationChanges returns deleted conversations with Deleting set.
func (s *Store) ConversationChanges(ctx context.Context, ws string, after time.Time, p inbox.PageRequest) (inbox.Page[*inbox.Conversation], string, error) {
	page, seq, err := readChanges(s, ctx, "conversation changes", changesPK(ws), "", after, p, func(*changedConversation) {})
	out := inbox.Page[*inbox.Conversation]{Items: make([]*inbox.Conversation, 0, len(page.Items)), NextCursor: page.NextCursor}
	for _, c := range page.Items {
		c.WorkspaceID, c.Deleting = ws, c.Deleted
		out.Items = append(out.Items, &c.Conversation)
	}
	return out, seq, err
}

func (s *Store) MessageChanges(ctx context.Context, ws, conversationID string, after time.Time, p inbox.PageRequest) (inbox.Page[*inbox.Message], string, error) {
	return readChanges(s, ctx, "message changes:"+conversationID, conversationPK(ws, conversationID), prefixChange, after, p, func(*inbox.Message) {})
}

// readChanges reads one page of a change log after a time: one Query, on
// the sort key.
func readChanges[T any](s *Store, ctx context.Context, scope, pk, prefix string, after time.Time, p inbox.PageRequest, fix func(*T)) (inbox.Page[*T], string, error) {
	var page inbox.Page[*T]
	start, err := s.cursors.decode(scope, pk, p.Cursor)
	if err != nil {
		return page, "", err
	}
	var from ulid.ULID
	if err := from.SetTime(ulid.Timestamp(after)); err != nil {
		return page, "", inbox.Invalid("updatedSince", "updatedSince is out of range")
	}
	kc := expression.Key(AttrPK).Equal(expression.Value(pk)).
		And(expression.Key(AttrSK).Between(expression.Value(prefix+from.String()), expression.Value(prefix+"~")))
	expr, err := expression.NewBuilder().WithKeyCondition(kc).Build()
	if err != nil {
		return page, "", inbox.Internal(err)
	}
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName: &s.table, KeyConditionExpression: expr.KeyCondition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
		Limit: aws.Int32(int32(p.Limit)), ExclusiveStartKey: start, ReturnConsumedCapacity: capacityMode(ctx),
	})
	if err != nil {
		return page, "", unavailable("readChanges", err)
	}
	record(ctx, reading, out.ConsumedCapacity)
	page.Items = make([]*T, 0, len(out.Items))
	seq := ""
	for _, item := range out.Items {
		var it changeItem
		if err := unmarshal(item, &it); err != nil {
			return page, "", inbox.Internal(err)
		}
		v := new(T)
		if err := json.Unmarshal(it.Data, v); err != nil {
			return page, "", inbox.Internal(fmt.Errorf("decode change %s: %w", it.SK, err))
		}
		fix(v)
		page.Items = append(page.Items, v)
		seq = strings.TrimPrefix(it.SK, prefix)
	}
	page.NextCursor = s.cursors.encode(scope, out.LastEvaluatedKey)
	return page, seq, nil
}

// Journal does what a stream record means for the live inbox, before its
// events are published: it gives the change its seq, logs a conversation
// or message change for delta sync, and moves the counters exactly once.
// A retried record is logged again under a new seq, which clients apply
// by version; it is never counted twice.
func (s *Store) Journal(ctx context.Context, c *Change) error {
	c.Seq = ulid.Make().String()
	img := c.New
	if img == nil {
		img = c.Old
	}
	pk, sk := stringAttr(img, AttrPK), stringAttr(img, AttrSK)
	ws, ok := workspaceOf(pk)
	if !ok {
		return nil
	}
	switch {
	case sk == skConversation:
		before, after, err := conversationImages(c, ws)
		if err != nil {
			return err
		}
		if d := inbox.ConversationCountDelta(before, after); len(d) > 0 {
			if err := s.applyCounters(ctx, ws, inbox.ConversationCounters, c.EventID, d); err != nil {
				return err
			}
		}
		if after == nil {
			// The thread is gone: so is its message log. A message's
			// record comes before its thread's removal in the partition's
			// stream order, so nothing is logged after this.
			if err := s.deletePrefix(ctx, pk, prefixChange); err != nil {
				return err
			}
			gone := changedConversation{Conversation: inbox.Conversation{ID: before.ID, Version: before.Version + 1}, Deleted: true}
			return s.putChange(ctx, changesPK(ws), c.Seq, gone)
		}
		if before == nil || len(inbox.WhatChanged(before, after)) > 0 {
			return s.putChange(ctx, changesPK(ws), c.Seq, after)
		}
	case strings.HasPrefix(sk, prefixMessage) && c.New != nil:
		var it messageItem
		if err := unmarshal(c.New, &it); err != nil {
			return fmt.Errorf("decode new image: %w", err)
		}
		conv, _ := conversationOf(pk)
		return s.putChange(ctx, pk, prefixChange+c.Seq, it.domain(ws, conv))
	case sk == skTask:
		var before, after *inbox.ManualTask
		if c.Old != nil {
			var it taskItem
			if err := unmarshal(c.Old, &it); err != nil {
				return fmt.Errorf("decode old image: %w", err)
			}
			before = &it.ManualTask
		}
		if c.New != nil {
			var it taskItem
			if err := unmarshal(c.New, &it); err != nil {
				return fmt.Errorf("decode new image: %w", err)
			}
			after = &it.ManualTask
		}
		if d := inbox.TaskCountDelta(before, after); len(d) > 0 {
			return s.applyCounters(ctx, ws, inbox.TaskCounters, c.EventID, d)
		}
	}
	return nil
}

// conversationImages decodes a conversation change; nil for a side that
// does not exist.
func conversationImages(c *Change, ws string) (before, after *inbox.Conversation, err error) {
	if c.Old != nil {
		var it conversationItem
		if err := unmarshal(c.Old, &it); err != nil {
			return nil, nil, fmt.Errorf("decode old image: %w", err)
		}
		before = it.domain(ws)
	}
	if c.New != nil {
		var it conversationItem
		if err := unmarshal(c.New, &it); err != nil {
			return nil, nil, fmt.Errorf("decode new image: %w", err)
		}
		after = it.domain(ws)
	}
	return before, after, nil
}
