package stepfunctions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/parley-inbox/parley/shared/inbox"
)

// Sequencer runs Parley's sequences on the local executor, the way the
// stepfunctions package runs them on AWS.
type Sequencer struct {
	Executor *Executor
	// Machines names the registered machine of each kind.
	Machines map[inbox.SequenceKind]string
}

var _ inbox.Sequencer = (*Sequencer)(nil)

func (s *Sequencer) Start(ctx context.Context, kind inbox.SequenceKind, name string, input []byte) error {
	machine, ok := s.Machines[kind]
	if !ok {
		return fmt.Errorf("stepfn: no machine for %s sequences", kind)
	}
	_, err := s.Executor.StartExecution(ctx, machine, name, json.RawMessage(input))
	if errors.Is(err, ErrExecutionAlreadyExists) {
		return nil // the run's deterministic name: it was started before
	}
	return err
}

func (s *Sequencer) Stop(ctx context.Context, _ inbox.SequenceKind, name, cause string) error {
	err := s.Executor.StopExecution(ctx, name, "RunEnded", cause)
	if errors.Is(err, ErrExecutionDoesNotExist) {
		return nil
	}
	return err
}

func (s *Sequencer) ResumeTask(ctx context.Context, token string, output []byte) error {
	err := s.Executor.SendTaskSuccess(ctx, token, json.RawMessage(output))
	if errors.Is(err, ErrTaskDoesNotExist) {
		return nil
	}
	return err
}
