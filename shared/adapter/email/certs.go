package email

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/parley-inbox/parley/shared/inbox"
)

const (
	maxCertBytes = 64 << 10
	certTimeout  = 5 * time.Second
)

// HTTPCerts fetches SNS signing certificates over HTTPS and keeps them for
// the life of the Lambda container: SNS signs with few certificates, and a
// fetch per message would add latency and a dependency to every delivery.
// Trust comes from TLS to a host Verify pinned to SNS. Use it by pointer;
// the zero value is ready.
type HTTPCerts struct {
	// Client defaults to a plain http.Client; a 5 s timeout applies anyway.
	Client *http.Client
	cache  sync.Map // url → *x509.Certificate
}

// Certificate returns the certificate at url. Network trouble is
// KindUnavailable, so that the webhook asks SNS to retry.
func (h *HTTPCerts) Certificate(ctx context.Context, url string) (*x509.Certificate, error) {
	if c, ok := h.cache.Load(url); ok {
		return c.(*x509.Certificate), nil
	}
	if _, err := snsURL(url, ""); err != nil {
		return nil, forbidden("SNS signing certificate URL is not trusted", err)
	}
	ctx, cancel := context.WithTimeout(ctx, certTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, forbidden("SNS signing certificate URL is not trusted", err)
	}
	var client http.Client
	if h.Client != nil {
		client = *h.Client
	}
	// The certificate is served directly; a redirect could lead anywhere.
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := client.Do(req)
	if err != nil {
		return nil, &inbox.Error{Kind: inbox.KindUnavailable, Message: "SNS signing certificate could not be fetched", Err: err}
	}
	defer res.Body.Close()
	if res.StatusCode >= 500 {
		return nil, &inbox.Error{Kind: inbox.KindUnavailable, Message: "SNS signing certificate could not be fetched", Err: fmt.Errorf("%s answered %s", url, res.Status)}
	}
	if res.StatusCode != http.StatusOK {
		return nil, forbidden("SNS signing certificate does not exist", fmt.Errorf("%s answered %s", url, res.Status))
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, maxCertBytes+1))
	if err != nil {
		return nil, &inbox.Error{Kind: inbox.KindUnavailable, Message: "SNS signing certificate could not be fetched", Err: err}
	}
	if len(body) > maxCertBytes {
		return nil, forbidden("SNS signing certificate is too large", nil)
	}
	cert, err := parseCert(body)
	if err != nil {
		return nil, forbidden("SNS signing certificate is not valid", err)
	}
	if time.Now().After(cert.NotAfter) {
		return nil, forbidden("SNS signing certificate has expired", nil)
	}
	h.cache.Store(url, cert)
	return cert, nil
}

// parseCert reads the first CERTIFICATE block of a PEM file.
func parseCert(data []byte) (*x509.Certificate, error) {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, fmt.Errorf("no CERTIFICATE block")
		}
		if block.Type == "CERTIFICATE" {
			return x509.ParseCertificate(block.Bytes)
		}
	}
}
