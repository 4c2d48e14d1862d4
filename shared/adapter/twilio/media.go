package twilio

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/parley-inbox/parley/shared/adapter/providerfetch"
	"github.com/parley-inbox/parley/shared/inbox"
)

// apiBase is where inbound media URLs point (MediaUrlN).
const apiBase = "https://api.twilio.com"

// maxMediaBytes is Twilio's limit on an MMS's media.
const maxMediaBytes = 5 << 20

// mediaHosts are where Twilio redirects a media URL: mms.twiliocdn.com
// when HTTP auth on media is enforced, else s3-external-1.amazonaws.com
// under /media.twiliocdn.com/ (support.twilio.com, "Prevent Unauthorized
// Access to Your Media with HTTP Basic Auth"); media.twiliocdn.com also
// serves it.
var mediaHosts = []string{"mms.twiliocdn.com", "media.twiliocdn.com"}

// MediaSource fetches inbound MMS media from Twilio with the workspace's
// account, and deletes it there once copied.
type MediaSource struct {
	// Accounts returns a workspace's account; only AccountSID and
	// AuthToken are used.
	Accounts func(workspaceID string) (Account, error)
	// BaseURL replaces https://api.twilio.com (tests, the local stack);
	// redirects may then go only to its host.
	BaseURL string
	HTTP    *http.Client // providerfetch.Client when nil
}

var (
	_ inbox.MediaSource    = (*MediaSource)(nil)
	_ inbox.MediaForgetter = (*MediaSource)(nil)
)

// Open fetches the n-th file. Only the account's own media resources are
// requested: https://api.twilio.com/2010-04-01/Accounts/<its SID>/Messages/<MM…>/Media/<ME…>.
func (s *MediaSource) Open(ctx context.Context, m *inbox.Message, n int) (io.ReadCloser, string, error) {
	target, acct, err := s.resolve(m, n)
	if err != nil {
		return nil, "", err
	}
	return providerfetch.Do(ctx, providerfetch.Request{URL: target, Header: basicAuth(acct), Allowed: s.allowed, Max: maxMediaBytes, HTTP: s.HTTP})
}

// Forget deletes the media resource; one already gone is fine.
func (s *MediaSource) Forget(ctx context.Context, m *inbox.Message, n int) error {
	target, acct, err := s.resolve(m, n)
	if err != nil {
		return err
	}
	target.Path += ".json"
	body, _, err := providerfetch.Do(ctx, providerfetch.Request{Method: http.MethodDelete, URL: target, Header: basicAuth(acct),
		Allowed: func(*url.URL) bool { return false }, Max: 64 << 10, HTTP: s.HTTP})
	if inbox.IsKind(err, inbox.KindNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return body.Close()
}

// resolve checks the attachment's URL and returns where to request it.
func (s *MediaSource) resolve(m *inbox.Message, n int) (*url.URL, Account, error) {
	if n < 0 || n >= len(m.Attachments) {
		return nil, Account{}, inbox.Errorf(inbox.KindNotFound, "the message has no attachment %d", n)
	}
	acct, err := accounts(s.Accounts, m.WorkspaceID)
	if err != nil {
		return nil, Account{}, err
	}
	if acct.AccountSID == "" || acct.AuthToken == "" {
		return nil, Account{}, inbox.Invalid("attachments", "the workspace has no Twilio account to fetch media with")
	}
	raw := m.Attachments[n].URL
	path, ok := strings.CutPrefix(raw, apiBase+"/")
	if !ok || !mediaPath(path, acct.AccountSID) {
		return nil, Account{}, inbox.Invalid("attachments", "attachment %d is not one of the account's Twilio media URLs", n)
	}
	base := apiBase
	if s.BaseURL != "" {
		base = strings.TrimSuffix(s.BaseURL, "/")
	}
	target, err := url.Parse(base + "/" + path)
	if err != nil {
		return nil, Account{}, inbox.Invalid("attachments", "attachment %d has a bad URL", n)
	}
	return target, acct, nil
}

// mediaPath matches 2010-04-01/Accounts/<sid>/Messages/<MM|SM…>/Media/<ME…>.
func mediaPath(path, accountSID string) bool {
	parts := strings.Split(path, "/")
	return len(parts) == 7 && parts[0] == "2010-04-01" && parts[1] == "Accounts" && parts[2] == accountSID &&
		parts[3] == "Messages" && validSID(parts[4], "MM", "SM") && parts[5] == "Media" && validSID(parts[6], "ME")
}

func (s *MediaSource) allowed(u *url.URL) bool {
	if s.BaseURL != "" {
		base, err := url.Parse(s.BaseURL)
		return err == nil && providerfetch.SameOrigin(u, base)
	}
	if providerfetch.HostIn(u, mediaHosts...) {
		return true
	}
	// The older bucket URL: Twilio's bucket on S3, not any bucket.
	return providerfetch.HostIn(u, "s3-external-1.amazonaws.com") && strings.HasPrefix(u.Path, "/media.twiliocdn.com/")
}

func basicAuth(acct Account) http.Header {
	req := &http.Request{Header: http.Header{}}
	req.SetBasicAuth(acct.AccountSID, acct.AuthToken)
	return req.Header
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
