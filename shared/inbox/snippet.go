package inbox

import (
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// Snippet is a reusable reply an agent drops into the composer: seed 001's
// snippets, seed 002's canned responses and seed 004's saved responses with
// categories. Its body may hold merge tags. A snippet is never sent by
// itself: rendering it returns text for the composer.
type Snippet struct {
	ID          string `json:"id"`
	WorkspaceID string `json:"workspaceId"`
	Name        string `json:"name"`
	// Shortcut is what an agent types in the composer ("/thanks"); unique
	// in the workspace, stored lowercase.
	Shortcut    string       `json:"shortcut"`
	Category    string       `json:"category"`
	Body        string       `json:"body"`
	Attachments []Attachment `json:"attachments"`
	// Channel, when set, restricts the snippet to one channel.
	Channel   Channel   `json:"channel,omitempty"`
	CreatedBy string    `json:"createdBy"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
	Version   int64     `json:"version"`
}

// SnippetInput creates a snippet; SnippetPatch changes one.
type SnippetInput struct {
	Name        string       `json:"name"`
	Shortcut    string       `json:"shortcut"`
	Category    string       `json:"category"`
	Body        string       `json:"body"`
	Attachments []Attachment `json:"attachments"`
	Channel     Channel      `json:"channel"`
}

type SnippetPatch struct {
	Name        *string       `json:"name"`
	Shortcut    *string       `json:"shortcut"`
	Category    *string       `json:"category"`
	Body        *string       `json:"body"`
	Attachments *[]Attachment `json:"attachments"`
	// Channel "" removes the restriction.
	Channel *Channel `json:"channel"`
}

// SnippetQuery lists snippets: by category, and by a search text that is a
// shortcut prefix when it starts with "/" and a name prefix otherwise.
type SnippetQuery struct {
	Category string
	Q        string
	Page     PageRequest
}

// RenderInput asks for a snippet filled for a conversation; Channel is the
// channel the agent is composing on (default: the snippet's, else the
// conversation's default channel).
type RenderInput struct {
	Channel Channel `json:"channel"`
}

// RenderedSnippet is a snippet filled for one conversation, for the
// composer. Nothing is sent.
type RenderedSnippet struct {
	SnippetID   string       `json:"snippetId"`
	Body        string       `json:"body"`
	Attachments []Attachment `json:"attachments"`
	Channel     Channel      `json:"channel"`
	Warnings    []string     `json:"warnings"`
}

const (
	MaxSnippetBody     = 5000
	maxSnippetName     = 100
	maxSnippetCategory = 50
	defaultCategory    = "General"
)

var shortcutPattern = regexp.MustCompile(`^/[a-z0-9][a-z0-9_-]{0,31}$`)

// SnippetKey is the sort key of names and categories: trimmed, lowercase.
func SnippetKey(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

func (sn *Snippet) validate() error {
	sn.Name = strings.TrimSpace(sn.Name)
	if sn.Name == "" || utf8.RuneCountInString(sn.Name) > maxSnippetName || !utf8.ValidString(sn.Name) {
		return Invalid("name", "a snippet name is 1 to %d characters", maxSnippetName)
	}
	if strings.ContainsFunc(sn.Name, func(r rune) bool { return r < 0x20 || r == '#' || r == 0x7f }) {
		return Invalid("name", "a snippet name cannot contain # or control characters")
	}
	sn.Shortcut = strings.ToLower(strings.TrimSpace(sn.Shortcut))
	if sn.Shortcut != "" && !strings.HasPrefix(sn.Shortcut, "/") {
		sn.Shortcut = "/" + sn.Shortcut
	}
	if !shortcutPattern.MatchString(sn.Shortcut) {
		return Invalid("shortcut", "a shortcut is / and 1 to 32 of a-z, 0-9, _ and -, such as /thanks")
	}
	sn.Category = strings.TrimSpace(sn.Category)
	if sn.Category == "" {
		sn.Category = defaultCategory
	}
	if utf8.RuneCountInString(sn.Category) > maxSnippetCategory || !utf8.ValidString(sn.Category) || strings.ContainsFunc(sn.Category, func(r rune) bool { return r < 0x20 || r == '#' || r == 0x7f }) {
		return Invalid("category", "a category is 1 to %d characters, without # or NUL", maxSnippetCategory)
	}
	if sn.Channel != "" && !sn.Channel.Valid() {
		return Invalid("channel", "unknown channel %q", sn.Channel)
	}
	if !utf8.ValidString(sn.Body) {
		return Invalid("body", "body must be UTF-8 text")
	}
	if n := utf8.RuneCountInString(sn.Body); n > MaxSnippetBody {
		return Invalid("body", "a snippet body is at most %d characters; this one has %d", MaxSnippetBody, n)
	}
	atts, err := validateAttachments(sn.Attachments)
	if err != nil {
		return err
	}
	sn.Attachments = atts
	if strings.TrimSpace(sn.Body) == "" && len(sn.Attachments) == 0 {
		return Invalid("body", "a snippet needs a body or an attachment")
	}
	if sn.Channel != "" {
		for _, a := range sn.Attachments {
			if !mediaAllowed(sn.Channel, a.ContentType) && !(sn.Channel == ChannelSMS && mediaAllowed(ChannelMMS, a.ContentType)) {
				return Invalid("attachments", "%s cannot carry %s attachments", sn.Channel, a.ContentType)
			}
		}
	}
	if _, err := ParseTemplate(sn.Body); err != nil {
		return err
	}
	return nil
}
