package lambdainvoke_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/parley-inbox/parley/shared/adapter/lambdainvoke"
	"github.com/parley-inbox/parley/shared/inbox"
)

// TestRunExportAsync checks the real request shape: a SigV4-signed Event
// invocation of the exporter with the job as its payload.
func TestRunExportAsync(t *testing.T) {
	var path, kind, body, authz string
	status := http.StatusAccepted
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		path, kind, body, authz = r.URL.Path, r.Header.Get("X-Amz-Invocation-Type"), string(b), r.Header.Get("Authorization")
		w.WriteHeader(status)
	}))
	defer srv.Close()
	runner := lambdainvoke.Exports{Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		Region: "us-east-1", Function: "parley-exporter", Endpoint: srv.URL}
	if err := runner.RunExportAsync(context.Background(), "demo", "01JEXPORT"); err != nil {
		t.Fatal(err)
	}
	if path != "/2015-03-31/functions/parley-exporter/invocations" || kind != "Event" || body != `{"workspaceId":"demo","exportId":"01JEXPORT"}` {
		t.Errorf("Invoke = %s %s %s", path, kind, body)
	}
	if !strings.HasPrefix(authz, "AWS4-HMAC-SHA256 Credential=AKIDTEST/") || !strings.Contains(authz, "/us-east-1/lambda/aws4_request") ||
		!strings.Contains(authz, "x-amz-invocation-type") {
		t.Errorf("Authorization = %q, want SigV4 for lambda in us-east-1, signing the invocation type", authz)
	}
	// A refused invocation is unavailable: the caller may retry.
	status = http.StatusTooManyRequests
	if err := runner.RunExportAsync(context.Background(), "demo", "01JEXPORT"); !inbox.IsKind(err, inbox.KindUnavailable) {
		t.Errorf("a 429 from Lambda = %v, want unavailable", err)
	}
}
