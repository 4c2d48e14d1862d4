package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsses"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"

	"github.com/parley-inbox/parley/shared/config"
	"github.com/parley-inbox/parley/shared/inbox"
)

// Settings of the outbound-webhook queue and its function.
const (
	// integrationsTimeoutSeconds covers a batch: its messages run
	// concurrently, each posting to its subscriptions concurrently, and
	// one post gives up after 10 s (webhookhttp.Timeout).
	integrationsTimeoutSeconds = 60
	// webhookBatchSize messages reach one invocation, with no batching
	// window: an event goes out as soon as the queue has it.
	webhookBatchSize = 10
	// webhookMaxReceives is how often a message's work (storing a
	// delivery, queueing its retry) may fail before it goes to the DLQ.
	// A receiver's failures are not these: they are recorded and retried
	// on the backoff schedule through new messages.
	webhookMaxReceives = 5
	// maxWebhookQueueAgeSeconds is more than a retry's longest hop (15
	// minutes, SQS's maximum delay): an older message means the function
	// is behind or failing.
	maxWebhookQueueAgeSeconds = 1200
)

type integrationsDeps struct {
	table           awsdynamodb.Table
	bus             awsevents.EventBus
	providerSecrets awssecretsmanager.Secret
	configSet       awsses.ConfigurationSet
	emailDomain     string
}

// integrations is outbound webhooks' AWS side (issue 14 §3): an
// EventBridge rule puts the event types integrators may subscribe to on
// an SQS queue, which feeds functions/integrations. The same queue holds
// retries (SQS delays of at most 15 minutes, chained for the longer waits
// of the four-day backoff: see shared/adapter/webhookqueue) and bulk
// replays' pages, so one DLQ and one age alarm cover every step.
type integrations struct {
	fn awslambda.Function
	// queue is the work; dlq what kept failing; eventsDLQ what EventBridge
	// could not put on the queue.
	queue, dlq, eventsDLQ awssqs.Queue
}

func newIntegrations(stack awscdk.Stack, assetsDir string, deps integrationsDeps) *integrations {
	n := &integrations{}
	n.dlq = newDeadLetterQueue(stack, "WebhookDLQ")
	n.queue = awssqs.NewQueue(stack, jsii.String("WebhookQueue"), &awssqs.QueueProps{
		Encryption: awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL: jsii.Bool(true),
		// AWS's guidance for a Lambda event source: six times the timeout.
		VisibilityTimeout: awscdk.Duration_Seconds(jsii.Number(6 * integrationsTimeoutSeconds)),
		DeadLetterQueue:   &awssqs.DeadLetterQueue{Queue: n.dlq, MaxReceiveCount: jsii.Number(webhookMaxReceives)},
	})
	n.fn = newGoFunction(stack, "IntegrationsFunction", goFunction{
		// Not yet measured with make bench's -gc mode: Go's default.
		gogc:      "100",
		assetsDir: assetsDir,
		asset:     "integrations",
		timeout:   awscdk.Duration_Seconds(jsii.Number(integrationsTimeoutSeconds)),
		env: map[string]*string{
			config.EnvTableName:          deps.table.TableName(),
			config.EnvProviderSecretsARN: deps.providerSecrets.SecretArn(),
			config.EnvEventBusName:       deps.bus.EventBusName(),
			config.EnvWebhookQueueURL:    n.queue.QueueUrl(),
			config.EnvEmailDomain:        jsii.String(deps.emailDomain),
		},
	})
	// Subscriptions, deliveries and the team: keys only, no index, no
	// batch, no delete.
	n.fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Effect:    awsiam.Effect_ALLOW,
		Actions:   jsii.Strings("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"),
		Resources: jsii.Strings(*deps.table.TableArn()),
	}))
	// Retries and replay pages go back on its own queue.
	n.queue.GrantSendMessages(n.fn)
	// webhook.disabled, on the bus; the admins' email, through SES from
	// the workspaces' mailboxes (in the provider secret).
	deps.bus.GrantPutEventsTo(n.fn, nil)
	grantSendEmail(stack, n.fn, deps.configSet)
	grantSecretValue(n.fn, deps.providerSecrets)

	n.eventsDLQ = newDeadLetterQueue(stack, "WebhookEventsDLQ")
	types := make([]string, len(inbox.WebhookEventTypes))
	for i, t := range inbox.WebhookEventTypes {
		types[i] = string(t)
	}
	awsevents.NewRule(stack, jsii.String("WebhookRule"), &awsevents.RuleProps{
		Description:  jsii.String("The event types integrators may subscribe to, for outbound webhooks"),
		EventBus:     deps.bus,
		EventPattern: &awsevents.EventPattern{Source: jsii.Strings("parley"), DetailType: jsii.Strings(types...)},
		// EventBridge's maximum retries before the DLQ: an integrator's
		// event is worth a day of trying.
		Targets: &[]awsevents.IRuleTarget{
			awseventstargets.NewSqsQueue(n.queue, &awseventstargets.SqsQueueProps{
				DeadLetterQueue: n.eventsDLQ,
				MaxEventAge:     awscdk.Duration_Hours(jsii.Number(24)),
				RetryAttempts:   jsii.Number(185),
			}),
		},
	})
	n.fn.AddEventSource(awslambdaeventsources.NewSqsEventSource(n.queue, &awslambdaeventsources.SqsEventSourceProps{
		BatchSize:               jsii.Number(webhookBatchSize),
		ReportBatchItemFailures: jsii.Bool(true),
	}))
	return n
}

// addToAPI lets the api queue replays (it never posts to integrators: it
// only resolves a subscription's URL to check it).
func (n *integrations) addToAPI(api awslambda.Function) {
	api.AddEnvironment(jsii.String(config.EnvWebhookQueueURL), n.queue.QueueUrl(), nil)
	n.queue.GrantSendMessages(api)
}
