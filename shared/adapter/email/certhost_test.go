package email_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/parley-inbox/parley/shared/adapter/email"
	"github.com/parley-inbox/parley/shared/inbox"
)

// SNS serves certificates from sns.<region>.amazonaws.com, the region being
// the topic's; any other host under amazonaws.com (an S3 bucket such as
// sns.s3.amazonaws.com) could serve an attacker's certificate.
func TestVerifyCertHostIsTopicRegion(t *testing.T) {
	ctx := context.Background()
	base := sampleMessage(t, "ses-sns-inbound.json")
	v := &email.Verifier{TopicARN: topicARN, Certs: anyCert{testCert(t)}}
	for _, u := range []string{
		"https://sns.s3.amazonaws.com/x.pem",
		"https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-testonly.pem",
		"https://sns.us-east-1.amazonaws.com.cn/SimpleNotificationService-testonly.pem",
		"https://sns.us-east-1-fips.amazonaws.com/x.pem",
		"https://sns.example.amazonaws.com/x.pem",
	} {
		t.Run(u, func(t *testing.T) {
			m := *base
			m.SigningCertURL = u
			wantKind(t, v.Verify(ctx, &m), inbox.KindForbidden)
		})
	}

	t.Run("China region", func(t *testing.T) {
		const cnTopic = "arn:aws-cn:sns:cn-north-1:123456789012:parley-inbound-email"
		m := *base
		m.TopicArn = cnTopic
		m.SigningCertURL = "https://sns.cn-north-1.amazonaws.com.cn/x.pem"
		sign(t, &m)
		cn := &email.Verifier{TopicARN: cnTopic, Certs: anyCert{testCert(t)}}
		if err := cn.Verify(ctx, &m); err != nil {
			t.Fatalf("cn-north-1 certificate: %v", err)
		}
		m.SigningCertURL = "https://sns.cn-north-1.amazonaws.com/x.pem"
		wantKind(t, cn.Verify(ctx, &m), inbox.KindForbidden)
	})
	t.Run("pinned topic is not an ARN", func(t *testing.T) {
		bad := &email.Verifier{TopicARN: "parley-inbound-email", Certs: anyCert{testCert(t)}}
		m := *base
		m.TopicArn = bad.TopicARN
		sign(t, &m)
		wantKind(t, bad.Verify(ctx, &m), inbox.KindForbidden)
	})
}

func TestConfirmHostIsTopicRegion(t *testing.T) {
	conf := sampleMessage(t, "ses-sns-subscription-confirmation.json")
	for _, host := range []string{"sns.s3.amazonaws.com", "sns.eu-west-1.amazonaws.com"} {
		t.Run(host, func(t *testing.T) {
			m := *conf
			m.SubscribeURL = "https://" + host + "/?Action=ConfirmSubscription&TopicArn=" + topicARN + "&Token=t"
			sign(t, &m)
			tr := &transport{status: 200}
			wantKind(t, testVerifier(t).Confirm(context.Background(), &http.Client{Transport: tr}, &m), inbox.KindForbidden)
			if len(tr.got) != 0 {
				t.Errorf("requests = %q, want none", tr.got)
			}
		})
	}
}
