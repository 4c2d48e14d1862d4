package meta

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/parley-inbox/parley/shared/inbox"
)

// Templates manages a workspace's WhatsApp message templates through the
// Graph API's message_templates edge of its WhatsApp Business Account:
// create (submit for review), list (with statuses) and delete by name.
type Templates struct {
	Accounts func(workspaceID string) (Account, error)
	BaseURL  string       // DefaultBaseURL when empty
	HTTP     *http.Client // a client with a 30-second timeout when nil
}

var _ inbox.TemplateRegistry = (*Templates)(nil)

// Meta's template as created and listed.
type metaTemplate struct {
	ID             string          `json:"id,omitempty"`
	Name           string          `json:"name"`
	Language       string          `json:"language"`
	Category       string          `json:"category"`
	Status         string          `json:"status,omitempty"`
	RejectedReason string          `json:"rejected_reason,omitempty"`
	Components     []metaComponent `json:"components,omitempty"`
}

type metaComponent struct {
	Type    string       `json:"type"`
	Format  string       `json:"format,omitempty"`
	Text    string       `json:"text,omitempty"`
	Example *metaExample `json:"example,omitempty"`
	Buttons []metaButton `json:"buttons,omitempty"`
}

type metaExample struct {
	BodyText [][]string `json:"body_text,omitempty"`
}

type metaButton struct {
	Type        string `json:"type"`
	Text        string `json:"text"`
	URL         string `json:"url,omitempty"`
	PhoneNumber string `json:"phone_number,omitempty"`
}

// createBody is the POST /{waba-id}/message_templates body of a template.
func createBody(t *inbox.MessageTemplate) metaTemplate {
	out := metaTemplate{Name: t.Name, Language: t.Language, Category: strings.ToUpper(string(t.Category))}
	for _, c := range t.Components {
		mc := metaComponent{Type: strings.ToUpper(c.Type), Text: c.Text}
		if c.Type == "header" {
			mc.Format = strings.ToUpper(c.Format)
		}
		if len(c.Example) > 0 {
			mc.Example = &metaExample{BodyText: [][]string{c.Example}}
		}
		for _, b := range c.Buttons {
			mc.Buttons = append(mc.Buttons, metaButton{Type: strings.ToUpper(b.Type), Text: b.Text, URL: b.URL, PhoneNumber: b.PhoneNumber})
		}
		out.Components = append(out.Components, mc)
	}
	return out
}

func (m *Templates) account(ws string) (Account, error) {
	a, err := m.Accounts(ws)
	if err != nil || a.WhatsAppBusinessAccountID == "" || a.WhatsAppToken == "" {
		return a, inbox.Errorf(inbox.KindUnavailable, "WhatsApp templates need the workspace's WhatsApp Business Account id and token (whatsappBusinessAccountId, whatsappToken)")
	}
	return a, nil
}

// Submit creates the template at Meta, which reviews it.
func (m *Templates) Submit(ctx context.Context, ws string, t *inbox.MessageTemplate) (string, inbox.TemplateStatus, error) {
	a, err := m.account(ws)
	if err != nil {
		return "", "", err
	}
	var r struct {
		ID       string `json:"id"`
		Status   string `json:"status"`
		Category string `json:"category"`
	}
	if err := m.do(ctx, http.MethodPost, "/"+url.PathEscape(a.WhatsAppBusinessAccountID)+"/message_templates", nil, a.WhatsAppToken, createBody(t), &r); err != nil {
		return "", "", err
	}
	if r.ID == "" {
		return "", "", inbox.Errorf(inbox.KindUnavailable, "Meta accepted the template without an id; refresh the templates")
	}
	st, ok := inbox.ParseProviderTemplateStatus(r.Status)
	if !ok {
		st = inbox.TemplatePending
	}
	return r.ID, st, nil
}

// maxListPages bounds a refresh: 250 templates per WABA, at 100 a page.
const maxListPages = 20

// List reads every template of the WABA, following Meta's cursors.
func (m *Templates) List(ctx context.Context, ws string) ([]inbox.TemplateState, error) {
	a, err := m.account(ws)
	if err != nil {
		return nil, err
	}
	q := url.Values{"fields": {"id,name,language,status,category,rejected_reason"}, "limit": {"100"}}
	var out []inbox.TemplateState
	for range maxListPages {
		var page struct {
			Data   []metaTemplate `json:"data"`
			Paging struct {
				Cursors struct {
					After string `json:"after"`
				} `json:"cursors"`
				Next string `json:"next"`
			} `json:"paging"`
		}
		if err := m.do(ctx, http.MethodGet, "/"+url.PathEscape(a.WhatsAppBusinessAccountID)+"/message_templates", q, a.WhatsAppToken, nil, &page); err != nil {
			return nil, err
		}
		for _, t := range page.Data {
			st, ok := inbox.ParseProviderTemplateStatus(t.Status)
			if !ok {
				continue // a status Parley has no word for yet
			}
			out = append(out, inbox.TemplateState{WorkspaceID: ws, ProviderID: t.ID, Name: t.Name, Language: NormalizeLanguage(t.Language),
				Status: st, Reason: t.RejectedReason, Category: inbox.TemplateCategory(strings.ToLower(t.Category))})
		}
		if page.Paging.Next == "" || page.Paging.Cursors.After == "" {
			return out, nil
		}
		q.Set("after", page.Paging.Cursors.After)
	}
	return out, nil
}

// Delete removes every language of a template name at Meta. A name Meta no
// longer has counts as deleted.
func (m *Templates) Delete(ctx context.Context, ws, name string) error {
	a, err := m.account(ws)
	if err != nil {
		return err
	}
	var r struct {
		Success bool `json:"success"`
	}
	err = m.do(ctx, http.MethodDelete, "/"+url.PathEscape(a.WhatsAppBusinessAccountID)+"/message_templates", url.Values{"name": {name}}, a.WhatsAppToken, nil, &r)
	if inbox.IsKind(err, inbox.KindNotFound) {
		return nil
	}
	return err
}

// NormalizeLanguage turns the hyphenated codes some webhooks carry (en-US)
// into the template's own (en_US).
func NormalizeLanguage(s string) string { return strings.ReplaceAll(strings.TrimSpace(s), "-", "_") }

// do makes one Graph API call with the token in a header (never the URL)
// and decodes the JSON answer into out. Meta's refusals become domain
// errors: a template it will not take is invalid, a throttle or an outage
// unavailable.
func (m *Templates) do(ctx context.Context, method, path string, q url.Values, token string, body, out any) error {
	base := cmp.Or(m.BaseURL, DefaultBaseURL)
	u := strings.TrimRight(base, "/") + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return inbox.Internal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return inbox.Internal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+token)
	client := cmp.Or(m.HTTP, defaultClient)
	resp, err := client.Do(req)
	if err != nil {
		return &inbox.Error{Kind: inbox.KindUnavailable, Message: "could not reach Meta; try again", Err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return &inbox.Error{Kind: inbox.KindUnavailable, Message: "Meta's answer was cut off; try again", Err: err}
	}
	var env struct {
		Error *graphError `json:"error"`
	}
	_ = json.Unmarshal(data, &env)
	if resp.StatusCode >= 300 || env.Error != nil {
		return templateError(resp.StatusCode, env.Error)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return &inbox.Error{Kind: inbox.KindUnavailable, Message: "Meta's answer was not JSON", Err: err}
	}
	return nil
}

// templateError turns a Graph API refusal into a domain error a person can
// act on, with Meta's own words when it gives some.
func templateError(status int, e *graphError) error {
	if e == nil {
		kind := inbox.KindUnavailable
		if status == http.StatusNotFound {
			kind = inbox.KindNotFound
		}
		return inbox.Errorf(kind, "Meta answered %d %s", status, http.StatusText(status))
	}
	words := cmp.Or(e.UserMessage, e.ErrorData.Details, e.Message)
	switch {
	case status == http.StatusTooManyRequests || rateLimited[e.Code] || (transient[e.Code] && status >= 500) || status >= 500:
		return inbox.Errorf(inbox.KindUnavailable, "Meta is busy or unavailable (%s); try again shortly", words)
	case e.Code == 190 || e.Code == 10 || (e.Code >= 200 && e.Code < 300):
		return inbox.Errorf(inbox.KindUnavailable, "Meta refused the workspace's WhatsApp credentials: %s", reasonFor(e))
	}
	return &inbox.Error{Kind: inbox.KindInvalid, Field: "template", Message: fmt.Sprintf("Meta refused the template (error %d): %s", e.Code, words)}
}
