package webhooks_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/parley-inbox/parley/shared/config/providers"
	"github.com/parley-inbox/parley/shared/handler/webhooks"
	"github.com/parley-inbox/parley/shared/handler/webhooks/widget"
	"github.com/parley-inbox/parley/shared/inbox"
)

// settingsStore answers WorkspaceSettings; any other Store method panics
// (the embedded interface is nil): the widget's routes need nothing else.
type settingsStore struct {
	inbox.Store
	settings map[string]inbox.WorkspaceSettings
	reads    int
}

func (s *settingsStore) WorkspaceSettings(_ context.Context, ws string) (inbox.WorkspaceSettings, error) {
	s.reads++
	set, ok := s.settings[ws]
	if !ok {
		return set, inbox.Errorf(inbox.KindNotFound, "workspace %q not found", ws)
	}
	return set, nil
}

const secret = "a-very-secret-identity-key-0123456789abcdef"

func widgetHandler(t *testing.T, wsURL string) (http.Handler, *settingsStore) {
	t.Helper()
	store := &settingsStore{settings: map[string]inbox.WorkspaceSettings{
		"acme": {WebChatIdentitySecret: secret, Widget: &inbox.WidgetSettings{Title: "Acme help", Color: "#ff8800"}},
		"bare": {},
		"off":  {},
	}}
	creds := providers.Set{"acme": {WebChat: true}, "bare": {WebChat: true}, "norecord": {WebChat: true}, "off": {}}
	h := webhooks.New(store, nil, nil, &webhooks.Chat{Key: []byte("k")},
		webhooks.Settings{Credentials: creds, PublicURL: "https://api.example", WebSocketURL: wsURL}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	return h.Routes(), store
}

func serve(h http.Handler, method, target string, hdr ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, nil)
	r.RemoteAddr = "192.0.2.10:5555"
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestWidgetScript(t *testing.T) {
	h, store := widgetHandler(t, "")
	a := widget.Served()

	w := serve(h, "GET", "/chat/acme/widget.js", "Origin", "https://shop.example")
	if w.Code != http.StatusOK || !bytes.Equal(w.Body.Bytes(), a.Script) {
		t.Fatalf("GET widget.js = %d, %d bytes; want 200 and the script", w.Code, w.Body.Len())
	}
	for name, want := range map[string]string{
		"Content-Type":                "text/javascript; charset=utf-8",
		"Cache-Control":               "public, max-age=300",
		"ETag":                        a.ETag,
		"Access-Control-Allow-Origin": "*",
		"X-Content-Type-Options":      "nosniff",
		"Vary":                        "Accept-Encoding",
		"Content-Encoding":            "",
	} {
		if got := w.Header().Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if store.reads != 0 {
		t.Errorf("serving the script read the workspace %d times; it is static", store.reads)
	}

	// Gzipped for clients that take it, with its own ETag.
	w = serve(h, "GET", "/chat/acme/widget.js", "Accept-Encoding", "br, gzip;q=0.8")
	if w.Code != http.StatusOK || w.Header().Get("Content-Encoding") != "gzip" || w.Header().Get("ETag") != a.GzipETag {
		t.Fatalf("gzip: %d, Content-Encoding %q, ETag %q", w.Code, w.Header().Get("Content-Encoding"), w.Header().Get("ETag"))
	}
	zr, err := gzip.NewReader(w.Body)
	if err != nil {
		t.Fatal(err)
	}
	if plain, err := io.ReadAll(zr); err != nil || !bytes.Equal(plain, a.Script) {
		t.Errorf("the gzipped body is not the script (%v)", err)
	}
	if w = serve(h, "GET", "/chat/acme/widget.js", "Accept-Encoding", "gzip;q=0"); w.Header().Get("Content-Encoding") != "" {
		t.Error("gzip;q=0 got a gzipped body")
	}

	// Revalidation: either form's ETag, weak or strong, in a list.
	for _, inm := range []string{a.ETag, "W/" + a.ETag, `"stale", ` + a.GzipETag, "*"} {
		w = serve(h, "GET", "/chat/acme/widget.js", "If-None-Match", inm)
		if w.Code != http.StatusNotModified || w.Body.Len() != 0 || w.Header().Get("ETag") == "" || w.Header().Get("Cache-Control") == "" {
			t.Errorf("If-None-Match %s: %d with %d bytes; want 304, empty, with ETag and Cache-Control", inm, w.Code, w.Body.Len())
		}
	}
	if w = serve(h, "GET", "/chat/acme/widget.js", "If-None-Match", `"stale"`); w.Code != http.StatusOK {
		t.Errorf("a stale ETag: %d, want 200", w.Code)
	}

	// A workspace without web chat, or unknown, has no widget.
	for _, ws := range []string{"off", "nobody"} {
		w = serve(h, "GET", "/chat/"+ws+"/widget.js")
		if w.Code != http.StatusNotFound || w.Header().Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: %d %s, want 404 problem+json", ws, w.Code, w.Header().Get("Content-Type"))
		}
	}
}

func TestWidgetSettingsRoute(t *testing.T) {
	h, _ := widgetHandler(t, "")
	type settings struct {
		Title, Greeting, Color, WebSocketURL string
		EmailCapture                         bool
	}
	get := func(h http.Handler, ws string) (settings, *httptest.ResponseRecorder) {
		t.Helper()
		w := serve(h, "GET", "http://127.0.0.1:8080/chat/"+ws+"/widget", "Origin", "https://shop.example")
		var s settings
		if w.Code == http.StatusOK {
			if err := json.Unmarshal(w.Body.Bytes(), &s); err != nil {
				t.Fatal(err)
			}
		}
		return s, w
	}

	s, w := get(h, "acme")
	want := settings{Title: "Acme help", Greeting: inbox.DefaultWidgetGreeting, Color: "#ff8800", WebSocketURL: "ws://127.0.0.1:8080/live", EmailCapture: true}
	if w.Code != http.StatusOK || s != want {
		t.Fatalf("GET /chat/acme/widget = %d %+v, want %+v", w.Code, s, want)
	}
	if w.Header().Get("Access-Control-Allow-Origin") != "*" || w.Header().Get("Content-Type") != "application/json" {
		t.Errorf("headers = %v, want JSON with CORS *", w.Header())
	}
	var fields map[string]any
	_ = json.Unmarshal(w.Body.Bytes(), &fields)
	if len(fields) != 5 || strings.Contains(w.Body.String(), secret) || strings.Contains(w.Body.String(), secret[len(secret)-4:]) {
		t.Errorf("body %s: want exactly the five public fields and nothing of the identity secret", w.Body)
	}

	// Defaults, with a workspace record or without one.
	for _, ws := range []string{"bare", "norecord"} {
		s, w := get(h, ws)
		want := settings{Title: inbox.DefaultWidgetTitle, Greeting: inbox.DefaultWidgetGreeting, Color: inbox.DefaultWidgetColor, WebSocketURL: "ws://127.0.0.1:8080/live", EmailCapture: true}
		if w.Code != http.StatusOK || s != want {
			t.Errorf("%s: %d %+v, want the defaults %+v", ws, w.Code, s, want)
		}
	}

	// In AWS the WebSocket API's URL comes from the configuration.
	aws, _ := widgetHandler(t, "wss://abc123.execute-api.eu-west-1.amazonaws.com/live")
	if s, _ := get(aws, "acme"); s.WebSocketURL != "wss://abc123.execute-api.eu-west-1.amazonaws.com/live" {
		t.Errorf("webSocketUrl = %q, want the configured one", s.WebSocketURL)
	}

	for _, ws := range []string{"off", "nobody"} {
		if _, w := get(h, ws); w.Code != http.StatusNotFound || w.Header().Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: %d, want 404 problem+json", ws, w.Code)
		}
	}

	// The preflight a site's page makes.
	w = serve(h, "OPTIONS", "/chat/acme/widget", "Origin", "https://shop.example", "Access-Control-Request-Method", "GET")
	if w.Code != http.StatusNoContent || w.Header().Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("preflight: %d %v", w.Code, w.Header())
	}
}

// Settings reads are rate-limited per address, like the other chat routes.
func TestWidgetSettingsRateLimit(t *testing.T) {
	h, _ := widgetHandler(t, "")
	limited := false
	for i := 0; i < 100 && !limited; i++ {
		limited = serve(h, "GET", "/chat/acme/widget").Code == http.StatusTooManyRequests
	}
	if !limited {
		t.Error("100 reads in a burst from one address were all answered; want 429")
	}
	// The script is static and not limited: a site's every page loads it.
	for i := 0; i < 50; i++ {
		if w := serve(h, "GET", "/chat/acme/widget.js"); w.Code != http.StatusOK {
			t.Fatalf("script read %d: %d", i, w.Code)
		}
	}
}
