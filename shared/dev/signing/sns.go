package signing

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/parley-inbox/parley/shared/adapter/email"
	"github.com/parley-inbox/parley/shared/dev/dynamolocal"
	"github.com/parley-inbox/parley/shared/inbox"
)

// SNSCertURL is the made-up SNS certificate URL of the test-only key in
// events/testdata: the signed samples use it, and SNSCerts trusts it alone.
const SNSCertURL = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-testonly.pem"

// SNS signs m as SNS does for its SignatureVersion ("1" is SHA1withRSA,
// anything else SHA256withRSA), with key, or the test-only key when key is
// nil. The canonical string is AWS's documented one, built here apart from
// shared/adapter/email's.
func SNS(m *email.SNSMessage, key *rsa.PrivateKey) error {
	if key == nil {
		var err error
		if key, err = SNSKey(); err != nil {
			return err
		}
	}
	h := crypto.SHA256
	if m.SignatureVersion == "1" {
		h = crypto.SHA1
	}
	sig, err := rsaSign(key, h, snsStringToSign(m))
	if err != nil {
		return err
	}
	m.Signature = base64.StdEncoding.EncodeToString(sig)
	return nil
}

// snsStringToSign is a "name\nvalue\n" line for each signed field, in the
// order AWS documents for the message's type; an empty Subject is left out.
func snsStringToSign(m *email.SNSMessage) string {
	fields := []string{"Message", m.Message, "MessageId", m.MessageID, "Subject", m.Subject,
		"Timestamp", m.Timestamp, "TopicArn", m.TopicArn, "Type", m.Type}
	if m.Type != email.TypeNotification {
		fields = []string{"Message", m.Message, "MessageId", m.MessageID, "SubscribeURL", m.SubscribeURL,
			"Timestamp", m.Timestamp, "Token", m.Token, "TopicArn", m.TopicArn, "Type", m.Type}
	}
	var b strings.Builder
	for i := 0; i < len(fields); i += 2 {
		if fields[i] == "Subject" && fields[i+1] == "" {
			continue
		}
		b.WriteString(fields[i] + "\n" + fields[i+1] + "\n")
	}
	return b.String()
}

// SNSKey is the test-only private key in events/testdata.
var SNSKey = sync.OnceValues(func() (*rsa.PrivateKey, error) {
	der, err := testdataPEM("sns-test-signing.key")
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, err
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("sns-test-signing.key is not an RSA key")
	}
	return rk, nil
})

// SNSCert is the certificate of SNSKey.
var SNSCert = sync.OnceValues(func() (*x509.Certificate, error) {
	der, err := testdataPEM("sns-test-signing.pem")
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
})

// SNSCerts is an email.CertSource that serves SNSCert for SNSCertURL and
// refuses every other URL: there is no SNS to fetch real certificates from.
type SNSCerts struct{}

func (SNSCerts) Certificate(_ context.Context, url string) (*x509.Certificate, error) {
	if url != SNSCertURL {
		return nil, &inbox.Error{Kind: inbox.KindForbidden, Message: "unknown signing certificate"}
	}
	return SNSCert()
}

// testdataPEM reads the DER bytes of a PEM file in events/testdata, found
// from the repository root so that any package's tests can call it.
func testdataPEM(name string) ([]byte, error) {
	root, err := dynamolocal.RepoRoot()
	if err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(filepath.Join(root, "events", "testdata", name))
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(raw)
	if block == nil {
		return nil, fmt.Errorf("%s has no PEM block", name)
	}
	return block.Bytes, nil
}
