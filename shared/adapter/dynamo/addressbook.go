package dynamo

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/parley-inbox/parley/shared/inbox"
)

// The address book: contacts in name order, one tag at a time, the tag
// catalog, and the consent an inbox row shows.
//
// Names. The byName index (GSI2) is sharded by the first byte of the
// lower-cased name into a fixed, ordered list of 28 shards: "0" (anything
// before "a": digits, punctuation), "a" to "z", and "~" (anything after
// "z": every non-ASCII first letter). Each shard is a contiguous range of
// the keys' byte order, so walking the shards in order walks the whole
// address book in name order; a prefix search still reads exactly one
// shard. A page Queries its cursor's shard and, while the page is not
// full, the next ones: at most 28 Queries (one per shard) for a page,
// however large the workspace, and one or two once the workspace has a
// page's worth of contacts per letter. The cursor is the last key read or,
// when a page ends at the end of a shard, the next shard's start.
//
// Tags. A contact's tags are a list on the contact item. Adding one is a
// single conditional UpdateItem (list_append if the list does not contain
// it and is under the cap), removing one a REMOVE of its index on the
// condition that the index still holds it, so two agents adding or
// removing different tags at once both win. Both bump the contact's
// version, so a PATCH that read the contact before retries.
//
//	WS#w#TAGS   TAG#<lower(tag)>#<tag>   catalog entry: name, count
//
// The catalog is one small item per tag the workspace has used, counted up
// and down as tags are added and removed (1 WRU each), in the workspace's
// tag partition: a prefix Query pages through it for autocomplete.

const (
	// nameIDSeparator ends the name in a byName sort key (name, separator,
	// contact id). It sorts below every character a name has, so "jo"
	// comes before "jo lopez": a "#" would put "jo lopez#…" first, since a
	// space sorts below "#".
	nameIDSeparator = "\x01"
	skPrefixTag     = "TAG#"
	// maxPageQueries bounds the Queries one address book page makes: one
	// per shard, and a spare for a shard whose 1 MB read ended early.
	maxPageQueries = nameShardCount + 2
	nameShardCount = 28
)

// nameShards are the byName partitions in key order.
var nameShards = func() []string {
	out := []string{"0"}
	for c := 'a'; c <= 'z'; c++ {
		out = append(out, string(c))
	}
	return append(out, "~")
}()

// nameShard maps a lower-cased name (or prefix) to its shard.
func nameShard(key string) string {
	if key == "" || key[0] < 'a' {
		return "0"
	}
	if key[0] > 'z' {
		return "~"
	}
	return key[:1]
}

func shardIndex(shard string) int {
	for i, s := range nameShards {
		if s == shard {
			return i
		}
	}
	return -1
}

func tagsPK(ws string) string { return workspacePK(ws) + "#TAGS" }
func tagSK(tag string) string { return skPrefixTag + strings.ToLower(tag) + "#" + tag }

// ListContactsByName pages through the byName index: every shard in order
// when prefix is empty (the address book), else the prefix's one shard.
func (s *Store) ListContactsByName(ctx context.Context, ws, prefix string, p inbox.PageRequest) (inbox.Page[*inbox.Contact], error) {
	page := inbox.Page[*inbox.Contact]{Items: []*inbox.Contact{}}
	scope := "contacts:" + prefix
	start, err := s.cursors.decode(scope, workspacePK(ws)+"#", p.Cursor)
	if err != nil {
		return page, err
	}
	shard := shardIndex(nameShard(prefix))
	last := shard // a prefix search reads one shard
	if prefix == "" {
		last = len(nameShards) - 1
	}
	if start != nil {
		pk, _ := start[AttrGSI2PK].(*types.AttributeValueMemberS)
		if pk == nil {
			return page, errBadCursor
		}
		sh := strings.TrimPrefix(pk.Value, workspacePK(ws)+"#NAME#")
		shard = shardIndex(sh)
		if shard < 0 || shard > last || (prefix != "" && sh != nameShard(prefix)) {
			return page, errBadCursor
		}
		if _, ok := start[AttrGSI2SK]; !ok {
			start = nil // the start of the shard
		}
	}
	var next map[string]types.AttributeValue
	for q := 0; len(page.Items) < p.Limit && shard <= last; q++ {
		if q == maxPageQueries {
			next = map[string]types.AttributeValue{AttrGSI2PK: str(workspacePK(ws) + "#NAME#" + nameShards[shard])}
			if start != nil {
				next = start
			}
			break
		}
		kc := expression.Key(AttrGSI2PK).Equal(expression.Value(workspacePK(ws) + "#NAME#" + nameShards[shard]))
		if prefix != "" {
			kc = kc.And(expression.Key(AttrGSI2SK).BeginsWith(prefix))
		}
		expr, err := expression.NewBuilder().WithKeyCondition(kc).Build()
		if err != nil {
			return page, inbox.Internal(err)
		}
		out, err := s.db.Query(ctx, &dynamodb.QueryInput{
			TableName:                 &s.table,
			IndexName:                 aws.String(IndexByName),
			KeyConditionExpression:    expr.KeyCondition(),
			ExpressionAttributeNames:  expr.Names(),
			ExpressionAttributeValues: expr.Values(),
			Limit:                     aws.Int32(int32(p.Limit - len(page.Items))),
			ExclusiveStartKey:         start,
			ReturnConsumedCapacity:    capacityMode(ctx),
		})
		if err != nil {
			return page, unavailable("ListContactsByName", err)
		}
		record(ctx, reading, out.ConsumedCapacity)
		for _, item := range out.Items {
			var it contactItem
			if err := unmarshal(item, &it); err != nil {
				return page, inbox.Internal(err)
			}
			page.Items = append(page.Items, it.domain())
		}
		if len(out.LastEvaluatedKey) > 0 {
			start = out.LastEvaluatedKey
			next = start
			continue
		}
		// This shard is done: go on to the next, or point the cursor there.
		shard, start, next = shard+1, nil, nil
		if len(page.Items) >= p.Limit && shard <= last {
			next = map[string]types.AttributeValue{AttrGSI2PK: str(workspacePK(ws) + "#NAME#" + nameShards[shard])}
		}
	}
	page.NextCursor = s.cursors.encode(scope, next)
	return page, nil
}

// AddContactTag appends tag to the contact's list in one conditional
// UpdateItem: the list must not hold it and must be under max.
func (s *Store) AddContactTag(ctx context.Context, ws, id, tag string, max int, at time.Time) (bool, error) {
	k := key(contactPK(ws, id), skContact)
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:        &s.table,
		Key:              k,
		UpdateExpression: aws.String("SET tags = list_append(if_not_exists(tags, :empty), :one), version = version + :inc, updatedAt = :at"),
		ConditionExpression: aws.String("attribute_exists(PK) AND (attribute_not_exists(tags) OR " +
			"(NOT contains(tags, :tag) AND size(tags) < :max))"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":empty": &types.AttributeValueMemberL{Value: []types.AttributeValue{}},
			":one":   &types.AttributeValueMemberL{Value: []types.AttributeValue{str(tag)}},
			":tag":   str(tag), ":inc": num(1), ":max": num(int64(max)),
			":at": str(at.UTC().Format(time.RFC3339Nano)),
		},
		ReturnConsumedCapacity: capacityMode(ctx),
	})
	if isConditionFailed(err) {
		// Say why: gone, already tagged (a no-op), or full.
		var it contactItem
		ok, gerr := s.getItem(ctx, "AddContactTag", k, true, &it)
		switch {
		case gerr != nil:
			return false, gerr
		case !ok:
			return false, notFound("contact", id)
		case slicesContains(it.Tags, tag):
			return false, nil
		case len(it.Tags) >= max:
			return false, inbox.Invalid("tag", "a contact has at most %d tags", max)
		}
		return false, inbox.ErrVersionConflict
	}
	if err != nil && isValidation(err) {
		// A contact written with tags NULL (a nil list) cannot be appended
		// to: set the list instead, if it is still NULL.
		out, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:           &s.table,
			Key:                 k,
			UpdateExpression:    aws.String("SET tags = :one, version = version + :inc, updatedAt = :at"),
			ConditionExpression: aws.String("attribute_type(tags, :null)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":one":  &types.AttributeValueMemberL{Value: []types.AttributeValue{str(tag)}},
				":null": str("NULL"), ":inc": num(1), ":at": str(at.UTC().Format(time.RFC3339Nano)),
			},
			ReturnConsumedCapacity: capacityMode(ctx),
		})
		if isConditionFailed(err) {
			return false, inbox.ErrVersionConflict
		}
	}
	if err != nil {
		return false, unavailable("AddContactTag", err)
	}
	record(ctx, writing, out.ConsumedCapacity)
	return true, nil
}

func isValidation(err error) bool {
	var api smithy.APIError
	return errors.As(err, &api) && api.ErrorCode() == "ValidationException"
}

// RemoveContactTag reads the contact's tags for the tag's index and
// removes that index if it still holds the tag, retrying when a concurrent
// change moved it.
func (s *Store) RemoveContactTag(ctx context.Context, ws, id, tag string, at time.Time) (bool, error) {
	k := key(contactPK(ws, id), skContact)
	for attempt := 0; attempt < 5; attempt++ {
		var it contactItem
		ok, err := s.getItem(ctx, "RemoveContactTag", k, true, &it)
		if err != nil {
			return false, err
		}
		if !ok {
			return false, notFound("contact", id)
		}
		i := -1
		for j, t := range it.Tags {
			if t == tag {
				i = j
				break
			}
		}
		if i < 0 {
			return false, nil
		}
		path := fmt.Sprintf("tags[%d]", i)
		out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:           &s.table,
			Key:                 k,
			UpdateExpression:    aws.String("REMOVE " + path + " SET version = version + :inc, updatedAt = :at"),
			ConditionExpression: aws.String(path + " = :tag"),
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":tag": str(tag), ":inc": num(1), ":at": str(at.UTC().Format(time.RFC3339Nano)),
			},
			ReturnConsumedCapacity: capacityMode(ctx),
		})
		if isConditionFailed(err) {
			continue // the list moved under us: read it again
		}
		if err != nil {
			return false, unavailable("RemoveContactTag", err)
		}
		record(ctx, writing, out.ConsumedCapacity)
		return true, nil
	}
	return false, inbox.ErrVersionConflict
}

func slicesContains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

type tagItem struct {
	PK    string `json:"PK"`
	SK    string `json:"SK"`
	Name  string `json:"name"`
	Count int64  `json:"count"`
}

// CountTags moves each tag's catalog count with one UpdateItem (ADD),
// which also creates the entry on first use.
func (s *Store) CountTags(ctx context.Context, ws string, added, removed []string) error {
	bump := func(tag string, by int64) error {
		out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:                 &s.table,
			Key:                       key(tagsPK(ws), tagSK(tag)),
			UpdateExpression:          aws.String("SET #n = :n ADD #c :by"),
			ExpressionAttributeNames:  map[string]string{"#n": "name", "#c": "count"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":n": str(tag), ":by": num(by)},
			ReturnConsumedCapacity:    capacityMode(ctx),
		})
		if err != nil {
			return unavailable("CountTags", err)
		}
		record(ctx, writing, out.ConsumedCapacity)
		return nil
	}
	for _, t := range added {
		if err := bump(t, 1); err != nil {
			return err
		}
	}
	for _, t := range removed {
		if err := bump(t, -1); err != nil {
			return err
		}
	}
	return nil
}

// ListTags pages through the catalog by case-insensitive prefix; entries
// no contact carries any more (count 0) are filtered out.
func (s *Store) ListTags(ctx context.Context, ws, prefix string, p inbox.PageRequest) (inbox.Page[*inbox.TagCount], error) {
	page := inbox.Page[*inbox.TagCount]{Items: []*inbox.TagCount{}}
	scope := "tags:" + strings.ToLower(prefix)
	start, err := s.cursors.decode(scope, tagsPK(ws), p.Cursor)
	if err != nil {
		return page, err
	}
	kc := expression.Key(AttrPK).Equal(expression.Value(tagsPK(ws))).
		And(expression.Key(AttrSK).BeginsWith(skPrefixTag + strings.ToLower(prefix)))
	expr, err := expression.NewBuilder().WithKeyCondition(kc).
		WithFilter(expression.Name("count").GreaterThan(expression.Value(0))).Build()
	if err != nil {
		return page, inbox.Internal(err)
	}
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName:                 &s.table,
		KeyConditionExpression:    expr.KeyCondition(),
		FilterExpression:          expr.Filter(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		Limit:                     aws.Int32(int32(p.Limit)),
		ExclusiveStartKey:         start,
		ReturnConsumedCapacity:    capacityMode(ctx),
	})
	if err != nil {
		return page, unavailable("ListTags", err)
	}
	record(ctx, reading, out.ConsumedCapacity)
	for _, item := range out.Items {
		var it tagItem
		if err := unmarshal(item, &it); err != nil {
			return page, inbox.Internal(err)
		}
		page.Items = append(page.Items, &inbox.TagCount{Name: it.Name, Count: it.Count})
	}
	page.NextCursor = s.cursors.encode(scope, out.LastEvaluatedKey)
	return page, nil
}

// SetConversationConsent writes the row consent onto the conversation in
// one UpdateItem, no read: 1 WRU for the item (under 1 KB) and 1 for the
// inbox index while the conversation is active. It bumps the version, so
// a concurrent versioned write of the conversation retries with it.
func (s *Store) SetConversationConsent(ctx context.Context, ws, id string, rc inbox.RowConsent) error {
	m, err := marshal(rc)
	if err != nil {
		return inbox.Internal(err)
	}
	// Empty values are left out of the item (omitempty), as a put leaves them.
	set := expression.Set(expression.Name("version"), expression.Name("version").Plus(expression.Value(1)))
	for _, name := range []string{"contactConsent", "consentMessageSent"} {
		if v, ok := m[name]; ok {
			set = set.Set(expression.Name(name), expression.Value(v))
		} else {
			set = set.Remove(expression.Name(name))
		}
	}
	expr, err := expression.NewBuilder().WithUpdate(set).WithCondition(expression.AttributeExists(expression.Name(AttrPK))).Build()
	if err != nil {
		return inbox.Internal(err)
	}
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.table,
		Key:                       key(conversationPK(ws, id), skConversation),
		UpdateExpression:          expr.Update(),
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		ReturnConsumedCapacity:    capacityMode(ctx),
	})
	if isConditionFailed(err) {
		return nil // the conversation is gone
	}
	if err != nil {
		return unavailable("SetConversationConsent", err)
	}
	record(ctx, writing, out.ConsumedCapacity)
	return nil
}
