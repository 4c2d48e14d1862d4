package inbox

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Automation starts a run for a contact when its trigger happens and takes
// the contact through its steps (seeds 000, 001 and 003).
type Automation struct {
	ID          string           `json:"id"`
	WorkspaceID string           `json:"workspaceId"`
	Name        string           `json:"name"`
	Enabled     bool             `json:"enabled"`
	Trigger     Trigger          `json:"trigger"`
	Steps       []AutomationStep `json:"steps"`
	CreatedAt   time.Time        `json:"createdAt"`
	UpdatedAt   time.Time        `json:"updatedAt"`
	Version     int64            `json:"version"`
}

// TriggerType is the domain event that starts an automation run.
type TriggerType string

const (
	TriggerTagged      TriggerType = "contact.tagged"
	TriggerAddedToList TriggerType = "contact.added_to_list"
	// TriggerSubscribed: the contact opted in on a channel.
	TriggerSubscribed          TriggerType = "contact.subscribed"
	TriggerOrderPlaced         TriggerType = "order.placed"
	TriggerCartAbandoned       TriggerType = "cart.abandoned"
	TriggerKeyword             TriggerType = "message.keyword"
	TriggerConversationCreated TriggerType = "conversation.created"
)

// Trigger is what starts a run. Tag, List, Channel and Keyword narrow the
// types they belong to; empty Tag, List or Channel match any.
type Trigger struct {
	Type    TriggerType `json:"type"`
	Tag     string      `json:"tag,omitempty"`
	List    string      `json:"list,omitempty"`
	Channel Channel     `json:"channel,omitempty"`
	Keyword string      `json:"keyword,omitempty"`
}

// StepType is what an automation step does.
type StepType string

const (
	StepDelay   StepType = "delay"
	StepMessage StepType = "message"
	StepLabel   StepType = "label"
	StepTag     StepType = "tag"
	StepAssign  StepType = "assign"
	StepManual  StepType = "manual"
)

// MessageMode is how a message step creates its message (seed 000).
type MessageMode string

const (
	// ModeSendNow sends at once, or saves a draft when the contact has not
	// opted in to marketing on the channel.
	ModeSendNow MessageMode = "send_now"
	// ModeSchedule sends after AfterMinutes whatever the marketing
	// preference, unless the contact opted out by keyword.
	ModeSchedule MessageMode = "schedule"
	// ModeDraft saves the message for an agent to review and send.
	ModeDraft MessageMode = "draft"
)

// AutomationStep is one step. Which fields apply depends on Type.
type AutomationStep struct {
	Type StepType `json:"type"`
	// Minutes is a delay's length, or how far ahead a scheduled message sends.
	Minutes int `json:"minutes,omitempty"`
	// Message steps.
	Mode        MessageMode  `json:"mode,omitempty"`
	Channel     Channel      `json:"channel,omitempty"`
	Body        string       `json:"body,omitempty"`
	Template    *Template    `json:"template,omitempty"`
	Attachments []Attachment `json:"attachments,omitempty"`
	// SnippetID makes a message step use a snippet (seed 002's canned
	// responses as auto-replies): its body and attachments are copied into
	// the step when the automation is saved, so saving it again picks up
	// the snippet's edits, and deleting the snippet does not break the step.
	SnippetID string `json:"snippetId,omitempty"`
	// Label and tag steps add and remove (labels by id, tags by name).
	Add    []string `json:"add,omitempty"`
	Remove []string `json:"remove,omitempty"`
	// AssigneeID is who an assign step gives the conversation to, or who a
	// manual action is for (default: the conversation's assignee).
	AssigneeID string `json:"assigneeId,omitempty"`
	// Manual actions: a call or a personalised message, with instructions.
	Action       ManualActionKind `json:"action,omitempty"`
	Instructions string           `json:"instructions,omitempty"`
}

const (
	maxAutomationSteps = 50
	maxDelayMinutes    = 366 * 24 * 60
	maxKeywordLen      = 40
)

// AutomationRefs is what validation needs to know about the workspace.
type AutomationRefs struct {
	Settings WorkspaceSettings
	// LabelExists and UserExists resolve ids named in steps.
	LabelExists func(id string) bool
	UserExists  func(id string) bool
	// Templates are the workspace's templates message steps are checked
	// against; nil checks only the steps' shape.
	Templates []*MessageTemplate
}

// Validate checks an automation before it is stored.
func (a *Automation) Validate(refs AutomationRefs) error {
	a.Name = strings.TrimSpace(a.Name)
	if a.Name == "" || utf8.RuneCountInString(a.Name) > maxNameLen {
		return Invalid("name", "an automation needs a name of at most %d characters", maxNameLen)
	}
	if err := a.Trigger.validate(); err != nil {
		return err
	}
	if len(a.Steps) == 0 {
		return Invalid("steps", "an automation needs at least one step")
	}
	if len(a.Steps) > maxAutomationSteps {
		return Invalid("steps", "an automation has at most %d steps", maxAutomationSteps)
	}
	for i := range a.Steps {
		if err := a.Steps[i].validate(fmt.Sprintf("steps[%d]", i), refs); err != nil {
			return err
		}
	}
	return checkStoredSize("steps", "an automation", a)
}

func (t *Trigger) validate() error {
	switch t.Type {
	case TriggerTagged:
		t.Tag = strings.TrimSpace(t.Tag)
	case TriggerAddedToList:
		t.List = strings.TrimSpace(t.List)
	case TriggerSubscribed:
		if t.Channel != "" && !t.Channel.Valid() {
			return Invalid("trigger.channel", "unknown channel %q", t.Channel)
		}
		t.Channel = t.Channel.ConsentChannel()
	case TriggerKeyword:
		t.Keyword = strings.TrimSpace(t.Keyword)
		if t.Keyword == "" || utf8.RuneCountInString(t.Keyword) > maxKeywordLen || strings.ContainsAny(t.Keyword, " \t\n") {
			return Invalid("trigger.keyword", "a keyword trigger needs one word of at most %d characters", maxKeywordLen)
		}
		if Keyword(t.Keyword) != NoKeyword {
			return Invalid("trigger.keyword", "%q is a reserved keyword (opt-out, opt-in or help)", t.Keyword)
		}
	case TriggerOrderPlaced, TriggerCartAbandoned, TriggerConversationCreated:
	case "":
		return Invalid("trigger.type", "an automation needs a trigger type")
	default:
		return Invalid("trigger.type", "unknown trigger type %q; use one of %s", t.Type, strings.Join(triggerTypeNames(), ", "))
	}
	return nil
}

func triggerTypeNames() []string {
	return []string{string(TriggerTagged), string(TriggerAddedToList), string(TriggerSubscribed), string(TriggerOrderPlaced),
		string(TriggerCartAbandoned), string(TriggerKeyword), string(TriggerConversationCreated)}
}

func (s *AutomationStep) validate(field string, refs AutomationRefs) error {
	if s.SnippetID != "" && s.Type != StepMessage {
		return Invalid(field+".snippetId", "only a message step takes a snippet")
	}
	switch s.Type {
	case StepDelay:
		if s.Minutes <= 0 || s.Minutes > maxDelayMinutes {
			return Invalid(field+".minutes", "a delay is 1 minute to a year")
		}
	case StepMessage:
		return s.validateMessage(field, refs)
	case StepLabel, StepTag:
		if len(s.Add)+len(s.Remove) == 0 {
			return Invalid(field, "a %s step adds or removes at least one", s.Type)
		}
		if s.Type == StepTag {
			// The limits of a contact's tags, as the API applies them.
			var err error
			if s.Add, err = validateTags(field+".add", s.Add); err != nil {
				return err
			}
			if s.Remove, err = validateTags(field+".remove", s.Remove); err != nil {
				return err
			}
			break
		}
		if len(s.Add) > maxTags || len(s.Remove) > maxTags {
			return Invalid(field, "a conversation has at most %d labels", maxTags)
		}
		for _, v := range append(append([]string{}, s.Add...), s.Remove...) {
			if refs.LabelExists == nil || !refs.LabelExists(v) {
				return Invalid(field, "label %q does not exist in this workspace", v)
			}
		}
	case StepAssign:
		if s.AssigneeID != "" && (refs.UserExists == nil || !refs.UserExists(s.AssigneeID)) {
			return Invalid(field+".assigneeId", "user %q is not a member of this workspace", s.AssigneeID)
		}
	case StepManual:
		if s.Action != ManualCall && s.Action != ManualMessage {
			return Invalid(field+".action", "a manual action is %q or %q", ManualCall, ManualMessage)
		}
		if strings.TrimSpace(s.Instructions) == "" || utf8.RuneCountInString(s.Instructions) > maxBodyLen {
			return Invalid(field+".instructions", "a manual action needs instructions")
		}
		if s.AssigneeID != "" && (refs.UserExists == nil || !refs.UserExists(s.AssigneeID)) {
			return Invalid(field+".assigneeId", "user %q is not a member of this workspace", s.AssigneeID)
		}
	case "":
		return Invalid(field+".type", "a step needs a type")
	default:
		return Invalid(field+".type", "unknown step type %q; use delay, message, label, tag, assign or manual", s.Type)
	}
	return nil
}

func (s *AutomationStep) validateMessage(field string, refs AutomationRefs) error {
	switch s.Mode {
	case ModeSendNow, ModeDraft:
	case ModeSchedule:
		if s.Minutes <= 0 || s.Minutes > maxDelayMinutes {
			return Invalid(field+".minutes", "a scheduled message sends 1 minute to a year after the step")
		}
	default:
		return Invalid(field+".mode", "mode is send_now, schedule or draft")
	}
	if !s.Channel.Valid() {
		return Invalid(field+".channel", "unknown channel %q", s.Channel)
	}
	if s.Template != nil {
		if refs.Templates == nil {
			return checkTemplateRef(s.Channel, s.Template)
		}
		_, err := checkTemplate(s.Channel, refs.Templates, s.Template)
		return err
	}
	if _, err := validateBody(s.Body, len(s.Attachments) == 0); err != nil {
		return Invalid(field+".body", "a message step needs a body or a template")
	}
	if _, err := parseMergeTags(field+".body", s.Body); err != nil {
		return err
	}
	return CheckBodyLength(s.Channel, s.Body)
}

// Matches reports whether an event starts a run of this trigger.
func (t Trigger) Matches(e Event) bool {
	if e.ContactID == "" {
		return false
	}
	switch t.Type {
	case TriggerTagged:
		return e.Type == EventContactTagged && (t.Tag == "" || containsFold(e.Tags, t.Tag))
	case TriggerAddedToList:
		return e.Type == EventContactAddedToList && (t.List == "" || strings.EqualFold(e.List, t.List))
	case TriggerSubscribed:
		return e.Type == EventContactOptedIn && (t.Channel == "" || e.Channel.ConsentChannel() == t.Channel)
	case TriggerOrderPlaced:
		return e.Type == EventOrderPlaced
	case TriggerCartAbandoned:
		return e.Type == EventCartAbandoned
	case TriggerKeyword:
		return e.Type == EventMessageReceived && e.Kind == KindMessage && strings.EqualFold(strings.TrimSpace(e.Body), t.Keyword)
	case TriggerConversationCreated:
		return e.Type == EventConversationCreated
	}
	return false
}

func containsFold(list []string, v string) bool {
	for _, x := range list {
		if strings.EqualFold(x, v) {
			return true
		}
	}
	return false
}
