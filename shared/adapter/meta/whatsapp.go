package meta

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/parley-inbox/parley/shared/inbox"
)

// MediaURLPrefix starts the URL of every inbound WhatsApp attachment.
// WhatsApp sends media ids, not files: a GET on MediaURLPrefix+id with the
// business's access token returns JSON whose "url" downloads the bytes.
// The URL carries no Graph API version because stored messages outlive
// versions; unversioned calls use the app's default version.
const MediaURLPrefix = "https://graph.facebook.com/"

type waValue struct {
	Metadata struct {
		PhoneNumberID string `json:"phone_number_id"`
	} `json:"metadata"`
	Contacts []json.RawMessage `json:"contacts"`
	Messages []json.RawMessage `json:"messages"`
	Statuses []json.RawMessage `json:"statuses"`
}

type waContact struct {
	WaID    string `json:"wa_id"`
	Profile struct {
		Name string `json:"name"`
	} `json:"profile"`
}

type waMessage struct {
	From      string `json:"from"`
	ID        string `json:"id"`
	Timestamp string `json:"timestamp"`
	Type      string `json:"type"`
	Text      struct {
		Body string `json:"body"`
	} `json:"text"`
	Image    *waMedia `json:"image"`
	Video    *waMedia `json:"video"`
	Audio    *waMedia `json:"audio"`
	Document *waMedia `json:"document"`
	Sticker  *waMedia `json:"sticker"`
	Location struct {
		Latitude  float64 `json:"latitude"`
		Longitude float64 `json:"longitude"`
		Name      string  `json:"name"`
		Address   string  `json:"address"`
	} `json:"location"`
	Reaction struct {
		Emoji string `json:"emoji"`
	} `json:"reaction"`
	Button struct {
		Text string `json:"text"`
	} `json:"button"`
	Interactive struct {
		ButtonReply struct {
			Title string `json:"title"`
		} `json:"button_reply"`
		ListReply struct {
			Title string `json:"title"`
		} `json:"list_reply"`
	} `json:"interactive"`
	Contacts []struct {
		Name struct {
			FormattedName string `json:"formatted_name"`
		} `json:"name"`
	} `json:"contacts"`
	System struct {
		Body string `json:"body"`
	} `json:"system"`
}

type waMedia struct {
	ID       string `json:"id"`
	MimeType string `json:"mime_type"`
	Caption  string `json:"caption"`
	Filename string `json:"filename"`
}

type waStatus struct {
	ID        string `json:"id"`
	Status    string `json:"status"`
	Timestamp string `json:"timestamp"`
	// CallbackData echoes biz_opaque_callback_data from the send: Parley's
	// delivery ref.
	CallbackData string `json:"biz_opaque_callback_data"`
	Errors       []struct {
		Code      json.Number `json:"code"`
		Title     string      `json:"title"`
		Message   string      `json:"message"`
		ErrorData struct {
			Details string `json:"details"`
		} `json:"error_data"`
	} `json:"errors"`
}

var waStatuses = map[string]inbox.MessageStatus{
	"sent":      inbox.MessageSent,
	"delivered": inbox.MessageDelivered,
	"read":      inbox.MessageRead,
	"failed":    inbox.MessageFailed,
}

func (p *parser) whatsApp(e entry, at string) {
	for i, raw := range e.Changes {
		at := fmt.Sprintf("%s.changes[%d]", at, i)
		var c change
		if err := json.Unmarshal(raw, &c); err != nil {
			p.problem(err, at)
			continue
		}
		if c.Field == "message_template_status_update" {
			p.waTemplateStatus(c.Value, at+".value", e.ID)
			continue
		}
		if c.Field != "messages" {
			continue // account and quality updates are not conversations
		}
		var v waValue
		if err := json.Unmarshal(c.Value, &v); err != nil {
			p.problem(err, at+".value")
			continue
		}
		names := map[string]string{}
		for _, raw := range v.Contacts {
			var c waContact
			if json.Unmarshal(raw, &c) == nil { // names are cosmetic: a bad one is no reason to refuse
				names[c.WaID] = c.Profile.Name
			}
		}
		for j, raw := range v.Messages {
			p.waMessage(raw, fmt.Sprintf("%s.value.messages[%d]", at, j), v.Metadata.PhoneNumberID, names)
		}
		for j, raw := range v.Statuses {
			p.waStatus(raw, fmt.Sprintf("%s.value.statuses[%d]", at, j))
		}
	}
}

func (p *parser) waMessage(raw json.RawMessage, at, to string, names map[string]string) {
	var m waMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		// A malformed message from a known sender is refused in their
		// thread; without a sender it can only be described.
		var sender struct {
			From string `json:"from"`
			ID   string `json:"id"`
		}
		if json.Unmarshal(raw, &sender) == nil && sender.ID != "" {
			if phone, perr := waPhone(sender.From); perr == nil {
				p.refuse(p.waInbound(sender.ID, phone, to, names[sender.From], ""), inbox.JSONProblem(err, at).Message)
				return
			}
		}
		p.problem(err, at)
		return
	}
	if m.ID == "" || m.From == "" {
		p.skip("%s: a WhatsApp message needs id and from", at)
		return
	}
	// Users who hide their number behind a username arrive without a
	// valid from; they are rejected until Parley has a place for their id.
	phone, err := waPhone(m.From)
	if err != nil {
		p.skip("%s.from: %q is not a phone number", at, m.From)
		return
	}
	in := p.waInbound(m.ID, phone, to, names[m.From], m.Timestamp)
	body, attachments, err := m.content()
	if err != nil {
		p.refuse(in, err.Error())
		return
	}
	in.Body, in.Attachments = body, attachments
	p.batch.Messages = append(p.batch.Messages, in)
}

func waPhone(from string) (string, error) {
	return inbox.NormalizePhone("from", "+"+strings.TrimPrefix(from, "+"))
}

func (p *parser) waInbound(id, phone, to, name, timestamp string) inbox.Inbound {
	return inbox.Inbound{
		WorkspaceID: p.workspace,
		Channel:     inbox.ChannelWhatsApp,
		Kind:        inbox.KindMessage,
		ProviderID:  id,
		From:        inbox.Correspondent{Phone: phone, Name: name},
		To:          to,
		SentAt:      unixSeconds(timestamp),
	}
}

// content renders every message type as text and attachments, so that
// nothing a customer sends silently disappears.
func (m waMessage) content() (string, []inbox.Attachment, error) {
	switch m.Type {
	case "text":
		return m.Text.Body, nil, nil
	case "image", "video", "audio", "document", "sticker":
		media := map[string]*waMedia{"image": m.Image, "video": m.Video, "audio": m.Audio, "document": m.Document, "sticker": m.Sticker}[m.Type]
		if media == nil || media.ID == "" {
			return "", nil, fmt.Errorf("%s without a media id", m.Type)
		}
		contentType := media.MimeType
		if contentType == "" {
			contentType = "application/octet-stream"
		}
		return media.Caption, []inbox.Attachment{{
			URL:         MediaURLPrefix + url.PathEscape(media.ID),
			ContentType: contentType,
			Name:        media.Filename,
		}}, nil
	case "location":
		l := m.Location
		return labelled("location "+formatFloat(l.Latitude)+","+formatFloat(l.Longitude), l.Name, l.Address), nil, nil
	case "reaction":
		if m.Reaction.Emoji == "" {
			return "[removed a reaction]", nil, nil
		}
		return "[reacted " + m.Reaction.Emoji + " to a message]", nil, nil
	case "button":
		return m.Button.Text, nil, nil
	case "interactive":
		if t := m.Interactive.ButtonReply.Title + m.Interactive.ListReply.Title; t != "" {
			return t, nil, nil
		}
		return "[interactive reply]", nil, nil
	case "contacts":
		var names []string
		for _, c := range m.Contacts {
			names = append(names, c.Name.FormattedName)
		}
		return labelled("shared contact", names...), nil, nil
	case "system":
		if m.System.Body != "" {
			return "[" + m.System.Body + "]", nil, nil
		}
	}
	return "[unsupported message]", nil, nil
}

func (p *parser) waStatus(raw json.RawMessage, at string) {
	var s waStatus
	if err := json.Unmarshal(raw, &s); err != nil {
		p.problem(err, at)
		return
	}
	if s.ID == "" {
		p.skip("%s: a WhatsApp status needs an id", at)
		return
	}
	status, ok := waStatuses[s.Status]
	if !ok {
		return // a status Parley does not track
	}
	u := inbox.DeliveryUpdate{
		WorkspaceID: p.workspace,
		Channel:     inbox.ChannelWhatsApp,
		ProviderID:  s.ID,
		Ref:         s.CallbackData,
		Status:      status,
		At:          unixSeconds(s.Timestamp),
	}
	if len(s.Errors) > 0 {
		e := s.Errors[0]
		u.ErrorCode = e.Code.String()
		// Title and message are usually equal; details say what to do.
		u.ErrorReason = strings.Join(unique(nonEmpty(e.Title, e.Message, e.ErrorData.Details)), ": ")
	}
	p.batch.Statuses = append(p.batch.Statuses, u)
}

// unixSeconds reads WhatsApp's string timestamps; a bad one is treated as
// absent rather than failing the message.
func unixSeconds(s string) time.Time {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}
	}
	return time.Unix(n, 0).UTC()
}

// labelled renders a non-text message as "[label detail, detail]".
func labelled(label string, details ...string) string {
	if d := nonEmpty(details...); len(d) > 0 {
		label += " " + strings.Join(d, ", ")
	}
	return "[" + label + "]"
}

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func nonEmpty(list ...string) []string {
	var out []string
	for _, s := range list {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func unique(list []string) []string {
	var out []string
	for _, s := range list {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// waTemplateValue is a message_template_status_update change's value; the
// entry's id is the WhatsApp Business Account's.
type waTemplateValue struct {
	Event    string      `json:"event"`
	ID       json.Number `json:"message_template_id"`
	Name     string      `json:"message_template_name"`
	Language string      `json:"message_template_language"`
	Reason   *string     `json:"reason"`
	Category string      `json:"message_template_category"`
}

// waTemplateStatus reads a template's new status. Events Parley has no
// status for (a quality score, LOCKED) are left out without a problem.
func (p *parser) waTemplateStatus(raw json.RawMessage, at, waba string) {
	var v waTemplateValue
	if err := json.Unmarshal(raw, &v); err != nil {
		p.problem(err, at)
		return
	}
	if v.Name == "" || v.Language == "" {
		p.skip("%s names no template (message_template_name and message_template_language)", at)
		return
	}
	st, ok := inbox.ParseProviderTemplateStatus(v.Event)
	if !ok {
		return
	}
	reason := ""
	if v.Reason != nil {
		reason = *v.Reason
	}
	p.batch.Templates = append(p.batch.Templates, inbox.TemplateState{WorkspaceID: p.workspace, AccountID: waba, ProviderID: v.ID.String(),
		Name: v.Name, Language: NormalizeLanguage(v.Language), Status: st, Reason: reason,
		Category: inbox.TemplateCategory(strings.ToLower(v.Category))})
}
