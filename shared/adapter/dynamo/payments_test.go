package dynamo_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-inbox/parley/shared/inbox"
)

// fakeLinks is a payment provider that records what it was asked.
type fakeLinks struct {
	mu          sync.Mutex
	created     []inbox.PaymentLink
	deactivated []string
	fail        error
	// onCreate runs as a link is made: the world changing meanwhile.
	onCreate func()
}

func (f *fakeLinks) CreateLink(_ context.Context, _ string, l inbox.PaymentLink) (string, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return "", "", f.fail
	}
	f.created = append(f.created, l)
	if f.onCreate != nil {
		f.onCreate()
	}
	id := "plink_" + l.RequestID
	return id, "https://buy.stripe.com/test/" + id, nil
}

func (f *fakeLinks) DeactivateLink(_ context.Context, _ string, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deactivated = append(f.deactivated, id)
	return nil
}

func TestPaymentRequests(t *testing.T) {
	svc, store, actor := newService(t)
	ctx := context.Background()
	links := &fakeLinks{}
	payments := inbox.NewPayments(svc.Desk, store, links)
	conv, _, err := svc.StartConversation(ctx, actor, inbox.StartInput{Phone: "+14155550171", Name: "Jo"})
	if err != nil {
		t.Fatal(err)
	}

	// A request makes a link naming it and sends it as an SMS.
	p, err := payments.Request(ctx, actor, conv.ID, inbox.PaymentInput{Amount: 1200, Currency: " USD ", Description: "Order #1042"}, "key-1")
	if err != nil {
		t.Fatal(err)
	}
	l := links.created[0]
	if l.RequestID != p.ID || l.WorkspaceID != actor.WorkspaceID || l.ConversationID != conv.ID || l.Amount != 1200 || l.Currency != "usd" || !strings.HasPrefix(l.IdempotencyKey, "parley-") {
		t.Errorf("link asked for = %+v, want the request's", l)
	}
	m, err := store.GetMessage(ctx, actor.WorkspaceID, conv.ID, p.MessageID)
	if err != nil || m.Channel != inbox.ChannelSMS || m.Status != inbox.MessageQueued || m.Body != "Order #1042: $12.00. Pay here: "+p.URL {
		t.Fatalf("link message = %+v, %v", m, err)
	}

	// Refused before anything is made: bad amounts, currencies, descriptions.
	for _, bad := range []inbox.PaymentInput{{Amount: 0, Currency: "usd", Description: "x"}, {Amount: -5, Currency: "usd", Description: "x"},
		{Amount: 1, Currency: "xyz", Description: "x"}, {Amount: inbox.MaxPaymentAmount + 1, Currency: "usd", Description: "x"},
		{Amount: 1, Currency: "usd", Description: " "}, {Amount: 1, Currency: "usd", Description: "two\nlines"}} {
		if _, err := payments.Request(ctx, actor, conv.ID, bad, ""); !inbox.IsKind(err, inbox.KindInvalid) {
			t.Errorf("Request(%+v) = %v, want invalid", bad, err)
		}
	}
	// A message the channel refuses (the contact has no email) makes no link.
	if _, err := payments.Request(ctx, actor, conv.ID, inbox.PaymentInput{Amount: 500, Currency: "eur", Description: "Deposit", Channel: inbox.ChannelEmail}, ""); !inbox.IsKind(err, inbox.KindInvalid) {
		t.Fatalf("a request on a channel the contact lacks = %v, want invalid", err)
	}
	if len(links.created) != 1 {
		t.Errorf("links made: %d, want none for the refused request", len(links.created))
	}
	// Refused only once the link exists (the contact lost the address
	// meanwhile): the link is deactivated and nothing is stored.
	lee, _, err := svc.StartConversation(ctx, actor, inbox.StartInput{Phone: "+14155550172", Name: "Lee"})
	if err != nil {
		t.Fatal(err)
	}
	links.onCreate = func() {
		if _, err := svc.UpdateContact(ctx, actor, lee.ContactID, inbox.ContactPatch{Phones: &[]string{}}); err != nil {
			t.Error(err)
		}
	}
	if _, err := payments.Request(ctx, actor, lee.ID, inbox.PaymentInput{Amount: 500, Currency: "eur", Description: "Deposit"}, ""); !inbox.IsKind(err, inbox.KindInvalid) {
		t.Fatalf("a request refused after its link was made = %v, want invalid", err)
	}
	links.onCreate = nil
	if len(links.created) != 2 || len(links.deactivated) != 1 || links.deactivated[0] != "plink_"+links.created[1].RequestID {
		t.Errorf("links made %d, deactivated %v; want the refused one's link deactivated", len(links.created), links.deactivated)
	}
	if page, err := payments.ListRequests(ctx, actor, lee.ID, inbox.PageRequest{}); err != nil || len(page.Items) != 0 {
		t.Errorf("the refused request was stored: %+v, %v", page.Items, err)
	}
	// The provider failing stores nothing either.
	links.fail = &inbox.Error{Kind: inbox.KindUnavailable, Message: "Stripe is unavailable; retry"}
	if _, err := payments.Request(ctx, actor, conv.ID, inbox.PaymentInput{Amount: 500, Currency: "eur", Description: "Deposit"}, ""); !inbox.IsKind(err, inbox.KindUnavailable) {
		t.Errorf("provider down: %v, want unavailable", err)
	}
	links.fail = nil
	page, err := payments.ListRequests(ctx, actor, conv.ID, inbox.PageRequest{})
	if err != nil || len(page.Items) != 1 || page.Items[0].ID != p.ID {
		t.Fatalf("list = %+v, %v; want only the sent request", page.Items, err)
	}

	// Paid, delivered five times at once: one transition, one activity,
	// the same order.placed every time.
	paidAt := time.Now().UTC().Truncate(time.Second)
	in := inbox.PaymentReceived{WorkspaceID: actor.WorkspaceID, ConversationID: conv.ID, RequestID: p.ID, LinkID: p.ProviderID,
		CheckoutID: "cs_test_1", Amount: 1200, Currency: "usd", PaidAt: paidAt}
	var wg sync.WaitGroup
	events := make([]inbox.Event, 5)
	errs := make([]error, 5)
	for i := range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			events[i], errs[i] = svc.RecordPayment(ctx, store, in)
		}()
	}
	wg.Wait()
	for i := range 5 {
		if errs[i] != nil || events[i].ID != events[0].ID {
			t.Fatalf("delivery %d: %+v, %v; want the same event", i, events[i], errs[i])
		}
	}
	e := events[0]
	if e.Type != inbox.EventOrderPlaced || e.ContactID != conv.ContactID || e.ConversationID != conv.ID || e.Reference != p.ID ||
		e.Amount != 1200 || e.Currency != "usd" || !e.OccurredAt.Equal(paidAt) {
		t.Errorf("event = %+v", e)
	}
	got, err := payments.GetRequest(ctx, actor, conv.ID, p.ID)
	if err != nil || got.Status != inbox.PaymentPaid || !got.PaidAt.Equal(paidAt) || got.CheckoutID != "cs_test_1" {
		t.Fatalf("paid request = %+v, %v", got, err)
	}
	if n := countActivities(t, svc.Store, actor, conv.ID, "Payment of $12.00 received"); n != 1 {
		t.Errorf("%d payment activities, want 1", n)
	}
	// Another link's payment, or a request that is not there, records nothing.
	other := in
	other.LinkID = "plink_other"
	if _, err := svc.RecordPayment(ctx, store, other); !inbox.IsKind(err, inbox.KindInvalid) {
		t.Errorf("another link's payment: %v, want invalid", err)
	}
	other = in
	other.RequestID = inbox.NewID(time.Now())
	if _, err := svc.RecordPayment(ctx, store, other); !inbox.IsKind(err, inbox.KindNotFound) {
		t.Errorf("an unknown request: %v, want not found", err)
	}
	// Paid cannot be canceled.
	if _, err := payments.CancelRequest(ctx, actor, conv.ID, p.ID); !inbox.IsKind(err, inbox.KindConflict) {
		t.Errorf("cancel a paid request: %v, want conflict", err)
	}

	// Cancel: the link is deactivated, an activity noted, twice is once.
	q, err := payments.Request(ctx, actor, conv.ID, inbox.PaymentInput{Amount: 1500, Currency: "jpy", Description: "Deposit"}, "")
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		c, err := payments.CancelRequest(ctx, actor, conv.ID, q.ID)
		if err != nil || c.Status != inbox.PaymentCanceled || c.CanceledAt == nil {
			t.Fatalf("cancel = %+v, %v", c, err)
		}
	}
	if n := len(links.deactivated); n != 2 || links.deactivated[1] != q.ProviderID {
		t.Errorf("deactivated %v, want %s once more", links.deactivated, q.ProviderID)
	}
	if n := countActivities(t, svc.Store, actor, conv.ID, "Payment request for ¥1500 (Deposit) canceled"); n != 1 {
		t.Errorf("%d cancel activities, want 1", n)
	}
	// Another workspace reaches none of it.
	intruder := inbox.Actor{WorkspaceID: inbox.NewID(time.Now()), UserID: "x", Role: inbox.RoleAdmin}
	if _, err := payments.GetRequest(ctx, intruder, conv.ID, p.ID); !inbox.IsKind(err, inbox.KindNotFound) {
		t.Errorf("another workspace's get: %v, want not found", err)
	}
	if _, err := payments.ListRequests(ctx, intruder, conv.ID, inbox.PageRequest{}); !inbox.IsKind(err, inbox.KindNotFound) {
		t.Errorf("another workspace's list: %v, want not found", err)
	}
	// Deleting the thread deletes its requests.
	if err := store.DeleteConversation(ctx, conv); err != nil {
		t.Fatal(err)
	}
	if _, err := store.GetPaymentRequest(ctx, actor.WorkspaceID, conv.ID, p.ID); !inbox.IsKind(err, inbox.KindNotFound) {
		t.Errorf("a deleted thread's request: %v, want not found", err)
	}
}

func countActivities(t *testing.T, store inbox.Store, actor inbox.Actor, convID, prefix string) int {
	t.Helper()
	page, err := store.ListMessages(context.Background(), actor.WorkspaceID, convID, inbox.PageRequest{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range page.Items {
		if m.Kind == inbox.KindActivity && strings.HasPrefix(m.Body, prefix) {
			n++
		}
	}
	return n
}
