package stepfunctions

import (
	"bytes"
	"context"
	"encoding/json"

	"fmt"
	"maps"
	"slices"
	"sync"
	"time"
)

// ObjectReader reads the objects a distributed Map's ItemReader names;
// shared/dev/objectstore.Dir implements it.
type ObjectReader interface {
	Get(ctx context.Context, bucket, key string) ([]byte, error)
}

const (
	// ResourceS3GetObject is the only ItemReader resource supported.
	ResourceS3GetObject = "arn:aws:states:::s3:getObject"

	errToleratedFailure = "States.ExceedToleratedFailureThreshold"
	errItemReader       = "States.ItemReaderFailed"

	// maxMapConcurrency caps the iterations a Map runs at once locally,
	// also when MaxConcurrency is 0 (unbounded in Step Functions).
	maxMapConcurrency = 40
	maxReaderBytes    = 100 << 20
	maxReaderItems    = 1_000_000
)

// mapSpec is a loaded Map state.
//
// Both modes run their iterations ("child executions") inside the one step
// of the parent execution that enters the Map: they are not persisted, so
// an executor stopped mid-Map runs the whole Map again. A DISTRIBUTED Map
// without ResultWriter (which is not supported) returns, like INLINE, the
// array of the child executions' outputs in item (or batch) order; a child
// execution that failed within the tolerated threshold contributes
// {"Error": ..., "Cause": ...} in its place.
type mapSpec struct {
	distributed    bool
	processor      *Machine
	itemsPath      optPath
	reader         *itemReader
	selector       any // nil: the items as they are
	batchSize      int // 0: no ItemBatcher
	batchInput     any
	hasBatchInput  bool
	maxConcurrency int
	tolerancePct   *float64
	toleranceCount *int
}

type itemReader struct {
	params any // compiled {"Bucket", "Key"}
	jsonl  bool
}

func (s *state) loadMap(fields map[string]json.RawMessage) error {
	fail := func(field, format string, args ...any) error {
		return &LoadError{State: s.name, Field: field, Msg: fmt.Sprintf(format, args...)}
	}
	sub := func(raw json.RawMessage, field string, allowed ...string) (map[string]json.RawMessage, error) {
		var f map[string]json.RawMessage
		if err := json.Unmarshal(raw, &f); err != nil {
			return nil, fail(field, "must be an object")
		}
		if err := checkFields(f, s.name, allowed...); err != nil {
			le := err.(*LoadError)
			return nil, fail(field+"."+le.Field, "%s", le.Msg)
		}
		return f, nil
	}
	m := &mapSpec{}
	s.mapSpec = m

	if fields["ItemProcessor"] == nil {
		return fail("ItemProcessor", "required")
	}
	proc, err := sub(fields["ItemProcessor"], "ItemProcessor", "ProcessorConfig", "StartAt", "States", "Comment")
	if err != nil {
		return err
	}
	if proc["ProcessorConfig"] != nil {
		_, err := sub(proc["ProcessorConfig"], "ItemProcessor.ProcessorConfig", "Mode", "ExecutionType")
		if err != nil {
			return err
		}
		var c struct{ Mode, ExecutionType string }
		if err := json.Unmarshal(proc["ProcessorConfig"], &c); err != nil {
			return fail("ItemProcessor.ProcessorConfig", "%v", err)
		}
		switch c.Mode {
		case "", "INLINE":
			if c.ExecutionType != "" {
				return fail("ItemProcessor.ProcessorConfig.ExecutionType", "only a DISTRIBUTED Map has an ExecutionType")
			}
		case "DISTRIBUTED":
			m.distributed = true
			if c.ExecutionType != "STANDARD" {
				return fail("ItemProcessor.ProcessorConfig.ExecutionType", "%q is not supported (only STANDARD)", c.ExecutionType)
			}
		default:
			return fail("ItemProcessor.ProcessorConfig.Mode", "must be INLINE or DISTRIBUTED, not %q", c.Mode)
		}
	}
	var def struct {
		StartAt string
		States  map[string]json.RawMessage
	}
	if err := json.Unmarshal(fields["ItemProcessor"], &def); err != nil {
		return fail("ItemProcessor", "%v", err)
	}
	if m.processor, err = loadStates(def.StartAt, def.States); err != nil {
		le := err.(*LoadError)
		field := "ItemProcessor"
		if le.State != "" {
			field += ".States." + le.State
		}
		if le.Field != "" {
			field += "." + le.Field
		}
		return fail(field, "%s", le.Msg)
	}
	for _, name := range slices.Sorted(maps.Keys(m.processor.states)) {
		inner := m.processor.states[name]
		switch {
		case inner.typ == "Map":
			return fail("ItemProcessor.States."+name+".Type", "a Map inside a Map is not supported")
		case inner.resource == ResourceLambdaCallback:
			return fail("ItemProcessor.States."+name+".Resource", "waitForTaskToken tasks are not supported inside a Map")
		}
	}

	if raw := fields["ItemsPath"]; raw != nil {
		if fields["ItemReader"] != nil {
			return fail("ItemsPath", "not allowed with an ItemReader")
		}
		if string(raw) == "null" {
			return fail("ItemsPath", "must be a reference path, not null")
		}
		if m.itemsPath, err = loadOptPath(raw, true); err != nil {
			return fail("ItemsPath", "%v", err)
		}
	}
	if raw := fields["ItemSelector"]; raw != nil {
		var token bool
		if m.selector, err = loadTemplate(raw, "ItemSelector", &token); err != nil {
			return fail("ItemSelector", "%v", err)
		}
		if _, ok := m.selector.(map[string]any); !ok {
			return fail("ItemSelector", "must be an object")
		}
		if token {
			return fail("ItemSelector", "$$.Task.Token is only available to Parameters")
		}
	}
	distributedOnly := func(field string) error {
		if fields[field] != nil && !m.distributed {
			return fail(field, "only a DISTRIBUTED Map (ItemProcessor.ProcessorConfig.Mode) has %s", field)
		}
		return nil
	}
	for _, f := range []string{"ItemReader", "ItemBatcher", "ToleratedFailurePercentage", "ToleratedFailureCount"} {
		if err := distributedOnly(f); err != nil {
			return err
		}
	}
	if raw := fields["ItemReader"]; raw != nil {
		rf, err := sub(raw, "ItemReader", "Resource", "ReaderConfig", "Parameters")
		if err != nil {
			return err
		}
		var r struct {
			Resource string
		}
		if err := json.Unmarshal(raw, &r); err != nil {
			return fail("ItemReader", "%v", err)
		}
		if r.Resource != ResourceS3GetObject {
			return fail("ItemReader.Resource", "%q is not supported (only %s)", r.Resource, ResourceS3GetObject)
		}
		m.reader = &itemReader{}
		if rf["ReaderConfig"] != nil {
			if _, err := sub(rf["ReaderConfig"], "ItemReader.ReaderConfig", "InputType"); err != nil {
				return err
			}
			var c struct{ InputType string }
			if err := json.Unmarshal(rf["ReaderConfig"], &c); err != nil {
				return fail("ItemReader.ReaderConfig", "%v", err)
			}
			switch c.InputType {
			case "JSON":
			case "JSONL":
				m.reader.jsonl = true
			default:
				return fail("ItemReader.ReaderConfig.InputType", "%q is not supported (JSON or JSONL)", c.InputType)
			}
		}
		if rf["Parameters"] == nil {
			return fail("ItemReader.Parameters", "required: {\"Bucket\", \"Key\"}")
		}
		if _, err := sub(rf["Parameters"], "ItemReader.Parameters", "Bucket", "Bucket.$", "Key", "Key.$"); err != nil {
			return err
		}
		var token bool
		if m.reader.params, err = loadTemplate(rf["Parameters"], "ItemReader.Parameters", &token); err != nil || token || usesMapItem(m.reader.params) {
			return fail("ItemReader.Parameters", "must render Bucket and Key from the input (%v)", err)
		}
		p := m.reader.params.(map[string]any)
		if p["Bucket"] == nil || p["Key"] == nil {
			return fail("ItemReader.Parameters", "needs a Bucket and a Key")
		}
	}
	if raw := fields["ItemBatcher"]; raw != nil {
		if _, err := sub(raw, "ItemBatcher", "MaxItemsPerBatch", "BatchInput"); err != nil {
			return err
		}
		var b struct {
			MaxItemsPerBatch int
			BatchInput       json.RawMessage
		}
		if err := json.Unmarshal(raw, &b); err != nil {
			return fail("ItemBatcher", "%v", err)
		}
		if b.MaxItemsPerBatch < 1 {
			return fail("ItemBatcher.MaxItemsPerBatch", "required, a positive integer")
		}
		m.batchSize = b.MaxItemsPerBatch
		if b.BatchInput != nil {
			var token bool
			if m.batchInput, err = loadTemplate(b.BatchInput, "ItemBatcher.BatchInput", &token); err != nil || token || usesMapItem(m.batchInput) {
				return fail("ItemBatcher.BatchInput", "must be an object template of the Map's input (%v)", err)
			}
			if _, ok := m.batchInput.(map[string]any); !ok {
				return fail("ItemBatcher.BatchInput", "must be an object")
			}
			m.hasBatchInput = true
		}
	}
	if raw := fields["MaxConcurrency"]; raw != nil {
		if err := json.Unmarshal(raw, &m.maxConcurrency); err != nil || m.maxConcurrency < 0 {
			return fail("MaxConcurrency", "must be a non-negative integer")
		}
	}
	if raw := fields["ToleratedFailurePercentage"]; raw != nil {
		var p float64
		if err := json.Unmarshal(raw, &p); err != nil || p < 0 || p > 100 {
			return fail("ToleratedFailurePercentage", "must be a number from 0 to 100")
		}
		m.tolerancePct = &p
	}
	if raw := fields["ToleratedFailureCount"]; raw != nil {
		var c int
		if err := json.Unmarshal(raw, &c); err != nil || c < 0 {
			return fail("ToleratedFailureCount", "must be a non-negative integer")
		}
		m.toleranceCount = &c
	}
	return nil
}

// usesMapItem reports a $$.Map.Item reference in a compiled template.
func usesMapItem(t any) bool {
	switch v := t.(type) {
	case pathField:
		return v.p.context && len(v.p.src) >= 11 && v.p.src[:11] == "$$.Map.Item"
	case map[string]any:
		for _, item := range v {
			if usesMapItem(item) {
				return true
			}
		}
	case []any:
		for _, item := range v {
			if usesMapItem(item) {
				return true
			}
		}
	}
	return false
}

// runMap runs a Map state's iterations and returns its result (before
// ResultSelector), or the error the Map state fails with. It returns a
// non-nil error only when ctx ended: the Map is then run again later.
func (e *Executor) runMap(ctx context.Context, reg registration, s *state, n *record, in any) (any, *TaskError, error) {
	m := s.mapSpec
	items, terr := e.mapItems(ctx, m, n, in)
	if ctx.Err() != nil {
		return nil, nil, ctx.Err()
	}
	if terr != nil {
		return nil, terr, nil
	}
	if m.selector != nil {
		for i, v := range items {
			c := contextObject(n, "")
			c["Map"] = map[string]any{"Item": map[string]any{"Index": int64(i), "Value": v}}
			sel, err := render(m.selector, in, c)
			if err != nil {
				return nil, &TaskError{errRuntime, err.Error()}, nil
			}
			items[i] = sel
		}
	}
	type job struct {
		input any
		size  int
	}
	var jobs []job
	if m.batchSize > 0 {
		var batchInput any
		if m.hasBatchInput {
			var err error
			if batchInput, err = render(m.batchInput, in, contextObject(n, "")); err != nil {
				return nil, &TaskError{errRuntime, err.Error()}, nil
			}
		}
		for i := 0; i < len(items); i += m.batchSize {
			batch := items[i:min(i+m.batchSize, len(items))]
			b := map[string]any{"Items": batch}
			if m.hasBatchInput {
				b["BatchInput"] = deepCopy(batchInput)
			}
			jobs = append(jobs, job{b, len(batch)})
		}
	} else {
		for _, item := range items {
			jobs = append(jobs, job{item, 1})
		}
	}

	limit := m.maxConcurrency
	if limit <= 0 || limit > maxMapConcurrency {
		limit = maxMapConcurrency
	}
	results := make([]any, len(jobs))
	errs := make([]*TaskError, len(jobs))
	transitions := make([]int, len(jobs))
	histories := make([][]string, len(jobs))
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	sub := registration{machine: m.processor, invoker: reg.invoker}
	slots := make(chan struct{}, limit)
	var wg sync.WaitGroup
	started := 0
	for i, j := range jobs {
		select {
		case slots <- struct{}{}:
		case <-runCtx.Done():
		}
		if runCtx.Err() != nil {
			break
		}
		started++
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			results[i], errs[i], transitions[i], histories[i] = e.runChild(runCtx, sub, n, j.input)
			if errs[i] != nil && !m.distributed {
				cancel() // an INLINE Map fails with its first failing iteration
			}
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return nil, nil, ctx.Err()
	}
	n.ChildExecutions += started
	for _, t := range transitions {
		n.Transitions += t
	}
	if !m.distributed {
		// An INLINE Map's states are in its execution's history; here
		// they are listed iteration by iteration, in item order.
		for _, h := range histories {
			n.History = append(n.History, h...)
		}
		if len(n.History) > historyLimit {
			n.History = n.History[len(n.History)-historyLimit:]
		}
		for _, te := range errs {
			if te != nil {
				return nil, te, nil
			}
		}
		return results, nil, nil
	}
	failed := 0
	for i, te := range errs {
		if te != nil {
			failed += jobs[i].size
			results[i] = map[string]any{"Error": te.Name, "Cause": te.Cause}
		}
	}
	total := len(items)
	exceeded := failed > 0 && m.tolerancePct == nil && m.toleranceCount == nil
	if m.tolerancePct != nil && float64(failed)*100 > *m.tolerancePct*float64(total) {
		exceeded = true
	}
	if m.toleranceCount != nil && failed > *m.toleranceCount {
		exceeded = true
	}
	if exceeded {
		return nil, &TaskError{errToleratedFailure, fmt.Sprintf("%d of %d items failed, more than the Map tolerates", failed, total)}, nil
	}
	return results, nil, nil
}

// mapItems reads the Map's items: ItemsPath of the input, or the ItemReader's object.
func (e *Executor) mapItems(ctx context.Context, m *mapSpec, n *record, in any) ([]any, *TaskError) {
	if m.reader == nil {
		v, err := m.itemsPath.selectFrom(in)
		if err != nil {
			return nil, &TaskError{errRuntime, err.Error()}
		}
		arr, ok := v.([]any)
		if !ok {
			return nil, &TaskError{errRuntime, fmt.Sprintf("ItemsPath must select an array, not %s", typeName(v))}
		}
		return slices.Clone(arr), nil
	}
	params, err := render(m.reader.params, in, contextObject(n, ""))
	if err != nil {
		return nil, &TaskError{errRuntime, err.Error()}
	}
	p := params.(map[string]any)
	bucket, okB := p["Bucket"].(string)
	key, okK := p["Key"].(string)
	if !okB || !okK {
		return nil, &TaskError{errRuntime, "ItemReader Parameters Bucket and Key must be strings"}
	}
	if e.Objects == nil {
		return nil, &TaskError{errItemReader, "the executor has no Objects reader"}
	}
	data, err := e.Objects.Get(ctx, bucket, key)
	if err != nil {
		return nil, &TaskError{errItemReader, fmt.Sprintf("s3://%s/%s: %v", bucket, key, err)}
	}
	if len(data) > maxReaderBytes {
		return nil, &TaskError{errItemReader, fmt.Sprintf("s3://%s/%s is larger than %d bytes", bucket, key, maxReaderBytes)}
	}
	var items []any
	if m.reader.jsonl {
		for i, line := range bytes.Split(data, []byte("\n")) {
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			v, err := decode(line)
			if err != nil {
				return nil, &TaskError{errItemReader, fmt.Sprintf("s3://%s/%s line %d: %v", bucket, key, i+1, err)}
			}
			if items = append(items, v); len(items) > maxReaderItems {
				break
			}
		}
	} else {
		v, err := decode(data)
		arr, ok := v.([]any)
		if err != nil || !ok {
			return nil, &TaskError{errItemReader, fmt.Sprintf("s3://%s/%s is not a JSON array", bucket, key)}
		}
		items = arr
	}
	if len(items) > maxReaderItems {
		return nil, &TaskError{errItemReader, fmt.Sprintf("s3://%s/%s has more than %d items", bucket, key, maxReaderItems)}
	}
	return items, nil
}

// runChild runs one iteration of a Map's ItemProcessor in memory, reusing
// step: it returns the output or the error, the transitions made and the
// states entered. A nil output and error means ctx ended.
func (e *Executor) runChild(ctx context.Context, reg registration, parent *record, input any) (any, *TaskError, int, []string) {
	x := &record{Machine: parent.Machine, Name: parent.Name, Status: StatusRunning, Input: mustEncode(input),
		StartTime: parent.StartTime, Deadline: parent.Deadline}
	x.enter(reg.machine.StartAt, input, e.now())
	for x.Status == StatusRunning {
		wake, err := time.Parse(stampLayout, x.WakeAt)
		if err != nil {
			return nil, &TaskError{errRuntime, "iteration has no wake-up time"}, x.Transitions, x.History
		}
		if d := wake.Sub(e.now()); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil, nil, x.Transitions, x.History
			case <-t.C:
			}
		}
		next, err := e.step(ctx, reg, x, e.now())
		if err != nil {
			return nil, nil, x.Transitions, x.History
		}
		x = next
	}
	if x.Status != StatusSucceeded {
		return nil, &TaskError{x.Error, x.Cause}, x.Transitions, x.History
	}
	out, err := decode([]byte(x.Output))
	if err != nil {
		return nil, &TaskError{errRuntime, err.Error()}, x.Transitions, x.History
	}
	return out, nil, x.Transitions, x.History
}
