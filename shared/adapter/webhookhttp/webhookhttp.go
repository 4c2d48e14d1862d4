// Package webhookhttp posts integrators' webhooks over HTTPS, guarded
// against server-side request forgery: every address a host resolves to
// is checked before connecting, the connection goes to the checked
// address (no second lookup a DNS rebinding could answer differently),
// the dialer's Control re-checks the socket's address, and redirects are
// never followed (a 3xx is a failed attempt).
package webhookhttp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/parley-inbox/parley/shared/inbox"
)

// Timeout bounds one attempt: connect, TLS, request and the response's
// first KB.
const Timeout = 10 * time.Second

// Resolver looks up a host's addresses; *net.Resolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Client is the inbox.WebhookTransport.
type Client struct {
	// Resolver defaults to net.DefaultResolver; tests map names themselves.
	Resolver Resolver
	// AllowLoopback admits 127.0.0.0/8 and ::1: only the local stack sets
	// it, for its test receiver. Everything else private stays refused.
	AllowLoopback bool
	once          sync.Once
	http          *http.Client
}

var _ inbox.WebhookTransport = (*Client)(nil)

// blocked are the ranges no webhook may reach: private, loopback,
// link-local (the instance metadata service 169.254.169.254 among them),
// CGNAT, NAT64 and other special-purpose ranges. fd00:ec2::254, EC2's
// IPv6 metadata address, is inside fc00::/7.
var blocked = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
		"192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24",
		"203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
		"::/128", "::1/128", "64:ff9b::/96", "64:ff9b:1::/48", "100::/64", "2001::/32", "2001:db8::/32", "2002::/16",
		"fc00::/7", "fe80::/10", "ff00::/8",
	} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

// ErrBlockedAddress is a host that resolves to an address webhooks may
// not reach.
var ErrBlockedAddress = errors.New("the address is private, loopback, link-local or reserved")

// Allowed reports whether a webhook may connect to addr.
func (c *Client) Allowed(addr netip.Addr) bool {
	addr = addr.Unmap()
	if !addr.IsValid() {
		return false
	}
	if c.AllowLoopback && addr.IsLoopback() {
		return true
	}
	for _, p := range blocked {
		if p.Contains(addr) {
			return false
		}
	}
	return !addr.IsLinkLocalUnicast() && !addr.IsMulticast() && !addr.IsUnspecified() && !addr.IsPrivate()
}

func (c *Client) resolver() Resolver {
	if c.Resolver == nil {
		return net.DefaultResolver
	}
	return c.Resolver
}

// resolve returns host's addresses, refusing the host if any is blocked:
// a name with one private address is not an integrator's endpoint.
func (c *Client) resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if ip, err := netip.ParseAddr(host); err == nil {
		if !c.Allowed(ip) {
			return nil, ErrBlockedAddress
		}
		return []netip.Addr{ip}, nil
	}
	addrs, err := c.resolver().LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", host, err)
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("resolve %s: no addresses", host)
	}
	for _, a := range addrs {
		if !c.Allowed(a) {
			return nil, ErrBlockedAddress
		}
	}
	return addrs, nil
}

// CheckURL refuses a URL whose host resolves anywhere blocked, or
// nowhere.
func (c *Client) CheckURL(ctx context.Context, raw string) error {
	u, err := inbox.ValidateWebhookURL(raw, true)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	addrs, err := c.resolve(ctx, u.Hostname())
	if err != nil {
		if errors.Is(err, ErrBlockedAddress) {
			return inbox.Invalid("url", "url must not lead to a private, loopback, link-local or metadata address")
		}
		return inbox.Invalid("url", "url's host does not resolve")
	}
	if u.Scheme == "http" && !allLoopback(c.AllowLoopback, addrs) {
		return inbox.Invalid("url", "url must use https")
	}
	return nil
}

// allLoopback is the local stack's one exception to https: a receiver on
// this machine.
func allLoopback(allowed bool, addrs []netip.Addr) bool {
	if !allowed {
		return false
	}
	for _, a := range addrs {
		if !a.Unmap().IsLoopback() {
			return false
		}
	}
	return true
}

// dial connects to the checked addresses of addr's host, in turn.
func (c *Client) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	addrs, err := c.resolve(ctx, host)
	if err != nil {
		return nil, err
	}
	d := &net.Dialer{Timeout: Timeout, Control: func(_, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil || !c.Allowed(ap.Addr()) {
			return ErrBlockedAddress
		}
		return nil
	}}
	var errs []error
	for _, a := range addrs {
		conn, err := d.DialContext(ctx, network, net.JoinHostPort(a.String(), port))
		if err == nil {
			return conn, nil
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

func (c *Client) client() *http.Client {
	c.once.Do(func() {
		c.http = &http.Client{
			Timeout: Timeout,
			Transport: &http.Transport{
				DialContext:           c.dial,
				Proxy:                 nil, // a proxy would connect for us, unchecked
				TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
				TLSHandshakeTimeout:   Timeout,
				ResponseHeaderTimeout: Timeout,
				MaxIdleConnsPerHost:   4,
				IdleConnTimeout:       60 * time.Second,
			},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	})
	return c.http
}

// Post sends one webhook and keeps the response's first KB.
func (c *Client) Post(ctx context.Context, req inbox.WebhookRequest) inbox.WebhookResponse {
	start := time.Now()
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, req.URL, strings.NewReader(string(req.Body)))
	if err != nil {
		return inbox.WebhookResponse{Err: err, Blocked: true}
	}
	if r.URL.Scheme != "https" {
		addrs, err := c.resolve(ctx, r.URL.Hostname())
		if r.URL.Scheme != "http" || err != nil || !allLoopback(c.AllowLoopback, addrs) {
			return inbox.WebhookResponse{Err: errors.New("not an https URL"), Blocked: true}
		}
	}
	for k, v := range req.Headers {
		r.Header.Set(k, v)
	}
	resp, err := c.client().Do(r)
	if err != nil {
		return inbox.WebhookResponse{Latency: time.Since(start), Err: err, Blocked: errors.Is(err, ErrBlockedAddress)}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, inbox.WebhookExcerptBytes))
	return inbox.WebhookResponse{StatusCode: resp.StatusCode, Latency: time.Since(start), Body: string(body)}
}
