// Package s3link signs short-lived S3 GET links (SigV4 query signing) and
// POST upload forms, and reads media objects with signed GETs, with the
// core SDK's signer and net/http alone: the api presigns export downloads
// and media uploads without linking the S3 client, which would take it past its size budget
// (about 1 MB; see README "Lambda size").
package s3link

import (
	"context"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/parley-inbox/parley/shared/inbox"
)

// Links presigns GETs and upload forms of one bucket's objects and reads
// them. It writes nothing itself: Put refuses, as the api never writes
// export files (functions/exporter does); browsers upload media.
type Links struct {
	Credentials aws.CredentialsProvider
	Region      string
	Bucket      string
	// Endpoint replaces https://<bucket>.s3.<region>.amazonaws.com (tests).
	Endpoint string
	Now      func() time.Time
	// HTTP sends Stat's and Get's requests; nil is a client with a 30 s
	// timeout. Redirects are never followed.
	HTTP *http.Client
}

var _ inbox.ObjectStore = Links{}

// Put is not the api's to do.
func (Links) Put(context.Context, string, string, func(io.Writer) error) error {
	return inbox.Errorf(inbox.KindInternal, "s3link only signs links; functions/exporter writes export files")
}

// PresignGet signs a GET of key, valid for ttl, that downloads as filename.
func (l Links) PresignGet(ctx context.Context, key, filename string, ttl time.Duration) (string, error) {
	u, err := url.Parse(l.base())
	if err != nil {
		return "", inbox.Internal(err)
	}
	u.Path = "/" + key
	q := url.Values{"X-Amz-Expires": {strconv.Itoa(int(ttl.Seconds()))}}
	if d := mime.FormatMediaType("attachment", map[string]string{"filename": filename}); d != "" {
		q.Set("response-content-disposition", d)
	}
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", inbox.Internal(err)
	}
	creds, err := l.Credentials.Retrieve(ctx)
	if err != nil {
		return "", &inbox.Error{Kind: inbox.KindUnavailable, Message: "a download link could not be made", Err: err}
	}
	signed, _, err := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }).
		PresignHTTP(ctx, creds, req, "UNSIGNED-PAYLOAD", "s3", l.Region, l.now())
	if err != nil {
		return "", &inbox.Error{Kind: inbox.KindUnavailable, Message: "a download link could not be made", Err: err}
	}
	return signed, nil
}
