package twilio_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/parley-inbox/parley/shared/adapter/twilio"
	"github.com/parley-inbox/parley/shared/inbox"
)

const (
	mediaMsgSID = "MM0123456789abcdef0123456789abcdef"
	mediaSID    = "ME0123456789abcdef0123456789abcdef"
	mediaURL    = "https://api.twilio.com/2010-04-01/Accounts/" + sendSID + "/Messages/" + mediaMsgSID + "/Media/" + mediaSID
)

// mediaServer is Twilio's API and CDN: the media URL, with the account's
// basic auth, redirects to the CDN path, which must come without it.
func mediaServer(t *testing.T, redirect string, body string) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		switch {
		case r.URL.Path == "/cdn/file":
			if r.Header.Get("Authorization") != "" {
				t.Error("the credentials were sent to the CDN")
			}
			w.Header().Set("Content-Type", "image/jpeg")
			_, _ = io.WriteString(w, body)
		case strings.HasSuffix(r.URL.Path, "/Media/"+mediaSID+".json") && r.Method == http.MethodDelete:
			if u, p, ok := r.BasicAuth(); !ok || u != sendSID || p != sendToken {
				t.Errorf("DELETE without the account's auth")
			}
			w.WriteHeader(http.StatusNoContent)
		case strings.HasSuffix(r.URL.Path, "/Media/"+mediaSID):
			if u, p, ok := r.BasicAuth(); !ok || u != sendSID || p != sendToken {
				t.Errorf("GET without the account's auth")
			}
			target := redirect
			if target == "" {
				target = srv.URL + "/cdn/file"
			}
			http.Redirect(w, r, target, http.StatusTemporaryRedirect)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func mediaSource(base string) *twilio.MediaSource {
	return &twilio.MediaSource{BaseURL: base, Accounts: func(ws string) (twilio.Account, error) {
		return twilio.Account{AccountSID: sendSID, AuthToken: sendToken}, nil
	}}
}

func mmsWith(urls ...string) *inbox.Message {
	m := &inbox.Message{WorkspaceID: "ws1", ID: "m1", Channel: inbox.ChannelMMS, Direction: inbox.DirectionIn}
	for _, u := range urls {
		m.Attachments = append(m.Attachments, inbox.Attachment{URL: u, ContentType: "image/jpeg"})
	}
	return m
}

func TestMediaSourceFollowsTheCDNRedirectWithoutCredentials(t *testing.T) {
	srv, _ := mediaServer(t, "", "jpeg-bytes")
	body, ct, err := mediaSource(srv.URL).Open(context.Background(), mmsWith(mediaURL), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	got, err := io.ReadAll(body)
	if err != nil || string(got) != "jpeg-bytes" || ct != "image/jpeg" {
		t.Errorf("Open = %q, %q, %v", got, ct, err)
	}
	if err := mediaSource(srv.URL).Forget(context.Background(), mmsWith(mediaURL), 0); err != nil {
		t.Errorf("Forget: %v", err)
	}
}

func TestMediaSourceFetchesOnlyTwilio(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("a request reached another host: %s", r.URL)
	}))
	defer other.Close()
	srv, hits := mediaServer(t, "", "x")
	for name, u := range map[string]string{
		"another host":    "https://evil.example/2010-04-01/Accounts/" + sendSID + "/Messages/" + mediaMsgSID + "/Media/" + mediaSID,
		"the test server": other.URL + "/2010-04-01/Accounts/" + sendSID + "/Messages/" + mediaMsgSID + "/Media/" + mediaSID,
		"another account": strings.Replace(mediaURL, sendSID, "AC"+strings.Repeat("f", 32), 1),
		"another path":    mediaURL + "/../../../../Calls",
		"a query":         mediaURL + "?x=1",
		"not a media sid": strings.Replace(mediaURL, mediaSID, "XX"+mediaSID[2:], 1),
		"http":            strings.Replace(mediaURL, "https:", "http:", 1),
	} {
		_, _, err := mediaSource(srv.URL).Open(context.Background(), mmsWith(u), 0)
		if !inbox.IsKind(err, inbox.KindInvalid) {
			t.Errorf("%s: err = %v, want KindInvalid", name, err)
		}
	}
	if hits.Load() != 0 {
		t.Errorf("%d requests for URLs that are not Twilio's", hits.Load())
	}
	for _, target := range []string{other.URL + "/cdn/file", "http://127.0.0.1:1/cdn/file", "http://169.254.169.254/latest/meta-data/", "https://mms.twiliocdn.com.evil.example/x"} {
		srv, _ := mediaServer(t, target, "x")
		_, _, err := mediaSource(srv.URL).Open(context.Background(), mmsWith(mediaURL), 0)
		if !inbox.IsKind(err, inbox.KindInvalid) {
			t.Errorf("redirect to %s: err = %v, want KindInvalid", target, err)
		}
	}
}

func TestMediaSourceBoundsTheFile(t *testing.T) {
	srv, _ := mediaServer(t, "", strings.Repeat("x", 5<<20+1))
	body, _, err := mediaSource(srv.URL).Open(context.Background(), mmsWith(mediaURL), 0)
	if err == nil {
		_, err = io.Copy(io.Discard, body)
		body.Close()
	}
	if !inbox.IsKind(err, inbox.KindInvalid) {
		t.Errorf("a file over 5 MB: err = %v, want KindInvalid", err)
	}
}

func TestMediaSourceGoneIsNotFound(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	_, _, err := mediaSource(srv.URL).Open(context.Background(), mmsWith(mediaURL), 0)
	if !inbox.IsKind(err, inbox.KindNotFound) {
		t.Errorf("err = %v, want KindNotFound", err)
	}
	if err := mediaSource(srv.URL).Forget(context.Background(), mmsWith(mediaURL), 0); err != nil {
		t.Errorf("Forget of media already gone: %v", err)
	}
}
