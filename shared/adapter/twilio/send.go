package twilio

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	twiliogo "github.com/twilio/twilio-go"
	"github.com/twilio/twilio-go/client"
	openapi "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/parley-inbox/parley/shared/inbox"
)

// Account is one workspace's Twilio sending setup.
type Account struct {
	AccountSID string
	AuthToken  string
	// From is the sending number; MessagingServiceSID, when set, is used
	// instead so Twilio picks the number from the service's pool.
	From                string
	MessagingServiceSID string
}

// Sender sends SMS and MMS through Twilio's Messages API.
type Sender struct {
	Accounts func(workspaceID string) (Account, error)
	// StatusCallback is the URL Twilio posts delivery statuses to.
	StatusCallback func(workspaceID, ref string) string
	// BaseURL replaces https://api.twilio.com (tests); empty is Twilio.
	BaseURL string
}

var _ inbox.ChannelSender = (*Sender)(nil)

// Send creates the message and returns its SID.
func (s *Sender) Send(ctx context.Context, out inbox.Outbound) (string, error) {
	acct, err := s.Accounts(out.WorkspaceID)
	if err != nil {
		return "", configError(err)
	}
	if acct.AccountSID == "" || acct.AuthToken == "" || (acct.From == "" && acct.MessagingServiceSID == "") {
		return "", &inbox.SendError{Code: "not_configured", Reason: "the workspace has no Twilio account or sending number"}
	}
	rt := &transport{ctx: ctx, next: http.DefaultTransport}
	if s.BaseURL != "" {
		if rt.base, err = url.Parse(s.BaseURL); err != nil {
			return "", fmt.Errorf("twilio: BaseURL: %w", err)
		}
	}
	// Our own client.Client: twilio-go's default falls back to env
	// credentials and sends without the caller's context.
	c := &client.Client{
		Credentials: client.NewCredentials(acct.AccountSID, acct.AuthToken),
		HTTPClient: &http.Client{
			Transport: rt,
			Timeout:   15 * time.Second,
			// Like twilio-go's default client: a redirect is an answer.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	c.SetAccountSid(acct.AccountSID)
	api := twiliogo.NewRestClientWithParams(twiliogo.ClientParams{Client: c}).Api

	params := &openapi.CreateMessageParams{}
	params.SetTo(out.To)
	if acct.MessagingServiceSID != "" {
		params.SetMessagingServiceSid(acct.MessagingServiceSID)
	} else {
		params.SetFrom(acct.From)
	}
	if out.Message.Body != "" {
		params.SetBody(out.Message.Body)
	}
	if len(out.Message.Attachments) > 0 {
		media := make([]string, len(out.Message.Attachments))
		for i, a := range out.Message.Attachments {
			media[i] = a.URL
		}
		params.SetMediaUrl(media)
	}
	if s.StatusCallback != nil {
		params.SetStatusCallback(s.StatusCallback(out.WorkspaceID, out.Ref))
	}

	msg, err := api.CreateMessage(params)
	if err != nil {
		return "", sendError(err, rt.status)
	}
	if msg.Sid == nil || *msg.Sid == "" {
		// Twilio answered 2xx, so the message may exist: not retryable.
		return "", errors.New("twilio: created message has no sid")
	}
	return *msg.Sid, nil
}

// transport puts the send's context on twilio-go's requests, points them
// at base when set, and remembers the HTTP status Twilio answered with.
type transport struct {
	ctx    context.Context
	base   *url.URL
	next   http.RoundTripper
	status int
}

func (t *transport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(t.ctx)
	if t.base != nil {
		r.URL.Scheme, r.URL.Host, r.Host = t.base.Scheme, t.base.Host, ""
	}
	res, err := t.next.RoundTrip(r)
	if err == nil {
		t.status = res.StatusCode
	}
	return res, err
}

// sendError maps a failed create. status is the HTTP status seen, or 0
// when no response arrived.
func sendError(err error, status int) error {
	var re *client.TwilioRestError
	switch {
	case errors.As(err, &re):
		if status == 0 {
			status = re.Status // twilio-go's own checks, before any request
		}
		code := strconv.Itoa(re.Code)
		reason, known := reasons[code]
		if !known && re.Message != "" {
			reason = re.Message
		} else if !known {
			reason = Reason(code)
		}
		return &inbox.SendError{Code: code, Reason: reason, Retryable: retryableStatus(status)}
	case status >= 400:
		// An error body twilio-go could not decode, e.g. a proxy's HTML page.
		return &inbox.SendError{Code: "http_" + strconv.Itoa(status), Reason: fmt.Sprintf("Twilio answered HTTP %d", status), Retryable: retryableStatus(status)}
	case status == 0 && dialFailed(err):
		return &inbox.SendError{Code: "unreachable", Reason: "could not connect to Twilio", Retryable: true}
	}
	// Sent but unanswered (timeout, reset) or an unreadable 2xx: Twilio
	// may have created the message, so this must not be retried.
	return fmt.Errorf("twilio: %w", err)
}

// retryableStatus is true for refusals Twilio makes before creating the
// message. 504 is left out: the gateway gave up, but Twilio may have
// created the message behind it.
func retryableStatus(status int) bool {
	return status == http.StatusTooManyRequests || (status >= 500 && status != http.StatusGatewayTimeout)
}

// dialFailed reports a connection that never opened, so nothing was sent.
func dialFailed(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// configError keeps a SendError the lookup chose and makes anything else
// a final one: nothing was sent, but retrying will not fix configuration.
func configError(err error) error {
	var se *inbox.SendError
	if errors.As(err, &se) {
		return err
	}
	return &inbox.SendError{Code: "not_configured", Reason: err.Error()}
}

// StatusCallbackURL makes the callback Twilio posts delivery statuses to.
// The delivery ref rides in the query, which Twilio signs with the URL, so
// the callback names its message without a lookup.
// webhookBase is the deployment's webhook base URL (config.WebhookBaseURL).
func StatusCallbackURL(webhookBase string) func(workspaceID, ref string) string {
	return func(workspaceID, ref string) string {
		return webhookBase + "/" + url.PathEscape(workspaceID) + "/twilio/status?ref=" + url.QueryEscape(ref)
	}
}
