package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parley-inbox/parley/shared/adapter/dynamo"
	"github.com/parley-inbox/parley/shared/dev/localstack"
	"github.com/parley-inbox/parley/shared/dev/objectstore"
	"github.com/parley-inbox/parley/shared/inbox"
)

// The export's figures sit between these markers; make bench writes them.
// Times and heap vary from run to run, so no test holds them.
const (
	exportBegin = "<!-- make bench: export -->"
	exportEnd   = "<!-- /make bench: export -->"
)

// exportRun is one export measured.
type exportRun struct {
	messages int
	how      string // "csv", "html", "background csv"
	took     time.Duration
	rru      float64
	queries  int
	bytes    int64
	// peakHeap is the most heap in use above the baseline while exporting,
	// sampled every millisecond; allocated is what the export allocated in all.
	peakHeap, allocated uint64
}

type exportReport struct {
	runs []exportRun
	// countRRU is GET .../export's keys-only count on the largest thread,
	// stopped past api.DefaultInlineMax.
	countRRU float64
	ran      time.Time
}

// benchExports seeds threads of 1,000 and 10,000 messages over 29 days and
// exports each as CSV and HTML to io.Discard, and the larger one in the
// background to the local object store, measuring time, units and heap.
func (b *bench) benchExports(ctx context.Context, sizes []int) exportReport {
	actor := inbox.Actor{WorkspaceID: localstack.DemoWorkspace, UserID: localstack.DemoAdmin, Role: inbox.RoleAdmin}
	desk := inbox.NewDesk(b.store, inbox.SystemClock{}, noSchedule{}, nil)
	dir, err := os.MkdirTemp("", "parley-bench-export-")
	check(err)
	defer os.RemoveAll(dir)
	files := &objectstore.Files{Root: dir, BaseURL: "http://bench/dev/objects", Key: []byte("bench")}
	exports := inbox.NewExports(b.store, inbox.SystemClock{}, files, noRunner{})
	to := time.Now().UTC().Truncate(time.Second)
	from := to.Add(-29 * 24 * time.Hour)
	rep := exportReport{ran: time.Now()}
	for i, n := range sizes {
		conv, _, err := desk.StartConversation(ctx, actor, inbox.StartInput{Phone: fmt.Sprintf("+1415555%04d", 9000+i), Name: "Export Bench"})
		check(err)
		seedExportThread(ctx, b.store, conv.ID, from, to, n)
		for _, f := range []inbox.ExportFormat{inbox.ExportCSV, inbox.ExportHTML} {
			req := inbox.ExportRequest{Format: f, From: from, To: to.Add(time.Second), IncludeComments: true}
			r := measureExport(ctx, func(ctx context.Context, w io.Writer) error {
				return desk.ExportConversation(ctx, actor, conv.ID, req, w)
			})
			r.messages, r.how = n, string(f)
			rep.runs = append(rep.runs, r)
		}
		if i == len(sizes)-1 {
			req := inbox.ExportRequest{Format: inbox.ExportCSV, From: from, To: to.Add(time.Second), IncludeComments: true}
			var key string
			// Each run is a new job, asked for by another agent: the same
			// agent's same request would be the same (done) job.
			run := 0
			r := measureExport(ctx, func(ctx context.Context, _ io.Writer) error {
				run++
				asker := actor
				asker.UserID = fmt.Sprintf("%s-%d", actor.UserID, run)
				job, err := exports.StartExport(ctx, asker, conv.ID, req)
				if err != nil {
					return err
				}
				key = job.ObjectKey()
				_, err = exports.RunExport(ctx, actor.WorkspaceID, job.ID)
				return err
			})
			st, err := os.Stat(dir + "/" + key)
			check(err)
			r.messages, r.how, r.bytes = n, "background csv (job record, then the file in the local object store)", st.Size()
			rep.runs = append(rep.runs, r)
			var m dynamo.Meter
			_, err = b.store.CountMessageRange(dynamo.WithMeter(ctx, &m), actor.WorkspaceID, conv.ID, req.Range(), 1000)
			check(err)
			rep.countRRU = m.Read
		}
	}
	return rep
}

type noRunner struct{}

func (noRunner) RunExportAsync(context.Context, string, string) error { return nil }

// seedExportThread writes n typical SMS into a thread, evenly over
// [from, to), a tenth of them outbound and one in fifty an internal comment.
func seedExportThread(ctx context.Context, store *dynamo.Store, convID string, from, to time.Time, n int) {
	step := to.Sub(from) / time.Duration(n)
	var wg sync.WaitGroup
	var next atomic.Int64
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				at := from.Add(time.Duration(i) * step)
				m := &inbox.Message{ID: inbox.NewID(at), WorkspaceID: localstack.DemoWorkspace, ConversationID: convID,
					Direction: inbox.DirectionIn, Kind: inbox.KindMessage, Channel: inbox.ChannelSMS, Status: inbox.MessageReceived,
					Body:        fmt.Sprintf("Hi, this is message %d: is my order on its way? It was due on Tuesday and I have not heard back.", i),
					Attachments: []inbox.Attachment{}, CreatedAt: at, UpdatedAt: at}
				switch {
				case i%50 == 0:
					m.Direction, m.Kind, m.Internal, m.AuthorID = "", inbox.KindComment, true, localstack.DemoAgent
				case i%10 == 0:
					m.Direction, m.Status, m.AuthorID = inbox.DirectionOut, inbox.MessageDelivered, localstack.DemoAgent
				}
				check(store.PutMessage(ctx, m))
			}
		}()
	}
	wg.Wait()
}

type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

// measureExport runs export once to warm up, then once measured: its
// time, units, Queries, bytes, and the heap it held and allocated.
func measureExport(ctx context.Context, export func(context.Context, io.Writer) error) exportRun {
	check(export(ctx, io.Discard))
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(sample)
	base, allocBase := sample[0].Value.Uint64(), sample[1].Value.Uint64()
	var peak atomic.Uint64
	done := make(chan struct{})
	go func() {
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				metrics.Read(s)
				if v := s[0].Value.Uint64(); v > peak.Load() {
					peak.Store(v)
				}
			}
		}
	}()
	var m dynamo.Meter
	w := &countingWriter{}
	start := time.Now()
	check(export(dynamo.WithMeter(ctx, &m), w))
	took := time.Since(start)
	close(done)
	metrics.Read(sample)
	r := exportRun{took: took, rru: m.Read, queries: m.Calls, bytes: w.n, allocated: sample[1].Value.Uint64() - allocBase}
	if p := peak.Load(); p > base {
		r.peakHeap = p - base
	}
	return r
}

func (r exportReport) markdown() string {
	var s strings.Builder
	fmt.Fprintf(&s, "Measured on %s, DynamoDB Local on the same machine; one thread of SMS over 29 days, exported whole, comments included:\n\n", r.ran.UTC().Format("2006-01-02"))
	s.WriteString("| messages | export | time | DynamoDB calls | RRU | file | heap in use, peak above baseline | allocated in all |\n|---:|---|---:|---:|---:|---:|---:|---:|\n")
	for _, x := range r.runs {
		fmt.Fprintf(&s, "| %d | %s | %s | %d | %g | %.1f MB | %.2f MB | %.0f MB |\n", x.messages, x.how, x.took.Round(time.Millisecond),
			x.queries, x.rru, float64(x.bytes)/1e6, float64(x.peakHeap)/(1<<20), float64(x.allocated)/(1<<20))
	}
	fmt.Fprintf(&s, "\nDeciding between a direct answer and the background costs %g RRU on the largest thread: a `Select: COUNT` Query that stops past 1,000.\n", r.countRRU)
	return s.String()
}

func (r exportReport) print() {
	fmt.Println()
	fmt.Println("Export (streamed, one Query per page of 200):")
	fmt.Print(r.markdown())
}

func (r exportReport) writeREADME(path string) error {
	return replaceBlock(path, exportBegin, exportEnd, r.markdown())
}
