package inbox

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// PaymentStatus is where a payment request stands: requested until the
// provider's webhook says paid or an agent cancels it.
type PaymentStatus string

const (
	PaymentRequested PaymentStatus = "requested"
	PaymentPaid      PaymentStatus = "paid"
	PaymentCanceled  PaymentStatus = "canceled"
)

// PaymentRequest is an amount an agent asked a contact to pay, through a
// payment link sent as a message in their conversation.
type PaymentRequest struct {
	ID             string `json:"id"`
	WorkspaceID    string `json:"workspaceId"`
	ConversationID string `json:"conversationId"`
	ContactID      string `json:"contactId"`
	// Amount is in the currency's minor unit (cents; yen for jpy).
	Amount      int64         `json:"amount"`
	Currency    string        `json:"currency"`
	Description string        `json:"description"`
	Status      PaymentStatus `json:"status"`
	URL         string        `json:"url"`
	// ProviderID is the payment link's id at the provider (Stripe: plink_…).
	ProviderID string `json:"providerId"`
	// MessageID is the message that carried the link to the contact.
	MessageID string `json:"messageId"`
	// CheckoutID is the provider's record of the payment (Stripe: cs_…).
	CheckoutID string     `json:"checkoutId,omitempty"`
	CreatedBy  string     `json:"createdBy"`
	CreatedAt  time.Time  `json:"createdAt"`
	UpdatedAt  time.Time  `json:"updatedAt"`
	PaidAt     *time.Time `json:"paidAt,omitempty"`
	CanceledAt *time.Time `json:"canceledAt,omitempty"`
}

// PaymentInput is what an agent asks for.
type PaymentInput struct {
	Amount      int64  `json:"amount"`
	Currency    string `json:"currency"`
	Description string `json:"description"`
	// Channel sends the link on a channel other than the thread's default.
	Channel Channel `json:"channel,omitempty"`
}

// PaymentLink is what a provider needs to make a link for a request.
type PaymentLink struct {
	RequestID      string
	WorkspaceID    string
	ConversationID string
	Amount         int64
	Currency       string
	Description    string
	// IdempotencyKey, when set, makes a retried creation return the same link.
	IdempotencyKey string
}

// PaymentProvider makes and retires payment links (Stripe in production).
type PaymentProvider interface {
	CreateLink(ctx context.Context, workspaceID string, l PaymentLink) (id, url string, err error)
	DeactivateLink(ctx context.Context, workspaceID, id string) error
}

// PaymentStore keeps payment requests, in their conversation.
type PaymentStore interface {
	// CreatePaymentRequest stores a new request; an existing id is KindConflict.
	CreatePaymentRequest(ctx context.Context, p *PaymentRequest) error
	GetPaymentRequest(ctx context.Context, workspaceID, conversationID, id string) (*PaymentRequest, error)
	// UpdatePaymentRequest stores p if its stored status is still prev;
	// otherwise ErrVersionConflict.
	UpdatePaymentRequest(ctx context.Context, p *PaymentRequest, prev PaymentStatus) error
	// ListPaymentRequests pages through a conversation's requests, newest first.
	ListPaymentRequests(ctx context.Context, workspaceID, conversationID string, p PageRequest) (Page[*PaymentRequest], error)
}

// Payment bounds. Stripe takes at most 8 digits of minor units.
const (
	MaxPaymentAmount         = 99_999_999
	maxPaymentDescriptionLen = 250
)

// paymentCurrencies are the currencies Parley requests payments in, with
// the number of decimals of their minor unit as Stripe counts them. The
// three-decimal currencies and those Stripe treats specially (huf, isk,
// twd, ugx) are left out, so an amount always means what the agent typed.
var paymentCurrencies = map[string]int{
	"usd": 2, "eur": 2, "gbp": 2, "cad": 2, "aud": 2, "nzd": 2, "chf": 2, "sek": 2, "nok": 2, "dkk": 2,
	"pln": 2, "czk": 2, "mxn": 2, "brl": 2, "sgd": 2, "hkd": 2, "inr": 2, "zar": 2, "ils": 2, "aed": 2,
	"jpy": 0, "krw": 0, "clp": 0, "vnd": 0,
}

var currencySymbols = map[string]string{"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥", "inr": "₹", "krw": "₩"}

// FormatAmount shows an amount as people read it: "$12.00", "¥1200",
// "12.00 CHF".
func FormatAmount(amount int64, currency string) string {
	decimals := paymentCurrencies[currency]
	sign := ""
	if amount < 0 {
		sign, amount = "-", -amount
	}
	n := fmt.Sprint(amount)
	if decimals > 0 {
		for len(n) <= decimals {
			n = "0" + n
		}
		n = n[:len(n)-decimals] + "." + n[len(n)-decimals:]
	}
	if sym, ok := currencySymbols[currency]; ok {
		return sign + sym + n
	}
	return sign + n + " " + strings.ToUpper(currency)
}

// validate normalises and checks a payment request's input.
func (in *PaymentInput) validate() error {
	in.Currency = strings.ToLower(strings.TrimSpace(in.Currency))
	if _, ok := paymentCurrencies[in.Currency]; !ok {
		return Invalid("currency", "currency %q is not supported; use an ISO 4217 code such as usd, eur, gbp, cad, aud or jpy", in.Currency)
	}
	if in.Amount <= 0 || in.Amount > MaxPaymentAmount {
		return Invalid("amount", "amount must be from 1 to %d, in the currency's minor unit (cents)", MaxPaymentAmount)
	}
	in.Description = strings.TrimSpace(in.Description)
	if in.Description == "" || utf8.RuneCountInString(in.Description) > maxPaymentDescriptionLen || !utf8.ValidString(in.Description) {
		return Invalid("description", "description is required, at most %d characters: what the payment is for", maxPaymentDescriptionLen)
	}
	if strings.ContainsAny(in.Description, "\r\n") {
		return Invalid("description", "description is one line")
	}
	return nil
}

// PaymentReceived is a provider's word that a payment link was paid.
type PaymentReceived struct {
	WorkspaceID    string
	ConversationID string
	RequestID      string
	// LinkID and CheckoutID are the provider's ids of the link and the payment.
	LinkID     string
	CheckoutID string
	Amount     int64
	Currency   string
	PaidAt     time.Time
}
