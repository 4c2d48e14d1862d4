package dynamo_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-inbox/parley/shared/adapter/dynamo"
	"github.com/parley-inbox/parley/shared/inbox"
)

// memFiles holds uploads and reports in memory.
type memFiles struct {
	mu    sync.Mutex
	files map[string][]byte
}

func (m *memFiles) Get(_ context.Context, key string, max int64) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.files[key]
	if !ok {
		return nil, inbox.Errorf(inbox.KindNotFound, "no %s", key)
	}
	if int64(len(b)) > max {
		return nil, inbox.Invalid("key", "too large")
	}
	return b, nil
}

func (m *memFiles) Stat(_ context.Context, key string) (*inbox.StoredObject, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.files[key]
	if !ok {
		return nil, inbox.Errorf(inbox.KindNotFound, "no %s", key)
	}
	return &inbox.StoredObject{Size: int64(len(b)), ContentType: "text/csv"}, nil
}

func (m *memFiles) Put(_ context.Context, key, _ string, write func(io.Writer) error) error {
	var b bytes.Buffer
	if err := write(&b); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.files[key] = b.Bytes()
	return nil
}

func (m *memFiles) PresignGet(_ context.Context, key, _ string, _ time.Duration) (string, error) {
	return "mem://" + key, nil
}

type noRunner struct{}

func (noRunner) RunImportAsync(context.Context, string, string) error { return nil }

// importFile starts an import of data and returns the use case and job.
func importFile(t *testing.T, f *claimsFixture, data string) (*inbox.Imports, *memFiles, *inbox.ContactImport) {
	t.Helper()
	files := &memFiles{files: map[string][]byte{}}
	key := inbox.MediaPrefix(f.actor.WorkspaceID) + "up/" + inbox.NewID(time.Now()) + "/contacts.csv"
	files.files[key] = []byte(data)
	imports := inbox.NewImports(f.store, nil, files, files, noRunner{})
	imports.Rate = 1e6 // as fast as the store goes
	im, err := imports.StartImport(context.Background(), f.actor, inbox.ImportInput{Key: key, Tags: []string{"imported"}})
	if err != nil {
		t.Fatal(err)
	}
	return imports, files, im
}

// An import stopped at its run's budget checkpoints and the next run goes
// on from there: no row is lost or counted twice. Bad bytes fail one row.
// It logs the throughput and write units per row.
func TestImportResumesFromCheckpoint(t *testing.T) {
	f := newClaimsFixture(t)
	ctx := context.Background()
	const n = 500
	var b strings.Builder
	b.WriteString("name,phone,email,tags,sms_consent\n")
	for i := range n {
		fmt.Fprintf(&b, "Person %d,+1415556%04d,p%d@example.com,a;b,opted_in\n", i, i, i)
	}
	b.WriteString("Bad \xff bytes,+14155570000,,,\n")
	store, _ := f.billed()
	imports, files, im := importFile(t, f, b.String())
	imports = inbox.NewImports(store, nil, files, files, noRunner{})
	imports.Rate = 1e6
	imports.Budget = time.Nanosecond // hand over at the first checkpoint
	var meter dynamo.Meter
	start := time.Now()
	runs := 0
	for {
		runs++
		got, more, err := imports.RunImport(dynamo.WithMeter(ctx, &meter), f.actor.WorkspaceID, im.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !more {
			im = got
			break
		}
		if runs > 10 {
			t.Fatal("the import never finishes")
		}
	}
	elapsed := time.Since(start)
	if im.Status != inbox.ImportDone || im.Rows != n+1 || im.Created != n || im.Failed != 1 || runs < 3 {
		t.Fatalf("import = %+v after %d runs; want done, %d created, 1 failed, over at least 3 runs", im, runs, n)
	}
	report := string(files.files[im.ReportKey()])
	if !strings.Contains(report, fmt.Sprintf("%d,failed,,the row is not UTF-8", n+1)) {
		t.Errorf("the report misses the bad row:\n%s", report[max(0, len(report)-300):])
	}
	c, err := f.store.FindContactByEmail(ctx, f.actor.WorkspaceID, "p499@example.com")
	if err != nil || c.ConsentOn(inbox.ChannelSMS).Source != inbox.ConsentSourceImport {
		t.Errorf("last contact: %+v, %v", c, err)
	}
	t.Logf("import of %d rows in %d runs: %s (%.0f rows/s unpaced on DynamoDB Local), %.1f WRU (transactions as billed) and %.1f RRU per row",
		n, runs, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds(), meter.Write/n, meter.Read/n)
}

// Duplicates within the file are skipped, and rows matching an existing
// contact update it, through the same claims.
func TestImportDedupes(t *testing.T) {
	f := newClaimsFixture(t)
	ctx := context.Background()
	existing, err := f.svc.CreateContact(ctx, f.actor, inbox.ContactInput{Name: "Here", Emails: []string{"here@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	imports, _, im := importFile(t, f, "email,phone\nhere@example.com,+14155551234\nHERE@example.com,\nnew@example.com,+14155551234\n")
	im, _, err = imports.RunImport(ctx, f.actor.WorkspaceID, im.ID)
	if err != nil {
		t.Fatal(err)
	}
	if im.Updated != 1 || im.Skipped != 2 || im.Created != 0 {
		t.Errorf("import = %+v; want 1 updated, 2 skipped", im)
	}
	got, err := f.store.FindContactByPhone(ctx, f.actor.WorkspaceID, "+14155551234")
	if err != nil || got.ID != existing.ID {
		t.Errorf("the phone went to %+v (%v), want the existing contact", got, err)
	}
}

// A file over the size limit is refused before anything starts; one that
// is not CSV, or whose header is too wide, fails as a whole.
func TestImportRefusesBadFiles(t *testing.T) {
	f := newClaimsFixture(t)
	ctx := context.Background()
	files := &memFiles{files: map[string][]byte{}}
	key := inbox.MediaPrefix(f.actor.WorkspaceID) + "up/" + inbox.NewID(time.Now()) + "/big.csv"
	files.files[key] = make([]byte, inbox.MaxImportBytes+1)
	imports := inbox.NewImports(f.store, nil, files, files, noRunner{})
	if _, err := imports.StartImport(ctx, f.actor, inbox.ImportInput{Key: key}); !inbox.IsKind(err, inbox.KindInvalid) {
		t.Errorf("a file over 20 MB: err = %v, want invalid", err)
	}
	agent := f.actor
	agent.Role = inbox.RoleAgent
	if _, err := imports.StartImport(ctx, agent, inbox.ImportInput{Key: key}); !inbox.IsKind(err, inbox.KindForbidden) {
		t.Errorf("an agent's import: err = %v, want forbidden", err)
	}
	for name, data := range map[string]string{
		"quotes":  "name,phone\n\"Ada,+14155550100\n",
		"columns": strings.Repeat("name,", inbox.MaxImportColumns) + "phone\nAda,+14155550100\n",
		"nothing": "tags\nvip\n",
	} {
		imports, _, im := importFile(t, f, data)
		im, _, err := imports.RunImport(ctx, f.actor.WorkspaceID, im.ID)
		if name == "quotes" {
			// A broken quote swallows the rest of the file: that row fails.
			if err != nil || im.Status != inbox.ImportDone || im.Failed != 1 {
				t.Errorf("%s: %+v, %v; want done with the row failed", name, im, err)
			}
			continue
		}
		if err != nil || im.Status != inbox.ImportFailed || im.Error == "" {
			t.Errorf("%s: %+v, %v; want failed with a reason", name, im, err)
		}
	}
}
