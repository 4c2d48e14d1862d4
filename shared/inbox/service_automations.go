package inbox

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// AutomationInput creates an automation; AutomationPatch changes one
// (Steps, when given, replaces them all).
type AutomationInput struct {
	Name    string           `json:"name"`
	Enabled *bool            `json:"enabled"`
	Trigger Trigger          `json:"trigger"`
	Steps   []AutomationStep `json:"steps"`
}

type AutomationPatch struct {
	Name    *string           `json:"name"`
	Enabled *bool             `json:"enabled"`
	Trigger *Trigger          `json:"trigger"`
	Steps   *[]AutomationStep `json:"steps"`
}

func (s *core) automationRefs(ctx context.Context, ws string) (AutomationRefs, error) {
	settings, err := s.settings(ctx, ws)
	if err != nil {
		return AutomationRefs{}, err
	}
	labels, err := s.store.ListLabels(ctx, ws)
	if err != nil {
		return AutomationRefs{}, err
	}
	users, err := s.store.ListUsers(ctx, ws)
	if err != nil {
		return AutomationRefs{}, err
	}
	templates, err := s.stepTemplates(ctx, ws, settings)
	if err != nil {
		return AutomationRefs{}, err
	}
	return AutomationRefs{Settings: settings, Templates: templates,
		LabelExists: func(id string) bool {
			for _, l := range labels {
				if l.ID == id {
					return true
				}
			}
			return false
		},
		UserExists: func(id string) bool {
			for _, u := range users {
				if u.ID == id {
					return true
				}
			}
			return false
		}}, nil
}

// CreateAutomation adds an automation (admins only); it is enabled unless
// the input says otherwise.
func (s *Desk) CreateAutomation(ctx context.Context, actor Actor, in AutomationInput) (*Automation, error) {
	if err := requireAdmin(actor, "manage automations"); err != nil {
		return nil, err
	}
	refs, err := s.automationRefs(ctx, actor.WorkspaceID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	a := &Automation{ID: NewID(now), WorkspaceID: actor.WorkspaceID, Name: in.Name, Enabled: in.Enabled == nil || *in.Enabled,
		Trigger: in.Trigger, Steps: in.Steps, CreatedAt: now, UpdatedAt: now}
	if err := s.copySnippets(ctx, actor.WorkspaceID, a.Steps); err != nil {
		return nil, err
	}
	if err := a.Validate(refs); err != nil {
		return nil, err
	}
	return a, s.store.PutAutomation(ctx, a)
}

func (s *Desk) GetAutomation(ctx context.Context, actor Actor, id string) (*Automation, error) {
	if !ValidID(id) {
		return nil, Errorf(KindNotFound, "automation %q not found", id)
	}
	return s.store.GetAutomation(ctx, actor.WorkspaceID, id)
}

func (s *Desk) Automations(ctx context.Context, actor Actor) ([]*Automation, error) {
	return s.store.ListAutomations(ctx, actor.WorkspaceID)
}

// UpdateAutomation changes an automation (admins only). Running runs carry
// on with the new steps from the step they are at.
func (s *Desk) UpdateAutomation(ctx context.Context, actor Actor, id string, p AutomationPatch) (*Automation, error) {
	if err := requireAdmin(actor, "manage automations"); err != nil {
		return nil, err
	}
	refs, err := s.automationRefs(ctx, actor.WorkspaceID)
	if err != nil {
		return nil, err
	}
	var out *Automation
	err = retryOnConflict(ctx, func() error {
		a, err := s.GetAutomation(ctx, actor, id)
		if err != nil {
			return err
		}
		if p.Name != nil {
			a.Name = *p.Name
		}
		if p.Enabled != nil {
			a.Enabled = *p.Enabled
		}
		if p.Trigger != nil {
			a.Trigger = *p.Trigger
		}
		if p.Steps != nil {
			a.Steps = append([]AutomationStep(nil), *p.Steps...)
			if err := s.copySnippets(ctx, actor.WorkspaceID, a.Steps); err != nil {
				return err
			}
		}
		if err := a.Validate(refs); err != nil {
			return err
		}
		a.UpdatedAt = s.now()
		out = a
		return s.store.PutAutomation(ctx, a)
	})
	return out, err
}

// DeleteAutomation removes an automation with no active runs (admins only).
func (s *Desk) DeleteAutomation(ctx context.Context, actor Actor, id string) error {
	if err := requireAdmin(actor, "manage automations"); err != nil {
		return err
	}
	a, err := s.GetAutomation(ctx, actor, id)
	if err != nil {
		return err
	}
	if err := s.refuseActiveRuns(ctx, actor.WorkspaceID, id); err != nil {
		return err
	}
	return s.store.DeleteAutomation(ctx, a)
}

func (s *core) refuseActiveRuns(ctx context.Context, ws, sequenceID string) error {
	counts, err := s.store.RunCounts(ctx, ws, sequenceID)
	if err != nil {
		return err
	}
	if n := counts[RunStarted]; n > 0 {
		return Errorf(KindConflict, "%d contacts are still in it; cancel their runs (or disable it and let them finish) first", n)
	}
	return nil
}

// RunAutomationStep runs an automation from st.Step until it must wait (a
// delay, or quiet hours before a send), park on a manual action, or end.
// Each step's effect is idempotent, so a retried invocation repeats none.
func (s *Runner) RunAutomationStep(ctx context.Context, st RunState) (RunState, error) {
	rc, ok, err := s.loadRun(ctx, st)
	if err != nil || !ok {
		return finished(st), err
	}
	a, err := s.store.GetAutomation(ctx, st.WorkspaceID, rc.run.SequenceID)
	if IsKind(err, KindNotFound) {
		return finished(st), s.endRun(ctx, rc.run, StopCanceled, false)
	}
	if err != nil {
		return st, err
	}
	var p runProgress
	if st.Manual != nil {
		// Back from a manual action: it counts as done either way.
		st.Step++
		st.Manual = nil
		p.done++
	}
	for ; st.Step < len(a.Steps); st.Step++ {
		step := a.Steps[st.Step]
		now := s.now()
		switch step.Type {
		case StepDelay:
			st.WaitUntil, st.Next, p.nextAt = now.Add(time.Duration(step.Minutes)*time.Minute), NextWait, now.Add(time.Duration(step.Minutes)*time.Minute)
			st.Step++
			p.done++
			return st, s.recordProgress(ctx, rc.run, st, p, false)
		case StepManual:
			st.Next = NextManual
			return st, s.recordProgress(ctx, rc.run, st, p, false)
		case StepMessage:
			if rc.contact.ConsentOn(step.Channel).Status == ConsentOptedOut {
				return finished(st), s.endRun(ctx, rc.run, StopOptedOut, false)
			}
			draft := step.Mode == ModeDraft || (step.Mode == ModeSendNow && !rc.contact.Marketing[step.Channel.ConsentChannel()])
			if step.Mode == ModeSendNow && !draft {
				if q, ok := rc.settings.QuietHours[step.Channel.ConsentChannel()]; ok {
					if next := q.NextAllowed(now, ContactLocation(rc.contact, rc.settings.Timezone)); next.After(now) {
						st.WaitUntil, st.Next, p.nextAt = next, NextWait, next
						return st, s.recordProgress(ctx, rc.run, st, p, false)
					}
				}
			}
			in := OutboundInput{Channel: step.Channel, Body: step.Body, Template: step.Template, Attachments: step.Attachments,
				Automated: step.Mode == ModeSendNow}
			if step.Mode == ModeSchedule {
				at := now.Add(time.Duration(step.Minutes) * time.Minute)
				in.SendAt = &at
			}
			err = s.runEffect(&p, st.Step, func() error {
				_, err := s.createRunMessage(ctx, rc.run, rc.contact, st.Step, in, draft)
				return err
			})
		case StepTag:
			err = s.runEffect(&p, st.Step, func() error {
				c, err := s.mutateContact(ctx, automationActor(st.WorkspaceID), rc.contact.ID, func(c *Contact) error {
					for _, t := range step.Add {
						if !containsFold(c.Tags, t) {
							c.Tags = append(c.Tags, t)
						}
					}
					for _, t := range step.Remove {
						c.Tags = removeFold(c.Tags, t)
					}
					tags, err := normalizeTags(c.Tags) // a full contact skips the step
					c.Tags = tags
					return err
				})
				if err == nil {
					rc.contact = c
				}
				return err
			})
		case StepLabel, StepAssign:
			err = s.runEffect(&p, st.Step, func() error {
				convID, err := s.runConversation(ctx, rc.run, rc.contact)
				if err != nil {
					return err
				}
				if step.Type == StepAssign {
					_, err = s.assign(ctx, automationActor(st.WorkspaceID), convID, step.AssigneeID)
					return err
				}
				_, err = s.mutateConversation(ctx, automationActor(st.WorkspaceID), convID, func(c *Conversation) error {
					for _, l := range step.Add {
						if err := addLabel(c, l); err != nil {
							return err
						}
					}
					for _, l := range step.Remove {
						c.Labels = removeValue(c.Labels, l)
					}
					return nil
				})
				return err
			})
		}
		if err != nil {
			return st, err
		}
	}
	return finished(st), s.complete(ctx, rc.run, st, p)
}

// runEffect runs one step's effect. A refusal (the contact cannot be
// reached on the channel, a label was deleted…) skips the step and is
// recorded on the run; anything else is returned for the task to retry.
func (s *Runner) runEffect(p *runProgress, step int, effect func() error) error {
	err := effect()
	switch {
	case err == nil:
		p.done++
		return nil
	case IsKind(err, KindInvalid), IsKind(err, KindNotFound):
		p.lastError = skipped(step, err)
		return nil
	}
	return err
}

func removeFold(list []string, v string) []string {
	out := list[:0:0]
	for _, x := range list {
		if !strings.EqualFold(x, v) {
			out = append(out, x)
		}
	}
	return out
}

// ParkManual puts a manual action in its assignee's queue with the task
// token its run waits on (seed 001).
func (s *Runner) ParkManual(ctx context.Context, st RunState, token string) error {
	if token == "" {
		return Invalid("taskToken", "a manual action needs a task token")
	}
	rc, ok, err := s.loadRun(ctx, st)
	if err != nil {
		return err
	}
	if !ok {
		// Nothing waits for the task any more: let the run go on to its end.
		return s.resume(ctx, token, TaskOutcome{Status: TaskCanceled})
	}
	a, err := s.store.GetAutomation(ctx, st.WorkspaceID, rc.run.SequenceID)
	if err != nil {
		return err
	}
	if st.Step >= len(a.Steps) || a.Steps[st.Step].Type != StepManual {
		return s.resume(ctx, token, TaskOutcome{Status: TaskSkipped})
	}
	step := a.Steps[st.Step]
	id := keyedID(st.WorkspaceID, "task\x00"+rc.run.ID+"\x00"+strconv.Itoa(st.Step), rc.run.StartedAt)
	if prev, err := s.store.GetTask(ctx, st.WorkspaceID, id); err == nil && prev.Status != TaskOpen {
		// Finished before this retry re-parked the run.
		return s.resume(ctx, token, TaskOutcome{TaskID: id, Status: prev.Status})
	} else if err != nil && !IsKind(err, KindNotFound) {
		return err
	}
	assignee := step.AssigneeID
	if assignee == "" && rc.conv != nil {
		assignee = rc.conv.AssigneeID
	}
	if assignee == "" {
		assignee = Unassigned
	}
	t := &ManualTask{ID: id, WorkspaceID: st.WorkspaceID, AssigneeID: assignee, Action: step.Action, Instructions: step.Instructions,
		Status: TaskOpen, AutomationID: a.ID, AutomationName: a.Name, RunID: rc.run.ID, Step: st.Step,
		ContactID: rc.contact.ID, ConversationID: rc.contact.ConversationID, Token: token, CreatedAt: s.now()}
	if err := s.store.PutTask(ctx, t); err != nil {
		return err
	}
	return retryOnConflict(ctx, func() error {
		cur, err := s.store.GetRun(ctx, st.WorkspaceID, st.ContactID, st.RunID)
		if err != nil || !cur.Active() {
			return err
		}
		cur.TaskID, cur.NextAt, cur.UpdatedAt = id, nil, s.now()
		return s.store.UpdateRun(ctx, cur, RunStarted)
	})
}

func (s *deferred) resume(ctx context.Context, token string, out TaskOutcome) error {
	raw, err := json.Marshal(out)
	if err != nil {
		return Internal(err)
	}
	return s.sequencer.ResumeTask(ctx, token, raw)
}

// Tasks lists open manual actions: the caller's queue by default, the
// shared Unassigned queue, or (admins) another member's.
func (s *Desk) Tasks(ctx context.Context, actor Actor, assignee string, p PageRequest) (Page[*ManualTask], error) {
	switch assignee {
	case "", "me":
		assignee = actor.UserID
	case Unassigned:
	default:
		if assignee != actor.UserID {
			if err := requireAdmin(actor, "see another member's queue"); err != nil {
				return Page[*ManualTask]{}, err
			}
		}
	}
	if err := normalizePage(&p); err != nil {
		return Page[*ManualTask]{}, err
	}
	return s.store.ListTasks(ctx, actor.WorkspaceID, assignee, p)
}

// FinishTask marks a manual action done or skipped; either resumes its run.
// Finishing it again the same way returns it unchanged.
func (s *Desk) FinishTask(ctx context.Context, actor Actor, id string, status TaskStatus) (*ManualTask, error) {
	if status != TaskDone && status != TaskSkipped {
		return nil, Invalid("status", "a task is marked done or skipped")
	}
	if !ValidID(id) {
		return nil, Errorf(KindNotFound, "task %q not found", id)
	}
	t, err := s.store.GetTask(ctx, actor.WorkspaceID, id)
	if err != nil {
		return nil, err
	}
	if t.AssigneeID != actor.UserID && t.AssigneeID != Unassigned && !actor.IsAdmin() {
		return nil, Errorf(KindForbidden, "the task is in another member's queue")
	}
	if t.Status == status {
		return t, nil
	}
	if t.Status != TaskOpen {
		return nil, Errorf(KindConflict, "the task is already %s", t.Status)
	}
	// Resume first: if marking it fails, a retry finds it open and the used
	// token is ignored.
	if err := s.resume(ctx, t.Token, TaskOutcome{TaskID: t.ID, Status: status}); err != nil {
		return nil, err
	}
	return t, s.closeTaskAs(ctx, t, status, actor.UserID)
}

func (s *core) closeTask(ctx context.Context, ws, id string, status TaskStatus, by string) error {
	t, err := s.store.GetTask(ctx, ws, id)
	if IsKind(err, KindNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return s.closeTaskAs(ctx, t, status, by)
}

func (s *core) closeTaskAs(ctx context.Context, t *ManualTask, status TaskStatus, by string) error {
	if t.Status != TaskOpen {
		return nil
	}
	now := s.now()
	t.Status, t.DoneAt, t.DoneBy = status, &now, by
	err := s.store.UpdateTask(ctx, t, TaskOpen)
	if IsKind(err, KindConflict) {
		return nil // someone else closed it first
	}
	return err
}

// copySnippets checks the steps' uploaded files and fills the message
// steps that name a snippet with its body
// and attachments. One read per such step, when the automation is saved;
// running it reads nothing more.
func (s *core) copySnippets(ctx context.Context, ws string, steps []AutomationStep) error {
	for i := range steps {
		st := &steps[i]
		atts, err := s.storedAttachments(ctx, ws, st.Attachments)
		if err != nil {
			return err
		}
		st.Attachments = atts
		if st.SnippetID == "" || st.Type != StepMessage {
			continue
		}
		field := fmt.Sprintf("steps[%d].snippetId", i)
		if st.Template != nil {
			return Invalid(field, "a message step sends a snippet or a template, not both")
		}
		if !ValidID(st.SnippetID) {
			return Invalid(field, "snippet %q does not exist in this workspace", st.SnippetID)
		}
		sn, err := s.store.GetSnippet(ctx, ws, st.SnippetID)
		if IsKind(err, KindNotFound) {
			return Invalid(field, "snippet %q does not exist in this workspace", st.SnippetID)
		}
		if err != nil {
			return err
		}
		if sn.Channel != "" && sn.Channel.ConsentChannel() != st.Channel.ConsentChannel() {
			return Invalid(field, "snippet %s is for %s only; this step sends on %s", sn.Shortcut, sn.Channel, st.Channel)
		}
		st.Body, st.Attachments = sn.Body, append([]Attachment(nil), sn.Attachments...)
	}
	bodies := make([]string, 0, len(steps))
	for _, st := range steps {
		bodies = append(bodies, st.Body)
	}
	return s.checkCustomTags(ctx, ws, bodies...)
}
