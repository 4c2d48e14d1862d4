package inbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"
)

// IntegrationStore is what the webhook use cases keep: subscriptions and
// deliveries, and the team (admins are emailed when a subscription is
// disabled).
type IntegrationStore interface {
	WebhookStore
	ListUsers(ctx context.Context, workspaceID string) ([]*User, error)
	// GetConversation says whether a contact is with the bot.
	GetConversation(ctx context.Context, workspaceID, id string) (*Conversation, error)
}

// Integrations is the outbound-webhook use case of functions/api (admins'
// subscriptions, the delivery log, replays) and of functions/integrations
// (deliveries from the bus, retries, bulk replays).
type Integrations struct {
	store     IntegrationStore
	clock     Clock
	transport WebhookTransport
	queue     WebhookQueue
	// events and email announce a disabled subscription; either may be
	// nil in the api, which never disables one.
	events EventPublisher
	email  ChannelSender
	// BackoffScale multiplies WebhookBackoff (1 when zero); the local
	// stack's tests shrink three days of retries to seconds.
	BackoffScale float64
	// AllowHTTP accepts http:// URLs: the local stack's test receiver
	// only. The transport decides which addresses are allowed.
	AllowHTTP bool
	Log       *slog.Logger
}

// NewIntegrations returns the webhook use cases.
func NewIntegrations(store IntegrationStore, clock Clock, transport WebhookTransport, queue WebhookQueue, events EventPublisher, email ChannelSender) *Integrations {
	return &Integrations{store: store, clock: clock, transport: transport, queue: queue, events: events, email: email}
}

func (s *Integrations) now() time.Time {
	var c Clock = SystemClock{}
	if s.clock != nil {
		c = s.clock
	}
	return c.Now().UTC().Truncate(time.Millisecond)
}

func (s *Integrations) log() *slog.Logger {
	if s.Log == nil {
		return slog.Default()
	}
	return s.Log
}

// backoff is the wait before retry n (1-based), jittered in [3d/4, d]:
// random enough to spread a crowd of retries, and never so short that
// the whole schedule falls under three days.
func (s *Integrations) backoff(n int) time.Duration {
	d := WebhookBackoff[n-1]
	if s.BackoffScale > 0 {
		d = time.Duration(float64(d) * s.BackoffScale)
	}
	return d - time.Duration(rand.Int64N(int64(d/4)+1))
}

// disableAfter is WebhookDisableAfter on the same scale as the backoff,
// so a scaled-down local stack disables a dead endpoint too.
func (s *Integrations) disableAfter() time.Duration {
	if s.BackoffScale > 0 {
		return time.Duration(float64(WebhookDisableAfter) * s.BackoffScale)
	}
	return WebhookDisableAfter
}

func (s *Integrations) checkURL(ctx context.Context, raw string) error {
	if _, err := ValidateWebhookURL(raw, s.AllowHTTP); err != nil {
		return err
	}
	return s.transport.CheckURL(ctx, raw)
}

// CreateWebhookSubscription adds a subscription; its secret is in the
// answer, and only there (and in RotateWebhookSecret's).
func (s *Integrations) CreateWebhookSubscription(ctx context.Context, actor Actor, in WebhookSubscriptionInput) (*WebhookSubscription, error) {
	if err := requireAdmin(actor, "manage webhooks"); err != nil {
		return nil, err
	}
	if in.URL == nil {
		return nil, Invalid("url", "url is required")
	}
	if in.EventTypes == nil {
		return nil, Invalid("eventTypes", "eventTypes is required")
	}
	now := s.now()
	sub := &WebhookSubscription{ID: NewID(now), WorkspaceID: actor.WorkspaceID, Enabled: true, CreatedAt: now}
	if err := s.apply(ctx, sub, in); err != nil {
		return nil, err
	}
	existing, err := s.store.ListWebhookSubscriptions(ctx, actor.WorkspaceID)
	if err != nil {
		return nil, err
	}
	if len(existing) >= MaxWebhookSubscriptions {
		return nil, Errorf(KindConflict, "a workspace has at most %d webhook subscriptions", MaxWebhookSubscriptions)
	}
	if err := oneBot(existing, sub); err != nil {
		return nil, err
	}
	if sub.Secret, err = NewWebhookSecret(); err != nil {
		return nil, Internal(err)
	}
	sub.UpdatedAt = now
	if err := s.store.PutWebhookSubscription(ctx, sub); err != nil {
		return nil, err
	}
	return sub, nil
}

// apply validates a patch onto sub.
func (s *Integrations) apply(ctx context.Context, sub *WebhookSubscription, in WebhookSubscriptionInput) error {
	if in.URL != nil {
		if err := s.checkURL(ctx, *in.URL); err != nil {
			return err
		}
		sub.URL = *in.URL
	}
	if in.Description != nil {
		if len(*in.Description) > maxWebhookDescription {
			return Invalid("description", "description is at most %d bytes", maxWebhookDescription)
		}
		sub.Description = *in.Description
	}
	if in.EventTypes != nil {
		if err := validateWebhookEventTypes(*in.EventTypes); err != nil {
			return err
		}
		sub.EventTypes = *in.EventTypes
	}
	if in.Bot != nil {
		sub.Bot = *in.Bot
	}
	if in.Enabled != nil {
		sub.Enabled = *in.Enabled
		if sub.Enabled {
			sub.DisabledReason, sub.FailingSince = "", nil
		} else if sub.DisabledReason == "" {
			sub.DisabledReason = "disabled by an admin"
		}
	}
	return nil
}

func (s *Integrations) ListWebhookSubscriptions(ctx context.Context, actor Actor) ([]*WebhookSubscription, error) {
	if err := requireAdmin(actor, "manage webhooks"); err != nil {
		return nil, err
	}
	subs, err := s.store.ListWebhookSubscriptions(ctx, actor.WorkspaceID)
	if err != nil {
		return nil, err
	}
	out := make([]*WebhookSubscription, len(subs))
	for i, sub := range subs {
		out[i] = sub.Redacted()
	}
	return out, nil
}

func (s *Integrations) GetWebhookSubscription(ctx context.Context, actor Actor, id string) (*WebhookSubscription, error) {
	if err := requireAdmin(actor, "manage webhooks"); err != nil {
		return nil, err
	}
	sub, err := s.store.GetWebhookSubscription(ctx, actor.WorkspaceID, id)
	if err != nil {
		return nil, err
	}
	return sub.Redacted(), nil
}

// UpdateWebhookSubscription patches a subscription. Enabling it again
// clears why it was disabled.
func (s *Integrations) UpdateWebhookSubscription(ctx context.Context, actor Actor, id string, in WebhookSubscriptionInput) (*WebhookSubscription, error) {
	if err := requireAdmin(actor, "manage webhooks"); err != nil {
		return nil, err
	}
	var existing []*WebhookSubscription
	if in.Bot != nil && *in.Bot {
		var err error
		if existing, err = s.store.ListWebhookSubscriptions(ctx, actor.WorkspaceID); err != nil {
			return nil, err
		}
	}
	return s.modify(ctx, actor.WorkspaceID, id, func(sub *WebhookSubscription) error {
		sub.UpdatedAt = s.now()
		if err := s.apply(ctx, sub, in); err != nil {
			return err
		}
		return oneBot(existing, sub)
	}, true)
}

// oneBot refuses a second bot subscription, and a bot that would not hear
// the contacts' messages.
func oneBot(existing []*WebhookSubscription, sub *WebhookSubscription) error {
	if !sub.Bot {
		return nil
	}
	if !slices.Contains(sub.EventTypes, EventMessageReceived) {
		return Invalid("eventTypes", "the bot's subscription needs %s", EventMessageReceived)
	}
	for _, o := range existing {
		if o.Bot && o.ID != sub.ID {
			return Errorf(KindConflict, "subscription %s is already the workspace's bot", o.ID)
		}
	}
	return nil
}

// RotateWebhookSecret issues a new secret; the old one still signs
// (a second signature) for WebhookSecretGrace.
func (s *Integrations) RotateWebhookSecret(ctx context.Context, actor Actor, id string) (*WebhookSubscription, error) {
	if err := requireAdmin(actor, "manage webhooks"); err != nil {
		return nil, err
	}
	secret, err := NewWebhookSecret()
	if err != nil {
		return nil, Internal(err)
	}
	return s.modify(ctx, actor.WorkspaceID, id, func(sub *WebhookSubscription) error {
		now := s.now()
		until := now.Add(WebhookSecretGrace)
		sub.PreviousSecret, sub.PreviousUntil, sub.Secret, sub.UpdatedAt = sub.Secret, &until, secret, now
		return nil
	}, false)
}

// modify reads, changes and writes a subscription, retrying lost races.
func (s *Integrations) modify(ctx context.Context, ws, id string, change func(*WebhookSubscription) error, redact bool) (*WebhookSubscription, error) {
	var out *WebhookSubscription
	err := retryOnConflict(ctx, func() error {
		sub, err := s.store.GetWebhookSubscription(ctx, ws, id)
		if err != nil {
			return err
		}
		if err := change(sub); err != nil {
			return err
		}
		if err := s.store.PutWebhookSubscription(ctx, sub); err != nil {
			return err
		}
		out = sub
		return nil
	})
	if err != nil {
		return nil, err
	}
	if redact {
		return out.Redacted(), nil
	}
	return out, nil
}

func (s *Integrations) DeleteWebhookSubscription(ctx context.Context, actor Actor, id string) error {
	if err := requireAdmin(actor, "manage webhooks"); err != nil {
		return err
	}
	sub, err := s.store.GetWebhookSubscription(ctx, actor.WorkspaceID, id)
	if err != nil {
		return err
	}
	return s.store.DeleteWebhookSubscription(ctx, sub)
}

// ListWebhookDeliveries pages through a subscription's delivery log, newest first.
func (s *Integrations) ListWebhookDeliveries(ctx context.Context, actor Actor, id string, p PageRequest) (Page[*WebhookDelivery], error) {
	if err := requireAdmin(actor, "manage webhooks"); err != nil {
		return Page[*WebhookDelivery]{}, err
	}
	if _, err := s.store.GetWebhookSubscription(ctx, actor.WorkspaceID, id); err != nil {
		return Page[*WebhookDelivery]{}, err
	}
	return s.store.ListWebhookDeliveries(ctx, actor.WorkspaceID, id, time.Time{}, p)
}

func (s *Integrations) GetWebhookDelivery(ctx context.Context, actor Actor, id, deliveryID string) (*WebhookDelivery, error) {
	if err := requireAdmin(actor, "manage webhooks"); err != nil {
		return nil, err
	}
	return s.store.GetWebhookDelivery(ctx, actor.WorkspaceID, id, deliveryID)
}

// ReplayWebhookDelivery sends a delivery again, with the same webhook-id
// and body, so a receiver that kept it deduplicates the replay.
func (s *Integrations) ReplayWebhookDelivery(ctx context.Context, actor Actor, id, deliveryID string) (*WebhookDelivery, error) {
	if err := requireAdmin(actor, "manage webhooks"); err != nil {
		return nil, err
	}
	sub, err := s.store.GetWebhookSubscription(ctx, actor.WorkspaceID, id)
	if err != nil {
		return nil, err
	}
	if !sub.Enabled {
		return nil, Errorf(KindConflict, "the subscription is disabled; enable it before replaying")
	}
	d, err := s.store.GetWebhookDelivery(ctx, actor.WorkspaceID, id, deliveryID)
	if err != nil {
		return nil, err
	}
	if err := s.replay(ctx, d); err != nil {
		return nil, err
	}
	return d, nil
}

// replay makes a finished delivery pending and due now, and queues it. A
// pending one is already on its way.
func (s *Integrations) replay(ctx context.Context, d *WebhookDelivery) error {
	if d.Status == WebhookPending {
		return nil
	}
	now := s.now()
	prev := d.Lease
	d.Status, d.Retries, d.NextAttemptAt, d.Replaying, d.UpdatedAt = WebhookPending, 0, &now, true, now
	if err := s.store.UpdateWebhookDelivery(ctx, d, prev); err != nil {
		return err
	}
	return s.queue.RetryDelivery(ctx, d.ref(), 0)
}

// ReplayWebhooksSince replays, in the background, every finished delivery
// of the subscription created since (at most WebhookReplayWindow ago, and
// at most WebhookReplayMax of them).
func (s *Integrations) ReplayWebhooksSince(ctx context.Context, actor Actor, id string, since time.Time) (WebhookReplayJob, error) {
	if err := requireAdmin(actor, "manage webhooks"); err != nil {
		return WebhookReplayJob{}, err
	}
	now := s.now()
	if since.IsZero() || since.After(now) || now.Sub(since) > WebhookReplayWindow {
		return WebhookReplayJob{}, Invalid("since", "since must be a time in the last %d days", int(WebhookReplayWindow/(24*time.Hour)))
	}
	sub, err := s.store.GetWebhookSubscription(ctx, actor.WorkspaceID, id)
	if err != nil {
		return WebhookReplayJob{}, err
	}
	if !sub.Enabled {
		return WebhookReplayJob{}, Errorf(KindConflict, "the subscription is disabled; enable it before replaying")
	}
	job := WebhookReplayJob{WorkspaceID: actor.WorkspaceID, SubscriptionID: id, Since: since.UTC()}
	if err := s.queue.ContinueReplay(ctx, job); err != nil {
		return WebhookReplayJob{}, err
	}
	return job, nil
}

// RunReplay replays one page of a bulk replay and queues the next.
func (s *Integrations) RunReplay(ctx context.Context, job WebhookReplayJob) error {
	page, err := s.store.ListWebhookDeliveries(ctx, job.WorkspaceID, job.SubscriptionID, job.Since, PageRequest{Limit: MaxPageSize, Cursor: job.Cursor})
	if IsKind(err, KindNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, d := range page.Items {
		if job.Done >= WebhookReplayMax {
			return nil
		}
		if err := s.replay(ctx, d); err != nil && !errors.Is(err, ErrVersionConflict) {
			return err
		}
		job.Done++
	}
	if page.NextCursor == "" || job.Done >= WebhookReplayMax {
		return nil
	}
	job.Cursor = page.NextCursor
	return s.queue.ContinueReplay(ctx, job)
}

func (d *WebhookDelivery) ref() WebhookRef {
	return WebhookRef{WorkspaceID: d.WorkspaceID, SubscriptionID: d.SubscriptionID, DeliveryID: d.ID}
}

// HandleEvent delivers a bus event to each subscription that wants it.
// A delivery is stored once per (subscription, event): a redelivered
// event finds it and only resumes it if it is due and nobody holds it.
func (s *Integrations) HandleEvent(ctx context.Context, e Event) error {
	if e.WorkspaceID == "" || e.ID == "" {
		return nil
	}
	subs, err := s.store.ListWebhookSubscriptions(ctx, e.WorkspaceID)
	if err != nil {
		return err
	}
	// The bot hears only the contacts who are with it: one read of the
	// conversation, and only when a bot subscription wants the event.
	if e.Type == EventMessageReceived && slices.ContainsFunc(subs, func(sub *WebhookSubscription) bool { return sub.Bot && sub.Wants(e.Type) }) {
		c, err := s.store.GetConversation(ctx, e.WorkspaceID, e.ConversationID)
		if err != nil && !IsKind(err, KindNotFound) {
			return err
		}
		if c == nil || !c.Bot {
			subs = slices.DeleteFunc(slices.Clone(subs), func(sub *WebhookSubscription) bool { return sub.Bot })
		}
	}
	// Each subscription concurrently: a slow receiver does not delay others.
	var mu sync.Mutex
	var wg sync.WaitGroup
	var errs []error
	for _, sub := range subs {
		if sub.Wants(e.Type) {
			wg.Go(func() {
				err := s.deliverEvent(ctx, sub, e)
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (s *Integrations) deliverEvent(ctx context.Context, sub *WebhookSubscription, e Event) error {
	body, err := json.Marshal(WebhookPayload{Type: e.Type, Timestamp: e.OccurredAt, Data: e})
	if err != nil {
		return Internal(err)
	}
	now := s.now()
	d := &WebhookDelivery{ID: WebhookDeliveryID(sub.ID, e), WorkspaceID: e.WorkspaceID, SubscriptionID: sub.ID,
		EventID: e.ID, EventType: e.Type, Status: WebhookPending, NextAttemptAt: &now, Attempts: []WebhookAttempt{},
		Payload: body, CreatedAt: now, UpdatedAt: now, Lease: now.Add(webhookLease)}
	created, err := s.store.CreateWebhookDelivery(ctx, d)
	if err != nil {
		return err
	}
	if !created {
		return s.DeliverWebhook(ctx, d.ref())
	}
	return s.attempt(ctx, sub, d)
}

// DeliverWebhook attempts a queued delivery if it is due; one queued
// before it is due goes back on the queue for the rest of its wait.
func (s *Integrations) DeliverWebhook(ctx context.Context, ref WebhookRef) error {
	d, err := s.store.GetWebhookDelivery(ctx, ref.WorkspaceID, ref.SubscriptionID, ref.DeliveryID)
	if IsKind(err, KindNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if d.Status != WebhookPending {
		return nil
	}
	now := s.now()
	if d.NextAttemptAt != nil && d.NextAttemptAt.After(now) {
		return s.queue.RetryDelivery(ctx, ref, d.NextAttemptAt.Sub(now))
	}
	if d.Lease.After(now) {
		// Another worker holds it; it queues the next retry itself.
		return nil
	}
	prev := d.Lease
	d.Lease = now.Add(webhookLease)
	if err := s.store.UpdateWebhookDelivery(ctx, d, prev); err != nil {
		if errors.Is(err, ErrVersionConflict) {
			return nil
		}
		return err
	}
	sub, err := s.store.GetWebhookSubscription(ctx, ref.WorkspaceID, ref.SubscriptionID)
	if IsKind(err, KindNotFound) {
		return s.finish(ctx, d, WebhookAttempt{At: now, Error: "the subscription was deleted"}, WebhookFailed)
	}
	if err != nil {
		return err
	}
	if !sub.Enabled {
		return s.finish(ctx, d, WebhookAttempt{At: now, Error: "the subscription is disabled"}, WebhookFailed)
	}
	return s.attempt(ctx, sub, d)
}

// attempt posts d (which this worker holds) and records what happened.
func (s *Integrations) attempt(ctx context.Context, sub *WebhookSubscription, d *WebhookDelivery) error {
	now := s.now()
	sig, err := SignWebhook(sub.signingSecrets(now), d.EventID, now, d.Payload)
	if err != nil {
		return Internal(err)
	}
	res := s.transport.Post(ctx, WebhookRequest{URL: sub.URL, Body: d.Payload, Headers: map[string]string{
		HeaderWebhookID: d.EventID, HeaderWebhookTimestamp: strconv.FormatInt(now.Unix(), 10), HeaderWebhookSignature: sig,
		"Content-Type": "application/json", "User-Agent": "Parley-Webhooks/1"}})
	a := WebhookAttempt{At: now, StatusCode: res.StatusCode, LatencyMs: res.Latency.Milliseconds(), Response: excerpt(res.Body), Replay: d.Replaying}
	if res.Err != nil {
		a.Error = excerpt(res.Err.Error())
	}
	ok := res.Err == nil && res.StatusCode >= 200 && res.StatusCode < 300
	retryable := !res.Blocked && (res.Err != nil || res.StatusCode == http.StatusTooManyRequests || res.StatusCode >= 500)
	if res.Err == nil && !ok && a.Error == "" {
		a.Error = fmt.Sprintf("answered %d", res.StatusCode)
	}
	switch {
	case ok:
		err = s.finish(ctx, d, a, WebhookDelivered)
	case retryable && d.Retries < len(WebhookBackoff):
		d.Retries++
		wait := s.backoff(d.Retries)
		next := now.Add(wait)
		d.NextAttemptAt = &next
		err = s.record(ctx, d, a, WebhookPending)
		if err == nil {
			err = s.queue.RetryDelivery(ctx, d.ref(), wait)
		}
	default:
		err = s.finish(ctx, d, a, WebhookFailed)
	}
	if err != nil {
		return err
	}
	return s.track(ctx, sub, ok, d.Status == WebhookFailed, a)
}

func (s *Integrations) finish(ctx context.Context, d *WebhookDelivery, a WebhookAttempt, status WebhookDeliveryStatus) error {
	d.NextAttemptAt = nil
	return s.record(ctx, d, a, status)
}

// record appends an attempt and releases the lease.
func (s *Integrations) record(ctx context.Context, d *WebhookDelivery, a WebhookAttempt, status WebhookDeliveryStatus) error {
	d.Attempts = append(d.Attempts, a)
	if n := len(d.Attempts); n > maxWebhookAttemptsKept {
		d.Attempts = d.Attempts[n-maxWebhookAttemptsKept:]
	}
	prev := d.Lease
	d.Status, d.UpdatedAt, d.Lease, d.Replaying = status, a.At, time.Time{}, false
	return s.store.UpdateWebhookDelivery(ctx, d, prev)
}

// track keeps the subscription's failing streak, writing only when it
// starts or ends, and disables a subscription whose delivery finally
// failed after WebhookDisableAfter of nothing but failures.
func (s *Integrations) track(ctx context.Context, sub *WebhookSubscription, ok, final bool, a WebhookAttempt) error {
	now := s.now()
	switch {
	case ok && sub.FailingSince == nil, !ok && sub.FailingSince != nil && !(final && now.Sub(*sub.FailingSince) >= s.disableAfter()):
		return nil
	}
	var disabled *WebhookSubscription
	_, err := s.modify(ctx, sub.WorkspaceID, sub.ID, func(cur *WebhookSubscription) error {
		disabled = nil
		switch {
		case ok:
			cur.FailingSince = nil
		case cur.FailingSince == nil:
			cur.FailingSince = &a.At
		case final && cur.Enabled && now.Sub(*cur.FailingSince) >= s.disableAfter():
			cur.Enabled = false
			cur.DisabledReason = "every delivery failed since " + cur.FailingSince.Format(time.RFC3339) + "; last: " + a.Error
			disabled = cur
		}
		cur.UpdatedAt = now
		return nil
	}, false)
	if IsKind(err, KindNotFound) {
		return nil
	}
	if err != nil || disabled == nil {
		return err
	}
	s.announceDisabled(ctx, disabled)
	return nil
}

// announceDisabled publishes webhook.disabled and emails the admins. Both
// are best effort: the subscription is disabled either way, and the API
// shows why.
func (s *Integrations) announceDisabled(ctx context.Context, sub *WebhookSubscription) {
	now := s.now()
	if s.events != nil {
		e := Event{ID: fmt.Sprintf("webhook.disabled:%s:%d", sub.ID, sub.Version), Seq: NewID(now), Type: EventWebhookDisabled,
			WorkspaceID: sub.WorkspaceID, OccurredAt: now, SubscriptionID: sub.ID, Body: sub.DisabledReason}
		if err := s.events.Publish(ctx, []Event{e}); err != nil {
			s.log().ErrorContext(ctx, "webhook.disabled not published", "subscription", sub.ID, "err", err)
		}
	}
	if s.email == nil {
		return
	}
	users, err := s.store.ListUsers(ctx, sub.WorkspaceID)
	if err != nil {
		s.log().ErrorContext(ctx, "admins not emailed: team not read", "subscription", sub.ID, "err", err)
		return
	}
	body := fmt.Sprintf("Parley disabled the webhook subscription %s (%s): %s.\n\n"+
		"Fix the endpoint, then enable the subscription again and replay what it missed (POST /integrations/webhooks/subscriptions/%s/replay).",
		sub.ID, sub.URL, sub.DisabledReason, sub.ID)
	for _, u := range users {
		if u.Role != RoleAdmin || u.Email == "" {
			continue
		}
		msg := &Message{ID: NewID(now), WorkspaceID: sub.WorkspaceID, Direction: DirectionOut, Kind: KindMessage, Channel: ChannelEmail,
			Body: body, Attachments: []Attachment{}, Recipient: u.Email, CreatedAt: now, UpdatedAt: now}
		if _, err := sendWithBackoff(ctx, s.email, Outbound{WorkspaceID: sub.WorkspaceID, Message: msg, To: u.Email, Subject: "A webhook subscription was disabled"}); err != nil {
			s.log().ErrorContext(ctx, "admin not emailed", "subscription", sub.ID, "user", u.ID, "err", err)
		}
	}
}
