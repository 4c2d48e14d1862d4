package webhookhttp_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/parley-inbox/parley/shared/adapter/webhookhttp"
	"github.com/parley-inbox/parley/shared/inbox"
)

// hosts is a fake DNS: the test never touches the network's resolver.
type hosts map[string][]string

func (h hosts) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, s := range h[host] {
		out = append(out, netip.MustParseAddr(s))
	}
	if len(out) == 0 {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return out, nil
}

var fakeDNS = hosts{
	"loopback.example":  {"127.0.0.1"},
	"metadata.example":  {"169.254.169.254"},
	"metadata6.example": {"fd00:ec2::254"},
	"private.example":   {"10.1.2.3"},
	"cgnat.example":     {"100.64.0.1"},
	"mixed.example":     {"93.184.215.14", "192.168.1.10"},
	"mapped.example":    {"::ffff:127.0.0.1"},
	"public.example":    {"93.184.215.14"},
	"public6.example":   {"2606:2800:21f:cb07:6820:80da:af6b:8b2c"},
}

func TestCheckURLRefusesPrivateAddressesAfterResolution(t *testing.T) {
	c := &webhookhttp.Client{Resolver: fakeDNS} // production settings
	for _, u := range []string{
		"https://loopback.example/hook", "https://metadata.example/latest/meta-data/", "https://metadata6.example/",
		"https://private.example/", "https://cgnat.example/", "https://mixed.example/", "https://mapped.example/",
		"https://127.0.0.1/", "https://169.254.169.254/", "https://[::1]/", "https://10.0.0.1/", "https://[fe80::1]/",
		"https://0.0.0.0/", "https://nowhere.example/", "http://public.example/", "ftp://public.example/",
		"https://user:pw@public.example/",
	} {
		err := c.CheckURL(context.Background(), u)
		if !inbox.IsKind(err, inbox.KindInvalid) {
			t.Errorf("CheckURL(%s) = %v, want invalid", u, err)
		}
	}
	for _, u := range []string{"https://public.example/hook", "https://public6.example:8443/x?y=1"} {
		if err := c.CheckURL(context.Background(), u); err != nil {
			t.Errorf("CheckURL(%s) = %v, want nil", u, err)
		}
	}
}

// TestPostNeverConnectsToBlockedAddresses checks the dialer itself: a
// name that resolves to 127.0.0.1 where a receiver listens is refused
// before any connection, and nothing reaches the receiver.
func TestPostNeverConnectsToBlockedAddresses(t *testing.T) {
	hits := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits++ }))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	c := &webhookhttp.Client{Resolver: fakeDNS}
	for _, host := range []string{"loopback.example", "metadata.example", "127.0.0.1"} {
		// An https URL, so only the address can refuse it.
		res := c.Post(context.Background(), inbox.WebhookRequest{URL: "https://" + net.JoinHostPort(host, port) + "/"})
		if !res.Blocked || !errors.Is(res.Err, webhookhttp.ErrBlockedAddress) {
			t.Errorf("Post to %s = %+v, want blocked", host, res)
		}
	}
	if hits != 0 {
		t.Errorf("receiver got %d requests, want 0", hits)
	}
}

func TestPostLocalReceiverKeepsTheFirstKBAndFollowsNoRedirect(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/moved" {
			http.Redirect(w, r, "http://169.254.169.254/", http.StatusFound)
			return
		}
		if r.Header.Get("webhook-id") != "msg_1" {
			w.WriteHeader(http.StatusBadRequest)
		}
		_, _ = w.Write([]byte(strings.Repeat("x", 5000)))
	}))
	defer srv.Close()
	c := &webhookhttp.Client{AllowLoopback: true}
	res := c.Post(context.Background(), inbox.WebhookRequest{URL: srv.URL + "/", Headers: map[string]string{"webhook-id": "msg_1"}})
	if res.Err != nil || res.StatusCode != 200 || len(res.Body) != inbox.WebhookExcerptBytes {
		t.Fatalf("Post = status %d, %d bytes, err %v; want 200, %d bytes", res.StatusCode, len(res.Body), res.Err, inbox.WebhookExcerptBytes)
	}
	res = c.Post(context.Background(), inbox.WebhookRequest{URL: srv.URL + "/moved"})
	if res.StatusCode != http.StatusFound {
		t.Fatalf("redirect: status %d err %v, want 302 recorded, not followed", res.StatusCode, res.Err)
	}
	// Loopback is the only exception the local stack makes.
	c.Resolver = fakeDNS
	for _, u := range []string{"http://10.0.0.1/", "http://public.example/", "https://metadata.example/"} {
		if err := c.CheckURL(context.Background(), u); !inbox.IsKind(err, inbox.KindInvalid) {
			t.Errorf("local CheckURL(%s) = %v, want invalid", u, err)
		}
	}
}
