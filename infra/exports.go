package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdadestinations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/parley-inbox/parley/shared/config"
)

// exportKeyPrefix is where export files live: exports/<workspace>/<id>.<ext>.
const exportKeyPrefix = "exports/"

// exportRetentionDays matches inbox.ExportRetention: the job record's TTL.
const exportRetentionDays = 7

// exports is the background half of conversation exports: a bucket of
// short-lived files and the function that writes them.
//
// The files get a bucket of their own rather than a prefix of the raw mail
// bucket: their lifetime is days, not the mail's 90; nothing but the
// exporter writes them and nothing but the api's presigned links reads
// them, while SES writes the mail bucket through its bucket policy; and a
// bucket-wide lifecycle rule and access policy stay simple to read.
type exports struct {
	bucket awss3.Bucket
	fn     awslambda.Function
	// asyncDLQ keeps export jobs that failed all of Lambda's retries.
	asyncDLQ awssqs.Queue
}

func newExports(scope constructs.Construct, assetsDir string, table awsdynamodb.Table) *exports {
	e := &exports{}
	e.bucket = awss3.NewBucket(scope, jsii.String("ExportBucket"), &awss3.BucketProps{
		// SSE-S3: a presigned GET needs no KMS grant on the reader's side.
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		EnforceSSL:        jsii.Bool(true),
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		// A retried job rewrites its key; no history of a transient file.
		Versioned: jsii.Bool(false),
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Id:                                  jsii.String("ExpireExports"),
			Expiration:                          awscdk.Duration_Days(jsii.Number(exportRetentionDays)),
			AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(1)),
		}},
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	e.fn = newGoFunction(scope, "ExporterFunction", goFunction{
		// Not yet measured with make bench's -gc mode: Go's default.
		gogc:      "100",
		assetsDir: assetsDir,
		asset:     "exporter",
		// A 10,000-message thread takes well under a second to write
		// (make bench); the headroom is for S3 and a slow table.
		timeout: awscdk.Duration_Minutes(jsii.Number(5)),
		env: map[string]*string{
			config.EnvTableName:    table.TableName(),
			config.EnvExportBucket: e.bucket.BucketName(),
		},
	})
	// It reads the thread and the team, and writes the job's record: no
	// index, no delete, no batch.
	e.fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Effect:    awsiam.Effect_ALLOW,
		Actions:   jsii.Strings("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"),
		Resources: jsii.Strings(*table.TableArn()),
	}))
	e.fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Effect:    awsiam.Effect_ALLOW,
		Actions:   jsii.Strings("s3:PutObject"),
		Resources: jsii.Strings(*e.bucket.ArnForObjects(jsii.String(exportKeyPrefix + "*"))),
	}))
	// The api invokes it asynchronously: Lambda retries a failed run twice
	// (the run is idempotent), then keeps the job here.
	e.asyncDLQ = newDeadLetterQueue(scope, "ExporterAsyncDLQ")
	e.fn.ConfigureAsyncInvoke(&awslambda.EventInvokeConfigOptions{
		RetryAttempts: jsii.Number(2),
		// inbox.ExportAbandonedAfter counts on these bounds.
		MaxEventAge: awscdk.Duration_Minutes(jsii.Number(15)),
		OnFailure:   awslambdadestinations.NewSqsDestination(e.asyncDLQ),
	})
	return e
}

// addToAPI lets the api start exports and presign their downloads: it
// invokes the exporter, and may read (the presigned GET is signed with its
// role) but not write the files.
func (e *exports) addToAPI(api awslambda.Function) {
	api.AddEnvironment(jsii.String(config.EnvExportBucket), e.bucket.BucketName(), nil)
	api.AddEnvironment(jsii.String(config.EnvExporterFunction), e.fn.FunctionName(), nil)
	api.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Effect:    awsiam.Effect_ALLOW,
		Actions:   jsii.Strings("lambda:InvokeFunction"),
		Resources: jsii.Strings(*e.fn.FunctionArn()),
	}))
	api.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Effect:    awsiam.Effect_ALLOW,
		Actions:   jsii.Strings("s3:GetObject"),
		Resources: jsii.Strings(*e.bucket.ArnForObjects(jsii.String(exportKeyPrefix + "*"))),
	}))
}

// importKeyPrefix is where contact imports' reports live:
// imports/<workspace>/<import id>.csv, beside the exports and kept as long.
const importKeyPrefix = "imports/"

// addImports lets the exporter run contact imports too: it reads the
// uploaded file from the media bucket (listing it, so a missing upload is
// a 404, not a 403), writes contacts (claims in transactions, tag counts
// and consent), writes the report under imports/, and invokes itself to go
// on past one run's budget. The api reads reports, to presign their links.
func (e *exports) addImports(scope constructs.Construct, mediaBucket awss3.Bucket, table awsdynamodb.Table, api awslambda.Function) {
	e.fn.AddEnvironment(jsii.String(config.EnvMediaBucket), mediaBucket.BucketName(), nil)
	e.fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Effect:    awsiam.Effect_ALLOW,
		Actions:   jsii.Strings("s3:GetObject"),
		Resources: jsii.Strings(*mediaBucket.ArnForObjects(jsii.String(mediaKeyPrefix + "*"))),
	}))
	e.fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Effect:     awsiam.Effect_ALLOW,
		Actions:    jsii.Strings("s3:ListBucket"),
		Resources:  jsii.Strings(*mediaBucket.BucketArn()),
		Conditions: &map[string]any{"StringLike": map[string]any{"s3:prefix": mediaKeyPrefix + "*"}},
	}))
	e.fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Effect:    awsiam.Effect_ALLOW,
		Actions:   jsii.Strings("dynamodb:TransactWriteItems", "dynamodb:UpdateItem"),
		Resources: jsii.Strings(*table.TableArn()),
	}))
	e.fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Effect:    awsiam.Effect_ALLOW,
		Actions:   jsii.Strings("s3:PutObject"),
		Resources: jsii.Strings(*e.bucket.ArnForObjects(jsii.String(importKeyPrefix + "*"))),
	}))
	// A policy of its own: in the role's default policy the function's
	// own ARN would make the function depend on itself.
	awsiam.NewPolicy(scope, jsii.String("ExporterSelfInvoke"), &awsiam.PolicyProps{
		Roles: &[]awsiam.IRole{e.fn.Role()},
		Statements: &[]awsiam.PolicyStatement{awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Effect:    awsiam.Effect_ALLOW,
			Actions:   jsii.Strings("lambda:InvokeFunction"),
			Resources: jsii.Strings(*e.fn.FunctionArn()),
		})},
	})
	api.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Effect:    awsiam.Effect_ALLOW,
		Actions:   jsii.Strings("s3:GetObject"),
		Resources: jsii.Strings(*e.bucket.ArnForObjects(jsii.String(importKeyPrefix + "*"))),
	}))
}
