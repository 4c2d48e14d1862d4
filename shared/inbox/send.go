package inbox

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"sort"
	"strings"
	"time"
)

// Media limits (seed 002): carriers filter large MMS; Twilio takes 5 MB.
const (
	maxMMSBytes     = 5 << 20
	mmsWarningBytes = 1536 << 10
	maxScheduleAge  = 366 * 24 * time.Hour
)

// mediaTypes are the attachment types each channel carries.
var mediaTypes = map[Channel][]string{
	ChannelMMS:       {"image/jpeg", "image/png", "image/gif", "video/mp4", "video/3gpp", "audio/mpeg", "audio/mp4"},
	ChannelWhatsApp:  {"image/jpeg", "image/png", "video/mp4", "video/3gpp", "audio/mpeg", "audio/ogg", "audio/mp4", "application/pdf"},
	ChannelMessenger: {"image/", "video/", "audio/", "application/pdf"},
	ChannelInstagram: {"image/jpeg", "image/png", "video/mp4"},
	ChannelWebchat:   {"image/", "application/pdf"},
	ChannelEmail:     {""}, // anything
}

func mediaAllowed(ch Channel, contentType string) bool {
	for _, t := range mediaTypes[ch] {
		if t == "" || contentType == t || (strings.HasSuffix(t, "/") && strings.HasPrefix(contentType, t)) {
			return true
		}
	}
	return false
}

// Address is a contact's address on a channel, or "" if they have none.
func Address(c *Contact, ch Channel) string {
	switch ch {
	case ChannelSMS, ChannelMMS, ChannelWhatsApp:
		if len(c.Phones) > 0 {
			return c.Phones[0]
		}
	case ChannelEmail:
		if len(c.Emails) > 0 {
			return c.Emails[0]
		}
	default:
		// The newest handle: a visitor who came back on a new device.
		for i := len(c.Handles) - 1; i >= 0; i-- {
			if id, ok := strings.CutPrefix(c.Handles[i], string(ch)+":"); ok && (ch != ChannelWebchat || speaksFor(c, c.Handles[i])) {
				return id
			}
		}
	}
	return ""
}

// DefaultChannel picks the channel when an agent names none, as seed 004
// does: chat while a web chat visitor is online, email once they are gone
// (if they left one), otherwise the channel the contact last wrote on. A
// web chat visitor counts only if they proved being the contact (Address).
func DefaultChannel(conv *Conversation, c *Contact, now time.Time) (Channel, error) {
	if Address(c, ChannelWebchat) != "" {
		if conv.VisitorOnline(now) {
			return ChannelWebchat, nil
		}
		if Address(c, ChannelEmail) != "" {
			return ChannelEmail, nil
		}
	}
	var last Channel
	var at time.Time
	for ch, t := range conv.LastInboundAt {
		if t.After(at) {
			last, at = ch, t
		}
	}
	switch {
	case last == ChannelMMS:
		return ChannelSMS, nil
	case last != "" && (last != ChannelWebchat || Address(c, last) != ""):
		return last, nil // but never a visitor who has not proved being the contact
	case Address(c, ChannelSMS) != "":
		return ChannelSMS, nil
	case Address(c, ChannelEmail) != "":
		return ChannelEmail, nil
	}
	return "", Invalid("channel", "choose a channel: the contact has not written yet and has no phone or email")
}

// optedOutByContact is an opt-out the contact made themselves (a keyword,
// or the carrier reporting one): carriers block even manual texts after it.
func optedOutByContact(cc ChannelConsent) bool {
	return cc.Status == ConsentOptedOut && (cc.Source == ConsentSourceKeyword || cc.Source == ConsentSourceProvider)
}

// prepareOutbound checks a message an agent posts against everything that
// would make it undeliverable, so the agent hears now, not later.
func (s *core) prepareOutbound(ctx context.Context, conv *Conversation, c *Contact, settings WorkspaceSettings, in OutboundInput, now time.Time) (Message, error) {
	var m Message
	ch := in.Channel
	if ch == "" {
		var err error
		if ch, err = DefaultChannel(conv, c, now); err != nil {
			return m, err
		}
	} else if _, err := parseChannel("channel", string(ch)); err != nil {
		return m, err
	}
	switch {
	case len(in.Attachments) > 0 && ch == ChannelSMS:
		ch = ChannelMMS // media turns a text into an MMS
	case len(in.Attachments) == 0 && ch == ChannelMMS:
		ch = ChannelSMS // and no media makes it a text
	}
	if Address(c, ch) == "" {
		return m, Invalid("channel", "the contact cannot be reached on %s: they have no %s", ch, addressKind(ch))
	}
	if cc := c.ConsentOn(ch); ch.ConsentChannel() == ChannelSMS && optedOutByContact(cc) {
		return m, Invalid("channel", "the contact opted out of SMS (%s on %s); carriers block texts to them", cc.Source, cc.ChangedAt.Format(time.DateOnly))
	} else if in.Automated && cc.Status == ConsentOptedOut {
		return m, Invalid("channel", "the contact opted out of %s; automated messages are never sent to them", ch.ConsentChannel())
	}
	if in.mergeTemplate != nil {
		d := *in.mergeData
		d.Channel = ch
		in.Body = Render(in.mergeTemplate, d)
	}
	body, err := validateBody(in.Body, len(in.Attachments) == 0 && in.Template == nil)
	if err != nil {
		return m, err
	}
	if in.Template != nil {
		tpl, err := s.lookupTemplate(ctx, c.WorkspaceID, settings, ch, in.Template)
		if err != nil {
			return m, err
		}
		if body == "" && ch.ConsentChannel() == ChannelSMS {
			body = tpl.Fill(in.Template.Params) // an SMS template's wording, filled
		}
		if err := checkTemplateBody(ch, tpl, in.Template, body); err != nil {
			return m, err
		}
	}
	if err := CheckBodyLength(ch, body); err != nil {
		return m, err
	}
	atts, warnings, err := s.verifyAttachments(ctx, c.WorkspaceID, ch, in.Attachments)
	if err != nil {
		return m, err
	}
	m.Warnings = warnings
	switch ReplyWindowFor(ch, conv.LastInboundAt[ch], now) {
	case WindowClosed:
		if in.Template == nil {
			return m, Invalid("channel", "%s", describeWindow(ch))
		}
	case WindowHumanAgent:
		if in.Automated {
			return m, Invalid("channel", "%s", describeAutomatedWindow(ch))
		}
	}
	m = Message{Direction: DirectionOut, Kind: KindMessage, Channel: ch, Body: body, Attachments: atts, Status: MessageQueued,
		Template: in.Template, Warnings: m.Warnings, Automated: in.Automated}
	if ch.ConsentChannel() == ChannelSMS {
		m.Segments = SMSSegments(body)
	}
	if in.SendAt != nil {
		at := in.SendAt.UTC()
		if !at.After(now) || at.Sub(now) > maxScheduleAge {
			return m, Invalid("sendAt", "sendAt must be in the future and at most a year ahead")
		}
		tz := in.Timezone
		if tz == "" {
			tz = settings.Timezone
		}
		if err := validateTimezone("timezone", tz); err != nil {
			return m, err
		}
		m.Status, m.SendAt, m.Timezone = MessageScheduled, &at, tz
	}
	return m, nil
}

func addressKind(ch Channel) string {
	switch ch {
	case ChannelSMS, ChannelMMS, ChannelWhatsApp:
		return "phone number"
	case ChannelEmail:
		return "email address"
	}
	return string(ch) + " conversation"
}

func attachmentName(a Attachment) string {
	if a.Name != "" {
		return a.Name
	}
	return a.URL
}

// Deliver sends one queued or scheduled message through its channel's
// provider, at most once. It is called for each new queued message (the
// table stream) and when a schedule fires; both may repeat, so every step
// is a conditional transition: queued|scheduled → sending → sent|failed.
func (s *Dispatch) Deliver(ctx context.Context, workspaceID string, ref ProviderRef) (*Message, error) {
	m, err := s.store.GetMessage(ctx, workspaceID, ref.ConversationID, ref.MessageID)
	if err != nil {
		return nil, err
	}
	if m.Direction != DirectionOut || m.Kind != KindMessage || (m.Status != MessageQueued && m.Status != MessageScheduled) {
		return m, nil // delivered, sending, canceled or not ours: nothing to do
	}
	now := s.now()
	if m.Status == MessageScheduled && m.SendAt != nil && m.SendAt.After(now.Add(time.Minute)) {
		return m, nil // an early or stale trigger; the schedule fires again
	}
	contact, err := s.store.GetContact(ctx, workspaceID, m.ContactID)
	if err != nil {
		return nil, err
	}
	conv, err := s.store.GetConversation(ctx, workspaceID, m.ConversationID)
	if err != nil {
		return nil, err
	}
	settings, err := s.settings(ctx, workspaceID)
	if err != nil {
		return nil, err
	}
	ch := m.Channel
	consent := contact.ConsentOn(ch)
	switch {
	case consent.Status == ConsentOptedOut && (m.Automated || optedOutByContact(consent)):
		return s.fail(ctx, m, "opted_out", fmt.Sprintf("the contact opted out of %s (%s); nothing was sent", ch.ConsentChannel(), consent.Source))
	case m.Automated && contact.DND[ch.ConsentChannel()]:
		return s.fail(ctx, m, "dnd", fmt.Sprintf("the contact has do-not-disturb on for %s", ch.ConsentChannel()))
	}
	if q, ok := settings.QuietHours[ch.ConsentChannel()]; ok && m.Automated {
		loc := ContactLocation(contact, settings.Timezone)
		if next := q.NextAllowed(now, loc); next.After(now) {
			return s.defer_(ctx, m, next, loc.String())
		}
	}
	window := ReplyWindowFor(ch, conv.LastInboundAt[ch], now)
	if window == WindowClosed && m.Template == nil {
		return s.fail(ctx, m, "window_closed", describeWindow(ch))
	}
	if window == WindowHumanAgent && !byPerson(m) {
		return s.fail(ctx, m, "window_closed", describeAutomatedWindow(ch))
	}
	if m.Template != nil {
		// Approved when posted, but Meta may have paused or disabled it since.
		if reason, err := s.templateStillSendable(ctx, workspaceID, settings, m); err != nil || reason != "" {
			if err != nil {
				return nil, err
			}
			return s.fail(ctx, m, "template_not_approved", reason)
		}
	}
	if settings.RequireConsentMessage && ch.ConsentChannel() == ChannelSMS && !contact.ConsentMessage.Sent && m.ID != consentMessageID(contact) {
		if err := s.sendConsentMessage(ctx, settings, contact, conv); err != nil {
			return nil, err
		}
	}
	to := Address(contact, ch)
	if to == "" {
		return s.fail(ctx, m, "unreachable", fmt.Sprintf("the contact no longer has a %s", addressKind(ch)))
	}
	m.Recipient = to // where it actually goes, which may have changed since it was posted
	out := Outbound{WorkspaceID: workspaceID, Message: m, Contact: contact, To: to, Ref: DeliveryRef(m),
		HumanAgent: window == WindowHumanAgent}
	if ch == ChannelEmail {
		if out.Thread, err = s.recentThread(ctx, m); err != nil {
			return nil, err
		}
	}
	if err := s.linkMedia(ctx, &out); err != nil {
		return nil, err
	}
	return s.send(ctx, m, out)
}

// linkMedia hands the provider the message's uploaded files: short-lived
// links it fetches at once, or for an email the bytes themselves. The
// stored message keeps only the keys.
func (s *Dispatch) linkMedia(ctx context.Context, out *Outbound) error {
	m := out.Message
	var linked []Attachment
	for i, a := range m.Attachments {
		if a.Key == "" {
			continue
		}
		if s.media == nil {
			return Errorf(KindInternal, "message %s has uploaded files but the sender has no media store", m.ID)
		}
		if linked == nil {
			linked = append([]Attachment(nil), m.Attachments...)
		}
		if m.Channel == ChannelEmail {
			reader, ok := s.media.(MediaReader)
			if !ok {
				return Errorf(KindInternal, "the media store cannot read files for email")
			}
			data, err := reader.Get(ctx, a.Key, maxEmailMediaBytes)
			if err != nil {
				return err
			}
			out.Files = append(out.Files, File{Name: fileNameOf(a, i), ContentType: a.ContentType, Data: data})
			continue
		}
		url, err := s.media.PresignGet(ctx, a.Key, fileNameOf(a, i), ProviderLinkTTL)
		if err != nil {
			return err
		}
		linked[i].URL = url
	}
	if linked != nil {
		copied := *m
		copied.Attachments = linked
		out.Message = &copied
	}
	return nil
}

func fileNameOf(a Attachment, i int) string {
	if a.Name != "" {
		return a.Name
	}
	if exts, _ := mime.ExtensionsByType(a.ContentType); len(exts) > 0 {
		return fmt.Sprintf("attachment-%d%s", i+1, exts[0])
	}
	return fmt.Sprintf("attachment-%d", i+1)
}

// send moves a message through sending to sent or failed. A provider
// refusal that is safe to retry puts it back to queued and returns the
// error, so the trigger retries with backoff; any other failure is final,
// because a second attempt might deliver it twice.
func (s *Dispatch) send(ctx context.Context, m *Message, out Outbound) (*Message, error) {
	sender, ok := s.senders[m.Channel]
	if !ok {
		return s.fail(ctx, m, "no_sender", ErrNoSender.Error())
	}
	prev := m.Status
	start := s.now()
	m.Status, m.UpdatedAt = MessageSending, start
	if err := s.store.UpdateMessageStatus(ctx, m, prev); err != nil {
		if errors.Is(err, ErrVersionConflict) {
			return m, nil // another trigger got there first
		}
		return nil, err
	}
	providerID, err := sendWithBackoff(ctx, sender, out)
	var se *SendError
	switch {
	case err == nil:
		// Sent as of the request's start: a provider's read watermark
		// names its own receipt time, which is never earlier.
		m.Status, m.ProviderID, m.UpdatedAt, m.SentAt = MessageSent, providerID, s.now(), &start
		return m, s.store.UpdateMessageStatus(ctx, m, MessageSending)
	case errors.As(err, &se) && se.Retryable:
		m.Status, m.UpdatedAt = prev, s.now()
		if uerr := s.store.UpdateMessageStatus(ctx, m, MessageSending); uerr != nil {
			return nil, uerr
		}
		return nil, &Error{Kind: KindUnavailable, Message: "the provider is busy; the send will be retried", Err: err}
	case errors.As(err, &se):
		return s.failFrom(ctx, m, MessageSending, se.Code, se.Reason)
	}
	return s.failFrom(ctx, m, MessageSending, "unknown", "the provider did not confirm the send ("+err.Error()+"); check before resending")
}

// sendBackoff spaces the attempts a provider gets when it says "not now"
// (throttled, unavailable): safe, as it certainly did not accept the
// message, and the message stays in sending meanwhile.
var sendBackoff = []time.Duration{200 * time.Millisecond, time.Second}

func sendWithBackoff(ctx context.Context, sender ChannelSender, out Outbound) (string, error) {
	for attempt := 0; ; attempt++ {
		id, err := sender.Send(ctx, out)
		var se *SendError
		if err == nil || !errors.As(err, &se) || !se.Retryable || attempt == len(sendBackoff) {
			return id, err
		}
		select {
		case <-ctx.Done():
			return "", err
		case <-time.After(sendBackoff[attempt]):
		}
	}
}

func (s *core) fail(ctx context.Context, m *Message, code, reason string) (*Message, error) {
	return s.failFrom(ctx, m, m.Status, code, reason)
}

func (s *core) failFrom(ctx context.Context, m *Message, prev MessageStatus, code, reason string) (*Message, error) {
	m.Status, m.UpdatedAt, m.Error = MessageFailed, s.now(), &DeliveryError{Code: code, Reason: reason}
	if err := s.store.UpdateMessageStatus(ctx, m, prev); err != nil && !errors.Is(err, ErrVersionConflict) {
		return nil, err
	}
	return m, nil
}

// defer_ holds an automated message until quiet hours end.
func (s *Dispatch) defer_(ctx context.Context, m *Message, at time.Time, tz string) (*Message, error) {
	prev := m.Status
	m.Status, m.SendAt, m.Timezone, m.UpdatedAt = MessageScheduled, &at, tz, s.now()
	m.Warnings = append(m.Warnings, "held for quiet hours until "+at.UTC().Format(time.RFC3339))
	if err := s.scheduler.Put(ctx, Schedule{Name: ScheduleName(m), WorkspaceID: m.WorkspaceID, Ref: ProviderRef{ConversationID: m.ConversationID, MessageID: m.ID}, At: at, Timezone: tz}); err != nil {
		return nil, err
	}
	if err := s.store.UpdateMessageStatus(ctx, m, prev); err != nil && !errors.Is(err, ErrVersionConflict) {
		return nil, err
	}
	return m, nil
}

// sendConsentMessage sends the workspace's consent message ahead of a
// contact's first SMS (seed 002). Its id derives from the contact, so it is
// sent once however many messages race to be first.
func (s *Dispatch) sendConsentMessage(ctx context.Context, settings WorkspaceSettings, c *Contact, conv *Conversation) error {
	body := settings.ConsentMessage
	if body == "" {
		body = DefaultConsentMessage
	}
	// Dated by the contact, so every racing "first" message makes the same
	// one, and it sorts before anything sent to them.
	at := c.CreatedAt
	cm := &Message{
		ID: consentMessageID(c), WorkspaceID: c.WorkspaceID, Recipient: Address(c, ChannelSMS),
		ConversationID: conv.ID, ContactID: c.ID, Direction: DirectionOut, Kind: KindMessage, Channel: ChannelSMS,
		Body: body, Attachments: []Attachment{}, Status: MessageQueued, Automated: true, Segments: SMSSegments(body),
		CreatedAt: at, UpdatedAt: at,
	}
	if err := s.store.PutMessage(ctx, cm); err != nil {
		return err
	}
	stored, err := s.store.GetMessage(ctx, c.WorkspaceID, conv.ID, cm.ID)
	if err != nil {
		return err
	}
	if stored.Status == MessageQueued {
		if _, err := s.send(ctx, stored, Outbound{WorkspaceID: c.WorkspaceID, Message: stored, Contact: c, To: Address(c, ChannelSMS), Ref: DeliveryRef(stored)}); err != nil {
			return err
		}
	}
	sentAt := s.now()
	_, err = s.mutateContact(ctx, systemActor(c.WorkspaceID), c.ID, func(c *Contact) error {
		if !c.ConsentMessage.Sent {
			c.ConsentMessage = ConsentMessageStatus{Sent: true, SentAt: &sentAt}
		}
		return nil
	})
	return err
}

// consentMessageID is the one consent message a contact can get.
func consentMessageID(c *Contact) string {
	return hashKey(systemActor(c.WorkspaceID), "consent-message:"+c.ID).newID(c.CreatedAt)
}

// recentThread is the tail of the thread an email carries: the web chat it
// follows, and the ids that thread the reply.
func (s *core) recentThread(ctx context.Context, m *Message) ([]*Message, error) {
	page, err := s.store.ListMessages(ctx, m.WorkspaceID, m.ConversationID, PageRequest{Limit: 50, Newest: true})
	if err != nil {
		return nil, err
	}
	var out []*Message
	for _, x := range page.Items {
		if x.ID != m.ID && x.Kind == KindMessage && !x.Internal {
			out = append(out, x)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}
