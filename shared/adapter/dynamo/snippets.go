package dynamo

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/parley-inbox/parley/shared/inbox"
)

// Snippets. Every list is one Query:
//
//	WS#w#SNIPPET#s   #SNIPPET    the snippet: get by id
//	                             GSI2 (byName)  WS#w#SNIPPETS / <name>\x01s: all, by name; name prefix
//	                             GSI4 (lists)   WS#w#SNIPCAT#<category> / <name>\x01s: one category, by name
//	WS#w#SHORTCUTS   <shortcut>  the shortcut claim, a copy of the snippet: shortcut prefix search
//
// The claim is conditional (attribute_not_exists), so a shortcut is unique in
// the workspace; it carries the whole snippet so a shortcut search reads no
// second item. Names and categories are keyed lowercase and trimmed.

const skSnippet = "#SNIPPET"

type snippetItem struct {
	PK     string `json:"PK"`
	SK     string `json:"SK"`
	GSI2PK string `json:"GSI2PK,omitempty"`
	GSI2SK string `json:"GSI2SK,omitempty"`
	GSI4PK string `json:"GSI4PK,omitempty"`
	GSI4SK string `json:"GSI4SK,omitempty"`
	// CategoryKey is on shortcut claims, for a shortcut search within a
	// category.
	CategoryKey string `json:"categoryKey,omitempty"`
	inbox.Snippet
}

func snippetPK(ws, id string) string    { return workspacePK(ws) + "#SNIPPET#" + id }
func snippetsByNamePK(ws string) string { return workspacePK(ws) + "#SNIPPETS" }
func snippetCategoryPK(ws, category string) string {
	return workspacePK(ws) + "#SNIPCAT#" + inbox.SnippetKey(category)
}
func shortcutsPK(ws string) string { return workspacePK(ws) + "#SHORTCUTS" }

func snippetRecord(sn *inbox.Snippet) snippetItem {
	// \x01 sorts below every character a name may hold, so "thanks"
	// comes before "thanks again".
	sortKey := inbox.SnippetKey(sn.Name) + "\x01" + sn.ID
	return snippetItem{PK: snippetPK(sn.WorkspaceID, sn.ID), SK: skSnippet,
		GSI2PK: snippetsByNamePK(sn.WorkspaceID), GSI2SK: sortKey,
		GSI4PK: snippetCategoryPK(sn.WorkspaceID, sn.Category), GSI4SK: sortKey,
		Snippet: *sn}
}

func shortcutRecord(sn *inbox.Snippet) snippetItem {
	return snippetItem{PK: shortcutsPK(sn.WorkspaceID), SK: sn.Shortcut, CategoryKey: inbox.SnippetKey(sn.Category), Snippet: *sn}
}

func (s *Store) snippetPut(it snippetItem, cond expression.ConditionBuilder) (types.TransactWriteItem, error) {
	item, err := marshal(it)
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	expr, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	return types.TransactWriteItem{Put: &types.Put{TableName: aws.String(s.table), Item: item, ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values()}}, nil
}

func (s *Store) shortcutDelete(sn *inbox.Snippet) types.TransactWriteItem {
	return types.TransactWriteItem{Delete: &types.Delete{
		TableName: &s.table, Key: key(shortcutsPK(sn.WorkspaceID), sn.Shortcut),
		ConditionExpression:       aws.String("#id = :id"),
		ExpressionAttributeNames:  map[string]string{"#id": "id"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":id": str(sn.ID)},
	}}
}

var (
	notExists = expression.AttributeNotExists(expression.Name(AttrPK))
	ownedBy   = func(id string) expression.ConditionBuilder { return expression.Name("id").Equal(expression.Value(id)) }
	atVersion = func(v int64) expression.ConditionBuilder {
		return expression.Name("version").Equal(expression.Value(v))
	}
	errTakenAt = func(shortcut string) error {
		return &inbox.Error{Kind: inbox.KindConflict, Field: "shortcut", Message: "the shortcut " + shortcut + " is taken by another snippet"}
	}
)

func (s *Store) CreateSnippet(ctx context.Context, sn *inbox.Snippet) error {
	sn.Version = 1
	main, err1 := s.snippetPut(snippetRecord(sn), notExists)
	claim, err2 := s.snippetPut(shortcutRecord(sn), notExists)
	if err := errors.Join(err1, err2); err != nil {
		return inbox.Internal(err)
	}
	if err := s.transact(ctx, []types.TransactWriteItem{main, claim}); err != nil {
		sn.Version = 0
		return snippetWriteError(err, sn.Shortcut, 1)
	}
	return nil
}

// snippetWriteError reads a cancelled transaction: the claim at index
// claimAt failing means the shortcut is taken; anything else is a
// concurrent change.
func snippetWriteError(err error, shortcut string, claimAt int) error {
	failed := cancelledAt(err)
	for _, i := range failed {
		if i == claimAt {
			return errTakenAt(shortcut)
		}
	}
	if len(failed) > 0 {
		return inbox.ErrVersionConflict
	}
	return unavailable("TransactWriteItems", err)
}

func (s *Store) UpdateSnippet(ctx context.Context, prev, next *inbox.Snippet) error {
	next.Version = prev.Version + 1
	main, err1 := s.snippetPut(snippetRecord(next), atVersion(prev.Version))
	claimCond := ownedBy(next.ID)
	if prev.Shortcut != next.Shortcut {
		claimCond = notExists
	}
	claim, err2 := s.snippetPut(shortcutRecord(next), claimCond)
	if err := errors.Join(err1, err2); err != nil {
		return inbox.Internal(err)
	}
	items := []types.TransactWriteItem{main, claim}
	if prev.Shortcut != next.Shortcut {
		items = append(items, s.shortcutDelete(prev))
	}
	if err := s.transact(ctx, items); err != nil {
		next.Version = prev.Version
		if prev.Shortcut == next.Shortcut {
			return snippetWriteError(err, next.Shortcut, -1)
		}
		return snippetWriteError(err, next.Shortcut, 1)
	}
	return nil
}

func (s *Store) GetSnippet(ctx context.Context, ws, id string) (*inbox.Snippet, error) {
	var it snippetItem
	ok, err := s.getItem(ctx, "GetSnippet", key(snippetPK(ws, id), skSnippet), false, &it)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, notFound("snippet", id)
	}
	return it.domain(), nil
}

func (it *snippetItem) domain() *inbox.Snippet {
	if it.Attachments == nil {
		it.Attachments = []inbox.Attachment{}
	}
	return &it.Snippet
}

// ListSnippets reads one page with one Query: a shortcut prefix ("/…") on
// the shortcut claims, a category on the lists index, everything else on
// the name index. A category with a shortcut search is a filter on the
// claims, so such a page may hold fewer items than asked for.
func (s *Store) ListSnippets(ctx context.Context, ws string, q inbox.SnippetQuery) (inbox.Page[*inbox.Snippet], error) {
	var page inbox.Page[*inbox.Snippet]
	in := &dynamodb.QueryInput{TableName: &s.table, ScanIndexForward: aws.Bool(true)}
	var kc expression.KeyConditionBuilder
	var filter *expression.ConditionBuilder
	var scope string
	switch {
	case len(q.Q) > 0 && q.Q[0] == '/':
		pk := shortcutsPK(ws)
		kc = expression.Key(AttrPK).Equal(expression.Value(pk)).And(expression.Key(AttrSK).BeginsWith(q.Q))
		if q.Category != "" {
			f := expression.Name("categoryKey").Equal(expression.Value(inbox.SnippetKey(q.Category)))
			filter = &f
		}
		scope = "snippets|shortcut|" + pk + "|" + q.Q + "|" + inbox.SnippetKey(q.Category)
	case q.Category != "":
		pk := snippetCategoryPK(ws, q.Category)
		in.IndexName = aws.String(IndexLists)
		kc = expression.Key(AttrGSI4PK).Equal(expression.Value(pk))
		if q.Q != "" {
			kc = kc.And(expression.Key(AttrGSI4SK).BeginsWith(q.Q))
		}
		scope = "snippets|category|" + pk + "|" + q.Q
	default:
		pk := snippetsByNamePK(ws)
		in.IndexName = aws.String(IndexByName)
		kc = expression.Key(AttrGSI2PK).Equal(expression.Value(pk))
		if q.Q != "" {
			kc = kc.And(expression.Key(AttrGSI2SK).BeginsWith(q.Q))
		}
		scope = "snippets|name|" + pk + "|" + q.Q
	}
	start, err := s.cursors.decode(scope, workspacePK(ws)+"#", q.Page.Cursor)
	if err != nil {
		return page, err
	}
	b := expression.NewBuilder().WithKeyCondition(kc)
	if filter != nil {
		b = b.WithFilter(*filter)
	}
	expr, err := b.Build()
	if err != nil {
		return page, inbox.Internal(err)
	}
	in.KeyConditionExpression, in.FilterExpression = expr.KeyCondition(), expr.Filter()
	in.ExpressionAttributeNames, in.ExpressionAttributeValues = expr.Names(), expr.Values()
	in.Limit, in.ExclusiveStartKey, in.ReturnConsumedCapacity = aws.Int32(int32(q.Page.Limit)), start, capacityMode(ctx)
	out, err := s.db.Query(ctx, in)
	if err != nil {
		return page, unavailable("ListSnippets", err)
	}
	record(ctx, reading, out.ConsumedCapacity)
	page.Items = make([]*inbox.Snippet, 0, len(out.Items))
	for _, item := range out.Items {
		var it snippetItem
		if err := unmarshal(item, &it); err != nil {
			return page, inbox.Internal(err)
		}
		page.Items = append(page.Items, it.domain())
	}
	page.NextCursor = s.cursors.encode(scope, out.LastEvaluatedKey)
	return page, nil
}

func (s *Store) DeleteSnippet(ctx context.Context, sn *inbox.Snippet) error {
	err := s.transact(ctx, []types.TransactWriteItem{
		{Delete: &types.Delete{TableName: &s.table, Key: key(snippetPK(sn.WorkspaceID, sn.ID), skSnippet),
			ConditionExpression:       aws.String("#v = :v"),
			ExpressionAttributeNames:  map[string]string{"#v": "version"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":v": num(sn.Version)}}},
		s.shortcutDelete(sn),
	})
	if len(cancelledAt(err)) > 0 {
		return inbox.ErrVersionConflict
	}
	if err != nil {
		return unavailable("DeleteSnippet", err)
	}
	return nil
}
