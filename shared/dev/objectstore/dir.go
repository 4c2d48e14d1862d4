// Package objectstore is the local stand-in for S3 (shared/adapter/objectstore):
// objects are files in a folder.
package objectstore

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/parley-inbox/parley/shared/adapter/objectstore"
	"github.com/parley-inbox/parley/shared/inbox"
)

// Dir stands in for S3 locally: object bucket/key is the file
// Root/bucket/key.
type Dir struct{ Root string }

// Get reads Root/bucket/key. Names that could leave Root (.., absolute
// paths, symlinks out) are KindInvalid; a missing file is KindNotFound.
func (d Dir) Get(ctx context.Context, bucket, key string) ([]byte, error) {
	if !local(bucket) || !local(key) {
		return nil, inbox.Invalid("key", "object name %q is not inside the store", bucket+"/"+key)
	}
	// os.OpenInRoot also refuses symlinks that point outside Root.
	f, err := os.OpenInRoot(d.Root, filepath.Join(bucket, key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &inbox.Error{Kind: inbox.KindNotFound, Message: "object not found", Err: err}
	}
	if err != nil {
		return nil, &inbox.Error{Kind: inbox.KindInvalid, Message: "object could not be opened", Err: err}
	}
	defer f.Close()
	return objectstore.ReadAtMost(f, objectstore.DefaultMaxBytes, bucket, key)
}

// local accepts a relative name with no ".." segment at all, even one that
// would stay inside.
func local(name string) bool {
	return filepath.IsLocal(name) && !slices.Contains(strings.FieldsFunc(name, isSep), "..")
}

func isSep(r rune) bool { return r == '/' || r == '\\' }
