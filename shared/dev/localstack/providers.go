package localstack

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"

	"github.com/parley-inbox/parley/shared/config/providers"
)

// The test secrets the samples in events/ are signed with. They are
// written to .local/providers.json on first run; edit that file to use
// real credentials with a tunnel to your machine.
var demoCredentials = providers.Set{
	DemoWorkspace: {
		TwilioAuthToken: "twilio-test-auth-token",
		// The account of the Twilio samples in events/: inbound media is
		// fetched (from the local stand-in) with it.
		TwilioAccountSID: "ACd16c3a35ed0e2b33ff27d4d3ca80aa23",
		MetaAppSecret:    "meta-test-app-secret",
		MetaVerifyToken:  "meta-test-verify-token",
		// WhatsApp media is looked up (locally) with a token.
		WhatsAppToken: "whatsapp-test-token",
		SNSTopicARN:   "arn:aws:sns:us-east-1:123456789012:parley-inbound-email",
		WebChat:       true,

		EventsSigningSecret: "events-test-signing-secret",
		// Payment links are made by the Stripe stand-in (/dev/stripe),
		// which signs its events with this secret.
		StripeSecretKey:     "sk_test_parley_demo",
		StripeWebhookSecret: "whsec_test_parley_demo",
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
