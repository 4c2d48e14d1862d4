package inbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// HandleEvent applies a domain event to sequences: first to the contact's
// active runs (a reply stops drips, an opt-out exits every run, a purchase
// converts them, a new cart abandonment exits the previous cart run), then
// to the automations it triggers. Events arrive at least once and in any
// order; every effect is idempotent.
func (s *Runner) HandleEvent(ctx context.Context, e Event) error {
	if e.ContactID == "" || e.WorkspaceID == "" || !slices.Contains(SequenceEvents, e.Type) {
		return nil
	}
	if e.Type == EventRunStarted {
		return s.startExecution(ctx, e)
	}
	runs, err := s.store.ContactRuns(ctx, e.WorkspaceID, e.ContactID)
	if err != nil {
		return err
	}
	active := map[string]bool{} // automations the contact is still in
	for _, r := range runs {
		if !r.Active() {
			continue
		}
		if reason := stopsRun(e, r); reason != "" {
			if err := s.endRun(ctx, r, reason, true); err != nil {
				return err
			}
			continue
		}
		active[r.SequenceID] = true
	}
	automations, err := s.store.ListAutomations(ctx, e.WorkspaceID)
	if err != nil {
		return err
	}
	for _, a := range automations {
		if !a.Enabled || !a.Trigger.Matches(e) {
			continue
		}
		// A contact goes through an automation once at a time; a repeated
		// trigger while they are in it starts nothing (a cart abandonment
		// has already exited the previous run above).
		if active[a.ID] && !ownRun(runs, a.ID, e.ID) {
			continue
		}
		if err := s.startAutomationRun(ctx, a, e); err != nil {
			return err
		}
	}
	return nil
}

// stopsRun says whether and why an event ends an active run.
func stopsRun(e Event, r *Run) StopReason {
	if r.TriggerEventID == e.ID {
		return "" // the event that started it (redelivered)
	}
	startedBefore := r.StartedAt.Before(e.OccurredAt)
	if r.TriggeredAt != nil {
		startedBefore = r.TriggeredAt.Before(e.OccurredAt)
	}
	switch e.Type {
	case EventMessageReceived:
		if r.Kind == SequenceDrip && e.Kind == KindMessage && startedBefore {
			return StopReplied
		}
	case EventContactOptedOut:
		return StopOptedOut
	case EventOrderPlaced:
		if startedBefore {
			return StopConverted
		}
	case EventCartAbandoned:
		if r.Trigger == TriggerCartAbandoned && startedBefore {
			return StopRestarted
		}
	}
	return ""
}

func ownRun(runs []*Run, automationID, eventID string) bool {
	for _, r := range runs {
		if r.SequenceID == automationID && r.TriggerEventID == eventID {
			return true
		}
	}
	return false
}

// startExecution starts a new run's execution. Runs are written first and
// started from their run.started event (the table stream), so a run whose
// writer stopped right after the write still gets its execution. A run
// that ended meanwhile (canceled, or a reply) is not started.
func (s *Runner) startExecution(ctx context.Context, e Event) error {
	r, err := s.store.GetRun(ctx, e.WorkspaceID, e.ContactID, e.RunID)
	if IsKind(err, KindNotFound) {
		return nil
	}
	if err != nil || !r.Active() {
		return err
	}
	return s.startRun(ctx, r)
}

// startAutomationRun writes the run an event triggers (its run.started
// event starts the execution); the run id comes from the event id, so a
// redelivered event finds its run.
func (s *Runner) startAutomationRun(ctx context.Context, a *Automation, e Event) error {
	contact, err := s.store.GetContact(ctx, e.WorkspaceID, e.ContactID)
	if IsKind(err, KindNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	now := s.now()
	at := e.OccurredAt
	r := &Run{ID: keyedID(e.WorkspaceID, "auto\x00"+a.ID+"\x00"+e.ID, e.OccurredAt), WorkspaceID: e.WorkspaceID, Kind: SequenceAutomation,
		SequenceID: a.ID, SequenceName: a.Name, ContactID: contact.ID, ConversationID: contact.ConversationID, Status: RunStarted,
		Trigger: a.Trigger.Type, TriggerEventID: e.ID, TriggeredAt: &at, Reference: e.Reference, StartedBy: automationUser,
		StartedAt: now, UpdatedAt: now}
	r.Execution = ExecutionName(SequenceAutomation, r.ID)
	if err := s.store.CreateRun(ctx, r); !IsKind(err, KindConflict) {
		return err
	}
	return nil // written by an earlier delivery of the event
}

// ExternalEvent is what a shop or another system posts: an order, an
// abandoned cart, a contact added to one of its lists, or a signup (a
// form) on a channel. The contact is named by id, or by phone or email (a
// new one is created).
type ExternalEvent struct {
	ID         string          `json:"id"`
	Type       EventType       `json:"type"`
	OccurredAt *time.Time      `json:"occurredAt"`
	Contact    ExternalContact `json:"contact"`
	// Reference is the order or cart id; List the list's name.
	Reference string `json:"reference"`
	List      string `json:"list"`
	// Channel is what a contact.subscribed signs up to; Marketing says the
	// signup also agreed to marketing messages there.
	Channel   Channel `json:"channel"`
	Marketing bool    `json:"marketing"`
}

type ExternalContact struct {
	ID    string `json:"id"`
	Phone string `json:"phone"`
	Email string `json:"email"`
	Name  string `json:"name"`
}

const maxExternalIDLen = 128

// AcceptExternalEvent checks an external event and resolves its contact,
// returning the domain event to publish. Its id is derived from the
// sender's, so a redelivery publishes the same event.
func (s *Intake) AcceptExternalEvent(ctx context.Context, workspaceID string, in ExternalEvent) (Event, error) {
	in.ID = strings.TrimSpace(in.ID)
	if in.ID == "" || len(in.ID) > maxExternalIDLen || !utf8.ValidString(in.ID) {
		return Event{}, Invalid("id", "an event needs an id of 1 to %d characters, unique per event, so redeliveries are recognised", maxExternalIDLen)
	}
	switch in.Type {
	case EventOrderPlaced, EventCartAbandoned:
	case EventContactAddedToList:
		if in.List = strings.TrimSpace(in.List); in.List == "" || utf8.RuneCountInString(in.List) > maxNameLen {
			return Event{}, Invalid("list", "contact.added_to_list needs the list's name")
		}
	case EventContactSubscribed:
		if in.Channel == "" {
			return Event{}, Invalid("channel", "contact.subscribed needs the channel the contact signed up to")
		}
		ch, err := parseChannel("channel", string(in.Channel))
		if err != nil {
			return Event{}, err
		}
		in.Channel = ch.ConsentChannel()
	default:
		return Event{}, Invalid("type", "unknown event type %q; use order.placed, cart.abandoned, contact.added_to_list or contact.subscribed", in.Type)
	}
	if in.Type != EventContactSubscribed && (in.Channel != "" || in.Marketing) {
		return Event{}, Invalid("channel", "channel and marketing belong to contact.subscribed only")
	}
	if len(in.Reference) > maxExternalIDLen {
		return Event{}, Invalid("reference", "reference is at most %d characters", maxExternalIDLen)
	}
	// Required: with the id it names the run an event starts, so a
	// redelivery finds the same run.
	if in.OccurredAt == nil {
		return Event{}, Invalid("occurredAt", "occurredAt is required: when the order, cart or list change happened")
	}
	now := s.now()
	at := in.OccurredAt.UTC()
	if at.After(now.Add(5*time.Minute)) || at.Before(now.Add(-7*24*time.Hour)) {
		return Event{}, Invalid("occurredAt", "occurredAt must be within the last 7 days and not in the future")
	}
	contact, err := s.externalContact(ctx, workspaceID, in.Contact)
	if err != nil {
		return Event{}, err
	}
	if in.Type == EventContactSubscribed {
		if err := s.subscribe(ctx, workspaceID, contact, in, at); err != nil {
			return Event{}, err
		}
	}
	sum := sha256.Sum256([]byte(workspaceID + "\x00" + in.ID))
	return Event{ID: "ext-" + hex.EncodeToString(sum[:16]), Type: in.Type, WorkspaceID: workspaceID, OccurredAt: at,
		ContactID: contact.ID, ConversationID: contact.ConversationID, List: in.List, Reference: in.Reference, Channel: in.Channel}, nil
}

// subscribe records a signup as consent on its channel, through the same
// path as keywords and the API: the first consent recorded there fires
// contact.opted_in, which starts contact.subscribed automations. Marketing
// is set first, so a welcome message sent at once already sees it; consent
// is recorded even when marketing cannot be (a contact item too large), and
// that error is returned after. A redelivery finds both recorded and writes
// nothing.
func (s *core) subscribe(ctx context.Context, ws string, c *Contact, in ExternalEvent, at time.Time) error {
	var marketingErr error
	if in.Marketing && !c.Marketing[in.Channel] {
		_, marketingErr = s.mutateContact(ctx, automationActor(ws), c.ID, func(c *Contact) error {
			if c.Marketing == nil {
				c.Marketing = map[Channel]bool{}
			}
			c.Marketing[in.Channel] = true
			return nil
		})
	}
	if _, err := s.changeConsent(ctx, ws, c.ID, ConsentRecord{Channel: in.Channel, Status: ConsentOptedIn,
		Source: ConsentSourceForm, ChangedAt: at, EventID: in.ID}); err != nil {
		return err
	}
	return marketingErr
}

func (s *core) externalContact(ctx context.Context, ws string, in ExternalContact) (*Contact, error) {
	if in.ID != "" {
		if !ValidID(in.ID) {
			return nil, Invalid("contact.id", "contact %q does not exist", in.ID)
		}
		c, err := s.store.GetContact(ctx, ws, in.ID)
		if IsKind(err, KindNotFound) {
			return nil, Invalid("contact.id", "contact %q does not exist", in.ID)
		}
		return c, err
	}
	if in.Phone == "" && in.Email == "" {
		return nil, Invalid("contact", "name the contact by id, phone or email")
	}
	var phone, email string
	var err error
	if in.Phone != "" {
		if phone, err = NormalizePhone("contact.phone", in.Phone); err != nil {
			return nil, err
		}
	}
	if in.Email != "" {
		if email, err = NormalizeEmail("contact.email", in.Email); err != nil {
			return nil, err
		}
	}
	for range maxAttempts {
		c, err := s.findContact(ctx, ws, phone, email)
		if !IsKind(err, KindNotFound) {
			return c, err
		}
		input := ContactInput{Name: in.Name}
		if phone != "" {
			input.Phones = []string{phone}
		}
		if email != "" {
			input.Emails = []string{email}
		}
		c, err = s.createContact(ctx, automationActor(ws), input)
		if !IsKind(err, KindConflict) {
			return c, err
		}
		// Someone created it meanwhile: find it again.
	}
	return nil, ErrVersionConflict
}

func (s *core) findContact(ctx context.Context, ws, phone, email string) (*Contact, error) {
	if phone != "" {
		c, err := s.store.FindContactByPhone(ctx, ws, phone)
		if !IsKind(err, KindNotFound) {
			return c, err
		}
	}
	if email != "" {
		return s.store.FindContactByEmail(ctx, ws, email)
	}
	return nil, Errorf(KindNotFound, "no such contact")
}
