package stepfunctions

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/parley-inbox/parley/shared/adapter/dynamo"
)

// Key layout (outside the WS# space, so the table's stream derives no
// domain events from it):
//
//	SFN#<name>         #              the execution (record)
//	SFN#DUE            <wake>#<name>  Run's queue: executions with work due then
//	SFN#TOKEN#<token>  #              a pending task token → its execution
//
// Every change to an execution is one transaction that also moves its due
// item and token item, conditioned on the version it read. The queue is a
// single partition: fine for a developer's machine, never for production.
const (
	pkExecution = "SFN#"
	pkDue       = "SFN#DUE"
	pkToken     = "SFN#TOKEN#"
	skOne       = "#"
	// historyLimit bounds the states kept in a record's history.
	historyLimit = 100
)

// stampLayout is RFC 3339 in UTC with all nine fractional digits, so the
// due queue's sort keys are in time order.
const stampLayout = "2006-01-02T15:04:05.000000000Z"

func stamp(t time.Time) string { return t.UTC().Format(stampLayout) }

// Phases of the current state.
const (
	phaseRun      = "run"      // do the state's work at WakeAt (entry, or a retry)
	phaseWait     = "wait"     // a Wait state, done at WakeAt
	phaseCallback = "callback" // a waitForTaskToken task: invoke (if !Invoked), then await the token
	phaseReplied  = "replied"  // SendTaskSuccess/Failure arrived; apply it
)

// record is an execution as stored.
type record struct {
	PK          string `json:"PK"`
	SK          string `json:"SK"`
	Machine     string `json:"machine"`
	Name        string `json:"name"`
	Status      Status `json:"status"`
	State       string `json:"state"`
	Phase       string `json:"phase,omitempty"`
	Input       string `json:"input"`
	StateInput  string `json:"stateInput,omitempty"` // the current state's raw input
	Output      string `json:"output,omitempty"`
	Error       string `json:"error,omitempty"`
	Cause       string `json:"cause,omitempty"`
	WakeAt      string `json:"wakeAt,omitempty"` // stamp; "" while awaiting a token
	Token       string `json:"token,omitempty"`
	Invoked     bool   `json:"invoked,omitempty"`
	Reply       string `json:"reply,omitempty"` // SendTaskSuccess output
	ReplyError  string `json:"replyError,omitempty"`
	ReplyCause  string `json:"replyCause,omitempty"`
	Retries     []int  `json:"retries,omitempty"` // attempts per retrier in this state
	Transitions int    `json:"transitions"`
	// ChildExecutions counts the Map iterations (one per item or batch) run.
	ChildExecutions int      `json:"childExecutions,omitempty"`
	History         []string `json:"history"`
	StartTime       string   `json:"startTime"`
	StopTime        string   `json:"stopTime,omitempty"`
	EnteredTime     string   `json:"enteredTime,omitempty"`
	Deadline        string   `json:"deadline,omitempty"` // execution TimeoutSeconds
	Version         int      `json:"version"`
}

// enter moves to a state: one billed transition.
func (r *record) enter(name string, input any, now time.Time) {
	r.State, r.StateInput, r.EnteredTime = name, mustEncode(input), stamp(now)
	r.Phase, r.Token, r.Invoked, r.Retries = phaseRun, "", false, nil
	r.Reply, r.ReplyError, r.ReplyCause = "", "", ""
	r.Transitions++
	r.History = append(r.History, name)
	if len(r.History) > historyLimit {
		r.History = r.History[len(r.History)-historyLimit:]
	}
	r.sleepUntil(now)
}

// advance follows a finished state's Next, or ends the execution.
func (r *record) advance(s *state, output any, now time.Time) {
	if s.end {
		r.succeed(output, now)
		return
	}
	r.enter(s.next, output, now)
}

func (r *record) succeed(output any, now time.Time) {
	r.finish(StatusSucceeded, "", "", now)
	r.Output = mustEncode(output)
}

func (r *record) finish(status Status, errName, cause string, now time.Time) {
	r.Status, r.Error, r.Cause, r.StopTime = status, errName, cause, stamp(now)
	r.Phase, r.WakeAt, r.Token, r.Invoked, r.Retries = "", "", "", false, nil
	r.Reply, r.ReplyError, r.ReplyCause, r.StateInput = "", "", "", ""
}

// sleepUntil sets when Run next looks at the execution; a zero t means
// not until something else (a reply, the execution timeout) happens.
func (r *record) sleepUntil(t time.Time) {
	w := ""
	if !t.IsZero() {
		w = stamp(t)
	}
	if r.Deadline != "" && (w == "" || w > r.Deadline) {
		w = r.Deadline
	}
	r.WakeAt = w
}

// dueSK is the record's place in the due queue, or "".
func (r *record) dueSK() string {
	if r == nil || r.Status != StatusRunning || r.WakeAt == "" {
		return ""
	}
	return r.WakeAt + "#" + r.Name
}

func (r *record) token() string {
	if r == nil {
		return ""
	}
	return r.Token
}

type dueItem struct {
	PK      string `json:"PK"`
	SK      string `json:"SK"`
	Name    string `json:"name"`
	Machine string `json:"machine"`
}

type tokenItem struct {
	PK   string `json:"PK"`
	SK   string `json:"SK"`
	Name string `json:"name"`
}

// errConflict: the record changed since it was read.
var errConflict = errors.New("stepfn: execution changed concurrently")

func (e *Executor) get(ctx context.Context, name string) (*record, error) {
	var r record
	ok, err := e.getItem(ctx, pkExecution+name, &r)
	if !ok || err != nil {
		return nil, err
	}
	return &r, nil
}

func (e *Executor) getItem(ctx context.Context, pk string, v any) (bool, error) {
	out, err := e.DB.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &e.Table, Key: dynamo.Key(pk, skOne), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return false, fmt.Errorf("stepfn: get %s: %w", pk, err)
	}
	if out.Item == nil {
		return false, nil
	}
	if err := dynamo.UnmarshalItem(out.Item, v); err != nil {
		return false, fmt.Errorf("stepfn: decode %s: %w", pk, err)
	}
	return true, nil
}

// save writes n in place of old (nil: create), moving the due and token
// items with it, in one transaction conditioned on old's version.
func (e *Executor) save(ctx context.Context, old, n *record) error {
	n.PK, n.SK = pkExecution+n.Name, skOne
	put := &types.Put{TableName: &e.Table, ExpressionAttributeNames: map[string]string{"#v": "version"}}
	if old == nil {
		n.Version = 1
		put.ConditionExpression = aws.String("attribute_not_exists(#v)")
	} else {
		n.Version = old.Version + 1
		put.ConditionExpression = aws.String("#v = :v")
		put.ExpressionAttributeValues = map[string]types.AttributeValue{":v": &types.AttributeValueMemberN{Value: strconv.Itoa(old.Version)}}
	}
	var err error
	if put.Item, err = dynamo.MarshalItem(n); err != nil {
		return err
	}
	items := []types.TransactWriteItem{{Put: put}}
	add := func(v any) error {
		item, err := dynamo.MarshalItem(v)
		items = append(items, types.TransactWriteItem{Put: &types.Put{TableName: &e.Table, Item: item}})
		return err
	}
	remove := func(pk, sk string) {
		items = append(items, types.TransactWriteItem{Delete: &types.Delete{TableName: &e.Table, Key: dynamo.Key(pk, sk)}})
	}
	if before, after := old.dueSK(), n.dueSK(); before != after {
		if before != "" {
			remove(pkDue, before)
		}
		if after != "" {
			if err := add(dueItem{PK: pkDue, SK: after, Name: n.Name, Machine: n.Machine}); err != nil {
				return err
			}
		}
	}
	if before, after := old.token(), n.token(); before != after {
		if before != "" {
			remove(pkToken+before, skOne)
		}
		if after != "" {
			if err := add(tokenItem{PK: pkToken + after, SK: skOne, Name: n.Name}); err != nil {
				return err
			}
		}
	}
	_, err = e.DB.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	if dynamo.TransactionConditionFailed(err) {
		return errConflict
	}
	if err != nil {
		return fmt.Errorf("stepfn: save execution %s: %w", n.Name, err)
	}
	return nil
}

// due returns the executions whose work is due, oldest first, and when
// the next one after them falls due (zero if none is queued).
func (e *Executor) due(ctx context.Context, now time.Time, limit int32) ([]dueItem, time.Time, error) {
	until := stamp(now) + "$" // '$' follows the '#' that ends the time
	query := func(cond string, n int32) ([]dueItem, error) {
		out, err := e.DB.Query(ctx, &dynamodb.QueryInput{
			TableName:                 &e.Table,
			KeyConditionExpression:    aws.String("#pk = :pk AND " + cond),
			ExpressionAttributeNames:  map[string]string{"#pk": dynamo.AttrPK, "#sk": dynamo.AttrSK},
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": dynamo.S(pkDue), ":until": dynamo.S(until)},
			ConsistentRead:            aws.Bool(true),
			Limit:                     aws.Int32(n),
		})
		if err != nil {
			return nil, fmt.Errorf("stepfn: query due executions: %w", err)
		}
		items := make([]dueItem, 0, len(out.Items))
		for _, raw := range out.Items {
			var d dueItem
			if err := dynamo.UnmarshalItem(raw, &d); err != nil {
				return nil, fmt.Errorf("stepfn: decode due item: %w", err)
			}
			items = append(items, d)
		}
		return items, nil
	}
	due, err := query("#sk < :until", limit)
	if err != nil {
		return nil, time.Time{}, err
	}
	later, err := query("#sk >= :until", 1)
	if err != nil || len(later) == 0 {
		return due, time.Time{}, err
	}
	next, _ := time.Parse(stampLayout, later[0].SK[:len(stampLayout)])
	return due, next, nil
}
