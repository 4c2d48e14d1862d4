package dynamolocal_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/parley-inbox/parley/shared/dev/dynamolocal"
)

// make dev passes a relative data directory (.local/dynamodb); it must not
// be read relative to the jar's directory, where the process runs.
func TestStartWithARelativeDataDirectory(t *testing.T) {
	cwd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(cwd, filepath.Join(t.TempDir(), "dynamodb"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := dynamolocal.Start(context.Background(), dynamolocal.Options{DBPath: rel})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	if _, err := dynamolocal.Client(srv.Endpoint).ListTables(context.Background(), &dynamodb.ListTablesInput{}); err != nil {
		t.Fatalf("list tables: %v", err)
	}
	if _, err := os.Stat(rel); err != nil {
		t.Errorf("the data directory was not created where asked: %v", err)
	}
}
