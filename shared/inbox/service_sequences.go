package inbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Sequences: drip campaigns and automations. A run's Step Functions
// execution does the waiting and calls back into RunDripStep,
// RunAutomationStep and ParkManual; everything else here is what the API
// and the domain events ask of runs.

// automationUser authors what sequences write.
const automationUser = "automation"

func automationActor(workspaceID string) Actor {
	return Actor{WorkspaceID: workspaceID, UserID: automationUser, Role: RoleAdmin}
}

// keyedID is a ULID at t whose entropy is the hash of key, so the same key
// names the same item on every retry.
func keyedID(workspaceID, key string, t time.Time) string {
	return hashKey(Actor{WorkspaceID: workspaceID, UserID: automationUser}, key).newID(t)
}

// dripRunID is the one run a campaign can have per contact.
func dripRunID(c *Campaign, contactID string) string {
	return keyedID(c.WorkspaceID, "drip\x00"+c.ID+"\x00"+contactID, c.CreatedAt)
}

// RunsPage is one page of a sequence's runs and its counts by status.
type RunsPage struct {
	Page[*Run]
	Counts map[RunStatus]int `json:"counts"`
}

// ApplyCampaign enrolls a contact in a drip campaign; the run's
// run.started event starts its execution. Applying it again while it runs
// returns the same run (created false); once the run has ended it is
// refused.
func (s *Desk) ApplyCampaign(ctx context.Context, actor Actor, campaignID, contactID string) (*Run, bool, error) {
	c, err := s.GetCampaign(ctx, actor, campaignID)
	if err != nil {
		return nil, false, err
	}
	contact, err := s.existingContact(ctx, actor.WorkspaceID, contactID)
	if err != nil {
		return nil, false, err
	}
	for _, st := range c.Steps {
		if cc := contact.ConsentOn(st.Channel); cc.Status == ConsentOptedOut {
			return nil, false, &Error{Kind: KindConflict, Field: "contactId",
				Message: fmt.Sprintf("the contact opted out of %s on %s; campaigns are never applied to contacts who opted out", st.Channel.ConsentChannel(), cc.ChangedAt.Format(time.DateOnly))}
		}
	}
	now := s.now()
	first := c.StepAt(now, 0)
	r := &Run{ID: dripRunID(c, contact.ID), WorkspaceID: actor.WorkspaceID, Kind: SequenceDrip, SequenceID: c.ID, SequenceName: c.Name,
		ContactID: contact.ID, ConversationID: contact.ConversationID, Status: RunStarted, Steps: c.Steps, NextAt: &first,
		StartedBy: actor.UserID, StartedAt: now, UpdatedAt: now}
	r.Execution = ExecutionName(SequenceDrip, r.ID)
	created := true
	if err := s.store.CreateRun(ctx, r); IsKind(err, KindConflict) {
		prev, gerr := s.store.GetRun(ctx, actor.WorkspaceID, contact.ID, r.ID)
		if gerr != nil {
			return nil, false, gerr
		}
		if !prev.Active() {
			return nil, false, Errorf(KindConflict, "%q was already applied to this contact; that enrollment is %s (%s)", c.Name, prev.Status, prev.Reason)
		}
		r, created = prev, false
	} else if err != nil {
		return nil, false, err
	}
	// The execution starts from the run's run.started event.
	return r, created, nil
}

// ApplyCampaignToConversation enrolls a conversation's contact.
func (s *Desk) ApplyCampaignToConversation(ctx context.Context, actor Actor, conversationID, campaignID string) (*Run, bool, error) {
	conv, err := s.getConversation(ctx, actor, conversationID)
	if err != nil {
		return nil, false, err
	}
	run, created, err := s.ApplyCampaign(ctx, actor, campaignID, conv.ContactID)
	if IsKind(err, KindNotFound) { // the campaign: a field of this request
		return nil, false, Invalid("campaignId", "campaign %q does not exist", campaignID)
	}
	return run, created, err
}

func (s *core) existingContact(ctx context.Context, workspaceID, id string) (*Contact, error) {
	if !ValidID(id) {
		return nil, Invalid("contactId", "contact %q does not exist", id)
	}
	c, err := s.store.GetContact(ctx, workspaceID, id)
	if IsKind(err, KindNotFound) {
		return nil, Invalid("contactId", "contact %q does not exist", id)
	}
	return c, err
}

func (s *Runner) startRun(ctx context.Context, r *Run) error {
	first := r.StartedAt
	if r.Kind == SequenceDrip {
		first = *r.NextAt
	}
	input, err := json.Marshal(RunState{WorkspaceID: r.WorkspaceID, Kind: r.Kind, ContactID: r.ContactID, RunID: r.ID, WaitUntil: first, Next: NextWait})
	if err != nil {
		return Internal(err)
	}
	return s.sequencer.Start(ctx, r.Kind, r.Execution, input)
}

// Enrollments lists a campaign's runs of one status (default started) with
// the counts of each.
func (s *Desk) Enrollments(ctx context.Context, actor Actor, campaignID string, status RunStatus, p PageRequest) (RunsPage, error) {
	if _, err := s.GetCampaign(ctx, actor, campaignID); err != nil {
		return RunsPage{}, err
	}
	return s.runs(ctx, actor.WorkspaceID, campaignID, status, p)
}

// AutomationRuns lists an automation's runs of one status (default
// started) with the counts of each.
func (s *Desk) AutomationRuns(ctx context.Context, actor Actor, automationID string, status RunStatus, p PageRequest) (RunsPage, error) {
	if _, err := s.GetAutomation(ctx, actor, automationID); err != nil {
		return RunsPage{}, err
	}
	return s.runs(ctx, actor.WorkspaceID, automationID, status, p)
}

func (s *core) runs(ctx context.Context, ws, sequenceID string, status RunStatus, p PageRequest) (RunsPage, error) {
	if status == "" {
		status = RunStarted
	}
	if !status.Valid() {
		return RunsPage{}, Invalid("status", "status is started, converted, exited or completed")
	}
	if err := normalizePage(&p); err != nil {
		return RunsPage{}, err
	}
	page, err := s.store.ListRuns(ctx, ws, sequenceID, status, p)
	if err != nil {
		return RunsPage{}, err
	}
	counts, err := s.store.RunCounts(ctx, ws, sequenceID)
	return RunsPage{Page: page, Counts: counts}, err
}

// ContactRuns lists the campaigns and automations a contact has been in.
func (s *Desk) ContactRuns(ctx context.Context, actor Actor, contactID string) ([]*Run, error) {
	if _, err := s.getContact(ctx, actor, contactID); err != nil {
		return nil, err
	}
	return s.store.ContactRuns(ctx, actor.WorkspaceID, contactID)
}

// CancelRun ends any run of a contact as exited (canceled).
func (s *Desk) CancelRun(ctx context.Context, actor Actor, contactID, runID string) (*Run, error) {
	if !ValidID(contactID) || !ValidID(runID) {
		return nil, Errorf(KindNotFound, "run %q not found", runID)
	}
	r, err := s.store.GetRun(ctx, actor.WorkspaceID, contactID, runID)
	if err != nil {
		return nil, err
	}
	return r, s.endRun(ctx, r, StopCanceled, true)
}

// endRun moves an active run to the final status reason implies and, when
// someone other than the execution ends it, stops the execution.
func (s *deferred) endRun(ctx context.Context, r *Run, reason StopReason, stopExecution bool) error {
	status := RunExited
	if reason == StopConverted {
		status = RunConverted
	}
	err := retryOnConflict(ctx, func() error {
		cur, err := s.store.GetRun(ctx, r.WorkspaceID, r.ContactID, r.ID)
		if err != nil {
			return err
		}
		*r = *cur
		if !cur.Active() {
			return nil
		}
		now := s.now()
		cur.Status, cur.Reason, cur.EndedAt, cur.UpdatedAt, cur.NextAt = status, reason, &now, now, nil
		if err := s.store.UpdateRun(ctx, cur, RunStarted); err != nil {
			return err
		}
		*r = *cur
		return nil
	})
	if err != nil {
		return err
	}
	if r.TaskID != "" {
		if err := s.closeTask(ctx, r.WorkspaceID, r.TaskID, TaskCanceled, automationUser); err != nil {
			return err
		}
	}
	if !stopExecution {
		return nil
	}
	// Also when the run had already ended: a retry must reach the stop.
	return s.sequencer.Stop(ctx, r.Kind, r.Execution, string(reason))
}

// complete records that a run reached its last step.
func (s *core) complete(ctx context.Context, r *Run, st RunState, progress runProgress) error {
	return s.recordProgress(ctx, r, st, progress, true)
}

// runProgress is what a step invocation did, for the run item.
type runProgress struct {
	done      int // steps that took effect
	lastError string
	nextAt    time.Time
}

// recordProgress moves the run item to step st.Step, starting from r as
// the step read it and re-reading only after losing a race (to an end of
// the run). A retried invocation finds the run already there and changes
// nothing.
func (s *core) recordProgress(ctx context.Context, r *Run, st RunState, p runProgress, last bool) error {
	fresh := true
	return retryOnConflict(ctx, func() error {
		cur := r
		if !fresh {
			var err error
			if cur, err = s.store.GetRun(ctx, r.WorkspaceID, r.ContactID, r.ID); err != nil {
				return err
			}
		}
		fresh = false
		if !cur.Active() {
			return nil
		}
		cur = ptr(*cur)
		if cur.ConversationID == "" {
			cur.ConversationID = r.ConversationID // a thread this step started
		}
		if cur.Step < st.Step || (cur.Step == st.Step && last) {
			cur.Step = st.Step
			cur.StepsDone += p.done
			if p.lastError != "" {
				cur.LastError = p.lastError
			}
		}
		now := s.now()
		cur.UpdatedAt, cur.NextAt, cur.TaskID = now, nil, ""
		if !p.nextAt.IsZero() {
			cur.NextAt = &p.nextAt
		}
		if last {
			cur.Status, cur.EndedAt = RunCompleted, &now
		}
		if err := s.store.UpdateRun(ctx, cur, RunStarted); err != nil {
			return err
		}
		*r = *cur
		return nil
	})
}

func ptr[T any](v T) *T { return &v }

func finished(st RunState) RunState {
	st.Next, st.Manual = NextDone, nil
	return st
}

// runContext is what a step reads before acting.
type runContext struct {
	run      *Run
	contact  *Contact
	conv     *Conversation
	settings WorkspaceSettings
}

// loadRun reads the run and its contact; ok is false when there is nothing
// left to do (the run ended, or its contact was deleted).
func (s *deferred) loadRun(ctx context.Context, st RunState) (rc runContext, ok bool, err error) {
	if st.WorkspaceID == "" || !ValidID(st.ContactID) || !ValidID(st.RunID) {
		return rc, false, Invalid("run", "the run state names no workspace, contact or run")
	}
	rc.run, err = s.store.GetRun(ctx, st.WorkspaceID, st.ContactID, st.RunID)
	if IsKind(err, KindNotFound) {
		return rc, false, nil
	}
	if err != nil || !rc.run.Active() {
		return rc, false, err
	}
	rc.contact, err = s.store.GetContact(ctx, st.WorkspaceID, st.ContactID)
	if IsKind(err, KindNotFound) {
		return rc, false, s.endRun(ctx, rc.run, StopCanceled, false)
	}
	if err != nil {
		return rc, false, err
	}
	if id := rc.contact.ConversationID; id != "" {
		if rc.conv, err = s.store.GetConversation(ctx, st.WorkspaceID, id); err != nil && !IsKind(err, KindNotFound) {
			return rc, false, err
		}
	}
	rc.settings, err = s.settings(ctx, st.WorkspaceID)
	return rc, err == nil, err
}

// RunDripStep runs one due step of an enrollment (seed 002): it stops the
// enrollment if the contact replied or opted out, holds the step through
// quiet hours, and otherwise sends it and says when the next one is due.
func (s *Runner) RunDripStep(ctx context.Context, st RunState) (RunState, error) {
	rc, ok, err := s.loadRun(ctx, st)
	if err != nil || !ok {
		return finished(st), err
	}
	r := rc.run
	if st.Step >= len(r.Steps) {
		return finished(st), s.complete(ctx, r, st, runProgress{})
	}
	campaign := &Campaign{Steps: r.Steps}
	d := DecideDripStep(campaign, st.Step, r.StartedAt, rc.contact, rc.conv, rc.settings, s.now())
	switch {
	case d.Stop != "":
		return finished(st), s.endRun(ctx, r, d.Stop, false)
	case d.Hold:
		st.WaitUntil, st.Next = d.WaitUntil, NextWait
		return st, s.recordProgress(ctx, r, st, runProgress{nextAt: d.WaitUntil}, false)
	}
	step := r.Steps[st.Step]
	var p runProgress
	if d.Send {
		in := OutboundInput{Channel: step.Channel, Body: step.Body, Template: step.Template, Attachments: step.Attachments, Automated: true}
		switch _, err := s.createRunMessage(ctx, r, rc.contact, st.Step, in, false); {
		case IsKind(err, KindInvalid):
			p.lastError = skipped(st.Step, err)
		case err != nil:
			return st, err
		default:
			p.done = 1
		}
	} else {
		p.lastError = fmt.Sprintf("step %d skipped: the contact has do-not-disturb on %s", st.Step+1, step.Channel.ConsentChannel())
	}
	st.Step++
	if d.WaitUntil.IsZero() {
		return finished(st), s.complete(ctx, r, st, p)
	}
	st.WaitUntil, st.Next, p.nextAt = d.WaitUntil, NextWait, d.WaitUntil
	return st, s.recordProgress(ctx, r, st, p, false)
}

// createRunMessage adds a step's message to the contact's thread, like an
// agent's, under a key unique to the run and step so a retried step
// creates it once. A draft waits there for an agent.
func (s *Runner) createRunMessage(ctx context.Context, r *Run, contact *Contact, step int, in OutboundInput, draft bool) (*Message, error) {
	convID, err := s.runConversation(ctx, r, contact)
	if err != nil {
		return nil, err
	}
	settings, err := s.settings(ctx, r.WorkspaceID)
	if err != nil {
		return nil, err
	}
	build := func(conv *Conversation, now time.Time) (Message, error) {
		in := in
		// Steps' bodies are checked when saved; one saved before merge tags
		// existed, whose braces do not parse, is sent as written.
		if _, err := ParseTemplate(in.Body); err == nil {
			in.Render = true
			// agent.* tags are the conversation's assignee's.
			if err := s.renderOutbound(ctx, r.WorkspaceID, conv, contact, conv.AssigneeID, &in); err != nil {
				return Message{}, err
			}
		}
		m, err := s.prepareOutbound(ctx, conv, contact, settings, in, now)
		if err != nil {
			return m, err
		}
		m.Recipient, m.RunID = Address(contact, m.Channel), r.ID
		if draft {
			m.Status, m.SendAt, m.Timezone = MessageDraft, nil, ""
		}
		return m, nil
	}
	m, _, err := s.appendMessage(ctx, automationActor(r.WorkspaceID), convID, build, fmt.Sprintf("run\x00%s\x00%d", r.ID, step))
	if err != nil || m.Status != MessageScheduled {
		return m, err
	}
	return m, s.schedule(ctx, m)
}

// runConversation is the contact's thread, started if they have none yet;
// the run records it (saved with the step's progress).
func (s *core) runConversation(ctx context.Context, r *Run, contact *Contact) (string, error) {
	id := contact.ConversationID
	if id == "" {
		conv, _, err := s.conversationFor(ctx, contact)
		if err != nil {
			return "", err
		}
		id = conv.ID
	}
	r.ConversationID = id
	return id, nil
}

// skipped explains a step that could not take effect.
func skipped(step int, err error) string {
	var e *Error
	if errors.As(err, &e) {
		return fmt.Sprintf("step %d skipped: %s", step+1, e.Message)
	}
	return fmt.Sprintf("step %d skipped", step+1)
}
