package inbox

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"sync"
	"time"
)

// Parley's use cases, one type per caller. Each constructor takes what its
// caller needs, so a Lambda cannot be wired without a dependency:
//   - Desk serves agents (the HTTP API the SPA calls);
//   - Intake files what providers and visitors send (webhooks, mail);
//   - WebChat serves the visitors of a website's chat (webhooks);
//   - Dispatch delivers outbound messages (the sender function);
//   - Runner advances drip and automation runs (the sequences function).

// Desk is what agents do from the SPA: read, assign, label, comment, send,
// schedule, and manage contacts, sequences and the workspace.
type Desk struct{ deferred }

// NewDesk returns the agents' use cases.
func NewDesk(store Store, clock Clock, scheduler Scheduler, sequencer Sequencer) *Desk {
	return &Desk{deferred{core: newCore(store, clock), scheduler: scheduler, sequencer: sequencer}}
}

// Intake files what arrives from providers and web chat visitors:
// messages, delivery and read receipts, external events.
type Intake struct{ core }

// NewIntake returns the inbound use cases.
func NewIntake(store Store, clock Clock) *Intake {
	return &Intake{core: newCachedCore(store, clock)}
}

// WebChat serves a website's chat visitors: their history, presence and
// email identity. It needs an email sender for verification codes.
type WebChat struct {
	core
	email ChannelSender
}

// NewWebChat returns the web chat visitors' use cases.
func NewWebChat(store Store, clock Clock, email ChannelSender) *WebChat {
	return &WebChat{core: newCachedCore(store, clock), email: email}
}

// newCachedCore is a core that caches workspace settings. Inbound webhooks
// and visitors arrive in bursts and read settings for every request; a
// minute's staleness is harmless there (keyword replies, opt-out wording,
// the chat's identity secret). Every other path reads them fresh: quiet
// hours and templates an admin just changed in another Lambda must hold
// at once.
func newCachedCore(store Store, clock Clock) core {
	c := newCore(store, clock)
	c.settingsCache = &sync.Map{}
	return c
}

// Dispatch hands stored outbound messages to their channel's sender, or
// defers them to the contact's allowed hours.
type Dispatch struct {
	core
	senders   map[Channel]ChannelSender
	scheduler Scheduler
}

// NewDispatch returns the delivery use case. senders must cover every
// channel Parley sends on.
func NewDispatch(store Store, clock Clock, senders map[Channel]ChannelSender, scheduler Scheduler) *Dispatch {
	return &Dispatch{core: newCore(store, clock), senders: senders, scheduler: scheduler}
}

// Runner advances drip and automation runs: it starts and ends executions
// on domain events and performs each step.
type Runner struct{ deferred }

// NewRunner returns the sequences' use cases.
func NewRunner(store Store, clock Clock, scheduler Scheduler, sequencer Sequencer) *Runner {
	return &Runner{deferred{core: newCore(store, clock), scheduler: scheduler, sequencer: sequencer}}
}

// core is what every use case shares: the store, the clock and, on the
// inbound path only, a cache of workspace settings.
type core struct {
	store         Store
	clock         Clock
	settingsCache *sync.Map // nil: read settings on every call
	// media checks uploaded files before they are sent; nil where the
	// function only re-sends messages already checked.
	media MediaStore
}

// UseMedia sets the store that keeps attachments' bytes.
func (s *core) UseMedia(m MediaStore) { s.media = m }

func newCore(store Store, clock Clock) core {
	return core{store: store, clock: clock}
}

// deferred adds what acts later, which agents and runs both start and stop:
// scheduled sends and sequence executions.
type deferred struct {
	core
	scheduler Scheduler
	sequencer Sequencer
}

// now is the clock's time in UTC at millisecond precision; a core without
// a clock uses the system's.
func (s *core) now() time.Time {
	var c Clock = SystemClock{}
	if s.clock != nil {
		c = s.clock
	}
	return c.Now().UTC().Truncate(time.Millisecond)
}

// maxAttempts bounds optimistic-concurrency retries; past it the caller gets
// a 409 rather than a spin.
const maxAttempts = 10

// retryOnConflict reruns fn while it loses version races. Jittered,
// growing pauses spread out writers that collided, so a burst of agents on
// one conversation all get through instead of colliding again. A canceled
// ctx ends the pause and returns its error.
func retryOnConflict(ctx context.Context, fn func() error) error {
	var err error
	for attempt := range maxAttempts {
		if err = fn(); !errors.Is(err, ErrVersionConflict) {
			return err
		}
		backoff := time.Duration(5<<min(attempt, 5)) * time.Millisecond // 5ms .. 160ms
		if serr := sleep(ctx, backoff/2+rand.N(backoff)); serr != nil {
			return serr
		}
	}
	return err
}

// sleep pauses for d, or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ---- workspace and team ----

// Workspace returns the caller's workspace and its settings.
func (s *Desk) Workspace(ctx context.Context, actor Actor) (*Workspace, error) {
	w, err := s.store.GetWorkspace(ctx, actor.WorkspaceID)
	if err != nil {
		return nil, err
	}
	return w.Redacted(), nil
}

// UpdateSettings changes workspace settings (admins only).
func (s *Desk) UpdateSettings(ctx context.Context, actor Actor, patch WorkspaceSettingsPatch) (*Workspace, error) {
	if err := requireAdmin(actor, "change workspace settings"); err != nil {
		return nil, err
	}
	if patch.Timezone != nil {
		if err := validateTimezone("timezone", *patch.Timezone); err != nil {
			return nil, err
		}
	}
	if patch.HelpReply != nil {
		if _, err := validateBody(*patch.HelpReply, false); err != nil || len([]rune(*patch.HelpReply)) > 320 {
			return nil, Invalid("helpReply", "the help reply is at most 320 characters")
		}
	}
	if patch.ConsentMessage != nil {
		if _, err := validateBody(*patch.ConsentMessage, false); err != nil || len([]rune(*patch.ConsentMessage)) > 320 {
			return nil, Invalid("consentMessage", "the consent message is at most 320 characters")
		}
	}
	for ch, q := range patch.QuietHours {
		if !ch.Valid() {
			return nil, Invalid("quietHours", "unknown channel %q", ch)
		}
		if err := q.Validate(); err != nil {
			return nil, err
		}
	}
	if patch.WebChatIdentitySecret != nil {
		if err := validIdentitySecret(*patch.WebChatIdentitySecret); err != nil {
			return nil, err
		}
	}
	var widget *WidgetSettings
	if patch.Widget != nil {
		w := *patch.Widget
		if err := w.validate(); err != nil {
			return nil, err
		}
		if w != (WidgetSettings{}) {
			widget = &w
		}
	}
	if patch.Templates != nil {
		return nil, Invalid("templates", "templates have their own resource now: create them with POST /templates and list them with GET /templates")
	}
	var name string
	if patch.Name != nil {
		n, err := validateName("name", *patch.Name)
		if err != nil {
			return nil, err
		}
		if n == "" {
			return nil, Invalid("name", "workspace name cannot be empty")
		}
		name = n
	}
	var out *Workspace
	err := retryOnConflict(ctx, func() error {
		w, err := s.store.GetWorkspace(ctx, actor.WorkspaceID)
		if err != nil {
			return err
		}
		if err := checkIfMatch(patch.IfMatch, "workspace", w.Version); err != nil {
			return err
		}
		if patch.Name != nil {
			w.Name = name
		}
		if patch.ConversationDeletion != nil {
			w.Settings.ConversationDeletion = *patch.ConversationDeletion
		}
		if patch.Timezone != nil {
			w.Settings.Timezone = *patch.Timezone
		}
		if patch.CallRecording != nil {
			w.Settings.CallRecording = *patch.CallRecording
		}
		if patch.HelpReply != nil {
			w.Settings.HelpReply = *patch.HelpReply
		}
		if patch.QuietHours != nil {
			w.Settings.QuietHours = patch.QuietHours
		}
		if patch.RequireConsentMessage != nil {
			w.Settings.RequireConsentMessage = *patch.RequireConsentMessage
		}
		if patch.ConsentMessage != nil {
			w.Settings.ConsentMessage = *patch.ConsentMessage
		}
		if patch.WebChatIdentitySecret != nil {
			w.Settings.WebChatIdentitySecret = *patch.WebChatIdentitySecret
		}
		if patch.Widget != nil {
			w.Settings.Widget = widget
		}
		if patch.DeleteProviderMedia != nil {
			w.Settings.DeleteProviderMedia = *patch.DeleteProviderMedia
		}
		w.UpdatedAt = s.now()
		out = w
		return s.store.PutWorkspace(ctx, w)
	})
	if err != nil {
		return nil, err
	}
	return out.Redacted(), nil
}

// Users lists the workspace's team.
func (s *Desk) Users(ctx context.Context, actor Actor) ([]*User, error) {
	return s.store.ListUsers(ctx, actor.WorkspaceID)
}

// UserInput registers a team member; the id is the identity provider's
// subject (Cognito's sub), so tokens and assignments agree.
type UserInput struct {
	Name  string `json:"name"`
	Email string `json:"email"`
	Role  Role   `json:"role"`
}

// PutUser adds or updates a team member (admins only).
func (s *Desk) PutUser(ctx context.Context, actor Actor, id string, in UserInput) (*User, error) {
	if err := requireAdmin(actor, "manage the team"); err != nil {
		return nil, err
	}
	if id == "" || len(id) > 128 || strings.ContainsAny(id, "#/ ") {
		return nil, Invalid("id", "user id must be the identity provider's subject, at most 128 characters")
	}
	name, err := validateName("name", in.Name)
	if err != nil {
		return nil, err
	}
	email, err := NormalizeEmail("email", in.Email)
	if err != nil {
		return nil, err
	}
	if !in.Role.Valid() {
		return nil, Invalid("role", "role must be admin or agent")
	}
	u := &User{ID: id, WorkspaceID: actor.WorkspaceID, Name: name, Email: email, Role: in.Role, CreatedAt: s.now()}
	if err := s.store.PutUser(ctx, u); err != nil {
		return nil, err
	}
	return u, nil
}

// ---- contacts ----

// createContact adds a contact; a phone or email already on another contact
// is a conflict.
func (s *core) createContact(ctx context.Context, actor Actor, in ContactInput) (*Contact, error) {
	now := s.now()
	c := &Contact{ID: NewID(now), WorkspaceID: actor.WorkspaceID, CreatedAt: now, UpdatedAt: now}
	bot := false
	if in.BotEnabled != nil {
		bot = *in.BotEnabled
	}
	patch := ContactPatch{Name: &in.Name, Phones: &in.Phones, Emails: &in.Emails, Tags: &in.Tags, Timezone: &in.Timezone, Marketing: in.Marketing, BotEnabled: &bot, DND: in.DND}
	if err := applyContactPatch(c, patch); err != nil {
		return nil, err
	}
	if c.Name == "" && len(c.Phones) == 0 && len(c.Emails) == 0 {
		return nil, Invalid("name", "a contact needs a name, a phone number or an email address")
	}
	custom := make(map[string]*string, len(in.Custom))
	for k, v := range in.Custom {
		custom[k] = &v
	}
	if err := s.applyCustom(ctx, c, custom); err != nil {
		return nil, err
	}
	if err := s.store.CreateContact(ctx, c); err != nil {
		return nil, err
	}
	s.countTags(ctx, c.WorkspaceID, nil, c.Tags)
	return c, nil
}

func applyContactPatch(c *Contact, p ContactPatch) error {
	if p.Name != nil {
		n, err := validateName("name", *p.Name)
		if err != nil {
			return err
		}
		c.Name = n
	}
	if p.Phones != nil {
		phones, err := normalizePhones(*p.Phones)
		if err != nil {
			return err
		}
		c.Phones = phones
	}
	if p.Emails != nil {
		emails, err := normalizeEmails(*p.Emails)
		if err != nil {
			return err
		}
		c.Emails = emails
	}
	if p.Tags != nil {
		tags, err := normalizeTags(*p.Tags)
		if err != nil {
			return err
		}
		c.Tags = tags
	}
	if p.Timezone != nil {
		if err := validateTimezone("timezone", *p.Timezone); err != nil {
			return err
		}
		c.Timezone = *p.Timezone
	}
	if p.Marketing != nil {
		if err := validateMarketing(p.Marketing); err != nil {
			return err
		}
		if c.Marketing == nil {
			c.Marketing = map[Channel]bool{}
		}
		for ch, v := range p.Marketing {
			c.Marketing[ch] = v
		}
	}
	if p.BotEnabled != nil {
		c.BotEnabled = *p.BotEnabled
	}
	if p.DND != nil {
		if err := validateMarketing(p.DND); err != nil {
			return Invalid("dnd", "unknown channel in dnd")
		}
		if c.DND == nil {
			c.DND = map[Channel]bool{}
		}
		for ch, v := range p.DND {
			c.DND[ch] = v
		}
	}
	c.Normalize()
	return nil
}

// getContact returns one contact of the caller's workspace.
func (s *core) getContact(ctx context.Context, actor Actor, id string) (*Contact, error) {
	if !ValidID(id) {
		return nil, Errorf(KindNotFound, "contact %q not found", id)
	}
	return s.store.GetContact(ctx, actor.WorkspaceID, id)
}

// UpdateContact applies a patch, retrying if someone else updated the contact.
// With patch.IfMatch set, a contact at another version is left alone
// (KindPreconditionFailed).
func (s *Desk) UpdateContact(ctx context.Context, actor Actor, id string, patch ContactPatch) (*Contact, error) {
	return s.mutateContact(ctx, actor, id, func(c *Contact) error {
		if err := checkIfMatch(patch.IfMatch, "contact", c.Version); err != nil {
			return err
		}
		if err := applyContactPatch(c, patch); err != nil {
			return err
		}
		return s.applyCustom(ctx, c, patch.Custom)
	})
}

// SetConsent opts a contact in or out of a channel by hand, as an agent does
// on the contact page.
func (s *Desk) SetConsent(ctx context.Context, actor Actor, id string, channel string, status ConsentStatus) (*Contact, error) {
	ch, err := parseChannel("channel", channel)
	if err != nil {
		return nil, err
	}
	if !ValidID(id) {
		return nil, Errorf(KindNotFound, "contact %q not found", id)
	}
	return s.changeConsent(ctx, actor.WorkspaceID, id, ConsentRecord{Channel: ch, Status: status,
		Source: ConsentSourceManual, ChangedBy: actor.UserID, ChangedAt: s.now()})
}

func (s *core) mutateContact(ctx context.Context, actor Actor, id string, change func(*Contact) error) (*Contact, error) {
	var out *Contact
	var prevTags []string
	err := retryOnConflict(ctx, func() error {
		prev, err := s.getContact(ctx, actor, id)
		if err != nil {
			return err
		}
		prevTags = prev.Tags
		next := *prev
		next.Consent = cloneMap(prev.Consent)
		next.Marketing = cloneMap(prev.Marketing)
		if err := change(&next); err != nil {
			return err
		}
		capHandles(prev, &next)
		next.UpdatedAt = s.now()
		if err := s.store.UpdateContact(ctx, prev, &next); err != nil {
			return err
		}
		out = &next
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.countTags(ctx, out.WorkspaceID, prevTags, out.Tags)
	if out.ConversationID != "" {
		s.syncContactName(ctx, out)
	}
	return out, nil
}

// syncContactName keeps the inbox row's denormalised name and consent
// (the consent message's status changes on the contact item) current. It
// is best effort: the contact is the source of truth.
func (s *core) syncContactName(ctx context.Context, c *Contact) {
	row := c.RowConsent()
	_ = retryOnConflict(ctx, func() error {
		conv, err := s.store.GetConversation(ctx, c.WorkspaceID, c.ConversationID)
		if err != nil || (conv.ContactName == c.Name && conv.RowConsent.Equal(row) && conv.Bot == c.BotEnabled) {
			return nil
		}
		conv.ContactName, conv.RowConsent, conv.Bot = c.Name, row, c.BotEnabled
		return s.store.PutConversation(ctx, conv)
	})
}

func cloneMap[K comparable, V any](m map[K]V) map[K]V {
	if m == nil {
		return nil
	}
	out := make(map[K]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// ContactQuery searches contacts by exactly one of its fields.
type ContactQuery struct {
	Phone string
	Email string
	Name  string // a prefix, case-insensitive
	Limit int
}

// SearchContacts finds contacts by phone, email or name prefix, a page at
// a time: a phone or email matches at most one contact, so its page has
// no next cursor; a name prefix pages with one.
func (s *Desk) SearchContacts(ctx context.Context, actor Actor, q ContactQuery, p PageRequest) (Page[*Contact], error) {
	set := 0
	for _, v := range []string{q.Phone, q.Email, q.Name} {
		if v != "" {
			set++
		}
	}
	if set != 1 {
		return Page[*Contact]{}, Invalid("query", "search by exactly one of phone, email or name")
	}
	one := func(c *Contact, err error) (Page[*Contact], error) {
		if IsKind(err, KindNotFound) {
			return Page[*Contact]{Items: []*Contact{}}, nil
		}
		if err != nil {
			return Page[*Contact]{}, err
		}
		return Page[*Contact]{Items: []*Contact{c}}, nil
	}
	switch {
	case q.Phone != "":
		ph, err := NormalizePhone("phone", q.Phone)
		if err != nil {
			return Page[*Contact]{}, err
		}
		return one(s.store.FindContactByPhone(ctx, actor.WorkspaceID, ph))
	case q.Email != "":
		e, err := NormalizeEmail("email", q.Email)
		if err != nil {
			return Page[*Contact]{}, err
		}
		return one(s.store.FindContactByEmail(ctx, actor.WorkspaceID, e))
	}
	prefix := NameKey(q.Name)
	if len(prefix) > maxNameLen {
		return Page[*Contact]{}, Invalid("name", "name prefix is too long")
	}
	if q.Limit > 0 && p.Limit == 0 {
		p.Limit = q.Limit
	}
	p.Limit = pageLimit(p.Limit)
	return s.store.ListContactsByName(ctx, actor.WorkspaceID, prefix, p)
}
