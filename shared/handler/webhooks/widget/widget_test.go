package widget_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/parley-inbox/parley/shared/handler/webhooks/widget"
)

// budget is the widget's size limit, gzipped (issue 12).
const budget = 30 * 1024

func TestWidgetBudget(t *testing.T) {
	a := widget.Served()
	if len(a.Script) == 0 {
		t.Fatal("the embedded widget is empty")
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = zw.Write(a.Script)
	_ = zw.Close()
	t.Logf("widget.js: %d bytes, %d gzipped (budget %d)", len(a.Script), buf.Len(), budget)
	if buf.Len() >= budget || len(a.Gzipped) >= budget {
		t.Errorf("widget.js is %d bytes gzipped (served: %d); the budget is under %d", buf.Len(), len(a.Gzipped), budget)
	}
}

// The served gzip is the script, and each form has its own ETag from the
// script's hash.
func TestWidgetServedForms(t *testing.T) {
	a := widget.Served()
	zr, err := gzip.NewReader(bytes.NewReader(a.Gzipped))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(plain, a.Script) {
		t.Fatalf("the gzipped form does not decode to the script (%v)", err)
	}
	tag := regexp.MustCompile(`^"[A-Za-z0-9_-]{16}(-gz)?"$`)
	if !tag.MatchString(a.ETag) || !tag.MatchString(a.GzipETag) || a.ETag == a.GzipETag || !strings.HasPrefix(a.GzipETag, strings.TrimSuffix(a.ETag, `"`)) {
		t.Errorf("ETags %s and %s: want two quoted tags from one hash", a.ETag, a.GzipETag)
	}
	if again := widget.Served(); again.ETag != a.ETag || &again.Gzipped[0] != &a.Gzipped[0] {
		t.Error("Served compresses again on every call")
	}
}

// Data never reaches the DOM as markup: message bodies, names and settings
// go through textContent. The widget needs no HTML strings at all, so any
// use of the HTML sinks is refused, constant or not.
func TestWidgetUsesNoHTMLSinks(t *testing.T) {
	src := string(widget.Served().Script)
	for _, sink := range []*regexp.Regexp{
		regexp.MustCompile(`\.(inner|outer)HTML\s*\+?=`),
		regexp.MustCompile(`insertAdjacentHTML\s*\(`),
		regexp.MustCompile(`document\.write(ln)?\s*\(`),
		regexp.MustCompile(`\beval\s*\(`),
		regexp.MustCompile(`new\s+Function\s*\(`),
		regexp.MustCompile(`setHTMLUnsafe|createContextualFragment`),
	} {
		if loc := sink.FindStringIndex(src); loc != nil {
			line := strings.Count(src[:loc[0]], "\n") + 1
			t.Errorf("widget.js:%d uses %q; build elements and set textContent instead", line, src[loc[0]:loc[1]])
		}
	}
	if !strings.Contains(src, "attachShadow(") {
		t.Error("widget.js does not render in a shadow root")
	}
}

// node --check parses the script as the browser would (syntax only).
func TestWidgetParses(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed; the browser test in test/e2e runs the script for real")
	}
	path := filepath.Join(t.TempDir(), "widget.js")
	if err := os.WriteFile(path, widget.Served().Script, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(node, "--check", path).CombinedOutput(); err != nil {
		t.Fatalf("node --check widget.js: %v\n%s", err, out)
	}
}
