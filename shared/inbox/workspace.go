package inbox

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Role decides what a user may do. Agents work the inbox; admins also manage
// settings and may delete conversations.
type Role string

const (
	RoleAdmin Role = "admin"
	RoleAgent Role = "agent"
)

func (r Role) Valid() bool { return r == RoleAdmin || r == RoleAgent }

// Workspace is a tenant. Every stored key is scoped by its id.
type Workspace struct {
	ID        string            `json:"id"`
	Name      string            `json:"name"`
	Settings  WorkspaceSettings `json:"settings"`
	CreatedAt time.Time         `json:"createdAt"`
	UpdatedAt time.Time         `json:"updatedAt"`
	Version   int64             `json:"version"`
}

// WorkspaceSettings are the admin-controlled switches.
type WorkspaceSettings struct {
	// ConversationDeletion lets admins delete conversations. Some teams must
	// keep every record, so they turn it off for everyone.
	ConversationDeletion bool `json:"conversationDeletion"`
	// Timezone is the fallback for contacts with no timezone of their own.
	Timezone string `json:"timezone"`
	// CallRecording keeps the recording links of calls in their thread.
	CallRecording bool `json:"callRecording"`
	// HelpReply answers an SMS of HELP or INFO.
	HelpReply string `json:"helpReply,omitempty"`
	// QuietHours hold automated messages per channel ("do not disturb").
	QuietHours map[Channel]QuietHours `json:"quietHours,omitempty"`
	// RequireConsentMessage sends ConsentMessage before the first SMS to a
	// contact who has not had it.
	RequireConsentMessage bool   `json:"requireConsentMessage"`
	ConsentMessage        string `json:"consentMessage,omitempty"`
	// Templates are the old approved WhatsApp templates, by name. Deprecated:
	// templates are MessageTemplate resources; the first read of templates
	// moves these there and clears the map (migrateTemplates).
	Templates map[string]TemplateSpec `json:"templates,omitempty"`
	// WebChatIdentitySecret is the key the team's site signs a signed-in
	// visitor's email with (identity verification). It is never shown:
	// reads carry WebChatIdentitySecretHint, its last characters, instead.
	WebChatIdentitySecret     string `json:"webChatIdentitySecret,omitempty"`
	WebChatIdentitySecretHint string `json:"webChatIdentitySecretHint,omitempty"`
	// Widget is how the chat widget looks on the team's site; nil uses
	// the defaults. It is public: GET /chat/{ws}/widget shows it to anyone.
	Widget *WidgetSettings `json:"widget,omitempty"`
	// DeleteProviderMedia deletes an inbound file from the provider (Twilio
	// keeps MMS media until deleted) once Parley holds its copy.
	DeleteProviderMedia bool `json:"deleteProviderMedia,omitempty"`
}

// WidgetSettings are the chat widget's public look: its header, the
// greeting it opens with and its accent colour. Empty fields use the
// defaults (WidgetSettings.Resolved).
type WidgetSettings struct {
	Title    string `json:"title,omitempty"`
	Greeting string `json:"greeting,omitempty"`
	// Color is "#rrggbb".
	Color string `json:"color,omitempty"`
}

// The widget's defaults, for a workspace that has not set its own.
const (
	DefaultWidgetTitle    = "Chat with us"
	DefaultWidgetGreeting = "Hi! Ask us anything, we usually reply in a few minutes."
	DefaultWidgetColor    = "#2563eb"
)

// Resolved fills the empty fields with the defaults; w may be nil.
func (w *WidgetSettings) Resolved() WidgetSettings {
	out := WidgetSettings{}
	if w != nil {
		out = *w
	}
	if out.Title == "" {
		out.Title = DefaultWidgetTitle
	}
	if out.Greeting == "" {
		out.Greeting = DefaultWidgetGreeting
	}
	if out.Color == "" {
		out.Color = DefaultWidgetColor
	}
	return out
}

// Limits of the widget's texts, which must fit its header and first bubble.
const (
	maxWidgetTitle    = 60
	maxWidgetGreeting = 500
)

// validate trims the texts and checks the limits and the colour.
func (w *WidgetSettings) validate() error {
	w.Title, w.Greeting = strings.TrimSpace(w.Title), strings.TrimSpace(w.Greeting)
	if !utf8.ValidString(w.Title) || utf8.RuneCountInString(w.Title) > maxWidgetTitle || strings.ContainsAny(w.Title, "\r\n") {
		return Invalid("widget", "the widget's title is one line of at most %d characters", maxWidgetTitle)
	}
	if !utf8.ValidString(w.Greeting) || utf8.RuneCountInString(w.Greeting) > maxWidgetGreeting {
		return Invalid("widget", "the widget's greeting is at most %d characters", maxWidgetGreeting)
	}
	w.Color = strings.ToLower(w.Color)
	if w.Color != "" && !validHexColor(w.Color) {
		return Invalid("widget", "the widget's color is \"#rrggbb\" (six hex digits), or \"\" for the default")
	}
	return nil
}

func validHexColor(s string) bool {
	if len(s) != 7 || s[0] != '#' {
		return false
	}
	for _, c := range s[1:] {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// Redacted is the workspace as callers may see it: secrets replaced by hints.
func (w *Workspace) Redacted() *Workspace {
	out := *w
	if sec := out.Settings.WebChatIdentitySecret; sec != "" {
		out.Settings.WebChatIdentitySecretHint = "…" + sec[len(sec)-4:]
	}
	out.Settings.WebChatIdentitySecret = ""
	return &out
}

// validIdentitySecret: long enough not to be guessed, and plain text a
// site can paste into its config.
func validIdentitySecret(s string) error {
	if s == "" {
		return nil // removes it
	}
	if len(s) < 32 || len(s) > 256 || strings.IndexFunc(s, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0 {
		return Invalid("webChatIdentitySecret", "the identity secret is 32 to 256 printable ASCII characters without spaces, or \"\" to remove it")
	}
	return nil
}

// TemplateSpec is an approved template: its language and how many
// parameters its body takes.
type TemplateSpec struct {
	Language string `json:"language"`
	Params   int    `json:"params"`
	Body     string `json:"body,omitempty"`
}

// DefaultConsentMessage is sent when the workspace requires one and has not
// written its own.
const DefaultConsentMessage = "You are now receiving text messages from us. Reply STOP to opt out, HELP for help."

// DefaultHelpReply answers HELP when the workspace has not set its own.
const DefaultHelpReply = "Reply STOP to unsubscribe, START to resubscribe. Msg & data rates may apply."

// WorkspaceSettingsPatch changes some settings; nil fields stay as they are.
type WorkspaceSettingsPatch struct {
	Name                 *string `json:"name,omitempty"`
	ConversationDeletion *bool   `json:"conversationDeletion,omitempty"`
	Timezone             *string `json:"timezone,omitempty"`
	CallRecording        *bool   `json:"callRecording,omitempty"`
	HelpReply            *string `json:"helpReply,omitempty"`
	// QuietHours replaces the whole map; a channel left out has none.
	QuietHours            map[Channel]QuietHours  `json:"quietHours,omitempty"`
	RequireConsentMessage *bool                   `json:"requireConsentMessage,omitempty"`
	ConsentMessage        *string                 `json:"consentMessage,omitempty"`
	Templates             map[string]TemplateSpec `json:"templates,omitempty"` // refused: templates moved to /templates
	// WebChatIdentitySecret sets the identity secret; "" removes it.
	WebChatIdentitySecret *string `json:"webChatIdentitySecret,omitempty"`
	// Widget replaces the whole widget object; {} returns to the defaults.
	Widget              *WidgetSettings `json:"widget,omitempty"`
	DeleteProviderMedia *bool           `json:"deleteProviderMedia,omitempty"`
	// IfMatch is the version the request's If-Match header names.
	IfMatch *int64 `json:"-"`
}

// User is a member of a workspace.
type User struct {
	ID          string    `json:"id"`
	WorkspaceID string    `json:"workspaceId"`
	Name        string    `json:"name"`
	Email       string    `json:"email"`
	Role        Role      `json:"role"`
	CreatedAt   time.Time `json:"createdAt"`
}

// Actor is the authenticated caller of a use case, read from the token.
type Actor struct {
	WorkspaceID string
	UserID      string
	Role        Role
	// ClientID is set when a machine client (an integration or a bot with
	// OAuth client credentials) calls instead of a person. Its UserID is
	// then MachineUserID(ClientID), its Role agent, and Scopes limit it.
	ClientID string
	// Name is a machine client's display name, which its messages carry.
	Name string
	// Scopes are a machine client's granted scopes, space-separated and
	// without the resource server's prefix ("messages.write conversations.read").
	Scopes string
}

func (a Actor) IsAdmin() bool { return a.Role == RoleAdmin }

// IsMachine reports whether a machine client, not a person, is calling.
func (a Actor) IsMachine() bool { return a.ClientID != "" }

// HasScope reports whether a machine client was granted scope.
func (a Actor) HasScope(scope string) bool {
	return scope != "" && slices.Contains(strings.Fields(a.Scopes), scope)
}

// machinePrefix starts the user id of a machine client: messages it posts
// have authorId "client:<client id>", which no Cognito sub looks like.
const machinePrefix = "client:"

// MachineUserID is the user id a machine client acts as.
func MachineUserID(clientID string) string { return machinePrefix + clientID }

// IsMachineUserID reports whether a user id (an authorId) names a machine client.
func IsMachineUserID(id string) bool { return strings.HasPrefix(id, machinePrefix) }

func requireAdmin(a Actor, action string) error {
	if !a.IsAdmin() {
		return Errorf(KindForbidden, "only an admin can %s", action)
	}
	return nil
}
