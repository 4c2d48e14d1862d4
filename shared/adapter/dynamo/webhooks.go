package dynamo

import (
	"context"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/oklog/ulid/v2"

	"github.com/parley-inbox/parley/shared/inbox"
)

// Outbound webhooks:
//
//	WS#w                 WEBHOOK#s    subscription (the workspace's few, one Query)
//	WS#w#WEBHOOK#s       DLV#d        delivery, d a ULID of the event's time: newest first by key
//
// A delivery carries its payload, so retries and replays never re-read
// the event; it is kept webhookDeliveryRetention (table TTL).

const (
	prefixWebhook = "WEBHOOK#"
	prefixDLV     = "DLV#"
	// webhookDeliveryRetention keeps the log past the replay window and
	// the longest retry chain.
	webhookDeliveryRetention = 30 * 24 * time.Hour
)

func webhookDeliveriesPK(ws, sub string) string { return workspacePK(ws) + "#WEBHOOK#" + sub }

var _ inbox.WebhookStore = (*Store)(nil)

type webhookItem struct {
	PK string `json:"PK"`
	SK string `json:"SK"`
	inbox.WebhookSubscription
	// The secret is stored; the domain type hides the previous one from JSON.
	StoredSecret   string `json:"storedSecret"`
	PreviousSecret string `json:"previousSecret,omitempty"`
}

func (s *Store) PutWebhookSubscription(ctx context.Context, sub *inbox.WebhookSubscription) error {
	if !safeKeyPart(sub.WorkspaceID) || !safeKeyPart(sub.ID) {
		return inbox.Invalid("id", "bad webhook subscription key")
	}
	next := *sub
	next.Version++
	it := webhookItem{PK: workspacePK(sub.WorkspaceID), SK: prefixWebhook + sub.ID, WebhookSubscription: next,
		StoredSecret: sub.Secret, PreviousSecret: sub.PreviousSecret}
	it.Secret = ""
	item, err := marshal(it)
	if err != nil {
		return inbox.Internal(err)
	}
	if err := s.putVersioned(ctx, "PutWebhookSubscription", item, int64(sub.Version)); err != nil {
		return err
	}
	sub.Version = next.Version
	return nil
}

func (it *webhookItem) domain() *inbox.WebhookSubscription {
	sub := it.WebhookSubscription
	sub.Secret, sub.PreviousSecret = it.StoredSecret, it.PreviousSecret
	return &sub
}

func (s *Store) GetWebhookSubscription(ctx context.Context, ws, id string) (*inbox.WebhookSubscription, error) {
	if !safeKeyPart(ws) || !safeKeyPart(id) {
		return nil, notFound("webhook subscription", id)
	}
	var it webhookItem
	ok, err := s.getItem(ctx, "GetWebhookSubscription", key(workspacePK(ws), prefixWebhook+id), true, &it)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, notFound("webhook subscription", id)
	}
	return it.domain(), nil
}

// ListWebhookSubscriptions reads them all: at most
// inbox.MaxWebhookSubscriptions, so one page. Eventually consistent: the
// bus consumer reads it per event batch, at half the price.
func (s *Store) ListWebhookSubscriptions(ctx context.Context, ws string) ([]*inbox.WebhookSubscription, error) {
	if !safeKeyPart(ws) {
		return nil, nil
	}
	items, _, err := s.queryPrefix(ctx, "ListWebhookSubscriptions", "webhooks", workspacePK(ws), prefixWebhook, true,
		inbox.PageRequest{Limit: inbox.MaxWebhookSubscriptions * 2})
	if err != nil {
		return nil, err
	}
	out := make([]*inbox.WebhookSubscription, 0, len(items))
	for _, item := range items {
		var it webhookItem
		if err := unmarshal(item, &it); err != nil {
			return nil, inbox.Internal(err)
		}
		out = append(out, it.domain())
	}
	return out, nil
}

// DeleteWebhookSubscription removes the subscription; its deliveries
// expire with their TTL (a queued retry finds no subscription and fails).
func (s *Store) DeleteWebhookSubscription(ctx context.Context, sub *inbox.WebhookSubscription) error {
	out, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.table,
		Key: key(workspacePK(sub.WorkspaceID), prefixWebhook+sub.ID), ReturnConsumedCapacity: capacityMode(ctx)})
	if err != nil {
		return unavailable("DeleteWebhookSubscription", err)
	}
	record(ctx, writing, out.ConsumedCapacity)
	return nil
}

type webhookDeliveryItem struct {
	PK  string `json:"PK"`
	SK  string `json:"SK"`
	TTL int64  `json:"expiresAt"`
	inbox.WebhookDelivery
	// The fields the API does not show.
	Body      []byte `json:"body"`
	Retries   int    `json:"retries"`
	LeaseMs   int64  `json:"lease"`
	Replaying bool   `json:"replaying,omitempty"`
}

func deliveryItem(d *inbox.WebhookDelivery) webhookDeliveryItem {
	return webhookDeliveryItem{PK: webhookDeliveriesPK(d.WorkspaceID, d.SubscriptionID), SK: prefixDLV + d.ID,
		TTL: d.CreatedAt.Add(webhookDeliveryRetention).Unix(), WebhookDelivery: *d,
		Body: d.Payload, Retries: d.Retries, LeaseMs: d.Lease.UnixMilli(), Replaying: d.Replaying}
}

func (it *webhookDeliveryItem) domain() *inbox.WebhookDelivery {
	d := it.WebhookDelivery
	d.Payload, d.Retries, d.Replaying = it.Body, it.Retries, it.Replaying
	d.Lease = time.UnixMilli(it.LeaseMs).UTC()
	if d.Attempts == nil {
		d.Attempts = []inbox.WebhookAttempt{}
	}
	return &d
}

func leaseMs(t time.Time) int64 { return t.UnixMilli() }

func (s *Store) CreateWebhookDelivery(ctx context.Context, d *inbox.WebhookDelivery) (bool, error) {
	if !safeKeyPart(d.WorkspaceID) || !safeKeyPart(d.SubscriptionID) || !safeKeyPart(d.ID) {
		return false, inbox.Invalid("id", "bad webhook delivery key")
	}
	item, err := marshal(deliveryItem(d))
	if err != nil {
		return false, inbox.Internal(err)
	}
	err = s.putIf(ctx, "CreateWebhookDelivery", item, expression.AttributeNotExists(expression.Name(AttrPK)))
	if err == inbox.ErrVersionConflict {
		return false, nil
	}
	return err == nil, err
}

func (s *Store) GetWebhookDelivery(ctx context.Context, ws, sub, id string) (*inbox.WebhookDelivery, error) {
	if !safeKeyPart(ws) || !safeKeyPart(sub) || !safeKeyPart(id) {
		return nil, notFound("webhook delivery", id)
	}
	var it webhookDeliveryItem
	ok, err := s.getItem(ctx, "GetWebhookDelivery", key(webhookDeliveriesPK(ws, sub), prefixDLV+id), true, &it)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, notFound("webhook delivery", id)
	}
	return it.domain(), nil
}

// UpdateWebhookDelivery replaces the delivery if its lease is still the
// one its writer read or set.
func (s *Store) UpdateWebhookDelivery(ctx context.Context, d *inbox.WebhookDelivery, prevLease time.Time) error {
	item, err := marshal(deliveryItem(d))
	if err != nil {
		return inbox.Internal(err)
	}
	return s.putIf(ctx, "UpdateWebhookDelivery", item,
		expression.AttributeExists(expression.Name(AttrPK)).And(expression.Name("lease").Equal(expression.Value(leaseMs(prevLease)))))
}

// ListWebhookDeliveries is one Query, newest first; since bounds the
// keys from below (delivery ids are ULIDs of the event's time).
func (s *Store) ListWebhookDeliveries(ctx context.Context, ws, sub string, since time.Time, p inbox.PageRequest) (inbox.Page[*inbox.WebhookDelivery], error) {
	page := inbox.Page[*inbox.WebhookDelivery]{Items: []*inbox.WebhookDelivery{}}
	if !safeKeyPart(ws) || !safeKeyPart(sub) {
		return page, nil
	}
	pk := webhookDeliveriesPK(ws, sub)
	scope := "webhook-deliveries:" + sub
	start, err := s.cursors.decode(scope, pk, p.Cursor)
	if err != nil {
		return page, err
	}
	low := prefixDLV
	if !since.IsZero() {
		var zero ulid.ULID
		_ = zero.SetTime(ulid.Timestamp(since))
		low = prefixDLV + zero.String()
	}
	kc := expression.Key(AttrPK).Equal(expression.Value(pk)).And(expression.Key(AttrSK).Between(expression.Value(low), expression.Value(prefixDLV+"~")))
	expr, err := expression.NewBuilder().WithKeyCondition(kc).Build()
	if err != nil {
		return page, inbox.Internal(err)
	}
	limit := p.Limit
	if limit <= 0 {
		limit = inbox.DefaultPageSize
	}
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{TableName: &s.table, KeyConditionExpression: expr.KeyCondition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(), ScanIndexForward: aws.Bool(false),
		Limit: aws.Int32(int32(limit)), ExclusiveStartKey: start, ReturnConsumedCapacity: capacityMode(ctx)})
	if err != nil {
		return page, unavailable("ListWebhookDeliveries", err)
	}
	record(ctx, reading, out.ConsumedCapacity)
	for _, item := range out.Items {
		var it webhookDeliveryItem
		if err := unmarshal(item, &it); err != nil {
			return page, inbox.Internal(err)
		}
		if !strings.HasPrefix(it.SK, prefixDLV) {
			continue
		}
		page.Items = append(page.Items, it.domain())
	}
	page.NextCursor = s.cursors.encode(scope, out.LastEvaluatedKey)
	return page, nil
}
