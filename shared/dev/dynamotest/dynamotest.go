// Package dynamotest gives integration tests a real DynamoDB Local: one
// process per test binary (or an existing one named by
// PARLEY_TEST_DYNAMODB_ENDPOINT), and a fresh table per test.
package dynamotest

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/parley-inbox/parley/shared/adapter/dynamo"
	"github.com/parley-inbox/parley/shared/dev/dynamolocal"
)

// EndpointEnv names an already running DynamoDB Local to reuse.
const EndpointEnv = "PARLEY_TEST_DYNAMODB_ENDPOINT"

var (
	endpoint string
	tables   atomic.Int64
)

// Main starts DynamoDB Local, runs the package's tests, and stops it.
// Call it from TestMain.
func Main(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	endpoint = os.Getenv(EndpointEnv)
	if endpoint == "" {
		srv, err := dynamolocal.Start(context.Background(), dynamolocal.Options{})
		if err != nil {
			fmt.Fprintln(os.Stderr, "dynamotest:", err)
			return 1
		}
		defer srv.Stop()
		endpoint = srv.Endpoint
	}
	return m.Run()
}

// Endpoint is the DynamoDB Local URL; valid after Main has started.
func Endpoint() string { return endpoint }

// Table creates a fresh table from dynamo.Schema and returns a client and its name.
func Table(tb testing.TB) (*dynamodb.Client, string) {
	tb.Helper()
	if endpoint == "" {
		tb.Fatal("dynamotest: call dynamotest.Main from TestMain")
	}
	client := dynamolocal.Client(endpoint)
	name := fmt.Sprintf("parley-test-%d-%d", os.Getpid(), tables.Add(1))
	if err := dynamo.EnsureTable(context.Background(), client, name); err != nil {
		tb.Fatalf("create table: %v", err)
	}
	tb.Cleanup(func() {
		_, _ = client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: &name})
	})
	return client, name
}

// Store returns a store on a fresh table.
func Store(tb testing.TB) *dynamo.Store {
	tb.Helper()
	client, name := Table(tb)
	return dynamo.New(client, name, []byte("test-cursor-secret"))
}
