package objectstore_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
