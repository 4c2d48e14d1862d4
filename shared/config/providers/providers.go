// Package providers holds each workspace's provider credentials (one JSON
// document: Secrets Manager in AWS, .local/providers.json locally) and
// hands each adapter the part it needs.
package providers

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync"

	"github.com/parley-inbox/parley/shared/adapter/meta"
	"github.com/parley-inbox/parley/shared/adapter/secrets"
	"github.com/parley-inbox/parley/shared/adapter/twilio"
	"github.com/parley-inbox/parley/shared/inbox"
)

// Credentials are one workspace's provider settings and secrets.
type Credentials struct {
	// Twilio: webhooks are signed with the auth token; sends use the
	// account and a number or Messaging Service.
	TwilioAuthToken           string `json:"twilioAuthToken,omitempty"`
	TwilioAccountSID          string `json:"twilioAccountSid,omitempty"`
	TwilioFrom                string `json:"twilioFrom,omitempty"`
	TwilioMessagingServiceSID string `json:"twilioMessagingServiceSid,omitempty"`
	// Meta: webhooks are signed with the app secret.
	MetaAppSecret         string `json:"metaAppSecret,omitempty"`
	MetaVerifyToken       string `json:"metaVerifyToken,omitempty"`
	WhatsAppPhoneNumberID string `json:"whatsappPhoneNumberId,omitempty"`
	WhatsAppToken         string `json:"whatsappToken,omitempty"`
	// WhatsAppBusinessAccountID is the WABA, which owns the message
	// templates (POST /templates submits them there).
	WhatsAppBusinessAccountID string `json:"whatsappBusinessAccountId,omitempty"`
	PageID                    string `json:"pageId,omitempty"`
	PageToken                 string `json:"pageToken,omitempty"`
	InstagramAccountID        string `json:"instagramAccountId,omitempty"`
	InstagramToken            string `json:"instagramToken,omitempty"`
	// Email: SNS notifications must come from this topic; replies go out
	// from this address.
	SNSTopicARN         string `json:"snsTopicArn,omitempty"`
	EmailFrom           string `json:"emailFrom,omitempty"`
	SESConfigurationSet string `json:"sesConfigurationSet,omitempty"`
	// WebChat turns on the public web chat endpoints.
	WebChat bool `json:"webChat,omitempty"`
	// EventsSigningSecret signs the events a shop or another system posts
	// to start and convert automations (X-Parley-Signature).
	EventsSigningSecret string `json:"eventsSigningSecret,omitempty"`
	// Stripe: payment links are made with the secret key; its webhook
	// endpoint's events are signed with the signing secret (whsec_…).
	StripeSecretKey     string `json:"stripeSecretKey,omitempty"`
	StripeWebhookSecret string `json:"stripeWebhookSecret,omitempty"`
}

// Set maps workspace ids to their credentials.
type Set map[string]Credentials

// Parse reads a credential document: a JSON object keyed by workspace id.
func Parse(raw []byte) (Set, error) {
	var set Set
	if err := json.Unmarshal(raw, &set); err != nil {
		return nil, fmt.Errorf("provider credentials: %w", err)
	}
	return set, nil
}

// Fetch reads the credential document from Secrets Manager (in AWS), once
// at cold start.
func Fetch(ctx context.Context, api secrets.API, arn string) (Set, error) {
	raw, err := secrets.Value(ctx, api, arn)
	if err != nil {
		return nil, err
	}
	return Parse(raw)
}

// Load reads a credential document from a file.
func Load(path string) (Set, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(raw)
}

func (s Set) get(ws, what string, ok func(Credentials) bool) (Credentials, error) {
	c, found := s[ws]
	if !found || !ok(c) {
		return c, &inbox.SendError{Code: "not_configured", Reason: what + " is not set up for this workspace"}
	}
	return c, nil
}

// Twilio is the account twilio.Sender sends from.
func (s Set) Twilio(ws string) (twilio.Account, error) {
	c, err := s.get(ws, "Twilio sending", func(c Credentials) bool {
		return c.TwilioAccountSID != "" && c.TwilioAuthToken != "" && (c.TwilioFrom != "" || c.TwilioMessagingServiceSID != "")
	})
	return twilio.Account{AccountSID: c.TwilioAccountSID, AuthToken: c.TwilioAuthToken, From: c.TwilioFrom, MessagingServiceSID: c.TwilioMessagingServiceSID}, err
}

// TwilioMedia is the account inbound MMS media is fetched with: only the
// SID and the auth token, which receiving alone needs.
func (s Set) TwilioMedia(ws string) (twilio.Account, error) {
	c, err := s.get(ws, "Twilio", func(c Credentials) bool { return c.TwilioAccountSID != "" && c.TwilioAuthToken != "" })
	return twilio.Account{AccountSID: c.TwilioAccountSID, AuthToken: c.TwilioAuthToken}, err
}

// Meta is the account meta.Sender sends from.
func (s Set) Meta(ws string) (meta.Account, error) {
	c, err := s.get(ws, "Meta sending", func(c Credentials) bool {
		return c.WhatsAppToken != "" || c.PageToken != "" || c.InstagramToken != ""
	})
	return meta.Account{WhatsAppPhoneNumberID: c.WhatsAppPhoneNumberID, WhatsAppToken: c.WhatsAppToken,
		WhatsAppBusinessAccountID: c.WhatsAppBusinessAccountID, PageID: c.PageID,
		PageToken: c.PageToken, InstagramAccountID: c.InstagramAccountID, InstagramToken: c.InstagramToken}, err
}

// StripeKey is the secret key stripelink.Links makes payment links with.
func (s Set) StripeKey(ws string) (string, error) {
	c, err := s.get(ws, "Stripe", func(c Credentials) bool { return c.StripeSecretKey != "" })
	return c.StripeSecretKey, err
}

// Mailbox is the address a workspace sends email from. It lives here, not
// with the email adapters, so that reading credentials links no MIME code.
type Mailbox struct {
	From             string // "Support <support@inbox.example.com>"
	ConfigurationSet string // SES configuration set that publishes delivery events
}

// Mailbox is the address ses.Sender sends from.
func (s Set) Mailbox(ws string) (Mailbox, error) {
	c, err := s.get(ws, "Email sending", func(c Credentials) bool { return c.EmailFrom != "" })
	return Mailbox{From: c.EmailFrom, ConfigurationSet: c.SESConfigurationSet}, err
}

// Lazy reads the provider secret once, when first needed: a function that
// needs it for only some calls does not read it at every cold start.
type Lazy struct {
	Fetch func(context.Context) (Set, error)
	mu    sync.Mutex
	set   Set
}

// Load returns the set, reading it on the first call (and again after a
// failed read).
func (l *Lazy) Load() (Set, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.set == nil {
		set, err := l.Fetch(context.Background())
		if err != nil {
			return nil, &inbox.Error{Kind: inbox.KindUnavailable, Message: "the provider credentials could not be read; retry", Err: err}
		}
		l.set = set
	}
	return l.set, nil
}
