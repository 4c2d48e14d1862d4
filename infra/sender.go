package main

import (
	"fmt"
	"maps"
	"regexp"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdadestinations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsses"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/parley-inbox/parley/shared/config"
)

// emailDomainContextKey names the CDK context value with the domain of sent
// emails' Message-IDs (-c emailDomain=inbox.example.com); unset, each email
// uses its From domain.
const emailDomainContextKey = "emailDomain"

// Stream processing settings of the sender. Sends are slow (provider
// calls), so batches are small; a record older than an hour is dropped to
// the DLQ rather than sent that late.
const (
	senderBatchSize     = 10
	senderRetryAttempts = 5
)

// queuedMessageFilters select what dynamo.QueuedMessage accepts: a new
// outbound message waiting to be sent, or a draft an agent just sent.
// Everything else on the stream never invokes the sender (the handler
// checks again). Filters are OR-ed.
var queuedMessageFilters = []map[string]any{
	{"eventName": []string{"INSERT"}, "dynamodb": map[string]any{"NewImage": queuedImage}},
	{"eventName": []string{"MODIFY"}, "dynamodb": map[string]any{
		"OldImage": map[string]any{"status": map[string]any{"S": []string{"draft"}}},
		"NewImage": queuedImage,
	}},
}

var queuedImage = map[string]any{
	"status":    map[string]any{"S": []string{"queued"}},
	"direction": map[string]any{"S": []string{"out"}},
	"kind":      map[string]any{"S": []string{"message"}},
}

// senderDeps is what the sender function reads.
type senderDeps struct {
	table           awsdynamodb.Table
	providerSecrets awssecretsmanager.Secret
	// publicURL is the base of Twilio's status callback URL, as the
	// webhooks function sees it.
	publicURL   *string
	pathToken   string
	scheduling  *scheduling
	emailDomain string
}

// sender is the function that delivers outbound messages, and its queues.
type sender struct {
	fn awslambda.Function
	// streamDLQ records stream batches that kept failing (shard and
	// sequence range only); asyncDLQ keeps whole scheduled invocations
	// that failed, payload included, for replay.
	streamDLQ, asyncDLQ awssqs.Queue
	configSet           awsses.ConfigurationSet
}

// newSender creates the sender: triggered by the table's stream for
// messages queued now, and by EventBridge Scheduler for scheduled and
// deferred ones (it creates deferred schedules itself).
func newSender(stack awscdk.Stack, assetsDir string, deps senderDeps) *sender {
	env := map[string]*string{
		config.EnvTableName:          deps.table.TableName(),
		config.EnvProviderSecretsARN: deps.providerSecrets.SecretArn(),
		config.EnvPublicURL:          deps.publicURL,
		config.EnvEmailDomain:        jsii.String(deps.emailDomain),
	}
	if deps.pathToken != "" {
		env[config.EnvWebhookPathToken] = jsii.String(deps.pathToken)
	}
	maps.Copy(env, deps.scheduling.env())
	s := &sender{configSet: newOutboundConfigurationSet(stack)}
	s.fn = newGoFunction(stack, "SenderFunction", goFunction{
		// GOGC=400: 0.92× the CPU of GOGC=100 on a delivery.
		gogc:      "400",
		assetsDir: assetsDir,
		asset:     "sender",
		// Up to 10 sends, each one provider call with its own timeout.
		timeout: awscdk.Duration_Seconds(jsii.Number(30)),
		env:     env,
	})

	grantTableData(s.fn, deps.table)
	deps.providerSecrets.GrantRead(s.fn, nil)
	deps.scheduling.grantManage(s.fn)
	deps.scheduling.allowInvoke(s.fn)
	grantSendEmail(stack, s.fn, s.configSet)

	s.streamDLQ = newDeadLetterQueue(stack, "SenderStreamDLQ")
	// Each message is independent: the handler reports exactly the failed
	// records, so bisecting would only resend good ones (Deliver makes
	// repeats safe, but not free).
	s.fn.AddEventSource(awslambdaeventsources.NewDynamoEventSource(deps.table, &awslambdaeventsources.DynamoEventSourceProps{
		StartingPosition:        awslambda.StartingPosition_LATEST,
		BatchSize:               jsii.Number(senderBatchSize),
		BisectBatchOnError:      jsii.Bool(false),
		ReportBatchItemFailures: jsii.Bool(true),
		RetryAttempts:           jsii.Number(senderRetryAttempts),
		MaxRecordAge:            awscdk.Duration_Hours(jsii.Number(1)),
		OnFailure:               awslambdaeventsources.NewSqsDlq(s.streamDLQ),
		Filters:                 streamFilters(queuedMessageFilters),
	}))

	// Scheduler invokes asynchronously: once Lambda accepts the event,
	// Scheduler's retries and DLQ no longer apply, so a send that keeps
	// failing must land somewhere of ours. The destination (unlike a DLQ)
	// keeps the payload and the error.
	s.asyncDLQ = newDeadLetterQueue(stack, "SenderAsyncDLQ")
	s.fn.ConfigureAsyncInvoke(&awslambda.EventInvokeConfigOptions{
		RetryAttempts: jsii.Number(2),
		MaxEventAge:   awscdk.Duration_Hours(jsii.Number(1)),
		OnFailure:     awslambdadestinations.NewSqsDestination(s.asyncDLQ),
	})
	return s
}

// grantSendEmail lets fn send through SES from any identity of this
// account and region (workspaces bring their own domains), with no
// configuration set or the stack's. SES v2 SendEmail with raw content is
// authorised as ses:SendRawEmail; ses:SendEmail covers simple content.
func grantSendEmail(stack awscdk.Stack, fn awslambda.Function, configSet awsses.ConfigurationSet) {
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Effect:  awsiam.Effect_ALLOW,
		Actions: jsii.Strings("ses:SendEmail", "ses:SendRawEmail"),
		Resources: jsii.Strings(
			*stack.FormatArn(&awscdk.ArnComponents{
				Service: jsii.String("ses"), Resource: jsii.String("identity"), ResourceName: jsii.String("*"),
			}),
			*stack.FormatArn(&awscdk.ArnComponents{
				Service: jsii.String("ses"), Resource: jsii.String("configuration-set"), ResourceName: configSet.ConfigurationSetName(),
			}),
		),
	}))
}

// newOutboundConfigurationSet creates the configuration set operators name
// in the provider secret (sesConfigurationSet). It only tracks reputation
// for now; nothing in Parley consumes SES events yet.
func newOutboundConfigurationSet(scope constructs.Construct) awsses.ConfigurationSet {
	set := awsses.NewConfigurationSet(scope, jsii.String("SesConfigurationSet"), &awsses.ConfigurationSetProps{
		ReputationMetrics: jsii.Bool(true),
		SendingEnabled:    jsii.Bool(true),
	})
	// Named from the stack and construct path, like the schedule group, so
	// operators recognise it and stacks never share one.
	set.Node().DefaultChild().(awsses.CfnConfigurationSet).SetName(
		awscdk.Names_UniqueResourceName(set, &awscdk.UniqueResourceNameOptions{
			MaxLength: jsii.Number(64),
			Separator: jsii.String("-"),
		}))
	return set
}

// domainPattern is a DNS name with at least two labels.
var domainPattern = regexp.MustCompile(`^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$`)

// emailDomain reads the emailDomain context value; a malformed one fails
// the synth.
func emailDomain(scope constructs.Construct) string {
	raw := scope.Node().TryGetContext(jsii.String(emailDomainContextKey))
	if raw == nil {
		return ""
	}
	domain, ok := raw.(string)
	domain = strings.TrimSpace(domain)
	if !ok || (domain != "" && !domainPattern.MatchString(domain)) {
		awscdk.Annotations_Of(scope).AddError(jsii.String(fmt.Sprintf("context %s: %v is not a domain name", emailDomainContextKey, raw)))
		return ""
	}
	return domain
}

func streamFilters(patterns []map[string]any) *[]*map[string]any {
	filters := make([]*map[string]any, len(patterns))
	for i := range patterns {
		filters[i] = awslambda.FilterCriteria_Filter(&patterns[i])
	}
	return &filters
}
