package main

import (
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/parley-inbox/parley/shared/config"
)

// mediaKeyPrefix is where attachments live: media/<workspace>/up/… for
// agents' uploads, media/<workspace>/in/… for inbound files copied in
// (inbox.MediaPrefix).
const mediaKeyPrefix = "media/"

// media is the private bucket of attachments. Browsers upload to it with
// forms the api presigns, and read it through links the api signs; no
// object is ever public. A bucket of its own: its objects live as long as
// the messages that name them, unlike exports (days) and raw mail (90).
type media struct {
	bucket awss3.Bucket
}

func newMedia(scope constructs.Construct) *media {
	m := &media{}
	m.bucket = awss3.NewBucket(scope, jsii.String("MediaBucket"), &awss3.BucketProps{
		// SSE-S3: presigned reads and uploads need no KMS grant.
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		EnforceSSL:        jsii.Bool(true),
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		Versioned:         jsii.Bool(false),
		Cors:              mediaCORS(scope),
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Id:                                  jsii.String("AbortIncompleteUploads"),
			AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(1)),
		}},
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	return m
}

// mediaCORS lets the SPA's origins (the HTTP API's corsOrigins) post
// upload forms and read files; none when no origin is configured.
func mediaCORS(scope constructs.Construct) *[]*awss3.CorsRule {
	raw, _ := scope.Node().TryGetContext(jsii.String(corsOriginsContextKey)).(string)
	var origins []string
	for _, origin := range strings.Split(raw, ",") {
		if origin = strings.TrimSpace(origin); origin != "" {
			origins = append(origins, origin)
		}
	}
	if len(origins) == 0 {
		return nil
	}
	return &[]*awss3.CorsRule{{
		AllowedOrigins: jsii.Strings(origins...),
		AllowedMethods: &[]awss3.HttpMethods{awss3.HttpMethods_POST, awss3.HttpMethods_GET},
		AllowedHeaders: jsii.Strings("*"),
		MaxAge:         jsii.Number(3600),
	}}
}

// addToAPI lets the api presign uploads (a presigned POST acts with the
// signer's s3:PutObject) and downloads (s3:GetObject), and check an
// upload's size and type (a ranged GetObject). Nothing deletes.
func (m *media) addToAPI(api awslambda.Function) {
	api.AddEnvironment(jsii.String(config.EnvMediaBucket), m.bucket.BucketName(), nil)
	api.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Effect:    awsiam.Effect_ALLOW,
		Actions:   jsii.Strings("s3:PutObject", "s3:GetObject"),
		Resources: jsii.Strings(*m.bucket.ArnForObjects(jsii.String(mediaKeyPrefix + "*"))),
	}))
	// Without s3:ListBucket S3 answers 403, not 404, for a key never
	// uploaded: the api could not tell "upload it first" from an outage.
	api.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Effect:     awsiam.Effect_ALLOW,
		Actions:    jsii.Strings("s3:ListBucket"),
		Resources:  jsii.Strings(*m.bucket.BucketArn()),
		Conditions: &map[string]any{"StringLike": map[string]any{"s3:prefix": mediaKeyPrefix + "*"}},
	}))
}

// addToSender lets the sender sign the links providers fetch files from
// and read the files an email carries.
func (m *media) addToSender(sender awslambda.Function) {
	sender.AddEnvironment(jsii.String(config.EnvMediaBucket), m.bucket.BucketName(), nil)
	sender.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Effect:    awsiam.Effect_ALLOW,
		Actions:   jsii.Strings("s3:GetObject"),
		Resources: jsii.Strings(*m.bucket.ArnForObjects(jsii.String(mediaKeyPrefix + "*"))),
	}))
}
