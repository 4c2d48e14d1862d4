// Package objectstore reads objects such as the raw emails SES stores: from
// S3 in AWS, from a local folder in development and tests.
package objectstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/parley-inbox/parley/shared/inbox"
)

// Getter reads a whole object.
type Getter interface {
	Get(ctx context.Context, bucket, key string) ([]byte, error)
}

// DefaultMaxBytes is SES's limit on a received email stored in S3.
const DefaultMaxBytes = 40 << 20

// S3 reads objects from Amazon S3.
type S3 struct {
	Client *s3.Client
	// MaxBytes bounds an object read into memory; 0 means DefaultMaxBytes.
	MaxBytes int64
}

// Get returns the object. A missing object or bucket is KindNotFound, an
// object over MaxBytes KindInvalid, anything else KindUnavailable.
func (s S3) Get(ctx context.Context, bucket, key string) ([]byte, error) {
	max := s.MaxBytes
	if max <= 0 {
		max = DefaultMaxBytes
	}
	out, err := s.Client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		var noKey *types.NoSuchKey
		var noBucket *types.NoSuchBucket
		var api smithy.APIError
		if errors.As(err, &noKey) || errors.As(err, &noBucket) || errors.As(err, &api) && api.ErrorCode() == "NotFound" {
			return nil, &inbox.Error{Kind: inbox.KindNotFound, Message: "object not found", Err: err}
		}
		return nil, &inbox.Error{Kind: inbox.KindUnavailable, Message: "object could not be read", Err: err}
	}
	defer out.Body.Close()
	if aws.ToInt64(out.ContentLength) > max {
		return nil, tooLarge(bucket, key, max)
	}
	return readAtMost(out.Body, max, bucket, key)
}

func readAtMost(r io.Reader, max int64, bucket, key string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, &inbox.Error{Kind: inbox.KindUnavailable, Message: "object could not be read", Err: err}
	}
	if int64(len(data)) > max {
		return nil, tooLarge(bucket, key, max)
	}
	return data, nil
}

func tooLarge(bucket, key string, max int64) error {
	return &inbox.Error{Kind: inbox.KindInvalid, Message: "object is too large", Err: fmt.Errorf("s3://%s/%s is over %d bytes", bucket, key, max)}
}

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
	return readAtMost(f, DefaultMaxBytes, bucket, key)
}

// local accepts a relative name with no ".." segment at all, even one that
// would stay inside.
func local(name string) bool {
	return filepath.IsLocal(name) && !slices.Contains(strings.FieldsFunc(name, isSep), "..")
}

func isSep(r rune) bool { return r == '/' || r == '\\' }
