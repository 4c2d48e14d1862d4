package schedule

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/parley-inbox/parley/shared/adapter/dynamo"
	"github.com/parley-inbox/parley/shared/inbox"
)

// Local is the make dev scheduler. Schedules live in the app's DynamoDB
// Local table, so they survive a restart, and Run fires them when due.
//
// Key layout (outside the WS# space, so the stream derives no events):
//
//	SCHEDULES        <at>#<name>   a pending schedule, sorted by time
//	SCHEDULE#<name>  #             which SK the schedule is at now
//
// All pending schedules share one partition: fine for one developer's
// machine, never for AWS, which uses EventBridge.
//
// A time already past fires on the next tick (EventBridge would refuse
// it). Fire is called at least once per schedule (a crash between Fire and
// the delete fires it again); the sender is idempotent. One Run per table.
type Local struct {
	DB    dynamo.API
	Table string
	// Fire delivers a due schedule. An error leaves it to be retried on the
	// next tick, up to MaxAttempts.
	Fire func(ctx context.Context, s inbox.Schedule) error
	// Every is the polling interval; 0 means a second.
	Every time.Duration
	// MaxAttempts caps the Fire calls for one schedule before it is dropped
	// with an error log (as EventBridge would send it to the DLQ); 0 means 10.
	MaxAttempts int
	// Log gets the failures; nil means slog.Default().
	Log *slog.Logger
}

var _ inbox.Scheduler = (*Local)(nil)

const (
	pkDue     = "SCHEDULES"
	pkNameOf  = "SCHEDULE#"
	skName    = "#"
	batchSize = 25
	// putTries bounds the retries of a Put or Delete that raced another.
	putTries = 3
)

// stampLayout is RFC 3339 in UTC with all nine fractional digits. A fixed
// width keeps the sort key in time order: RFC3339Nano drops trailing zeros,
// which would sort "…:05Z" after "…:05.5Z".
const stampLayout = "2006-01-02T15:04:05.000000000Z"

func dueSK(at time.Time, name string) string { return at.UTC().Format(stampLayout) + "#" + name }

// dueItem is a pending schedule.
type dueItem struct {
	PK             string    `json:"PK"`
	SK             string    `json:"SK"`
	Name           string    `json:"name"`
	WorkspaceID    string    `json:"workspaceId"`
	ConversationID string    `json:"conversationId"`
	MessageID      string    `json:"messageId"`
	At             time.Time `json:"at"`
	Timezone       string    `json:"timezone,omitempty"`
	Attempts       int       `json:"attempts"`
}

func (d dueItem) schedule() inbox.Schedule {
	return inbox.Schedule{Name: d.Name, WorkspaceID: d.WorkspaceID, At: d.At, Timezone: d.Timezone,
		Ref: inbox.ProviderRef{ConversationID: d.ConversationID, MessageID: d.MessageID}}
}

// nameItem points from a schedule's name to its dueItem.
type nameItem struct {
	PK  string `json:"PK"`
	SK  string `json:"SK"`
	Due string `json:"due"`
}

// Put creates or moves a schedule: one transaction writes the new due
// item, repoints the name item and removes the old due item. The name
// item's condition catches a concurrent Put or Delete; then it starts over.
func (l *Local) Put(ctx context.Context, s inbox.Schedule) error {
	if _, _, err := s.Check(); err != nil {
		return err
	}
	sk := dueSK(s.At, s.Name)
	due, err := dynamo.MarshalItem(dueItem{PK: pkDue, SK: sk, Name: s.Name, WorkspaceID: s.WorkspaceID,
		ConversationID: s.Ref.ConversationID, MessageID: s.Ref.MessageID, At: s.At, Timezone: s.Timezone})
	if err != nil {
		return inbox.Internal(err)
	}
	name, err := dynamo.MarshalItem(nameItem{PK: pkNameOf + s.Name, SK: skName, Due: sk})
	if err != nil {
		return inbox.Internal(err)
	}
	for try := 0; try < putTries; try++ {
		prev, err := l.current(ctx, s.Name)
		if err != nil {
			return err
		}
		cond, values := unchanged(prev)
		items := []types.TransactWriteItem{
			{Put: &types.Put{TableName: &l.Table, Item: due}},
			{Put: &types.Put{TableName: &l.Table, Item: name, ConditionExpression: cond, ExpressionAttributeValues: values}},
		}
		if prev != "" && prev != sk {
			items = append(items, types.TransactWriteItem{Delete: &types.Delete{TableName: &l.Table, Key: dynamo.Key(pkDue, prev)}})
		}
		_, err = l.DB.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		if !dynamo.TransactionConditionFailed(err) {
			return dbError("put schedule", err)
		}
	}
	return inbox.Errorf(inbox.KindConflict, "schedule %s is changing concurrently; retry", s.Name)
}

// Delete removes a schedule; a missing one is not an error.
func (l *Local) Delete(ctx context.Context, name string) error {
	if err := inbox.CheckScheduleName(name); err != nil {
		return err
	}
	for try := 0; try < putTries; try++ {
		prev, err := l.current(ctx, name)
		if err != nil || prev == "" {
			return err
		}
		cond, values := unchanged(prev)
		_, err = l.DB.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
			{Delete: &types.Delete{TableName: &l.Table, Key: dynamo.Key(pkNameOf+name, skName), ConditionExpression: cond, ExpressionAttributeValues: values}},
			{Delete: &types.Delete{TableName: &l.Table, Key: dynamo.Key(pkDue, prev)}},
		}})
		if !dynamo.TransactionConditionFailed(err) {
			return dbError("delete schedule", err)
		}
	}
	return inbox.Errorf(inbox.KindConflict, "schedule %s is changing concurrently; retry", name)
}

// Run fires due schedules every l.Every until ctx ends.
func (l *Local) Run(ctx context.Context) error {
	if l.Fire == nil {
		return errors.New("schedule: Local.Fire is not set")
	}
	every := l.Every
	if every <= 0 {
		every = time.Second
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		if err := l.fireDue(ctx); err != nil && ctx.Err() == nil {
			l.log().WarnContext(ctx, "poll schedules", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// fireDue fires up to a batch of due schedules, oldest first. The rest
// wait for the next tick.
func (l *Local) fireDue(ctx context.Context) error {
	// Every SK of a time at or before now sorts below "<now>$", as '$'
	// follows the '#' that ends the time.
	out, err := l.DB.Query(ctx, &dynamodb.QueryInput{
		TableName:              &l.Table,
		KeyConditionExpression: aws.String("#pk = :pk AND #sk < :until"),
		ExpressionAttributeNames: map[string]string{
			"#pk": dynamo.AttrPK, "#sk": dynamo.AttrSK,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": dynamo.S(pkDue), ":until": dynamo.S(time.Now().UTC().Format(stampLayout) + "$"),
		},
		ConsistentRead: aws.Bool(true),
		Limit:          aws.Int32(batchSize),
	})
	if err != nil {
		return err
	}
	for _, raw := range out.Items {
		if ctx.Err() != nil {
			return nil
		}
		var d dueItem
		if err := dynamo.UnmarshalItem(raw, &d); err != nil {
			l.log().ErrorContext(ctx, "undecodable schedule", "item", raw, "err", err)
			continue
		}
		l.fire(ctx, d)
	}
	return nil
}

func (l *Local) fire(ctx context.Context, d dueItem) {
	log := l.log().With("schedule", d.Name, "at", d.At)
	if err := l.Fire(ctx, d.schedule()); err != nil {
		if ctx.Err() != nil {
			return // shutting down: not the schedule's fault
		}
		attempts, uerr := l.failed(ctx, d.SK)
		switch {
		case uerr != nil:
			log.WarnContext(ctx, "fire schedule", "err", err, "countErr", uerr)
			return
		case attempts == 0:
			return // moved or deleted while firing
		case attempts < l.maxAttempts():
			log.WarnContext(ctx, "fire schedule; will retry", "attempt", attempts, "err", err)
			return
		}
		log.ErrorContext(ctx, "fire schedule: giving up", "attempts", attempts, "err", err)
	}
	if err := l.done(ctx, d); err != nil {
		log.WarnContext(ctx, "remove fired schedule; it will fire again", "err", err)
	}
}

// failed counts a failed attempt on the due item and returns the count, or
// 0 if the item is gone.
func (l *Local) failed(ctx context.Context, sk string) (int, error) {
	out, err := l.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &l.Table,
		Key:                       dynamo.Key(pkDue, sk),
		UpdateExpression:          aws.String("ADD attempts :one"),
		ConditionExpression:       aws.String("attribute_exists(#pk)"),
		ExpressionAttributeNames:  map[string]string{"#pk": dynamo.AttrPK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": &types.AttributeValueMemberN{Value: "1"}},
		ReturnValues:              types.ReturnValueUpdatedNew,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n, ok := out.Attributes["attempts"].(*types.AttributeValueMemberN)
	if !ok {
		return 0, fmt.Errorf("attempts missing from %v", out.Attributes)
	}
	return strconv.Atoi(n.Value)
}

// done removes a fired schedule. The name item goes only if it still
// points here: a Put that moved the schedule while it fired must survive.
func (l *Local) done(ctx context.Context, d dueItem) error {
	cond, values := unchanged(d.SK)
	_, err := l.DB.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Delete: &types.Delete{TableName: &l.Table, Key: dynamo.Key(pkDue, d.SK)}},
		{Delete: &types.Delete{TableName: &l.Table, Key: dynamo.Key(pkNameOf+d.Name, skName), ConditionExpression: cond, ExpressionAttributeValues: values}},
	}})
	if dynamo.TransactionConditionFailed(err) {
		// Moved or deleted meanwhile: that also removed this due item, but
		// make sure an orphan cannot fire forever.
		_, err = l.DB.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &l.Table, Key: dynamo.Key(pkDue, d.SK)})
	}
	return err
}

// current returns the SK a schedule's due item has, or "" if none.
func (l *Local) current(ctx context.Context, name string) (string, error) {
	out, err := l.DB.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &l.Table, Key: dynamo.Key(pkNameOf+name, skName), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return "", dbError("get schedule", err)
	}
	if out.Item == nil {
		return "", nil
	}
	var n nameItem
	if err := dynamo.UnmarshalItem(out.Item, &n); err != nil {
		return "", inbox.Internal(err)
	}
	return n.Due, nil
}

// unchanged is the condition that a name item still points at prev ("":
// does not exist).
func unchanged(prev string) (*string, map[string]types.AttributeValue) {
	if prev == "" {
		return aws.String("attribute_not_exists(due)"), nil
	}
	return aws.String("due = :prev"), map[string]types.AttributeValue{":prev": dynamo.S(prev)}
}

func dbError(op string, err error) error {
	if err == nil {
		return nil
	}
	return inbox.Internal(fmt.Errorf("%s: %w", op, err))
}

func (l *Local) maxAttempts() int {
	if l.MaxAttempts <= 0 {
		return 10
	}
	return l.MaxAttempts
}

func (l *Local) log() *slog.Logger {
	if l.Log == nil {
		return slog.Default()
	}
	return l.Log
}
