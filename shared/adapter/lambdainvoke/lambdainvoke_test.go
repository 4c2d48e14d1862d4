package lambdainvoke_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/parley-inbox/parley/shared/adapter/lambdainvoke"
)

// TestRunExportAsync checks the real request shape: an Event invocation of
// the exporter with the job as its payload.
func TestRunExportAsync(t *testing.T) {
	var path, kind, body string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		path, kind, body = r.URL.Path, r.Header.Get("X-Amz-Invocation-Type"), string(b)
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	client := lambda.New(lambda.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""), RetryMaxAttempts: 1})
	runner := lambdainvoke.Exports{Client: client, Function: "parley-exporter"}
	if err := runner.RunExportAsync(context.Background(), "demo", "01JEXPORT"); err != nil {
		t.Fatal(err)
	}
	if path != "/2015-03-31/functions/parley-exporter/invocations" || kind != "Event" || body != `{"workspaceId":"demo","exportId":"01JEXPORT"}` {
		t.Errorf("Invoke = %s %s %s", path, kind, body)
	}
}
