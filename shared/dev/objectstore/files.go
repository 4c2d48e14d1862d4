package objectstore

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/parley-inbox/parley/shared/adapter/objectstore"
	"github.com/parley-inbox/parley/shared/inbox"
)

// Files stands in for the S3 object store (shared/adapter/objectstore.Files):
// object key is the file Root/key, and a presigned GET is a URL of the
// local server, HMAC-signed with Key, that Handler serves until it expires.
type Files struct {
	Root string
	// BaseURL is where Handler is mounted, e.g. http://127.0.0.1:8080/dev/objects.
	BaseURL string
	Key     []byte
	Now     func() time.Time
}

var _ inbox.ObjectStore = (*Files)(nil)

func (f *Files) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

// Put writes the object to a temporary file beside it and renames it into
// place, so a reader never sees half a file and a retry replaces it whole.
func (f *Files) Put(ctx context.Context, key, contentType string, write func(io.Writer) error) error {
	if !local(key) {
		return inbox.Invalid("key", "object name %q is not inside the store", key)
	}
	path := filepath.Join(f.Root, key)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return inbox.Internal(err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".put-*")
	if err != nil {
		return inbox.Internal(err)
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return inbox.Internal(err)
	}
	return os.Rename(tmp.Name(), path)
}

// PresignGet returns BaseURL?key=…&name=…&expires=…&sig=…
func (f *Files) PresignGet(ctx context.Context, key, filename string, ttl time.Duration) (string, error) {
	expires := strconv.FormatInt(f.now().Add(ttl).Unix(), 10)
	q := url.Values{"key": {key}, "name": {filename}, "expires": {expires}, "sig": {f.sign(key, filename, expires)}}
	return f.BaseURL + "?" + q.Encode(), nil
}

func (f *Files) sign(key, filename, expires string) string {
	mac := hmac.New(sha256.New, f.Key)
	mac.Write([]byte(key + "\x00" + filename + "\x00" + expires))
	return hex.EncodeToString(mac.Sum(nil))
}

// Handler serves presigned GETs as S3 would: 403 for a bad or expired
// signature, 404 for a missing object.
func (f *Files) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		key, name, expires := q.Get("key"), q.Get("name"), q.Get("expires")
		exp, err := strconv.ParseInt(expires, 10, 64)
		if err != nil || !hmac.Equal([]byte(q.Get("sig")), []byte(f.sign(key, name, expires))) || f.now().Unix() > exp {
			http.Error(w, "the link is not valid or has expired", http.StatusForbidden)
			return
		}
		if !local(key) {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		file, err := os.OpenInRoot(f.Root, filepath.FromSlash(key))
		if errors.Is(err, fs.ErrNotExist) {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		if err != nil {
			http.Error(w, "not readable", http.StatusInternalServerError)
			return
		}
		defer file.Close()
		ctype := "application/octet-stream"
		switch filepath.Ext(key) {
		case ".csv":
			ctype = "text/csv; charset=utf-8"
		case ".html":
			ctype = "text/html; charset=utf-8"
		}
		w.Header().Set("Content-Type", ctype)
		w.Header().Set("Content-Disposition", objectstore.Attachment(name))
		w.Header().Set("X-Content-Type-Options", "nosniff")
		_, _ = io.Copy(w, file)
	})
}
