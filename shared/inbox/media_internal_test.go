package inbox

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"
)

// storedFiles stands in for the media bucket: what Stat would read.
type storedFiles map[string]StoredObject

func (f storedFiles) PresignPost(_ context.Context, key, contentType string, maxSize int64, _ time.Duration) (*UploadForm, error) {
	return &UploadForm{URL: "https://media.example/", Fields: map[string]string{"key": key, "Content-Type": contentType}}, nil
}

func (f storedFiles) Stat(_ context.Context, key string) (*StoredObject, error) {
	o, ok := f[key]
	if !ok {
		return nil, Errorf(KindNotFound, "no such key")
	}
	return &o, nil
}

func (f storedFiles) PresignGet(_ context.Context, key, filename string, ttl time.Duration) (string, error) {
	return "https://media.example/" + key + "?name=" + filename + "&ttl=" + ttl.String(), nil
}

func (f storedFiles) Put(context.Context, string, string, func(io.Writer) error) error { return nil }

func (f storedFiles) Get(_ context.Context, key string, max int64) ([]byte, error) {
	o, ok := f[key]
	if !ok {
		return nil, Errorf(KindNotFound, "no such key")
	}
	if o.Size > max {
		return nil, Invalid("file", "too large")
	}
	return o.Head, nil
}

var (
	jpegHead = []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
	pngHead  = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	pdfHead  = []byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	htmlHead = []byte("<!DOCTYPE html><html><script>alert(1)</script>")
)

// TestVerifyAttachmentsUsesTheStoredFile: an uploaded file's size and type
// are the store's, whatever the client said, and every channel limit is
// checked against them.
func TestVerifyAttachmentsUsesTheStoredFile(t *testing.T) {
	files := storedFiles{
		"media/ws/up/1/photo.jpg": {Size: 2 * mb, ContentType: "image/jpeg", Head: jpegHead},
		"media/ws/up/2/big.jpg":   {Size: 4 * mb, ContentType: "image/jpeg", Head: jpegHead},
		"media/ws/up/3/fake.png":  {Size: 1000, ContentType: "image/png", Head: htmlHead},
		"media/ws/up/4/lie.jpg":   {Size: 1000, ContentType: "image/jpeg", Head: pngHead},
		"media/ws/up/5/doc.pdf":   {Size: 20 * mb, ContentType: "application/pdf", Head: pdfHead},
		"media/ws/up/6/wa.jpg":    {Size: 6 * mb, ContentType: "image/jpeg", Head: jpegHead},
		"media/ws/up/7/empty.txt": {Size: 0, ContentType: "text/plain"},
	}
	s := &core{media: files}
	ctx := context.Background()
	key := func(k string) Attachment { return Attachment{Key: k, ContentType: "image/gif", Size: 1} } // the client's claims, ignored

	got, warnings, err := s.verifyAttachments(ctx, "ws", ChannelMMS, []Attachment{key("media/ws/up/1/photo.jpg")})
	if err != nil || got[0].Size != 2*mb || got[0].ContentType != "image/jpeg" || len(warnings) != 1 {
		t.Errorf("a 2 MB JPEG by MMS = %+v, %v, %v; want the stored size and type and a warning over 1.5 MB", got, warnings, err)
	}
	for _, c := range []struct {
		name string
		ch   Channel
		atts []Attachment
		want string
	}{
		{"MMS over 5 MB together", ChannelMMS, []Attachment{key("media/ws/up/1/photo.jpg"), key("media/ws/up/2/big.jpg")}, "the limit is 5.0 MB"},
		{"markup uploaded as PNG", ChannelWhatsApp, []Attachment{key("media/ws/up/3/fake.png")}, "markup"},
		{"a PNG uploaded as JPEG", ChannelMessenger, []Attachment{key("media/ws/up/4/lie.jpg")}, "not image/jpeg"},
		{"a 20 MB PDF by email", ChannelEmail, []Attachment{key("media/ws/up/5/doc.pdf")}, "at most 15.0 MB"},
		{"a 6 MB image on WhatsApp", ChannelWhatsApp, []Attachment{key("media/ws/up/6/wa.jpg")}, "at most 5.0 MB"},
		{"a PDF by MMS", ChannelMMS, []Attachment{key("media/ws/up/5/doc.pdf")}, "cannot carry application/pdf"},
		{"an empty file", ChannelEmail, []Attachment{key("media/ws/up/7/empty.txt")}, "empty"},
		{"a key never uploaded (forged or expired)", ChannelMMS, []Attachment{key("media/ws/up/9/never.jpg")}, "no file was uploaded"},
		{"another workspace's key", ChannelMMS, []Attachment{key("media/other/up/1/photo.jpg")}, "not one of this workspace's files"},
		{"a key climbing out of the prefix", ChannelMMS, []Attachment{key("media/ws/../other/up/1/photo.jpg")}, "not one of this workspace's files"},
		{"a key and a url", ChannelMMS, []Attachment{{Key: "media/ws/up/1/photo.jpg", URL: "https://x.example/a.jpg", ContentType: "image/jpeg"}}, "not both"},
	} {
		_, _, err := s.verifyAttachments(ctx, "ws", c.ch, c.atts)
		if !IsKind(err, KindInvalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want invalid saying %q", c.name, err, c.want)
		}
	}
	// The 20 MB PDF fits WhatsApp's 100 MB documents.
	if _, _, err := s.verifyAttachments(ctx, "ws", ChannelWhatsApp, []Attachment{key("media/ws/up/5/doc.pdf")}); err != nil {
		t.Errorf("a 20 MB PDF on WhatsApp: %v", err)
	}
	// Without a store (a function re-sending checked messages) the stored
	// values stand, and the workspace check still applies.
	bare := &core{}
	if _, _, err := bare.verifyAttachments(ctx, "ws", ChannelMMS, []Attachment{{Key: "media/ws/up/1/photo.jpg", ContentType: "image/jpeg", Size: 6 * mb}}); err == nil {
		t.Error("a 6 MB MMS passed without a store")
	}
	if _, _, err := bare.verifyAttachments(ctx, "ws", ChannelMMS, []Attachment{key("media/other/up/1/x.jpg")}); err == nil {
		t.Error("another workspace's key passed without a store")
	}
}

func TestCreateUploadBindsTypeAndSize(t *testing.T) {
	d := &Desk{}
	d.media = storedFiles{}
	d.clock = fixedNow(time.Date(2026, 12, 7, 20, 0, 0, 0, time.UTC))
	actor := Actor{WorkspaceID: "ws", UserID: "u"}
	ctx := context.Background()
	up, err := d.CreateUpload(ctx, actor, UploadInput{Name: "../../Photo of me.JPG", ContentType: "image/jpeg", Size: 1234, Channel: ChannelMMS})
	if err != nil {
		t.Fatal(err)
	}
	k := up.Attachment.Key
	if !strings.HasPrefix(k, "media/ws/up/") || !strings.HasSuffix(k, "/_.._Photo_of_me.JPG") || strings.Contains(k, "../") {
		t.Errorf("key %q", k)
	}
	if up.Form.Fields["key"] != k || up.Form.Fields["Content-Type"] != "image/jpeg" || !up.ExpiresAt.Equal(time.Date(2026, 12, 7, 20, 15, 0, 0, time.UTC)) {
		t.Errorf("upload %+v", up)
	}
	for _, c := range []struct {
		in   UploadInput
		want string
	}{
		{UploadInput{Name: "x.html", ContentType: "text/html", Size: 10}, "cannot be uploaded"},
		{UploadInput{Name: "x.svg", ContentType: "image/svg+xml", Size: 10}, "cannot be uploaded"},
		{UploadInput{Name: "x.jpg", ContentType: "image/jpeg; charset=x", Size: 10}, "bare media type"},
		{UploadInput{Name: "x.jpg", ContentType: "image/jpeg", Size: 0}, "size"},
		{UploadInput{Name: "x.jpg", ContentType: "image/jpeg", Size: 101 * mb}, "size"},
		{UploadInput{Name: "x.jpg", ContentType: "image/jpeg", Size: 6 * mb, Channel: ChannelMMS}, "5.0 MB"},
		{UploadInput{Name: "x.pdf", ContentType: "application/pdf", Size: 10, Channel: ChannelMMS}, "cannot carry"},
	} {
		if _, err := d.CreateUpload(ctx, actor, c.in); !IsKind(err, KindInvalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want invalid saying %q", c.in, err, c.want)
		}
	}
}

type fixedNow time.Time

func (c fixedNow) Now() time.Time { return time.Time(c) }

// TestLinkMediaHandsProvidersLinksAndEmailsTheBytes: the provider gets a
// short-lived link to an uploaded file, an email the file itself, and the
// stored message keeps only the key.
func TestLinkMediaHandsProvidersLinksAndEmailsTheBytes(t *testing.T) {
	files := storedFiles{"media/ws/up/1/photo.jpg": {Size: int64(len(jpegHead)), ContentType: "image/jpeg", Head: jpegHead}}
	d := &Dispatch{}
	d.media = files
	att := []Attachment{{Key: "media/ws/up/1/photo.jpg", ContentType: "image/jpeg", Name: "photo.jpg"}, {URL: "https://cdn.example/a.png", ContentType: "image/png"}}
	m := &Message{ID: "m", Channel: ChannelMMS, Attachments: att}
	out := Outbound{Message: m}
	if err := d.linkMedia(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	if got := out.Message.Attachments[0].URL; got != "https://media.example/media/ws/up/1/photo.jpg?name=photo.jpg&ttl=1h0m0s" {
		t.Errorf("provider link %q", got)
	}
	if out.Message.Attachments[1].URL != "https://cdn.example/a.png" || m.Attachments[0].URL != "" {
		t.Errorf("external link changed, or the stored message gained a link: %+v / %+v", out.Message.Attachments, m.Attachments)
	}
	m.Channel = ChannelEmail
	out = Outbound{Message: m}
	if err := d.linkMedia(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Files) != 1 || out.Files[0].Name != "photo.jpg" || string(out.Files[0].Data) != string(jpegHead) {
		t.Errorf("email files %+v", out.Files)
	}
}

// exportStore serves one export record.
type exportStore struct {
	Store
	e Export
}

func (f exportStore) GetExport(context.Context, string, string) (*Export, error) {
	e := f.e
	return &e, nil
}

// TestAnAbandonedExportReadsAsFailed: a job pending past every run
// Lambda would make of it is shown as failed, not pending forever.
func TestAnAbandonedExportReadsAsFailed(t *testing.T) {
	created := time.Date(2026, 12, 7, 20, 0, 0, 0, time.UTC)
	id := NewID(created)
	store := exportStore{e: Export{ID: id, WorkspaceID: "ws", Status: ExportPending, CreatedAt: created}}
	for _, c := range []struct {
		after time.Duration
		want  ExportStatus
	}{{10 * time.Minute, ExportPending}, {ExportAbandonedAfter + time.Second, ExportFailed}} {
		x := NewExports(store, fixedNow(created.Add(c.after)), storedFiles{}, nil)
		e, err := x.GetExport(context.Background(), Actor{WorkspaceID: "ws"}, id)
		if err != nil || e.Status != c.want || (c.want == ExportFailed) != (e.Error != "") {
			t.Errorf("after %s: %+v, %v; want %s", c.after, e, err, c.want)
		}
	}
}
