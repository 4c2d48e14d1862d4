package email_test

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/parley-inbox/parley/shared/adapter/email"
	"github.com/parley-inbox/parley/shared/inbox"
)

// storedMail holds raw emails by bucket/key.
type storedMail map[string][]byte

func (r storedMail) Get(_ context.Context, bucket, key string) ([]byte, error) {
	if b, ok := r[bucket+"/"+key]; ok {
		return b, nil
	}
	return nil, inbox.Errorf(inbox.KindNotFound, "object not found")
}

func TestMediaSourceOpensTheFilesParseListed(t *testing.T) {
	var b strings.Builder
	b.WriteString("From: jo@example.com\r\nContent-Type: multipart/mixed; boundary=BB\r\n\r\n")
	part := func(headers, body string) { fmt.Fprintf(&b, "--BB\r\n%s\r\n\r\n%s\r\n", headers, body) }
	part("Content-Type: text/plain\r\nContent-Disposition: inline", "See attached.")
	part("Content-Type: image/png\r\nContent-Disposition: inline; filename=\"photo.png\"\r\nContent-ID: <p1>", "PNGDATA")
	part("Content-Type: application/pdf; name=x\r\nContent-Disposition: attachment; filename=\"invoice.pdf\"", "%PDF-1.4")
	part("Content-Type: bogus type!!\r\nContent-Disposition: attachment; filename=\"dropped.bin\"", "x")
	for i := range 12 {
		part(fmt.Sprintf("Content-Type: text/csv\r\nContent-Disposition: attachment; filename=\"f%d.csv\"", i), fmt.Sprintf("a,%d", i))
	}
	b.WriteString("--BB--\r\n")
	raw := []byte(b.String())
	key := "inbound/ws1/abc"
	in, err := email.ParseMIME("ws1", raw)
	if err != nil {
		t.Fatal(err)
	}
	in.Email.Raw = key
	m := &inbox.Message{WorkspaceID: "ws1", ID: "m1", Channel: inbox.ChannelEmail, Direction: inbox.DirectionIn, Attachments: in.Attachments, Email: in.Email}
	src := &email.MediaSource{Objects: storedMail{bucket + "/" + key: raw}, Bucket: bucket, KeyPrefix: func(ws string) string { return "inbound/" + ws + "/" }}
	for n, a := range m.Attachments {
		rc, ct, err := src.Open(context.Background(), m, n)
		if err != nil {
			t.Fatalf("file %d: %v", n, err)
		}
		got, _ := io.ReadAll(rc)
		rc.Close()
		if int64(len(got)) != a.Size || ct != a.ContentType {
			t.Errorf("file %d (%s): %d bytes of %s, want %d of %s", n, a.Name, len(got), ct, a.Size, a.ContentType)
		}
	}
	if rc, _, _ := src.Open(context.Background(), m, 0); rc != nil {
		got, _ := io.ReadAll(rc)
		if string(got) != "%PDF-1.4" {
			t.Errorf("file 0 = %q, want the PDF", got)
		}
	}
	if _, _, err := src.Open(context.Background(), m, 10); !inbox.IsKind(err, inbox.KindNotFound) {
		t.Errorf("file 10: err = %v, want KindNotFound", err)
	}

	other := *m
	other.WorkspaceID = "ws2"
	if _, _, err := src.Open(context.Background(), &other, 0); !inbox.IsKind(err, inbox.KindInvalid) {
		t.Errorf("another workspace's mail: err = %v, want KindInvalid", err)
	}
	noRaw := *m
	noRaw.Email = &inbox.EmailDetails{}
	if _, _, err := src.Open(context.Background(), &noRaw, 0); !inbox.IsKind(err, inbox.KindNotFound) {
		t.Errorf("no raw key: err = %v, want KindNotFound", err)
	}
}

func TestMediaSourcePartialMailHasNoFiles(t *testing.T) {
	raw := []byte("From: jo@example.com\r\nContent-Type: text/plain\r\n\r\n" + strings.Repeat("x", 5<<20))
	m := &inbox.Message{WorkspaceID: "ws1", Channel: inbox.ChannelEmail, Attachments: []inbox.Attachment{{Name: "a"}}, Email: &inbox.EmailDetails{Raw: "k"}}
	src := &email.MediaSource{Objects: storedMail{bucket + "/k": raw}, Bucket: bucket}
	if _, _, err := src.Open(context.Background(), m, 0); !inbox.IsKind(err, inbox.KindNotFound) {
		t.Errorf("err = %v, want KindNotFound", err)
	}
}
