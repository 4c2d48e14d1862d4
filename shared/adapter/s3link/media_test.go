package s3link_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/parley-inbox/parley/shared/adapter/s3link"
	"github.com/parley-inbox/parley/shared/inbox"
)

// The AWS S3 API reference's worked example, "Example: Browser-Based Upload
// using HTTP POST (Using AWS Signature Version 4)" (sigv4-post-example):
// its base64 policy (CRLF line ends) and the signature it publishes for
// the example secret, on 20151229 in us-east-1.
const (
	awsExamplePolicy    = "eyAiZXhwaXJhdGlvbiI6ICIyMDE1LTEyLTMwVDEyOjAwOjAwLjAwMFoiLA0KICAiY29uZGl0aW9ucyI6IFsNCiAgICB7ImJ1Y2tldCI6ICJzaWd2NGV4YW1wbGVidWNrZXQifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRrZXkiLCAidXNlci91c2VyMS8iXSwNCiAgICB7ImFjbCI6ICJwdWJsaWMtcmVhZCJ9LA0KICAgIHsic3VjY2Vzc19hY3Rpb25fcmVkaXJlY3QiOiAiaHR0cDovL3NpZ3Y0ZXhhbXBsZWJ1Y2tldC5zMy5hbWF6b25hd3MuY29tL3N1Y2Nlc3NmdWxfdXBsb2FkLmh0bWwifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRDb250ZW50LVR5cGUiLCAiaW1hZ2UvIl0sDQogICAgeyJ4LWFtei1tZXRhLXV1aWQiOiAiMTQzNjUxMjM2NTEyNzQifSwNCiAgICB7IngtYW16LXNlcnZlci1zaWRlLWVuY3J5cHRpb24iOiAiQUVTMjU2In0sDQogICAgWyJzdGFydHMtd2l0aCIsICIkeC1hbXotbWV0YS10YWciLCAiIl0sDQoNCiAgICB7IngtYW16LWNyZWRlbnRpYWwiOiAiQUtJQUlPU0ZPRE5ON0VYQU1QTEUvMjAxNTEyMjkvdXMtZWFzdC0xL3MzL2F3czRfcmVxdWVzdCJ9LA0KICAgIHsieC1hbXotYWxnb3JpdGhtIjogIkFXUzQtSE1BQy1TSEEyNTYifSwNCiAgICB7IngtYW16LWRhdGUiOiAiMjAxNTEyMjlUMDAwMDAwWiIgfQ0KICBdDQp9"
	awsExampleSignature = "8afdbf4008c03f22c2cd3cdb72e4afbb1f6a588f3255ac628749a66d7f09699e"
	awsExampleSecret    = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

func TestPostSignatureMatchesTheAWSExample(t *testing.T) {
	policy, err := base64.StdEncoding.DecodeString(awsExamplePolicy)
	if err != nil || !bytes.Contains(policy, []byte(`{"bucket": "sigv4examplebucket"},`+"\r\n")) {
		t.Fatalf("the example policy decodes to %q, %v", policy, err)
	}
	if got := s3link.PostSignature(awsExampleSecret, "20151229", "us-east-1", awsExamplePolicy); got != awsExampleSignature {
		t.Errorf("signature %s, AWS publishes %s", got, awsExampleSignature)
	}
}

var testCreds = credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "session-token")

// TestPresignPostBindsKeyTypeAndSize: the policy S3 will enforce names the
// exact key and type, 1..maxSize bytes and the TTL, and the fields the
// browser posts agree with it and are signed.
func TestPresignPostBindsKeyTypeAndSize(t *testing.T) {
	now := time.Date(2026, 12, 7, 22, 1, 2, 0, time.UTC)
	links := s3link.Links{Credentials: testCreds, Region: "eu-west-1", Bucket: "parley-media", Now: func() time.Time { return now }}
	key := "media/ws1/up/01J/photo.png"
	form, err := links.PresignPost(context.Background(), key, "image/png", 5<<20, 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if form.URL != "https://parley-media.s3.eu-west-1.amazonaws.com/" {
		t.Errorf("URL %s", form.URL)
	}
	credential := "AKIDTEST/20261207/eu-west-1/s3/aws4_request"
	want := map[string]string{
		"key": key, "Content-Type": "image/png", "x-amz-algorithm": "AWS4-HMAC-SHA256",
		"x-amz-credential": credential, "x-amz-date": "20261207T220102Z", "x-amz-security-token": "session-token",
		"policy": form.Fields["policy"], "x-amz-signature": s3link.PostSignature("secret", "20261207", "eu-west-1", form.Fields["policy"]),
	}
	if fmt.Sprint(form.Fields) != fmt.Sprint(want) {
		t.Errorf("fields\n%v\nwant\n%v", form.Fields, want)
	}
	raw, err := base64.StdEncoding.DecodeString(form.Fields["policy"])
	if err != nil {
		t.Fatal(err)
	}
	var policy struct {
		Expiration string            `json:"expiration"`
		Conditions []json.RawMessage `json:"conditions"`
	}
	if err := json.Unmarshal(raw, &policy); err != nil {
		t.Fatalf("policy %s: %v", raw, err)
	}
	if policy.Expiration != "2026-12-07T22:16:02.000Z" {
		t.Errorf("expiration %s, want now + 15 min", policy.Expiration)
	}
	var got []string
	for _, c := range policy.Conditions {
		got = append(got, string(c))
	}
	wantConditions := []string{
		`{"bucket":"parley-media"}`,
		`{"key":"media/ws1/up/01J/photo.png"}`,
		`{"Content-Type":"image/png"}`,
		`["content-length-range",1,5242880]`,
		`{"x-amz-algorithm":"AWS4-HMAC-SHA256"}`,
		`{"x-amz-credential":"` + credential + `"}`,
		`{"x-amz-date":"20261207T220102Z"}`,
		`{"x-amz-security-token":"session-token"}`,
	}
	if strings.Join(got, "\n") != strings.Join(wantConditions, "\n") {
		t.Errorf("conditions\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantConditions, "\n"))
	}

	// Without a session token neither the field nor the condition appears.
	links.Credentials = credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")
	form, _ = links.PresignPost(context.Background(), key, "image/png", 1, time.Minute)
	raw, _ = base64.StdEncoding.DecodeString(form.Fields["policy"])
	if _, ok := form.Fields["x-amz-security-token"]; ok || bytes.Contains(raw, []byte("security-token")) {
		t.Errorf("a token without one: %v %s", form.Fields, raw)
	}
}

var authorization = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=AKIDTEST/(\d{8})/eu-west-1/s3/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=[0-9a-f]{64}$`)

// checkSigned fails unless r carries a SigV4 signature for s3 that the
// SDK's signer, given the headers r names, computes the same.
func checkSigned(t *testing.T, r *http.Request) {
	t.Helper()
	m := authorization.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil {
		t.Errorf("Authorization %q", r.Header.Get("Authorization"))
		return
	}
	for _, h := range []string{"host", "x-amz-content-sha256", "x-amz-date", "x-amz-security-token"} {
		if !strings.Contains(";"+m[2]+";", ";"+h+";") {
			t.Errorf("SignedHeaders %s lacks %s", m[2], h)
		}
	}
	if r.Header.Get("X-Amz-Content-Sha256") != "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" {
		t.Errorf("X-Amz-Content-Sha256 %q", r.Header.Get("X-Amz-Content-Sha256"))
	}
	at, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		t.Error(err)
		return
	}
	again, _ := http.NewRequest(r.Method, "http://"+r.Host+r.URL.EscapedPath(), nil)
	for _, h := range strings.Split(m[2], ";") {
		if h != "host" && h != "x-amz-date" && h != "x-amz-security-token" {
			again.Header.Set(h, r.Header.Get(h))
		}
	}
	creds, _ := testCreds.Retrieve(context.Background())
	_ = v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }).
		SignHTTP(context.Background(), creds, again, r.Header.Get("X-Amz-Content-Sha256"), "s3", "eu-west-1", at)
	if again.Header.Get("Authorization") != r.Header.Get("Authorization") {
		t.Errorf("Authorization\n%s\nre-signed\n%s", r.Header.Get("Authorization"), again.Header.Get("Authorization"))
	}
}

const s3NotFound = `<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>%s</Key><RequestId>4442587FB7D0A2F9</RequestId></Error>`

// fakeS3 answers GETs as S3 does: whole objects, byte ranges, 416 for a
// range of an empty object, XML errors.
func fakeS3(t *testing.T, objects map[string][]byte) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		checkSigned(t, r)
		key := strings.TrimPrefix(r.URL.Path, "/")
		xmlError := func(status int, body string) {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(status)
			io.WriteString(w, body)
		}
		switch key {
		case "media/ws1/denied":
			xmlError(403, `<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`)
			return
		case "media/ws1/moved":
			w.Header().Set("Location", "https://elsewhere.example/")
			xmlError(301, `<Error><Code>PermanentRedirect</Code><Message>use another endpoint</Message></Error>`)
			return
		case "media/ws1/chunked": // no Content-Length: the reader must stop itself
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(200)
			w.(http.Flusher).Flush()
			io.WriteString(w, strings.Repeat("x", 100))
			return
		}
		data, ok := objects[key]
		if !ok {
			xmlError(404, fmt.Sprintf(s3NotFound, key))
			return
		}
		w.Header().Set("Content-Type", "image/png")
		w.Header().Set("Accept-Ranges", "bytes")
		rng := r.Header.Get("Range")
		if rng == "" {
			w.Header().Set("Content-Length", strconv.Itoa(len(data)))
			w.Write(data)
			return
		}
		var first, last int
		if _, err := fmt.Sscanf(rng, "bytes=%d-%d", &first, &last); err != nil {
			t.Errorf("Range %q", rng)
		}
		if len(data) == 0 {
			xmlError(416, `<Error><Code>InvalidRange</Code><Message>The requested range is not satisfiable</Message><RangeRequested>`+rng+`</RangeRequested><ActualObjectSize>0</ActualObjectSize></Error>`)
			return
		}
		last = min(last, len(data)-1)
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", first, last, len(data)))
		w.Header().Set("Content-Length", strconv.Itoa(last-first+1))
		w.WriteHeader(206)
		w.Write(data[first : last+1])
	}))
	t.Cleanup(srv.Close)
	return srv
}

func wantKind(t *testing.T, err error, kind inbox.Kind) {
	t.Helper()
	if got := inbox.ErrorKind(err); err == nil || got != kind {
		t.Errorf("error = %v (kind %q), want kind %q", err, got, kind)
	}
}

func TestStatAndGet(t *testing.T) {
	png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{7}, 2000)...)
	srv := fakeS3(t, map[string][]byte{"media/ws1/up/1/a.png": png, "media/ws1/small": []byte("tiny"), "media/ws1/empty": {}})
	links := s3link.Links{Credentials: testCreds, Region: "eu-west-1", Bucket: "parley-media", Endpoint: srv.URL}
	ctx := context.Background()

	obj, err := links.Stat(ctx, "media/ws1/up/1/a.png")
	if err != nil || obj.Size != int64(len(png)) || obj.ContentType != "image/png" || !bytes.Equal(obj.Head, png[:512]) {
		t.Errorf("Stat = %+v, %v; want %d bytes, image/png, the first 512", obj, err, len(png))
	}
	obj, err = links.Stat(ctx, "media/ws1/small")
	if err != nil || obj.Size != 4 || string(obj.Head) != "tiny" {
		t.Errorf("Stat small = %+v, %v", obj, err)
	}
	obj, err = links.Stat(ctx, "media/ws1/empty")
	if err != nil || obj.Size != 0 || len(obj.Head) != 0 || obj.ContentType != "" {
		t.Errorf("Stat empty = %+v, %v", obj, err)
	}
	_, err = links.Stat(ctx, "media/ws1/missing")
	wantKind(t, err, inbox.KindNotFound)
	_, err = links.Stat(ctx, "media/ws1/denied")
	wantKind(t, err, inbox.KindUnavailable)
	if err == nil || !strings.Contains(err.Error(), "AccessDenied") {
		t.Errorf("the S3 code is not in %v", err)
	}
	_, err = links.Stat(ctx, "media/ws1/moved")
	wantKind(t, err, inbox.KindUnavailable)

	data, err := links.Get(ctx, "media/ws1/up/1/a.png", int64(len(png)))
	if err != nil || !bytes.Equal(data, png) {
		t.Errorf("Get = %d bytes, %v", len(data), err)
	}
	_, err = links.Get(ctx, "media/ws1/up/1/a.png", int64(len(png))-1)
	wantKind(t, err, inbox.KindInvalid)
	_, err = links.Get(ctx, "media/ws1/chunked", 99)
	wantKind(t, err, inbox.KindInvalid)
	if data, err := links.Get(ctx, "media/ws1/chunked", 100); err != nil || len(data) != 100 {
		t.Errorf("Get chunked = %d bytes, %v", len(data), err)
	}
	_, err = links.Get(ctx, "media/ws1/missing", 10)
	wantKind(t, err, inbox.KindNotFound)
	_, err = links.Get(ctx, "media/ws1/moved", 10)
	wantKind(t, err, inbox.KindUnavailable)
}

type captureDoer struct{ req *http.Request }

func (c *captureDoer) Do(r *http.Request) (*http.Response, error) {
	c.req = r
	return &http.Response{StatusCode: 206, Header: http.Header{"Content-Range": {"bytes 0-3/4"}, "Content-Type": {"image/png"}},
		Body: io.NopCloser(strings.NewReader("tiny")), ContentLength: 4, Request: r}, nil
}

// TestStatSignsLikeTheSDK: Stat's request names the same object, range,
// payload hash and credential scope as the S3 client's ranged GetObject,
// and signs no header the client would not.
func TestStatSignsLikeTheSDK(t *testing.T) {
	now := time.Date(2026, 12, 7, 22, 1, 2, 0, time.UTC)
	var ours *http.Request
	links := s3link.Links{Credentials: testCreds, Region: "eu-west-1", Bucket: "parley-media", Now: func() time.Time { return now },
		HTTP: &http.Client{Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
			ours = r
			return (&captureDoer{}).Do(r)
		})}}
	if _, err := links.Stat(context.Background(), "media/ws1/up/1/a.png"); err != nil {
		t.Fatal(err)
	}
	sdk := &captureDoer{}
	client := s3.New(s3.Options{Region: "eu-west-1", Credentials: testCreds, HTTPClient: sdk})
	if _, err := client.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("parley-media"), Key: aws.String("media/ws1/up/1/a.png"), Range: aws.String("bytes=0-511")}); err != nil {
		t.Fatal(err)
	}
	if ours.URL.Host != sdk.req.URL.Host || ours.URL.EscapedPath() != sdk.req.URL.EscapedPath() {
		t.Errorf("ours %s, the SDK's %s", ours.URL, sdk.req.URL)
	}
	for _, h := range []string{"Range", "X-Amz-Content-Sha256", "X-Amz-Security-Token"} {
		if ours.Header.Get(h) != sdk.req.Header.Get(h) {
			t.Errorf("%s %q, the SDK's %q", h, ours.Header.Get(h), sdk.req.Header.Get(h))
		}
	}
	signed := func(r *http.Request) (scope string, headers []string) {
		m := regexp.MustCompile(`Credential=AKIDTEST/\d{8}(/[^,]+), SignedHeaders=([^,]+),`).FindStringSubmatch(r.Header.Get("Authorization"))
		if m == nil {
			t.Fatalf("Authorization %q", r.Header.Get("Authorization"))
		}
		return m[1], strings.Split(m[2], ";")
	}
	ourScope, ourHeaders := signed(ours)
	sdkScope, sdkHeaders := signed(sdk.req)
	if ourScope != sdkScope {
		t.Errorf("scope %s, the SDK's %s", ourScope, sdkScope)
	}
	for _, h := range ourHeaders {
		if !strings.Contains(";"+strings.Join(sdkHeaders, ";")+";", ";"+h+";") {
			t.Errorf("we sign %s; the SDK signs %v", h, sdkHeaders)
		}
	}
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
