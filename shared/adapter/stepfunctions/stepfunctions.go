// Package stepfunctions runs Parley's sequences on AWS Step Functions.
package stepfunctions

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/parley-inbox/parley/shared/inbox"
)

// API is the part of the Step Functions client Parley uses.
type API interface {
	StartExecution(context.Context, *sfn.StartExecutionInput, ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error)
	StopExecution(context.Context, *sfn.StopExecutionInput, ...func(*sfn.Options)) (*sfn.StopExecutionOutput, error)
	SendTaskSuccess(context.Context, *sfn.SendTaskSuccessInput, ...func(*sfn.Options)) (*sfn.SendTaskSuccessOutput, error)
}

// Sequencer starts and stops executions of the drip and automation state
// machines, whose ARNs Machines holds.
type Sequencer struct {
	Client   API
	Machines map[inbox.SequenceKind]string
}

var _ inbox.Sequencer = (*Sequencer)(nil)

func (s *Sequencer) machine(kind inbox.SequenceKind) (string, error) {
	arn, ok := s.Machines[kind]
	if !ok || arn == "" {
		return "", fmt.Errorf("stepfunctions: no state machine for %s sequences", kind)
	}
	return arn, nil
}

// Start starts the execution. Names are deterministic per run, so an
// existing execution of that name is this run's: starting it is done.
func (s *Sequencer) Start(ctx context.Context, kind inbox.SequenceKind, name string, input []byte) error {
	arn, err := s.machine(kind)
	if err != nil {
		return err
	}
	_, err = s.Client.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(arn), Name: aws.String(name), Input: aws.String(string(input))})
	var exists *sfntypes.ExecutionAlreadyExists
	if errors.As(err, &exists) {
		return nil
	}
	return unavailable("start", err)
}

// Stop aborts the execution; a finished or unknown one is left alone.
func (s *Sequencer) Stop(ctx context.Context, kind inbox.SequenceKind, name, cause string) error {
	arn, err := s.machine(kind)
	if err != nil {
		return err
	}
	_, err = s.Client.StopExecution(ctx, &sfn.StopExecutionInput{ExecutionArn: aws.String(ExecutionARN(arn, name)),
		Error: aws.String("RunEnded"), Cause: aws.String(cause)})
	var missing *sfntypes.ExecutionDoesNotExist
	if errors.As(err, &missing) {
		return nil
	}
	return unavailable("stop", err)
}

// ResumeTask completes a manual action's task. A token whose task is gone
// (the run was stopped, or the token was used) is ignored.
func (s *Sequencer) ResumeTask(ctx context.Context, token string, output []byte) error {
	_, err := s.Client.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String(token), Output: aws.String(string(output))})
	var gone *sfntypes.TaskDoesNotExist
	var timedOut *sfntypes.TaskTimedOut
	var invalid *sfntypes.InvalidToken
	if errors.As(err, &gone) || errors.As(err, &timedOut) || errors.As(err, &invalid) {
		return nil
	}
	return unavailable("resume", err)
}

// ExecutionARN is the ARN of a machine's named execution.
func ExecutionARN(machineARN, name string) string {
	return strings.Replace(machineARN, ":stateMachine:", ":execution:", 1) + ":" + name
}

func unavailable(op string, err error) error {
	if err == nil {
		return nil
	}
	return &inbox.Error{Kind: inbox.KindUnavailable, Message: "the sequence service is unavailable; retry", Err: fmt.Errorf("step functions %s: %w", op, err)}
}

// New returns a Sequencer for the two state machines.
func New(client API, dripARN, automationARN string) *Sequencer {
	return &Sequencer{Client: client, Machines: map[inbox.SequenceKind]string{
		inbox.SequenceDrip: dripARN, inbox.SequenceAutomation: automationARN,
	}}
}
