package webhooks

import (
	"encoding/json"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/time/rate"

	"github.com/parley-inbox/parley/shared/auth"
	"github.com/parley-inbox/parley/shared/handler/problem"
	"github.com/parley-inbox/parley/shared/inbox"
)

// Chat serves Parley's web chat widget: public endpoints authenticated by
// a visitor token, which the widget keeps on the device.
type Chat struct {
	// Key signs visitor tokens.
	Key     []byte
	limiter limiter
}

func (c *Chat) routes(mux *http.ServeMux, h *Handler) {
	mux.HandleFunc("POST /chat/{workspaceId}/sessions", cors(h.chatSession))
	mux.HandleFunc("POST /chat/{workspaceId}/messages", cors(h.chatSend))
	mux.HandleFunc("GET /chat/{workspaceId}/messages", cors(h.chatHistory))
	mux.HandleFunc("POST /chat/{workspaceId}/heartbeat", cors(h.chatHeartbeat))
	mux.HandleFunc("POST /chat/{workspaceId}/email", cors(h.chatEmail))
	mux.HandleFunc("POST /chat/{workspaceId}/email/code", cors(h.chatEmailCode))
	mux.HandleFunc("POST /chat/{workspaceId}/email/verify", cors(h.chatEmailVerify))
	mux.HandleFunc("GET /chat/{workspaceId}/widget.js", cors(h.chatWidgetScript))
	mux.HandleFunc("GET /chat/{workspaceId}/widget", cors(h.chatWidgetSettings))
	mux.HandleFunc("OPTIONS /chat/{workspaceId}/{rest...}", cors(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
}

// cors lets the widget call from any site: visitor tokens travel in a
// header, never in cookies, so no origin gains anything it could not do
// itself. (In AWS, API Gateway answers preflights when the API's corsOrigins
// are set; list the widget's sites there, or "*".)
func cors(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
		w.Header().Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
		w.Header().Set("Access-Control-Max-Age", "3600")
		next(w, r)
	}
}

func (c *Chat) token(workspaceID, visitorID string) string {
	return auth.VisitorTokens{Key: c.Key}.Issue(workspaceID, visitorID)
}

var errVisitor = &inbox.Error{Kind: inbox.KindUnauthorized, Message: "missing or invalid visitor token; start a session"}

func (c *Chat) visitor(r *http.Request) (string, error) {
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return "", errVisitor
	}
	id, ok := auth.VisitorTokens{Key: c.Key}.Verify(r.PathValue("workspaceId"), raw)
	if !ok {
		return "", errVisitor
	}
	return inbox.Handle(inbox.ChannelWebchat, id), nil
}

// chatAccess checks the workspace has web chat, the caller's rate, and
// (for all but a new session) the visitor token.
func (h *Handler) chatAccess(r *http.Request, needVisitor bool) (string, error) {
	creds, err := h.credentials(r)
	if err != nil || !creds.WebChat {
		return "", errUnknown
	}
	if !h.Chat.limiter.allow(r.PathValue("workspaceId")+"|"+clientIP(r), needVisitor) {
		return "", &inbox.Error{Kind: problem.KindRateLimited, Message: "too many requests; slow down"}
	}
	if !needVisitor {
		return "", nil
	}
	return h.Chat.visitor(r)
}

func (h *Handler) chatSession(w http.ResponseWriter, r *http.Request) {
	if _, err := h.chatAccess(r, false); err != nil {
		h.fail(w, r, err)
		return
	}
	id := inbox.NewID(time.Now())
	writeJSON(w, http.StatusCreated, map[string]string{"visitorId": id, "token": h.Chat.token(r.PathValue("workspaceId"), id)})
}

// chatIdentity is an email a visitor left, and the site's signature of it
// when the site knows who they are.
type chatIdentity struct {
	Email          string `json:"email"`
	IdentifierHash string `json:"identifierHash,omitempty"`
}

func (h *Handler) chatSend(w http.ResponseWriter, r *http.Request) {
	handle, err := h.chatAccess(r, true)
	var in struct {
		Body string `json:"body"`
		// ClientMessageID makes a resend of the same message from a flaky
		// connection land once.
		ClientMessageID string `json:"clientMessageId"`
	}
	if err == nil {
		err = decodeChat(r, &in)
	}
	if err == nil && (strings.TrimSpace(in.Body) == "" || utf8.RuneCountInString(in.Body) > 5000) {
		err = inbox.Invalid("body", "a chat message is 1 to 5000 characters")
	}
	if err == nil && (len(in.ClientMessageID) > 64 || strings.ContainsAny(in.ClientMessageID, "#")) {
		err = inbox.Invalid("clientMessageId", "clientMessageId is at most 64 characters")
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	providerID := in.ClientMessageID
	if providerID == "" {
		providerID = inbox.NewID(time.Now())
	}
	res, err := h.Intake.Ingest(r.Context(), inbox.Inbound{
		WorkspaceID: r.PathValue("workspaceId"), Channel: inbox.ChannelWebchat, Kind: inbox.KindMessage,
		ProviderID: strings.TrimPrefix(handle, "webchat:") + ":" + providerID,
		From:       inbox.Correspondent{Handle: handle}, Body: in.Body,
	})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, visitorMessage(res.Message))
}

func (h *Handler) chatHistory(w http.ResponseWriter, r *http.Request) {
	handle, err := h.chatAccess(r, true)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := inbox.PageRequest{Cursor: r.URL.Query().Get("cursor")}
	if s := r.URL.Query().Get("limit"); s != "" {
		if p.Limit, err = strconv.Atoi(s); err != nil {
			h.fail(w, r, inbox.Invalid("limit", "limit must be a number"))
			return
		}
	}
	page, err := h.WebChat.VisitorHistory(r.Context(), r.PathValue("workspaceId"), handle, p)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	items := make([]inbox.VisitorMessage, 0, len(page.Items))
	for _, m := range page.Items {
		items = append(items, visitorMessage(m))
	}
	// The API's one list shape: no nextCursor on the last page.
	writeJSON(w, http.StatusOK, struct {
		Items      []inbox.VisitorMessage `json:"items"`
		NextCursor string                 `json:"nextCursor,omitempty"`
	}{items, page.NextCursor})
}

func (h *Handler) chatHeartbeat(w http.ResponseWriter, r *http.Request) {
	handle, err := h.chatAccess(r, true)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	until, err := h.WebChat.Heartbeat(r.Context(), r.PathValue("workspaceId"), handle)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"onlineUntil": until})
}

// chatEmail takes an address the visitor left. With the site's identity
// hash it is proved and the visitor joins its contact; without, it is only
// a claim the agents see, until the visitor proves it by an emailed code.
func (h *Handler) chatEmail(w http.ResponseWriter, r *http.Request) {
	handle, err := h.chatAccess(r, true)
	var in chatIdentity
	if err == nil {
		err = decodeChat(r, &in)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ws := r.PathValue("workspaceId")
	if in.IdentifierHash != "" {
		var c *inbox.Contact
		if c, err = h.WebChat.IdentifyVisitor(r.Context(), ws, handle, in.Email, in.IdentifierHash); err == nil {
			addr, _ := inbox.NormalizeEmail("email", in.Email)
			writeJSON(w, http.StatusOK, chatEmailResult{Email: addr, Verified: slices.Contains(c.Emails, addr)})
			return
		}
	} else {
		var claim *inbox.EmailClaim
		if claim, err = h.WebChat.ClaimEmail(r.Context(), ws, handle, in.Email); err == nil {
			writeJSON(w, http.StatusOK, chatEmailResult{Email: claim.Address, Verified: claim.Verified})
			return
		}
	}
	h.fail(w, r, err)
}

type chatEmailResult struct {
	Email    string `json:"email"`
	Verified bool   `json:"verified"`
}

// chatEmailCode emails the visitor a one-time code for the address.
func (h *Handler) chatEmailCode(w http.ResponseWriter, r *http.Request) {
	handle, err := h.chatAccess(r, true)
	var in struct {
		Email string `json:"email"`
	}
	if err == nil {
		err = decodeChat(r, &in)
	}
	var claim *inbox.EmailClaim
	if err == nil {
		claim, err = h.WebChat.SendEmailCode(r.Context(), r.PathValue("workspaceId"), handle, in.Email)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, chatEmailResult{Email: claim.Address, Verified: claim.Verified})
}

// chatEmailVerify checks the code the visitor typed.
func (h *Handler) chatEmailVerify(w http.ResponseWriter, r *http.Request) {
	handle, err := h.chatAccess(r, true)
	var in struct {
		Email string `json:"email"`
		Code  string `json:"code"`
	}
	if err == nil {
		err = decodeChat(r, &in)
	}
	if err == nil {
		_, err = h.WebChat.VerifyEmailCode(r.Context(), r.PathValue("workspaceId"), handle, in.Email, in.Code)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	addr, _ := inbox.NormalizeEmail("email", in.Email)
	writeJSON(w, http.StatusOK, chatEmailResult{Email: addr, Verified: true})
}

// visitorMessage is what the widget shows: no authors, statuses or ids of
// anything internal.
func visitorMessage(m *inbox.Message) inbox.VisitorMessage { return m.ForVisitor() }

func decodeChat(r *http.Request, v any) error {
	body, err := readBody(r, maxChatBody)
	if err != nil {
		return err
	}
	return decodeChatBody(body, v)
}

func decodeChatBody(body []byte, v any) error {
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return inbox.JSONProblem(err, "")
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// clientIP is the caller's address: API Gateway's source IP reaches the
// request as RemoteAddr through the Lambda adapter.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// limiter rate-limits per workspace and client address, in this process.
// The HTTP API's route throttling caps the total in front of it.
type limiter struct {
	mu      sync.Mutex
	buckets map[string]*rate.Limiter
}

// Each address may start 10 sessions a minute and make 2 other calls a
// second, with bursts for a page load.
var (
	sessionRate = rate.Every(6 * time.Second)
	visitorRate = rate.Limit(2)
)

func (l *limiter) allow(key string, visitor bool) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buckets == nil || len(l.buckets) > 50_000 {
		l.buckets = map[string]*rate.Limiter{} // bounded memory; a reset only forgives
	}
	if !visitor {
		key = "session|" + key
	}
	b, ok := l.buckets[key]
	if !ok {
		b = rate.NewLimiter(visitorRate, 20)
		if !visitor {
			b = rate.NewLimiter(sessionRate, 10)
		}
		l.buckets[key] = b
	}
	return b.Allow()
}
