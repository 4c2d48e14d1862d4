package inbox

import (
	"context"
	"encoding/csv"
	"fmt"
	"html"
	"io"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"
)

// Export writes a thread's messages between two dates as CSV or as one
// self-contained HTML page (seed 002). It pages the thread over the ULID
// range the dates map to, one Query per page, and writes each page before
// reading the next: memory stays flat however long the thread is.

// ExportFormat is the file an export produces.
type ExportFormat string

const (
	ExportCSV  ExportFormat = "csv"
	ExportHTML ExportFormat = "html"
)

// ContentType is the format's media type.
func (f ExportFormat) ContentType() string {
	if f == ExportHTML {
		return "text/html; charset=utf-8"
	}
	return "text/csv; charset=utf-8"
}

// MaxExportRange is the longest range one export covers (seed 002).
const MaxExportRange = 30 * 24 * time.Hour

// exportPageSize is how many messages one Query of an export reads: the
// only messages an export holds in memory at once.
const exportPageSize = 200

// ExportRequest is what an agent asks to export: [From, To) in one format.
type ExportRequest struct {
	Format          ExportFormat `json:"format"`
	From            time.Time    `json:"from"`
	To              time.Time    `json:"to"`
	IncludeComments bool         `json:"includeComments"`
}

// Validate refuses an unknown format, a missing date, an end that is not
// after the start and a range over 30 days, naming the field.
func (r ExportRequest) Validate() error {
	if r.Format != ExportCSV && r.Format != ExportHTML {
		return Invalid("format", "format must be csv or html")
	}
	if r.From.IsZero() {
		return Invalid("from", "from is required: an RFC 3339 time")
	}
	if r.To.IsZero() {
		return Invalid("to", "to is required: an RFC 3339 time")
	}
	if !r.To.After(r.From) {
		return Invalid("to", "to must be after from")
	}
	if r.To.Sub(r.From) > MaxExportRange {
		return Invalid("to", "an export covers at most 30 days; to is %s after from", r.To.Sub(r.From).Round(time.Minute))
	}
	return nil
}

// Range is the request's key range in the thread.
func (r ExportRequest) Range() MessageRange { return MessageRange{From: r.From, To: r.To} }

// MessageRange is a time range of a thread, [From, To). Message ids are
// ULIDs of their creation time, so it is a range of sort keys: Low and
// High are its smallest and largest possible ids, inclusive.
type MessageRange struct{ From, To time.Time }

// Low is the smallest id a message created at From can have.
func (r MessageRange) Low() string {
	var id ulid.ULID
	_ = id.SetTime(ulid.Timestamp(r.From))
	return id.String()
}

// High is the largest id a message created before To can have.
func (r MessageRange) High() string {
	id := ulid.ULID{0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	_ = id.SetTime(ulid.Timestamp(r.To.Add(-time.Millisecond)))
	return id.String()
}

// ExportStore reads a thread by key range and keeps background exports.
type ExportStore interface {
	// ListMessageRange reads one page of at most limit messages of a thread
	// whose ids are in r, oldest first, after the id after ("" from the
	// start): one Query. more is false on the last page.
	ListMessageRange(ctx context.Context, workspaceID, conversationID string, r MessageRange, after string, limit int) (msgs []*Message, more bool, err error)
	// CountMessageRange counts a thread's messages in r, reading keys
	// only, and stops once it has counted more than max.
	CountMessageRange(ctx context.Context, workspaceID, conversationID string, r MessageRange, max int) (int, error)
	// PutExport creates or replaces an export job.
	PutExport(ctx context.Context, e *Export) error
	// CreateExport stores a new job unless one with its id exists, and
	// says whether it did.
	CreateExport(ctx context.Context, e *Export) (bool, error)
	GetExport(ctx context.Context, workspaceID, id string) (*Export, error)
}

// ExportConversation writes a conversation's messages in req's range to w,
// streamed: a page of messages at a time. Internal comments are included
// only when req asks, each marked internal.
func (s *Desk) ExportConversation(ctx context.Context, actor Actor, conversationID string, req ExportRequest, w io.Writer) error {
	if err := req.Validate(); err != nil {
		return err
	}
	c, err := s.getConversation(ctx, actor, conversationID)
	if err != nil {
		return err
	}
	_, err = s.writeExport(ctx, c, req, w)
	return err
}

// writeExport writes c's messages in req's range to w and counts the rows.
func (s *core) writeExport(ctx context.Context, c *Conversation, req ExportRequest, w io.Writer) (int, error) {
	users := map[string]string{}
	if list, err := s.store.ListUsers(ctx, c.WorkspaceID); err == nil {
		for _, u := range list {
			users[u.ID] = u.Name
		}
	}
	var out exportWriter
	if req.Format == ExportHTML {
		out = newHTMLExport(w)
	} else {
		out = newCSVExport(w)
	}
	head := ExportHeader{ConversationID: c.ID, ContactName: c.ContactName, From: req.From.UTC(), To: req.To.UTC(), IncludeComments: req.IncludeComments}
	if err := out.Begin(head); err != nil {
		return 0, err
	}
	rows, after := 0, ""
	for {
		msgs, more, err := s.store.ListMessageRange(ctx, c.WorkspaceID, c.ID, req.Range(), after, exportPageSize)
		if err != nil {
			return rows, err
		}
		for _, m := range msgs {
			after = m.ID
			if m.Kind == KindComment && !req.IncludeComments {
				continue
			}
			if err := out.Row(exportRow(m, c, users)); err != nil {
				return rows, err
			}
			rows++
		}
		if !more || len(msgs) == 0 {
			break
		}
	}
	return rows, out.End(rows)
}

// ExportHeader describes the export at the top of an HTML file.
type ExportHeader struct {
	ConversationID  string
	ContactName     string
	From, To        time.Time
	IncludeComments bool
}

// ExportRow is one message as an export shows it.
type ExportRow struct {
	Time        time.Time
	Direction   string
	Channel     string
	Kind        string
	Author      string
	Status      string
	Body        string
	Attachments []string
	Internal    bool
}

// ExportColumns are the CSV's header.
var ExportColumns = []string{"time", "direction", "channel", "kind", "author", "status", "body", "attachments"}

func exportRow(m *Message, c *Conversation, users map[string]string) ExportRow {
	r := ExportRow{Time: m.CreatedAt.UTC(), Direction: string(m.Direction), Channel: string(m.Channel), Kind: string(m.Kind),
		Status: string(m.Status), Body: m.Body, Internal: m.Internal || m.Kind == KindComment}
	switch {
	case m.Direction == DirectionIn:
		r.Author = c.ContactName
		if r.Author == "" {
			r.Author = "contact"
		}
	case m.AuthorID != "":
		r.Author = m.AuthorID
		if name := users[m.AuthorID]; name != "" {
			r.Author = name
		} else if m.AuthorName != "" {
			r.Author = m.AuthorName
		}
	case m.Automated:
		r.Author = "automation"
	default:
		r.Author = "Parley"
	}
	if r.Internal {
		r.Kind = "internal " + r.Kind
	}
	for _, a := range m.Attachments {
		r.Attachments = append(r.Attachments, a.URL)
	}
	return r
}

// exportWriter writes one format.
type exportWriter interface {
	Begin(ExportHeader) error
	Row(ExportRow) error
	End(rows int) error
}

// CSVExport writes rows as CSV, each cell neutralised against formula
// injection.
type CSVExport struct{ w *csv.Writer }

func newCSVExport(w io.Writer) *CSVExport { return &CSVExport{w: csv.NewWriter(w)} }

// NewCSVExport returns a CSV writer on w; Begin writes the header.
func NewCSVExport(w io.Writer) *CSVExport { return newCSVExport(w) }

func (e *CSVExport) Begin(ExportHeader) error { return e.w.Write(ExportColumns) }

func (e *CSVExport) Row(r ExportRow) error {
	cells := []string{r.Time.Format(time.RFC3339), r.Direction, r.Channel, r.Kind, r.Author, r.Status, r.Body, strings.Join(r.Attachments, " ")}
	for i, c := range cells {
		cells[i] = SafeCSVCell(c)
	}
	if err := e.w.Write(cells); err != nil {
		return err
	}
	// Flush each row: the writer's buffer is all an export holds.
	e.w.Flush()
	return e.w.Error()
}

func (e *CSVExport) End(int) error { e.w.Flush(); return e.w.Error() }

// SafeCSVCell neutralises a cell a spreadsheet would run as a formula, as
// OWASP recommends: a cell starting with =, +, -, @, a tab or a carriage
// return gets a single quote in front. encoding/csv quotes the rest.
func SafeCSVCell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}

// HTMLExport writes one self-contained page: inline CSS, no script, no
// external resource, every user string escaped with html.EscapeString.
// Not html/template: text/template's reflect.Value.MethodByName would turn
// off the linker's dead-code elimination in every function that links the
// export (TestLinkerDropsUnusedMethods). Each user string lands in text or
// a double-quoted attribute, where escaping <, >, &, ' and " is enough.
type HTMLExport struct {
	w io.Writer
}

func newHTMLExport(w io.Writer) *HTMLExport { return &HTMLExport{w: w} }

// NewHTMLExport returns an HTML writer on w.
func NewHTMLExport(w io.Writer) *HTMLExport { return newHTMLExport(w) }

const exportHTMLHead = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="referrer" content="no-referrer">
<title>Conversation with %[1]s</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2rem;color:#1b1f24;background:#fff}
h1{font-size:1.3rem;margin:0 0 .25rem}p.meta{color:#57606a;margin:0 0 1.5rem}
ol{list-style:none;padding:0;margin:0}
li{border:1px solid #d0d7de;border-radius:8px;padding:.6rem .8rem;margin:0 0 .6rem;max-width:48rem}
li.in{background:#f6f8fa}li.out{background:#ddf4ff;margin-left:auto}
li.internal{background:#fff8c5;border-style:dashed}
.head{font-size:.8rem;color:#57606a;margin-bottom:.3rem}
.tag{font-weight:600;color:#9a6700;text-transform:uppercase;font-size:.7rem;margin-left:.4rem}
.body{white-space:pre-wrap;overflow-wrap:anywhere}
.att{font-size:.8rem;overflow-wrap:anywhere}
</style></head><body>
<h1>Conversation with %[1]s</h1>
<p class="meta">Messages from %[2]s to %[3]s (UTC)%[4]s.</p>
<ol>
`

func (e *HTMLExport) Begin(h ExportHeader) error {
	comments := ""
	if h.IncludeComments {
		comments = ", internal comments included"
	}
	_, err := fmt.Fprintf(e.w, exportHTMLHead, html.EscapeString(h.ContactName),
		h.From.UTC().Format(time.RFC3339), h.To.UTC().Format(time.RFC3339), comments)
	return err
}

// Row writes a message. Attachment URLs are shown as text, not links: the
// file stays self-contained and opens nothing by itself.
func (e *HTMLExport) Row(r ExportRow) error {
	class := "note"
	switch r.Direction {
	case string(DirectionIn), string(DirectionOut):
		class = r.Direction
	}
	tag := ""
	if r.Internal {
		class += " internal"
		tag = `<span class="tag">internal</span>`
	}
	at := r.Time.UTC().Format(time.RFC3339)
	var b strings.Builder
	fmt.Fprintf(&b, `<li class="%s"><div class="head"><time datetime="%s">%s</time> · %s · %s · %s · %s%s</div>`+"\n"+`<div class="body">%s</div>`,
		class, at, at, html.EscapeString(r.Author), html.EscapeString(r.Channel), html.EscapeString(r.Kind), html.EscapeString(r.Status), tag,
		html.EscapeString(r.Body))
	for _, a := range r.Attachments {
		fmt.Fprintf(&b, "\n"+`<div class="att">Attachment: %s</div>`, html.EscapeString(a))
	}
	b.WriteString("</li>\n")
	_, err := io.WriteString(e.w, b.String())
	return err
}

func (e *HTMLExport) End(rows int) error {
	_, err := fmt.Fprintf(e.w, "</ol>\n<p class=\"meta\">%d messages.</p>\n</body></html>\n", rows)
	return err
}

// ExportFilename is the name a download of the export suggests.
func ExportFilename(conversationID string, req ExportRequest) string {
	return fmt.Sprintf("conversation-%s-%s-%s.%s", conversationID, req.From.UTC().Format("20060102"), req.To.UTC().Format("20060102"), req.Format)
}
