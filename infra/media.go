package main

import (
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
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
	// copier copies inbound files in from the providers, from queue; dlq
	// holds what kept failing, eventsDLQ what EventBridge could not queue.
	copier                awslambda.Function
	queue, dlq, eventsDLQ awssqs.Queue
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

// Settings of the media copy.
const (
	// mediaCopyTimeoutSeconds covers a batch: ten messages of up to ten
	// files, each fetched within providerfetch.Timeout (a WhatsApp
	// document is up to 100 MB).
	mediaCopyTimeoutSeconds = 300
	mediaCopyBatchSize      = 10
	// mediaCopyMaxReceives is how often a message is tried before the DLQ:
	// a provider's outage of a few minutes is ridden out.
	mediaCopyMaxReceives = 5
)

// mediaCopyDeps is what the media copy reads and writes besides the bucket.
type mediaCopyDeps struct {
	table           awsdynamodb.Table
	bus             awsevents.EventBus
	providerSecrets awssecretsmanager.Secret
	mailBucket      awss3.Bucket
}

// mediaCopyPattern matches message.created events of inbound messages
// that carry files. EventBridge matches a field inside an array of
// objects against every element, so attachments.contentType exists when
// there is at least one attachment; web chat files are uploads already.
func mediaCopyPattern() *awsevents.EventPattern {
	return &awsevents.EventPattern{
		Source:     jsii.Strings("parley"),
		DetailType: jsii.Strings("message.created"),
		Detail: &map[string]any{
			"message": map[string]any{
				"direction":   []any{"in"},
				"channel":     []any{map[string]any{"anything-but": []any{"webchat"}}},
				"attachments": map[string]any{"contentType": []any{map[string]any{"exists": true}}},
			},
		},
	}
}

// addCopier adds the function that copies inbound files into the bucket
// after the webhook answered, fed by a bus rule through a queue (batches,
// retries per message, a DLQ), like the live inbox's fan-out.
func (m *media) addCopier(stack awscdk.Stack, assetsDir string, deps mediaCopyDeps) {
	m.copier = newGoFunction(stack, "MediaFunction", goFunction{
		gogc:      "200",
		assetsDir: assetsDir,
		asset:     "media",
		timeout:   awscdk.Duration_Seconds(jsii.Number(mediaCopyTimeoutSeconds)),
		env: map[string]*string{
			config.EnvTableName:          deps.table.TableName(),
			config.EnvProviderSecretsARN: deps.providerSecrets.SecretArn(),
			config.EnvMediaBucket:        m.bucket.BucketName(),
			config.EnvMailBucket:         deps.mailBucket.BucketName(),
		},
	})
	// It reads a message and the workspace's settings, and updates the
	// message's attachments: nothing else in the table.
	m.copier.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Effect:    awsiam.Effect_ALLOW,
		Actions:   jsii.Strings("dynamodb:GetItem", "dynamodb:UpdateItem"),
		Resources: jsii.Strings(*deps.table.TableArn()),
	}))
	m.copier.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Effect:    awsiam.Effect_ALLOW,
		Actions:   jsii.Strings("s3:PutObject"),
		Resources: jsii.Strings(*m.bucket.ArnForObjects(jsii.String(mediaKeyPrefix + "*"))),
	}))
	// An email's files come from the raw mail SES stored.
	m.copier.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Effect:    awsiam.Effect_ALLOW,
		Actions:   jsii.Strings("s3:GetObject"),
		Resources: jsii.Strings(*deps.mailBucket.ArnForObjects(jsii.String(inboundKeyPrefix + "*"))),
	}))
	grantSecretValue(m.copier, deps.providerSecrets)

	m.dlq = newDeadLetterQueue(stack, "MediaDLQ")
	m.queue = awssqs.NewQueue(stack, jsii.String("MediaQueue"), &awssqs.QueueProps{
		Encryption: awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL: jsii.Bool(true),
		// Six times the function's timeout, as AWS advises for a Lambda
		// event source.
		VisibilityTimeout: awscdk.Duration_Seconds(jsii.Number(6 * mediaCopyTimeoutSeconds)),
		DeadLetterQueue: &awssqs.DeadLetterQueue{
			Queue:           m.dlq,
			MaxReceiveCount: jsii.Number(mediaCopyMaxReceives),
		},
	})
	m.eventsDLQ = newDeadLetterQueue(stack, "MediaEventsDLQ")
	awsevents.NewRule(stack, jsii.String("MediaRule"), &awsevents.RuleProps{
		Description:  jsii.String("Inbound messages with files, to copy them from the providers"),
		EventBus:     deps.bus,
		EventPattern: mediaCopyPattern(),
		Targets: &[]awsevents.IRuleTarget{
			awseventstargets.NewSqsQueue(m.queue, &awseventstargets.SqsQueueProps{
				DeadLetterQueue: m.eventsDLQ,
				MaxEventAge:     awscdk.Duration_Hours(jsii.Number(24)),
				RetryAttempts:   jsii.Number(185),
			}),
		},
	})
	m.copier.AddEventSource(awslambdaeventsources.NewSqsEventSource(m.queue, &awslambdaeventsources.SqsEventSourceProps{
		BatchSize:               jsii.Number(mediaCopyBatchSize),
		ReportBatchItemFailures: jsii.Bool(true),
	}))
}
