package email_test

import (
	"crypto/x509"
	"testing"

	"github.com/parley-inbox/parley/shared/adapter/email"
	"github.com/parley-inbox/parley/shared/dev/signing"
	"github.com/parley-inbox/parley/shared/inbox"
)

const (
	topicARN  = "arn:aws:sns:us-east-1:123456789012:parley-inbound-email"
	certURL   = signing.SNSCertURL
	bucket    = "parley-inbound-mail-123456789012"
	eventsDir = "../../../events"
	fixtures  = "../../../events/testdata"
)

func testCert(t testing.TB) *x509.Certificate {
	t.Helper()
	cert, err := signing.SNSCert()
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// testVerifier trusts the test-only certificate, for certURL alone.
func testVerifier(t testing.TB) *email.Verifier {
	t.Helper()
	return &email.Verifier{TopicARN: topicARN, Certs: signing.SNSCerts{}}
}

// sign signs m with the test key the way SNS does (shared/dev/signing
// builds the canonical string apart from the package, so the tests
// cross-check it).
func sign(t testing.TB, m *email.SNSMessage) {
	t.Helper()
	if err := signing.SNS(m, nil); err != nil {
		t.Fatal(err)
	}
}

func wantKind(t testing.TB, err error, kind inbox.Kind) {
	t.Helper()
	if got := inbox.ErrorKind(err); err == nil || got != kind {
		t.Fatalf("error = %v (kind %q), want kind %q", err, got, kind)
	}
}
