package e2e_test

// Attachments: an agent uploads a file through the presigned form POST
// /uploads returns (the local stack's stand-in for S3 enforces the form's
// policy as S3 does), sends it, and the provider gets a link to exactly
// the stored bytes; inbound files are copied in and read through links.

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"
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

// registerProviderMedia puts a file where the local stand-in for the
// provider's media serves it (Twilio's media URLs, the Graph API's ids).
func registerProviderMedia(t testing.TB, id, contentType string, data []byte) {
	t.Helper()
	req, _ := http.NewRequest("PUT", baseURL+"/dev/media/"+id, bytes.NewReader(data))
	req.Header.Set("Content-Type", contentType)
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("PUT /dev/media/%s = %d", id, resp.StatusCode)
	}
}

// waitCopied waits until the thread's message with providerID has every
// attachment stored in Parley, then downloads each through the API's link.
func waitCopied(t testing.TB, token, providerID string, find func() (convID string, ok bool)) (Message, [][]byte) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if convID, ok := find(); ok {
			for _, m := range listMessages(t, token, convID, "") {
				if m.ProviderID != providerID || len(m.Attachments) == 0 || m.Attachments[0].Key == "" {
					continue
				}
				var files [][]byte
				for i := range m.Attachments {
					link := wantJSON[AttachmentLink](t, do(t, "GET", fmt.Sprintf("/conversations/%s/messages/%s/attachments/%d", convID, m.ID, i), token, nil), 200)
					status, b, _ := fetch(t, link.URL)
					if status != 200 {
						t.Fatalf("download %d: %d", i, status)
					}
					files = append(files, b)
				}
				return m, files
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the files of %s were not copied into Parley within 15 s", providerID)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestInboundWhatsAppImageIsDownloadable: a WhatsApp image arrives as a
// media id; Parley copies it through the Graph API (the local stand-in)
// after answering the webhook, and the agent downloads the same bytes
// through an authorised link.
func TestInboundWhatsAppImageIsDownloadable(t *testing.T) {
	t.Parallel()
	phone := newPhone(t)
	mediaID := fmt.Sprint(1_000_000_000_000 + randInt(1_000_000_000))
	img := pngOf(40_000)
	registerProviderMedia(t, mediaID, "image/png", img)
	body, wamid := whatsAppText(phone, "Photo sender "+uniq(), "")
	body = bytes.Replace(body, []byte(`"text":{"body":""}`), []byte(`"image":{"caption":"my receipt","id":"`+mediaID+`","mime_type":"image/png","sha256":"x"}`), 1)
	body = bytes.Replace(body, []byte(`"type":"text"`), []byte(`"type":"image"`), 1)
	if !bytes.Contains(body, []byte(mediaID)) {
		t.Fatalf("the image message was not built: %s", body)
	}
	metaDeliver(t, demoWS, body)
	m, files := waitCopied(t, tok.agent, wamid, func() (string, bool) {
		c, ok := contactByPhone(t, phone)
		return c.ConversationID, ok && c.ConversationID != ""
	})
	if m.Body != "my receipt" || !bytes.Equal(files[0], img) || m.Attachments[0].Size != int64(len(img)) || m.Attachments[0].URL != "" {
		t.Errorf("message %+v, %d bytes downloaded; want the caption and the %d bytes", m, len(files[0]), len(img))
	}
	if !strings.HasPrefix(m.Attachments[0].Key, "media/"+demoWS+"/in/") {
		t.Errorf("key %q, want the workspace's inbound prefix", m.Attachments[0].Key)
	}
}

// TestInboundEmailAttachmentIsDownloadable: an email's attachment, which
// arrives inside the raw message SES stored, becomes a file of its own.
func TestInboundEmailAttachmentIsDownloadable(t *testing.T) {
	t.Parallel()
	from := "attach-" + strings.ToLower(randHex(6)) + "@example.com"
	msgID := "attach-" + randHex(8) + "@example.com"
	pdf := []byte("%PDF-1.4\n% the invoice " + uniq() + "\n%%EOF\n")
	raw := "Return-Path: <" + from + ">\r\nMIME-Version: 1.0\r\nMessage-ID: <" + msgID + ">\r\nSubject: Invoice\r\nFrom: Jo <" + from + ">\r\nTo: Parley Support <" + ourMailbox + ">\r\n" +
		"Content-Type: multipart/mixed; boundary=BB\r\n\r\n--BB\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n" +
		"--BB\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"invoice.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		base64.StdEncoding.EncodeToString(pdf) + "\r\n--BB--\r\n"
	deliverEmail(t, []byte(raw), from, passAll)
	m, files := waitCopied(t, tok.agent, msgID, func() (string, bool) {
		c, ok := contactByEmail(t, from)
		return c.ConversationID, ok && c.ConversationID != ""
	})
	if len(files) != 1 || !bytes.Equal(files[0], pdf) || m.Attachments[0].Name != "invoice.pdf" || m.Attachments[0].ContentType != "application/pdf" {
		t.Errorf("attachments %+v, downloaded %q; want invoice.pdf with the PDF's bytes", m.Attachments, files)
	}
}
