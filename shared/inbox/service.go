package inbox

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"sync"
	"time"
)

// Service holds Parley's use cases. The HTTP API and the webhooks call it;
// it talks to the world only through its interfaces.
type Service struct {
	Store Store
	Clock Clock
	// Senders deliver outbound messages, one per channel.
	Senders map[Channel]ChannelSender
	// Scheduler fires scheduled and deferred sends.
	Scheduler Scheduler
	// Sequencer runs drip and automation executions.
	Sequencer Sequencer
	// settingsCache holds workspace settings for the webhook path.
	settingsCache sync.Map
}

// NewService returns a Service on the system clock.
func NewService(store Store) *Service { return &Service{Store: store, Clock: SystemClock{}} }

func (s *Service) now() time.Time { return s.Clock.Now().UTC().Truncate(time.Millisecond) }

// maxAttempts bounds optimistic-concurrency retries; past it the caller gets
// a 409 rather than a spin.
const maxAttempts = 10

// retryOnConflict reruns fn while it loses version races. Jittered,
// growing pauses spread out writers that collided, so a burst of agents on
// one conversation all get through instead of colliding again.
func retryOnConflict(fn func() error) error {
	var err error
	for attempt := range maxAttempts {
		if err = fn(); !errors.Is(err, ErrVersionConflict) {
			return err
		}
		backoff := time.Duration(5<<min(attempt, 5)) * time.Millisecond // 5ms .. 160ms
		time.Sleep(backoff/2 + rand.N(backoff))
	}
	return err
}

// ---- workspace and team ----

// Workspace returns the caller's workspace and its settings.
func (s *Service) Workspace(ctx context.Context, actor Actor) (*Workspace, error) {
	w, err := s.Store.GetWorkspace(ctx, actor.WorkspaceID)
	if err != nil {
		return nil, err
	}
	return w.Redacted(), nil
}

// UpdateSettings changes workspace settings (admins only).
func (s *Service) UpdateSettings(ctx context.Context, actor Actor, patch WorkspaceSettingsPatch) (*Workspace, error) {
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
	for name, t := range patch.Templates {
		if name == "" || len(name) > 512 || t.Params < 0 || t.Params > 10 || t.Language == "" {
			return nil, Invalid("templates", "template %q needs a name, a language and 0-10 parameters", name)
		}
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
	err := retryOnConflict(func() error {
		w, err := s.Store.GetWorkspace(ctx, actor.WorkspaceID)
		if err != nil {
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
		if patch.Templates != nil {
			w.Settings.Templates = patch.Templates
		}
		if patch.WebChatIdentitySecret != nil {
			w.Settings.WebChatIdentitySecret = *patch.WebChatIdentitySecret
		}
		w.UpdatedAt = s.now()
		out = w
		return s.Store.PutWorkspace(ctx, w)
	})
	s.settingsCache.Delete(actor.WorkspaceID)
	if err != nil {
		return nil, err
	}
	return out.Redacted(), nil
}

// Users lists the workspace's team.
func (s *Service) Users(ctx context.Context, actor Actor) ([]*User, error) {
	return s.Store.ListUsers(ctx, actor.WorkspaceID)
}

// UserInput registers a team member; the id is the identity provider's
// subject (Cognito's sub), so tokens and assignments agree.
type UserInput struct {
	Name  string `json:"name"`
	Email string `json:"email"`
	Role  Role   `json:"role"`
}

// PutUser adds or updates a team member (admins only).
func (s *Service) PutUser(ctx context.Context, actor Actor, id string, in UserInput) (*User, error) {
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
	if err := s.Store.PutUser(ctx, u); err != nil {
		return nil, err
	}
	return u, nil
}

// ---- contacts ----

// CreateContact adds a contact; a phone or email already on another contact
// is a conflict.
func (s *Service) CreateContact(ctx context.Context, actor Actor, in ContactInput) (*Contact, error) {
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
	if err := s.Store.CreateContact(ctx, c); err != nil {
		return nil, err
	}
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

// GetContact returns one contact of the caller's workspace.
func (s *Service) GetContact(ctx context.Context, actor Actor, id string) (*Contact, error) {
	if !ValidID(id) {
		return nil, Errorf(KindNotFound, "contact %q not found", id)
	}
	return s.Store.GetContact(ctx, actor.WorkspaceID, id)
}

// UpdateContact applies a patch, retrying if someone else updated the contact.
func (s *Service) UpdateContact(ctx context.Context, actor Actor, id string, patch ContactPatch) (*Contact, error) {
	return s.mutateContact(ctx, actor, id, func(c *Contact) error { return applyContactPatch(c, patch) })
}

// SetConsent opts a contact in or out of a channel by hand, as an agent does
// on the contact page.
func (s *Service) SetConsent(ctx context.Context, actor Actor, id string, channel string, status ConsentStatus) (*Contact, error) {
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

func (s *Service) mutateContact(ctx context.Context, actor Actor, id string, change func(*Contact) error) (*Contact, error) {
	var out *Contact
	err := retryOnConflict(func() error {
		prev, err := s.GetContact(ctx, actor, id)
		if err != nil {
			return err
		}
		next := *prev
		next.Consent = cloneMap(prev.Consent)
		next.Marketing = cloneMap(prev.Marketing)
		if err := change(&next); err != nil {
			return err
		}
		capHandles(prev, &next)
		next.UpdatedAt = s.now()
		if err := s.Store.UpdateContact(ctx, prev, &next); err != nil {
			return err
		}
		out = &next
		return nil
	})
	if err != nil {
		return nil, err
	}
	if out.ConversationID != "" {
		s.syncContactName(ctx, out)
	}
	return out, nil
}

// syncContactName keeps the inbox row's denormalised name current. It is
// best effort: the contact is the source of truth.
func (s *Service) syncContactName(ctx context.Context, c *Contact) {
	_ = retryOnConflict(func() error {
		conv, err := s.Store.GetConversation(ctx, c.WorkspaceID, c.ConversationID)
		if err != nil || conv.ContactName == c.Name {
			return nil
		}
		conv.ContactName = c.Name
		return s.Store.PutConversation(ctx, conv)
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

// SearchContacts finds contacts by phone, email or name prefix.
func (s *Service) SearchContacts(ctx context.Context, actor Actor, q ContactQuery) ([]*Contact, error) {
	set := 0
	for _, v := range []string{q.Phone, q.Email, q.Name} {
		if v != "" {
			set++
		}
	}
	if set != 1 {
		return nil, Invalid("query", "search by exactly one of phone, email or name")
	}
	one := func(c *Contact, err error) ([]*Contact, error) {
		if IsKind(err, KindNotFound) {
			return []*Contact{}, nil
		}
		if err != nil {
			return nil, err
		}
		return []*Contact{c}, nil
	}
	switch {
	case q.Phone != "":
		p, err := NormalizePhone("phone", q.Phone)
		if err != nil {
			return nil, err
		}
		return one(s.Store.FindContactByPhone(ctx, actor.WorkspaceID, p))
	case q.Email != "":
		e, err := NormalizeEmail("email", q.Email)
		if err != nil {
			return nil, err
		}
		return one(s.Store.FindContactByEmail(ctx, actor.WorkspaceID, e))
	}
	prefix := NameKey(q.Name)
	if len(prefix) > maxNameLen {
		return nil, Invalid("name", "name prefix is too long")
	}
	limit := q.Limit
	if limit <= 0 || limit > MaxPageSize {
		limit = DefaultPageSize
	}
	return s.Store.SearchContactsByName(ctx, actor.WorkspaceID, prefix, limit)
}
