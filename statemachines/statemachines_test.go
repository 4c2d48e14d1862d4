// Package statemachines_test runs Parley's Step Functions definitions on the
// local executor (shared/dev/stepfunctions), persisted in DynamoDB Local.
package statemachines_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/parley-inbox/parley/shared/dev/dynamotest"
	"github.com/parley-inbox/parley/shared/dev/stepfunctions"
	"github.com/parley-inbox/parley/shared/inbox"
)

func TestMain(m *testing.M) { dynamotest.Main(m) }

func load(t *testing.T, file string) *stepfunctions.Machine {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	m, err := stepfunctions.Load(raw, map[string]string{"SequencesFunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:sequences"})
	if err != nil {
		t.Fatalf("%s does not load in the local executor: %v", file, err)
	}
	return m
}

func executor(t *testing.T) (*stepfunctions.Executor, context.Context) {
	t.Helper()
	client, table := dynamotest.Table(t)
	e := &stepfunctions.Executor{DB: client, Table: table, Scale: 1e7, PollInterval: 10 * time.Millisecond, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() { _ = e.Run(ctx) }()
	return e, ctx
}

func waitFor(t *testing.T, e *stepfunctions.Executor, name string, want stepfunctions.Status) *stepfunctions.Execution {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ex, err := e.Describe(context.Background(), name)
		if err == nil && ex.Status == want {
			return ex
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %+v %v, want %s", name, ex, err, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestDripRunsThreeStepsAtThreeTransitionsEach runs a three-step campaign
// (days 1, 3, 5) with the domain's step decision, and counts what Step
// Functions would bill.
func TestDripRunsThreeStepsAtThreeTransitionsEach(t *testing.T) {
	e, ctx := executor(t)
	campaign := &inbox.Campaign{Name: "Welcome", Steps: []inbox.DripStep{
		{AfterMinutes: 24 * 60, Channel: inbox.ChannelSMS, Body: "Day 1"},
		{AfterMinutes: 3 * 24 * 60, Channel: inbox.ChannelSMS, Body: "Day 3"},
		{AfterMinutes: 5 * 24 * 60, Channel: inbox.ChannelSMS, Body: "Day 5"},
	}}
	var mu sync.Mutex
	var sent []string
	applied := time.Now().UTC()
	step := stepfunctions.InvokerFunc(func(_ context.Context, _ string, input json.RawMessage, _ string) (json.RawMessage, error) {
		var in struct {
			Action string         `json:"action"`
			Run    inbox.RunState `json:"run"`
		}
		if err := json.Unmarshal(input, &in); err != nil || in.Action != "drip.step" {
			return nil, &stepfunctions.TaskError{Name: "BadInput", Cause: string(input)}
		}
		en := in.Run
		d := inbox.DecideDripStep(campaign, en.Step, applied, &inbox.Contact{Timezone: "UTC"}, &inbox.Conversation{}, inbox.WorkspaceSettings{}, campaign.StepAt(applied, en.Step))
		if d.Send {
			mu.Lock()
			sent = append(sent, campaign.Steps[en.Step].Body)
			mu.Unlock()
		}
		en.Step++
		en.Next, en.WaitUntil = inbox.NextWait, d.WaitUntil
		if d.WaitUntil.IsZero() {
			en.Next = inbox.NextDone
		}
		return json.Marshal(en)
	})
	e.Register("drip", load(t, "drip.asl.json"), step)
	start, _ := json.Marshal(inbox.RunState{Kind: inbox.SequenceDrip, WaitUntil: campaign.StepAt(applied, 0), Next: inbox.NextWait})
	if _, err := e.StartExecution(ctx, "drip", "drip-welcome-contact1", start); err != nil {
		t.Fatal(err)
	}
	ex := waitFor(t, e, "drip-welcome-contact1", stepfunctions.StatusSucceeded)
	if len(sent) != 3 || sent[0] != "Day 1" || sent[2] != "Day 5" {
		t.Errorf("sent %q, want the three steps in order", sent)
	}
	// Three per step, and the final Succeed.
	if perStep := float64(ex.Transitions-1) / 3; perStep > 4 {
		t.Errorf("%d transitions for 3 steps = %.1f per step; budget 4", ex.Transitions, perStep)
	} else {
		t.Logf("drip: %d transitions for 3 steps (%.1f per step)", ex.Transitions, perStep)
	}
	// Applying the same campaign to the same contact again is idempotent
	// while it runs, refused once it has finished.
	if _, err := e.StartExecution(ctx, "drip", "drip-welcome-contact1", start); err == nil {
		t.Error("a finished enrollment was started again")
	}
}

// TestAutomationManualActionWaitsForItsTask parks a run on a manual action
// until the task is done.
func TestAutomationManualActionWaitsForItsTask(t *testing.T) {
	e, ctx := executor(t)
	tokens := make(chan string, 1)
	var calls int
	run := stepfunctions.InvokerFunc(func(_ context.Context, _ string, input json.RawMessage, token string) (json.RawMessage, error) {
		var in struct {
			Action    string          `json:"action"`
			Run       json.RawMessage `json:"run"`
			TaskToken string          `json:"taskToken"`
		}
		if err := json.Unmarshal(input, &in); err != nil {
			return nil, err
		}
		if in.Action == "automation.manual" {
			tokens <- in.TaskToken // the task in the assignee's queue carries it
			return json.RawMessage(`{}`), nil
		}
		calls++
		next := map[int]string{1: "manual", 2: "done"}[calls]
		return json.Marshal(map[string]any{"next": next, "waitUntil": time.Now().UTC()})
	})
	e.Register("automation", load(t, "automation.asl.json"), run)
	if _, err := e.StartExecution(ctx, "automation", "run-1", json.RawMessage(`{"waitUntil":"2020-01-01T00:00:00Z"}`)); err != nil {
		t.Fatal(err)
	}
	var token string
	select {
	case token = <-tokens:
	case <-time.After(10 * time.Second):
		t.Fatal("the manual action never reached the queue")
	}
	time.Sleep(100 * time.Millisecond)
	if ex, _ := e.Describe(ctx, "run-1"); ex.Status != stepfunctions.StatusRunning || ex.State != "AwaitManualAction" {
		t.Fatalf("while the task is open the run should wait in AwaitManualAction: %+v", ex)
	}
	if err := e.SendTaskSuccess(ctx, token, json.RawMessage(`{"outcome":"done"}`)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, e, "run-1", stepfunctions.StatusSucceeded)
}

// FuzzLoad feeds definitions, seeded with Parley's own, to the executor's
// loader: it must refuse or accept, never panic, and what it accepts must
// name a start state.
func FuzzLoad(f *testing.F) {
	for _, file := range []string{"drip.asl.json", "automation.asl.json"} {
		raw, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Add([]byte(`{"StartAt":"A","States":{"A":{"Type":"Map"}}}`))
	f.Fuzz(func(t *testing.T, def []byte) {
		m, err := stepfunctions.Load(def, map[string]string{"SequencesFunctionArn": "arn:aws:lambda:us-east-1:1:function:f"})
		if err == nil && m.StartAt == "" {
			t.Fatalf("accepted a definition with no StartAt: %s", def)
		}
	})
}
