package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/parley-inbox/parley/shared/adapter/dynamo"
	"github.com/parley-inbox/parley/shared/dev/background"
	"github.com/parley-inbox/parley/shared/dev/localstack"
	"github.com/parley-inbox/parley/shared/dev/stepfunctions"
	"github.com/parley-inbox/parley/shared/inbox"
	"github.com/parley-inbox/parley/statemachines"
)

// dripExecutor runs the drip definition on the local executor (waits
// scaled to nothing), its Task states calling invoke in process as Step
// Functions calls the sequences Lambda.
func dripExecutor(client dynamo.API, table string, invoke func(context.Context, json.RawMessage) (any, error)) (*stepfunctions.Executor, *stepfunctions.Sequencer) {
	task := stepfunctions.InvokerFunc(func(ctx context.Context, _ string, input json.RawMessage, _ string) (json.RawMessage, error) {
		out, err := invoke(ctx, input)
		if err != nil {
			return nil, &stepfunctions.TaskError{Name: "SequencesError", Cause: err.Error()}
		}
		return json.Marshal(out)
	})
	exec := &stepfunctions.Executor{DB: client, Table: table, Scale: 1e7, PollInterval: 10 * time.Millisecond, Workers: 8,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	m, err := stepfunctions.Load(statemachines.Drip, map[string]string{statemachines.FunctionPlaceholder: "arn:aws:lambda:local:0:function:sequences"})
	check(err)
	exec.Register("drip", m, task)
	return exec, &stepfunctions.Sequencer{Executor: exec, Machines: map[inbox.SequenceKind]string{inbox.SequenceDrip: "drip"}}
}

// Step Functions Standard: $0.025 per 1,000 state transitions.
// EventBridge: $1.00 per million custom events put on a bus.
const (
	dollarsPerTransition = 0.025 / 1000
	dollarsPerBusEvent   = 1.0 / 1e6
)

// benchDrips enrolls n contacts in a three-step campaign, runs the drip
// machine on the local executor (waits scaled to nothing), and prices one
// enrollment: state transitions, the DynamoDB units of applying it, its
// steps and its sends, and the Lambda invocations. The executor's own
// DynamoDB bookkeeping is not metered: Step Functions keeps that state.
func (b *bench) benchDrips(ctx context.Context, n int) {
	var sends dynamo.Meter
	steps := &b.stepMeter
	stop := background.Run(ctx, b.exec.Run)
	defer func() { _ = stop() }()

	campaign := b.mustJSON("POST", "/campaigns", map[string]any{"name": "Bench drip", "steps": []map[string]any{
		{"afterMinutes": 24 * 60, "channel": "sms", "body": "Day 1: welcome aboard."},
		{"afterMinutes": 3 * 24 * 60, "channel": "sms", "body": "Day 3: a tip to get started."},
		{"afterMinutes": 5 * 24 * 60, "channel": "sms", "body": "Day 5: anything we can help with?"},
	}})["id"].(string)
	var apply, start dynamo.Meter
	var names []string
	for i := range n {
		c := b.mustJSON("POST", "/contacts", map[string]any{"name": fmt.Sprintf("Drip %d", i), "phones": []string{fmt.Sprintf("+1646555%04d", i)}})
		status, raw := b.request("POST", "/campaigns/"+campaign+"/enrollments", map[string]any{"contactId": c["id"]}, nil, &apply)
		if status != 201 {
			check(fmt.Errorf("apply campaign: %d %s", status, raw))
		}
		var r inbox.Run
		check(json.Unmarshal(raw, &r))
		names = append(names, r.Execution)
		// In AWS the write's run.started event reaches the sequences
		// function through the stream and the bus; it starts the execution.
		check(b.steps.Runner.HandleEvent(dynamo.WithMeter(ctx, &start), inbox.Event{ID: "bench:" + r.ID, Type: inbox.EventRunStarted,
			WorkspaceID: r.WorkspaceID, OccurredAt: r.StartedAt, ContactID: r.ContactID, RunID: r.ID, SequenceID: r.SequenceID, SequenceKind: r.Kind}))
	}
	transitions := 0
	deadline := time.Now().Add(2 * time.Minute)
	for _, name := range names {
		for {
			ex, err := b.exec.Describe(ctx, name)
			check(err)
			if ex.Status == stepfunctions.StatusSucceeded {
				transitions += ex.Transitions
				break
			}
			if ex.Status != stepfunctions.StatusRunning || time.Now().After(deadline) {
				check(fmt.Errorf("drip %s ended %s %s %s", name, ex.Status, ex.Error, ex.Cause))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	// Each step queued a message; the sender (the stream, in AWS) sends it.
	page, err := b.store.ListRuns(ctx, localstack.DemoWorkspace, campaign, inbox.RunCompleted, inbox.PageRequest{Limit: inbox.MaxPageSize})
	check(err)
	if len(page.Items) != n {
		check(fmt.Errorf("%d of %d enrollments completed", len(page.Items), n))
	}
	for _, r := range page.Items {
		msgs, err := b.store.ListMessages(ctx, localstack.DemoWorkspace, r.ConversationID, inbox.PageRequest{Limit: 10})
		check(err)
		for _, msg := range msgs.Items {
			if msg.RunID == r.ID && msg.Status == inbox.MessageQueued {
				_, err := b.send.Dispatch.Deliver(dynamo.WithMeter(ctx, &sends), localstack.DemoWorkspace, inbox.ProviderRef{ConversationID: msg.ConversationID, MessageID: msg.ID})
				check(err)
			}
		}
	}
	perRun := float64(transitions) / float64(n)
	perStep := (perRun - 1) / 3 // the final Succeed is entered once
	read := (apply.Read + start.Read + steps.Read + sends.Read) / float64(n)
	write := (apply.Write + start.Write + steps.Write + sends.Write) / float64(n)
	// Lambda: the api call, the start, three sequences steps, three sender
	// invocations. The publisher function reads the stream in batches anyway.
	lambda := 8 * (dollarsPerLambdaReq + lambdaGBSeconds*dollarsPerGBSecond)
	stateCost := perRun * dollarsPerTransition
	dbCost := read*dollarsPerRRU + write*dollarsPerWRU
	total := stateCost + dbCost + lambda + dollarsPerHTTPCall + dollarsPerBusEvent
	over := 0
	fmt.Printf("\nDrip campaigns (%d three-step enrollments on the local executor):\n", n)
	fmt.Printf("  state transitions: %.1f per enrollment, %.1f per step (budget ≤4 per step: %s)\n", perRun, perStep, verdict(perStep <= 4, &over))
	fmt.Printf("  DynamoDB per enrollment: apply %.1f RRU / %.1f WRU, start %.1f RRU, steps %.1f RRU / %.1f WRU, sends %.1f RRU / %.1f WRU\n",
		apply.Read/float64(n), apply.Write/float64(n), start.Read/float64(n), steps.Read/float64(n), steps.Write/float64(n), sends.Read/float64(n), sends.Write/float64(n))
	fmt.Printf("  $ per 1,000 three-step enrollments: %.4f = transitions %.4f + DynamoDB %.4f + Lambda %.4f + HTTP API %.4f + EventBridge %.4f\n",
		total*1000, stateCost*1000, dbCost*1000, lambda*1000, dollarsPerHTTPCall*1000, dollarsPerBusEvent*1000)
	if over > 0 {
		defer fmt.Println("drip transitions over budget")
		b.over++
	}
}
