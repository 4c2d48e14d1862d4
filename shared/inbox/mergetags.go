package inbox

import (
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Merge tags fill a body with the contact's, the conversation's, the
// agent's and the workspace's details. There is one syntax, wherever a body
// is written (snippets, agents' messages with "render": true, drip steps,
// automation message steps):
//
//	Hi {{contact.first_name | "there"}}, this is {{ agent.first_name }}.
//
//   - A tag is "{{", a field, an optional "|" and fallback, and "}}".
//     Whitespace around the field, the "|" and the fallback is ignored.
//   - The fallback is a double-quoted string; \" \\ \n and \t are its
//     escapes. It replaces a missing (empty) value; without one, a missing
//     value renders as nothing. A fallback holds no braces.
//   - Every "{{" in a body opens a tag: a body that names an unknown field,
//     or leaves a tag unclosed, is refused when it is saved (400, naming the
//     tag), never at send time.
//   - Braces in a value (a contact named "{{x}}") render as parentheses, so
//     a rendered body never holds a tag and rendering it again changes
//     nothing.
//
// contact.custom.<key> names a custom field (ContactField); the parser
// checks its syntax, and the workspace's definitions are checked where a
// body is saved (checkCustomTags).

// MergeFields lists the fields a tag may name, in documentation order.
var MergeFields = []string{
	"contact.name", "contact.first_name", "contact.last_name", "contact.phone", "contact.email",
	"conversation.id", "conversation.channel",
	"agent.name", "agent.first_name", "agent.email",
	"workspace.name", "contact.custom.<key>",
}

// customTagPrefix starts a tag naming a contact's custom field.
const customTagPrefix = "contact.custom."

// MergeData is what tags are filled from. Any part may be missing: its
// fields are then empty and take their fallbacks.
type MergeData struct {
	Contact        *Contact
	ConversationID string
	Channel        Channel
	Agent          *User
	WorkspaceName  string
}

var mergeValues = map[string]func(d MergeData) string{
	"contact.name": func(d MergeData) string { return contactField(d, func(c *Contact) string { return c.Name }) },
	"contact.first_name": func(d MergeData) string {
		return contactField(d, func(c *Contact) string { f, _ := splitName(c.Name); return f })
	},
	"contact.last_name": func(d MergeData) string {
		return contactField(d, func(c *Contact) string { _, l := splitName(c.Name); return l })
	},
	"contact.phone":        func(d MergeData) string { return contactField(d, func(c *Contact) string { return first(c.Phones) }) },
	"contact.email":        func(d MergeData) string { return contactField(d, func(c *Contact) string { return first(c.Emails) }) },
	"conversation.id":      func(d MergeData) string { return d.ConversationID },
	"conversation.channel": func(d MergeData) string { return string(d.Channel) },
	"agent.name":           func(d MergeData) string { return agentField(d, func(u *User) string { return u.Name }) },
	"agent.first_name": func(d MergeData) string {
		return agentField(d, func(u *User) string { f, _ := splitName(u.Name); return f })
	},
	"agent.email":    func(d MergeData) string { return agentField(d, func(u *User) string { return u.Email }) },
	"workspace.name": func(d MergeData) string { return d.WorkspaceName },
}

func contactField(d MergeData, f func(*Contact) string) string {
	if d.Contact == nil {
		return ""
	}
	return f(d.Contact)
}

func agentField(d MergeData, f func(*User) string) string {
	if d.Agent == nil {
		return ""
	}
	return f(d.Agent)
}

func first(list []string) string {
	if len(list) == 0 {
		return ""
	}
	return list[0]
}

// splitName reads a first name as the first word and a last name as the
// rest: "Jo Ann Customer" is "Jo" and "Ann Customer".
func splitName(name string) (string, string) {
	f := strings.Fields(name)
	if len(f) == 0 {
		return "", ""
	}
	return f[0], strings.Join(f[1:], " ")
}

// MergeTemplate is a parsed body: literal text and tags in order.
type MergeTemplate struct {
	parts []mergePart
}

type mergePart struct {
	text     string // literal text, when field is empty
	field    string
	fallback string
}

const maxMergeTags = 100

// ParseTemplate parses a body's merge tags, refusing an unknown field or a
// malformed tag with an Invalid error on "body" that names the tag.
func ParseTemplate(body string) (*MergeTemplate, error) { return parseMergeTags("body", body) }

func parseMergeTags(field, body string) (*MergeTemplate, error) {
	t := &MergeTemplate{}
	rest := body
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			if rest != "" {
				t.parts = append(t.parts, mergePart{text: rest})
			}
			return t, nil
		}
		if i > 0 {
			t.parts = append(t.parts, mergePart{text: rest[:i]})
		}
		rest = rest[i+2:]
		tag, n, err := parseTag(field, rest)
		if err != nil {
			return nil, err
		}
		if len(t.parts) >= 2*maxMergeTags {
			return nil, Invalid(field, "a body holds at most %d merge tags", maxMergeTags)
		}
		t.parts = append(t.parts, tag)
		rest = rest[n:]
	}
}

// parseTag reads one tag after its "{{" and returns how much it consumed,
// up to and including "}}".
func parseTag(field, s string) (mergePart, int, error) {
	end := strings.Index(s, "}}")
	shown := s
	if end >= 0 {
		shown = s[:end]
	}
	quote := func() string { return "{{" + clipRunes(shown, 60) + "}}" }
	pos := skipSpace(s, 0)
	start := pos
	for pos < len(s) && isFieldByte(s[pos]) {
		pos++
	}
	name := s[start:pos]
	if name == "" {
		if end < 0 {
			return mergePart{}, 0, Invalid(field, "a merge tag is not closed: %s", clipRunes("{{"+s, 60))
		}
		return mergePart{}, 0, Invalid(field, "merge tag %s names no field; use one of %s", quote(), strings.Join(MergeFields, ", "))
	}
	if key, ok := strings.CutPrefix(name, customTagPrefix); ok {
		if !fieldKeyPattern.MatchString(key) {
			return mergePart{}, 0, Invalid(field, "merge tag {{%s}}: a custom field key is lowercase letters, digits and _", clipRunes(name, 60))
		}
	} else if _, ok := mergeValues[name]; !ok {
		return mergePart{}, 0, Invalid(field, "unknown merge tag {{%s}}; known fields are %s", clipRunes(name, 60), strings.Join(MergeFields, ", "))
	}
	tag := mergePart{field: name}
	pos = skipSpace(s, pos)
	if pos < len(s) && s[pos] == '|' {
		pos = skipSpace(s, pos+1)
		fb, n, ok := parseQuoted(s[pos:])
		if !ok {
			return mergePart{}, 0, Invalid(field, "merge tag {{%s ...}}: the fallback must be a double-quoted string without braces, such as \"there\"", name)
		}
		tag.fallback = fb
		pos = skipSpace(s, pos+n)
	}
	if !strings.HasPrefix(s[pos:], "}}") {
		if end < 0 {
			return mergePart{}, 0, Invalid(field, "merge tag {{%s is not closed with }}", name)
		}
		return mergePart{}, 0, Invalid(field, "merge tag %s is malformed; write {{%s}} or {{%s | \"fallback\"}}", quote(), name, name)
	}
	return tag, pos + 2, nil
}

// parseQuoted reads a double-quoted string with \" \\ \n \t escapes. A
// fallback is text, never a tag, so braces are refused.
func parseQuoted(s string) (string, int, bool) {
	if !strings.HasPrefix(s, `"`) {
		return "", 0, false
	}
	var b strings.Builder
	for i := 1; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			return "", 0, false
		case r == '"':
			return b.String(), i + 1, true
		case r == '{' || r == '}':
			return "", 0, false
		case r == '\\':
			if i+1 >= len(s) {
				return "", 0, false
			}
			switch s[i+1] {
			case '"', '\\':
				b.WriteByte(s[i+1])
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			default:
				return "", 0, false
			}
			i += 2
			continue
		}
		b.WriteRune(r)
		i += size
	}
	return "", 0, false
}

func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

func isFieldByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'
}

func clipRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}

// Tags lists the distinct fields the body names, sorted.
func (t *MergeTemplate) Tags() []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range t.parts {
		if p.field != "" && !seen[p.field] {
			seen[p.field] = true
			out = append(out, p.field)
		}
	}
	sort.Strings(out)
	return out
}

// Needs reports whether a tag names a field of the given object
// ("contact", "agent", "workspace"), so callers read only what a body uses.
func (t *MergeTemplate) Needs(object string) bool {
	for _, p := range t.parts {
		if strings.HasPrefix(p.field, object+".") {
			return true
		}
	}
	return false
}

// HasTags reports whether the body holds any tag.
func (t *MergeTemplate) HasTags() bool {
	for _, p := range t.parts {
		if p.field != "" {
			return true
		}
	}
	return false
}

// Render fills the tags. It is pure: the same template and data always give
// the same text.
func Render(t *MergeTemplate, d MergeData) string {
	var b strings.Builder
	for _, p := range t.parts {
		if p.field == "" {
			b.WriteString(p.text)
			continue
		}
		v := strings.TrimSpace(fieldValue(p.field, d))
		if v == "" {
			v = p.fallback
		}
		b.WriteString(unbrace(v))
	}
	return b.String()
}

func fieldValue(field string, d MergeData) string {
	if key, ok := strings.CutPrefix(field, customTagPrefix); ok {
		if d.Contact == nil {
			return ""
		}
		return d.Contact.Custom[key]
	}
	return mergeValues[field](d)
}

// unbrace shows a value's braces as parentheses, so a rendered body never
// holds a tag.
var unbraceReplacer = strings.NewReplacer("{", "(", "}", ")")

func unbrace(v string) string {
	if !strings.ContainsAny(v, "{}") {
		return v
	}
	return unbraceReplacer.Replace(v)
}

// RenderBody parses and renders in one step.
func RenderBody(body string, d MergeData) (string, error) {
	t, err := ParseTemplate(body)
	if err != nil {
		return "", err
	}
	return Render(t, d), nil
}

// CheckRendered checks a rendered body against the channel's limits and
// returns warnings an agent should see before sending: the characters the
// channel takes, and SMS segments past one.
func CheckRendered(ch Channel, body string) (warnings []string, err error) {
	if err := CheckBodyLength(ch, body); err != nil {
		return nil, err
	}
	if ch.ConsentChannel() == ChannelSMS {
		if n := SMSSegments(body); n > 1 {
			warnings = append(warnings, "the rendered text is "+strconv.Itoa(n)+" SMS segments, each billed")
		}
	}
	return warnings, nil
}
