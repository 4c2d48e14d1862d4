package schedule_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/parley-inbox/parley/shared/dev/background"
	"github.com/parley-inbox/parley/shared/dev/dynamotest"
	"github.com/parley-inbox/parley/shared/dev/schedule"
	"github.com/parley-inbox/parley/shared/inbox"
)

func TestMain(m *testing.M) { dynamotest.Main(m) }

// fired records Fire calls; fail, when set, makes a call fail.
type fired struct {
	mu    sync.Mutex
	calls []firing
	fail  func(n int) error // n counts calls from 1
}

type firing struct {
	S  inbox.Schedule
	At time.Time
}

func (f *fired) fire(_ context.Context, s inbox.Schedule) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, firing{S: s, At: time.Now()})
	if f.fail != nil {
		return f.fail(len(f.calls))
	}
	return nil
}

func (f *fired) snapshot() []firing {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]firing(nil), f.calls...)
}

// waitFor polls until n calls were made, or fails the test.
func (f *fired) waitFor(t *testing.T, n int, within time.Duration) []firing {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if got := f.snapshot(); len(got) >= n {
			return got
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%d fire calls after %s, want %d", len(f.snapshot()), within, n)
	return nil
}

func newLocal(db *dynamodb.Client, table string, f *fired) *schedule.Local {
	return &schedule.Local{DB: db, Table: table, Fire: f.fire, Every: 50 * time.Millisecond,
		Log: slog.New(slog.DiscardHandler)}
}

func message(name string, at time.Time) inbox.Schedule {
	return inbox.Schedule{Name: name, WorkspaceID: "01JWORKSPACE000000000000000", At: at, Timezone: "Europe/Paris",
		Ref: inbox.ProviderRef{ConversationID: "01JCONV000000000000000000000", MessageID: "01JMSG00000000000000000000"}}
}

// pending counts the scheduler's items left in the table.
func pending(t *testing.T, db *dynamodb.Client, table, name string) int {
	t.Helper()
	n := 0
	for _, pk := range []string{"SCHEDULES", "SCHEDULE#" + name} {
		out, err := db.Query(context.Background(), &dynamodb.QueryInput{
			TableName: &table, KeyConditionExpression: aws.String("PK = :pk"), ConsistentRead: aws.Bool(true),
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: pk}},
		})
		if err != nil {
			t.Fatal(err)
		}
		n += len(out.Items)
	}
	return n
}

func TestLocalFiresAtTheTime(t *testing.T) {
	t.Parallel()
	db, table := dynamotest.Table(t)
	var f fired
	l := newLocal(db, table, &f)
	at := time.Now().Add(300 * time.Millisecond)
	want := message("msg-fires", at)
	if err := l.Put(context.Background(), want); err != nil {
		t.Fatal(err)
	}
	background.RunT(t, l.Run)
	got := f.waitFor(t, 1, 3*time.Second)
	if got[0].At.Before(at) {
		t.Errorf("fired at %s, before its time %s", got[0].At, at)
	}
	s := got[0].S
	if s.Name != want.Name || s.WorkspaceID != want.WorkspaceID || s.Ref != want.Ref || !s.At.Equal(want.At) || s.Timezone != want.Timezone {
		t.Errorf("fired %+v, want %+v", s, want)
	}
	time.Sleep(200 * time.Millisecond) // a few more ticks
	if n := len(f.snapshot()); n != 1 {
		t.Errorf("fired %d times, want once", n)
	}
	if n := pending(t, db, table, want.Name); n != 0 {
		t.Errorf("%d items left after firing", n)
	}
}

func TestLocalPutTwiceMoves(t *testing.T) {
	t.Parallel()
	db, table := dynamotest.Table(t)
	var f fired
	l := newLocal(db, table, &f)
	background.RunT(t, l.Run)
	ctx := context.Background()
	// Far enough ahead that the second Put lands before the first time even
	// on a loaded machine, where one Put can take hundreds of milliseconds.
	first := time.Now().Add(2 * time.Second)
	if err := l.Put(ctx, message("msg-moves", first)); err != nil {
		t.Fatal(err)
	}
	later := first.Add(time.Second)
	if err := l.Put(ctx, message("msg-moves", later)); err != nil {
		t.Fatal(err)
	}
	if time.Now().After(first) {
		t.Skip("the machine took over 2s for one Put; the move cannot be observed")
	}
	got := f.waitFor(t, 1, 6*time.Second)
	if got[0].At.Before(later) || !got[0].S.At.Equal(later) {
		t.Errorf("fired at %s for %s, want the moved time %s", got[0].At, got[0].S.At, later)
	}
	time.Sleep(300 * time.Millisecond)
	if n := len(f.snapshot()); n != 1 {
		t.Errorf("fired %d times, want once", n)
	}
	if n := pending(t, db, table, "msg-moves"); n != 0 {
		t.Errorf("%d items left after firing", n)
	}
}

func TestLocalDeleteBeforeTheTime(t *testing.T) {
	t.Parallel()
	db, table := dynamotest.Table(t)
	var f fired
	l := newLocal(db, table, &f)
	background.RunT(t, l.Run)
	ctx := context.Background()
	// Far enough ahead that the Put and both Deletes finish first on a
	// loaded machine (at 300 ms, DynamoDB Local under load lost the race).
	if err := l.Put(ctx, message("msg-deleted", time.Now().Add(1500*time.Millisecond))); err != nil {
		t.Fatal(err)
	}
	if err := l.Delete(ctx, "msg-deleted"); err != nil {
		t.Fatal(err)
	}
	if err := l.Delete(ctx, "msg-deleted"); err != nil {
		t.Errorf("deleting a missing schedule: %v", err)
	}
	time.Sleep(2 * time.Second)
	if n := len(f.snapshot()); n != 0 {
		t.Errorf("a deleted schedule fired %d times", n)
	}
	if n := pending(t, db, table, "msg-deleted"); n != 0 {
		t.Errorf("%d items left after delete", n)
	}
}

func TestLocalSurvivesARestart(t *testing.T) {
	t.Parallel()
	db, table := dynamotest.Table(t)
	var before fired
	first := newLocal(db, table, &before)
	stop := background.RunT(t, first.Run)
	at := time.Now().Add(400 * time.Millisecond)
	if err := first.Put(context.Background(), message("msg-restart", at)); err != nil {
		t.Fatal(err)
	}
	stop() // make dev restarts before the time

	var after fired
	background.RunT(t, newLocal(db, table, &after).Run)
	got := after.waitFor(t, 1, 3*time.Second)
	if got[0].S.Name != "msg-restart" || got[0].At.Before(at) {
		t.Errorf("after restart fired %+v", got[0])
	}
	if n := len(before.snapshot()); n != 0 {
		t.Errorf("the stopped scheduler fired %d times", n)
	}
}

func TestLocalRetriesThenGivesUp(t *testing.T) {
	t.Parallel()
	db, table := dynamotest.Table(t)
	f := fired{fail: func(int) error { return errors.New("provider down") }}
	l := newLocal(db, table, &f)
	l.MaxAttempts = 3
	if err := l.Put(context.Background(), message("msg-fails", time.Now())); err != nil {
		t.Fatal(err)
	}
	background.RunT(t, l.Run)
	f.waitFor(t, 3, 3*time.Second)
	time.Sleep(300 * time.Millisecond)
	if n := len(f.snapshot()); n != 3 {
		t.Errorf("fired %d times, want 3 attempts then dropped", n)
	}
	if n := pending(t, db, table, "msg-fails"); n != 0 {
		t.Errorf("%d items left after giving up", n)
	}
}

func TestLocalRetrySucceeds(t *testing.T) {
	t.Parallel()
	db, table := dynamotest.Table(t)
	f := fired{fail: func(n int) error {
		if n < 3 {
			return errors.New("provider busy")
		}
		return nil
	}}
	l := newLocal(db, table, &f)
	if err := l.Put(context.Background(), message("msg-retries", time.Now())); err != nil {
		t.Fatal(err)
	}
	background.RunT(t, l.Run)
	f.waitFor(t, 3, 3*time.Second)
	time.Sleep(200 * time.Millisecond)
	if n := len(f.snapshot()); n != 3 {
		t.Errorf("fired %d times, want two failures then one success", n)
	}
	if n := pending(t, db, table, "msg-retries"); n != 0 {
		t.Errorf("%d items left after success", n)
	}
}

func TestLocalRejectsBadNames(t *testing.T) {
	t.Parallel()
	db, table := dynamotest.Table(t)
	l := newLocal(db, table, &fired{})
	if err := l.Put(context.Background(), message("msg#1", time.Now())); !inbox.IsKind(err, inbox.KindInvalid) {
		t.Errorf("Put = %v, want invalid", err)
	}
	if err := l.Delete(context.Background(), "msg/1"); !inbox.IsKind(err, inbox.KindInvalid) {
		t.Errorf("Delete = %v, want invalid", err)
	}
}
