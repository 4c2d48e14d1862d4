package stepfunctions_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/parley-inbox/parley/shared/dev/background"
	"github.com/parley-inbox/parley/shared/dev/dynamotest"
	"github.com/parley-inbox/parley/shared/dev/objectstore"
	"github.com/parley-inbox/parley/shared/dev/stepfunctions"
)

const fnARN = "arn:aws:lambda:us-east-1:123456789012:function:work"

// runMachine runs def once on input and returns the finished execution.
func runMachine(t *testing.T, def, input string, inv stepfunctions.Invoker, objects stepfunctions.ObjectReader) *stepfunctions.Execution {
	t.Helper()
	db, table := dynamotest.Table(t)
	e := newExecutor(db, table, nil)
	e.Objects = objects
	e.Register("m", mustLoad(t, def, nil), inv)
	background.RunT(t, e.Run)
	startExecution(t, e, "m", "x-1", input)
	return waitDone(t, e, "x-1")
}

func TestInlineMapOverItemsPath(t *testing.T) {
	def := `{"StartAt": "Each", "States": {
	  "Each": {"Type": "Map", "ItemsPath": "$.orders", "ResultPath": "$.results", "OutputPath": "$.results",
	    "ItemProcessor": {"StartAt": "Big?", "States": {
	      "Big?": {"Type": "Choice", "Choices": [{"Variable": "$.qty", "NumericGreaterThan": 5, "Next": "Work"}], "Default": "Small"},
	      "Small": {"Type": "Pass", "Result": "small", "End": true},
	      "Work": {"Type": "Task", "Resource": "` + fnARN + `", "ResultSelector": {"done.$": "$.id"}, "End": true}}},
	    "End": true}}}`
	fns := newLambdas()
	fns.on(fnARN, func(in json.RawMessage, _ string) (json.RawMessage, error) { return in, nil })
	x := runMachine(t, def, `{"orders": [{"id": "a", "qty": 1}, {"id": "b", "qty": 9}, {"id": "c", "qty": 7}]}`, fns, nil)
	succeeded(t, x)
	sameJSON(t, "output", x.Output, `["small", {"done": "b"}, {"done": "c"}]`)
	if x.ChildExecutions != 3 || x.Transitions != 1+3*2 {
		t.Errorf("child executions %d, transitions %d; want 3 and 7", x.ChildExecutions, x.Transitions)
	}
	if want := []string{"Each", "Big?", "Small", "Big?", "Work", "Big?", "Work"}; !slices.Equal(x.History, want) {
		t.Errorf("history %v, want %v", x.History, want)
	}
}

func TestMapItemSelectorSeesItemContext(t *testing.T) {
	def := `{"StartAt": "Each", "States": {
	  "Each": {"Type": "Map", "ItemsPath": "$.ids",
	    "ItemSelector": {"index.$": "$$.Map.Item.Index", "id.$": "$$.Map.Item.Value", "list.$": "$.list", "n.$": "$$.Map.Item.Value.n"},
	    "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
	    "End": true}}}`
	x := runMachine(t, def, `{"ids": [{"n": 1}, {"n": 2}], "list": "l-1"}`, newLambdas(), nil)
	succeeded(t, x)
	sameJSON(t, "output", x.Output, `[{"index": 0, "id": {"n": 1}, "list": "l-1", "n": 1}, {"index": 1, "id": {"n": 2}, "list": "l-1", "n": 2}]`)
}

func TestMapItemBatcher(t *testing.T) {
	def := `{"StartAt": "Each", "States": {
	  "Each": {"Type": "Map", "ItemsPath": "$.ids",
	    "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
	      "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
	    "ItemBatcher": {"MaxItemsPerBatch": 2, "BatchInput": {"list.$": "$.list", "kind": "b"}},
	    "End": true}}}`
	x := runMachine(t, def, `{"ids": [1, 2, 3, 4, 5], "list": "l-1"}`, newLambdas(), nil)
	succeeded(t, x)
	sameJSON(t, "output", x.Output, `[
	  {"Items": [1, 2], "BatchInput": {"list": "l-1", "kind": "b"}},
	  {"Items": [3, 4], "BatchInput": {"list": "l-1", "kind": "b"}},
	  {"Items": [5], "BatchInput": {"list": "l-1", "kind": "b"}}]`)
	if x.ChildExecutions != 3 {
		t.Errorf("child executions %d, want 3 (one per batch)", x.ChildExecutions)
	}
}

func TestMapMaxConcurrencyBoundsIterations(t *testing.T) {
	for _, c := range []struct {
		max, want int
	}{{3, 3}, {0, 40}} {
		def := `{"StartAt": "Each", "States": {
		  "Each": {"Type": "Map", "ItemsPath": "$.ids", "MaxConcurrency": ` + strconv.Itoa(c.max) + `,
		    "ItemProcessor": {"StartAt": "Work", "States": {"Work": {"Type": "Task", "Resource": "` + fnARN + `", "End": true}}},
		    "End": true}}}`
		var mu sync.Mutex
		running, peak := 0, 0
		release := make(chan struct{})
		var once sync.Once
		inv := stepfunctions.InvokerFunc(func(_ context.Context, _ string, in json.RawMessage, _ string) (json.RawMessage, error) {
			mu.Lock()
			running++
			peak = max(peak, running)
			full := running == c.want
			mu.Unlock()
			if full {
				once.Do(func() { close(release) }) // all the slots are taken: let everyone finish
			}
			<-release
			mu.Lock()
			running--
			mu.Unlock()
			return in, nil
		})
		ids := make([]int, 60)
		input, _ := json.Marshal(map[string]any{"ids": ids})
		x := runMachine(t, def, string(input), inv, nil)
		succeeded(t, x)
		if peak != c.want {
			t.Errorf("MaxConcurrency %d: peak %d iterations at once, want %d", c.max, peak, c.want)
		}
	}
}

func TestMapToleratedFailurePercentage(t *testing.T) {
	def := func(pct string) string {
		return `{"StartAt": "Each", "States": {
		  "Each": {"Type": "Map", "ItemsPath": "$.ids", "ToleratedFailurePercentage": ` + pct + `,
		    "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
		      "StartAt": "Work", "States": {"Work": {"Type": "Task", "Resource": "` + fnARN + `", "End": true}}},
		    "End": true}}}`
	}
	fns := newLambdas()
	fns.on(fnARN, func(in json.RawMessage, _ string) (json.RawMessage, error) {
		if string(in) == `"bad"` {
			return nil, &stepfunctions.TaskError{Name: "Work.Failed", Cause: "bad item"}
		}
		return in, nil
	})
	input := `{"ids": ["ok", "bad", "ok", "ok"]}` // 25% fail
	x := runMachine(t, def("25"), input, fns, nil)
	succeeded(t, x)
	sameJSON(t, "output", x.Output, `["ok", {"Error": "Work.Failed", "Cause": "bad item"}, "ok", "ok"]`)

	x = runMachine(t, def("20"), input, fns, nil)
	if x.Status != stepfunctions.StatusFailed || x.Error != "States.ExceedToleratedFailureThreshold" {
		t.Errorf("over the threshold: %s %s: %s", x.Status, x.Error, x.Cause)
	}
}

func TestInlineMapFailsWithItsIterationAndCatches(t *testing.T) {
	def := `{"StartAt": "Each", "States": {
	  "Each": {"Type": "Map", "ItemsPath": "$.ids", "MaxConcurrency": 1,
	    "ItemProcessor": {"StartAt": "Check", "States": {
	      "Check": {"Type": "Choice", "Choices": [{"Variable": "$", "NumericEquals": 2, "Next": "Boom"}], "Default": "Ok"},
	      "Boom": {"Type": "Fail", "Error": "Item.Bad", "Cause": "two"},
	      "Ok": {"Type": "Succeed"}}},
	    "Catch": [{"ErrorEquals": ["Item.Bad"], "ResultPath": "$.error", "Next": "Caught"}],
	    "End": true},
	  "Caught": {"Type": "Pass", "End": true}}}`
	x := runMachine(t, def, `{"ids": [1, 2, 3]}`, newLambdas(), nil)
	succeeded(t, x)
	sameJSON(t, "output", x.Output, `{"ids": [1, 2, 3], "error": {"Error": "Item.Bad", "Cause": "two"}}`)
}

func TestMapItemReaderFromLocalFolder(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "imports", "ws-1"), 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(root, "imports", "ws-1", name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("rows.json", `[{"email": "a@x"}, {"email": "b@x"}, {"email": "c@x"}]`)
	write("rows.jsonl", "{\"email\": \"a@x\"}\n\n{\"email\": \"b@x\"}\n")
	def := func(inputType string) string {
		return `{"StartAt": "Each", "States": {
		  "Each": {"Type": "Map",
		    "ItemReader": {"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "` + inputType + `"},
		      "Parameters": {"Bucket": "imports", "Key.$": "$.key"}},
		    "ItemSelector": {"email.$": "$$.Map.Item.Value.email", "i.$": "$$.Map.Item.Index"},
		    "ItemBatcher": {"MaxItemsPerBatch": 2},
		    "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
		      "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
		    "End": true}}}`
	}
	x := runMachine(t, def("JSON"), `{"key": "ws-1/rows.json"}`, newLambdas(), objectstore.Dir{Root: root})
	succeeded(t, x)
	sameJSON(t, "output", x.Output, `[{"Items": [{"email": "a@x", "i": 0}, {"email": "b@x", "i": 1}]}, {"Items": [{"email": "c@x", "i": 2}]}]`)

	x = runMachine(t, def("JSONL"), `{"key": "ws-1/rows.jsonl"}`, newLambdas(), objectstore.Dir{Root: root})
	succeeded(t, x)
	sameJSON(t, "output", x.Output, `[{"Items": [{"email": "a@x", "i": 0}, {"email": "b@x", "i": 1}]}]`)

	x = runMachine(t, def("JSON"), `{"key": "ws-1/missing.json"}`, newLambdas(), objectstore.Dir{Root: root})
	if x.Status != stepfunctions.StatusFailed || x.Error != "States.ItemReaderFailed" {
		t.Errorf("missing object: %s %s: %s", x.Status, x.Error, x.Cause)
	}
}

func TestMapIterationsWaitAndRetry(t *testing.T) {
	def := `{"StartAt": "Each", "States": {
	  "Each": {"Type": "Map", "ItemsPath": "$.ids",
	    "ItemProcessor": {"StartAt": "Pause", "States": {
	      "Pause": {"Type": "Wait", "Seconds": 60, "Next": "Work"},
	      "Work": {"Type": "Task", "Resource": "` + fnARN + `", "End": true,
	        "Retry": [{"ErrorEquals": ["Work.Flaky"], "IntervalSeconds": 30, "MaxAttempts": 1}]}}},
	    "End": true}}}`
	var mu sync.Mutex
	seen := map[string]int{}
	inv := stepfunctions.InvokerFunc(func(_ context.Context, _ string, in json.RawMessage, _ string) (json.RawMessage, error) {
		mu.Lock()
		defer mu.Unlock()
		if seen[string(in)]++; seen[string(in)] == 1 {
			return nil, &stepfunctions.TaskError{Name: "Work.Flaky", Cause: "first try"}
		}
		return in, nil
	})
	db, table := dynamotest.Table(t)
	e := newExecutor(db, table, nil)
	e.Scale = 6000 // 60 s is 10 ms
	e.Register("m", mustLoad(t, def, nil), inv)
	background.RunT(t, e.Run)
	startExecution(t, e, "m", "x-1", `{"ids": ["a", "b"]}`)
	x := waitDone(t, e, "x-1")
	succeeded(t, x)
	sameJSON(t, "output", x.Output, `["a", "b"]`)
	// Map, then per item Pause, Work and one retry.
	if x.Transitions != 1+2*3 {
		t.Errorf("transitions %d, want 7", x.Transitions)
	}
}
