package meta

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/parley-inbox/parley/shared/inbox"
)

// DefaultBaseURL is the Graph API version sends use.
const DefaultBaseURL = "https://graph.facebook.com/v21.0"

// Account is a workspace's Meta credentials.
type Account struct {
	WhatsAppPhoneNumberID, WhatsAppToken string
	// WhatsAppBusinessAccountID (the WABA) owns the message templates.
	WhatsAppBusinessAccountID string
	PageID, PageToken         string
	// InstagramAccountID and InstagramToken fall back to PageID and
	// PageToken: an Instagram account linked to a Page sends with the
	// Page's token.
	InstagramAccountID, InstagramToken string
}

// Sender delivers messages on one Meta channel: WhatsApp, Messenger or
// Instagram.
type Sender struct {
	Channel  inbox.Channel
	Accounts func(workspaceID string) (Account, error)
	BaseURL  string       // DefaultBaseURL when empty
	HTTP     *http.Client // a client with a 30-second timeout when nil
}

var defaultClient = &http.Client{Timeout: 30 * time.Second}

// Send implements inbox.ChannelSender. A message Meta takes as several
// (text, then one per attachment) returns the first id; if a later part
// fails, that id comes back with a non-retryable error, because the
// first part is already out.
func (s *Sender) Send(ctx context.Context, out inbox.Outbound) (string, error) {
	if out.Message == nil {
		return "", &inbox.SendError{Code: "invalid", Reason: "no message to send"}
	}
	acct, err := s.Accounts(out.WorkspaceID)
	if err != nil {
		// Not retryable: a misconfigured workspace would otherwise retry forever.
		return "", &inbox.SendError{Code: "not_configured", Reason: fmt.Sprintf("could not load the %s account: %v", s.Channel, err)}
	}
	path, token, bodies, err := s.request(acct, out)
	if err != nil {
		return "", err
	}
	var first string
	for i, body := range bodies {
		id, err := s.post(ctx, path, token, body)
		if err != nil {
			if i == 0 {
				return "", err
			}
			return first, &inbox.SendError{Code: "partial", Reason: fmt.Sprintf("only %d of %d parts were sent: %s", i, len(bodies), reasonOf(err))}
		}
		if i == 0 {
			first = id
		}
	}
	return first, nil
}

// request builds the endpoint and the JSON bodies of one message.
func (s *Sender) request(a Account, out inbox.Outbound) (path, token string, bodies []any, err error) {
	m := out.Message
	notConfigured := &inbox.SendError{Code: "not_configured", Reason: fmt.Sprintf("the workspace has no %s account connected", s.Channel)}
	switch s.Channel {
	case inbox.ChannelWhatsApp:
		if a.WhatsAppPhoneNumberID == "" || a.WhatsAppToken == "" {
			return "", "", nil, notConfigured
		}
		if m.Template != nil && len(m.Attachments) > 0 {
			return "", "", nil, &inbox.SendError{Code: "invalid", Reason: "a WhatsApp template cannot carry attachments"}
		}
		return "/" + url.PathEscape(a.WhatsAppPhoneNumberID) + "/messages", a.WhatsAppToken, whatsAppBodies(out), nil
	case inbox.ChannelMessenger:
		if a.PageToken == "" {
			return "", "", nil, notConfigured
		}
		// "me" is the Page the token belongs to.
		return "/me/messages", a.PageToken, messagingBodies(out), nil
	case inbox.ChannelInstagram:
		id, tok := cmp.Or(a.InstagramAccountID, a.PageID), cmp.Or(a.InstagramToken, a.PageToken)
		if id == "" || tok == "" {
			return "", "", nil, notConfigured
		}
		return "/" + url.PathEscape(id) + "/messages", tok, messagingBodies(out), nil
	}
	return "", "", nil, &inbox.SendError{Code: "not_configured", Reason: fmt.Sprintf("meta cannot send on %s", s.Channel)}
}

// ---- WhatsApp ----

type waSend struct {
	Product   string `json:"messaging_product"`
	Recipient string `json:"recipient_type"`
	To        string `json:"to"`
	Type      string `json:"type"`
	// Callback is echoed in status webhooks; it carries out.Ref.
	Callback string      `json:"biz_opaque_callback_data,omitempty"`
	Text     *waText     `json:"text,omitempty"`
	Template *waTemplate `json:"template,omitempty"`
	Image    *waLink     `json:"image,omitempty"`
	Video    *waLink     `json:"video,omitempty"`
	Audio    *waLink     `json:"audio,omitempty"`
	Document *waLink     `json:"document,omitempty"`
}

type waText struct {
	Body       string `json:"body"`
	PreviewURL bool   `json:"preview_url"`
}

type waTemplate struct {
	Name       string        `json:"name"`
	Language   waLanguage    `json:"language"`
	Components []waComponent `json:"components,omitempty"`
}

type waLanguage struct {
	Code string `json:"code"`
}

type waComponent struct {
	Type       string    `json:"type"`
	Parameters []waParam `json:"parameters"`
}

type waParam struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type waLink struct {
	Link     string `json:"link"`
	Filename string `json:"filename,omitempty"`
}

func whatsAppBodies(out inbox.Outbound) []any {
	m := out.Message
	base := waSend{Product: "whatsapp", Recipient: "individual", To: strings.TrimPrefix(out.To, "+"), Callback: out.Ref}
	if t := m.Template; t != nil {
		b := base
		b.Type, b.Template = "template", &waTemplate{Name: t.Name, Language: waLanguage{Code: t.Language}}
		if len(t.Params) > 0 {
			c := waComponent{Type: "body"}
			for _, p := range t.Params {
				c.Parameters = append(c.Parameters, waParam{Type: "text", Text: p})
			}
			b.Template.Components = []waComponent{c}
		}
		return []any{b}
	}
	var bodies []any
	if m.Body != "" {
		b := base
		b.Type, b.Text = "text", &waText{Body: m.Body}
		bodies = append(bodies, b)
	}
	for _, a := range m.Attachments {
		b := base
		link := &waLink{Link: a.URL}
		switch mediaKind(a.ContentType) {
		case "image":
			b.Type, b.Image = "image", link
		case "video":
			b.Type, b.Video = "video", link
		case "audio":
			b.Type, b.Audio = "audio", link
		default:
			link.Filename = a.Name
			b.Type, b.Document = "document", link
		}
		bodies = append(bodies, b)
	}
	return bodies
}

// ---- Messenger and Instagram ----

type fbSend struct {
	Recipient     fbRecipient `json:"recipient"`
	MessagingType string      `json:"messaging_type"`
	Tag           string      `json:"tag,omitempty"`
	Message       fbMessage   `json:"message"`
}

type fbRecipient struct {
	ID string `json:"id"`
}

type fbMessage struct {
	Text       string        `json:"text,omitempty"`
	Attachment *fbAttachment `json:"attachment,omitempty"`
}

type fbAttachment struct {
	Type    string    `json:"type"`
	Payload fbPayload `json:"payload"`
}

type fbPayload struct {
	URL        string `json:"url"`
	IsReusable bool   `json:"is_reusable"`
}

// messagingBodies sends text and each attachment separately: a Messenger
// message holds text or one attachment, not both.
func messagingBodies(out inbox.Outbound) []any {
	base := fbSend{Recipient: fbRecipient{ID: out.To}, MessagingType: "RESPONSE"}
	if out.HumanAgent {
		base.MessagingType, base.Tag = "MESSAGE_TAG", "HUMAN_AGENT"
	}
	var bodies []any
	if out.Message.Body != "" {
		b := base
		b.Message.Text = out.Message.Body
		bodies = append(bodies, b)
	}
	for _, a := range out.Message.Attachments {
		b := base
		kind := mediaKind(a.ContentType)
		if kind == "" {
			kind = "file"
		}
		b.Message.Attachment = &fbAttachment{Type: kind, Payload: fbPayload{URL: a.URL}}
		bodies = append(bodies, b)
	}
	return bodies
}

// mediaKind is "image", "video", "audio" or "" for anything else.
func mediaKind(contentType string) string {
	kind, _, _ := strings.Cut(contentType, "/")
	switch kind {
	case "image", "video", "audio":
		return kind
	}
	return ""
}

// ---- HTTP ----

type graphError struct {
	Message string `json:"message"`
	Code    int    `json:"code"`
	Subcode int    `json:"error_subcode"`
	// UserMessage is what Meta would show a person (template reviews).
	UserMessage string `json:"error_user_msg"`
	ErrorData   struct {
		Details string `json:"details"` // WhatsApp says what to do here
	} `json:"error_data"`
}

// post sends one request and returns the message id. The token goes in a
// header, never the URL, so it cannot leak into an error message.
func (s *Sender) post(ctx context.Context, path, token string, body any) (string, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return "", err
	}
	base := s.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(base, "/")+path, bytes.NewReader(raw))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	client := s.HTTP
	if client == nil {
		client = defaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", transportError(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil && resp.StatusCode < 300 {
		return "", fmt.Errorf("reading Meta's answer: %w", err) // accepted, id unknown
	}
	var r struct {
		MessageID string `json:"message_id"` // Messenger, Instagram
		Messages  []struct {
			ID string `json:"id"`
		} `json:"messages"` // WhatsApp
		Error *graphError `json:"error"`
	}
	_ = json.Unmarshal(data, &r) // an unreadable body is judged by its status
	if resp.StatusCode >= 300 || r.Error != nil {
		return "", sendError(resp.StatusCode, r.Error)
	}
	if len(r.Messages) > 0 && r.Messages[0].ID != "" {
		return r.Messages[0].ID, nil
	}
	if r.MessageID != "" {
		return r.MessageID, nil
	}
	return "", fmt.Errorf("Meta answered %d without a message id", resp.StatusCode)
}

// transportError is retryable only when the connection was never made,
// so nothing was sent; a timeout or reset after that is ambiguous.
func transportError(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return &inbox.SendError{Code: "unreachable", Reason: "could not connect to Meta: " + op.Err.Error(), Retryable: true}
	}
	return fmt.Errorf("no answer from Meta: %w", err)
}

// Graph error codes.
var (
	rateLimited = map[int]bool{4: true, 17: true, 32: true, 613: true, 80007: true, 130429: true, 131056: true}
	transient   = map[int]bool{1: true, 2: true}
	reasons     = map[int]string{
		10:      "the app lacks permission to send this message; reconnect the account",
		100:     "Meta rejected a parameter of the message",
		190:     "the access token expired or was revoked; reconnect the account",
		368:     "the account is temporarily blocked for policy violations",
		551:     "this person isn't available to receive messages right now",
		131008:  "a required parameter is missing",
		131009:  "a parameter value is not valid",
		131021:  "the recipient is the sending number itself",
		131026:  "WhatsApp could not deliver to this number: it may not use WhatsApp, or must update the app or accept the latest terms",
		131031:  "the WhatsApp Business account is locked",
		131042:  "the WhatsApp Business account has a payment problem",
		131047:  "more than 24 hours have passed since the contact last wrote; send an approved template instead",
		131048:  "WhatsApp limited this number for spam; check its quality rating",
		131051:  "WhatsApp does not support this message type",
		131052:  "WhatsApp could not download the attachment from its URL",
		131053:  "WhatsApp could not use the attachment; check its type and size",
		132000:  "the number of template parameters does not match the approved template",
		132001:  "the template does not exist in this language, or is not approved",
		133010:  "the WhatsApp phone number is not registered",
		2018278: "the contact last wrote outside the window for replies (24 hours, or 7 days for a human agent)",
		2018108: "this person can't be messaged at the moment",
	}
)

func sendError(status int, e *graphError) *inbox.SendError {
	if e == nil {
		// 503 means not processed; other bare 5xx (a gateway timeout) may
		// hide an accepted message.
		return &inbox.SendError{Code: "http_" + strconv.Itoa(status), Reason: "Meta answered " + http.StatusText(status),
			Retryable: status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable}
	}
	code := strconv.Itoa(e.Code)
	if e.Subcode != 0 {
		code += "-" + strconv.Itoa(e.Subcode)
	}
	se := &inbox.SendError{Code: code, Reason: reasonFor(e)}
	switch {
	case status == http.StatusTooManyRequests || rateLimited[e.Code]:
		se.Reason, se.Retryable = "Meta is rate limiting sends", true
	case transient[e.Code] && status >= 500:
		se.Reason, se.Retryable = "Meta is temporarily unavailable", true
	default:
		return se
	}
	if e.Message != "" {
		se.Reason += " (" + e.Message + ")"
	}
	return se
}

func reasonOf(err error) string {
	var se *inbox.SendError
	if errors.As(err, &se) {
		return se.Reason
	}
	return err.Error()
}

func reasonFor(e *graphError) string {
	detail := cmp.Or(e.ErrorData.Details, e.Message)
	r, ok := reasons[e.Subcode]
	if !ok {
		r, ok = reasons[e.Code]
	}
	if !ok && e.Code >= 200 && e.Code < 300 {
		r, ok = reasons[10], true
	}
	switch {
	case !ok:
		return "Meta error " + strconv.Itoa(e.Code) + ": " + detail
	case e.Code == 100 || e.Code == 131008 || e.Code == 131009:
		return r + ": " + detail // Meta names the parameter
	}
	return r
}
