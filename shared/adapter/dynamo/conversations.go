package dynamo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/oklog/ulid/v2"

	"github.com/parley-inbox/parley/shared/inbox"
)

type conversationItem struct {
	PK     string `json:"PK"`
	SK     string `json:"SK"`
	GSI1PK string `json:"GSI1PK,omitempty"`
	GSI1SK string `json:"GSI1SK,omitempty"`
	inbox.Conversation
	// Fields the API does not show but the store keeps.
	ActivityID string `json:"activityId"`
	Deleting   bool   `json:"deleting,omitempty"`
	// Recent packs the remembered keyed message ids as 16-byte ULIDs: a
	// third of their text size, which keeps the item in one write unit.
	Recent []byte `json:"recent,omitempty"`
	// QueueKey and CountedFor are the assignment queue's and counters'
	// bookkeeping (inbox.Conversation).
	QueueKey   string `json:"queueKey,omitempty"`
	CountedFor string `json:"countedFor,omitempty"`
}

func conversationRecord(c *inbox.Conversation) conversationItem {
	it := conversationItem{
		PK: conversationPK(c.WorkspaceID, c.ID), SK: skConversation,
		Conversation: *c, ActivityID: c.ActivityID, Deleting: c.Deleting, Recent: packIDs(c.RecentRequests),
		QueueKey: c.QueueKey, CountedFor: c.CountedFor,
	}
	it.WorkspaceID = "" // the partition key holds it
	// Only active conversations are in the inbox index (a sparse GSI).
	if !c.Archived && !c.Deleting {
		it.GSI1PK = inboxPK(c.WorkspaceID)
		it.GSI1SK = c.ActivityID
	}
	return it
}

func (it *conversationItem) domain(ws string) *inbox.Conversation {
	c := it.Conversation
	c.WorkspaceID = ws
	c.ActivityID, c.Deleting, c.RecentRequests = it.ActivityID, it.Deleting, unpackIDs(it.Recent)
	c.QueueKey, c.CountedFor = it.QueueKey, it.CountedFor
	if c.Labels == nil {
		c.Labels = []string{}
	}
	if c.Channels == nil {
		c.Channels = []inbox.Channel{}
	}
	return &c
}

// CreateConversation commits the conversation and the contact's link to it
// in one transaction of two items, whatever the contact's claim count. The
// claims' links are routing hints written afterwards: routing falls back to
// the contact's link when one is missing or stale, and repairs it.
func (s *Store) CreateConversation(ctx context.Context, c *inbox.Conversation, contact *inbox.Contact) error {
	c.Version = 1
	item, err := marshal(conversationRecord(c))
	if err != nil {
		return inbox.Internal(err)
	}
	// Linking the contact bumps its version, so a contact update that read
	// the contact before the link cannot erase it. A link the caller saw
	// (to a deleted or deleting thread) is replaced.
	link := &types.Update{
		TableName:                 &s.table,
		Key:                       key(contactPK(c.WorkspaceID, c.ContactID), skContact),
		UpdateExpression:          aws.String("SET conversationId = :c, version = version + :one"),
		ConditionExpression:       aws.String("version = :v AND attribute_not_exists(conversationId)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":c": str(c.ID), ":one": num(1), ":v": num(contact.Version)},
	}
	if contact.ConversationID != "" {
		link.ConditionExpression = aws.String("version = :v AND conversationId = :stale")
		link.ExpressionAttributeValues[":stale"] = str(contact.ConversationID)
	}
	items := []types.TransactWriteItem{
		{Put: &types.Put{TableName: &s.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(PK)")}},
		{Update: link},
	}
	if err := s.transact(ctx, items); err != nil {
		c.Version = 0
		if len(cancelledAt(err)) > 0 {
			return inbox.ErrVersionConflict
		}
		return unavailable("CreateConversation", err)
	}
	contact.ConversationID = c.ID
	contact.Version++
	claims := contactClaims(contact)
	// Phones and emails first, then the newest handles: the likeliest to
	// write next. The rest are linked when they are used.
	slices.Reverse(claims[len(contact.Phones)+len(contact.Emails):])
	if len(claims) > maxEagerLinks {
		claims = claims[:maxEagerLinks]
	}
	for _, cl := range claims {
		// Best effort: a link not written costs one extra read when used.
		_ = s.linkClaim(ctx, cl.pk, contact.ID, "", c.ID)
	}
	return nil
}

// maxEagerLinks bounds the writes a new conversation makes to link its
// contact's claims.
const maxEagerLinks = 32

// linkClaim points a claim the owner still holds at a conversation ("" to
// unlink). With from set, only a claim linked to from is changed. A claim
// that no longer matches is left alone: it is not the owner's, or someone
// linked it since.
func (s *Store) linkClaim(ctx context.Context, pk, owner, from, to string) error {
	in := &dynamodb.UpdateItemInput{
		TableName:                 &s.table,
		Key:                       key(pk, skUnique),
		UpdateExpression:          aws.String("REMOVE conversationId"),
		ConditionExpression:       aws.String("#o = :o"),
		ExpressionAttributeNames:  map[string]string{"#o": "owner"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":o": str(owner)},
		ReturnConsumedCapacity:    capacityMode(ctx),
	}
	if to != "" {
		in.UpdateExpression = aws.String("SET conversationId = :c")
		in.ExpressionAttributeValues[":c"] = str(to)
	}
	if from != "" {
		in.ConditionExpression = aws.String("#o = :o AND conversationId = :from")
		in.ExpressionAttributeValues[":from"] = str(from)
	}
	out, err := s.db.UpdateItem(ctx, in)
	if isConditionFailed(err) {
		return nil
	}
	if err != nil {
		return unavailable("LinkClaim", err)
	}
	record(ctx, writing, out.ConsumedCapacity)
	return nil
}

// LinkCorrespondent repairs a sender's claim to point at its contact's conversation.
func (s *Store) LinkCorrespondent(ctx context.Context, ws string, from inbox.Correspondent, contactID, conversationID string) error {
	pk, err := senderPK(ws, from)
	if err != nil {
		return err
	}
	return s.linkClaim(ctx, pk, contactID, "", conversationID)
}

func (s *Store) GetConversation(ctx context.Context, ws, id string) (*inbox.Conversation, error) {
	var it conversationItem
	ok, err := s.getItem(ctx, "GetConversation", key(conversationPK(ws, id), skConversation), true, &it)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, notFound("conversation", id)
	}
	return it.domain(ws), nil
}

func (s *Store) PeekConversation(ctx context.Context, ws, id string) (*inbox.Conversation, error) {
	var it conversationItem
	ok, err := s.getItem(ctx, "PeekConversation", key(conversationPK(ws, id), skConversation), false, &it)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, notFound("conversation", id)
	}
	return it.domain(ws), nil
}

func (s *Store) GetConversations(ctx context.Context, ws string, ids []string) ([]*inbox.Conversation, error) {
	out := make([]*inbox.Conversation, 0, len(ids))
	for start := 0; start < len(ids); start += 100 {
		keys := make([]map[string]types.AttributeValue, 0, 100)
		for _, id := range ids[start:min(start+100, len(ids))] {
			keys = append(keys, key(conversationPK(ws, id), skConversation))
		}
		req := map[string]types.KeysAndAttributes{s.table: {Keys: keys}}
		for attempt := 0; len(req) > 0; attempt++ {
			if err := backOff(ctx, attempt, "BatchGetItem"); err != nil {
				return nil, err
			}
			res, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req, ReturnConsumedCapacity: capacityMode(ctx)})
			if err != nil {
				return nil, unavailable("BatchGetItem", err)
			}
			recordAll(ctx, reading, res.ConsumedCapacity)
			for _, item := range res.Responses[s.table] {
				var it conversationItem
				if err := unmarshal(item, &it); err != nil {
					return nil, inbox.Internal(err)
				}
				out = append(out, it.domain(ws))
			}
			req = res.UnprocessedKeys
		}
	}
	return out, nil
}

// PutConversation writes c if its stored version is still c.Version. When
// the write changes who the conversation counts against (its assignee
// while open: assigned, unassigned, completed, reopened, archived,
// deleted), the agents' open-assigned counts move in the same transaction,
// so each change is counted exactly once; a manual assignment may take an
// agent past their capacity, by design. Other writes stay a plain put.
func (s *Store) PutConversation(ctx context.Context, c *inbox.Conversation) error {
	next := *c
	next.Version++
	from, to := c.CountedFor, next.Holder()
	next.CountedFor = to
	item, err := marshal(conversationRecord(&next))
	if err != nil {
		return inbox.Internal(err)
	}
	if from == to {
		if err := s.putVersioned(ctx, "PutConversation", item, c.Version); err != nil {
			return err
		}
	} else {
		items := []types.TransactWriteItem{{Put: &types.Put{
			TableName: &s.table, Item: item,
			ConditionExpression:       aws.String("version = :v"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":v": num(c.Version)},
		}}}
		if from != "" {
			items = append(items, types.TransactWriteItem{Update: s.countAgent(c.WorkspaceID, from, -1)})
		}
		if to != "" {
			items = append(items, types.TransactWriteItem{Update: s.countAgent(c.WorkspaceID, to, +1)})
		}
		if err := s.transact(ctx, items); err != nil {
			if cancelReasons(err) != nil {
				return inbox.ErrVersionConflict // lost a race, or met another transaction on an agent: retry
			}
			return unavailable("PutConversation", err)
		}
	}
	c.Version, c.CountedFor = next.Version, next.CountedFor
	return nil
}

// DeleteConversation takes a conversation apart in steps that are each
// idempotent and none of which grows with the contact's claims, so a delete
// interrupted anywhere is finished by running it again. The contact is
// released first, so its next message starts a new thread at once; the
// conversation item goes last, so a retry still finds the job.
func (s *Store) DeleteConversation(ctx context.Context, c *inbox.Conversation) error {
	pk := conversationPK(c.WorkspaceID, c.ID)
	if err := s.unlinkContact(ctx, c); err != nil {
		return err
	}
	// The messages, then their change log: a deleted thread's text does
	// not wait for the log's TTL.
	for _, prefix := range []string{prefixMessage, prefixPayment, prefixChange} {
		if err := s.deletePrefix(ctx, pk, prefix); err != nil {
			return err
		}
	}
	contact, err := s.GetContact(ctx, c.WorkspaceID, c.ContactID)
	if err != nil && !inbox.IsKind(err, inbox.KindNotFound) {
		return err
	}
	if contact != nil {
		for _, cl := range contactClaims(contact) {
			if err := s.linkClaim(ctx, cl.pk, contact.ID, c.ID, ""); err != nil {
				return err
			}
		}
	}
	out, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: &s.table, Key: key(pk, skConversation), ReturnConsumedCapacity: capacityMode(ctx),
	})
	if err != nil {
		return unavailable("DeleteConversation", err)
	}
	record(ctx, writing, out.ConsumedCapacity)
	return nil
}

// unlinkContact removes the contact's link to c, if it still has it. The
// version bump stops a contact update that read the link from restoring it.
func (s *Store) unlinkContact(ctx context.Context, c *inbox.Conversation) error {
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.table,
		Key:                       key(contactPK(c.WorkspaceID, c.ContactID), skContact),
		UpdateExpression:          aws.String("REMOVE conversationId SET version = version + :one"),
		ConditionExpression:       aws.String("conversationId = :c"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":c": str(c.ID), ":one": num(1)},
		ReturnConsumedCapacity:    capacityMode(ctx),
	})
	if isConditionFailed(err) {
		return nil // already released, or linked to a newer thread
	}
	if err != nil {
		return unavailable("UnlinkContact", err)
	}
	record(ctx, writing, out.ConsumedCapacity)
	return nil
}

// deleteKeys batch-deletes items by key, retrying what DynamoDB leaves unprocessed.
func (s *Store) deleteKeys(ctx context.Context, keys []map[string]types.AttributeValue) error {
	for start := 0; start < len(keys); start += 25 {
		var reqs []types.WriteRequest
		for _, k := range keys[start:min(start+25, len(keys))] {
			reqs = append(reqs, types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: k}})
		}
		pending := map[string][]types.WriteRequest{s.table: reqs}
		for attempt := 0; len(pending) > 0; attempt++ {
			if err := backOff(ctx, attempt, "BatchWriteItem"); err != nil {
				return err
			}
			out, err := s.db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: pending, ReturnConsumedCapacity: capacityMode(ctx)})
			if err != nil {
				return unavailable("BatchWriteItem", err)
			}
			recordAll(ctx, writing, out.ConsumedCapacity)
			pending = out.UnprocessedItems
		}
	}
	return nil
}

// inboxScanFactor bounds how many index rows one filtered page examines.
const inboxScanFactor = 4

// ListInbox reads the active inbox, newest activity first. A filtered view
// (unread, mine, unassigned, a label, ...) reads the index in two steps:
// one page's worth, and only if that did not fill the page, up to
// inboxScanFactor-1 more. New inbound activity makes a conversation unread
// and unassigned ones are the new ones, and both sort first, so the views
// agents open all day usually cost what the plain page does; a sparse view
// examines at most inboxScanFactor pages of rows and returns a cursor to go
// on.
func (s *Store) ListInbox(ctx context.Context, ws string, f inbox.InboxFilter, p inbox.PageRequest) (inbox.Page[*inbox.Conversation], error) {
	var page inbox.Page[*inbox.Conversation]
	scope := "inbox"
	start, err := s.cursors.decode(scope, workspacePK(ws)+"#", p.Cursor)
	if err != nil {
		return page, err
	}
	kc := expression.Key(AttrGSI1PK).Equal(expression.Value(inboxPK(ws)))
	b := expression.NewBuilder().WithKeyCondition(kc)
	cond, filtered := inboxCondition(f)
	if filtered {
		b = b.WithFilter(cond)
	}
	expr, err := b.Build()
	if err != nil {
		return page, inbox.Internal(err)
	}
	// DynamoDB applies Limit before the filter: it counts rows examined.
	chunks := []int{p.Limit}
	if filtered {
		chunks = append(chunks, p.Limit*(inboxScanFactor-1))
	}
	var items []map[string]types.AttributeValue
	next := start
	for i, limit := range chunks {
		if i > 0 && (len(items) >= p.Limit || next == nil) {
			break
		}
		out, err := s.db.Query(ctx, &dynamodb.QueryInput{
			TableName:                 &s.table,
			IndexName:                 aws.String(IndexInbox),
			KeyConditionExpression:    expr.KeyCondition(),
			FilterExpression:          expr.Filter(),
			ExpressionAttributeNames:  expr.Names(),
			ExpressionAttributeValues: expr.Values(),
			ScanIndexForward:          aws.Bool(false),
			Limit:                     aws.Int32(int32(limit)),
			ExclusiveStartKey:         next,
			ReturnConsumedCapacity:    capacityMode(ctx),
		})
		if err != nil {
			return page, unavailable("ListInbox", err)
		}
		record(ctx, reading, out.ConsumedCapacity)
		items = append(items, out.Items...)
		next = out.LastEvaluatedKey
	}
	if len(items) > p.Limit {
		// Cut the cursor at the last row returned.
		items = items[:p.Limit]
		last := items[len(items)-1]
		next = map[string]types.AttributeValue{AttrPK: last[AttrPK], AttrSK: last[AttrSK], AttrGSI1PK: last[AttrGSI1PK], AttrGSI1SK: last[AttrGSI1SK]}
	}
	page.Items = make([]*inbox.Conversation, 0, len(items))
	for _, item := range items {
		var it conversationItem
		if err := unmarshal(item, &it); err != nil {
			return page, inbox.Internal(err)
		}
		page.Items = append(page.Items, it.domain(ws))
	}
	page.NextCursor = s.cursors.encode(scope, next)
	return page, nil
}

func inboxCondition(f inbox.InboxFilter) (expression.ConditionBuilder, bool) {
	var conds []expression.ConditionBuilder
	if f.Status != "" {
		conds = append(conds, expression.Name("status").Equal(expression.Value(f.Status)))
	}
	switch f.Assignee {
	case "":
	case inbox.AssigneeNone:
		conds = append(conds, expression.Name("assigneeId").AttributeNotExists())
	default:
		conds = append(conds, expression.Name("assigneeId").Equal(expression.Value(f.Assignee)))
	}
	if f.Label != "" {
		conds = append(conds, expression.Name("labels").Contains(f.Label))
	}
	if f.Channel != "" {
		conds = append(conds, expression.Name("channels").Contains(string(f.Channel)))
	}
	if f.Unread != nil {
		conds = append(conds, expression.Name("unread").Equal(expression.Value(*f.Unread)))
	}
	if len(conds) == 0 {
		return expression.ConditionBuilder{}, false
	}
	if len(conds) == 1 {
		return conds[0], true
	}
	return expression.And(conds[0], conds[1], conds[2:]...), true
}

func packIDs(ids []string) []byte {
	out := make([]byte, 0, 16*len(ids))
	for _, id := range ids {
		if u, err := ulid.ParseStrict(id); err == nil {
			out = append(out, u[:]...)
		}
	}
	return out
}

func unpackIDs(b []byte) []string {
	ids := make([]string, 0, len(b)/16)
	for ; len(b) >= 16; b = b[16:] {
		var u ulid.ULID
		copy(u[:], b)
		ids = append(ids, u.String())
	}
	return ids
}

// maxBatchAttempts bounds the retries of a batch's unprocessed items, as
// the SDK bounds its own retries; past it the caller sees a 503.
const maxBatchAttempts = 8

// backOff pauses before a batch's retry of its unprocessed items (none
// before the first attempt), growing 20 ms, 80 ms, 180 ms ..., and gives up
// when ctx ends or after maxBatchAttempts.
func backOff(ctx context.Context, attempt int, op string) error {
	if attempt == 0 {
		return nil
	}
	if attempt >= maxBatchAttempts {
		return busy(op, errors.New("unprocessed items after every retry"))
	}
	t := time.NewTimer(time.Duration(attempt*attempt) * 20 * time.Millisecond)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return busy(op, ctx.Err())
	}
}

// busy is the 503 for a batch the table kept throttling.
func busy(op string, err error) error {
	return &inbox.Error{Kind: inbox.KindUnavailable, Message: "the database is busy; retry shortly", Err: fmt.Errorf("dynamodb %s: %w", op, err)}
}

// deletePrefix deletes a partition's items whose sort keys start with
// prefix, a page at a time.
func (s *Store) deletePrefix(ctx context.Context, pk, prefix string) error {
	kc := expression.Key(AttrPK).Equal(expression.Value(pk)).And(expression.Key(AttrSK).BeginsWith(prefix))
	expr, err := expression.NewBuilder().WithKeyCondition(kc).
		WithProjection(expression.NamesList(expression.Name(AttrPK), expression.Name(AttrSK))).Build()
	if err != nil {
		return inbox.Internal(err)
	}
	in := &dynamodb.QueryInput{
		TableName: &s.table, KeyConditionExpression: expr.KeyCondition(), ProjectionExpression: expr.Projection(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
		ReturnConsumedCapacity: capacityMode(ctx),
	}
	for {
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return unavailable("Query", err)
		}
		record(ctx, reading, out.ConsumedCapacity)
		if err := s.deleteKeys(ctx, out.Items); err != nil {
			return err
		}
		if len(out.LastEvaluatedKey) == 0 {
			return nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}
