package e2e_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/parley-inbox/parley/shared/handler/webhooks/widget"
)

// The widget's script is JavaScript: validate it as text.
func init() { openapi3filter.RegisterBodyDecoder("text/javascript", openapi3filter.PlainBodyDecoder) }

// ChatWidget is GET /chat/{ws}/widget's answer.
type ChatWidget struct {
	Title        string `json:"title"`
	Greeting     string `json:"greeting"`
	Color        string `json:"color"`
	WebSocketURL string `json:"webSocketUrl"`
	EmailCapture bool   `json:"emailCapture"`
}

// A site embeds the widget with one tag: the script is served as a
// cacheable, revalidated asset, gzipped when the browser takes it, to any
// origin, and only for a workspace with web chat.
func TestWidgetScript(t *testing.T) {
	t.Parallel()
	path := "/chat/" + demoWS + "/widget.js"
	r := do(t, "GET", path, "", nil, "Accept-Encoding", "identity", "Origin", "https://shop.example")
	body := wantText(t, r, http.StatusOK, "text/javascript")
	if body != string(widget.Served().Script) {
		t.Errorf("GET %s served %d bytes, not the embedded widget", path, len(body))
	}
	etag := r.Header.Get("ETag")
	for name, want := range map[string]string{
		"Content-Type": "text/javascript; charset=utf-8", "Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*",
	} {
		if got := r.Header.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if !regexp.MustCompile(`^"[A-Za-z0-9_-]+"$`).MatchString(etag) {
		t.Errorf("ETag = %q, want a quoted tag", etag)
	}

	// A browser's revalidation.
	r = do(t, "GET", path, "", nil, "Accept-Encoding", "identity", "If-None-Match", etag)
	if r.Status != http.StatusNotModified || len(r.Body) != 0 {
		t.Errorf("If-None-Match %s: %d with %d bytes, want 304 and no body", etag, r.Status, len(r.Body))
	}

	// Gzipped, well under the widget's budget.
	r = do(t, "GET", path, "", nil, "Accept-Encoding", "gzip")
	if r.Status != http.StatusOK || r.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("with Accept-Encoding gzip: %d, Content-Encoding %q", r.Status, r.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(bytes.NewReader(r.Body))
	if err != nil {
		t.Fatal(err)
	}
	if plain, err := io.ReadAll(zr); err != nil || string(plain) != body {
		t.Errorf("the gzipped script does not decode to the script (%v)", err)
	}
	t.Logf("widget.js: %d bytes, %d gzipped", len(body), len(r.Body))
	if len(r.Body) >= 30*1024 {
		t.Errorf("widget.js is %d bytes gzipped; the budget is under 30 KB", len(r.Body))
	}

	// No web chat, no widget.
	wantProblem(t, do(t, "GET", "/chat/"+otherWS+"/widget.js", "", nil), http.StatusNotFound, "not_found", "")
}

// The widget's public settings: the workspace's look, with defaults, and
// where to connect; never the identity secret. Admins set the look.
func TestWidgetSettings(t *testing.T) {
	t.Parallel()
	c, _ := clientFrom(t)
	ws := setIdentitySecret(t) // demo has a secret: the public settings must not show it
	if s, _ := ws["settings"].(map[string]any); s["webChatIdentitySecret"] != nil {
		t.Errorf("GET /workspace shows the identity secret: %v", s)
	}
	r := doVia(t, c, "GET", "/chat/"+demoWS+"/widget", "", nil, "Origin", "https://shop.example")
	got := wantJSON[ChatWidget](t, r, http.StatusOK)
	wantWS := "ws" + strings.TrimPrefix(baseURL, "http") + "/live"
	if got.Title == "" || got.Greeting == "" || !regexp.MustCompile(`^#[0-9a-f]{6}$`).MatchString(got.Color) || got.WebSocketURL != wantWS || !got.EmailCapture {
		t.Errorf("demo's widget = %+v, want a title, a greeting, a #rrggbb colour, %s and email capture", got, wantWS)
	}
	if r.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("Access-Control-Allow-Origin = %q, want *", r.Header.Get("Access-Control-Allow-Origin"))
	}
	if strings.Contains(string(r.Body), identitySecret) || strings.Contains(string(r.Body), identitySecret[len(identitySecret)-4:]) {
		t.Errorf("the public settings show the identity secret: %s", r.Body)
	}
	wantProblem(t, doVia(t, c, "GET", "/chat/"+otherWS+"/widget", "", nil), http.StatusNotFound, "not_found", "")

	t.Run("an admin sets the look", func(t *testing.T) {
		needSettingsWS(t)
		look := map[string]any{"title": "  E2E support ", "greeting": "Hello from the e2e suite " + uniq(), "color": "#FF8800"}
		w := wantJSON[map[string]any](t, do(t, "PATCH", "/workspace", tok.settingsAdmin, map[string]any{"widget": look}), http.StatusOK)
		stored, _ := w["settings"].(map[string]any)["widget"].(map[string]any)
		if stored["title"] != "E2E support" || stored["greeting"] != look["greeting"] || stored["color"] != "#ff8800" {
			t.Errorf("stored widget = %v, want the title trimmed and the colour in lower case", stored)
		}
		want := ChatWidget{Title: "E2E support", Greeting: look["greeting"].(string), Color: "#ff8800", WebSocketURL: wantWS, EmailCapture: true}
		// The webhooks cache settings for up to a minute.
		var seen ChatWidget
		for deadline := time.Now().Add(70 * time.Second); ; time.Sleep(500 * time.Millisecond) {
			seen = wantJSON[ChatWidget](t, doVia(t, c, "GET", "/chat/"+settingsWS+"/widget", "", nil), http.StatusOK)
			if seen == want || time.Now().After(deadline) {
				break
			}
		}
		if seen != want {
			t.Errorf("settings workspace's widget = %+v, want %+v", seen, want)
		}

		for _, bad := range []map[string]any{
			{"color": "orange"}, {"color": "#f80"}, {"title": strings.Repeat("t", 61)}, {"greeting": strings.Repeat("g", 501)}, {"font": "serif"},
		} {
			wantProblem(t, do(t, "PATCH", "/workspace", tok.settingsAdmin, map[string]any{"widget": bad}), http.StatusBadRequest, "invalid", anyField)
		}
		wantProblem(t, do(t, "PATCH", "/workspace", tok.agent, map[string]any{"widget": map[string]any{"title": "Mine"}}), http.StatusForbidden, "forbidden", "")

		// {} returns to the defaults.
		w = wantJSON[map[string]any](t, do(t, "PATCH", "/workspace", tok.settingsAdmin, map[string]any{"widget": map[string]any{}}), http.StatusOK)
		if v, ok := w["settings"].(map[string]any)["widget"]; ok {
			t.Errorf("after {}: widget = %v, want none", v)
		}
	})
}
