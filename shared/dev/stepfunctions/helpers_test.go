package stepfunctions_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/parley-inbox/parley/shared/dev/dynamotest"
	"github.com/parley-inbox/parley/shared/dev/stepfunctions"
)

func TestMain(m *testing.M) { dynamotest.Main(m) }

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// lambdas is an Invoker that records calls and answers from handlers.
type lambdas struct {
	mu       sync.Mutex
	calls    []call
	handlers map[string]func(in json.RawMessage, token string) (json.RawMessage, error)
}

type call struct {
	Resource, Input, Token string
}

func newLambdas() *lambdas {
	return &lambdas{handlers: map[string]func(json.RawMessage, string) (json.RawMessage, error){}}
}

func (l *lambdas) on(resource string, h func(in json.RawMessage, token string) (json.RawMessage, error)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.handlers[resource] = h
}

func (l *lambdas) Invoke(_ context.Context, resource string, input json.RawMessage, token string) (json.RawMessage, error) {
	l.mu.Lock()
	l.calls = append(l.calls, call{resource, string(input), token})
	h := l.handlers[resource]
	l.mu.Unlock()
	if h == nil {
		return json.RawMessage(`null`), nil
	}
	return h(input, token)
}

func (l *lambdas) snapshot() []call {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]call(nil), l.calls...)
}

// waitCalls polls until n calls were made.
func (l *lambdas) waitCalls(t *testing.T, n int) []call {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if got := l.snapshot(); len(got) >= n {
			return got
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatalf("%d invocations, want %d", len(l.snapshot()), n)
	return nil
}

func newExecutor(db *dynamodb.Client, table string, now func() time.Time) *stepfunctions.Executor {
	return &stepfunctions.Executor{DB: db, Table: table, Now: now, PollInterval: 5 * time.Millisecond,
		Log: slog.New(slog.DiscardHandler)}
}

func mustLoad(t *testing.T, def string, subs map[string]string) *stepfunctions.Machine {
	t.Helper()
	m, err := stepfunctions.Load([]byte(def), subs)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return m
}

func startExecution(t *testing.T, e *stepfunctions.Executor, machine, name, input string) {
	t.Helper()
	if _, err := e.StartExecution(context.Background(), machine, name, json.RawMessage(input)); err != nil {
		t.Fatalf("StartExecution %s: %v", name, err)
	}
}

// waitUntil polls Describe until ok accepts the execution.
func waitUntil(t *testing.T, e *stepfunctions.Executor, name string, ok func(*stepfunctions.Execution) bool) *stepfunctions.Execution {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	var x *stepfunctions.Execution
	for time.Now().Before(deadline) {
		var err error
		if x, err = e.Describe(context.Background(), name); err != nil {
			t.Fatalf("Describe %s: %v", name, err)
		}
		if ok(x) {
			return x
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatalf("execution %s did not get there: %+v", name, x)
	return nil
}

func waitDone(t *testing.T, e *stepfunctions.Executor, name string) *stepfunctions.Execution {
	t.Helper()
	return waitUntil(t, e, name, func(x *stepfunctions.Execution) bool { return x.Status != stepfunctions.StatusRunning })
}

// sameJSON fails unless got and want are the same JSON value.
func sameJSON(t *testing.T, what string, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: %v in %s", what, err, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("%s: bad want: %v", what, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s = %s, want %s", what, got, want)
	}
}

func succeeded(t *testing.T, x *stepfunctions.Execution) {
	t.Helper()
	if x.Status != stepfunctions.StatusSucceeded {
		t.Fatalf("execution %s: %s %s: %s", x.Name, x.Status, x.Error, x.Cause)
	}
}
