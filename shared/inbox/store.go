package inbox

import "context"

// Page is one page of a list and the opaque cursor to the next one, empty
// on the last page.
type Page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"nextCursor,omitempty"`
}

// PageRequest asks for a page. Cursors come from an earlier Page and are
// only valid in the workspace and list that issued them.
type PageRequest struct {
	Limit  int
	Cursor string
	// Newest lists a thread newest first (the first screen of a chat).
	Newest bool
}

const (
	DefaultPageSize = 25
	MaxPageSize     = 100
)

// Store persists the domain. Implementations enforce the invariants that
// need the database: uniqueness of phones, emails and label names, and
// optimistic versioning (a write whose Version does not match what is
// stored fails with KindConflict). Gets of missing items fail with
// KindNotFound. Every method is scoped to one workspace.
type Store interface {
	WorkspaceStore
	ContactStore
	ConversationStore
	MessageStore
	SequenceStore
	RunStore
	TaskStore
	LabelStore
	TagStore
	SnippetStore
	TemplateStore
	EmailCodes
	LiveStore
	ExportStore
	ContactFieldStore
	AgentStore
	AssignmentRuleStore
	MergeStore
	ImportStore
	ListStore
}

// WorkspaceStore keeps workspaces and their team.
type WorkspaceStore interface {
	GetWorkspace(ctx context.Context, workspaceID string) (*Workspace, error)
	// WorkspaceSettings may lag a write by about a second; sends and steps
	// read it on every call, so it costs half of GetWorkspace.
	WorkspaceSettings(ctx context.Context, workspaceID string) (WorkspaceSettings, error)
	// WorkspaceName reads the name alone, eventually consistently (merge tags).
	WorkspaceName(ctx context.Context, workspaceID string) (string, error)
	// PutWorkspace creates (Version 0) or replaces (matching Version) a workspace.
	PutWorkspace(ctx context.Context, w *Workspace) error
	GetUser(ctx context.Context, workspaceID, userID string) (*User, error)
	PutUser(ctx context.Context, u *User) error
	ListUsers(ctx context.Context, workspaceID string) ([]*User, error)
}

// ContactStore keeps contacts, the phones and emails they claim, and their consent.
type ContactStore interface {
	// CreateContact stores a new contact and claims its phones and emails.
	// A value another contact holds fails with KindConflict naming it.
	CreateContact(ctx context.Context, c *Contact) error
	// UpdateContact replaces a contact whose stored version is prev.Version,
	// claiming added phones and emails and releasing removed ones.
	UpdateContact(ctx context.Context, prev, next *Contact) error
	GetContact(ctx context.Context, workspaceID, id string) (*Contact, error)
	FindContactByPhone(ctx context.Context, workspaceID, e164 string) (*Contact, error)
	FindContactByEmail(ctx context.Context, workspaceID, email string) (*Contact, error)
	// ListContactsByName pages through contacts in name order (the address
	// book), only those whose lower-cased name starts with prefix when it
	// is set.
	ListContactsByName(ctx context.Context, workspaceID, prefix string, p PageRequest) (Page[*Contact], error)
	// RecordConsent stores a contact's consent on one channel, and its
	// history entry, if the stored consent is still prev (nil: none);
	// otherwise ErrVersionConflict. GetContact's Consent includes it.
	RecordConsent(ctx context.Context, prev *ChannelConsent, r *ConsentRecord) error
	// ListConsentHistory pages through a contact's consent records, newest first.
	ListConsentHistory(ctx context.Context, workspaceID, contactID string, p PageRequest) (Page[*ConsentRecord], error)
}

// ConversationStore keeps conversations and routes inbound correspondents to them.
type ConversationStore interface {
	// CreateConversation stores a conversation and links it to its contact,
	// replacing the contact's link to a deleted thread, and failing with
	// ErrVersionConflict if the contact changed. Claims are linked after,
	// as routing hints.
	CreateConversation(ctx context.Context, c *Conversation, contact *Contact) error
	GetConversation(ctx context.Context, workspaceID, id string) (*Conversation, error)
	GetConversations(ctx context.Context, workspaceID string, ids []string) ([]*Conversation, error)
	// PutConversation replaces a conversation whose stored version is
	// c.Version, and increments c.Version.
	PutConversation(ctx context.Context, c *Conversation) error
	// DeleteConversation removes a conversation, all its messages, and its
	// contact's and claims' links to it. Repeating it finishes one that
	// was interrupted.
	DeleteConversation(ctx context.Context, c *Conversation) error
	// FindCorrespondent routes an inbound sender to its contact and conversation
	// ("" when the contact has none); KindNotFound for a new sender. The
	// conversation is a hint: it may be missing, or deleted.
	FindCorrespondent(ctx context.Context, workspaceID string, from Correspondent) (contactID, conversationID string, err error)
	// LinkCorrespondent points a sender's claim at its contact's conversation.
	LinkCorrespondent(ctx context.Context, workspaceID string, from Correspondent, contactID, conversationID string) error
	// PeekConversation is GetConversation from an eventually consistent
	// read, for hot paths whose versioned write catches a stale copy.
	PeekConversation(ctx context.Context, workspaceID, id string) (*Conversation, error)
	ListInbox(ctx context.Context, workspaceID string, f InboxFilter, p PageRequest) (Page[*Conversation], error)
}

// MessageStore keeps messages and the provider ids that point at them.
type MessageStore interface {
	// PutMessage stores a new message; storing the same id again is a no-op.
	PutMessage(ctx context.Context, m *Message) error
	GetMessage(ctx context.Context, workspaceID, conversationID, id string) (*Message, error)
	// UpdateMessageStatus stores m's status and error if its stored status is
	// still prev; otherwise ErrVersionConflict.
	UpdateMessageStatus(ctx context.Context, m *Message, prev MessageStatus) error
	// SetAttachments stores m's attachments (and UpdatedAt) alone, so a
	// concurrent status change is kept, if the stored attachments are still
	// prev; KindNotFound when m is gone, ErrVersionConflict when they
	// changed.
	SetAttachments(ctx context.Context, m *Message, prev []Attachment) error
	// ReplaceMessage stores an edited message if its status is still prev.
	ReplaceMessage(ctx context.Context, m *Message, prev MessageStatus) error
	// ListScheduled pages through scheduled messages, soonest first.
	ListScheduled(ctx context.Context, workspaceID string, p PageRequest) (Page[*Message], error)
	// ListDrafts pages through drafts waiting for review, oldest first.
	ListDrafts(ctx context.Context, workspaceID string, p PageRequest) (Page[*Message], error)
	PutProviderRef(ctx context.Context, workspaceID string, channel Channel, providerID string, ref ProviderRef) error
	FindProviderRef(ctx context.Context, workspaceID string, channel Channel, providerID string) (ProviderRef, error)
	ListMessages(ctx context.Context, workspaceID, conversationID string, p PageRequest) (Page[*Message], error)
}

// SequenceStore keeps drip campaigns and automations.
type SequenceStore interface {
	// PutCampaign creates (Version 0) or replaces (matching Version) a campaign.
	PutCampaign(ctx context.Context, c *Campaign) error
	GetCampaign(ctx context.Context, workspaceID, id string) (*Campaign, error)
	ListCampaigns(ctx context.Context, workspaceID string) ([]*Campaign, error)
	DeleteCampaign(ctx context.Context, c *Campaign) error

	PutAutomation(ctx context.Context, a *Automation) error
	GetAutomation(ctx context.Context, workspaceID, id string) (*Automation, error)
	ListAutomations(ctx context.Context, workspaceID string) ([]*Automation, error)
	DeleteAutomation(ctx context.Context, a *Automation) error
}

// RunStore keeps drip and automation runs, counted per sequence and status.
type RunStore interface {
	// CreateRun stores a new run (status started) and counts it; a run with
	// the same contact and id fails with KindConflict.
	CreateRun(ctx context.Context, r *Run) error
	// UpdateRun stores r if its stored status is still prev (else
	// ErrVersionConflict), moving the sequence's counts when the status
	// changed.
	UpdateRun(ctx context.Context, r *Run, prev RunStatus) error
	GetRun(ctx context.Context, workspaceID, contactID, runID string) (*Run, error)
	// ContactRuns lists a contact's runs, of every sequence and status.
	ContactRuns(ctx context.Context, workspaceID, contactID string) ([]*Run, error)
	// ListRuns pages through a sequence's runs of one status, oldest first.
	ListRuns(ctx context.Context, workspaceID, sequenceID string, status RunStatus, p PageRequest) (Page[*Run], error)
	// RunCounts counts a sequence's runs by status.
	RunCounts(ctx context.Context, workspaceID, sequenceID string) (map[RunStatus]int, error)
}

// TaskStore keeps the manual tasks automations park for agents.
type TaskStore interface {
	// PutTask creates or replaces a manual task (keeping its id).
	PutTask(ctx context.Context, t *ManualTask) error
	GetTask(ctx context.Context, workspaceID, id string) (*ManualTask, error)
	// UpdateTask stores t if its stored status is still prev.
	UpdateTask(ctx context.Context, t *ManualTask, prev TaskStatus) error
	// ListTasks pages through an assignee's open tasks (Unassigned for the
	// shared queue), oldest first.
	ListTasks(ctx context.Context, workspaceID, assigneeID string, p PageRequest) (Page[*ManualTask], error)
}

// LabelStore keeps the workspace's labels; names are unique.
type LabelStore interface {
	CreateLabel(ctx context.Context, l *Label) error
	UpdateLabel(ctx context.Context, prev, next *Label) error
	GetLabel(ctx context.Context, workspaceID, id string) (*Label, error)
	ListLabels(ctx context.Context, workspaceID string) ([]*Label, error)
	DeleteLabel(ctx context.Context, l *Label) error
}

// ErrVersionConflict is what a store returns when a versioned write lost a
// race. Use cases re-read and retry; callers see it only if retries run out.
var ErrVersionConflict = &Error{Kind: KindConflict, Message: "the item was changed by someone else at the same time; retry the request"}

// SnippetStore keeps the workspace's snippets; shortcuts are unique.
type SnippetStore interface {
	CreateSnippet(ctx context.Context, s *Snippet) error
	// UpdateSnippet replaces prev (matching its Version) with next.
	UpdateSnippet(ctx context.Context, prev, next *Snippet) error
	GetSnippet(ctx context.Context, workspaceID, id string) (*Snippet, error)
	// ListSnippets reads one page, by name, with one Query.
	ListSnippets(ctx context.Context, workspaceID string, q SnippetQuery) (Page[*Snippet], error)
	DeleteSnippet(ctx context.Context, s *Snippet) error
}
