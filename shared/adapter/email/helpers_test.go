package email_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/parley-inbox/parley/shared/adapter/email"
	"github.com/parley-inbox/parley/shared/inbox"
)

const (
	topicARN  = "arn:aws:sns:us-east-1:123456789012:parley-inbound-email"
	certURL   = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-testonly.pem"
	bucket    = "parley-inbound-mail-123456789012"
	eventsDir = "../../../events"
	fixtures  = "../../../events/testdata"
)

// testCerts serves the committed test-only certificate for certURL and
// nothing else.
type testCerts struct{ cert *x509.Certificate }

func (c testCerts) Certificate(_ context.Context, url string) (*x509.Certificate, error) {
	if url != certURL {
		return nil, fmt.Errorf("no test certificate at %s", url)
	}
	return c.cert, nil
}

func readPEM(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(fixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatalf("%s has no PEM block", name)
	}
	return block.Bytes
}

func testCert(t testing.TB) *x509.Certificate {
	t.Helper()
	cert, err := x509.ParseCertificate(readPEM(t, "sns-test-signing.pem"))
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func testVerifier(t testing.TB) *email.Verifier {
	t.Helper()
	return &email.Verifier{TopicARN: topicARN, Certs: testCerts{testCert(t)}}
}

// sign signs m with the test key the way SNS does. The canonical string is
// built here independently of the package, so the tests cross-check it.
func sign(t testing.TB, m *email.SNSMessage) {
	t.Helper()
	k, err := x509.ParsePKCS8PrivateKey(readPEM(t, "sns-test-signing.key"))
	if err != nil {
		t.Fatal(err)
	}
	fields := []struct{ name, value string }{
		{"Message", m.Message}, {"MessageId", m.MessageID}, {"Subject", m.Subject},
		{"Timestamp", m.Timestamp}, {"TopicArn", m.TopicArn}, {"Type", m.Type},
	}
	if m.Type != email.TypeNotification {
		fields = []struct{ name, value string }{
			{"Message", m.Message}, {"MessageId", m.MessageID}, {"SubscribeURL", m.SubscribeURL},
			{"Timestamp", m.Timestamp}, {"Token", m.Token}, {"TopicArn", m.TopicArn}, {"Type", m.Type},
		}
	}
	var s string
	for _, f := range fields {
		if f.name == "Subject" && f.value == "" {
			continue
		}
		s += f.name + "\n" + f.value + "\n"
	}
	var sig []byte
	switch m.SignatureVersion {
	case "1":
		sum := sha1.Sum([]byte(s))
		sig, err = rsa.SignPKCS1v15(rand.Reader, k.(*rsa.PrivateKey), crypto.SHA1, sum[:])
	default:
		sum := sha256.Sum256([]byte(s))
		sig, err = rsa.SignPKCS1v15(rand.Reader, k.(*rsa.PrivateKey), crypto.SHA256, sum[:])
	}
	if err != nil {
		t.Fatal(err)
	}
	m.Signature = base64.StdEncoding.EncodeToString(sig)
}

func wantKind(t testing.TB, err error, kind inbox.Kind) {
	t.Helper()
	if got := inbox.ErrorKind(err); err == nil || got != kind {
		t.Fatalf("error = %v (kind %q), want kind %q", err, got, kind)
	}
}
