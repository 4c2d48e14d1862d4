package email_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/parley-inbox/parley/shared/adapter/email"
	"github.com/parley-inbox/parley/shared/inbox"
)

// msg builds a raw message from header lines and a body.
func msg(body string, headers ...string) []byte {
	return []byte(strings.Join(headers, "\r\n") + "\r\n\r\n" + body)
}

func TestParseMIMERejectsSender(t *testing.T) {
	tests := map[string][]byte{
		"no From":           msg("hi", "To: support@inbox.parley.example", "Subject: x"),
		"empty From":        msg("hi", "From: ", "Subject: x"),
		"From not address":  msg("hi", "From: Jo Customer", "Subject: x"),
		"From without TLD":  msg("hi", "From: jo@localhost"),
		"From group only":   msg("hi", "From: undisclosed-recipients:;"),
		"From bad brackets": msg("hi", "From: <jo@example.com"),
	}
	for name, raw := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := email.ParseMIME("demo", raw)
			wantKind(t, err, inbox.KindInvalid)
		})
	}
}

func TestParseMIMEPlainText(t *testing.T) {
	raw := msg("Hello there.\r\n\r\nJo\r\n",
		`From: "Customer, Jo" <JO@Example.COM>, Other <other@example.com>`,
		"To: Support <Support@Inbox.Parley.Example>",
		"Date: Sat, 21 Nov 2026 09:41:07 -0800",
		"Subject: =?UTF-8?B?w4lsw6h2ZQ==?=",
		"Message-ID: bare-id@example.com",
		"In-Reply-To: <a@parley.example> (comment)",
		"References: <a@parley.example>\r\n\t<b@parley.example>   junk <c@parley.example>",
	)
	got, err := email.ParseMIME("ws1", raw)
	if err != nil {
		t.Fatal(err)
	}
	want := inbox.Inbound{
		WorkspaceID: "ws1", Channel: inbox.ChannelEmail, Kind: inbox.KindMessage,
		ProviderID: "bare-id@example.com",
		From:       inbox.Correspondent{Email: "jo@example.com", Name: "Customer, Jo"},
		To:         "support@inbox.parley.example",
		Body:       "Hello there.\n\nJo",
		SentAt:     time.Date(2026, 11, 21, 17, 41, 7, 0, time.UTC),
		Email: &inbox.EmailDetails{
			From:    "jo@example.com",
			Subject: "Élève", MessageID: "bare-id@example.com", InReplyTo: "a@parley.example",
			References: []string{"a@parley.example", "b@parley.example", "c@parley.example"},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%s\nwant\n%s", dump(got), dump(want))
	}
}

func TestParseMIMEProviderIDFallbacks(t *testing.T) {
	raw := msg("hi", "From: jo@example.com")
	got, err := email.ParseMIMEWith("demo", raw, email.MIMEOptions{FallbackID: "ses-123"})
	if err != nil {
		t.Fatal(err)
	}
	if got.ProviderID != "ses-123" || got.Email.MessageID != "" {
		t.Errorf("ProviderID, MessageID = %q, %q; want ses-123 and none", got.ProviderID, got.Email.MessageID)
	}
	// inbox stores ids of at most 512 bytes; a longer one cannot be used.
	long := msg("hi", "From: jo@example.com", "Message-ID: <"+strings.Repeat("x", 510)+"@example.com>")
	got, err = email.ParseMIMEWith("demo", long, email.MIMEOptions{FallbackID: "ses-123"})
	if err != nil {
		t.Fatal(err)
	}
	if got.ProviderID != "ses-123" || got.Email.MessageID != "" {
		t.Errorf("long Message-ID: ProviderID, MessageID = %q, %q; want ses-123 and none", got.ProviderID, got.Email.MessageID)
	}
	got, err = email.ParseMIME("demo", raw)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(raw)
	if want := "sha256:" + hex.EncodeToString(sum[:]); got.ProviderID != want {
		t.Errorf("ProviderID = %q, want %q", got.ProviderID, want)
	}
}

func TestParseMIMEOptionsWin(t *testing.T) {
	raw := msg("hi", "From: jo@example.com", "To: someone-else@example.com", "Date: Mon, 1 Jan 2001 00:00:00 +0000")
	at := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	got, err := email.ParseMIMEWith("demo", raw, email.MIMEOptions{Recipient: "Sales@Inbox.Parley.Example", ReceivedAt: at})
	if err != nil {
		t.Fatal(err)
	}
	if got.To != "sales@inbox.parley.example" || !got.SentAt.Equal(at) {
		t.Errorf("To, SentAt = %q, %v; want the options'", got.To, got.SentAt)
	}
}

func TestParseMIMELongBody(t *testing.T) {
	long := strings.Repeat("ab ", 6000) // 18,000 runes
	got, err := email.ParseMIME("demo", msg(long, "From: jo@example.com", "Content-Type: text/plain; charset=UTF-8"))
	if err != nil {
		t.Fatal(err)
	}
	if n := utf8.RuneCountInString(got.Body); n > 10000 || n < 9900 {
		t.Errorf("body has %d runes, want just under 10,000", n)
	}
	if !strings.HasPrefix(got.Body, "ab ab ") || !strings.HasSuffix(got.Body, "[Message shortened; the full email is kept as received.]") {
		t.Errorf("body = %q…%q", got.Body[:10], got.Body[len(got.Body)-60:])
	}
}

func TestParseMIMEAttachments(t *testing.T) {
	var b strings.Builder
	b.WriteString("From: jo@example.com\r\nContent-Type: multipart/mixed; boundary=BB\r\n\r\n")
	part := func(headers, body string) { fmt.Fprintf(&b, "--BB\r\n%s\r\n\r\n%s\r\n", headers, body) }
	// Apple Mail marks the body inline; it is not a file.
	part("Content-Type: text/plain\r\nContent-Disposition: inline", "See attached.")
	part("Content-Type: image/png\r\nContent-Disposition: inline; filename=\"photo.png\"\r\nContent-ID: <p1>", "PNGDATA")
	part("Content-Type: application/pdf; name=x\r\nContent-Disposition: attachment; filename=\"..\\\\..\\\\evil/invoice.pdf\"", "%PDF-1.4")
	// A part enmime cannot read is dropped, not the whole email.
	part("Content-Type: bogus type!!\r\nContent-Disposition: attachment; filename=\"dropped.bin\"", "x")
	part("Content-Type: application/x-"+strings.Repeat("long", 40)+"\r\nContent-Disposition: attachment; filename=\"odd.bin\"", "x")
	for i := range 12 {
		part(fmt.Sprintf("Content-Type: text/csv\r\nContent-Disposition: attachment; filename=\"f%d.csv\"", i), "a,b")
	}
	b.WriteString("--BB--\r\n")

	got, err := email.ParseMIME("demo", []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if got.Body != "See attached." {
		t.Errorf("body = %q", got.Body)
	}
	if len(got.Attachments) != 10 {
		t.Fatalf("%d attachments, want the first 10: %s", len(got.Attachments), dump(got.Attachments))
	}
	// enmime lists attachments before inlines.
	wantFirst := []inbox.Attachment{
		{Name: "invoice.pdf", ContentType: "application/pdf", Size: 8},
		{Name: "odd.bin", ContentType: "application/octet-stream", Size: 1},
		{Name: "f0.csv", ContentType: "text/csv", Size: 3},
	}
	if !reflect.DeepEqual(got.Attachments[:3], wantFirst) {
		t.Errorf("attachments start\n%s\nwant\n%s", dump(got.Attachments[:3]), dump(wantFirst))
	}
	for _, a := range got.Attachments {
		if a.URL != "" {
			t.Errorf("attachment %q has URL %q; the bytes stay in S3", a.Name, a.URL)
		}
	}
}

func TestParseMIMEInlineImageCounts(t *testing.T) {
	raw := "From: jo@example.com\r\nContent-Type: multipart/related; boundary=BB\r\n\r\n" +
		"--BB\r\nContent-Type: text/html\r\n\r\n<p>Look: <img src=\"cid:p1\"></p>\r\n" +
		"--BB\r\nContent-Type: image/png\r\nContent-Disposition: inline; filename=\"photo.png\"\r\nContent-ID: <p1>\r\n\r\nPNG\r\n--BB--\r\n"
	got, err := email.ParseMIME("demo", []byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	want := []inbox.Attachment{{Name: "photo.png", ContentType: "image/png", Size: 3}}
	if !reflect.DeepEqual(got.Attachments, want) || !got.Email.HTML || got.Body != "Look:" {
		t.Errorf("attachments %s, html %v, body %q", dump(got.Attachments), got.Email.HTML, got.Body)
	}
}
