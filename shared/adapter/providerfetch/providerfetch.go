// Package providerfetch downloads a file a messaging provider holds, from
// that provider's hosts only: the first request goes where the adapter
// built it, and a redirect is followed only to a host the adapter allows,
// without the credentials. Nothing else is ever requested (no arbitrary
// URL from a webhook, no redirect to 127.0.0.1 or 169.254.169.254), and
// every body is bounded.
package providerfetch

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/parley-inbox/parley/shared/inbox"
)

const (
	// maxRedirects is enough for Twilio (API → CDN) with a margin.
	maxRedirects = 3
	// Timeout bounds one file's download, headers to last byte.
	Timeout = 60 * time.Second
)

// Client is the HTTP client every provider fetch uses: it never follows a
// redirect on its own (Get does, after checking the host).
var Client = &http.Client{
	Timeout:       Timeout,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// Request is one download.
type Request struct {
	Method string // GET when empty
	URL    *url.URL
	// Header goes with the first request only (credentials): never to a
	// redirect's host.
	Header http.Header
	// Allowed says whether a redirect may go to u.
	Allowed func(u *url.URL) bool
	// Max bounds the body; a larger file is KindInvalid.
	Max int64
	// HTTP replaces Client (tests).
	HTTP *http.Client
}

// Do sends the request and returns the final response's body, bounded by
// Max, and its content type. A 404 or 410 is KindNotFound; another 4xx, a
// redirect to a host that is not allowed, or a file over Max is
// KindInvalid (retrying would not help); a network error, 429 or 5xx is
// KindUnavailable.
func Do(ctx context.Context, r Request) (io.ReadCloser, string, error) {
	client := r.HTTP
	if client == nil {
		client = Client
	}
	if client.CheckRedirect == nil {
		// A client that follows redirects itself would skip the host check.
		c := *client
		c.CheckRedirect = Client.CheckRedirect
		client = &c
	}
	method := r.Method
	if method == "" {
		method = http.MethodGet
	}
	u, header := r.URL, r.Header
	for hop := 0; ; hop++ {
		req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
		if err != nil {
			return nil, "", inbox.Invalid("attachments", "the file's address cannot be requested")
		}
		for k, v := range header {
			req.Header[k] = v
		}
		res, err := client.Do(req)
		if err != nil {
			return nil, "", &inbox.Error{Kind: inbox.KindUnavailable, Message: "the provider could not be reached", Err: err}
		}
		if res.StatusCode >= 300 && res.StatusCode < 400 && res.StatusCode != http.StatusNotModified {
			res.Body.Close()
			next, err := u.Parse(res.Header.Get("Location"))
			switch {
			case err != nil || res.Header.Get("Location") == "":
				return nil, "", inbox.Invalid("attachments", "the provider redirected without a valid Location")
			case hop+1 > maxRedirects:
				return nil, "", inbox.Invalid("attachments", "the provider redirected more than %d times", maxRedirects)
			case r.Allowed == nil || !r.Allowed(next):
				return nil, "", inbox.Invalid("attachments", "the provider redirected to %s, which is not one of its media hosts", next.Host)
			}
			u, header = next, nil
			if method != http.MethodGet && method != http.MethodHead {
				method = http.MethodGet // as browsers and net/http do after a 302/303
			}
			continue
		}
		if err := statusError(res); err != nil {
			res.Body.Close()
			return nil, "", err
		}
		if r.Max > 0 && res.ContentLength > r.Max {
			res.Body.Close()
			return nil, "", tooLarge(r.Max)
		}
		body := io.ReadCloser(res.Body)
		if r.Max > 0 {
			body = &bounded{rc: res.Body, left: r.Max, max: r.Max}
		}
		return body, res.Header.Get("Content-Type"), nil
	}
}

func statusError(res *http.Response) error {
	code := res.StatusCode
	switch {
	case code >= 200 && code < 300:
		return nil
	case code == http.StatusNotFound || code == http.StatusGone:
		return &inbox.Error{Kind: inbox.KindNotFound, Message: "the provider no longer has the file", Err: fmt.Errorf("HTTP %d", code)}
	case code == http.StatusTooManyRequests || code == http.StatusRequestTimeout || code >= 500:
		return &inbox.Error{Kind: inbox.KindUnavailable, Message: "the provider did not serve the file; retry", Err: fmt.Errorf("HTTP %d", code)}
	}
	return &inbox.Error{Kind: inbox.KindInvalid, Message: "the provider refused the request", Err: fmt.Errorf("HTTP %d", code)}
}

func tooLarge(max int64) error {
	return inbox.Invalid("attachments", "the file is over %d bytes", max)
}

// bounded fails a read past the limit rather than truncating the file.
type bounded struct {
	rc        io.ReadCloser
	left, max int64
}

func (b *bounded) Read(p []byte) (int, error) {
	if b.left < 0 {
		return 0, tooLarge(b.max)
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		return n, tooLarge(b.max)
	}
	return n, err
}

func (b *bounded) Close() error { return b.rc.Close() }

// HostIn reports whether u is https on one of hosts, or a subdomain of one
// written with a leading dot (".fbcdn.net").
func HostIn(u *url.URL, hosts ...string) bool {
	if u.Scheme != "https" || u.User != nil || u.Port() != "" {
		return false
	}
	h := strings.ToLower(u.Hostname())
	for _, allowed := range hosts {
		if h == allowed || strings.HasPrefix(allowed, ".") && strings.HasSuffix(h, allowed) && len(h) > len(allowed) {
			return true
		}
	}
	return false
}

// SameOrigin reports whether u has base's scheme and host: the allow-list
// when an adapter is pointed at a test or local server.
func SameOrigin(u, base *url.URL) bool {
	return u.Scheme == base.Scheme && strings.EqualFold(u.Host, base.Host) && u.User == nil
}

// ReadSmall reads a small answer (a media lookup) whole, at most max bytes.
func ReadSmall(body io.ReadCloser, max int64) ([]byte, error) {
	defer body.Close()
	data, err := io.ReadAll(io.LimitReader(body, max+1))
	if err != nil {
		return nil, &inbox.Error{Kind: inbox.KindUnavailable, Message: "the provider's answer could not be read", Err: err}
	}
	if int64(len(data)) > max {
		return nil, tooLarge(max)
	}
	return data, nil
}
