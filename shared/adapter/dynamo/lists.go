package dynamo

import (
	"context"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/parley-inbox/parley/shared/inbox"
)

// Static contact lists (issue 15 §1):
//
//	WS#w             LIST#l     the list, with its member count "members"
//	WS#w#LIST#l      C#c        a member: the contact's id and name
//
// A list's members are one partition, read a page per Query in contact-id
// order; nothing scans. Adding a member is one transaction: a Put
// conditional on attribute_not_exists(PK) and an ADD members 1 on the
// list (conditional on the list existing), so a member re-added or added
// twice at once is counted once. Removing is the mirror: a Delete
// conditional on the item existing and ADD members -1.

const (
	prefixList   = "LIST#"
	prefixMember = "C#"
	// maxListPurge bounds the members DeleteList removes in one call;
	// what is left of a larger list stays, unreachable (list ids are
	// never reused), until a sweep removes it.
	maxListPurge = 10000
)

func listMembersPK(ws, id string) string { return workspacePK(ws) + "#LIST#" + id }

type listItem struct {
	PK string `json:"PK"`
	SK string `json:"SK"`
	inbox.ContactList
}

type memberItem struct {
	PK string `json:"PK"`
	SK string `json:"SK"`
	inbox.ListMember
}

func (s *Store) CreateList(ctx context.Context, l *inbox.ContactList) error {
	l.Version, l.Members = 1, 0
	item, err := marshal(listItem{PK: workspacePK(l.WorkspaceID), SK: prefixList + l.ID, ContactList: *l})
	if err != nil {
		return inbox.Internal(err)
	}
	out, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item,
		ConditionExpression: aws.String("attribute_not_exists(PK)"), ReturnConsumedCapacity: capacityMode(ctx)})
	if isConditionFailed(err) {
		l.Version = 0
		return inbox.ErrVersionConflict
	}
	if err != nil {
		l.Version = 0
		return unavailable("CreateList", err)
	}
	record(ctx, writing, out.ConsumedCapacity)
	return nil
}

func (s *Store) GetList(ctx context.Context, ws, id string) (*inbox.ContactList, error) {
	var it listItem
	ok, err := s.getItem(ctx, "GetList", key(workspacePK(ws), prefixList+id), true, &it)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, notFound("list", id)
	}
	return &it.ContactList, nil
}

// query reads one page of a partition's items whose sort key starts with
// prefix, with a cursor signed for scope.
func (s *Store) queryPage(ctx context.Context, op, pk, prefix, scope, keyPrefix string, p inbox.PageRequest) ([]map[string]types.AttributeValue, string, error) {
	start, err := s.cursors.decode(scope, keyPrefix, p.Cursor)
	if err != nil {
		return nil, "", err
	}
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName:                 &s.table,
		KeyConditionExpression:    aws.String("PK = :pk AND begins_with(SK, :sk)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(pk), ":sk": str(prefix)},
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

func (s *Store) ListLists(ctx context.Context, ws string, p inbox.PageRequest) (inbox.Page[*inbox.ContactList], error) {
	page := inbox.Page[*inbox.ContactList]{Items: []*inbox.ContactList{}}
	pk := workspacePK(ws)
	items, next, err := s.queryPage(ctx, "ListLists", pk, prefixList, "lists|"+pk, pk, p)
	if err != nil {
		return page, err
	}
	for _, item := range items {
		var it listItem
		if err := unmarshal(item, &it); err != nil {
			return page, inbox.Internal(err)
		}
		page.Items = append(page.Items, &it.ContactList)
	}
	page.NextCursor = next
	return page, nil
}

// UpdateList sets the name and description alone, so concurrent member
// counts are kept.
func (s *Store) UpdateList(ctx context.Context, prev, next *inbox.ContactList) error {
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                &s.table,
		Key:                      key(workspacePK(prev.WorkspaceID), prefixList+prev.ID),
		UpdateExpression:         aws.String("SET #n = :n, description = :d, updatedAt = :u, version = :nv"),
		ConditionExpression:      aws.String("version = :v"),
		ExpressionAttributeNames: map[string]string{"#n": "name"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":n": str(next.Name), ":d": str(next.Description),
			":u": str(next.UpdatedAt.UTC().Format(time.RFC3339Nano)), ":v": num(prev.Version), ":nv": num(prev.Version + 1)},
		ReturnValues:           types.ReturnValueAllNew,
		ReturnConsumedCapacity: capacityMode(ctx),
	})
	if isConditionFailed(err) {
		return inbox.ErrVersionConflict
	}
	if err != nil {
		return unavailable("UpdateList", err)
	}
	record(ctx, writing, out.ConsumedCapacity)
	var it listItem
	if err := unmarshal(out.Attributes, &it); err != nil {
		return inbox.Internal(err)
	}
	*next = it.ContactList
	return nil
}

// DeleteList removes the list item (at its version), then up to
// maxListPurge members, a page of 100 and a BatchWriteItem of 25 at a time.
func (s *Store) DeleteList(ctx context.Context, l *inbox.ContactList) error {
	out, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 &s.table,
		Key:                       key(workspacePK(l.WorkspaceID), prefixList+l.ID),
		ConditionExpression:       aws.String("version = :v"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": num(l.Version)},
		ReturnConsumedCapacity:    capacityMode(ctx),
	})
	if isConditionFailed(err) {
		return inbox.ErrVersionConflict
	}
	if err != nil {
		return unavailable("DeleteList", err)
	}
	record(ctx, writing, out.ConsumedCapacity)
	pk := listMembersPK(l.WorkspaceID, l.ID)
	for purged := 0; purged < maxListPurge; {
		// Always the first page: the previous one is gone.
		items, next, err := s.queryPage(ctx, "DeleteList", pk, prefixMember, "", pk, inbox.PageRequest{Limit: 100})
		if err != nil {
			return err
		}
		keys := make([]map[string]types.AttributeValue, 0, len(items))
		for _, item := range items {
			keys = append(keys, map[string]types.AttributeValue{AttrPK: item[AttrPK], AttrSK: item[AttrSK]})
		}
		if err := s.deleteKeys(ctx, keys); err != nil {
			return err
		}
		purged += len(keys)
		if next == "" {
			break
		}
	}
	return nil
}

// ContactNames reads contacts' names with BatchGetItem, 100 keys a call,
// eventually consistently.
func (s *Store) ContactNames(ctx context.Context, ws string, ids []string) (map[string]string, error) {
	out := make(map[string]string, len(ids))
	for start := 0; start < len(ids); start += 100 {
		keys := make([]map[string]types.AttributeValue, 0, 100)
		for _, id := range ids[start:min(start+100, len(ids))] {
			keys = append(keys, key(contactPK(ws, id), skContact))
		}
		req := map[string]types.KeysAndAttributes{s.table: {Keys: keys,
			ProjectionExpression: aws.String("id, #n"), ExpressionAttributeNames: map[string]string{"#n": "name"}}}
		for attempt := 0; len(req) > 0; attempt++ {
			if err := backOff(ctx, attempt, "BatchGetItem"); err != nil {
				return nil, err
			}
			res, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req, ReturnConsumedCapacity: capacityMode(ctx)})
			if err != nil {
				return nil, unavailable("ContactNames", err)
			}
			recordAll(ctx, reading, res.ConsumedCapacity)
			for _, item := range res.Responses[s.table] {
				var c struct {
					ID   string `json:"id"`
					Name string `json:"name"`
				}
				if err := unmarshal(item, &c); err != nil {
					return nil, inbox.Internal(err)
				}
				out[c.ID] = c.Name
			}
			req = res.UnprocessedKeys
		}
	}
	return out, nil
}

func (s *Store) countMembers(ws, listID string, delta int64) types.TransactWriteItem {
	return types.TransactWriteItem{Update: &types.Update{
		TableName:                 &s.table,
		Key:                       key(workspacePK(ws), prefixList+listID),
		UpdateExpression:          aws.String("ADD members :d"),
		ConditionExpression:       aws.String("attribute_exists(PK)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":d": num(delta)},
	}}
}

func (s *Store) AddListMember(ctx context.Context, ws, listID string, m inbox.ListMember) (bool, error) {
	item, err := marshal(memberItem{PK: listMembersPK(ws, listID), SK: prefixMember + m.ContactID, ListMember: m})
	if err != nil {
		return false, inbox.Internal(err)
	}
	err = s.transact(ctx, []types.TransactWriteItem{
		{Put: &types.Put{TableName: &s.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(PK)")}},
		s.countMembers(ws, listID, 1),
	})
	return memberWritten(err, "AddListMember", listID)
}

func (s *Store) RemoveListMember(ctx context.Context, ws, listID, contactID string) (bool, error) {
	err := s.transact(ctx, []types.TransactWriteItem{
		{Delete: &types.Delete{TableName: &s.table, Key: key(listMembersPK(ws, listID), prefixMember+contactID),
			ConditionExpression: aws.String("attribute_exists(PK)")}},
		s.countMembers(ws, listID, -1),
	})
	return memberWritten(err, "RemoveListMember", listID)
}

// memberWritten reads a member transaction: the member item's condition
// failing means nothing changed; the list's, that it is gone.
func memberWritten(err error, op, listID string) (bool, error) {
	if err == nil {
		return true, nil
	}
	failed := cancelledAt(err)
	for _, i := range failed {
		if i == 1 {
			return false, notFound("list", listID)
		}
	}
	if len(failed) > 0 {
		return false, nil
	}
	return false, unavailable(op, err)
}

func (s *Store) ListMembers(ctx context.Context, ws, listID string, p inbox.PageRequest) (inbox.Page[inbox.ListMember], error) {
	page := inbox.Page[inbox.ListMember]{Items: []inbox.ListMember{}}
	pk := listMembersPK(ws, listID)
	items, next, err := s.queryPage(ctx, "ListMembers", pk, prefixMember, "members|"+pk, pk, p)
	if err != nil {
		return page, err
	}
	for _, item := range items {
		var it memberItem
		if err := unmarshal(item, &it); err != nil {
			return page, inbox.Internal(err)
		}
		if it.ContactID == "" {
			it.ContactID = strings.TrimPrefix(it.SK, prefixMember)
		}
		page.Items = append(page.Items, it.ListMember)
	}
	page.NextCursor = next
	return page, nil
}
