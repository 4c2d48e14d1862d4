package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/parley-inbox/parley/shared/adapter/email"
	"github.com/parley-inbox/parley/shared/config/providers"
	"github.com/parley-inbox/parley/shared/dev/dynamolocal"
	"github.com/parley-inbox/parley/shared/dev/localstack"
	"github.com/parley-inbox/parley/shared/dev/objectstore"
	"github.com/parley-inbox/parley/shared/dev/signing"
	"github.com/parley-inbox/parley/shared/handler/webhooks"
	"github.com/parley-inbox/parley/shared/inbox"
)

const (
	mailTopicARN = "arn:aws:sns:us-east-1:123456789012:parley-inbound-email"
	mailBucket   = "parley-inbound-mail-123456789012"
)

// mailBench files inbound email as functions/mail does: SES stores the
// message (here in a folder standing in for S3) and SNS posts a signed
// notification, which goes through MailRoutes, built by NewMail.
type mailBench struct {
	routes http.Handler
	dir    string
	// raw is events/testdata/inbound-reply.eml, a multipart reply with
	// HTML and an attachment; each email gets its own Message-ID.
	raw   []byte
	notes [][]byte
	seq   int
}

func newMailBench(store inbox.Store) *mailBench {
	root, err := dynamolocal.RepoRoot()
	check(err)
	raw, err := os.ReadFile(filepath.Join(root, "events", "testdata", "inbound-reply.eml"))
	check(err)
	dir, err := os.MkdirTemp("", "parley-bench-mail")
	check(err)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	h := webhooks.NewMail(store,
		&webhooks.EmailIntake{Certs: signing.SNSCerts{}, Objects: objectstore.Dir{Root: dir}},
		webhooks.Settings{Credentials: providers.Set{localstack.DemoWorkspace: {SNSTopicARN: mailTopicARN}}}, quiet)
	return &mailBench{routes: h.MailRoutes(), dir: dir, raw: raw}
}

var messageIDHeader = regexp.MustCompile(`(?m)^Message-ID: <[^>]+>`)

// prepare does SES's part for n new emails, untimed: it stores each one
// and signs its notification (RSA is SNS's cost, not the function's).
func (m *mailBench) prepare(n int) {
	m.notes = m.notes[:0]
	for range n {
		m.seq++
		sesID := fmt.Sprintf("gc%038d", m.seq)
		key := "inbound/" + localstack.DemoWorkspace + "/" + sesID
		raw := messageIDHeader.ReplaceAll(m.raw, fmt.Appendf(nil, "Message-ID: <gc-%d@mail.example.com>", m.seq))
		dest := filepath.Join(m.dir, mailBucket, filepath.FromSlash(key))
		check(os.MkdirAll(filepath.Dir(dest), 0o755))
		check(os.WriteFile(dest, raw, 0o644))

		n, err := signing.SESNotification(signing.SESReceipt{TopicARN: mailTopicARN, Bucket: mailBucket, Key: key,
			SESMessageID: sesID, SNSMessageID: fmt.Sprintf("00000000-0000-4000-8000-%012d", m.seq),
			From: "Jo.Customer@Example.com", To: []string{"support@inbox.parley.example"}, At: time.Now()})
		check(err)
		body, err := json.Marshal(n)
		check(err)
		m.notes = append(m.notes, body)
	}
}

// post delivers the i-th prepared notification, as SNS does.
func (m *mailBench) post(i int) {
	req := httptest.NewRequest("POST", "/webhooks/"+localstack.DemoWorkspace+"/email", bytes.NewReader(m.notes[i]))
	req.Header.Set("Content-Type", "text/plain; charset=UTF-8")
	req.Header.Set("X-Amz-Sns-Message-Type", email.TypeNotification)
	rec := httptest.NewRecorder()
	m.routes.ServeHTTP(rec, req)
	if rec.Code != http.StatusNoContent {
		check(fmt.Errorf("email webhook: %d %s", rec.Code, rec.Body))
	}
}

func (m *mailBench) close() { _ = os.RemoveAll(m.dir) }
