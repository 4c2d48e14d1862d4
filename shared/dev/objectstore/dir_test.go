package objectstore_test

import (
	"context"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-inbox/parley/shared/dev/objectstore"
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
func TestDirGet(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, bucket, "inbound"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, bucket, key), []byte(mail), 0o644); err != nil {
		t.Fatal(err)
	}
	// A file beside the root that traversal would reach.
	if err := os.WriteFile(filepath.Join(filepath.Dir(root), "secret"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(filepath.Dir(root), "secret"), filepath.Join(root, bucket, "inbound", "link")); err != nil {
		t.Fatal(err)
	}
	store := objectstore.Dir{Root: root}
	ctx := context.Background()

	data, err := store.Get(ctx, bucket, key)
	if err != nil || string(data) != mail {
		t.Fatalf("Get = %q, %v; want %q", data, err, mail)
	}
	_, err = store.Get(ctx, bucket, "inbound/nope")
	wantKind(t, err, inbox.KindNotFound)

	for _, tt := range []struct{ bucket, key string }{
		{bucket, "../../secret"},
		{bucket, "inbound/../../../secret"},
		{bucket, "inbound/../" + strings.TrimPrefix(key, "inbound/")},
		{bucket, "/etc/passwd"},
		{"..", "secret"},
		{"/", "etc/passwd"},
		{"", key},
		{bucket, ""},
		{bucket, "inbound/link"},
	} {
		_, err := store.Get(ctx, tt.bucket, tt.key)
		if !inbox.IsKind(err, inbox.KindInvalid) {
			t.Errorf("Get(%q, %q) = %v, want KindInvalid", tt.bucket, tt.key, err)
		}
	}
}

func TestFilesPutAndSignedGet(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	files := &objectstore.Files{Root: t.TempDir(), BaseURL: "http://local/dev/objects", Key: []byte("k"), Now: func() time.Time { return now }}
	for _, body := range []string{"first", "second"} { // a retry replaces the object
		if err := files.Put(context.Background(), "exports/demo/1.csv", "text/csv", func(w io.Writer) error {
			_, err := io.WriteString(w, body)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := files.Put(context.Background(), "../escape", "text/csv", func(io.Writer) error { return nil }); err == nil {
		t.Error("a key outside the store was written")
	}
	link, _ := files.PresignGet(context.Background(), "exports/demo/1.csv", "c.csv", time.Minute)
	get := func(link string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		files.Handler().ServeHTTP(rec, httptest.NewRequest("GET", link, nil))
		return rec
	}
	if rec := get(link); rec.Code != 200 || rec.Body.String() != "second" || rec.Header().Get("Content-Disposition") != "attachment; filename=c.csv" {
		t.Errorf("GET = %d %q %v", rec.Code, rec.Body, rec.Header())
	}
	if rec := get(strings.Replace(link, "1.csv", "2.csv", 1)); rec.Code != 403 {
		t.Errorf("another key with the same signature: %d, want 403", rec.Code)
	}
	now = now.Add(2 * time.Minute)
	if rec := get(link); rec.Code != 403 {
		t.Errorf("expired link: %d, want 403", rec.Code)
	}
}
