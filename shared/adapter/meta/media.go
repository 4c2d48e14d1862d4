package meta

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/parley-inbox/parley/shared/adapter/providerfetch"
	"github.com/parley-inbox/parley/shared/inbox"
)

const (
	// maxWhatsAppMedia is WhatsApp's largest file (a document).
	maxWhatsAppMedia = 100 << 20
	// maxPageMedia is Messenger's and Instagram's largest file.
	maxPageMedia = 25 << 20
	maxLookup    = 16 << 10
	maxMediaID   = 128
)

// whatsAppMediaHosts serve the url a media lookup returns
// (https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=…),
// downloaded with the same bearer token.
var whatsAppMediaHosts = []string{"lookaside.fbsbx.com"}

// pageMediaHosts are Meta's CDNs, where Messenger and Instagram webhooks
// point attachments (scontent*.fbcdn.net, cdn.fbsbx.com,
// lookaside.fbsbx.com/ig_messaging_cdn, *.cdninstagram.com).
var pageMediaHosts = []string{".fbcdn.net", ".fbsbx.com", ".cdninstagram.com"}

// MediaSource fetches inbound media from Meta: WhatsApp media through the
// Graph API with the workspace's token, Messenger and Instagram files
// from Meta's CDN, which needs none.
type MediaSource struct {
	Accounts func(workspaceID string) (Account, error)
	// BaseURL is the Graph API (DefaultBaseURL when empty); when set, the
	// media download may go only to its host.
	BaseURL string
	// CDNBaseURL, when set, replaces the scheme and host of Messenger and
	// Instagram attachment URLs (tests, the local stack).
	CDNBaseURL string
	HTTP       *http.Client // providerfetch.Client when nil
}

var _ inbox.MediaSource = (*MediaSource)(nil)

// Open fetches the n-th file of a WhatsApp, Messenger or Instagram message.
func (s *MediaSource) Open(ctx context.Context, m *inbox.Message, n int) (io.ReadCloser, string, error) {
	if n < 0 || n >= len(m.Attachments) {
		return nil, "", inbox.Errorf(inbox.KindNotFound, "the message has no attachment %d", n)
	}
	raw := m.Attachments[n].URL
	if m.Channel == inbox.ChannelWhatsApp {
		return s.openWhatsApp(ctx, m.WorkspaceID, raw, n)
	}
	u, err := url.Parse(raw)
	if err != nil || len(raw) > 2048 || !providerfetch.HostIn(u, pageMediaHosts...) {
		return nil, "", inbox.Invalid("attachments", "attachment %d is not on Meta's CDN", n)
	}
	allowed := func(u *url.URL) bool { return providerfetch.HostIn(u, pageMediaHosts...) }
	if s.CDNBaseURL != "" {
		base, err := url.Parse(strings.TrimSuffix(s.CDNBaseURL, "/"))
		if err != nil {
			return nil, "", inbox.Internal(err)
		}
		local := *u
		local.Scheme, local.Host, local.Path, local.RawPath = base.Scheme, base.Host, base.Path+u.Path, ""
		u = &local
		allowed = func(u *url.URL) bool { return providerfetch.SameOrigin(u, base) }
	}
	return providerfetch.Do(ctx, providerfetch.Request{URL: u, Allowed: allowed, Max: maxPageMedia, HTTP: s.HTTP})
}

// openWhatsApp looks the media id up, then downloads the url it names.
func (s *MediaSource) openWhatsApp(ctx context.Context, ws, raw string, n int) (io.ReadCloser, string, error) {
	id, ok := strings.CutPrefix(raw, MediaURLPrefix)
	if !ok || !validMediaID(id) {
		return nil, "", inbox.Invalid("attachments", "attachment %d is not a WhatsApp media id", n)
	}
	acct, err := accounts(s.Accounts, ws)
	if err != nil {
		return nil, "", err
	}
	if acct.WhatsAppToken == "" {
		return nil, "", inbox.Invalid("attachments", "the workspace has no WhatsApp token to fetch media with")
	}
	base, err := url.Parse(strings.TrimSuffix(cmp.Or(s.BaseURL, DefaultBaseURL), "/"))
	if err != nil {
		return nil, "", inbox.Internal(err)
	}
	allowed := func(u *url.URL) bool { return providerfetch.HostIn(u, whatsAppMediaHosts...) }
	if s.BaseURL != "" {
		allowed = func(u *url.URL) bool { return providerfetch.SameOrigin(u, base) }
	}
	lookup := base.JoinPath(id)
	auth := http.Header{"Authorization": {"Bearer " + acct.WhatsAppToken}}
	// The lookup answers directly; it is never redirected.
	body, _, err := providerfetch.Do(ctx, providerfetch.Request{URL: lookup, Header: auth, Max: maxLookup, HTTP: s.HTTP})
	if err != nil {
		return nil, "", err
	}
	data, err := providerfetch.ReadSmall(body, maxLookup)
	if err != nil {
		return nil, "", err
	}
	var media struct {
		URL      string `json:"url"`
		MimeType string `json:"mime_type"`
		FileSize int64  `json:"file_size"`
	}
	if err := json.Unmarshal(data, &media); err != nil || media.URL == "" {
		return nil, "", &inbox.Error{Kind: inbox.KindUnavailable, Message: "the Graph API's media lookup was not understood", Err: err}
	}
	if media.FileSize > maxWhatsAppMedia {
		return nil, "", inbox.Invalid("attachments", "the file is %d bytes, over WhatsApp's limit", media.FileSize)
	}
	file, err := url.Parse(media.URL)
	if err != nil || len(media.URL) > 2048 || !allowed(file) {
		return nil, "", inbox.Invalid("attachments", "the media lookup pointed outside Meta's media host")
	}
	// The download needs the token too; a redirect from it does not get it.
	rc, ct, err := providerfetch.Do(ctx, providerfetch.Request{URL: file, Header: auth, Allowed: allowed, Max: maxWhatsAppMedia, HTTP: s.HTTP})
	if err != nil {
		return nil, "", err
	}
	if media.MimeType != "" {
		ct = media.MimeType
	}
	return rc, ct, nil
}

// validMediaID keeps a media id to the characters Meta's ids use, so it
// is one path segment of the Graph API and nothing else.
func validMediaID(id string) bool {
	if id == "" || len(id) > maxMediaID {
		return false
	}
	for _, r := range id {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// accounts reads a workspace's account; a workspace without one is a
// permanent refusal, not an outage to retry.
func accounts(get func(string) (Account, error), ws string) (Account, error) {
	acct, err := get(ws)
	var notSetUp *inbox.SendError
	if errors.As(err, &notSetUp) {
		return acct, &inbox.Error{Kind: inbox.KindInvalid, Message: notSetUp.Reason, Err: err}
	}
	return acct, err
}
