package schedule_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"

	"github.com/parley-inbox/parley/shared/adapter/schedule"
	"github.com/parley-inbox/parley/shared/inbox"
)

// call is one request the fake Scheduler received.
type call struct {
	Method, Path, Group string
	Body                map[string]any
}

// reply is what the fake answers: a status and, for errors, Scheduler's
// error type.
type reply struct {
	Status int
	Error  string
}

// fakeScheduler answers with the scripted replies in order (then 200) and
// records the requests, which the official client sends.
func fakeScheduler(t *testing.T, replies ...reply) (*schedule.EventBridge, func() []call) {
	t.Helper()
	var mu sync.Mutex
	var calls []call
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		c := call{Method: r.Method, Path: r.URL.Path, Group: r.URL.Query().Get("groupName")}
		if len(raw) > 0 {
			if err := json.Unmarshal(raw, &c.Body); err != nil {
				t.Errorf("request body is not JSON: %s", raw)
			}
		}
		mu.Lock()
		calls = append(calls, c)
		rep := reply{Status: http.StatusOK}
		if len(calls) <= len(replies) {
			rep = replies[len(calls)-1]
		}
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if rep.Error != "" {
			w.Header().Set("X-Amzn-ErrorType", rep.Error)
			w.WriteHeader(rep.Status)
			_, _ = io.WriteString(w, `{"Message":"scripted `+rep.Error+`"}`)
			return
		}
		w.WriteHeader(rep.Status)
		_, _ = io.WriteString(w, `{"ScheduleArn":"arn:aws:scheduler:us-east-1:123456789012:schedule/parley/x"}`)
	}))
	t.Cleanup(srv.Close)
	client := scheduler.New(scheduler.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(srv.URL),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		RetryMaxAttempts: 1, // each scripted reply is seen once
	})
	eb := &schedule.EventBridge{
		Client:        client,
		Group:         "parley",
		TargetARN:     "arn:aws:lambda:us-east-1:123456789012:function:sender",
		RoleARN:       "arn:aws:iam::123456789012:role/scheduler",
		DeadLetterARN: "arn:aws:sqs:us-east-1:123456789012:scheduler-dlq",
	}
	return eb, func() []call {
		mu.Lock()
		defer mu.Unlock()
		return append([]call(nil), calls...)
	}
}

const scheduleName = "msg-01JFAKE0000000000000000000"

func christmasEve(t *testing.T) inbox.Schedule {
	t.Helper()
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	return inbox.Schedule{
		Name:        scheduleName,
		WorkspaceID: "01JWORKSPACE000000000000000",
		Ref:         inbox.ProviderRef{ConversationID: "01JCONV000000000000000000000", MessageID: "01JFAKE0000000000000000000"},
		// Given in UTC: the expression must still read New York's wall time.
		At:       time.Date(2026, 12, 24, 9, 30, 0, 0, ny).UTC(),
		Timezone: "America/New_York",
	}
}

// at reads a dotted path from a decoded JSON body.
func at(body map[string]any, path ...string) any {
	var v any = body
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

func checkScheduleBody(t *testing.T, c call) {
	t.Helper()
	want := map[string]any{
		"ScheduleExpression":         "at(2026-12-24T09:30:00)",
		"ScheduleExpressionTimezone": "America/New_York",
		"ActionAfterCompletion":      "DELETE",
		"GroupName":                  "parley",
	}
	for k, v := range want {
		if got := c.Body[k]; got != v {
			t.Errorf("%s = %v, want %v", k, got, v)
		}
	}
	checks := []struct {
		path []string
		want any
	}{
		{[]string{"FlexibleTimeWindow", "Mode"}, "OFF"},
		{[]string{"Target", "Arn"}, "arn:aws:lambda:us-east-1:123456789012:function:sender"},
		{[]string{"Target", "RoleArn"}, "arn:aws:iam::123456789012:role/scheduler"},
		{[]string{"Target", "DeadLetterConfig", "Arn"}, "arn:aws:sqs:us-east-1:123456789012:scheduler-dlq"},
		{[]string{"Target", "RetryPolicy", "MaximumEventAgeInSeconds"}, 86400.0},
		{[]string{"Target", "RetryPolicy", "MaximumRetryAttempts"}, 185.0},
	}
	for _, ch := range checks {
		if got := at(c.Body, ch.path...); got != ch.want {
			t.Errorf("%v = %v, want %v", ch.path, got, ch.want)
		}
	}
	input, _ := at(c.Body, "Target", "Input").(string)
	var p schedule.Payload
	if err := json.Unmarshal([]byte(input), &p); err != nil {
		t.Fatalf("Target.Input %q: %v", input, err)
	}
	want2 := schedule.Payload{WorkspaceID: "01JWORKSPACE000000000000000", ConversationID: "01JCONV000000000000000000000", MessageID: "01JFAKE0000000000000000000"}
	if p != want2 {
		t.Errorf("payload = %+v, want %+v", p, want2)
	}
	var keys map[string]any
	_ = json.Unmarshal([]byte(input), &keys)
	for _, k := range []string{"workspaceId", "conversationId", "messageId"} {
		if _, ok := keys[k]; !ok {
			t.Errorf("payload %s lacks %q", input, k)
		}
	}
}

func TestEventBridgePutCreates(t *testing.T) {
	eb, calls := fakeScheduler(t)
	if err := eb.Put(context.Background(), christmasEve(t)); err != nil {
		t.Fatal(err)
	}
	got := calls()
	if len(got) != 1 {
		t.Fatalf("calls = %+v, want one CreateSchedule", got)
	}
	if got[0].Method != http.MethodPost || got[0].Path != "/schedules/"+scheduleName {
		t.Errorf("request = %s %s, want POST /schedules/%s", got[0].Method, got[0].Path, scheduleName)
	}
	checkScheduleBody(t, got[0])
}

func TestEventBridgePutMovesAnExistingSchedule(t *testing.T) {
	eb, calls := fakeScheduler(t, reply{Status: http.StatusConflict, Error: "ConflictException"})
	if err := eb.Put(context.Background(), christmasEve(t)); err != nil {
		t.Fatal(err)
	}
	got := calls()
	if len(got) != 2 {
		t.Fatalf("calls = %+v, want CreateSchedule then UpdateSchedule", got)
	}
	if got[1].Method != http.MethodPut || got[1].Path != "/schedules/"+scheduleName {
		t.Errorf("second request = %s %s, want PUT /schedules/%s", got[1].Method, got[1].Path, scheduleName)
	}
	checkScheduleBody(t, got[1])
}

func TestEventBridgePutRecreatesAScheduleThatFiredMeanwhile(t *testing.T) {
	eb, calls := fakeScheduler(t,
		reply{Status: http.StatusConflict, Error: "ConflictException"},
		reply{Status: http.StatusNotFound, Error: "ResourceNotFoundException"})
	if err := eb.Put(context.Background(), christmasEve(t)); err != nil {
		t.Fatal(err)
	}
	var methods []string
	for _, c := range calls() {
		methods = append(methods, c.Method)
	}
	if strings.Join(methods, " ") != "POST PUT POST" {
		t.Errorf("requests = %v, want create, update, create", methods)
	}
}

func TestEventBridgePutDefaultsToUTC(t *testing.T) {
	eb, calls := fakeScheduler(t)
	s := christmasEve(t)
	s.Timezone = ""
	s.At = s.At.Add(250 * time.Millisecond) // at() has seconds: never early
	if err := eb.Put(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	body := calls()[0].Body
	if body["ScheduleExpression"] != "at(2026-12-24T14:30:01)" || body["ScheduleExpressionTimezone"] != "UTC" {
		t.Errorf("expression = %v in %v, want at(2026-12-24T14:30:01) in UTC", body["ScheduleExpression"], body["ScheduleExpressionTimezone"])
	}
}

func TestEventBridgeDelete(t *testing.T) {
	eb, calls := fakeScheduler(t, reply{Status: http.StatusOK}, reply{Status: http.StatusNotFound, Error: "ResourceNotFoundException"})
	for i := 0; i < 2; i++ { // the second finds nothing: still no error
		if err := eb.Delete(context.Background(), scheduleName); err != nil {
			t.Fatalf("delete %d: %v", i, err)
		}
	}
	for _, c := range calls() {
		if c.Method != http.MethodDelete || c.Path != "/schedules/"+scheduleName || c.Group != "parley" {
			t.Errorf("request = %s %s?groupName=%s, want DELETE /schedules/%s?groupName=parley", c.Method, c.Path, c.Group, scheduleName)
		}
	}
}

func TestEventBridgeErrors(t *testing.T) {
	cases := []struct {
		name  string
		reply reply
		want  inbox.Kind
	}{
		{"throttled", reply{Status: http.StatusTooManyRequests, Error: "ThrottlingException"}, inbox.KindUnavailable},
		{"server error", reply{Status: http.StatusInternalServerError, Error: "InternalServerException"}, inbox.KindUnavailable},
		{"unavailable", reply{Status: http.StatusServiceUnavailable, Error: "ServiceUnavailable"}, inbox.KindUnavailable},
		{"validation", reply{Status: http.StatusBadRequest, Error: "ValidationException"}, inbox.KindInternal},
		{"quota", reply{Status: http.StatusPaymentRequired, Error: "ServiceQuotaExceededException"}, inbox.KindInternal},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			eb, _ := fakeScheduler(t, c.reply, c.reply)
			if err := eb.Put(context.Background(), christmasEve(t)); inbox.ErrorKind(err) != c.want {
				t.Errorf("Put error = %v, want kind %s", err, c.want)
			}
			if err := eb.Delete(context.Background(), scheduleName); inbox.ErrorKind(err) != c.want {
				t.Errorf("Delete error = %v, want kind %s", err, c.want)
			}
		})
	}
}

func TestEventBridgeRejectsBadInput(t *testing.T) {
	eb, calls := fakeScheduler(t)
	long := "msg-" + strings.Repeat("a", 61) // 65 characters
	for _, name := range []string{"", "msg 1", "msg/1", "msg#1", long} {
		s := christmasEve(t)
		s.Name = name
		if err := eb.Put(context.Background(), s); !inbox.IsKind(err, inbox.KindInvalid) {
			t.Errorf("Put(name %q) = %v, want invalid", name, err)
		}
		if err := eb.Delete(context.Background(), name); !inbox.IsKind(err, inbox.KindInvalid) {
			t.Errorf("Delete(%q) = %v, want invalid", name, err)
		}
	}
	for _, tz := range []string{"Mars/Olympus", "Local"} {
		s := christmasEve(t)
		s.Timezone = tz
		if err := eb.Put(context.Background(), s); !inbox.IsKind(err, inbox.KindInvalid) {
			t.Errorf("Put(timezone %q) = %v, want invalid", tz, err)
		}
	}
	if n := len(calls()); n != 0 {
		t.Errorf("%d requests sent for invalid input", n)
	}
}
