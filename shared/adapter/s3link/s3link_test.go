package s3link_test

import (
	"context"
	"net/url"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/parley-inbox/parley/shared/adapter/s3link"
)

// TestPresignGetMatchesTheSDK: the link carries the same SigV4 query as the
// S3 client's own presigner, for the same object, and is valid for the TTL.
func TestPresignGetMatchesTheSDK(t *testing.T) {
	creds := credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "session-token")
	ctx := context.Background()
	links := s3link.Links{Credentials: creds, Region: "eu-west-1", Bucket: "parley-exports"}
	link, err := links.PresignGet(ctx, "exports/demo/01J.csv", "conversation-01J.csv", 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	client := s3.New(s3.Options{Region: "eu-west-1", Credentials: creds})
	sdk, err := s3.NewPresignClient(client).PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("parley-exports"), Key: aws.String("exports/demo/01J.csv"),
		ResponseContentDisposition: aws.String("attachment; filename=conversation-01J.csv")}, s3.WithPresignExpires(15*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := url.Parse(link)
	want, _ := url.Parse(sdk.URL)
	if got.Host != want.Host || got.Path != want.Path {
		t.Errorf("link %s%s, the SDK's %s%s", got.Host, got.Path, want.Host, want.Path)
	}
	for _, k := range []string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Security-Token", "response-content-disposition"} {
		if got.Query().Get(k) != want.Query().Get(k) {
			t.Errorf("%s = %q, the SDK's %q", k, got.Query().Get(k), want.Query().Get(k))
		}
	}
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(got.Query().Get("X-Amz-Signature")) {
		t.Errorf("signature %q", got.Query().Get("X-Amz-Signature"))
	}
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range got.Query() {
			if !yield(k) {
				return
			}
		}
	})
	if len(keys) != 8 {
		t.Errorf("query keys %v", keys)
	}
	if err := links.Put(ctx, "k", "t", nil); err == nil {
		t.Error("Put wrote through a link signer")
	}
}
