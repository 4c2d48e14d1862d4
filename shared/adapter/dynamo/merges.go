package dynamo

import (
	"context"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/parley-inbox/parley/shared/inbox"
)

// Merges of contacts:
//
//	WS#w#MERGE#<absorbed>     #MERGE     the merge job (a contact is absorbed once)
//	WS#w#MERGING#<contact>    #LOCK      a contact under merge: mergeId
const (
	skMerge     = "#MERGE"
	skMergeLock = "#LOCK"
	// mergeRetention keeps a done job readable (and a replay harmless) a while.
	mergeRetention = 30 * 24 * time.Hour
)

func mergePK(ws, id string) string          { return workspacePK(ws) + "#MERGE#" + id }
func mergeLockPK(ws, contact string) string { return workspacePK(ws) + "#MERGING#" + contact }

type mergeItem struct {
	PK  string `json:"PK"`
	SK  string `json:"SK"`
	TTL int64  `json:"expiresAt,omitempty"`
	inbox.Merge
}

type mergeLockItem struct {
	PK      string `json:"PK"`
	SK      string `json:"SK"`
	MergeID string `json:"mergeId"`
}

var _ inbox.MergeStore = (*Store)(nil)

func (s *Store) lockPut(ws, contact, mergeID string) (types.TransactWriteItem, error) {
	item, err := marshal(mergeLockItem{PK: mergeLockPK(ws, contact), SK: skMergeLock, MergeID: mergeID})
	if err != nil {
		return types.TransactWriteItem{}, inbox.Internal(err)
	}
	return types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: item,
		ConditionExpression:       aws.String("attribute_not_exists(PK) OR mergeId = :m"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":m": str(mergeID)}}}, nil
}

// StartMerge writes the job and both locks in one transaction (3 WRU).
func (s *Store) StartMerge(ctx context.Context, m *inbox.Merge) error {
	item, err := marshal(mergeItem{PK: mergePK(m.WorkspaceID, m.ID), SK: skMerge, Merge: *m})
	if err != nil {
		return inbox.Internal(err)
	}
	items := []types.TransactWriteItem{{Put: &types.Put{TableName: &s.table, Item: item,
		ConditionExpression: aws.String("attribute_not_exists(PK)")}}}
	for _, c := range []string{m.ContactID, m.From} {
		lock, err := s.lockPut(m.WorkspaceID, c, m.ID)
		if err != nil {
			return err
		}
		items = append(items, lock)
	}
	err = s.transact(ctx, items)
	for _, i := range cancelledAt(err) {
		if i == 0 {
			return inbox.Errorf(inbox.KindConflict, "contact %s is already being merged; retry the request to follow that merge", m.From)
		}
		return inbox.Errorf(inbox.KindConflict, "a contact of this merge is already under another merge; wait until it is done")
	}
	if err != nil {
		return unavailable("StartMerge", err)
	}
	return nil
}

func (s *Store) GetMerge(ctx context.Context, ws, id string) (*inbox.Merge, error) {
	var it mergeItem
	ok, err := s.getItem(ctx, "GetMerge", key(mergePK(ws, id), skMerge), true, &it)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, notFound("merge", id)
	}
	m := it.Merge
	return &m, nil
}

// MoveMessages copies, deletes and re-points a batch in one transaction:
// each message costs 1 WRU to write (per KB), 1 to delete, and 1 for its
// provider id if it has one; the job's progress 1 more per batch.
func (s *Store) MoveMessages(ctx context.Context, m *inbox.Merge, from, to string, msgs []*inbox.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	if len(msgs) > inbox.MergeBatch || from == to {
		return inbox.Internal(errBadMove)
	}
	items := make([]types.TransactWriteItem, 0, 3*len(msgs)+1)
	for _, msg := range msgs {
		if msg.ConversationID != to {
			return inbox.Internal(errBadMove)
		}
		rec := messageRecord(msg)
		rec.Moved = true
		item, err := marshal(rec)
		if err != nil {
			return inbox.Internal(err)
		}
		items = append(items, types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: item}},
			// A concurrent run of the same merge moved it first: this batch
			// fails rather than count it twice.
			types.TransactWriteItem{Delete: &types.Delete{TableName: &s.table, Key: key(conversationPK(m.WorkspaceID, from), messageSK(msg.ID)),
				ConditionExpression: aws.String("attribute_exists(PK)")}})
		if msg.ProviderID != "" && msg.Channel != "" {
			ref, err := marshal(providerRefItem{PK: providerRefPK(m.WorkspaceID, msg.Channel, msg.ProviderID), SK: skUnique, ConversationID: to, MessageID: msg.ID})
			if err != nil {
				return inbox.Internal(err)
			}
			items = append(items, types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: ref}})
		}
	}
	items = append(items, types.TransactWriteItem{Update: &types.Update{TableName: &s.table, Key: key(mergePK(m.WorkspaceID, m.ID), skMerge),
		UpdateExpression:          aws.String("ADD messagesMoved :n SET updatedAt = :t"),
		ConditionExpression:       aws.String("#s = :running"),
		ExpressionAttributeNames:  map[string]string{"#s": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":n": num(int64(len(msgs))), ":t": str(time.Now().UTC().Format(time.RFC3339Nano)), ":running": str(string(inbox.MergeRunning))}}})
	err := s.transact(ctx, items)
	if len(cancelledAt(err)) > 0 {
		return inbox.ErrVersionConflict
	}
	if err != nil {
		return unavailable("MoveMessages", err)
	}
	return nil
}

type moveError string

func (e moveError) Error() string { return string(e) }

const errBadMove = moveError("a move of more messages than one merge batch, or not to the target thread")

func (s *Store) PutConsentHistory(ctx context.Context, r *inbox.ConsentRecord) error {
	item, err := marshal(consentLogItem{PK: contactPK(r.WorkspaceID, r.ContactID), SK: prefixConsentLog + r.ID, ConsentRecord: *r})
	if err != nil {
		return inbox.Internal(err)
	}
	out, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item, ReturnConsumedCapacity: capacityMode(ctx)})
	if err != nil {
		return unavailable("PutConsentHistory", err)
	}
	record(ctx, writing, out.ConsumedCapacity)
	return nil
}

// FinishMerge is one transaction: the two contacts, the absorbed claims
// (at most 10 phones, 10 emails, 10 handles per channel), its consent
// states, the note, 2 locks and the job, and the tag counts that move
// (a tag both contacts had counts one less; tags only the absorbed had
// are unchanged) while they fit under DynamoDB's 100 items; counts that
// do not fit move just after, best effort, as any contact update's do.
func (s *Store) FinishMerge(ctx context.Context, m *inbox.Merge, prev, next, absorbed *inbox.Contact, note *inbox.Message) error {
	next.Version = prev.Version + 1
	survivor, err := marshal(contactRecord(next))
	if err != nil {
		return inbox.Internal(err)
	}
	items := []types.TransactWriteItem{
		{Put: &types.Put{TableName: &s.table, Item: survivor, ConditionExpression: aws.String("version = :v"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":v": num(prev.Version)}}},
		{Delete: &types.Delete{TableName: &s.table, Key: key(contactPK(absorbed.WorkspaceID, absorbed.ID), skContact),
			ConditionExpression: aws.String("version = :v"), ExpressionAttributeValues: map[string]types.AttributeValue{":v": num(absorbed.Version)}}},
	}
	// A claim moves with one conditional put: still the absorbed contact's
	// (or already the survivor's, on a retry).
	for _, cl := range contactClaims(absorbed) {
		item, err := marshal(uniqueItem{PK: cl.pk, SK: skUnique, Owner: next.ID, ConversationID: next.ConversationID})
		if err != nil {
			return inbox.Internal(err)
		}
		items = append(items, types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: item,
			ConditionExpression:       aws.String("#o IN (:from, :to)"),
			ExpressionAttributeNames:  map[string]string{"#o": "owner"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":from": str(absorbed.ID), ":to": str(next.ID)}}})
	}
	for ch := range absorbed.Consent {
		items = append(items, types.TransactWriteItem{Delete: &types.Delete{TableName: &s.table,
			Key: key(contactPK(absorbed.WorkspaceID, absorbed.ID), prefixConsent+string(ch))}})
	}
	for _, c := range []string{m.ContactID, m.From} {
		items = append(items, types.TransactWriteItem{Delete: &types.Delete{TableName: &s.table, Key: key(mergeLockPK(m.WorkspaceID, c), skMergeLock)}})
	}
	if note != nil {
		item, err := marshal(messageRecord(note))
		if err != nil {
			return inbox.Internal(err)
		}
		items = append(items, types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: item}})
	}
	var lateAdded, lateRemoved []string
	for _, d := range mergeTagDeltas(prev.Tags, next.Tags, absorbed.Tags) {
		if len(items) >= 99 { // the job's put comes last
			if d.by > 0 {
				lateAdded = append(lateAdded, d.tag)
			} else {
				lateRemoved = append(lateRemoved, d.tag)
			}
			continue
		}
		items = append(items, types.TransactWriteItem{Update: &types.Update{TableName: &s.table, Key: key(tagsPK(m.WorkspaceID), tagSK(d.tag)),
			UpdateExpression:          aws.String("SET #n = :n ADD #c :by"),
			ExpressionAttributeNames:  map[string]string{"#n": "name", "#c": "count"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":n": str(d.tag), ":by": num(d.by)}}})
	}
	done := time.Now().UTC()
	m.Status, m.FinishedAt, m.UpdatedAt = inbox.MergeDone, &done, done
	job, err := s.jobWithCount(ctx, m)
	if err != nil {
		return err
	}
	items = append(items, types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: job}})
	err = s.transact(ctx, items)
	if len(cancelledAt(err)) > 0 {
		next.Version = prev.Version
		m.Status, m.FinishedAt = inbox.MergeRunning, nil
		return inbox.ErrVersionConflict
	}
	if err != nil {
		return unavailable("FinishMerge", err)
	}
	if len(lateAdded)+len(lateRemoved) > 0 {
		_ = s.CountTags(ctx, m.WorkspaceID, lateAdded, lateRemoved)
	}
	return nil
}

type tagDelta struct {
	tag string
	by  int64
}

// mergeTagDeltas is how the catalog's counts move when absorbed's tags
// join prev's (giving next) and absorbed is deleted.
func mergeTagDeltas(prev, next, absorbed []string) []tagDelta {
	by := map[string]int64{}
	var order []string
	bump := func(t string, n int64) {
		if _, ok := by[t]; !ok {
			order = append(order, t)
		}
		by[t] += n
	}
	for _, t := range next {
		if !slices.Contains(prev, t) {
			bump(t, 1)
		}
	}
	for _, t := range absorbed {
		bump(t, -1)
	}
	var out []tagDelta
	for _, t := range order {
		if by[t] != 0 {
			out = append(out, tagDelta{t, by[t]})
		}
	}
	return out
}

// jobWithCount is the done job, keeping the count the batches added.
func (s *Store) jobWithCount(ctx context.Context, m *inbox.Merge) (map[string]types.AttributeValue, error) {
	stored, err := s.GetMerge(ctx, m.WorkspaceID, m.ID)
	if err != nil {
		return nil, err
	}
	m.Moved = stored.Moved
	item, err := marshal(mergeItem{PK: mergePK(m.WorkspaceID, m.ID), SK: skMerge, TTL: m.FinishedAt.Add(mergeRetention).Unix(), Merge: *m})
	if err != nil {
		return nil, inbox.Internal(err)
	}
	return item, nil
}
