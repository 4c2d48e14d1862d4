package inbox_test

import (
	"bytes"
	"encoding/csv"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/parley-inbox/parley/shared/inbox"
)

var exportDay = time.Date(2026, 11, 2, 9, 30, 0, 0, time.UTC)

func writeCSV(t testing.TB, rows ...inbox.ExportRow) [][]string {
	t.Helper()
	var buf bytes.Buffer
	w := inbox.NewCSVExport(&buf)
	if err := w.Begin(inbox.ExportHeader{}); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if err := w.Row(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.End(len(rows)); err != nil {
		t.Fatal(err)
	}
	got, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatalf("the export does not parse back as CSV: %v\n%s", err, buf.String())
	}
	return got
}

func TestExportCSVNeutralisesFormulas(t *testing.T) {
	for _, body := range []string{`=HYPERLINK("http://evil.example","click")`, "+1+1", "-2+3", "@SUM(A1)", "\tTAB", "\rCR"} {
		got := writeCSV(t, inbox.ExportRow{Time: exportDay, Direction: "in", Author: "=cmd|' /C calc'!A0", Body: body})
		if len(got) != 2 {
			t.Fatalf("rows = %d, want header and 1", len(got))
		}
		if cell := got[1][6]; cell != "'"+body {
			t.Errorf("body cell = %q, want %q", cell, "'"+body)
		}
		if cell := got[1][4]; !strings.HasPrefix(cell, "'=") {
			t.Errorf("author cell = %q, want it neutralised", cell)
		}
	}
	// Ordinary text, and a formula character later in the cell, stay as they are.
	got := writeCSV(t, inbox.ExportRow{Time: exportDay, Body: "total = 3, see @bob\nline \"two\""})
	if cell := got[1][6]; cell != "total = 3, see @bob\nline \"two\"" {
		t.Errorf("body cell = %q", cell)
	}
	if got[0][0] != "time" || got[1][0] != "2026-11-02T09:30:00Z" {
		t.Errorf("time column = %q, %q", got[0][0], got[1][0])
	}
}

func writeHTML(t testing.TB, head inbox.ExportHeader, rows ...inbox.ExportRow) string {
	t.Helper()
	var buf bytes.Buffer
	w := inbox.NewHTMLExport(&buf)
	if err := w.Begin(head); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if err := w.Row(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.End(len(rows)); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestExportHTMLEscapesEverything(t *testing.T) {
	evil := `<script>alert(1)</script><img src=x onerror=alert(2)>`
	page := writeHTML(t, inbox.ExportHeader{ContactName: evil, From: exportDay, To: exportDay.Add(time.Hour)},
		inbox.ExportRow{Time: exportDay, Direction: "in", Author: evil, Body: evil + ` =HYPERLINK("x")`, Attachments: []string{`javascript:alert(3)"><b>`}},
		inbox.ExportRow{Time: exportDay, Kind: "internal comment", Internal: true, Body: "note"})
	if strings.Contains(page, "<script") || strings.Contains(page, "<img") || strings.Contains(page, "<b>") {
		t.Errorf("user markup reached the page unescaped:\n%s", page)
	}
	if !strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("the body is not shown escaped:\n%s", page)
	}
	for _, external := range []string{"http://", "https://", "src=", "href="} {
		if strings.Contains(strings.ReplaceAll(page, "&#34;", `"`), external) && !strings.Contains(evil, external) {
			t.Errorf("the page refers to something outside itself (%s)", external)
		}
	}
	if !strings.Contains(page, `class="tag">internal</span>`) || !strings.Contains(page, `class="note internal"`) {
		t.Errorf("the internal comment is not marked internal:\n%s", page)
	}
	if !strings.Contains(page, "<style>") || !strings.Contains(page, "default-src 'none'") {
		t.Error("the page has no inline style or no content security policy")
	}
}

func TestExportRequestValidate(t *testing.T) {
	ok := inbox.ExportRequest{Format: inbox.ExportCSV, From: exportDay, To: exportDay.Add(inbox.MaxExportRange)}
	if err := ok.Validate(); err != nil {
		t.Fatalf("30 days: %v", err)
	}
	for name, tc := range map[string]struct {
		req   inbox.ExportRequest
		field string
	}{
		"31 days":          {inbox.ExportRequest{Format: inbox.ExportCSV, From: exportDay, To: exportDay.Add(31 * 24 * time.Hour)}, "to"},
		"30 days and 1ms":  {inbox.ExportRequest{Format: inbox.ExportHTML, From: exportDay, To: exportDay.Add(inbox.MaxExportRange + time.Millisecond)}, "to"},
		"end before start": {inbox.ExportRequest{Format: inbox.ExportCSV, From: exportDay, To: exportDay.Add(-time.Hour)}, "to"},
		"empty range":      {inbox.ExportRequest{Format: inbox.ExportCSV, From: exportDay, To: exportDay}, "to"},
		"no start":         {inbox.ExportRequest{Format: inbox.ExportCSV, To: exportDay}, "from"},
		"no end":           {inbox.ExportRequest{Format: inbox.ExportCSV, From: exportDay}, "to"},
		"pdf":              {inbox.ExportRequest{Format: "pdf", From: exportDay, To: exportDay.Add(time.Hour)}, "format"},
	} {
		err := tc.req.Validate()
		var e *inbox.Error
		if !inbox.IsKind(err, inbox.KindInvalid) || !asError(err, &e) || e.Field != tc.field {
			t.Errorf("%s: err = %v, want invalid %s", name, err, tc.field)
		}
	}
}

// TestMessageRangeBounds: the range's keys hold exactly the ids made in [From, To).
func TestMessageRangeBounds(t *testing.T) {
	r := inbox.MessageRange{From: exportDay, To: exportDay.Add(24 * time.Hour)}
	in := func(id string) bool { return id >= r.Low() && id <= r.High() }
	for _, tc := range []struct {
		at   time.Time
		want bool
	}{
		{exportDay, true}, {exportDay.Add(-time.Millisecond), false},
		{r.To.Add(-time.Millisecond), true}, {r.To, false},
	} {
		for range 20 {
			if id := inbox.NewID(tc.at); in(id) != tc.want {
				t.Errorf("id made at %s in range = %v, want %v", tc.at, !tc.want, tc.want)
			}
		}
	}
	if u := ulid.MustParse(r.High()); u.Time() != ulid.Timestamp(r.To)-1 {
		t.Errorf("High's time = %d", u.Time())
	}
}

var tagOutsideTemplate = regexp.MustCompile(`<[a-zA-Z/!]`)

// FuzzExportCSV: any message writes without a panic, parses back with
// encoding/csv to the same cells (after the neutralising quote), and no
// cell starts with a formula character.
func FuzzExportCSV(f *testing.F) {
	for _, s := range []string{"", "hello", `=HYPERLINK("http://x","y")`, "+1", "-1", "@a", "\tx", "\rx", "a,b\n\"c\"", "\x00\xff", "'=already"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, body, author string) {
		got := writeCSV(t, inbox.ExportRow{Time: exportDay, Author: author, Body: body, Attachments: []string{author}})
		if len(got) != 2 || len(got[1]) != len(inbox.ExportColumns) {
			t.Fatalf("rows = %v", got)
		}
		for i, cell := range got[1] {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("cell %d = %q starts with a formula character", i, cell)
			}
		}
		// encoding/csv reads \r\n inside a quoted field as \n.
		want := inbox.SafeCSVCell(body)
		if norm := strings.ReplaceAll(want, "\r\n", "\n"); got[1][6] != norm && got[1][6] != want {
			t.Errorf("body cell = %q, want %q", got[1][6], want)
		}
	})
}

// FuzzExportHTML: any message writes without a panic, and nothing the user
// wrote opens a tag: every '<' in the page is the template's own.
func FuzzExportHTML(f *testing.F) {
	for _, s := range []string{"", "<script>alert(1)</script>", `"><img src=x onerror=alert(1)>`, "</li></ol>", "<!--", "&lt;", "\x00"} {
		f.Add(s, s)
	}
	empty := writeHTML(f, inbox.ExportHeader{}, inbox.ExportRow{Attachments: []string{""}})
	f.Fuzz(func(t *testing.T, body, name string) {
		page := writeHTML(t, inbox.ExportHeader{ContactName: name}, inbox.ExportRow{Author: name, Body: body, Direction: name, Attachments: []string{body}})
		if n, want := len(tagOutsideTemplate.FindAllString(page, -1)), len(tagOutsideTemplate.FindAllString(empty, -1)); n != want {
			t.Errorf("the page has %d tags, the template writes %d:\n%s", n, want, page)
		}
	})
}
