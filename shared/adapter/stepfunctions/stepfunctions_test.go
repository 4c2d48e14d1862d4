package stepfunctions_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/parley-inbox/parley/shared/adapter/stepfunctions"
	"github.com/parley-inbox/parley/shared/inbox"
)

const dripARN = "arn:aws:states:us-east-1:123456789012:stateMachine:Parley-Drip"

// fakeStates answers the Step Functions JSON protocol: each call's target
// and body are recorded, and reply decides the answer.
func fakeStates(t *testing.T, reply func(target string, body map[string]any) (int, string)) (*stepfunctions.Sequencer, *[]string) {
	t.Helper()
	var calls []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "AWSStepFunctions.")
		raw, _ := io.ReadAll(r.Body)
		var body map[string]any
		_ = json.Unmarshal(raw, &body)
		calls = append(calls, target+" "+string(raw))
		status, out := reply(target, body)
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, out)
	}))
	t.Cleanup(srv.Close)
	client := sfn.New(sfn.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), RetryMaxAttempts: 1,
		Credentials: aws.AnonymousCredentials{}})
	return stepfunctions.New(client, dripARN, dripARN+"-automation"), &calls
}

func TestStartIsIdempotentByName(t *testing.T) {
	seq, calls := fakeStates(t, func(target string, body map[string]any) (int, string) {
		if body["name"] == "drip-again" {
			return 400, `{"__type":"com.amazonaws.states#ExecutionAlreadyExists","message":"Execution Already Exists"}`
		}
		return 200, `{"executionArn":"x","startDate":1}`
	})
	ctx := context.Background()
	if err := seq.Start(ctx, inbox.SequenceDrip, "drip-first", []byte(`{"step":0}`)); err != nil {
		t.Fatal(err)
	}
	if err := seq.Start(ctx, inbox.SequenceDrip, "drip-again", []byte(`{}`)); err != nil {
		t.Errorf("an existing execution of the run's name is a started run, got %v", err)
	}
	if !strings.Contains((*calls)[0], `"stateMachineArn":"`+dripARN+`"`) || !strings.Contains((*calls)[0], `"input":"{\"step\":0}"`) {
		t.Errorf("StartExecution request: %s", (*calls)[0])
	}
}

func TestStopAndResumeIgnoreWhatIsGone(t *testing.T) {
	seq, calls := fakeStates(t, func(target string, body map[string]any) (int, string) {
		switch target {
		case "StopExecution":
			return 400, `{"__type":"ExecutionDoesNotExist","message":"gone"}`
		case "SendTaskSuccess":
			if body["taskToken"] == "used" {
				return 400, `{"__type":"TaskTimedOut","message":"Task Timed Out"}`
			}
			return 400, `{"__type":"ThrottlingException","message":"slow down"}`
		}
		return 500, `{}`
	})
	ctx := context.Background()
	if err := seq.Stop(ctx, inbox.SequenceDrip, "drip-x", "replied"); err != nil {
		t.Errorf("stopping a missing execution: %v", err)
	}
	if !strings.Contains((*calls)[0], `"executionArn":"arn:aws:states:us-east-1:123456789012:execution:Parley-Drip:drip-x"`) {
		t.Errorf("StopExecution request: %s", (*calls)[0])
	}
	if err := seq.ResumeTask(ctx, "used", []byte(`{"status":"done"}`)); err != nil {
		t.Errorf("a used token: %v", err)
	}
	err := seq.ResumeTask(ctx, "fresh", []byte(`{}`))
	if !inbox.IsKind(err, inbox.KindUnavailable) {
		t.Errorf("a throttled resume must surface as unavailable (retry), got %v", err)
	}
}

func TestExecutionARN(t *testing.T) {
	got := stepfunctions.ExecutionARN("arn:aws:states:eu-west-1:1:stateMachine:m", "auto-01J")
	if got != "arn:aws:states:eu-west-1:1:execution:m:auto-01J" {
		t.Errorf("ExecutionARN = %s", got)
	}
}
