package s3link

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/parley-inbox/parley/shared/inbox"
)

var (
	_ inbox.MediaStore  = Links{}
	_ inbox.MediaReader = Links{}
)

const (
	algorithm = "AWS4-HMAC-SHA256"
	// emptyPayloadHash is the SHA-256 of a GET's empty body.
	emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	headBytes        = 512
)

// defaultHTTP bounds a call to S3 so a stalled one cannot hold a request
// for the Lambda's whole timeout.
var defaultHTTP = &http.Client{Timeout: 30 * time.Second}

// noRedirect: a signed request is for one host; S3's redirects (a wrong
// region) are errors to report, not to follow with the signature.
func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

func (l Links) now() time.Time {
	if l.Now != nil {
		return l.Now().UTC()
	}
	return time.Now().UTC()
}

func (l Links) base() string {
	if l.Endpoint != "" {
		return strings.TrimSuffix(l.Endpoint, "/")
	}
	return "https://" + l.Bucket + ".s3." + l.Region + ".amazonaws.com"
}

func (l Links) client() *http.Client {
	c := defaultHTTP
	if l.HTTP != nil {
		c = l.HTTP
	}
	copied := *c
	copied.CheckRedirect = noRedirect
	return &copied
}

func (l Links) credentials(ctx context.Context) (aws.Credentials, error) {
	creds, err := l.Credentials.Retrieve(ctx)
	if err != nil {
		return aws.Credentials{}, &inbox.Error{Kind: inbox.KindUnavailable, Message: "the media store's credentials are unavailable", Err: err}
	}
	return creds, nil
}

// PresignPost returns an S3 browser-based POST upload form (AWS S3 API
// reference, "Browser-Based Uploads Using POST (AWS Signature Version 4)"):
// its policy binds the exact key and type and a size of 1..maxSize bytes.
func (l Links) PresignPost(ctx context.Context, key, contentType string, maxSize int64, ttl time.Duration) (*inbox.UploadForm, error) {
	creds, err := l.credentials(ctx)
	if err != nil {
		return nil, err
	}
	now := l.now()
	date := now.Format("20060102")
	amzDate := now.Format("20060102T150405Z")
	credential := creds.AccessKeyID + "/" + date + "/" + l.Region + "/s3/aws4_request"
	conditions := []any{
		map[string]string{"bucket": l.Bucket},
		map[string]string{"key": key},
		map[string]string{"Content-Type": contentType},
		[]any{"content-length-range", 1, maxSize},
		map[string]string{"x-amz-algorithm": algorithm},
		map[string]string{"x-amz-credential": credential},
		map[string]string{"x-amz-date": amzDate},
	}
	fields := map[string]string{
		"key":              key,
		"Content-Type":     contentType,
		"x-amz-algorithm":  algorithm,
		"x-amz-credential": credential,
		"x-amz-date":       amzDate,
	}
	if creds.SessionToken != "" {
		conditions = append(conditions, map[string]string{"x-amz-security-token": creds.SessionToken})
		fields["x-amz-security-token"] = creds.SessionToken
	}
	policy, err := json.Marshal(struct {
		Expiration string `json:"expiration"`
		Conditions []any  `json:"conditions"`
	}{now.Add(ttl).Format("2006-01-02T15:04:05.000Z"), conditions})
	if err != nil {
		return nil, inbox.Internal(err)
	}
	fields["policy"] = base64.StdEncoding.EncodeToString(policy)
	fields["x-amz-signature"] = PostSignature(creds.SecretAccessKey, date, l.Region, fields["policy"])
	return &inbox.UploadForm{URL: l.base() + "/", Fields: fields}, nil
}

// PostSignature signs a base64 POST policy: hex(HMAC-SHA256(signing key,
// policy)), the signing key derived from the secret, the date (YYYYMMDD),
// the region and "s3" as in every SigV4 signature (S3 API reference,
// "Calculating a Signature" for POST).
func PostSignature(secret, date, region, base64Policy string) string {
	key := []byte("AWS4" + secret)
	for _, part := range []string{date, region, "s3", "aws4_request", base64Policy} {
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(part))
		key = mac.Sum(nil)
	}
	return hex.EncodeToString(key)
}

// get sends a SigV4-signed GET of key, with a Range header when one is
// given. The caller closes the body.
func (l Links) get(ctx context.Context, key, byteRange string) (*http.Response, error) {
	u, err := url.Parse(l.base())
	if err != nil {
		return nil, inbox.Internal(err)
	}
	u.Path = "/" + key
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, inbox.Internal(err)
	}
	if byteRange != "" {
		req.Header.Set("Range", byteRange)
	}
	req.Header.Set("X-Amz-Content-Sha256", emptyPayloadHash)
	creds, err := l.credentials(ctx)
	if err != nil {
		return nil, err
	}
	err = v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }).
		SignHTTP(ctx, creds, req, emptyPayloadHash, "s3", l.Region, l.now())
	if err != nil {
		return nil, &inbox.Error{Kind: inbox.KindUnavailable, Message: "the media store request could not be signed", Err: err}
	}
	resp, err := l.client().Do(req)
	if err != nil {
		return nil, &inbox.Error{Kind: inbox.KindUnavailable, Message: "the media store is unreachable", Err: err}
	}
	return resp, nil
}

// Stat reads the object's first 512 bytes with a ranged GET: one request
// gives the size, the stored type and the bytes to sniff.
func (l Links) Stat(ctx context.Context, key string) (*inbox.StoredObject, error) {
	resp, err := l.get(ctx, key, "bytes=0-"+strconv.Itoa(headBytes-1))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	obj := &inbox.StoredObject{ContentType: resp.Header.Get("Content-Type")}
	switch resp.StatusCode {
	case http.StatusPartialContent:
		if obj.Size, err = rangeTotal(resp.Header.Get("Content-Range")); err != nil {
			return nil, &inbox.Error{Kind: inbox.KindUnavailable, Message: "the media store answered an unreadable size", Err: err}
		}
	case http.StatusOK:
		if resp.ContentLength < 0 {
			return nil, inbox.Errorf(inbox.KindUnavailable, "the media store answered without a size")
		}
		obj.Size = resp.ContentLength
	case http.StatusRequestedRangeNotSatisfiable:
		// Only an empty object has no byte 0; the answer is S3's error, so
		// its type is not the object's.
		return &inbox.StoredObject{}, nil
	default:
		return nil, statusError(resp, key)
	}
	if obj.Head, err = io.ReadAll(io.LimitReader(resp.Body, headBytes)); err != nil {
		return nil, &inbox.Error{Kind: inbox.KindUnavailable, Message: "the media store's answer was cut short", Err: err}
	}
	return obj, nil
}

// rangeTotal reads TOTAL from "bytes FIRST-LAST/TOTAL".
func rangeTotal(contentRange string) (int64, error) {
	_, total, ok := strings.Cut(strings.TrimPrefix(contentRange, "bytes "), "/")
	if !ok {
		return 0, fmt.Errorf("Content-Range %q", contentRange)
	}
	n, err := strconv.ParseInt(total, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("Content-Range %q", contentRange)
	}
	return n, nil
}

// Get reads the whole object, refusing one larger than max before reading
// it and never holding more than max+1 bytes.
func (l Links) Get(ctx context.Context, key string, max int64) ([]byte, error) {
	resp, err := l.get(ctx, key, "")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, statusError(resp, key)
	}
	tooLarge := inbox.Errorf(inbox.KindInvalid, "file %q is larger than %d bytes", key, max)
	if resp.ContentLength > max {
		return nil, tooLarge
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, &inbox.Error{Kind: inbox.KindUnavailable, Message: "the media store's answer was cut short", Err: err}
	}
	if int64(len(data)) > max {
		return nil, tooLarge
	}
	return data, nil
}

// statusError turns S3's error answer into a domain error: 404 is nothing
// stored (a missing bucket is misconfiguration, not a missing file);
// anything else is the store failing, named by S3's error code. Without
// s3:ListBucket, S3 answers 403 AccessDenied for a missing key too.
func statusError(resp *http.Response, key string) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	code := xmlElement(body, "Code")
	if resp.StatusCode == http.StatusNotFound && code != "NoSuchBucket" {
		return inbox.Errorf(inbox.KindNotFound, "nothing is stored at %q", key)
	}
	if code == "" {
		code = resp.Status
	}
	return &inbox.Error{Kind: inbox.KindUnavailable, Message: "the media store refused: " + code,
		Err: errors.New(resp.Status + ": " + code + ": " + xmlElement(body, "Message"))}
}

// xmlElement reads the text of S3's flat <Error> element name. Not
// encoding/xml: nothing else in the api links it.
func xmlElement(body []byte, name string) string {
	_, rest, ok := bytes.Cut(body, []byte("<"+name+">"))
	if !ok {
		return ""
	}
	text, _, _ := bytes.Cut(rest, []byte("</"+name+">"))
	return string(text)
}
