package providerfetch_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/parley-inbox/parley/shared/adapter/providerfetch"
	"github.com/parley-inbox/parley/shared/inbox"
)

func TestHostIn(t *testing.T) {
	for raw, want := range map[string]bool{
		"https://scontent.xx.fbcdn.net/x":   true,
		"https://fbcdn.net/x":               false, // ".fbcdn.net" names subdomains only
		"https://evilfbcdn.net/x":           false,
		"https://a.fbcdn.net.evil.example/": false,
		"http://a.fbcdn.net/x":              false,
		"https://a.fbcdn.net:444/x":         false,
		"https://user@a.fbcdn.net/x":        false,
		"https://lookaside.fbsbx.com/x":     true,
		"https://LOOKASIDE.fbsbx.com/x":     true,
	} {
		u, _ := url.Parse(raw)
		if got := providerfetch.HostIn(u, ".fbcdn.net", "lookaside.fbsbx.com"); got != want {
			t.Errorf("HostIn(%s) = %v, want %v", raw, got, want)
		}
	}
}

func TestDoBoundsAndClassifies(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/big": // no Content-Length: the bound is found while reading
			w.(http.Flusher).Flush()
			_, _ = io.WriteString(w, strings.Repeat("x", 11))
		case "/declared":
			w.Header().Set("Content-Length", "11")
			_, _ = io.WriteString(w, strings.Repeat("x", 11))
		case "/ok":
			_, _ = io.WriteString(w, "0123456789")
		case "/gone":
			w.WriteHeader(http.StatusGone)
		case "/busy":
			w.WriteHeader(http.StatusTooManyRequests)
		case "/denied":
			w.WriteHeader(http.StatusForbidden)
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		}
	}))
	defer srv.Close()
	base, _ := url.Parse(srv.URL)
	same := func(u *url.URL) bool { return providerfetch.SameOrigin(u, base) }
	get := func(path string) (string, error) {
		u, _ := url.Parse(srv.URL + path)
		rc, _, err := providerfetch.Do(context.Background(), providerfetch.Request{URL: u, Allowed: same, Max: 10})
		if err != nil {
			return "", err
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		return string(b), err
	}
	if got, err := get("/ok"); err != nil || got != "0123456789" {
		t.Errorf("/ok = %q, %v", got, err)
	}
	for path, kind := range map[string]inbox.Kind{"/big": inbox.KindInvalid, "/declared": inbox.KindInvalid, "/gone": inbox.KindNotFound,
		"/busy": inbox.KindUnavailable, "/denied": inbox.KindInvalid, "/loop": inbox.KindInvalid} {
		if _, err := get(path); !inbox.IsKind(err, kind) {
			t.Errorf("%s: err = %v, want %s", path, err, kind)
		}
	}
}
