package localstack

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"

	"github.com/parley-inbox/parley/shared/config/providers"
	"github.com/parley-inbox/parley/shared/dev/dynamolocal"
	"github.com/parley-inbox/parley/shared/inbox"
)

// The test secrets the samples in events/ are signed with. They are
// written to .local/providers.json on first run; edit that file to use
// real credentials with a tunnel to your machine.
var demoCredentials = providers.Set{
	DemoWorkspace: {
		TwilioAuthToken: "twilio-test-auth-token",
		MetaAppSecret:   "meta-test-app-secret",
		MetaVerifyToken: "meta-test-verify-token",
		SNSTopicARN:     "arn:aws:sns:us-east-1:123456789012:parley-inbound-email",
		WebChat:         true,

		EventsSigningSecret: "events-test-signing-secret",
	},
}

func loadProviders(dataDir string) (providers.Set, error) {
	path := filepath.Join(dataDir, "providers.json")
	set, err := providers.Load(path)
	if !errors.Is(err, os.ErrNotExist) {
		return set, err
	}
	raw, _ := json.MarshalIndent(demoCredentials, "", "  ")
	if err := os.WriteFile(path, append(raw, '\n'), 0o600); err != nil {
		return nil, err
	}
	return demoCredentials, nil
}

// sampleCertURL is the made-up SNS certificate URL of the signed samples.
const sampleCertURL = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-testonly.pem"

// sampleCerts trusts the test-only certificate in events/testdata, for that
// one URL, so the signed SES samples verify locally. Nothing else is trusted:
// there is no SNS to fetch real certificates from here.
type sampleCerts struct{}

func (sampleCerts) Certificate(ctx context.Context, url string) (*x509.Certificate, error) {
	if url != sampleCertURL {
		return nil, &inbox.Error{Kind: inbox.KindForbidden, Message: "unknown signing certificate"}
	}
	root, err := dynamolocal.RepoRoot()
	if err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(filepath.Join(root, "events", "testdata", "sns-test-signing.pem"))
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(raw)
	if block == nil {
		return nil, errors.New("test certificate is not PEM")
	}
	return x509.ParseCertificate(block.Bytes)
}
