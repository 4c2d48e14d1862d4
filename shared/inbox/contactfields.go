package inbox

import (
	"context"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Custom fields are a workspace's own facts about contacts ("plan",
// "renewal date"), defined once and typed so merge tags, imports and
// segments can trust them. A contact keeps its values as canonical
// strings in Contact.Custom, keyed by the field's key.

// FieldType is what a custom field holds.
type FieldType string

const (
	FieldText   FieldType = "text"
	FieldNumber FieldType = "number"
	FieldDate   FieldType = "date" // YYYY-MM-DD
	FieldChoice FieldType = "choice"
)

// ContactField defines one custom field.
type ContactField struct {
	Key   string    `json:"key"`
	Label string    `json:"label"`
	Type  FieldType `json:"type"`
	// Choices are a choice field's allowed values.
	Choices   []string  `json:"choices,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
}

// ContactFieldSet is a workspace's definitions, written as one versioned
// item: there are few, and every change is an admin's.
type ContactFieldSet struct {
	Fields  []ContactField `json:"fields"`
	Version int64          `json:"version"`
}

// ContactFieldInput creates or changes a field.
type ContactFieldInput struct {
	Label   string    `json:"label"`
	Type    FieldType `json:"type"`
	Choices []string  `json:"choices"`
}

// ContactFieldStore keeps the definitions.
type ContactFieldStore interface {
	ContactFields(ctx context.Context, workspaceID string) (*ContactFieldSet, error)
	// PutContactFields writes set if the stored version is still prev
	// (ErrVersionConflict otherwise).
	PutContactFields(ctx context.Context, workspaceID string, set *ContactFieldSet, prev int64) error
}

const (
	maxContactFields = 50
	maxFieldChoices  = 50
	maxCustomText    = 500
	maxFieldLabel    = 100
)

var fieldKeyPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)

// Field returns the definition of key, if any.
func (s *ContactFieldSet) Field(key string) (ContactField, bool) {
	for _, f := range s.Fields {
		if f.Key == key {
			return f, true
		}
	}
	return ContactField{}, false
}

// Canonical checks v against the field's type and returns the stored form:
// a number without spaces or a leading +, a date as YYYY-MM-DD, a choice
// as defined (ignoring case), text trimmed.
func (f ContactField) Canonical(v string) (string, error) {
	field := "custom." + f.Key
	v = strings.TrimSpace(v)
	if !utf8.ValidString(v) || strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 && r != '\n' && r != '\t' }) {
		return "", Invalid(field, "%s must be UTF-8 text without control characters", f.Key)
	}
	switch f.Type {
	case FieldNumber:
		n, err := strconv.ParseFloat(v, 64)
		if err != nil || len(v) > 32 {
			return "", Invalid(field, "%s is a number; %q is not", f.Key, clipRunes(v, 40))
		}
		return strconv.FormatFloat(n, 'f', -1, 64), nil
	case FieldDate:
		d, err := time.Parse(time.DateOnly, v)
		if err != nil {
			return "", Invalid(field, "%s is a date (YYYY-MM-DD); %q is not", f.Key, clipRunes(v, 40))
		}
		return d.Format(time.DateOnly), nil
	case FieldChoice:
		for _, c := range f.Choices {
			if strings.EqualFold(c, v) {
				return c, nil
			}
		}
		return "", Invalid(field, "%s is one of %s; %q is not", f.Key, strings.Join(f.Choices, ", "), clipRunes(v, 40))
	}
	if utf8.RuneCountInString(v) > maxCustomText {
		return "", Invalid(field, "%s is at most %d characters", f.Key, maxCustomText)
	}
	return v, nil
}

func validateFieldInput(key string, in ContactFieldInput) (ContactField, error) {
	if !fieldKeyPattern.MatchString(key) {
		return ContactField{}, Invalid("key", "a field key is 1 to 40 lowercase letters, digits and _, starting with a letter")
	}
	f := ContactField{Key: key, Label: strings.TrimSpace(in.Label), Type: in.Type}
	if f.Label == "" {
		f.Label = key
	}
	if utf8.RuneCountInString(f.Label) > maxFieldLabel || !utf8.ValidString(f.Label) {
		return f, Invalid("label", "a label is at most %d characters", maxFieldLabel)
	}
	switch f.Type {
	case FieldText, FieldNumber, FieldDate:
		if len(in.Choices) > 0 {
			return f, Invalid("choices", "only a choice field has choices")
		}
	case FieldChoice:
		if len(in.Choices) == 0 || len(in.Choices) > maxFieldChoices {
			return f, Invalid("choices", "a choice field has 1 to %d choices", maxFieldChoices)
		}
		for _, c := range in.Choices {
			c = strings.TrimSpace(c)
			if c == "" || utf8.RuneCountInString(c) > maxFieldLabel || !utf8.ValidString(c) {
				return f, Invalid("choices", "a choice is 1 to %d characters", maxFieldLabel)
			}
			if slices.ContainsFunc(f.Choices, func(o string) bool { return strings.EqualFold(o, c) }) {
				return f, Invalid("choices", "choice %q is listed twice", c)
			}
			f.Choices = append(f.Choices, c)
		}
	default:
		return f, Invalid("type", "type is text, number, date or choice")
	}
	return f, nil
}

// ContactFields lists the workspace's custom fields.
func (s *Desk) ContactFields(ctx context.Context, actor Actor) (*ContactFieldSet, error) {
	return s.store.ContactFields(ctx, actor.WorkspaceID)
}

// PutContactField creates or changes a field (admins). Its type cannot
// change once defined: contacts' values were checked against it.
func (s *Desk) PutContactField(ctx context.Context, actor Actor, key string, in ContactFieldInput) (*ContactField, error) {
	if err := requireAdmin(actor, "define contact fields"); err != nil {
		return nil, err
	}
	f, err := validateFieldInput(key, in)
	if err != nil {
		return nil, err
	}
	var out ContactField
	err = retryOnConflict(ctx, func() error {
		set, err := s.store.ContactFields(ctx, actor.WorkspaceID)
		if err != nil {
			return err
		}
		next := ContactFieldSet{Fields: slices.Clone(set.Fields), Version: set.Version + 1}
		i := slices.IndexFunc(next.Fields, func(o ContactField) bool { return o.Key == key })
		switch {
		case i < 0 && len(next.Fields) >= maxContactFields:
			return Invalid("key", "a workspace has at most %d contact fields", maxContactFields)
		case i < 0:
			f.CreatedAt = s.now()
			next.Fields = append(next.Fields, f)
		case next.Fields[i].Type != f.Type:
			return Errorf(KindConflict, "field %s is a %s field; its type cannot change (delete it and define another key)", key, next.Fields[i].Type)
		default:
			f.CreatedAt = next.Fields[i].CreatedAt
			next.Fields[i] = f
		}
		out = f
		return s.store.PutContactFields(ctx, actor.WorkspaceID, &next, set.Version)
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteContactField removes a definition (admins). Contacts keep their
// values until next changed; merge tags naming it are refused from now on.
func (s *Desk) DeleteContactField(ctx context.Context, actor Actor, key string) error {
	if err := requireAdmin(actor, "define contact fields"); err != nil {
		return err
	}
	return retryOnConflict(ctx, func() error {
		set, err := s.store.ContactFields(ctx, actor.WorkspaceID)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(set.Fields, func(o ContactField) bool { return o.Key == key })
		if i < 0 {
			return Errorf(KindNotFound, "contact field %q not found", key)
		}
		next := ContactFieldSet{Fields: slices.Delete(slices.Clone(set.Fields), i, i+1), Version: set.Version + 1}
		return s.store.PutContactFields(ctx, actor.WorkspaceID, &next, set.Version)
	})
}

// applyCustom sets (or, with nil, removes) custom values, each checked
// against its field. It reads the definitions only when values are given.
func (s *core) applyCustom(ctx context.Context, c *Contact, values map[string]*string) error {
	if len(values) == 0 {
		return nil
	}
	if len(values) > maxContactFields {
		return Invalid("custom", "at most %d custom values", maxContactFields)
	}
	set, err := s.store.ContactFields(ctx, c.WorkspaceID)
	if err != nil {
		return err
	}
	next := cloneMap(c.Custom)
	if next == nil {
		next = map[string]string{}
	}
	for key, v := range values {
		f, ok := set.Field(key)
		if v == nil || strings.TrimSpace(*v) == "" {
			delete(next, key)
			continue
		}
		if !ok {
			return Invalid("custom."+clipRunes(key, 40), "no contact field %q is defined (GET /contact-fields)", clipRunes(key, 40))
		}
		canon, err := f.Canonical(*v)
		if err != nil {
			return err
		}
		next[key] = canon
	}
	if len(next) == 0 {
		next = nil
	}
	c.Custom = next
	return nil
}

// checkCustomTags refuses bodies naming a custom field the workspace has
// not defined. It reads the definitions only when a body names one.
func (s *core) checkCustomTags(ctx context.Context, workspaceID string, bodies ...string) error {
	var keys []string
	for _, b := range bodies {
		t, err := ParseTemplate(b)
		if err != nil {
			continue // the body's own check names the problem
		}
		for _, tag := range t.Tags() {
			if k, ok := strings.CutPrefix(tag, customTagPrefix); ok {
				keys = append(keys, k)
			}
		}
	}
	if len(keys) == 0 {
		return nil
	}
	set, err := s.store.ContactFields(ctx, workspaceID)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if _, ok := set.Field(k); !ok {
			return Invalid("body", "unknown merge tag {{%s%s}}: no contact field %q is defined", customTagPrefix, k, k)
		}
	}
	return nil
}
