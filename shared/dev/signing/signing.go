// Package signing signs requests the way Parley's providers and callers do,
// for the tests, the local tools and the bench. Each signer is written from
// the provider's documentation, not from the verifier it feeds, so a test
// that signs here and verifies with production code checks both.
package signing

import (
	"crypto"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Twilio is X-Twilio-Signature: base64 of HMAC-SHA1, under the auth token,
// of the full URL Twilio posts to followed by every form field's name and
// value, sorted by name.
func Twilio(authToken, fullURL string, form url.Values) string {
	names := make([]string, 0, len(form))
	for name := range form {
		names = append(names, name)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString(fullURL)
	for _, name := range names {
		for _, v := range form[name] {
			b.WriteString(name)
			b.WriteString(v)
		}
	}
	return base64.StdEncoding.EncodeToString(hmacSum(sha1.New, authToken, []byte(b.String())))
}

// Meta is X-Hub-Signature-256: "sha256=" and the hex HMAC-SHA256 of the raw
// body under the app secret.
func Meta(appSecret string, body []byte) string {
	return "sha256=" + hex.EncodeToString(hmacSum(sha256.New, appSecret, body))
}

// Event is the X-Parley-Signature header of an external event posted at t:
// "t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." and the body>", as
// Stripe signs its webhooks.
func Event(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(hmacSum(sha256.New, secret, []byte(ts+"."+string(body))))
}

// WebChatIdentity is the identifierHash a site sends to vouch for a
// logged-in visitor: the hex HMAC-SHA256 of their identifier (their email)
// under the workspace's web chat identity secret.
func WebChatIdentity(secret, identifier string) string {
	return hex.EncodeToString(hmacSum(sha256.New, secret, []byte(identifier)))
}

func hmacSum(h func() hash.Hash, key string, data []byte) []byte {
	m := hmac.New(h, []byte(key))
	m.Write(data)
	return m.Sum(nil)
}

// rsaSign is SHA1withRSA or SHA256withRSA (PKCS #1 v1.5), which is
// deterministic, so a re-signed sample is byte-for-byte the committed one.
func rsaSign(key *rsa.PrivateKey, h crypto.Hash, s string) ([]byte, error) {
	var digest []byte
	switch h {
	case crypto.SHA1:
		sum := sha1.Sum([]byte(s))
		digest = sum[:]
	default:
		sum := sha256.Sum256([]byte(s))
		digest = sum[:]
	}
	return rsa.SignPKCS1v15(nil, key, h, digest)
}
