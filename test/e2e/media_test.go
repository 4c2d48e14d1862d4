package e2e_test

// Attachments: an agent uploads a file through the presigned form POST
// /uploads returns (the local stack's stand-in for S3 enforces the form's
// policy as S3 does), sends it, and the provider gets a link to exactly
// the stored bytes; inbound files are copied in and read through links.

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
)

// Upload is POST /uploads' answer.
type Upload struct {
	Form struct {
		URL    string            `json:"url"`
		Fields map[string]string `json:"fields"`
	} `json:"form"`
	Attachment Attachment `json:"attachment"`
}

// AttachmentLink is GET …/attachments/{n}'s answer.
type AttachmentLink struct {
	URL         string `json:"url"`
	ContentType string `json:"contentType"`
	Name        string `json:"name"`
	Size        int64  `json:"size"`
}

// pngOf returns a valid PNG of about n bytes: a 1x1 image padded with a
// private ancillary chunk, so that any decoder and sniffer accept it.
func pngOf(n int) []byte {
	chunk := func(kind string, data []byte) []byte {
		var b bytes.Buffer
		binary.Write(&b, binary.BigEndian, uint32(len(data)))
		b.WriteString(kind)
		b.Write(data)
		binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(kind), data...)))
		return b.Bytes()
	}
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	b.Write(chunk("IHDR", []byte{0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0}))
	if pad := n - 100; pad > 0 {
		b.Write(chunk("prVt", bytes.Repeat([]byte{'x'}, pad)))
	}
	b.Write(chunk("IDAT", []byte{0x78, 0x9c, 0x63, 0x60, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01}))
	b.Write(chunk("IEND", nil))
	return b.Bytes()
}

// createUpload asks for a form for one file.
func createUpload(t testing.TB, token string, in map[string]any) Upload {
	t.Helper()
	return wantJSON[Upload](t, do(t, "POST", "/uploads", token, in), http.StatusCreated)
}

// postForm posts the upload form as a browser would: its fields, then the
// file, as multipart/form-data. It returns the store's status and body.
func postForm(t testing.TB, up Upload, contentType string, data []byte) (int, string) {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for k, v := range up.Form.Fields {
		if k == "Content-Type" {
			v = contentType
		}
		w.WriteField(k, v)
	}
	part, err := w.CreateFormFile("file", "upload.bin")
	if err != nil {
		t.Fatal(err)
	}
	part.Write(data)
	w.Close()
	req, _ := http.NewRequest("POST", up.Form.URL, &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// fetch GETs a presigned link and returns the bytes.
func fetch(t testing.TB, link string) (int, []byte, http.Header) {
	t.Helper()
	resp, err := httpClient.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

// TestMMSWithAnUploadedImage: the agent uploads an image, sends it, and
// Parley reads the stored size (not the client's) before sending: the
// provider gets a short-lived link that serves exactly the uploaded bytes,
// and the agent reads it back through an authorised link.
func TestMMSWithAnUploadedImage(t *testing.T) {
	t.Parallel()
	phone := newPhone(t)
	conv := startConversation(t, tok.agent, map[string]any{"phone": phone, "name": "Media " + uniq()}, http.StatusCreated)
	img := pngOf(1_700_000) // over 1.5 MB: carriers may filter it

	up := createUpload(t, tok.agent, map[string]any{"name": "menu.png", "contentType": "image/png", "size": 1_800_000, "channel": "mms"})
	if !strings.HasPrefix(up.Attachment.Key, "media/"+demoWS+"/up/") || up.Form.Fields["key"] != up.Attachment.Key {
		t.Fatalf("upload %+v", up)
	}
	if status, body := postForm(t, up, "image/png", img); status/100 != 2 {
		t.Fatalf("upload = %d %s", status, body)
	}
	// The client claims 10 bytes of JPEG; Parley reads the stored file.
	m := postOut(t, tok.agent, conv.ID, map[string]any{"channel": "sms", "body": "Our menu",
		"attachments": []any{map[string]any{"key": up.Attachment.Key, "contentType": "image/jpeg", "size": 10}}})
	if m.Channel != "mms" || len(m.Attachments) != 1 || m.Attachments[0].Size != int64(len(img)) || m.Attachments[0].ContentType != "image/png" || m.Attachments[0].URL != "" {
		t.Fatalf("message %s attachments %+v, want an MMS with the stored size %d and type image/png", m, m.Attachments, len(img))
	}
	if len(m.Warnings) != 1 || !strings.Contains(m.Warnings[0], "1.5 MB") {
		t.Errorf("warnings %q, want one about the 1.5 MB carrier filter", m.Warnings)
	}
	sent := waitSent(t, demoWS, m.ID)
	if len(sent.Attachments) != 1 || sent.Attachments[0].URL == "" {
		t.Fatalf("sent %+v, want a link for the provider", sent.Attachments)
	}
	if status, got, _ := fetch(t, sent.Attachments[0].URL); status != 200 || !bytes.Equal(got, img) {
		t.Errorf("the provider's link: %d, %d bytes, want 200 and the %d uploaded bytes", status, len(got), len(img))
	}
	link := wantJSON[AttachmentLink](t, do(t, "GET", "/conversations/"+conv.ID+"/messages/"+m.ID+"/attachments/0", tok.agent, nil), 200)
	status, got, hdr := fetch(t, link.URL)
	if status != 200 || !bytes.Equal(got, img) || !strings.Contains(hdr.Get("Content-Disposition"), "menu.png") || link.Size != int64(len(img)) {
		t.Errorf("the agent's link: %d, %d bytes, %q, %+v", status, len(got), hdr.Get("Content-Disposition"), link)
	}
	wantProblem(t, do(t, "GET", "/conversations/"+conv.ID+"/messages/"+m.ID+"/attachments/1", tok.agent, nil), 404, "not_found", "")
}

// TestUploadsRefuseWhatTheyDoNotAllow: each refusal is a 4xx and nothing
// is stored or sent.
func TestUploadsRefuseWhatTheyDoNotAllow(t *testing.T) {
	t.Parallel()
	phone := newPhone(t)
	conv := startConversation(t, tok.agent, map[string]any{"phone": phone, "name": "Media refusals " + uniq()}, http.StatusCreated)

	// Refused before any form is issued.
	for _, c := range []struct {
		name string
		in   map[string]any
	}{
		{"a disallowed type", map[string]any{"name": "x.html", "contentType": "text/html", "size": 100}},
		{"SVG", map[string]any{"name": "x.svg", "contentType": "image/svg+xml", "size": 100}},
		{"over the channel's limit", map[string]any{"name": "x.png", "contentType": "image/png", "size": 6 << 20, "channel": "mms"}},
		{"over any channel's limit", map[string]any{"name": "x.pdf", "contentType": "application/pdf", "size": 101 << 20}},
		{"no size", map[string]any{"name": "x.png", "contentType": "image/png"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := do(t, "POST", "/uploads", tok.agent, c.in)
			if r.Status != 400 {
				t.Errorf("%s: %s, want 400", c.name, r)
			}
		})
	}

	// The form binds the type and the size: the store refuses others.
	up := createUpload(t, tok.agent, map[string]any{"name": "small.png", "contentType": "image/png", "size": 1000})
	if status, _ := postForm(t, up, "image/png", pngOf(5000)); status != 400 {
		t.Errorf("a file over the form's size: %d, want 400 (EntityTooLarge)", status)
	}
	if status, _ := postForm(t, up, "text/html", []byte("<html>")); status != 403 {
		t.Errorf("a file of another type: %d, want 403", status)
	}
	// Nothing was stored, so a message naming the key is refused.
	refuseOut(t, tok.agent, conv.ID, map[string]any{"channel": "mms", "body": "x", "attachments": []any{map[string]any{"key": up.Attachment.Key}}}, "attachments")

	// A stored file that is not what it claims: markup uploaded as PNG.
	fake := createUpload(t, tok.agent, map[string]any{"name": "fake.png", "contentType": "image/png", "size": 1000})
	if status, body := postForm(t, fake, "image/png", []byte("<!DOCTYPE html><script>alert(1)</script>")); status/100 != 2 {
		t.Fatalf("upload = %d %s", status, body)
	}
	refuseOut(t, tok.agent, conv.ID, map[string]any{"channel": "mms", "body": "x", "attachments": []any{map[string]any{"key": fake.Attachment.Key}}}, "attachments")

	// Forged keys and another workspace's.
	for _, key := range []string{"media/" + demoWS + "/up/01JFORGED0000000000000000/x.png", "media/other-workspace/up/01J/x.png", "exports/" + demoWS + "/x.csv", "media/" + demoWS + "/../other/x.png"} {
		refuseOut(t, tok.agent, conv.ID, map[string]any{"channel": "mms", "body": "x", "attachments": []any{map[string]any{"key": key}}}, "attachments")
	}
	if got := listOut(t, tok.agent, conv.ID); len(got) != 0 {
		t.Errorf("refused messages were stored: %v", got)
	}
}
