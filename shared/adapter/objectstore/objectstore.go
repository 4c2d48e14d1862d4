// Package objectstore reads objects such as the raw emails SES stores from
// S3. shared/dev/objectstore stands in for it with a local folder.
package objectstore

import (
	"context"
	"errors"
	"fmt"
	"io"

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
	return ReadAtMost(out.Body, max, bucket, key)
}

// ReadAtMost reads r whole, refusing more than max bytes: S3 and its
// local stand-in bound an object the same way.
func ReadAtMost(r io.Reader, max int64, bucket, key string) ([]byte, error) {
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
