package inbox

import (
	"bytes"
	"context"
	"crypto/sha256"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/oklog/ulid/v2"
)

// Outbound webhooks for integrators (issue 14 §3): a workspace's admins
// subscribe an HTTPS URL to event types; every matching domain event is
// delivered to it signed (Standard Webhooks), retried with backoff for
// more than three days, and logged attempt by attempt.

// EventWebhookDisabled is published when a subscription that kept failing
// is disabled.
const EventWebhookDisabled EventType = "webhook.disabled"

// WebhookEventTypes are the events a subscription may ask for. Typing,
// counts and run.started are internal and never leave the stack.
var WebhookEventTypes = []EventType{
	EventContactCreated, EventContactOptedOut, EventContactOptedIn, EventContactTagged, EventContactSubscribed,
	EventContactAddedToList, EventConversationCreated, EventConversationUpdated, EventConversationReopened,
	EventConversationDeleted, EventMessageCreated, EventMessageReceived, EventMessageStatusChanged,
	EventVisitorPresence, EventOrderPlaced, EventCartAbandoned, EventWebhookDisabled,
}

// Limits on subscriptions.
const (
	MaxWebhookSubscriptions = 20
	maxWebhookURL           = 2048
	maxWebhookDescription   = 200
	// WebhookSecretGrace is how long a rotated-out secret still signs, so
	// receivers can roll their configuration without dropping deliveries.
	WebhookSecretGrace = 24 * time.Hour
	// WebhookDisableAfter is how long a subscription may fail every
	// delivery before it is disabled.
	WebhookDisableAfter = 72 * time.Hour
	// WebhookExcerptBytes is how much of a response body is kept.
	WebhookExcerptBytes = 1024
	// maxWebhookAttemptsKept bounds a delivery's log (retries and replays).
	maxWebhookAttemptsKept = 30
	// WebhookReplayWindow and WebhookReplayMax bound a bulk replay.
	WebhookReplayWindow = 7 * 24 * time.Hour
	WebhookReplayMax    = 10000
	// webhookLease is how long a worker owns a delivery's attempt: longer
	// than the request timeout, so no two workers post the same attempt.
	webhookLease = 60 * time.Second
)

// WebhookBackoff is the wait before each retry: 13 retries over 4 d 3 h
// 42 m 35 s. Each wait is jittered down by up to a quarter, so failing
// receivers are not hit in lockstep and the retries still span at least
// 3 d 2 h 46 m; the first attempt is immediate.
var WebhookBackoff = []time.Duration{
	5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 4 * time.Hour, 8 * time.Hour, 12 * time.Hour, 24 * time.Hour, 24 * time.Hour, 24 * time.Hour,
}

// WebhookSubscription is an integrator's endpoint.
type WebhookSubscription struct {
	ID          string      `json:"id"`
	WorkspaceID string      `json:"workspaceId"`
	URL         string      `json:"url"`
	Description string      `json:"description,omitempty"`
	EventTypes  []EventType `json:"eventTypes"`
	// Bot marks the workspace's agent bot (at most one): it receives
	// message.received only for contacts who are with the bot.
	Bot bool `json:"bot,omitempty"`
	// Secret is shown only when created or rotated (the API's responses
	// otherwise omit it); PreviousSecret signs too until PreviousUntil.
	Secret         string     `json:"secret,omitempty"`
	PreviousSecret string     `json:"-"`
	PreviousUntil  *time.Time `json:"previousSecretExpiresAt,omitempty"`
	Enabled        bool       `json:"enabled"`
	DisabledReason string     `json:"disabledReason,omitempty"`
	// FailingSince is the first failed attempt since the last success.
	FailingSince *time.Time `json:"failingSince,omitempty"`
	CreatedAt    time.Time  `json:"createdAt"`
	UpdatedAt    time.Time  `json:"updatedAt"`
	Version      int        `json:"version"`
}

// Wants reports whether the subscription takes events of type t.
func (s *WebhookSubscription) Wants(t EventType) bool {
	return s.Enabled && slices.Contains(s.EventTypes, t)
}

// signingSecrets are the secrets a delivery at now is signed with.
func (s *WebhookSubscription) signingSecrets(now time.Time) []string {
	out := []string{s.Secret}
	if s.PreviousSecret != "" && s.PreviousUntil != nil && now.Before(*s.PreviousUntil) {
		out = append(out, s.PreviousSecret)
	}
	return out
}

// Redacted is the subscription as lists and reads show it: no secret.
func (s *WebhookSubscription) Redacted() *WebhookSubscription {
	c := *s
	c.Secret = ""
	return &c
}

// WebhookSubscriptionInput creates or patches a subscription; nil fields
// are left as they are.
type WebhookSubscriptionInput struct {
	URL         *string      `json:"url"`
	Description *string      `json:"description"`
	EventTypes  *[]EventType `json:"eventTypes"`
	Enabled     *bool        `json:"enabled"`
	Bot         *bool        `json:"bot"`
}

// ValidateWebhookURL checks the URL's form: absolute https (http only when
// allowHTTP, the local stack's loopback receiver), a host, no user info or
// fragment, bounded. Where it resolves to is the transport's CheckURL.
func ValidateWebhookURL(raw string, allowHTTP bool) (*url.URL, error) {
	if raw == "" || len(raw) > maxWebhookURL || !utf8.ValidString(raw) {
		return nil, Invalid("url", "url must be an https URL of at most %d bytes", maxWebhookURL)
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Hostname() == "" {
		return nil, Invalid("url", "url must be an absolute https URL")
	}
	if u.Scheme != "https" && !(allowHTTP && u.Scheme == "http") {
		return nil, Invalid("url", "url must use https")
	}
	if u.User != nil || u.Fragment != "" || u.Opaque != "" {
		return nil, Invalid("url", "url must not carry credentials or a fragment")
	}
	return u, nil
}

func validateWebhookEventTypes(types []EventType) error {
	if len(types) == 0 || len(types) > len(WebhookEventTypes) {
		return Invalid("eventTypes", "eventTypes must name 1 to %d event types", len(WebhookEventTypes))
	}
	seen := map[EventType]bool{}
	for _, t := range types {
		if !slices.Contains(WebhookEventTypes, t) {
			return Invalid("eventTypes", "%q is not an event type a webhook can receive", string(t))
		}
		if seen[t] {
			return Invalid("eventTypes", "%q is listed twice", string(t))
		}
		seen[t] = true
	}
	return nil
}

// WebhookDeliveryStatus is where a delivery is.
type WebhookDeliveryStatus string

const (
	WebhookPending   WebhookDeliveryStatus = "pending"
	WebhookDelivered WebhookDeliveryStatus = "delivered"
	WebhookFailed    WebhookDeliveryStatus = "failed"
)

// WebhookAttempt is one POST to the subscription's URL.
type WebhookAttempt struct {
	At         time.Time `json:"at"`
	StatusCode int       `json:"statusCode,omitempty"`
	LatencyMs  int64     `json:"latencyMs"`
	// Response is the first KB of the body, cut at a rune boundary.
	Response string `json:"response,omitempty"`
	Error    string `json:"error,omitempty"`
	Replay   bool   `json:"replay,omitempty"`
}

// WebhookDelivery is one event for one subscription, and its attempts.
// Its id is a ULID made from the event's time and a hash of (subscription,
// event id), so a redelivered event names the same delivery and a
// conditional put stores it once.
type WebhookDelivery struct {
	ID             string                `json:"id"`
	WorkspaceID    string                `json:"workspaceId"`
	SubscriptionID string                `json:"subscriptionId"`
	EventID        string                `json:"eventId"`
	EventType      EventType             `json:"eventType"`
	Status         WebhookDeliveryStatus `json:"status"`
	// Retries counts attempts since the first or a replay, for the backoff.
	Retries       int              `json:"-"`
	NextAttemptAt *time.Time       `json:"nextAttemptAt,omitempty"`
	Attempts      []WebhookAttempt `json:"attempts"`
	// Payload is the body sent, the same on every attempt and replay.
	Payload   []byte    `json:"-"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
	// Lease is the attempt a worker owns until; compared on writes.
	Lease time.Time `json:"-"`
	// Replaying marks the next attempt as a replay's.
	Replaying bool `json:"-"`
}

// WebhookDeliveryID is the delivery id of event e for subscription sub.
func WebhookDeliveryID(subscriptionID string, e Event) string {
	h := sha256.Sum256([]byte(subscriptionID + "\x00" + e.ID))
	return ulid.MustNew(ulid.Timestamp(e.OccurredAt), bytes.NewReader(h[:10])).String()
}

// WebhookPayload is the body Parley posts: the spec's recommended shape.
type WebhookPayload struct {
	Type      EventType `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      Event     `json:"data"`
}

// WebhookRef names a delivery on the retry queue.
type WebhookRef struct {
	WorkspaceID    string `json:"workspaceId"`
	SubscriptionID string `json:"subscriptionId"`
	DeliveryID     string `json:"deliveryId"`
}

// WebhookReplayJob is a bulk replay in progress: deliveries of one
// subscription since Since, newest first, resumed after Cursor.
type WebhookReplayJob struct {
	WorkspaceID    string    `json:"workspaceId"`
	SubscriptionID string    `json:"subscriptionId"`
	Since          time.Time `json:"since"`
	Cursor         string    `json:"cursor,omitempty"`
	Done           int       `json:"done"`
}

// WebhookRequest is one signed POST.
type WebhookRequest struct {
	URL     string
	Headers map[string]string
	Body    []byte
}

// WebhookResponse is what came back, or why nothing did.
type WebhookResponse struct {
	StatusCode int
	Latency    time.Duration
	Body       string
	// Err is a transport failure (timeout, refused, blocked address).
	Err error
	// Blocked says the address was refused (SSRF guard): never retried.
	Blocked bool
}

// WebhookTransport posts webhooks and checks where a URL leads.
type WebhookTransport interface {
	// CheckURL fails with KindInvalid when rawURL is not one Parley may
	// post to: its form, or any address its host resolves to.
	CheckURL(ctx context.Context, rawURL string) error
	Post(ctx context.Context, req WebhookRequest) WebhookResponse
}

// WebhookQueue runs delivery work later: a retry after a delay, a bulk
// replay's next page.
type WebhookQueue interface {
	RetryDelivery(ctx context.Context, ref WebhookRef, after time.Duration) error
	ContinueReplay(ctx context.Context, job WebhookReplayJob) error
}

// WebhookStore keeps subscriptions (in the workspace's partition) and
// deliveries (one partition per subscription, newest first).
type WebhookStore interface {
	// PutWebhookSubscription creates (Version 0) or replaces (matching
	// Version) a subscription, and increments s.Version.
	PutWebhookSubscription(ctx context.Context, s *WebhookSubscription) error
	GetWebhookSubscription(ctx context.Context, workspaceID, id string) (*WebhookSubscription, error)
	ListWebhookSubscriptions(ctx context.Context, workspaceID string) ([]*WebhookSubscription, error)
	DeleteWebhookSubscription(ctx context.Context, s *WebhookSubscription) error
	// CreateWebhookDelivery stores d unless its id exists: false then.
	CreateWebhookDelivery(ctx context.Context, d *WebhookDelivery) (bool, error)
	GetWebhookDelivery(ctx context.Context, workspaceID, subscriptionID, id string) (*WebhookDelivery, error)
	// UpdateWebhookDelivery stores d if its stored lease is still prevLease;
	// otherwise ErrVersionConflict.
	UpdateWebhookDelivery(ctx context.Context, d *WebhookDelivery, prevLease time.Time) error
	// ListWebhookDeliveries pages through a subscription's deliveries,
	// newest first, those created at or after since when it is set.
	ListWebhookDeliveries(ctx context.Context, workspaceID, subscriptionID string, since time.Time, p PageRequest) (Page[*WebhookDelivery], error)
}

// excerpt keeps at most WebhookExcerptBytes of body, valid UTF-8, cut at
// a rune boundary.
func excerpt(body string) string {
	body = strings.ToValidUTF8(body, "")
	if len(body) <= WebhookExcerptBytes {
		return body
	}
	i := WebhookExcerptBytes
	for i > 0 && !utf8.RuneStart(body[i]) {
		i--
	}
	return body[:i]
}
