package email

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/parley-inbox/parley/shared/inbox"
)

// CertSource returns the certificate SNS signed a message with. The URL has
// already passed the host checks in Verify.
type CertSource interface {
	Certificate(ctx context.Context, url string) (*x509.Certificate, error)
}

// Verifier proves that an SNS message was signed by SNS for one topic.
type Verifier struct {
	// TopicARN is the only topic accepted: anyone can create a topic and
	// have SNS sign messages for it, so the signature alone proves nothing.
	TopicARN string
	Certs    CertSource
}

// snsHost is where SNS serves signing certificates and confirmation links:
// sns.<region>.amazonaws.com, or .com.cn in China. A looser pattern would
// admit other amazonaws.com hosts, such as the S3 bucket sns.s3.amazonaws.com.
var snsHost = regexp.MustCompile(`^sns\.[a-z]{2}(-[a-z]+)+-[0-9]+\.amazonaws\.com(\.cn)?$`)

// topicARN reads the partition and region of an SNS topic ARN.
var topicARN = regexp.MustCompile(`^arn:(aws|aws-cn|aws-us-gov):sns:([a-z]{2}(?:-[a-z]+)+-[0-9]+):[0-9]{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$`)

// hostForTopic is the one SNS host that serves a topic's certificates and
// confirmation links: SNS in the topic's own region.
func hostForTopic(arn string) (string, error) {
	m := topicARN.FindStringSubmatch(arn)
	if m == nil {
		return "", fmt.Errorf("%q is not an SNS topic ARN", arn)
	}
	host := "sns." + m[2] + ".amazonaws.com"
	if m[1] == "aws-cn" {
		host += ".cn"
	}
	return host, nil
}

// snsURL parses raw and accepts it only as https on host (any SNS host when
// host is empty), with no userinfo, port or escaping that could make a
// client connect elsewhere.
func snsURL(raw, host string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "https" || u.User != nil || u.Opaque != "" || u.Fragment != "" || !snsHost.MatchString(u.Host) || (host != "" && u.Host != host) {
		return nil, fmt.Errorf("%q is not an https URL on the topic's SNS host", raw)
	}
	// Whatever the parser normalised, the text itself must start with the
	// host we checked.
	if !strings.HasPrefix(raw, "https://"+u.Host+"/") {
		return nil, fmt.Errorf("%q is not in canonical form", raw)
	}
	return u, nil
}

func forbidden(msg string, err error) *inbox.Error {
	return &inbox.Error{Kind: inbox.KindForbidden, Message: msg, Err: err}
}

// Verify checks m's topic, signing certificate URL and signature. Every
// failure is KindForbidden, except a CertSource failure of KindUnavailable,
// which is passed on so that SNS retries (it drops a message answered 4xx).
// Timestamp is not checked for age: a replay is a redelivery, which
// inbox.Ingest deduplicates.
func (v *Verifier) Verify(ctx context.Context, m *SNSMessage) error {
	if m == nil || v.Certs == nil || v.TopicARN == "" {
		return forbidden("SNS message cannot be verified", nil)
	}
	if m.TopicArn != v.TopicARN {
		return forbidden("SNS message is for another topic", nil)
	}
	host, err := hostForTopic(v.TopicARN)
	if err != nil {
		return forbidden("SNS message cannot be verified", err)
	}
	u, err := snsURL(m.SigningCertURL, host)
	if err != nil || u.RawQuery != "" || !strings.HasSuffix(u.Path, ".pem") {
		return forbidden("SNS signing certificate URL is not trusted", err)
	}
	var (
		hash   crypto.Hash
		digest []byte
	)
	switch s := stringToSign(m); m.SignatureVersion {
	case "1":
		sum := sha1.Sum([]byte(s))
		hash, digest = crypto.SHA1, sum[:]
	case "2":
		sum := sha256.Sum256([]byte(s))
		hash, digest = crypto.SHA256, sum[:]
	default:
		return forbidden("unsupported SNS SignatureVersion", nil)
	}
	sig, err := base64.StdEncoding.DecodeString(m.Signature)
	if err != nil {
		return forbidden("SNS signature is not base64", err)
	}
	cert, err := v.Certs.Certificate(ctx, m.SigningCertURL)
	if inbox.IsKind(err, inbox.KindUnavailable) {
		return err
	}
	if err != nil || cert == nil {
		return forbidden("SNS signing certificate is not available", err)
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return forbidden("SNS signing certificate has no RSA key", nil)
	}
	if err := rsa.VerifyPKCS1v15(pub, hash, digest, sig); err != nil {
		return forbidden("SNS signature does not match", err)
	}
	return nil
}

// stringToSign is the canonical form AWS documents: name and value lines
// in a fixed order that depends on the message type.
func stringToSign(m *SNSMessage) string {
	var b strings.Builder
	add := func(name, value string) {
		b.WriteString(name)
		b.WriteByte('\n')
		b.WriteString(value)
		b.WriteByte('\n')
	}
	add("Message", m.Message)
	add("MessageId", m.MessageID)
	if m.Type == TypeNotification {
		if m.Subject != "" {
			add("Subject", m.Subject)
		}
	} else {
		add("SubscribeURL", m.SubscribeURL)
	}
	add("Timestamp", m.Timestamp)
	if m.Type != TypeNotification {
		add("Token", m.Token)
	}
	add("TopicArn", m.TopicArn)
	add("Type", m.Type)
	return b.String()
}

// Confirm verifies a SubscriptionConfirmation and visits its SubscribeURL,
// which must be an SNS ConfirmSubscription link for the pinned topic. A
// nil client means a default one with a short timeout.
func (v *Verifier) Confirm(ctx context.Context, client *http.Client, m *SNSMessage) error {
	if m == nil || m.Type != TypeSubscriptionConfirmation {
		return forbidden("not an SNS SubscriptionConfirmation", nil)
	}
	if err := v.Verify(ctx, m); err != nil {
		return err
	}
	host, err := hostForTopic(v.TopicARN)
	if err != nil {
		return forbidden("SNS message cannot be verified", err)
	}
	u, err := snsURL(m.SubscribeURL, host)
	if err != nil {
		return forbidden("SNS SubscribeURL is not trusted", err)
	}
	q := u.Query()
	if q.Get("Action") != "ConfirmSubscription" || q.Get("TopicArn") != v.TopicARN || q.Get("Token") == "" {
		return forbidden("SNS SubscribeURL is not a confirmation for this topic", nil)
	}
	c := http.Client{Timeout: 10 * time.Second}
	if client != nil {
		c = *client
	}
	// A confirmation link answers directly; a redirect could lead anywhere.
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return inbox.Internal(err)
	}
	res, err := c.Do(req)
	if err != nil {
		return &inbox.Error{Kind: inbox.KindUnavailable, Message: "SNS subscription could not be confirmed", Err: err}
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	if res.StatusCode != http.StatusOK {
		return &inbox.Error{Kind: inbox.KindUnavailable, Message: "SNS subscription could not be confirmed", Err: fmt.Errorf("SubscribeURL answered %s", res.Status)}
	}
	return nil
}
