package objectstore

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"mime"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/parley-inbox/parley/shared/inbox"
)

// Files writes objects to one bucket and presigns reads of them: the
// domain's object store (exports). shared/dev/objectstore.Files stands in
// for it locally.
type Files struct {
	Client  *s3.Client
	Presign *s3.PresignClient
	Bucket  string
	// TempDir holds a file while it is written, before it is uploaded
	// ("" is os.TempDir, Lambda's /tmp).
	TempDir string
}

var _ inbox.ObjectStore = Files{}

// NewFiles returns the object store on bucket.
func NewFiles(client *s3.Client, bucket string) Files {
	return Files{Client: client, Presign: s3.NewPresignClient(client), Bucket: bucket}
}

// Put streams write's bytes to a temporary file, then uploads it with one
// PutObject: S3 needs the length up front, and the file keeps memory flat
// however large the object is. Putting the same key again replaces it.
func (f Files) Put(ctx context.Context, key, contentType string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(f.TempDir, "parley-object-*")
	if err != nil {
		return inbox.Internal(err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	buf := bufio.NewWriterSize(tmp, 64<<10)
	if err := write(buf); err != nil {
		return err
	}
	if err := buf.Flush(); err != nil {
		return inbox.Internal(err)
	}
	size, err := tmp.Seek(0, io.SeekCurrent)
	if err != nil {
		return inbox.Internal(err)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return inbox.Internal(err)
	}
	_, err = f.Client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(f.Bucket), Key: aws.String(key), Body: tmp,
		ContentLength: aws.Int64(size), ContentType: aws.String(contentType),
	})
	if err != nil {
		return &inbox.Error{Kind: inbox.KindUnavailable, Message: "the file could not be stored", Err: err}
	}
	return nil
}

// PresignGet signs a GetObject of key that downloads as filename, valid
// for ttl.
func (f Files) PresignGet(ctx context.Context, key, filename string, ttl time.Duration) (string, error) {
	req, err := f.Presign.PresignGetObject(ctx, &s3.GetObjectInput{
		Bucket: aws.String(f.Bucket), Key: aws.String(key),
		ResponseContentDisposition: aws.String(Attachment(filename)),
	}, s3.WithPresignExpires(ttl))
	if err != nil {
		return "", &inbox.Error{Kind: inbox.KindUnavailable, Message: "a download link could not be made", Err: err}
	}
	return req.URL, nil
}

// Attachment is a Content-Disposition that downloads as filename.
func Attachment(filename string) string {
	if v := mime.FormatMediaType("attachment", map[string]string{"filename": filename}); v != "" {
		return v
	}
	return fmt.Sprintf("attachment; filename=%q", "download")
}
