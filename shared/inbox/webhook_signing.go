package inbox

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Standard Webhooks signing (https://www.standardwebhooks.com): the signed
// content is "{webhook-id}.{webhook-timestamp}.{body}", its HMAC-SHA256
// under the secret's base64-decoded bytes is sent as "v1,<base64>" in the
// webhook-signature header, several space-separated while a rotated
// secret is still honoured. The spec's Go library is not on the module
// proxy here; these lines reproduce its published test vector
// (webhook_signing_test.go).

const (
	HeaderWebhookID        = "webhook-id"
	HeaderWebhookTimestamp = "webhook-timestamp"
	HeaderWebhookSignature = "webhook-signature"
	// WebhookSecretPrefix marks a Standard Webhooks symmetric secret.
	WebhookSecretPrefix = "whsec_"
	// webhookSecretBytes is the random key length: the spec asks for 24
	// to 64 bytes.
	webhookSecretBytes = 32
	// WebhookTolerance is how far a receiver should accept a timestamp
	// from its clock (the spec's libraries use 5 minutes).
	WebhookTolerance = 5 * time.Minute
	// maxSignatureHeader bounds what a verifier parses.
	maxSignatureHeader = 4096
)

// NewWebhookSecret returns a fresh whsec_ secret.
func NewWebhookSecret() (string, error) {
	b := make([]byte, webhookSecretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return WebhookSecretPrefix + base64.StdEncoding.EncodeToString(b), nil
}

// webhookKey decodes a whsec_ secret (the prefix is optional, as in the
// spec's libraries).
func webhookKey(secret string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, WebhookSecretPrefix))
	if err != nil || len(key) == 0 {
		return nil, errors.New("webhook secret is not base64")
	}
	return key, nil
}

func webhookMAC(key []byte, id string, ts int64, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write([]byte(strconv.FormatInt(ts, 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// SignWebhook returns the webhook-signature header value: one "v1,<sig>"
// per secret, space-separated (the current secret first).
func SignWebhook(secrets []string, id string, at time.Time, body []byte) (string, error) {
	sigs := make([]string, 0, len(secrets))
	for _, s := range secrets {
		key, err := webhookKey(s)
		if err != nil {
			return "", err
		}
		sigs = append(sigs, "v1,"+base64.StdEncoding.EncodeToString(webhookMAC(key, id, at.Unix(), body)))
	}
	return strings.Join(sigs, " "), nil
}

// ErrWebhookSignature is a request whose signature does not verify.
var ErrWebhookSignature = errors.New("webhook signature does not verify")

// VerifyWebhook checks a received webhook's headers against secret, as an
// integrator's receiver would: the timestamp within WebhookTolerance of
// now, and any v1 signature in the header matching.
func VerifyWebhook(secret, id, timestamp, signature string, body []byte, now time.Time) error {
	key, err := webhookKey(secret)
	if err != nil {
		return err
	}
	if id == "" || len(signature) > maxSignatureHeader {
		return ErrWebhookSignature
	}
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return ErrWebhookSignature
	}
	if d := now.Sub(time.Unix(ts, 0)); d > WebhookTolerance || d < -WebhookTolerance {
		return ErrWebhookSignature
	}
	want := webhookMAC(key, id, ts, body)
	for _, sig := range ParseWebhookSignatures(signature) {
		if hmac.Equal(sig, want) {
			return nil
		}
	}
	return ErrWebhookSignature
}

// ParseWebhookSignatures returns the decoded v1 signatures of a
// webhook-signature header; other versions and malformed entries are
// skipped.
func ParseWebhookSignatures(header string) [][]byte {
	if len(header) > maxSignatureHeader {
		return nil
	}
	var out [][]byte
	for _, part := range strings.Fields(header) {
		version, sig, ok := strings.Cut(part, ",")
		if !ok || version != "v1" {
			continue
		}
		b, err := base64.StdEncoding.DecodeString(sig)
		if err != nil || len(b) != sha256.Size {
			continue
		}
		out = append(out, b)
	}
	return out
}
