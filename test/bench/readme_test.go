package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parley-inbox/parley/shared/dev/dynamolocal"
)

// TestREADMECostsAreMeasured runs the bench's per-operation measurements
// (request units are counts, not timings: the same on any machine) and
// holds the README's cost table to them, so the two cannot drift. Only the
// rows of the large workspace are left to make bench, which seeds it.
func TestREADMECostsAreMeasured(t *testing.T) {
	if testing.Short() {
		t.Skip("measures every operation on DynamoDB Local")
	}
	root, err := dynamolocal.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	documented, err := readmeRows(string(doc))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	srv, err := dynamolocal.Start(ctx, dynamolocal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	b := measureOperations(ctx, srv.Endpoint, 0)
	measured := map[string]bool{}
	for _, r := range b.rows {
		measured[r.op] = true
		got, ok := documented[r.op]
		switch {
		case !ok:
			t.Errorf("README has no row for %q (%g RRU, %g WRU): run make bench", r.op, r.read, r.write)
		case got != [2]float64{r.read, r.write}:
			t.Errorf("README says %q costs %g RRU / %g WRU; measured %g / %g: run make bench", r.op, got[0], got[1], r.read, r.write)
		}
	}
	for op := range documented {
		if !measured[op] && !strings.Contains(op, "of 20000") {
			t.Errorf("README row %q is not measured by the bench", op)
		}
	}
}
