// Package schedule implements inbox.Scheduler: EventBridge Scheduler in AWS
// (EventBridge) and a DynamoDB-backed poller for make dev (Local).
package schedule

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/scheduler/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/parley-inbox/parley/shared/inbox"
)

// Payload is the Input a schedule hands its target: the sender Lambda
// decodes it to know which message to deliver.
type Payload struct {
	WorkspaceID    string `json:"workspaceId"`
	ConversationID string `json:"conversationId"`
	MessageID      string `json:"messageId"`
}

// SchedulerAPI is the part of the EventBridge Scheduler client EventBridge uses.
type SchedulerAPI interface {
	CreateSchedule(context.Context, *scheduler.CreateScheduleInput, ...func(*scheduler.Options)) (*scheduler.CreateScheduleOutput, error)
	UpdateSchedule(context.Context, *scheduler.UpdateScheduleInput, ...func(*scheduler.Options)) (*scheduler.UpdateScheduleOutput, error)
	DeleteSchedule(context.Context, *scheduler.DeleteScheduleInput, ...func(*scheduler.Options)) (*scheduler.DeleteScheduleOutput, error)
}

// EventBridge is the AWS scheduler: one one-time EventBridge Scheduler
// schedule per message, which invokes the sender Lambda and then deletes
// itself.
//
// Put passes the time through as given: Scheduler rejects an at() in the
// past, so a caller holding a due (or nearly due) time should send now
// rather than schedule.
type EventBridge struct {
	Client SchedulerAPI
	// Group is the schedule group; empty means Scheduler's default group.
	Group string
	// TargetARN is the sender Lambda. Empty inside the sender itself, whose
	// environment cannot name its own ARN: the invoked ARN is used.
	TargetARN string
	// RoleARN is the execution role Scheduler assumes to invoke the target.
	RoleARN string
	// DeadLetterARN is the SQS queue for invocations that ran out of
	// retries; empty means none.
	DeadLetterARN string
}

var _ inbox.Scheduler = (*EventBridge)(nil)

// Retry policy of the invocation. Scheduler retries only failures to hand
// the event to Lambda (throttling, service errors); the sender's own errors
// are Lambda's async retries. Retrying for a day with the maximum attempts
// rides out an outage, and the sender is idempotent.
const (
	maxEventAge      = 24 * 60 * 60
	maxRetryAttempts = 185 // Scheduler's maximum
)

// Put creates the schedule, or moves it if it already exists.
func (e *EventBridge) Put(ctx context.Context, s inbox.Schedule) error {
	tz, loc, err := s.Check()
	if err != nil {
		return err
	}
	input, err := json.Marshal(Payload{WorkspaceID: s.WorkspaceID, ConversationID: s.Ref.ConversationID, MessageID: s.Ref.MessageID})
	if err != nil {
		return inbox.Internal(err)
	}
	target := &types.Target{
		Arn:         aws.String(e.target(ctx)),
		RoleArn:     aws.String(e.RoleARN),
		Input:       aws.String(string(input)),
		RetryPolicy: &types.RetryPolicy{MaximumEventAgeInSeconds: aws.Int32(maxEventAge), MaximumRetryAttempts: aws.Int32(maxRetryAttempts)},
	}
	if e.DeadLetterARN != "" {
		target.DeadLetterConfig = &types.DeadLetterConfig{Arn: aws.String(e.DeadLetterARN)}
	}
	create := &scheduler.CreateScheduleInput{
		Name:                       aws.String(s.Name),
		GroupName:                  e.group(),
		ScheduleExpression:         aws.String(atExpression(s.At, loc)),
		ScheduleExpressionTimezone: aws.String(tz),
		FlexibleTimeWindow:         &types.FlexibleTimeWindow{Mode: types.FlexibleTimeWindowModeOff},
		ActionAfterCompletion:      types.ActionAfterCompletionDelete,
		Target:                     target,
	}
	// UpdateSchedule replaces every field, so it takes the same input. If the
	// schedule fires (and deletes itself) between a conflict and the update,
	// the update finds nothing: create it once more.
	for attempt := 0; ; attempt++ {
		_, err := e.Client.CreateSchedule(ctx, create)
		var conflict *types.ConflictException
		if !errors.As(err, &conflict) {
			return mapError("create schedule", err)
		}
		_, err = e.Client.UpdateSchedule(ctx, &scheduler.UpdateScheduleInput{
			Name:                       create.Name,
			GroupName:                  create.GroupName,
			ScheduleExpression:         create.ScheduleExpression,
			ScheduleExpressionTimezone: create.ScheduleExpressionTimezone,
			FlexibleTimeWindow:         create.FlexibleTimeWindow,
			ActionAfterCompletion:      create.ActionAfterCompletion,
			Target:                     create.Target,
		})
		var missing *types.ResourceNotFoundException
		if !errors.As(err, &missing) || attempt > 0 {
			return mapError("update schedule", err)
		}
	}
}

// Delete removes the schedule; one that is missing (never created, or
// already fired and deleted itself) is not an error.
func (e *EventBridge) Delete(ctx context.Context, name string) error {
	if err := inbox.CheckScheduleName(name); err != nil {
		return err
	}
	_, err := e.Client.DeleteSchedule(ctx, &scheduler.DeleteScheduleInput{Name: aws.String(name), GroupName: e.group()})
	var missing *types.ResourceNotFoundException
	if errors.As(err, &missing) {
		return nil
	}
	return mapError("delete schedule", err)
}

func (e *EventBridge) group() *string {
	if e.Group == "" {
		return nil
	}
	return aws.String(e.Group)
}

// atExpression writes the time in the schedule's zone, as Scheduler reads
// at() in ScheduleExpressionTimezone. at() has whole seconds: round up, so
// the message is never sent before its time. (In the hour a zone repeats
// when clocks go back, the wall time is ambiguous and Scheduler may pick
// the other occurrence.)
func atExpression(at time.Time, loc *time.Location) string {
	if t := at.Truncate(time.Second); t.Before(at) {
		at = t.Add(time.Second)
	}
	return "at(" + at.In(loc).Format("2006-01-02T15:04:05") + ")"
}

// mapError makes a Scheduler failure an inbox error: throttling, server
// errors and unreachable endpoints are worth retrying (KindUnavailable);
// anything else is a bug or misconfiguration.
func mapError(op string, err error) error {
	if err == nil {
		return nil
	}
	var throttled *types.ThrottlingException
	var server *types.InternalServerException
	var resp *awshttp.ResponseError
	var send *smithyhttp.RequestSendError
	if errors.As(err, &throttled) || errors.As(err, &server) || errors.As(err, &send) ||
		(errors.As(err, &resp) && (resp.HTTPStatusCode() == 429 || resp.HTTPStatusCode() >= 500)) ||
		errors.Is(err, context.DeadlineExceeded) {
		return &inbox.Error{Kind: inbox.KindUnavailable, Message: "the scheduler is busy; retry shortly", Err: err}
	}
	return inbox.Internal(fmt.Errorf("%s: %w", op, err))
}

func (e *EventBridge) target(ctx context.Context) string {
	if e.TargetARN != "" {
		return e.TargetARN
	}
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		return lc.InvokedFunctionArn
	}
	return ""
}
