package webhooks

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/parley-inbox/parley/shared/handler/problem"
	"github.com/parley-inbox/parley/shared/handler/webhooks/widget"
	"github.com/parley-inbox/parley/shared/inbox"
)

// The widget's two public routes: the script a site embeds and the
// workspace's public settings it reads. Neither takes a visitor token.

// chatWidgetScript serves widget.js. It is the same for every workspace,
// but a workspace without web chat gets 404, as on the other chat routes,
// so a site learns at once that its tag names the wrong workspace.
func (h *Handler) chatWidgetScript(w http.ResponseWriter, r *http.Request) {
	if creds, err := h.credentials(r); err != nil || !creds.WebChat {
		h.fail(w, r, errUnknown)
		return
	}
	a := widget.Served()
	body, etag := a.Script, a.ETag
	if acceptsGzip(r) {
		body, etag = a.Gzipped, a.GzipETag
		w.Header().Set("Content-Encoding", "gzip")
	}
	hdr := w.Header()
	hdr.Set("Cache-Control", "public, max-age=300")
	hdr.Set("ETag", etag)
	hdr.Set("Vary", "Accept-Encoding")
	if etagMatch(r.Header.Get("If-None-Match"), a.ETag, a.GzipETag) {
		hdr.Del("Content-Encoding")
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hdr.Set("Content-Type", "text/javascript; charset=utf-8")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// acceptsGzip reports whether the request's Accept-Encoding allows gzip
// (a q=0 refuses it).
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
			return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
		}
	}
	return false
}

// etagMatch is If-None-Match's weak comparison against any of tags.
func etagMatch(header string, tags ...string) bool {
	for _, candidate := range strings.Split(header, ",") {
		candidate = strings.TrimPrefix(strings.TrimSpace(candidate), "W/")
		if candidate == "*" {
			return true
		}
		for _, tag := range tags {
			if candidate != "" && candidate == tag {
				return true
			}
		}
	}
	return false
}

// chatWidget is what the widget shows before the visitor writes: only
// public fields, never the identity secret.
type chatWidget struct {
	Title        string `json:"title"`
	Greeting     string `json:"greeting"`
	Color        string `json:"color"`
	WebSocketURL string `json:"webSocketUrl"`
	EmailCapture bool   `json:"emailCapture"`
}

func (h *Handler) chatWidgetSettings(w http.ResponseWriter, r *http.Request) {
	creds, err := h.credentials(r)
	if err != nil || !creds.WebChat {
		h.fail(w, r, errUnknown)
		return
	}
	if !h.Chat.limiter.allow(r.PathValue("workspaceId")+"|"+clientIP(r), true) {
		h.fail(w, r, &inbox.Error{Kind: problem.KindRateLimited, Message: "too many requests; slow down"})
		return
	}
	s, err := h.WebChat.Widget(r.Context(), r.PathValue("workspaceId"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	// A minute of staleness, as the settings cache behind it has.
	w.Header().Set("Cache-Control", "public, max-age=60")
	writeJSON(w, http.StatusOK, chatWidget{Title: s.Title, Greeting: s.Greeting, Color: s.Color,
		WebSocketURL: h.webSocketURL(r), EmailCapture: true})
}

// webSocketURL is where the widget connects: the WebSocket API's URL in
// AWS; locally the same server's /live, on the host the request came to.
func (h *Handler) webSocketURL(r *http.Request) string {
	if h.WebSocketURL != "" {
		return h.WebSocketURL
	}
	scheme := "ws"
	if r.TLS != nil {
		scheme = "wss"
	}
	return scheme + "://" + r.Host + "/live"
}
