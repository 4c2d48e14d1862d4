// Package events_test runs every sample event in this folder through the
// handler that receives it in AWS.
package events_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/parley-inbox/parley/shared/auth"
	"github.com/parley-inbox/parley/shared/dev/dynamotest"
	"github.com/parley-inbox/parley/shared/dev/inboxtest"
	"github.com/parley-inbox/parley/shared/dev/localstack"
	"github.com/parley-inbox/parley/shared/handler/api"
)

func TestMain(m *testing.M) { dynamotest.Main(m) }

func TestAPIGatewayEventsThroughLambdaHandler(t *testing.T) {
	store := dynamotest.Store(t)
	if err := localstack.Seed(context.Background(), store); err != nil {
		t.Fatal(err)
	}
	handler := api.New(store, inboxtest.Missing{}, inboxtest.Missing{}, api.Exports{}, auth.APIGateway{}, slog.New(slog.NewTextHandler(io.Discard, nil))).LambdaHandler()

	tests := []struct {
		file       string
		wantStatus int
		// wantBody is a substring the body must contain.
		wantBody string
	}{
		{"apigw-v2-start-conversation.json", 201, `"contactName":"Jo Customer"`},
		{"apigw-v2-list-conversations.json", 200, `"items":[{`},
		{"apigw-v2-create-label-base64.json", 201, `"name":"Billing"`},
		{"apigw-v2-agent-patch-workspace.json", 403, `"code":"forbidden"`},
		{"apigw-v2-unknown-field.json", 400, `"field":"nickname"`},
		{"apigw-v2-no-claims.json", 401, `"code":"unauthorized"`},
		{"apigw-v2-openapi.json", 200, `"openapi": "3.1.0"`},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			raw, err := os.ReadFile(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			var ev events.APIGatewayV2HTTPRequest
			if err := json.Unmarshal(raw, &ev); err != nil {
				t.Fatalf("decode sample: %v", err)
			}
			res, err := handler(context.Background(), ev)
			if err != nil {
				t.Fatalf("handler: %v", err)
			}
			if res.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d; body %s", res.StatusCode, tt.wantStatus, res.Body)
			}
			if !strings.Contains(res.Body, tt.wantBody) {
				t.Errorf("body = %s, want it to contain %s", res.Body, tt.wantBody)
			}
		})
	}
}
