package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/parley-inbox/parley/shared/adapter/dynamo"
	"github.com/parley-inbox/parley/shared/dev/objectstore"
	"github.com/parley-inbox/parley/shared/inbox"
)

// measureMerge prices a contact merge per message moved: a Messenger
// contact's 100-message thread joining a phone contact's thread.
func (b *bench) measureMerge(ctx context.Context, ws string) {
	intake := inbox.NewIntake(b.store, inbox.SystemClock{})
	const n = 100
	var phoneConv, psidConv *inbox.Conversation
	for i := range n {
		res, err := intake.Ingest(ctx, inbox.Inbound{WorkspaceID: ws, Channel: inbox.ChannelMessenger, Kind: inbox.KindMessage,
			ProviderID: fmt.Sprintf("m_benchmerge%d", i), From: inbox.Correspondent{Handle: "9000000000000777"}, Body: fmt.Sprintf("message %d", i)})
		check(err)
		psidConv = res.Conversation
	}
	res, err := intake.Ingest(ctx, inbox.Inbound{WorkspaceID: ws, Channel: inbox.ChannelSMS, Kind: inbox.KindMessage,
		ProviderID: twilioSID("SMbenchmerge"), From: inbox.Correspondent{Phone: "+14155550193"}, Body: "hello"})
	check(err)
	phoneConv = res.Conversation
	desk := inbox.NewDesk(b.store, inbox.SystemClock{}, nil, nil)
	agent := inbox.Actor{WorkspaceID: ws, UserID: "bench-agent", Role: inbox.RoleAgent}
	var m dynamo.Meter
	merge, err := desk.MergeContacts(dynamo.WithMeter(ctx, &m), agent, phoneConv.ContactID, psidConv.ContactID, 0)
	check(err)
	if merge.Status != inbox.MergeDone {
		check(fmt.Errorf("the bench's merge is %s", merge.Status))
	}
	b.rows = append(b.rows, row{op: fmt.Sprintf("contact merge, per message moved (%d messages)", n), read: m.Read / n, write: m.Write / n, calls: m.Calls / n})
}

// measureImport prices a CSV import per row: 200 new contacts with a
// phone, an email, tags and a consent column, run as functions/exporter
// runs an import (paced at 50 rows a second).
func (b *bench) measureImport(ctx context.Context, ws string) {
	dir, err := os.MkdirTemp("", "parley-bench-import-")
	check(err)
	defer os.RemoveAll(dir)
	files := &objectstore.Files{Root: dir, BaseURL: "http://bench/dev/objects", Key: []byte("bench")}
	const n = 200
	var csv strings.Builder
	csv.WriteString("name,phone,email,tags,sms_consent\n")
	for i := range n {
		fmt.Fprintf(&csv, "Import %d,+1415556%04d,import%d@example.com,vip;spring,opted_in\n", i, i, i)
	}
	key := inbox.MediaPrefix(ws) + "up/" + inbox.NewID(time.Now()) + "/contacts.csv"
	check(files.Put(ctx, key, "text/csv", func(w io.Writer) error { _, err := io.WriteString(w, csv.String()); return err }))
	imports := inbox.NewImports(b.store, inbox.SystemClock{}, files, files, noImportRunner{})
	admin := inbox.Actor{WorkspaceID: ws, UserID: "bench-admin", Role: inbox.RoleAdmin}
	job, err := imports.StartImport(ctx, admin, inbox.ImportInput{Key: key})
	check(err)
	var m dynamo.Meter
	start := time.Now()
	for more := true; more; {
		_, more, err = imports.RunImport(dynamo.WithMeter(ctx, &m), ws, job.ID)
		check(err)
	}
	fmt.Fprintf(os.Stderr, "import: %d rows in %s\n", n, time.Since(start).Round(time.Millisecond))
	b.rows = append(b.rows, row{op: fmt.Sprintf("contact import, per new row (%d rows)", n), read: m.Read / n, write: m.Write / n, calls: m.Calls / n})
}

type noImportRunner struct{}

func (noImportRunner) RunImportAsync(context.Context, string, string) error { return nil }
