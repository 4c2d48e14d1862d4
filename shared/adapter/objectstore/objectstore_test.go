package objectstore_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/parley-inbox/parley/shared/adapter/objectstore"
	"github.com/parley-inbox/parley/shared/inbox"
)

const (
	bucket = "parley-inbound-mail-123456789012"
	key    = "inbound/3q8fj2vm1k9tceu0b7n5hra6lsd4gop2i1xw0y9z"
	mail   = "From: jo@example.com\r\n\r\nhello\r\n"
)

func wantKind(t *testing.T, err error, kind inbox.Kind) {
	t.Helper()
	if got := inbox.ErrorKind(err); err == nil || got != kind {
		t.Fatalf("error = %v (kind %q), want kind %q", err, got, kind)
	}
}

// fakeS3 serves one object the way S3 does, and records requests.
func fakeS3(t *testing.T) (*s3.Client, *[]*http.Request) {
	t.Helper()
	var got []*http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r)
		if r.URL.Path != "/"+bucket+"/"+key {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>` + r.URL.Path + `</Key></Error>`))
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = w.Write([]byte(mail))
	}))
	t.Cleanup(srv.Close)
	client := s3.New(s3.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(srv.URL),
		UsePathStyle:     true,
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		RetryMaxAttempts: 1,
	})
	return client, &got
}

func TestS3Get(t *testing.T) {
	client, got := fakeS3(t)
	data, err := objectstore.S3{Client: client}.Get(context.Background(), bucket, key)
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != mail {
		t.Errorf("object = %q, want %q", data, mail)
	}
	if len(*got) != 1 {
		t.Fatalf("%d requests, want 1", len(*got))
	}
	r := (*got)[0]
	if r.Method != http.MethodGet || r.URL.Path != "/"+bucket+"/"+key {
		t.Errorf("request = %s %s, want GET /%s/%s", r.Method, r.URL.Path, bucket, key)
	}
	if auth := r.Header.Get("Authorization"); !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKIDTEST/") || !strings.Contains(auth, "/us-east-1/s3/aws4_request") {
		t.Errorf("Authorization = %q, want a SigV4 signature for s3 in us-east-1", auth)
	}
}

func TestS3GetMissing(t *testing.T) {
	client, _ := fakeS3(t)
	_, err := objectstore.S3{Client: client}.Get(context.Background(), bucket, "inbound/nope")
	wantKind(t, err, inbox.KindNotFound)
}

func TestS3GetTooLarge(t *testing.T) {
	client, _ := fakeS3(t)
	_, err := objectstore.S3{Client: client, MaxBytes: 8}.Get(context.Background(), bucket, key)
	wantKind(t, err, inbox.KindInvalid)
}

func TestS3GetUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	client := s3.New(s3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), UsePathStyle: true, RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
	})
	_, err := objectstore.S3{Client: client}.Get(context.Background(), bucket, key)
	wantKind(t, err, inbox.KindUnavailable)
}

func TestFilesPutAndPresign(t *testing.T) {
	var method, path, length, ctype, body string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		method, path, length, ctype = r.Method, r.URL.Path, r.Header.Get("Content-Length"), r.Header.Get("Content-Type")
		b, _ := io.ReadAll(r.Body)
		body = string(b)
		w.Header().Set("ETag", `"x"`)
	}))
	t.Cleanup(srv.Close)
	client := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""), RetryMaxAttempts: 1})
	files := objectstore.NewFiles(client, "parley-exports")
	files.TempDir = t.TempDir()
	err := files.Put(context.Background(), "exports/demo/01J.csv", "text/csv; charset=utf-8", func(w io.Writer) error {
		_, err := io.WriteString(w, strings.Repeat("a,b\n", 1000))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if method != "PUT" || path != "/parley-exports/exports/demo/01J.csv" || length != "4000" || ctype != "text/csv; charset=utf-8" || body != strings.Repeat("a,b\n", 1000) {
		t.Errorf("PutObject = %s %s length %s type %q body %d bytes", method, path, length, ctype, len(body))
	}
	if left, _ := os.ReadDir(files.TempDir); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
	link, err := files.PresignGet(context.Background(), "exports/demo/01J.csv", "conversation.csv", 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(link)
	q := u.Query()
	if u.Path != "/parley-exports/exports/demo/01J.csv" || q.Get("X-Amz-Expires") != "900" || q.Get("X-Amz-Signature") == "" ||
		q.Get("response-content-disposition") != "attachment; filename=conversation.csv" {
		t.Errorf("presigned URL = %s", link)
	}
}
