// Package inboxtest gives tests every use case on one store, as one value:
// a test can ingest, post, deliver and run steps without wiring four
// functions.
package inboxtest

import (
	"context"

	"github.com/parley-inbox/parley/shared/inbox"
)

// UseCases embeds every use case; their exported methods do not overlap,
// so each reads as it did on one type.
type UseCases struct {
	// Store is the store they share, for a test's own setup and checks.
	Store inbox.Store
	*inbox.Desk
	*inbox.Intake
	*inbox.WebChat
	*inbox.Dispatch
	*inbox.Runner
	// Assigner is named, not embedded: its HandleEvent is the Runner's name.
	Assigner *inbox.Assigner
}

// Deps are the dependencies a test provides. A nil one is replaced by a
// stand-in that refuses every call, so a test that needs it fails loudly.
type Deps struct {
	Clock     inbox.Clock
	Senders   map[inbox.Channel]inbox.ChannelSender
	Scheduler inbox.Scheduler
	Sequencer inbox.Sequencer
}

// New builds every use case on store.
func New(store inbox.Store, d Deps) UseCases {
	if d.Clock == nil {
		d.Clock = inbox.SystemClock{}
	}
	if d.Scheduler == nil {
		d.Scheduler = Missing{}
	}
	if d.Sequencer == nil {
		d.Sequencer = Missing{}
	}
	var email inbox.ChannelSender = Missing{}
	if s, ok := d.Senders[inbox.ChannelEmail]; ok {
		email = s
	}
	return UseCases{
		Store:    store,
		Desk:     inbox.NewDesk(store, d.Clock, d.Scheduler, d.Sequencer),
		Intake:   inbox.NewIntake(store, d.Clock),
		WebChat:  inbox.NewWebChat(store, d.Clock, email),
		Dispatch: inbox.NewDispatch(store, d.Clock, d.Senders, d.Scheduler),
		Runner:   inbox.NewRunner(store, d.Clock, d.Scheduler, d.Sequencer),
		Assigner: inbox.NewAssigner(store, d.Clock),
	}
}

// Missing stands in for a dependency a test did not provide.
type Missing struct{}

var errMissing = inbox.Errorf(inbox.KindUnavailable, "inboxtest: this test provides no such dependency")

func (Missing) Put(context.Context, inbox.Schedule) error                       { return errMissing }
func (Missing) Delete(context.Context, string) error                            { return errMissing }
func (Missing) Start(context.Context, inbox.SequenceKind, string, []byte) error { return errMissing }
func (Missing) Stop(context.Context, inbox.SequenceKind, string, string) error  { return errMissing }
func (Missing) ResumeTask(context.Context, string, []byte) error                { return errMissing }
func (Missing) Send(context.Context, inbox.Outbound) (string, error)            { return "", errMissing }
