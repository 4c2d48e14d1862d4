package meta_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/parley-inbox/parley/shared/adapter/meta"
	"github.com/parley-inbox/parley/shared/inbox"
)

// graphMedia is the Graph API's media lookup and Meta's media host in one
// server: GET /v21.0/<id> answers {url}, and url serves the bytes. file
// overrides where url points.
func graphMedia(t *testing.T, file string, size int) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.Header.Get("Authorization") != "Bearer wa-secret-token" {
			t.Errorf("%s without the WhatsApp token", r.URL.Path)
		}
		switch r.URL.Path {
		case "/v21.0/1234567890":
			target := file
			if target == "" {
				target = srv.URL + "/whatsapp_business/attachments/?mid=1234567890&hash=x"
			}
			fmt.Fprintf(w, `{"url":%q,"mime_type":"image/jpeg","sha256":"x","file_size":%d,"id":"1234567890","messaging_product":"whatsapp"}`, target, size)
		case "/whatsapp_business/attachments/":
			w.Header().Set("Content-Type", "application/octet-stream")
			_, _ = io.WriteString(w, strings.Repeat("j", size))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func metaSource(graph, cdn string) *meta.MediaSource {
	return &meta.MediaSource{BaseURL: graph, CDNBaseURL: cdn, Accounts: func(string) (meta.Account, error) { return account, nil }}
}

func metaMessage(ch inbox.Channel, u string) *inbox.Message {
	return &inbox.Message{WorkspaceID: "ws1", ID: "m1", Channel: ch, Direction: inbox.DirectionIn,
		Attachments: []inbox.Attachment{{URL: u, ContentType: "image/jpeg"}}}
}

func readAll(t *testing.T, rc io.ReadCloser, err error) (string, error) {
	t.Helper()
	if err != nil {
		return "", err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	return string(b), err
}

func TestWhatsAppMediaThroughTheGraphAPI(t *testing.T) {
	srv, _ := graphMedia(t, "", 10)
	rc, ct, err := metaSource(srv.URL+"/v21.0", "").Open(context.Background(), metaMessage(inbox.ChannelWhatsApp, meta.MediaURLPrefix+"1234567890"), 0)
	got, err := readAll(t, rc, err)
	if err != nil || got != "jjjjjjjjjj" || ct != "image/jpeg" {
		t.Errorf("Open = %q, %q, %v", got, ct, err)
	}
}

func TestWhatsAppMediaOnlyFromMeta(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("a request reached another host: %s", r.URL)
	}))
	defer other.Close()
	srv, hits := graphMedia(t, "", 10)
	for _, raw := range []string{"https://evil.example/1234567890", other.URL + "/1234567890", meta.MediaURLPrefix + "..%2F..%2Fme",
		meta.MediaURLPrefix + "123/../../me", meta.MediaURLPrefix + "123?fields=x", meta.MediaURLPrefix} {
		_, _, err := metaSource(srv.URL+"/v21.0", "").Open(context.Background(), metaMessage(inbox.ChannelWhatsApp, raw), 0)
		if !inbox.IsKind(err, inbox.KindInvalid) {
			t.Errorf("%s: err = %v, want KindInvalid", raw, err)
		}
	}
	if hits.Load() != 0 {
		t.Errorf("%d requests for URLs that are not WhatsApp media ids", hits.Load())
	}
	// A lookup whose url is another host: the token never goes there.
	for _, file := range []string{other.URL + "/x", "http://127.0.0.1:1/x", "http://169.254.169.254/latest/meta-data/"} {
		srv, _ := graphMedia(t, file, 10)
		_, _, err := metaSource(srv.URL+"/v21.0", "").Open(context.Background(), metaMessage(inbox.ChannelWhatsApp, meta.MediaURLPrefix+"1234567890"), 0)
		if !inbox.IsKind(err, inbox.KindInvalid) {
			t.Errorf("lookup url %s: err = %v, want KindInvalid", file, err)
		}
	}
	// A lookup that reports a file over 100 MB is refused before download.
	big, _ := graphMedia(t, "", 0)
	big.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v21.0/1234567890" {
			t.Errorf("downloaded %s", r.URL.Path)
		}
		fmt.Fprintf(w, `{"url":%q,"mime_type":"application/pdf","file_size":%d}`, big.URL+"/whatsapp_business/attachments/", 100<<20+1)
	})
	_, _, err := metaSource(big.URL+"/v21.0", "").Open(context.Background(), metaMessage(inbox.ChannelWhatsApp, meta.MediaURLPrefix+"1234567890"), 0)
	if !inbox.IsKind(err, inbox.KindInvalid) {
		t.Errorf("a 100 MB+ document: err = %v, want KindInvalid", err)
	}
}

func TestPageMediaFromMetasCDN(t *testing.T) {
	var hits atomic.Int32
	var cdn *httptest.Server
	cdn = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.Header.Get("Authorization") != "" {
			t.Error("a token was sent to the CDN")
		}
		switch r.URL.Path {
		case "/cdn/v/t1/photo.jpg":
			w.Header().Set("Content-Type", "image/png")
			_, _ = io.WriteString(w, "png")
		case "/cdn/hop":
			http.Redirect(w, r, cdn.URL+"/cdn/v/t1/photo.jpg", http.StatusFound)
		case "/cdn/away":
			http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusFound)
		}
	}))
	defer cdn.Close()
	src := metaSource("", cdn.URL+"/cdn")
	for _, ch := range []inbox.Channel{inbox.ChannelMessenger, inbox.ChannelInstagram} {
		for _, path := range []string{"/v/t1/photo.jpg?stp=1&oh=x", "/hop"} {
			rc, ct, err := src.Open(context.Background(), metaMessage(ch, "https://scontent.xx.fbcdn.net"+path), 0)
			got, err := readAll(t, rc, err)
			if err != nil || got != "png" || ct != "image/png" {
				t.Errorf("%s %s: Open = %q, %q, %v", ch, path, got, ct, err)
			}
		}
	}
	hits.Store(0)
	for _, raw := range []string{"https://evil.example/x.jpg", "https://fbcdn.net.evil.example/x.jpg", "http://scontent.xx.fbcdn.net/x.jpg",
		"https://127.0.0.1/x", "https://scontent.xx.fbcdn.net/away"} {
		_, _, err := src.Open(context.Background(), metaMessage(inbox.ChannelMessenger, raw), 0)
		if !inbox.IsKind(err, inbox.KindInvalid) {
			t.Errorf("%s: err = %v, want KindInvalid", raw, err)
		}
	}
	if got := hits.Load(); got != 1 {
		t.Errorf("%d requests, want only the one that redirected away", got)
	}
	// Without an override, the hosts are Meta's.
	for raw, want := range map[string]bool{"https://scontent-lax3-1.xx.fbcdn.net/v/x.jpg": true, "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1": true,
		"https://scontent.cdninstagram.com/v/x.jpg": true, "https://fbcdn.net/x": false, "https://evilfbcdn.net/x": false} {
		_, _, err := (&meta.MediaSource{HTTP: &http.Client{Transport: refuse{}}}).Open(context.Background(), metaMessage(inbox.ChannelMessenger, raw), 0)
		if got := !inbox.IsKind(err, inbox.KindInvalid); got != want {
			t.Errorf("%s: allowed = %v (err %v), want %v", raw, got, err, want)
		}
	}
}

// refuse answers every request 503 without the network.
type refuse struct{}

func (refuse) RoundTrip(*http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: http.StatusServiceUnavailable, Body: io.NopCloser(strings.NewReader("")), Header: http.Header{}}, nil
}
