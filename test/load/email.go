package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/parley-inbox/parley/shared/dev/signing"
)

// What SES is told to do with the workspace's mail, as in test/e2e: store
// it in the bucket under inbound/<ws>/ (infra/email.go) and notify SNS.
const (
	sesBucket  = "parley-inbound-mail-123456789012"
	ourMailbox = "support@inbox.parley.example"
)

// emailSender is the address of the i-th contact of an email run.
func emailSender(i int) string { return fmt.Sprintf("load%d@example.com", i) }

// objectKey is where SES stored m's raw message in sesBucket.
func objectKey(m inboundMessage) string { return "inbound/" + workspace + "/" + m.sesID }

// rawEmail is m as its sender's mail server wrote it: m.sid is the
// Message-ID, which the inbox files as the message's provider id.
func rawEmail(m inboundMessage) []byte {
	var b strings.Builder
	line := func(s string) { b.WriteString(s + "\r\n") }
	name := strings.TrimSuffix(m.from, "@example.com")
	line("Return-Path: <" + m.from + ">")
	line("MIME-Version: 1.0")
	line("Date: " + m.at.Format(time.RFC1123Z))
	line("Message-ID: <" + m.sid + ">")
	line("Subject: " + m.body)
	line("From: " + name + " <" + m.from + ">")
	line("To: Parley Support <" + ourMailbox + ">")
	line(`Content-Type: text/plain; charset="UTF-8"`)
	line("Content-Transfer-Encoding: 8bit")
	line("")
	line(m.body)
	return []byte(b.String())
}

// sesNotification is the SNS Notification, as posted, that SES sends for m
// once it has stored m's raw message at objectKey(m), signed with the
// test-only SNS key. Everything in it comes from m (RSA PKCS #1 v1.5 is
// deterministic), so a redelivery is byte-for-byte the first copy.
func sesNotification(m inboundMessage, topicARN string) ([]byte, error) {
	n, err := signing.SESNotification(signing.SESReceipt{TopicARN: topicARN, Bucket: sesBucket, Key: objectKey(m),
		SESMessageID: m.sesID, SNSMessageID: m.snsID, From: m.from, To: []string{ourMailbox}, At: m.at})
	if err != nil {
		return nil, fmt.Errorf("sign the SNS notification: %w", err)
	}
	return json.Marshal(n)
}

// stageEmail does SES's part for every distinct message before the run:
// it stores the raw message where the local stack's stand-in for S3 reads
// it (<data dir>/mail/<bucket>/<key>) and signs the notification, which
// it returns by Message-ID, so that firing costs the client no RSA.
func stageEmail(p *plan, dataDir, topicARN string) (map[string][]byte, error) {
	if topicARN == "" {
		return nil, fmt.Errorf("providers.json has no SNS topic ARN for workspace %q", workspace)
	}
	root := filepath.Join(dataDir, "mail", sesBucket)
	if err := os.MkdirAll(filepath.Join(root, "inbound", workspace), 0o755); err != nil {
		return nil, err
	}
	notes := make(map[string][]byte, len(p.messages))
	for _, m := range p.messages {
		if err := os.WriteFile(filepath.Join(root, filepath.FromSlash(objectKey(m))), rawEmail(m), 0o644); err != nil {
			return nil, fmt.Errorf("stage the raw email: %w", err)
		}
		body, err := sesNotification(m, topicARN)
		if err != nil {
			return nil, err
		}
		notes[m.sid] = body
	}
	return notes, nil
}
