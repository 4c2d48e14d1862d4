package inbox

import (
	"net/mail"
	"sort"
	"strings"
	"time"
	_ "time/tzdata" // Lambda's provided.al2023 image has no zoneinfo.
	"unicode/utf8"

	"github.com/parley-inbox/parley/shared/inbox/phone"
)

// Contact is a person the workspace talks to. Tags live here and describe
// the person; labels live on conversations and describe the interaction.
type Contact struct {
	ID          string   `json:"id"`
	WorkspaceID string   `json:"workspaceId"`
	Name        string   `json:"name"`
	Phones      []string `json:"phones"`
	Emails      []string `json:"emails"`
	Tags        []string `json:"tags"`
	// Handles are the ids channels without a phone or email know the
	// contact by: "messenger:<PSID>", "instagram:<IGSID>", "webchat:<visitor>".
	Handles        []string                   `json:"handles"`
	Timezone       string                     `json:"timezone,omitempty"`
	Consent        map[Channel]ChannelConsent `json:"consent"`
	Marketing      map[Channel]bool           `json:"marketing"`
	ConsentMessage ConsentMessageStatus       `json:"consentMessage"`
	BotEnabled     bool                       `json:"botEnabled"`
	// DND blocks automated messages on a channel for this contact.
	DND            map[Channel]bool `json:"dnd,omitempty"`
	ConversationID string           `json:"conversationId,omitempty"`
	// VerifiedHandles are the web chat handles that proved being this
	// contact; only they receive its replies (see Address).
	VerifiedHandles []string `json:"verifiedHandles,omitempty"`
	// ClaimedEmail is an address a web chat visitor typed but has not proved.
	ClaimedEmail *EmailClaim `json:"claimedEmail,omitempty"`
	// Custom holds the workspace's custom fields' values (ContactField),
	// canonical strings by key.
	Custom    map[string]string `json:"custom,omitempty"`
	CreatedAt time.Time         `json:"createdAt"`
	UpdatedAt time.Time         `json:"updatedAt"`
	Version   int64             `json:"version"`
}

// ConsentStatus is whether automated messages may reach a contact on a channel.
type ConsentStatus string

const (
	ConsentOptedIn  ConsentStatus = "opted_in"
	ConsentOptedOut ConsentStatus = "opted_out"
)

// ConsentSource says how a consent change happened.
type ConsentSource string

const (
	ConsentSourceDefault ConsentSource = "default"
	ConsentSourceManual  ConsentSource = "manual"
	ConsentSourceKeyword ConsentSource = "keyword"
	ConsentSourceAPI     ConsentSource = "api"
	// ConsentSourceProvider is a carrier or platform reporting an opt-out.
	ConsentSourceProvider ConsentSource = "provider"
	// ConsentSourceForm is a signup form, reported as an external event.
	ConsentSourceForm ConsentSource = "form"
)

// ChannelConsent is the current opt-in state of one channel, and how it got there.
type ChannelConsent struct {
	Status    ConsentStatus `json:"status"`
	ChangedAt time.Time     `json:"changedAt"`
	Source    ConsentSource `json:"source"`
	// ChangedBy is the user who changed it by hand, if anyone.
	ChangedBy string `json:"changedBy,omitempty"`
}

// ConsentMessageStatus records whether the workspace's consent message went out.
type ConsentMessageStatus struct {
	Sent   bool       `json:"sent"`
	SentAt *time.Time `json:"sentAt,omitempty"`
}

// Normalize replaces nil lists and maps with empty ones, so the API shows
// [] and {} rather than null.
func (c *Contact) Normalize() {
	if c.Phones == nil {
		c.Phones = []string{}
	}
	if c.Emails == nil {
		c.Emails = []string{}
	}
	if c.Tags == nil {
		c.Tags = []string{}
	}
	if c.Handles == nil {
		c.Handles = []string{}
	}
	if c.Consent == nil {
		c.Consent = map[Channel]ChannelConsent{}
	}
	if c.Marketing == nil {
		c.Marketing = map[Channel]bool{}
	}
}

// ConsentOn returns the contact's consent on a channel. Contacts are opted in
// until they opt out.
func (c *Contact) ConsentOn(ch Channel) ChannelConsent {
	if cc, ok := c.Consent[ch.ConsentChannel()]; ok {
		return cc
	}
	return ChannelConsent{Status: ConsentOptedIn, ChangedAt: c.CreatedAt, Source: ConsentSourceDefault}
}

// SetConsent records a consent change. It reports whether anything changed.
func (c *Contact) SetConsent(ch Channel, status ConsentStatus, source ConsentSource, by string, at time.Time) bool {
	ch = ch.ConsentChannel()
	if c.ConsentOn(ch).Status == status {
		return false
	}
	if c.Consent == nil {
		c.Consent = map[Channel]ChannelConsent{}
	}
	c.Consent[ch] = ChannelConsent{Status: status, ChangedAt: at, Source: source, ChangedBy: by}
	return true
}

// ContactInput is what a caller sends to create a contact.
type ContactInput struct {
	Name       string           `json:"name"`
	Phones     []string         `json:"phones"`
	Emails     []string         `json:"emails"`
	Tags       []string         `json:"tags"`
	Timezone   string           `json:"timezone"`
	Marketing  map[Channel]bool `json:"marketing"`
	BotEnabled *bool            `json:"botEnabled"`
	// DND sets do-not-disturb per channel; channels left out keep theirs.
	DND map[Channel]bool `json:"dnd"`
	// Custom sets custom field values by key.
	Custom map[string]string `json:"custom"`
}

// ContactPatch changes some fields of a contact; nil fields stay as they are.
type ContactPatch struct {
	Name       *string          `json:"name"`
	Phones     *[]string        `json:"phones"`
	Emails     *[]string        `json:"emails"`
	Tags       *[]string        `json:"tags"`
	Timezone   *string          `json:"timezone"`
	Marketing  map[Channel]bool `json:"marketing"`
	BotEnabled *bool            `json:"botEnabled"`
	// DND sets do-not-disturb per channel; channels left out keep theirs.
	DND map[Channel]bool `json:"dnd"`
	// Custom sets custom field values by key; null (or "") removes one.
	Custom map[string]*string `json:"custom"`
	// IfMatch is the version the request's If-Match header names; nil
	// when it has none.
	IfMatch *int64 `json:"-"`
}

const (
	maxNameLen    = 200
	maxTagLen     = 64
	maxTags       = 50
	maxPhones     = 10
	maxEmails     = 10
	defaultRegion = "US"
)

// NormalizePhone turns a phone number into E.164. Numbers without a country
// code are read as defaultRegion numbers.
func NormalizePhone(field, raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", Invalid(field, "phone number is empty")
	}
	num, err := phone.Parse(raw, defaultRegion)
	if err != nil || !num.Valid() {
		return "", Invalid(field, "%q is not a valid phone number; use international format such as +14155550123", raw)
	}
	return num.E164(), nil
}

// PhoneRegion returns the ISO region of an E.164 number, or "".
func PhoneRegion(e164 string) string {
	num, err := phone.Parse(e164, "")
	if err != nil {
		return ""
	}
	return num.Region()
}

// NormalizeEmail validates a bare address and lower-cases it, so one mailbox
// maps to one contact whatever the case it was typed in.
func NormalizeEmail(field, raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	addr, err := mail.ParseAddress(raw)
	if err != nil || addr.Address != raw || addr.Name != "" || len(raw) > 254 {
		return "", Invalid(field, "%q is not a valid email address", raw)
	}
	at := strings.LastIndexByte(raw, '@')
	if at < 1 || !strings.Contains(raw[at+1:], ".") {
		return "", Invalid(field, "%q is not a valid email address", raw)
	}
	return strings.ToLower(raw), nil
}

func validateTimezone(field, tz string) error {
	if tz == "" {
		return nil
	}
	if _, err := time.LoadLocation(tz); err != nil || tz == "Local" {
		return Invalid(field, "%q is not an IANA timezone such as America/New_York", tz)
	}
	return nil
}

func validateName(field, name string) (string, error) {
	name = strings.TrimSpace(name)
	if !utf8.ValidString(name) || utf8.RuneCountInString(name) > maxNameLen {
		return "", Invalid(field, "name must be valid text of at most %d characters", maxNameLen)
	}
	return name, nil
}

func normalizePhones(raw []string) ([]string, error) {
	if len(raw) > maxPhones {
		return nil, Invalid("phones", "a contact has at most %d phone numbers", maxPhones)
	}
	out := make([]string, 0, len(raw))
	for _, p := range raw {
		n, err := NormalizePhone("phones", p)
		if err != nil {
			return nil, err
		}
		out = appendUnique(out, n)
	}
	return out, nil
}

func normalizeEmails(raw []string) ([]string, error) {
	if len(raw) > maxEmails {
		return nil, Invalid("emails", "a contact has at most %d email addresses", maxEmails)
	}
	out := make([]string, 0, len(raw))
	for _, e := range raw {
		n, err := NormalizeEmail("emails", e)
		if err != nil {
			return nil, err
		}
		out = appendUnique(out, n)
	}
	return out, nil
}

func normalizeTags(raw []string) ([]string, error) { return validateTags("tags", raw) }

// validateTags applies the limits of a contact's tags, wherever tags come
// from (the API, an automation's tag step): at most maxTags, each 1 to
// maxTagLen characters; trimmed, deduplicated and sorted.
func validateTags(field string, raw []string) ([]string, error) {
	if len(raw) > maxTags {
		return nil, Invalid(field, "a contact has at most %d tags", maxTags)
	}
	out := make([]string, 0, len(raw))
	for _, t := range raw {
		t = strings.TrimSpace(t)
		if t == "" || utf8.RuneCountInString(t) > maxTagLen || !utf8.ValidString(t) {
			return nil, Invalid(field, "tags are 1 to %d characters", maxTagLen)
		}
		out = appendUnique(out, t)
	}
	sort.Strings(out)
	return out, nil
}

func validateMarketing(m map[Channel]bool) error {
	for ch := range m {
		if !ch.Valid() {
			return Invalid("marketing", "unknown channel %q", ch)
		}
	}
	return nil
}

// NameKey is the lower-cased form used for prefix search.
func NameKey(name string) string { return strings.ToLower(strings.TrimSpace(name)) }

func appendUnique(list []string, v string) []string {
	for _, x := range list {
		if x == v {
			return list
		}
	}
	return append(list, v)
}

func removeValue(list []string, v string) []string {
	out := list[:0:0]
	for _, x := range list {
		if x != v {
			out = append(out, x)
		}
	}
	return out
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// Handle names a contact on a channel that identifies people by an opaque id.
func Handle(ch Channel, id string) string { return string(ch) + ":" + id }
