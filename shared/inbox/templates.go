package inbox

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Templates for regulated channels (seed 001): a WhatsApp template is
// submitted to Meta and may be sent only once Meta approves it; an SMS
// template is the workspace's registered wording (US A2P 10DLC campaigns
// register their sample messages with the carriers, outside Parley), so it
// is approved when created.

// TemplateStatus is where a template stands with its channel's reviewer.
type TemplateStatus string

const (
	TemplateDraft    TemplateStatus = "draft"
	TemplatePending  TemplateStatus = "pending"
	TemplateApproved TemplateStatus = "approved"
	TemplateRejected TemplateStatus = "rejected"
	TemplatePaused   TemplateStatus = "paused"
	TemplateDisabled TemplateStatus = "disabled"
)

// TemplateCategory is Meta's category, which also prices a WhatsApp
// conversation.
type TemplateCategory string

const (
	CategoryMarketing      TemplateCategory = "marketing"
	CategoryUtility        TemplateCategory = "utility"
	CategoryAuthentication TemplateCategory = "authentication"
)

// TemplateComponent is one part of a template, as Meta has them: a header
// (text or media), the body, a footer, or the buttons.
type TemplateComponent struct {
	// Type is header, body, footer or buttons.
	Type string `json:"type"`
	// Format is a header's: text or location.
	Format string `json:"format,omitempty"`
	Text   string `json:"text,omitempty"`
	// Example holds sample values of the body's variables, one per
	// variable, which Meta's reviewers require.
	Example []string         `json:"example,omitempty"`
	Buttons []TemplateButton `json:"buttons,omitempty"`
}

// TemplateButton is one button: quick_reply, url or phone_number.
type TemplateButton struct {
	Type        string `json:"type"`
	Text        string `json:"text"`
	URL         string `json:"url,omitempty"`
	PhoneNumber string `json:"phoneNumber,omitempty"`
}

// MessageTemplate is a template of a regulated channel. It is unique per
// workspace, channel, name and language; its id is those three joined by
// dots (TemplateID).
type MessageTemplate struct {
	ID          string              `json:"id"`
	WorkspaceID string              `json:"workspaceId"`
	Channel     Channel             `json:"channel"`
	Name        string              `json:"name"`
	Language    string              `json:"language"`
	Category    TemplateCategory    `json:"category,omitempty"`
	Components  []TemplateComponent `json:"components"`
	// Variables is how many {{n}} the body takes, numbered from 1.
	Variables int            `json:"variables"`
	Status    TemplateStatus `json:"status"`
	// Reason is the reviewer's, for a rejected, paused or disabled template.
	Reason string `json:"reason,omitempty"`
	// ProviderID is Meta's template id.
	ProviderID string    `json:"providerId,omitempty"`
	CreatedAt  time.Time `json:"createdAt"`
	UpdatedAt  time.Time `json:"updatedAt"`
	Version    int64     `json:"version"`
}

// TemplateInput creates a template.
type TemplateInput struct {
	Channel    Channel             `json:"channel"`
	Name       string              `json:"name"`
	Language   string              `json:"language"`
	Category   TemplateCategory    `json:"category"`
	Components []TemplateComponent `json:"components"`
}

// TemplateStore keeps templates in the workspace's partition: one Query
// lists them, one lists a name's languages.
type TemplateStore interface {
	// CreateTemplate stores a new template; one with the same id fails
	// with KindConflict.
	CreateTemplate(ctx context.Context, t *MessageTemplate) error
	// PutTemplate replaces a template whose stored version is t.Version
	// (else ErrVersionConflict), and increments t.Version.
	PutTemplate(ctx context.Context, t *MessageTemplate) error
	GetTemplate(ctx context.Context, workspaceID, id string) (*MessageTemplate, error)
	// ListTemplates lists a channel's templates ("" for every channel),
	// by name and language.
	ListTemplates(ctx context.Context, workspaceID string, ch Channel) ([]*MessageTemplate, error)
	// FindTemplates lists the languages of one template name.
	FindTemplates(ctx context.Context, workspaceID string, ch Channel, name string) ([]*MessageTemplate, error)
	DeleteTemplate(ctx context.Context, t *MessageTemplate) error
}

// TemplateRegistry is the provider that reviews a channel's templates:
// Meta's message templates of the workspace's WhatsApp Business Account.
type TemplateRegistry interface {
	// Submit sends a template for review and returns the provider's id and
	// the status it reports (usually pending).
	Submit(ctx context.Context, workspaceID string, t *MessageTemplate) (providerID string, status TemplateStatus, err error)
	// List reads every template the provider holds, with its status.
	List(ctx context.Context, workspaceID string) ([]TemplateState, error)
	// Delete removes every language of a template name.
	Delete(ctx context.Context, workspaceID, name string) error
}

// TemplateState is what a provider says about one template: from a list,
// or from a status webhook.
type TemplateState struct {
	WorkspaceID string
	// AccountID is the WhatsApp Business Account a webhook names.
	AccountID  string
	ProviderID string
	Name       string
	Language   string
	Status     TemplateStatus
	Reason     string
	// Category is Meta's, when a list reports it.
	Category TemplateCategory
}

// TemplateID is a template's id: channel, name and language joined by dots,
// which none of them contains.
func TemplateID(ch Channel, name, language string) string {
	return string(ch) + "." + name + "." + language
}

var (
	templateNameRe = regexp.MustCompile(`^[a-z0-9_]{1,512}$`)
	// Meta's language codes: en, en_US, pt_BR, zh_HK, fil, es_419.
	templateLanguageRe = regexp.MustCompile(`^[a-z]{2,3}(_[A-Za-z0-9]{2,4})?$`)
	templateVarRe      = regexp.MustCompile(`\{\{\s*([^{}]*?)\s*\}\}`)
)

// Meta's limits on a template's parts.
const (
	maxTemplateBody    = 1024
	maxTemplateHeader  = 60
	maxTemplateFooter  = 60
	maxTemplateButtons = 10
	maxButtonText      = 25
	maxTemplateVars    = 10
)

// ValidTemplateID reports whether id has a template id's shape.
func ValidTemplateID(id string) bool {
	parts := strings.Split(id, ".")
	return len(parts) == 3 && (Channel(parts[0]) == ChannelWhatsApp || Channel(parts[0]) == ChannelSMS) &&
		templateNameRe.MatchString(parts[1]) && templateLanguageRe.MatchString(parts[2])
}

// templateVariables counts the positional variables of a text: they must be
// {{1}} to {{n}}, each at least once.
func templateVariables(field, text string) (int, error) {
	seen := map[int]bool{}
	max := 0
	for _, m := range templateVarRe.FindAllStringSubmatch(text, -1) {
		n, err := strconv.Atoi(m[1])
		if err != nil || n < 1 || n > maxTemplateVars {
			return 0, Invalid(field, "template variables are {{1}} to {{%d}}; %q is not one", maxTemplateVars, m[0])
		}
		seen[n] = true
		max = mathMax(max, n)
	}
	for i := 1; i <= max; i++ {
		if !seen[i] {
			return 0, Invalid(field, "template variables are numbered from {{1}} without gaps; {{%d}} is missing", i)
		}
	}
	return max, nil
}

func mathMax(a, b int) int {
	if a > b {
		return a
	}
	return b
}

func checkTemplateText(field, text string, limit int) error {
	if strings.TrimSpace(text) == "" || !utf8.ValidString(text) || utf8.RuneCountInString(text) > limit {
		return Invalid(field, "the text is 1 to %d characters", limit)
	}
	return nil
}

// NewMessageTemplate validates an input and builds the template it
// describes, in draft.
func NewMessageTemplate(workspaceID string, in TemplateInput, now time.Time) (*MessageTemplate, error) {
	if in.Channel != ChannelWhatsApp && in.Channel != ChannelSMS {
		return nil, Invalid("channel", "templates are for whatsapp or sms, not %q", in.Channel)
	}
	if !templateNameRe.MatchString(in.Name) {
		return nil, Invalid("name", "a template name is 1 to 512 lowercase letters, digits and underscores")
	}
	if !templateLanguageRe.MatchString(in.Language) {
		return nil, Invalid("language", "a template language is a code such as en or en_US")
	}
	switch in.Category {
	case CategoryMarketing, CategoryUtility, CategoryAuthentication:
	default:
		return nil, Invalid("category", "category is marketing, utility or authentication")
	}
	t := &MessageTemplate{ID: TemplateID(in.Channel, in.Name, in.Language), WorkspaceID: workspaceID, Channel: in.Channel,
		Name: in.Name, Language: in.Language, Category: in.Category, Status: TemplateDraft, CreatedAt: now, UpdatedAt: now}
	seen := map[string]bool{}
	order := map[string]int{"header": 0, "body": 1, "footer": 2, "buttons": 3}
	last := -1
	for i, c := range in.Components {
		field := fmt.Sprintf("components[%d]", i)
		pos, ok := order[c.Type]
		if !ok {
			return nil, Invalid(field+".type", "a component is a header, body, footer or buttons")
		}
		if seen[c.Type] || pos < last {
			return nil, Invalid(field+".type", "components are at most one header, body, footer and buttons, in that order")
		}
		seen[c.Type], last = true, pos
		if in.Channel == ChannelSMS && c.Type != "body" {
			return nil, Invalid(field+".type", "an SMS template is its body's wording only")
		}
		if c.Type != "buttons" && len(c.Buttons) > 0 {
			return nil, Invalid(field+".buttons", "only a buttons component has buttons")
		}
		if c.Type != "header" && c.Format != "" {
			return nil, Invalid(field+".format", "only a header has a format")
		}
		if c.Type != "body" && len(c.Example) > 0 {
			return nil, Invalid(field+".example", "only the body takes example values")
		}
		switch c.Type {
		case "header":
			switch c.Format {
			case "", "text":
				c.Format = "text"
				if err := checkTemplateText(field+".text", c.Text, maxTemplateHeader); err != nil {
					return nil, err
				}
				if templateVarRe.MatchString(c.Text) {
					return nil, Invalid(field+".text", "a header takes no variables in Parley; put them in the body")
				}
			case "location":
				if c.Text != "" {
					return nil, Invalid(field+".text", "a location header has no text")
				}
			default:
				// Meta reviews a media header with a sample uploaded through
				// its resumable upload API, which Parley does not drive yet.
				return nil, Invalid(field+".format", "a header's format is text or location")
			}
		case "body":
			if err := checkTemplateText(field+".text", c.Text, maxTemplateBody); err != nil {
				return nil, err
			}
			n, err := templateVariables(field+".text", c.Text)
			if err != nil {
				return nil, err
			}
			t.Variables = n
			if in.Channel == ChannelWhatsApp && len(c.Example) != n {
				return nil, Invalid(field+".example", "Meta's reviewers need one example value per variable: %d, got %d", n, len(c.Example))
			}
			if in.Channel == ChannelSMS && len(c.Example) > 0 {
				return nil, Invalid(field+".example", "an SMS template takes no example values")
			}
			for j, e := range c.Example {
				if strings.TrimSpace(e) == "" || utf8.RuneCountInString(e) > 200 {
					return nil, Invalid(fmt.Sprintf("%s.example[%d]", field, j), "an example value is 1 to 200 characters")
				}
			}
		case "footer":
			if err := checkTemplateText(field+".text", c.Text, maxTemplateFooter); err != nil {
				return nil, err
			}
			if templateVarRe.MatchString(c.Text) {
				return nil, Invalid(field+".text", "a footer takes no variables")
			}
		case "buttons":
			if c.Text != "" {
				return nil, Invalid(field+".text", "buttons have no text of their own")
			}
			if len(c.Buttons) == 0 || len(c.Buttons) > maxTemplateButtons {
				return nil, Invalid(field+".buttons", "a buttons component has 1 to %d buttons", maxTemplateButtons)
			}
			for j, b := range c.Buttons {
				bf := fmt.Sprintf("%s.buttons[%d]", field, j)
				if err := checkTemplateText(bf+".text", b.Text, maxButtonText); err != nil {
					return nil, err
				}
				switch b.Type {
				case "quick_reply":
					if b.URL != "" || b.PhoneNumber != "" {
						return nil, Invalid(bf, "a quick_reply button has only text")
					}
				case "url":
					if !strings.HasPrefix(b.URL, "https://") || len(b.URL) > 2000 || b.PhoneNumber != "" {
						return nil, Invalid(bf+".url", "a url button has an https:// url")
					}
					if templateVarRe.MatchString(b.URL) {
						return nil, Invalid(bf+".url", "a url button's url takes no variables in Parley")
					}
				case "phone_number":
					p, err := NormalizePhone(bf+".phoneNumber", b.PhoneNumber)
					if err != nil || b.URL != "" {
						return nil, Invalid(bf+".phoneNumber", "a phone_number button has a phone number")
					}
					b.PhoneNumber = p
				default:
					return nil, Invalid(bf+".type", "a button is quick_reply, url or phone_number")
				}
				c.Buttons[j] = b
			}
		}
		t.Components = append(t.Components, c)
	}
	if !seen["body"] {
		return nil, Invalid("components", "a template needs a body")
	}
	return t, nil
}

// Body is the template's body wording.
func (t *MessageTemplate) Body() string {
	for _, c := range t.Components {
		if c.Type == "body" {
			return c.Text
		}
	}
	return ""
}

// Fill is the body with its variables replaced by params.
func (t *MessageTemplate) Fill(params []string) string {
	return templateVarRe.ReplaceAllStringFunc(t.Body(), func(v string) string {
		n, err := strconv.Atoi(strings.TrimSpace(strings.Trim(v, "{}")))
		if err != nil || n < 1 || n > len(params) {
			return v
		}
		return params[n-1]
	})
}

// Providers' statuses, in the words of Meta's list and webhooks.
var metaTemplateStatuses = map[string]TemplateStatus{
	"APPROVED": TemplateApproved, "PENDING": TemplatePending, "IN_APPEAL": TemplatePending,
	"REJECTED": TemplateRejected, "PAUSED": TemplatePaused, "DISABLED": TemplateDisabled,
	"FLAGGED":    TemplateApproved, // still sendable; Meta may pause it later
	"REINSTATED": TemplateApproved, "PENDING_DELETION": TemplateDisabled, "DELETED": TemplateDisabled,
}

// ParseProviderTemplateStatus maps Meta's status or event word
// (APPROVED, PENDING, REJECTED, PAUSED, DISABLED, …) to Parley's.
func ParseProviderTemplateStatus(s string) (TemplateStatus, bool) {
	st, ok := metaTemplateStatuses[strings.ToUpper(strings.TrimSpace(s))]
	return st, ok
}

// checkTemplateRef checks what a message or step says about its template
// that needs no lookup: the channel and the parameters' shape.
func checkTemplateRef(ch Channel, t *Template) error {
	if ch != ChannelWhatsApp && ch.ConsentChannel() != ChannelSMS {
		return Invalid("template", "templates are for WhatsApp and SMS, not %s", ch)
	}
	if !templateNameRe.MatchString(t.Name) {
		return Invalid("template", "a template name is lowercase letters, digits and underscores; see GET /templates")
	}
	if t.Params == nil {
		t.Params = []string{}
	}
	for i, p := range t.Params {
		if strings.TrimSpace(p) == "" {
			return Invalid("template", "template parameter %d is empty", i+1)
		}
	}
	return nil
}

// checkTemplate finds the approved template a message names, among the
// languages of that name (found), and fills in its language when the
// message leaves it out.
func checkTemplate(ch Channel, found []*MessageTemplate, t *Template) (*MessageTemplate, error) {
	if err := checkTemplateRef(ch, t); err != nil {
		return nil, err
	}
	want := ch
	if ch.ConsentChannel() == ChannelSMS {
		want = ChannelSMS
	}
	var named []*MessageTemplate
	for _, x := range found {
		if x.Channel == want && x.Name == t.Name {
			named = append(named, x)
		}
	}
	if len(named) == 0 {
		return nil, Invalid("template", "unknown %s template %q; create it with POST /templates", want, t.Name)
	}
	var tpl *MessageTemplate
	if t.Language == "" {
		for _, x := range named {
			if x.Status == TemplateApproved {
				if tpl != nil {
					return nil, Invalid("template", "template %q is approved in several languages; name one", t.Name)
				}
				tpl = x
			}
		}
		if tpl == nil {
			tpl = named[0]
		}
	} else {
		for _, x := range named {
			if x.Language == t.Language {
				tpl = x
			}
		}
		if tpl == nil {
			langs := make([]string, 0, len(named))
			for _, x := range named {
				langs = append(langs, x.Language)
			}
			sort.Strings(langs)
			return nil, Invalid("template", "template %q is not in %s, only in %s", t.Name, t.Language, strings.Join(langs, ", "))
		}
	}
	if tpl.Status != TemplateApproved {
		msg := fmt.Sprintf("template %q (%s) is %s: only approved templates can be sent", tpl.Name, tpl.Language, tpl.Status)
		if tpl.Reason != "" {
			msg += " (" + tpl.Reason + ")"
		}
		return nil, &Error{Kind: KindConflict, Field: "template", Message: msg}
	}
	t.Language = tpl.Language
	if len(t.Params) != tpl.Variables {
		return nil, Invalid("template", "template %q takes %d parameters; got %d", t.Name, tpl.Variables, len(t.Params))
	}
	return tpl, nil
}

// checkTemplateBody holds an SMS that names a template to its wording: the
// body must be the template's body with its variables filled.
func checkTemplateBody(ch Channel, tpl *MessageTemplate, t *Template, body string) error {
	if ch.ConsentChannel() != ChannelSMS {
		return nil
	}
	if want := tpl.Fill(t.Params); body != want {
		return Invalid("body", "an SMS naming template %q must be its approved wording with the parameters filled: %q", t.Name, want)
	}
	return nil
}

// lookupTemplate checks a message's template against the workspace's
// templates, migrating the old settings map first.
func (s *core) lookupTemplate(ctx context.Context, workspaceID string, settings WorkspaceSettings, ch Channel, t *Template) (*MessageTemplate, error) {
	if err := checkTemplateRef(ch, t); err != nil {
		return nil, err
	}
	if len(settings.Templates) > 0 {
		if err := s.migrateTemplates(ctx, workspaceID); err != nil {
			return nil, err
		}
	}
	want := ch
	if ch.ConsentChannel() == ChannelSMS {
		want = ChannelSMS
	}
	found, err := s.store.FindTemplates(ctx, workspaceID, want, t.Name)
	if err != nil {
		return nil, err
	}
	return checkTemplate(ch, found, t)
}

// migrateTemplates moves the workspace's old settings.templates map into
// template resources, as approved WhatsApp templates (they were registered
// as approved), then clears the map with a versioned write. It is
// idempotent: a template already there is kept as it is.
func (s *core) migrateTemplates(ctx context.Context, workspaceID string) error {
	return retryOnConflict(ctx, func() error {
		w, err := s.store.GetWorkspace(ctx, workspaceID)
		if err != nil || len(w.Settings.Templates) == 0 {
			return err
		}
		now := s.now()
		for name, spec := range w.Settings.Templates {
			if !templateNameRe.MatchString(name) || !templateLanguageRe.MatchString(spec.Language) {
				continue // never sendable: Meta would refuse the name
			}
			t := &MessageTemplate{ID: TemplateID(ChannelWhatsApp, name, spec.Language), WorkspaceID: workspaceID,
				Channel: ChannelWhatsApp, Name: name, Language: spec.Language, Variables: spec.Params,
				Components: []TemplateComponent{}, Status: TemplateApproved, Reason: "", CreatedAt: now, UpdatedAt: now}
			if spec.Body != "" {
				t.Components = []TemplateComponent{{Type: "body", Text: spec.Body}}
			}
			if err := s.store.CreateTemplate(ctx, t); err != nil && !IsKind(err, KindConflict) {
				return err
			}
		}
		w.Settings.Templates = nil
		w.UpdatedAt = now
		if err := s.store.PutWorkspace(ctx, w); err != nil {
			return err
		}
		if s.settingsCache != nil {
			s.settingsCache.Delete(workspaceID)
		}
		return nil
	})
}

// ---- the templates API ----

// TemplateDesk is what the SPA does with templates: admins create and
// delete them, everyone reads them. WhatsApp templates are reviewed by
// Meta through registry.
type TemplateDesk struct {
	core
	registry TemplateRegistry
}

// NewTemplateDesk returns the templates' use cases; registry may be nil
// where no workspace uses WhatsApp (creating one then fails).
func NewTemplateDesk(store Store, clock Clock, registry TemplateRegistry) *TemplateDesk {
	return &TemplateDesk{core: newCore(store, clock), registry: registry}
}

// Templates lists the workspace's templates of one channel ("" for all),
// migrating the old settings map first.
func (s *TemplateDesk) Templates(ctx context.Context, actor Actor, channel string) ([]*MessageTemplate, error) {
	var ch Channel
	if channel != "" {
		ch = Channel(channel)
		if ch != ChannelWhatsApp && ch != ChannelSMS {
			return nil, Invalid("channel", "templates are for whatsapp or sms")
		}
	}
	settings, err := s.settings(ctx, actor.WorkspaceID)
	if err != nil {
		return nil, err
	}
	if len(settings.Templates) > 0 {
		if err := s.migrateTemplates(ctx, actor.WorkspaceID); err != nil {
			return nil, err
		}
	}
	return s.store.ListTemplates(ctx, actor.WorkspaceID, ch)
}

// Template returns one template.
func (s *TemplateDesk) Template(ctx context.Context, actor Actor, id string) (*MessageTemplate, error) {
	if !ValidTemplateID(id) {
		return nil, Errorf(KindNotFound, "template %q not found", id)
	}
	return s.store.GetTemplate(ctx, actor.WorkspaceID, id)
}

// CreateTemplate adds a template (admins only). A WhatsApp template is
// stored, submitted to Meta and then pending; if the submission fails it is
// removed again, so a retry starts afresh. An SMS template is approved.
func (s *TemplateDesk) CreateTemplate(ctx context.Context, actor Actor, in TemplateInput) (*MessageTemplate, error) {
	if err := requireAdmin(actor, "manage templates"); err != nil {
		return nil, err
	}
	t, err := NewMessageTemplate(actor.WorkspaceID, in, s.now())
	if err != nil {
		return nil, err
	}
	if t.Channel == ChannelSMS {
		t.Status = TemplateApproved
		return t, s.store.CreateTemplate(ctx, t)
	}
	if s.registry == nil {
		return nil, Errorf(KindUnavailable, "WhatsApp templates cannot be submitted from here: no Meta connection")
	}
	if err := s.store.CreateTemplate(ctx, t); err != nil {
		return nil, err
	}
	id, status, err := s.registry.Submit(ctx, actor.WorkspaceID, t)
	if err != nil {
		_ = s.store.DeleteTemplate(ctx, t)
		return nil, err
	}
	t.ProviderID, t.Status, t.UpdatedAt = id, status, s.now()
	if err := s.store.PutTemplate(ctx, t); err != nil {
		return nil, err
	}
	return t, nil
}

// DeleteTemplate removes a template (admins only). A WhatsApp template is
// deleted at Meta too, by name, which deletes every language of it there,
// so Parley deletes them all as well.
func (s *TemplateDesk) DeleteTemplate(ctx context.Context, actor Actor, id string) error {
	if err := requireAdmin(actor, "manage templates"); err != nil {
		return err
	}
	t, err := s.Template(ctx, actor, id)
	if err != nil {
		return err
	}
	if t.Channel != ChannelWhatsApp || t.ProviderID == "" {
		return s.store.DeleteTemplate(ctx, t)
	}
	if s.registry == nil {
		return Errorf(KindUnavailable, "WhatsApp templates cannot be deleted from here: no Meta connection")
	}
	if err := s.registry.Delete(ctx, actor.WorkspaceID, t.Name); err != nil {
		return err
	}
	// Meta deleted every language of the name: so does Parley.
	all, err := s.store.FindTemplates(ctx, actor.WorkspaceID, ChannelWhatsApp, t.Name)
	if err != nil {
		return err
	}
	for _, x := range append(all, t) {
		if err := s.store.DeleteTemplate(ctx, x); err != nil {
			return err
		}
	}
	return nil
}

// RefreshTemplates reads Meta's templates and updates the statuses of the
// workspace's WhatsApp templates (admins only). Templates Meta holds that
// Parley does not know are left out: create them through Parley.
func (s *TemplateDesk) RefreshTemplates(ctx context.Context, actor Actor) ([]*MessageTemplate, error) {
	if err := requireAdmin(actor, "refresh templates"); err != nil {
		return nil, err
	}
	if s.registry == nil {
		return nil, Errorf(KindUnavailable, "WhatsApp templates cannot be refreshed from here: no Meta connection")
	}
	states, err := s.registry.List(ctx, actor.WorkspaceID)
	if err != nil {
		return nil, err
	}
	for _, st := range states {
		st.WorkspaceID = actor.WorkspaceID
		if _, err := s.core.applyTemplateState(ctx, st); err != nil && !IsKind(err, KindNotFound) {
			return nil, err
		}
	}
	return s.store.ListTemplates(ctx, actor.WorkspaceID, ChannelWhatsApp)
}

// ApplyTemplateStatus records a status Meta's message_template_status_update
// webhook reports. It is idempotent, and a template Parley does not know
// is KindNotFound, which the webhook acknowledges and ignores.
func (s *Intake) ApplyTemplateStatus(ctx context.Context, st TemplateState) (*MessageTemplate, error) {
	return s.applyTemplateState(ctx, st)
}

func (s *core) applyTemplateState(ctx context.Context, st TemplateState) (*MessageTemplate, error) {
	if !templateNameRe.MatchString(st.Name) || !templateLanguageRe.MatchString(st.Language) {
		return nil, Errorf(KindNotFound, "no template %q in %q", st.Name, st.Language)
	}
	id := TemplateID(ChannelWhatsApp, st.Name, st.Language)
	var out *MessageTemplate
	err := retryOnConflict(ctx, func() error {
		t, err := s.store.GetTemplate(ctx, st.WorkspaceID, id)
		if err != nil {
			return err
		}
		out = t
		if st.ProviderID != "" && t.ProviderID != "" && st.ProviderID != t.ProviderID {
			return Errorf(KindNotFound, "template %s is another Meta template (%s, not %s)", id, t.ProviderID, st.ProviderID)
		}
		reason := st.Reason
		if strings.EqualFold(reason, "NONE") || st.Status == TemplateApproved || st.Status == TemplatePending {
			reason = ""
		}
		cat := t.Category
		if cat == "" && st.Category != "" {
			cat = st.Category
		}
		if t.Status == st.Status && t.Reason == reason && t.Category == cat && (st.ProviderID == "" || t.ProviderID == st.ProviderID) {
			return nil // already known: a redelivery
		}
		t.Status, t.Reason, t.Category, t.UpdatedAt = st.Status, reason, cat, s.now()
		if t.ProviderID == "" {
			t.ProviderID = st.ProviderID
		}
		return s.store.PutTemplate(ctx, t)
	})
	return out, err
}

// stepTemplates are the workspace's templates, which drip and automation
// steps are checked against when saved (one Query).
func (s *core) stepTemplates(ctx context.Context, ws string, settings WorkspaceSettings) ([]*MessageTemplate, error) {
	if len(settings.Templates) > 0 {
		if err := s.migrateTemplates(ctx, ws); err != nil {
			return nil, err
		}
	}
	all, err := s.store.ListTemplates(ctx, ws, "")
	if all == nil && err == nil {
		all = []*MessageTemplate{}
	}
	return all, err
}

// checkCampaignTemplates checks the templates a campaign's steps name.
func (s *core) checkCampaignTemplates(ctx context.Context, c *Campaign, settings WorkspaceSettings) error {
	var all []*MessageTemplate
	for i := range c.Steps {
		st := &c.Steps[i]
		if st.Template == nil {
			continue
		}
		if all == nil {
			var err error
			if all, err = s.stepTemplates(ctx, c.WorkspaceID, settings); err != nil {
				return err
			}
		}
		if _, err := checkTemplate(st.Channel, all, st.Template); err != nil {
			return err
		}
	}
	return nil
}

// templateStillSendable checks again, as a message goes out, that the
// template it names is approved: a scheduled message, a draft or a step may
// leave hours after it was checked. It returns why not, or "".
func (s *core) templateStillSendable(ctx context.Context, ws string, settings WorkspaceSettings, m *Message) (string, error) {
	ref := *m.Template
	ref.Params = append([]string(nil), m.Template.Params...)
	_, err := s.lookupTemplate(ctx, ws, settings, m.Channel, &ref)
	var e *Error
	if errors.As(err, &e) && (e.Kind == KindInvalid || e.Kind == KindConflict || e.Kind == KindNotFound) {
		return e.Message, nil
	}
	return "", err
}
