package apigw_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"

	"github.com/parley-inbox/parley/shared/adapter/apigw"
	"github.com/parley-inbox/parley/shared/inbox"
)

// request is what the management API received.
type request struct {
	method, path, auth, contentType string
	body                            []byte
}

// managementAPI stands in for a WebSocket API stage's @connections
// endpoint: it records each request and answers with status and, for an
// error, API Gateway's error type header.
type managementAPI struct {
	mu        sync.Mutex
	requests  []request
	status    int
	errorType string
}

func (m *managementAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	m.mu.Lock()
	m.requests = append(m.requests, request{r.Method, r.URL.Path, r.Header.Get("Authorization"), r.Header.Get("Content-Type"), body})
	status, errorType := m.status, m.errorType
	m.mu.Unlock()
	if errorType != "" {
		w.Header().Set("x-amzn-ErrorType", errorType)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, `{"message":null}`)
		return
	}
	w.WriteHeader(status)
}

// connections is the adapter on the real SDK client, whose endpoint is
// the stage's URL as functions/realtime configures it.
func connections(tb testing.TB, status int, errorType string) (apigw.Connections, *managementAPI) {
	tb.Helper()
	api := &managementAPI{status: status, errorType: errorType}
	srv := httptest.NewServer(api)
	tb.Cleanup(srv.Close)
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""), RetryMaxAttempts: 1}
	client := apigatewaymanagementapi.NewFromConfig(cfg, func(o *apigatewaymanagementapi.Options) {
		o.BaseEndpoint = aws.String(srv.URL + "/live")
	})
	return apigw.Connections{Client: client}, api
}

func (m *managementAPI) only(tb testing.TB) request {
	tb.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.requests) != 1 {
		tb.Fatalf("the API got %d requests, want 1", len(m.requests))
	}
	return m.requests[0]
}

const connectionID = "GXLKAfX1oAMCJJw="

func TestPostSendsTheFrameToTheConnection(t *testing.T) {
	c, api := connections(t, http.StatusOK, "")
	frame := []byte(`[{"id":"e1","type":"message.created","message":{"body":"héllo"}}]`)
	if err := c.Post(context.Background(), connectionID, frame); err != nil {
		t.Fatal(err)
	}
	got := api.only(t)
	if got.method != http.MethodPost || got.path != "/live/@connections/"+connectionID {
		t.Errorf("request = %s %s, want POST /live/@connections/%s", got.method, got.path, connectionID)
	}
	if string(got.body) != string(frame) {
		t.Errorf("body = %q, want the frame %q", got.body, frame)
	}
	// Signed for execute-api, which the function's ManageConnections grant covers.
	if !strings.HasPrefix(got.auth, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/") || !strings.Contains(got.auth, "/us-east-1/execute-api/aws4_request") {
		t.Errorf("Authorization = %q, want a SigV4 signature for execute-api", got.auth)
	}
}

func TestPostToALeftConnectionIsGone(t *testing.T) {
	c, _ := connections(t, http.StatusGone, "GoneException")
	err := c.Post(context.Background(), connectionID, []byte(`[]`))
	if !errors.Is(err, inbox.ErrGone) {
		t.Errorf("Post = %v, want inbox.ErrGone", err)
	}
}

func TestPostFailuresOtherThanGone(t *testing.T) {
	for _, tt := range []struct {
		status    int
		errorType string
	}{
		{http.StatusForbidden, "ForbiddenException"},
		{http.StatusRequestEntityTooLarge, "PayloadTooLargeException"},
		{http.StatusTooManyRequests, "LimitExceededException"},
	} {
		t.Run(tt.errorType, func(t *testing.T) {
			c, _ := connections(t, tt.status, tt.errorType)
			err := c.Post(context.Background(), connectionID, []byte(`[]`))
			if err == nil || errors.Is(err, inbox.ErrGone) {
				t.Errorf("Post = %v; want an error that is not ErrGone, so the connection is kept", err)
			}
			if err != nil && !strings.Contains(err.Error(), tt.errorType) {
				t.Errorf("Post = %v, want it to name %s", err, tt.errorType)
			}
		})
	}
}

func TestCloseDeletesTheConnection(t *testing.T) {
	c, api := connections(t, http.StatusNoContent, "")
	if err := c.Close(context.Background(), connectionID); err != nil {
		t.Fatal(err)
	}
	got := api.only(t)
	if got.method != http.MethodDelete || got.path != "/live/@connections/"+connectionID {
		t.Errorf("request = %s %s, want DELETE /live/@connections/%s", got.method, got.path, connectionID)
	}
	if len(got.body) != 0 {
		t.Errorf("DELETE sent a body: %q", got.body)
	}
}

func TestCloseOfALeftConnectionIsNotAnError(t *testing.T) {
	c, _ := connections(t, http.StatusGone, "GoneException")
	if err := c.Close(context.Background(), connectionID); err != nil {
		t.Errorf("Close of a connection already gone = %v, want nil", err)
	}
	c, _ = connections(t, http.StatusForbidden, "ForbiddenException")
	if err := c.Close(context.Background(), connectionID); err == nil {
		t.Error("Close hid a ForbiddenException")
	}
}
