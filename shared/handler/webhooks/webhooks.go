// Package webhooks receives providers' webhooks on public routes of the
// HTTP API: each is authenticated by its provider's signature (there is no
// JWT), bounded in size, parsed by the provider's adapter, and filed through
// inbox.Service exactly once.
package webhooks

import (
	"errors"
	"io"
	"log/slog"
	"net/http"

	"github.com/parley-inbox/parley/shared/config/providers"
	"github.com/parley-inbox/parley/shared/handler/problem"
	"github.com/parley-inbox/parley/shared/inbox"
)

// Body size limits per provider; a bigger body is refused with 413 before
// it is parsed.
const (
	maxTwilioBody = 64 << 10
	maxMetaBody   = 1 << 20
	maxSNSBody    = 256 << 10
	maxChatBody   = 16 << 10
)

var (
	errUnknown   = &inbox.Error{Kind: inbox.KindNotFound, Message: "not found"}
	errSignature = &inbox.Error{Kind: inbox.KindForbidden, Message: "the request signature is missing or invalid"}
	errTooLarge  = &inbox.Error{Kind: problem.KindTooLarge, Message: "the request body is too large"}
)

// readBody reads at most limit bytes, or fails with 413.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, inbox.Invalid("", "could not read the request body")
	}
	if int64(len(body)) > limit {
		return nil, errTooLarge
	}
	return body, nil
}

// fail answers err as a problem; refusals (4xx) are logged too, as a
// provider that keeps failing a signature check is worth seeing. These
// public routes' problems name no field: providers and the widget branch on
// code alone.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	if status := problem.Status(err); status < 500 {
		h.Log.InfoContext(r.Context(), "webhook refused", "path", r.URL.Path, "status", status, "err", err)
	}
	var e *inbox.Error
	if errors.As(err, &e) && e.Field != "" {
		unnamed := *e
		unnamed.Field = ""
		err = &unnamed
	}
	problem.Write(w, r, h.Log, err)
}

// Handler serves the webhook and web chat routes (Routes) or inbound
// email (MailRoutes).
type Handler struct {
	Intake *inbox.Intake
	// WebChat serves the chat routes; nil in functions/mail.
	WebChat     *inbox.WebChat
	Credentials providers.Set
	// PublicURL is the API's public base URL (scheme and host), which
	// providers sign; the Host header of a proxied request is not it.
	PublicURL string
	// PathToken, when set, is the secret first segment of every /webhooks/
	// path (see pathtoken.go).
	PathToken string
	// Email is functions/mail's only; nil in functions/webhooks.
	Email *EmailIntake
	Chat  *Chat
	// Events receives external events (orders, carts, lists, payments) for the bus.
	Events inbox.EventPublisher
	// Payments keeps payment requests, which Stripe's webhook marks paid.
	Payments inbox.PaymentStore
	// WebSocketURL is where the chat widget connects (the WebSocket API's
	// wss:// URL); empty derives ws://<request host>/live, as served locally.
	WebSocketURL string
	Log          *slog.Logger
	mux          *http.ServeMux
}

// Settings are the webhook routes' fixed values.
type Settings struct {
	Credentials providers.Set
	// PublicURL, PathToken and WebSocketURL: see Handler.
	PublicURL, PathToken, WebSocketURL string
}

// New builds functions/webhooks' handler: intake on store, web chat email
// codes sent with email, external events published to events and web chat
// tokens signed by chat. Inbound email is functions/mail's (NewMail).
func New(store inbox.Store, email inbox.ChannelSender, events inbox.EventPublisher, chat *Chat, s Settings, log *slog.Logger) *Handler {
	// The table's store keeps payment requests too; a test's may not.
	payments, _ := store.(inbox.PaymentStore)
	return &Handler{Payments: payments, Intake: inbox.NewIntake(store, inbox.SystemClock{}), WebChat: inbox.NewWebChat(store, inbox.SystemClock{}, email),
		Credentials: s.Credentials, PublicURL: s.PublicURL, PathToken: s.PathToken, WebSocketURL: s.WebSocketURL, Chat: chat, Events: events, Log: log}
}

// NewMail builds functions/mail's handler: SES inbound mail, read by mail
// and filed on store.
func NewMail(store inbox.Store, mail *EmailIntake, s Settings, log *slog.Logger) *Handler {
	return &Handler{Intake: inbox.NewIntake(store, inbox.SystemClock{}), Credentials: s.Credentials,
		PublicURL: s.PublicURL, PathToken: s.PathToken, Email: mail, Log: log}
}

// Routes builds functions/webhooks' routes: every public route but
// inbound email (MailRoutes); call once before serving. It must not name
// the email route, so the linker leaves the MIME parser and S3 out of
// functions/webhooks.
func (h *Handler) Routes() http.Handler {
	h.mux = http.NewServeMux()
	h.mux.HandleFunc("POST /webhooks/{workspaceId}/twilio/messages", h.twilioMessages)
	h.mux.HandleFunc("POST /webhooks/{workspaceId}/twilio/status", h.twilioStatus)
	h.mux.HandleFunc("POST /webhooks/{workspaceId}/twilio/calls", h.twilioCalls)
	h.mux.HandleFunc("GET /webhooks/{workspaceId}/meta", h.metaVerify)
	h.mux.HandleFunc("POST /webhooks/{workspaceId}/meta", h.metaEvents)
	h.mux.HandleFunc("POST /webhooks/{workspaceId}/events", h.externalEvent)
	h.mux.HandleFunc("POST /webhooks/{workspaceId}/stripe", h.stripeEvents)
	if h.Chat != nil {
		h.Chat.routes(h.mux, h)
	}
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { h.fail(w, r, errUnknown) })
	if h.PathToken != "" {
		return h.requirePathToken(h.mux)
	}
	return h.mux
}

// credentials finds a workspace's secrets; unknown workspaces get the same
// 404 as unknown paths, so a probe learns nothing.
func (h *Handler) credentials(r *http.Request) (providers.Credentials, error) {
	c, ok := h.Credentials[r.PathValue("workspaceId")]
	if !ok {
		return providers.Credentials{}, errUnknown
	}
	return c, nil
}

// MailRoutes builds functions/mail's one route, SES inbound mail through
// SNS, with the webhook routes' path token and 404 for anything else.
// API Gateway routes POST .../{workspaceId}/email here by its route key.
func (h *Handler) MailRoutes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /webhooks/{workspaceId}/email", h.email)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { h.fail(w, r, errUnknown) })
	if h.PathToken != "" {
		return h.requirePathToken(mux)
	}
	return mux
}
