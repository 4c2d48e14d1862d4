package localstack

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/parley-inbox/parley/shared/config"
	"github.com/parley-inbox/parley/shared/dev/dynamotest"
	"github.com/parley-inbox/parley/shared/dev/signing"
	"github.com/parley-inbox/parley/shared/inbox"
)

func TestMain(m *testing.M) { dynamotest.Main(m) }

// syncBuffer is the banner's writer, read while Run writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startLocal runs the local stack on the test's DynamoDB Local and
// returns its URL and data folder.
func startLocal(t *testing.T) (string, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	dir := t.TempDir()
	out := &syncBuffer{}
	cfg := config.Local{Addr: "127.0.0.1:0", DataDir: dir, DynamoDBEndpoint: dynamotest.Endpoint(),
		TableName: fmt.Sprintf("media-%d", time.Now().UnixNano()), PublicURL: "https://api.parley.example", TimeScale: 1}
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg, out) }()
	t.Cleanup(func() { cancel(); <-done })
	running := regexp.MustCompile(`Parley is running at (\S+)`)
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if m := running.FindStringSubmatch(out.String()); m != nil {
			return m[1], dir
		}
		select {
		case err := <-done:
			t.Fatalf("the local stack stopped: %v", err)
		default:
		}
	}
	t.Fatal("the local stack did not start")
	return "", ""
}

func post(t *testing.T, url string, body []byte, header ...string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if strings.Contains(url, "/dev/media/") {
		req.Method = http.MethodPut
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode >= 300 {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("%s %s: %d %s", req.Method, url, res.StatusCode, b)
	}
}

// sample reads a signed API Gateway sample from events/.
func sample(t *testing.T, name string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "..", "events", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.IsBase64Encoded {
		b, _ := base64.StdEncoding.DecodeString(ev.Body)
		ev.Body = string(b)
	}
	return ev
}

// copied waits for the message.updated event of a message of channel ch
// and returns its attachments.
func copied(t *testing.T, url string, ch inbox.Channel) []inbox.Attachment {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		res, err := http.Get(url + "/dev/events?workspace=" + DemoWorkspace)
		if err != nil {
			t.Fatal(err)
		}
		var page struct{ Items []inbox.Event }
		err = json.NewDecoder(res.Body).Decode(&page)
		res.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Items {
			if e.Type == inbox.EventMessageUpdated && e.Message != nil && e.Message.Channel == ch {
				return e.Message.Attachments
			}
		}
	}
	t.Fatalf("no message.updated event for %s", ch)
	return nil
}

func wantObject(t *testing.T, dir string, a inbox.Attachment, want string) {
	t.Helper()
	got, err := os.ReadFile(filepath.Join(dir, "objects", a.Key))
	if err != nil || string(got) != want || a.URL != "" || a.Size != int64(len(want)) {
		t.Errorf("attachment %+v: stored %q (%v), want %q", a, got, err, want)
	}
}

// The local stack copies inbound files as functions/media does: a signed
// WhatsApp image, a Twilio MMS and an email attachment become files in
// the local object store, and the message says so (message.updated).
func TestLocalStackCopiesInboundMedia(t *testing.T) {
	url, dir := startLocal(t)

	const jpeg = "\xff\xd8\xff\xe0 a WhatsApp photo"
	post(t, url+"/dev/media/1503728440715742", []byte(jpeg), "Content-Type", "image/jpeg")
	wa := sample(t, "meta-whatsapp-image")
	post(t, url+wa.RawPath, []byte(wa.Body), "Content-Type", "application/json", "X-Hub-Signature-256", wa.Headers["x-hub-signature-256"])
	atts := copied(t, url, inbox.ChannelWhatsApp)
	if len(atts) != 1 || !strings.HasPrefix(atts[0].Key, inbox.MediaPrefix(DemoWorkspace)+"in/") || atts[0].ContentType != "image/jpeg" {
		t.Fatalf("WhatsApp attachments = %+v", atts)
	}
	wantObject(t, dir, atts[0], jpeg)

	// The sample carries two files, typed by Twilio: the stored types win.
	const jpg, png = "\xff\xd8\xff an MMS picture", "\x89PNG a second one"
	post(t, url+"/dev/media/ME886953279296794edbf4cf01929714d1", []byte(jpg), "Content-Type", "image/jpeg")
	post(t, url+"/dev/media/ME8638d729739a920417653a4a7466dc4d", []byte(png), "Content-Type", "image/png")
	mms := sample(t, "twilio-mms-inbound")
	post(t, url+mms.RawPath, []byte(mms.Body), "Content-Type", "application/x-www-form-urlencoded", "X-Twilio-Signature", mms.Headers["x-twilio-signature"])
	atts = copied(t, url, inbox.ChannelMMS)
	if len(atts) != 2 || atts[0].ContentType != "image/jpeg" || atts[1].ContentType != "image/png" {
		t.Fatalf("MMS attachments = %+v", atts)
	}
	wantObject(t, dir, atts[0], jpg)
	wantObject(t, dir, atts[1], png)

	raw := "From: Jo <jo@example.com>\r\nTo: support@inbox.parley.example\r\nSubject: invoice\r\nMessage-ID: <media-test@example.com>\r\n" +
		"Content-Type: multipart/mixed; boundary=BB\r\n\r\n--BB\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n" +
		"--BB\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"invoice.pdf\"\r\n\r\n%PDF-1.4 the invoice\r\n--BB--\r\n"
	key := "inbound/mediatest0001"
	if err := os.MkdirAll(filepath.Join(dir, "mail", LocalMailBucket, "inbound"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "mail", LocalMailBucket, key), []byte(raw), 0o600); err != nil {
		t.Fatal(err)
	}
	m, err := signing.SESNotification(signing.SESReceipt{TopicARN: demoCredentials[DemoWorkspace].SNSTopicARN, Bucket: LocalMailBucket, Key: key,
		SESMessageID: "mediatest0001", SNSMessageID: "3f1c2b9e-0d4a-4e8b-9c7f-1a2b3c4d5e6f", From: "jo@example.com",
		To: []string{"support@inbox.parley.example"}, At: time.Now(), SPF: "PASS", DKIM: "PASS", DMARC: "PASS"})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(m)
	post(t, url+"/webhooks/"+DemoWorkspace+"/email", body, "Content-Type", "text/plain; charset=UTF-8", "X-Amz-Sns-Message-Type", m.Type)
	atts = copied(t, url, inbox.ChannelEmail)
	if len(atts) != 1 || atts[0].Name != "invoice.pdf" || atts[0].ContentType != "application/pdf" {
		t.Fatalf("email attachments = %+v", atts)
	}
	wantObject(t, dir, atts[0], "%PDF-1.4 the invoice")
}
