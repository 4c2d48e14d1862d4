package e2e_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parley-inbox/parley/shared/dev/dynamolocal"
)

// The chromium the browser test drives: Debian's, which `make test`
// installs through apt when it is missing. No tool downloads a browser.
const chromiumPath = "/usr/bin/chromium"

// The widget as people use it (issue 12 §7): a host page on another origin
// embeds it with its one tag; in Debian's chromium, driven by playwright-core
// (test/browser/widget.mjs), the visitor opens it and sends a message; the
// agent sees it on the agent's WebSocket, types, and replies through the
// API; the reply appears in the widget's DOM. The browser script also
// checks the keyboard, that no style crosses between the page and the
// widget, the offline state (a message queued while offline is sent once
// when the connection is back) and the history after a reload, and saves a
// screenshot, which must be a real picture.
//
// Without chromium or playwright-core the test skips, unless
// PARLEY_BROWSER_TEST=required (as `make test` sets it).
func TestWidgetInBrowser(t *testing.T) {
	root, err := dynamolocal.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(root, "test", "browser", "widget.mjs")
	node, err := exec.LookPath("node")
	var missing []string
	if err != nil {
		missing = append(missing, "node")
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		missing = append(missing, chromiumPath+" (apt-get install chromium)")
	}
	if _, err := os.Stat(filepath.Join(root, "test", "node_modules", "playwright-core", "package.json")); err != nil {
		missing = append(missing, "test/node_modules/playwright-core (make npm)")
	}
	if len(missing) > 0 {
		if os.Getenv("PARLEY_BROWSER_TEST") == "required" {
			t.Fatalf("the browser test needs %s", strings.Join(missing, ", "))
		}
		t.Skipf("the browser test needs %s; `make test` installs them", strings.Join(missing, ", "))
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// The widget's accent colour, which the screenshot must show.
	look := wantJSON[ChatWidget](t, do(t, "GET", "/chat/"+demoWS+"/widget", "", nil), http.StatusOK)
	var accent [3]uint32
	if _, err := fmt.Sscanf(look.Color, "#%02x%02x%02x", &accent[0], &accent[1], &accent[2]); err != nil {
		t.Fatalf("demo's widget colour %q: %v", look.Color, err)
	}

	// The host page, on its own origin: the API's CORS is exercised for real.
	page := httptest.NewServer(hostPage(baseURL + "/chat/" + demoWS + "/widget.js"))
	defer page.Close()

	// The agent is connected before the visitor writes.
	agent := dialAgent(ctx, t)
	defer agent.close()

	message := "Hello from a real browser " + uniq()
	reply := "Hi! An agent here, replying through the API " + uniq()
	later := "Sent while offline " + uniq()
	shot := filepath.Join(root, ".build", "screenshots", "widget.png")
	_ = os.Remove(shot)

	cmd := exec.CommandContext(ctx, node, script, page.URL+"/", shot)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "PARLEY_WIDGET_MESSAGE="+message, "PARLEY_WIDGET_REPLY="+reply, "PARLEY_WIDGET_LATER="+later,
		"PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1", "PARLEY_CHROMIUM="+chromiumPath)
	var stderr bytes.Buffer
	stdout, out := io.Pipe()
	cmd.Stdout, cmd.Stderr = out, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	steps := browserSteps(stdout)
	exited := make(chan error, 1)
	go func() {
		err := cmd.Wait() // returns once all of stdout is copied
		out.Close()
		exited <- err
	}()
	failBrowser := func(format string, args ...any) {
		t.Helper()
		cancel()
		<-exited
		t.Fatalf("%s\nbrowser log:\n%s", fmt.Sprintf(format, args...), tail(stderr.Bytes(), 6000))
	}

	// 1-2. The visitor sends; the agent sees the message on the socket.
	created, err := agent.waitFor(ctx, 45*time.Second, func(e agentEvent) bool {
		return e.Type == "message.created" && e.Message != nil && e.Message.Body == message
	})
	if err != nil {
		failBrowser("the agent's socket never carried the visitor's message: %v", err)
	}
	if created.ConversationID == "" || created.Message.Direction != "in" || created.Message.Channel != "webchat" || created.WorkspaceID != demoWS {
		t.Errorf("message.created = %+v, want the visitor's inbound web chat message in %s with its conversation", created, demoWS)
	}

	// 3. The agent types until the widget shows it (the visitor's socket
	// may still be connecting), then replies through the API.
	typingFrame, _ := json.Marshal(map[string]string{"type": "typing", "conversationId": created.ConversationID})
	sawTyping := false
	for deadline := time.Now().Add(30 * time.Second); !sawTyping; {
		if err := agent.conn.Write(ctx, websocket.MessageText, typingFrame); err != nil {
			failBrowser("send the agent's typing frame: %v", err)
		}
		select {
		case s, ok := <-steps:
			if !ok {
				failBrowser("the browser script ended before it saw the agent typing")
			}
			sawTyping = s.Step == "typing"
		case <-time.After(time.Second):
		}
		if time.Now().After(deadline) {
			failBrowser("the widget never showed the agent typing")
		}
	}
	sent := postMessage(t, tok.agent, created.ConversationID, "webchat", reply)

	// 4. The reply appears in the widget; the script checks the DOM,
	// styles and keyboard, saves the screenshot and reloads the page.
	var done *browserStep
	for s := range steps {
		if s.Step == "done" {
			done = &s
		}
	}
	if err := <-exited; err != nil || done == nil {
		t.Fatalf("the browser script failed (%v)\nbrowser log:\n%s", err, tail(stderr.Bytes(), 6000))
	}
	t.Logf("browser: %s", done.raw)
	if done.Widget.LauncherBackground == "rgb(255, 0, 0)" || done.HostButton != "rgb(255, 0, 0)" {
		t.Errorf("styles crossed the shadow boundary: launcher %s, host button %s", done.Widget.LauncherBackground, done.HostButton)
	}
	// The agent's socket has the reply too, the visitor's typing, and
	// the message the widget queued while offline, once.
	if _, err := agent.waitFor(ctx, 10*time.Second, func(e agentEvent) bool {
		return e.Type == "message.created" && e.Message != nil && e.Message.ID == sent.ID
	}); err != nil {
		t.Errorf("the agent's socket did not carry the reply: %v", err)
	}
	if _, err := agent.waitFor(ctx, 10*time.Second, func(e agentEvent) bool {
		return e.Type == "typing" && e.From == "visitor" && e.ConversationID == created.ConversationID
	}); err != nil {
		t.Errorf("the agent's socket did not carry the visitor's typing: %v", err)
	}
	if _, err := agent.waitFor(ctx, 10*time.Second, func(e agentEvent) bool {
		return e.Type == "message.created" && e.Message != nil && e.Message.Body == later
	}); err != nil {
		t.Errorf("the message sent while offline did not reach the agent: %v", err)
	}
	if n := agent.count(func(e agentEvent) bool {
		return e.Type == "message.created" && e.Message != nil && e.Message.Body == later
	}); n != 1 {
		t.Errorf("the message sent while offline reached the agent %d times, want once", n)
	}
	checkScreenshot(t, shot, accent)
}

// hostPage is a shop's page with rules that would restyle the widget if
// styles crossed the shadow boundary: buttons red, every font Comic Sans,
// every div dotted, the widget's class names hidden. /control is the same
// page without the widget, for comparing the page's own styles.
func hostPage(scriptURL string) http.Handler {
	const page = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Acme shop</title>
<style>
  * { font-family: "Comic Sans MS", cursive; }
  body { margin: 24px; background: #fdf6e3; }
  button { background: red; color: yellow; font-size: 30px; border: 4px solid black; }
  div { border: 3px dotted blue; padding: 4px; }
  p { color: rgb(0, 128, 0); }
  .launcher, .panel, .msg, [data-testid] { display: none !important; }
</style></head>
<body>
  <h1>Acme shop</h1>
  <p id="host-text">Welcome! Our widget should look like itself, and our page like ours.</p>
  <div id="host-box"><button id="host-button" type="button">Buy now</button></div>
  %s
</body></html>`
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, page, `<script src="`+scriptURL+`" async></script>`)
	})
	mux.HandleFunc("GET /control", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, page, "")
	})
	return mux
}

// ---- the browser script's progress ----

type browserStep struct {
	Step   string `json:"step"`
	Widget struct {
		LauncherBackground string `json:"launcherBackground"`
	} `json:"widget"`
	HostButton string `json:"hostButton"`
	raw        string
}

// browserSteps reads the script's JSON lines; the channel closes at EOF.
func browserSteps(r io.Reader) <-chan browserStep {
	out := make(chan browserStep, 16)
	go func() {
		defer close(out)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			var s browserStep
			if json.Unmarshal(sc.Bytes(), &s) == nil && s.Step != "" {
				s.raw = sc.Text()
				out <- s
			}
		}
	}()
	return out
}

// ---- the agent's WebSocket ----

type agentEvent struct {
	ID             string `json:"id"`
	Type           string `json:"type"`
	WorkspaceID    string `json:"workspaceId"`
	ConversationID string `json:"conversationId"`
	From           string `json:"from"`
	Message        *struct {
		ID        string `json:"id"`
		Direction string `json:"direction"`
		Channel   string `json:"channel"`
		Body      string `json:"body"`
	} `json:"message"`
}

type agentSocket struct {
	conn   *websocket.Conn
	mu     sync.Mutex
	events []agentEvent
	err    error
	more   chan struct{}
}

// dialAgent connects the demo agent to the local stack's WebSocket, the
// way the SPA does, and collects every event it receives.
func dialAgent(ctx context.Context, t *testing.T) *agentSocket {
	t.Helper()
	u := "ws" + strings.TrimPrefix(baseURL, "http") + "/live?workspace=" + demoWS + "&token=" + url.QueryEscape(tok.agent)
	dialCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, resp, err := websocket.Dial(dialCtx, u, nil)
	if err != nil {
		status := "no HTTP answer"
		if resp != nil {
			status = resp.Status
		}
		t.Fatalf("connect the agent's WebSocket to %s/live: %v (%s); the local stack must serve the real-time protocol on /live", baseURL, err, status)
	}
	conn.SetReadLimit(1 << 20)
	a := &agentSocket{conn: conn, more: make(chan struct{}, 1)}
	go func() {
		for {
			_, data, err := conn.Read(ctx)
			a.mu.Lock()
			if err != nil {
				a.err = err
			} else {
				var batch []agentEvent
				if err := json.Unmarshal(data, &batch); err != nil {
					a.err = fmt.Errorf("a server frame is not a JSON array of events: %v: %.200s", err, data)
				}
				a.events = append(a.events, batch...)
			}
			a.mu.Unlock()
			select {
			case a.more <- struct{}{}:
			default:
			}
			if err != nil || a.err != nil {
				return
			}
		}
	}()
	return a
}

// waitFor returns the first event, received so far or within d, that
// matches.
func (a *agentSocket) waitFor(ctx context.Context, d time.Duration, match func(agentEvent) bool) (agentEvent, error) {
	deadline := time.After(d)
	for {
		a.mu.Lock()
		for _, e := range a.events {
			if match(e) {
				a.mu.Unlock()
				return e, nil
			}
		}
		err, n := a.err, len(a.events)
		a.mu.Unlock()
		if err != nil {
			return agentEvent{}, fmt.Errorf("the socket failed after %d events: %w", n, err)
		}
		select {
		case <-a.more:
		case <-deadline:
			return agentEvent{}, fmt.Errorf("not within %s (%d other events)", d, n)
		case <-ctx.Done():
			return agentEvent{}, ctx.Err()
		}
	}
}

// count counts the events received so far that match.
func (a *agentSocket) count(match func(agentEvent) bool) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, e := range a.events {
		if match(e) {
			n++
		}
	}
	return n
}

func (a *agentSocket) close() { _ = a.conn.Close(websocket.StatusNormalClosure, "done") }

// ---- the screenshot ----

// checkScreenshot decodes the PNG and wants a picture: many colours, and
// the widget's accent (the launcher and the header) among them.
func checkScreenshot(t *testing.T, path string, want [3]uint32) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("the screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("the screenshot %s is not a PNG: %v", path, err)
	}
	b := img.Bounds()
	colours := map[[3]uint32]bool{}
	accent := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			c := [3]uint32{r >> 8, g >> 8, bl >> 8}
			if len(colours) < 1000 {
				colours[c] = true
			}
			if near(c, want) {
				accent++
			}
		}
	}
	t.Logf("screenshot %s: %dx%d, %d+ colours, %d accent pixels", path, b.Dx(), b.Dy(), len(colours), accent)
	if b.Dx() < 300 || b.Dy() < 300 || len(colours) < 16 {
		t.Errorf("the screenshot is blank or tiny: %dx%d with %d colours", b.Dx(), b.Dy(), len(colours))
	}
	if accent < 2000 {
		t.Errorf("the screenshot has %d pixels of the widget's accent colour; want the launcher and the open panel's header", accent)
	}
}

func near(a, b [3]uint32) bool {
	d := func(x, y uint32) uint32 {
		if x > y {
			return x - y
		}
		return y - x
	}
	return d(a[0], b[0]) < 8 && d(a[1], b[1]) < 8 && d(a[2], b[2]) < 8
}
