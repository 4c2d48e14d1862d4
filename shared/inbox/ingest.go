package inbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"
)

// IngestResult says what a provider delivery did.
type IngestResult struct {
	Conversation *Conversation
	Message      *Message
	// Duplicate is true when the delivery had already been filed.
	Duplicate bool
}

// systemActor acts for a workspace when no person does (webhooks).
func systemActor(workspaceID string) Actor {
	return Actor{WorkspaceID: workspaceID, Role: RoleAdmin}
}

// providerKey makes a provider's message id into the key that dedupes it;
// ids are unique per provider, so the channel family scopes them.
func providerKey(in Inbound) keyHash {
	family := string(in.Channel.ConsentChannel())
	if in.Kind == KindCall {
		family = "call"
	}
	return hashKey(Actor{WorkspaceID: in.WorkspaceID, UserID: "provider:" + family}, in.dedupeID())
}

// dedupeID is the id a redelivery repeats and a stranger cannot: senders
// choose their own email Message-IDs, so one is unique only together with
// the sender's address.
func (in *Inbound) dedupeID() string {
	if in.Channel != ChannelEmail {
		return in.ProviderID
	}
	return emailRef(in.From.Email, in.ProviderID)
}

// emailRef names the email with Message-ID id that from sent.
func emailRef(from, id string) string {
	sum := sha256.Sum256([]byte(from + "\x00" + id))
	return "from-sha256:" + hex.EncodeToString(sum[:])
}

func (in *Inbound) validate() error {
	if err := in.validateSender(); err != nil {
		return err
	}
	if _, err := validateBody(in.Body, false); err != nil {
		return err
	}
	return nil
}

// validateSender checks what names an item's thread and dedupes it: enough
// to file a refusal in its place.
func (in *Inbound) validateSender() error {
	switch {
	case in.WorkspaceID == "":
		return Invalid("workspace", "workspace is required")
	case in.ProviderID == "" || len(in.ProviderID) > 512:
		return Invalid("providerId", "the provider's message id is required")
	case in.Kind != KindMessage && in.Kind != KindCall:
		return Invalid("kind", "inbound entries are messages or calls")
	case in.Kind == KindMessage && !in.Channel.Valid():
		return Invalid("channel", "unknown channel %q", in.Channel)
	case in.Kind == KindCall && in.Call == nil:
		return Invalid("call", "a call entry needs its details")
	}
	n := 0
	for _, v := range []string{in.From.Phone, in.From.Email, in.From.Handle} {
		if v != "" {
			n++
		}
	}
	if n != 1 {
		return Invalid("from", "the sender needs exactly one of phone, email or handle")
	}
	return nil
}

// Ingest files an inbound message or call in its contact's thread, exactly
// once however often the provider delivers it.
//
// The steady-state cost is one eventually consistent read of the sender's
// claim (which names the conversation), one of the conversation, a
// versioned conversation write (which also moves the inbox index) and one
// message put. The conversation write is the commit point: it records the
// message's id, whose ULID entropy is the hash of the provider's id, so a
// redelivery finds it there and only re-puts the (identical) message.
func (s *Intake) Ingest(ctx context.Context, in Inbound) (*IngestResult, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	return s.ingest(ctx, in, "")
}

// Refuse files, in place of an inbound message Parley cannot keep (a body
// past its limits, a malformed item), an activity in the sender's thread
// saying why, so the team knows the contact wrote. It is filed exactly
// once per provider id, as Ingest files messages, and opens the reply
// window as the message would have. Only the sender must be valid.
func (s *Intake) Refuse(ctx context.Context, in Inbound, reason string) (*IngestResult, error) {
	if err := in.validateSender(); err != nil {
		return nil, err
	}
	if in.Kind != KindMessage {
		return nil, Invalid("kind", "only messages are refused in a thread")
	}
	in.Body, in.Attachments, in.Call, in.Email = "", nil, nil, nil
	if reason == "" {
		reason = "it could not be read"
	}
	return s.ingest(ctx, in, reason)
}

// refusalNote is the activity Refuse files: it says who wrote on what, and
// why it is not in the thread.
func refusalNote(in Inbound, reason string) string {
	return fmt.Sprintf("A %s message from the contact could not be filed: %s. (Provider message id %s.)", channelName(in.Channel), strings.TrimSuffix(reason, "."), in.ProviderID)
}

func channelName(ch Channel) string {
	switch ch {
	case ChannelSMS, ChannelMMS:
		return strings.ToUpper(string(ch))
	case ChannelWhatsApp:
		return "WhatsApp"
	case ChannelMessenger:
		return "Messenger"
	case ChannelInstagram:
		return "Instagram"
	case ChannelWebchat:
		return "web chat"
	}
	return string(ch)
}

// ingest files in, or, when refusal is set, a note of it (see Refuse).
func (s *core) ingest(ctx context.Context, in Inbound, refusal string) (*IngestResult, error) {
	entry := func(conv *Conversation, contactID, id string, at time.Time) *Message {
		m := inboundMessage(in, conv, contactID, id, at)
		if refusal != "" {
			m.Kind, m.Direction, m.Channel, m.ProviderID = KindActivity, "", "", ""
			m.Body = refusalNote(in, refusal)
		}
		return m
	}
	key := providerKey(in)
	if in.Call != nil && in.Call.RecordingURL != "" {
		if settings, err := s.settings(ctx, in.WorkspaceID); err != nil {
			return nil, err
		} else if !settings.CallRecording {
			in.Call.RecordingURL = ""
		}
	}
	var res *IngestResult
	attempt := 0
	err := retryOnConflict(ctx, func() error {
		attempt++
		conv, contactID, err := s.threadFor(ctx, in, attempt > 1)
		if err != nil {
			return err
		}
		if id, ok := conv.claimFor(key); ok {
			m := entry(conv, contactID, id, ulid.Time(ulid.MustParse(id).Time()))
			res = &IngestResult{Conversation: conv, Message: m, Duplicate: true}
			// Finish what the first delivery may not have: all idempotent.
			return s.finishIngest(ctx, in, m)
		}
		if durable(in) {
			// Providers that redeliver for days (Meta, SNS) are checked
			// against a record that outlives the conversation's claims.
			ref, err := s.store.FindProviderRef(ctx, in.WorkspaceID, in.Channel, in.dedupeID())
			if err == nil {
				res = &IngestResult{Conversation: conv, Message: entry(conv, contactID, ref.MessageID, s.now()), Duplicate: true}
				return nil
			} else if !IsKind(err, KindNotFound) {
				return err
			}
		}
		now := s.now()
		m := entry(conv, contactID, key.newID(now), now)
		if in.Call == nil || in.Call.Direction != DirectionOut {
			if conv.Status == StatusComplete {
				conv.Status = StatusOpen // a reply reopens a finished conversation
			}
			conv.Archived = false
			conv.Unread = true
		}
		if in.Channel != "" && (in.Call == nil || in.Call.Direction != DirectionOut) {
			// Reply windows run from when the contact wrote, which the
			// provider's timestamp says better than our receipt time.
			wrote := now
			if !in.SentAt.IsZero() && in.SentAt.Before(now) {
				wrote = in.SentAt.UTC()
			}
			if conv.LastInboundAt == nil {
				conv.LastInboundAt = map[Channel]time.Time{}
			}
			if wrote.After(conv.LastInboundAt[in.Channel]) {
				conv.LastInboundAt[in.Channel] = wrote
			}
		}
		conv.RecordMessage(m)
		if refusal != "" && m.ID > conv.ActivityID {
			// The contact wrote: the thread rises in the inbox as for a
			// message, and its row says when, so the order it is listed
			// in and the time it shows agree.
			conv.ActivityID = m.ID
			at := m.CreatedAt
			conv.LastMessageAt, conv.LastMessageDirection = &at, DirectionIn
		}
		conv.addClaim(m.ID)
		if err := s.store.PutConversation(ctx, conv); err != nil {
			return err
		}
		res = &IngestResult{Conversation: conv, Message: m}
		return s.finishIngest(ctx, in, m)
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// finishIngest writes what follows the commit point: the message, the
// durable provider record (last, so it means the message exists), and the
// effects of an SMS keyword.
func (s *core) finishIngest(ctx context.Context, in Inbound, m *Message) error {
	if err := s.store.PutMessage(ctx, m); err != nil {
		return err
	}
	if durable(in) {
		if err := s.store.PutProviderRef(ctx, in.WorkspaceID, in.Channel, in.dedupeID(), ProviderRef{ConversationID: m.ConversationID, MessageID: m.ID}); err != nil {
			return err
		}
	}
	return s.keywordEffects(ctx, in, m)
}

// durable says whether a provider's ids get a lasting dedupe record. Twilio
// (SMS, MMS, calls) retries within seconds and only before a 2xx, so the
// conversation's recent claims suffice and the SMS path stays at 4 WRU;
// Meta and SNS redeliver for days.
func durable(in Inbound) bool {
	return in.Kind != KindCall && in.Channel.ConsentChannel() != ChannelSMS
}

// threadFor finds or creates the sender's contact and conversation. The
// first attempt reads eventually consistently; a retry after a version
// conflict reads the latest.
func (s *core) threadFor(ctx context.Context, in Inbound, latest bool) (*Conversation, string, error) {
	contactID, linked, err := s.store.FindCorrespondent(ctx, in.WorkspaceID, in.From)
	if in.ThreadHint != "" && err == nil {
		// A hint is the sender's own word: it may pick only a thread of
		// the sender's contact, never post into someone else's as them.
		conv, err := s.store.GetConversation(ctx, in.WorkspaceID, in.ThreadHint)
		if err == nil && !conv.Deleting && conv.ContactID == contactID {
			return conv, contactID, nil
		}
		if err != nil && !IsKind(err, KindNotFound) {
			return nil, "", err
		}
	}
	if IsKind(err, KindNotFound) {
		c, err := s.contactFor(ctx, in)
		if err != nil {
			return nil, "", err
		}
		contactID, linked = c.ID, c.ConversationID
	} else if err != nil {
		return nil, "", err
	}
	if linked != "" {
		read := s.store.PeekConversation
		if latest {
			read = s.store.GetConversation
		}
		conv, err := read(ctx, in.WorkspaceID, linked)
		if err == nil && !conv.Deleting && conv.ContactID == contactID {
			return conv, contactID, nil
		}
		if err != nil && !IsKind(err, KindNotFound) {
			return nil, "", err
		}
		// A stale link: the thread was deleted or is being deleted.
	}
	contact, err := s.store.GetContact(ctx, in.WorkspaceID, contactID)
	if err != nil {
		return nil, "", err
	}
	conv, created, err := s.conversationFor(ctx, contact)
	if err != nil {
		return nil, "", err
	}
	if !created && conv.ID != linked {
		// Repair the hint so the next message routes in one read; routing
		// does not depend on it.
		_ = s.store.LinkCorrespondent(ctx, in.WorkspaceID, in.From, contactID, conv.ID)
	}
	return conv, contactID, nil
}

// contactFor creates the contact of a new sender, or finds the one a
// concurrent delivery just created.
func (s *core) contactFor(ctx context.Context, in Inbound) (*Contact, error) {
	now := s.now()
	c := &Contact{ID: NewID(now), WorkspaceID: in.WorkspaceID, Name: senderName(in.From), CreatedAt: now, UpdatedAt: now}
	switch {
	case in.From.Phone != "":
		c.Phones = []string{in.From.Phone}
	case in.From.Email != "":
		c.Emails = []string{in.From.Email}
	default:
		c.Handles = []string{in.From.Handle}
		if strings.HasPrefix(in.From.Handle, string(ChannelWebchat)+":") {
			c.VerifiedHandles = c.Handles // the visitor is this contact
		}
	}
	c.Normalize()
	err := s.store.CreateContact(ctx, c)
	if !IsKind(err, KindConflict) {
		return c, err
	}
	contactID, _, err := s.store.FindCorrespondent(ctx, in.WorkspaceID, in.From)
	if err != nil {
		return nil, err
	}
	return s.store.GetContact(ctx, in.WorkspaceID, contactID)
}

func senderName(from Correspondent) string {
	name, _ := validateName("name", from.Name)
	return name
}

func inboundMessage(in Inbound, conv *Conversation, contactID, id string, at time.Time) *Message {
	atts := in.Attachments
	if atts == nil {
		atts = []Attachment{}
	}
	dir := DirectionIn
	if in.Call != nil && in.Call.Direction == DirectionOut {
		dir = DirectionOut // a call the team placed
	}
	return &Message{
		ID: id, WorkspaceID: in.WorkspaceID, ConversationID: conv.ID, ContactID: contactID,
		Direction: dir, Kind: in.Kind, Channel: in.Channel, Body: in.Body, Attachments: atts,
		Status: MessageReceived, ProviderID: in.ProviderID, Call: in.Call, Email: in.Email,
		CreatedAt: at, UpdatedAt: at,
	}
}

// keywordEffects carries out an SMS keyword: the consent change, an activity
// entry in the thread, or the HELP reply. Ids derive from the inbound
// message's, so a redelivery repeats them harmlessly.
func (s *core) keywordEffects(ctx context.Context, in Inbound, m *Message) error {
	if m.Kind != KindMessage || m.Channel.ConsentChannel() != ChannelSMS {
		return nil
	}
	action, word := ReadKeyword(m.Body)
	if action == NoKeyword {
		return nil
	}
	follow := func(n int, draft Message) *Message {
		at := m.CreatedAt.Add(time.Duration(n) * time.Millisecond) // sorts right after the keyword
		draft.ID = hashKey(systemActor(in.WorkspaceID), fmt.Sprintf("%s#%d", m.ID, n)).newID(at)
		draft.WorkspaceID, draft.ConversationID, draft.ContactID = m.WorkspaceID, m.ConversationID, m.ContactID
		draft.CreatedAt, draft.UpdatedAt = at, at
		if draft.Attachments == nil {
			draft.Attachments = []Attachment{}
		}
		return &draft
	}
	if action == KeywordHelp {
		settings, err := s.settings(ctx, in.WorkspaceID)
		if err != nil {
			return err
		}
		reply := settings.HelpReply
		if reply == "" {
			reply = DefaultHelpReply
		}
		return s.store.PutMessage(ctx, follow(1, Message{Direction: DirectionOut, Kind: KindMessage, Channel: ChannelSMS, Body: reply,
			Status: MessageQueued, Recipient: in.From.Phone}))
	}
	status, verb := ConsentOptedOut, "opted out of"
	if action == KeywordOptIn {
		status, verb = ConsentOptedIn, "opted back in to"
	}
	if _, err := s.changeConsent(ctx, in.WorkspaceID, m.ContactID, ConsentRecord{Channel: ChannelSMS, Status: status,
		Source: ConsentSourceKeyword, ChangedAt: m.CreatedAt, MessageID: m.ID, Keyword: word}); err != nil {
		return err
	}
	note := fmt.Sprintf("Contact %s SMS by replying %s", verb, word)
	return s.store.PutMessage(ctx, follow(1, Message{Kind: KindActivity, Body: note, Status: MessageReceived}))
}

// settingsTTL bounds how stale cached workspace settings may be on the
// webhook path, which must not read the workspace on every delivery.
const settingsTTL = time.Minute

type cachedSettings struct {
	settings WorkspaceSettings
	at       time.Time
}

func (s *core) settings(ctx context.Context, workspaceID string) (WorkspaceSettings, error) {
	if s.settingsCache == nil {
		return s.store.WorkspaceSettings(ctx, workspaceID)
	}
	if v, ok := s.settingsCache.Load(workspaceID); ok && time.Since(v.(cachedSettings).at) < settingsTTL {
		return v.(cachedSettings).settings, nil
	}
	settings, err := s.store.WorkspaceSettings(ctx, workspaceID)
	if err != nil {
		return WorkspaceSettings{}, err
	}
	s.settingsCache.Store(workspaceID, cachedSettings{settings: settings, at: time.Now()})
	return settings, nil
}
