package dynamo

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/parley-inbox/parley/shared/inbox"
)

type messageItem struct {
	PK string `json:"PK"`
	SK string `json:"SK"`
	// Only while scheduled: the sparse "scheduled" index.
	GSI3PK string `json:"GSI3PK,omitempty"`
	GSI3SK string `json:"GSI3SK,omitempty"`
	// Moved marks a message a contact merge moved here: the stream
	// publishes no message.created for it (it was news once already).
	Moved bool `json:"moved,omitempty"`
	inbox.Message
}

func scheduledPK(ws string) string { return workspacePK(ws) + "#SCHEDULED" }
func draftsPK(ws string) string    { return workspacePK(ws) + "#DRAFTS" }

// pendingKeys are a message's keys in the scheduled index: scheduled
// messages by send time, drafts by creation. Others have none (sparse).
func pendingKeys(m *inbox.Message) (pk, sk string, ok bool) {
	switch {
	case m.Status == inbox.MessageScheduled && m.SendAt != nil:
		return scheduledPK(m.WorkspaceID), m.SendAt.UTC().Format(sortableTime) + "#" + m.ID, true
	case m.Status == inbox.MessageDraft:
		return draftsPK(m.WorkspaceID), m.CreatedAt.UTC().Format(sortableTime) + "#" + m.ID, true
	}
	return "", "", false
}

const sortableTime = "2006-01-02T15:04:05.000Z"

func messageRecord(m *inbox.Message) messageItem {
	rec := messageItem{PK: conversationPK(m.WorkspaceID, m.ConversationID), SK: messageSK(m.ID), Message: *m}
	// The partition key already names workspace and conversation.
	rec.WorkspaceID, rec.ConversationID = "", ""
	rec.GSI3PK, rec.GSI3SK, _ = pendingKeys(m)
	return rec
}

func (it *messageItem) domain(ws, conversationID string) *inbox.Message {
	m := it.Message
	m.WorkspaceID, m.ConversationID = ws, conversationID
	if m.Attachments == nil {
		m.Attachments = []inbox.Attachment{}
	}
	return &m
}

func (s *Store) PutMessage(ctx context.Context, m *inbox.Message) error {
	item, err := marshal(messageRecord(m))
	if err != nil {
		return inbox.Internal(err)
	}
	out, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &s.table, Item: item,
		ConditionExpression:    aws.String("attribute_not_exists(PK)"),
		ReturnConsumedCapacity: capacityMode(ctx),
	})
	if isConditionFailed(err) {
		return nil // already stored: a retry of the same message
	}
	if err != nil {
		return unavailable("PutMessage", err)
	}
	record(ctx, writing, out.ConsumedCapacity)
	return nil
}

func (s *Store) GetMessage(ctx context.Context, ws, conversationID, id string) (*inbox.Message, error) {
	var it messageItem
	ok, err := s.getItem(ctx, "GetMessage", key(conversationPK(ws, conversationID), messageSK(id)), true, &it)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, notFound("message", id)
	}
	return it.domain(ws, conversationID), nil
}

func (s *Store) ListMessages(ctx context.Context, ws, conversationID string, p inbox.PageRequest) (inbox.Page[*inbox.Message], error) {
	var page inbox.Page[*inbox.Message]
	scope := "messages:" + conversationID
	if p.Newest {
		scope += ":newest"
	}
	items, next, err := s.queryPrefix(ctx, "ListMessages", scope, conversationPK(ws, conversationID), prefixMessage, !p.Newest, p)
	if err != nil {
		return page, err
	}
	page.Items = make([]*inbox.Message, 0, len(items))
	for _, item := range items {
		var it messageItem
		if err := unmarshal(item, &it); err != nil {
			return page, inbox.Internal(err)
		}
		page.Items = append(page.Items, it.domain(ws, conversationID))
	}
	page.NextCursor = next
	return page, nil
}

// queryPrefix reads one page of a partition's items whose sort keys start
// with prefix, resuming from a cursor issued for the same scope and
// partition, and returns the cursor to the next page.
func (s *Store) queryPrefix(ctx context.Context, op, scope, pk, prefix string, forward bool, p inbox.PageRequest) ([]map[string]types.AttributeValue, string, error) {
	start, err := s.cursors.decode(scope, pk, p.Cursor)
	if err != nil {
		return nil, "", err
	}
	kc := expression.Key(AttrPK).Equal(expression.Value(pk)).And(expression.Key(AttrSK).BeginsWith(prefix))
	expr, err := expression.NewBuilder().WithKeyCondition(kc).Build()
	if err != nil {
		return nil, "", inbox.Internal(err)
	}
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName:                 &s.table,
		KeyConditionExpression:    expr.KeyCondition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		ScanIndexForward:          aws.Bool(forward),
		Limit:                     aws.Int32(int32(p.Limit)),
		ExclusiveStartKey:         start,
		ReturnConsumedCapacity:    capacityMode(ctx),
	})
	if err != nil {
		return nil, "", unavailable(op, err)
	}
	record(ctx, reading, out.ConsumedCapacity)
	return out.Items, s.cursors.encode(scope, out.LastEvaluatedKey), nil
}

func (s *Store) UpdateMessageStatus(ctx context.Context, m *inbox.Message, prev inbox.MessageStatus) error {
	// The fields delivery changes; everything else is as posted.
	set := expression.Set(expression.Name("status"), expression.Value(m.Status)).
		Set(expression.Name("updatedAt"), expression.Value(m.UpdatedAt))
	optional := func(name string, v any, present bool) {
		if present {
			set = set.Set(expression.Name(name), expression.Value(v))
		} else {
			set = set.Remove(expression.Name(name))
		}
	}
	optional("error", m.Error, m.Error != nil)
	optional("providerId", m.ProviderID, m.ProviderID != "")
	optional("sendAt", m.SendAt, m.SendAt != nil)
	optional("timezone", m.Timezone, m.Timezone != "")
	optional("warnings", m.Warnings, len(m.Warnings) > 0)
	optional("recipient", m.Recipient, m.Recipient != "")
	optional("sentAt", m.SentAt, m.SentAt != nil)
	pk, sk, pending := pendingKeys(m)
	optional(AttrGSI3PK, pk, pending)
	optional(AttrGSI3SK, sk, pending)
	expr, err := expression.NewBuilder().WithUpdate(set).
		WithCondition(expression.Name("status").Equal(expression.Value(prev))).Build()
	if err != nil {
		return inbox.Internal(err)
	}
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.table,
		Key:                       key(conversationPK(m.WorkspaceID, m.ConversationID), messageSK(m.ID)),
		UpdateExpression:          expr.Update(),
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		ReturnConsumedCapacity:    capacityMode(ctx),
	})
	if isConditionFailed(err) {
		return inbox.ErrVersionConflict
	}
	if err != nil {
		return unavailable("UpdateMessageStatus", err)
	}
	record(ctx, writing, out.ConsumedCapacity)
	return nil
}

// SetAttachments updates only the attachments and updatedAt, so a status
// written meanwhile is not overwritten, and only while the attachments are
// still prev: of two concurrent copies, the later one conflicts rather
// than writing back what it read.
func (s *Store) SetAttachments(ctx context.Context, m *inbox.Message, prev []inbox.Attachment) error {
	update := expression.Set(expression.Name("attachments"), expression.Value(jsonTagged{orEmpty(m.Attachments)})).
		Set(expression.Name("updatedAt"), expression.Value(m.UpdatedAt))
	cond := expression.AttributeExists(expression.Name(AttrPK)).
		And(expression.Name("attachments").Equal(expression.Value(jsonTagged{orEmpty(prev)})))
	expr, err := expression.NewBuilder().WithUpdate(update).WithCondition(cond).Build()
	if err != nil {
		return inbox.Internal(err)
	}
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           &s.table,
		Key:                                 key(conversationPK(m.WorkspaceID, m.ConversationID), messageSK(m.ID)),
		UpdateExpression:                    expr.Update(),
		ConditionExpression:                 expr.Condition(),
		ExpressionAttributeNames:            expr.Names(),
		ExpressionAttributeValues:           expr.Values(),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		ReturnConsumedCapacity:              capacityMode(ctx),
	})
	var failed *types.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		if failed.Item == nil {
			return notFound("message", m.ID)
		}
		return inbox.ErrVersionConflict
	}
	if err != nil {
		return unavailable("SetAttachments", err)
	}
	record(ctx, writing, out.ConsumedCapacity)
	return nil
}

// orEmpty stores no attachments as an empty list, as PutMessage does.
func orEmpty(atts []inbox.Attachment) []inbox.Attachment {
	if atts == nil {
		return []inbox.Attachment{}
	}
	return atts
}

// jsonTagged marshals a value in an expression the way items are (json
// tags): expression.Value alone would use the Go field names.
type jsonTagged struct{ v any }

func (j jsonTagged) MarshalDynamoDBAttributeValue() (types.AttributeValue, error) {
	return attributevalue.MarshalWithOptions(j.v, func(o *attributevalue.EncoderOptions) { o.TagKey = "json" })
}

// providerRefItem maps a provider's message id to Parley's message.
type providerRefItem struct {
	PK             string `json:"PK"`
	SK             string `json:"SK"`
	ConversationID string `json:"conversationId"`
	MessageID      string `json:"messageId"`
}

func (s *Store) PutProviderRef(ctx context.Context, ws string, ch inbox.Channel, providerID string, ref inbox.ProviderRef) error {
	item, err := marshal(providerRefItem{PK: providerRefPK(ws, ch, providerID), SK: skUnique, ConversationID: ref.ConversationID, MessageID: ref.MessageID})
	if err != nil {
		return inbox.Internal(err)
	}
	out, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item, ReturnConsumedCapacity: capacityMode(ctx)})
	if err != nil {
		return unavailable("PutProviderRef", err)
	}
	record(ctx, writing, out.ConsumedCapacity)
	return nil
}

func (s *Store) FindProviderRef(ctx context.Context, ws string, ch inbox.Channel, providerID string) (inbox.ProviderRef, error) {
	var it providerRefItem
	ok, err := s.getItem(ctx, "FindProviderRef", key(providerRefPK(ws, ch, providerID), skUnique), false, &it)
	if err != nil {
		return inbox.ProviderRef{}, err
	}
	if !ok {
		return inbox.ProviderRef{}, notFound("provider message", providerID)
	}
	return inbox.ProviderRef{ConversationID: it.ConversationID, MessageID: it.MessageID}, nil
}

// ReplaceMessage stores an edited message if its status is still prev.
func (s *Store) ReplaceMessage(ctx context.Context, m *inbox.Message, prev inbox.MessageStatus) error {
	item, err := marshal(messageRecord(m))
	if err != nil {
		return inbox.Internal(err)
	}
	return s.putIf(ctx, "ReplaceMessage", item, expression.Name("status").Equal(expression.Value(prev)))
}

// ListScheduled pages through a workspace's scheduled messages, soonest first.
func (s *Store) ListScheduled(ctx context.Context, ws string, p inbox.PageRequest) (inbox.Page[*inbox.Message], error) {
	return s.listPending(ctx, ws, "scheduled", scheduledPK(ws), p)
}

// ListDrafts pages through a workspace's drafts, oldest first.
func (s *Store) ListDrafts(ctx context.Context, ws string, p inbox.PageRequest) (inbox.Page[*inbox.Message], error) {
	return s.listPending(ctx, ws, "drafts", draftsPK(ws), p)
}

func (s *Store) listPending(ctx context.Context, ws, scope, pk string, p inbox.PageRequest) (inbox.Page[*inbox.Message], error) {
	var page inbox.Page[*inbox.Message]
	start, err := s.cursors.decode(scope, workspacePK(ws)+"#", p.Cursor)
	if err != nil {
		return page, err
	}
	expr, err := expression.NewBuilder().WithKeyCondition(expression.Key(AttrGSI3PK).Equal(expression.Value(pk))).Build()
	if err != nil {
		return page, inbox.Internal(err)
	}
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName: &s.table, IndexName: aws.String(IndexScheduled),
		KeyConditionExpression: expr.KeyCondition(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
		Limit: aws.Int32(int32(p.Limit)), ExclusiveStartKey: start, ReturnConsumedCapacity: capacityMode(ctx),
	})
	if err != nil {
		return page, unavailable("List "+scope, err)
	}
	record(ctx, reading, out.ConsumedCapacity)
	page.Items = make([]*inbox.Message, 0, len(out.Items))
	for _, item := range out.Items {
		var it messageItem
		if err := unmarshal(item, &it); err != nil {
			return page, inbox.Internal(err)
		}
		conv, _ := conversationOf(it.PK)
		page.Items = append(page.Items, it.domain(ws, conv))
	}
	page.NextCursor = s.cursors.encode(scope, out.LastEvaluatedKey)
	return page, nil
}
