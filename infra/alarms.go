package main

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// maxIteratorAgeMillis is how far a stream consumer (the events and sender
// functions) may lag behind the table's stream before someone is told.
const maxIteratorAgeMillis = 60_000

// maxQueueAgeSeconds is how long an event may wait in the realtime
// function's queue before someone is told: the live inbox is that far
// behind, or an event keeps failing (each retry waits out the queue's
// visibility timeout, three minutes).
const maxQueueAgeSeconds = 300

// maxAuthorizerErrors is how many times the WebSocket authorizer may fail
// in one alarm period. A REQUEST authorizer answers 401 (no, expired or
// tampered token) only by failing with "Unauthorized", which Lambda
// counts as an error, so a few are normal: an SPA reconnecting with an
// expired token. More means it cannot verify anyone (JWKS or secret
// unreachable) or someone is probing with forged tokens.
const maxAuthorizerErrors = 20

// alarmPeriod is the window every alarm looks at.
var alarmPeriod = awscdk.Duration_Minutes(jsii.Number(5))

// newTopicKey creates the key that encrypts the stack's SNS topics. AWS
// services that publish as themselves (SES to the inbound mail topic,
// CloudWatch to the alarm topic) cannot use the aws/sns managed key, whose
// policy cannot be changed, so this is a customer managed key that lets
// them generate and read the topic's data keys.
//
// The policy is written out rather than CDK's default, which gives the
// account "kms:*": the account gets the key's administrative and
// cryptographic actions by name, so IAM policies can grant them and
// PutKeyPolicy can always repair the policy.
func newTopicKey(scope constructs.Construct) awskms.Key {
	return awskms.NewKey(scope, jsii.String("TopicKey"), &awskms.KeyProps{
		Description:       jsii.String("Parley SNS topics (inbound mail notifications, alarms)"),
		EnableKeyRotation: jsii.Bool(true),
		// A deleted key would make undelivered messages unreadable.
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
		Policy: awsiam.NewPolicyDocument(&awsiam.PolicyDocumentProps{
			Statements: &[]awsiam.PolicyStatement{
				awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
					Sid:        jsii.String("AccountAdministersAndUsesTheKey"),
					Principals: &[]awsiam.IPrincipal{awsiam.NewAccountRootPrincipal()},
					Actions:    jsii.Strings(keyAccountActions...),
					Resources:  jsii.Strings("*"),
				}),
				awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
					Sid: jsii.String("ServicesPublishToEncryptedTopics"),
					Principals: &[]awsiam.IPrincipal{
						awsiam.NewServicePrincipal(jsii.String("ses.amazonaws.com"), nil),
						awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil),
					},
					Actions:   jsii.Strings("kms:GenerateDataKey", "kms:Decrypt"),
					Resources: jsii.Strings("*"),
				}),
			},
		}),
	})
}

// keyAccountActions are the actions a symmetric encryption key supports
// that the account may use and delegate through IAM.
var keyAccountActions = []string{
	// Administration.
	"kms:DescribeKey",
	"kms:GetKeyPolicy",
	"kms:PutKeyPolicy",
	"kms:ListKeyPolicies",
	"kms:GetKeyRotationStatus",
	"kms:EnableKeyRotation",
	"kms:DisableKeyRotation",
	"kms:ListKeyRotations",
	"kms:RotateKeyOnDemand",
	"kms:EnableKey",
	"kms:DisableKey",
	"kms:UpdateKeyDescription",
	"kms:ScheduleKeyDeletion",
	"kms:CancelKeyDeletion",
	"kms:TagResource",
	"kms:UntagResource",
	"kms:ListResourceTags",
	"kms:CreateAlias",
	"kms:UpdateAlias",
	"kms:DeleteAlias",
	"kms:CreateGrant",
	"kms:ListGrants",
	"kms:RetireGrant",
	"kms:RevokeGrant",
	// Cryptographic use (publishing to the topics from the account).
	"kms:Encrypt",
	"kms:Decrypt",
	"kms:ReEncryptFrom",
	"kms:ReEncryptTo",
	"kms:GenerateDataKey",
	"kms:GenerateDataKeyWithoutPlaintext",
}

// newDeadLetterQueue creates a queue for messages that could not be
// processed: encrypted with SQS's own key (so SNS, Lambda and Scheduler
// can write to it without key policies) and kept for the maximum 14 days for replay.
func newDeadLetterQueue(scope constructs.Construct, id string) awssqs.Queue {
	return awssqs.NewQueue(scope, jsii.String(id), &awssqs.QueueProps{
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
	})
}

// alarms collects the stack's alarms on one topic, which operators
// subscribe to (email, chat, paging) outside the stack.
type alarms struct {
	scope  constructs.Construct
	topic  awssns.Topic
	action awscloudwatch.IAlarmAction
}

func newAlarms(scope constructs.Construct, topicKey awskms.IKey) *alarms {
	topic := awssns.NewTopic(scope, jsii.String("AlarmTopic"), &awssns.TopicProps{
		MasterKey: topicKey,
	})
	return &alarms{scope: scope, topic: topic, action: awscloudwatchactions.NewSnsAction(topic)}
}

// onDeadLetters alarms as soon as a dead-letter queue holds a message: each
// one is an email, a webhook delivery, a batch of domain events or an
// outbound message lost until someone replays it.
func (a *alarms) onDeadLetters(id string, queue awssqs.Queue) {
	a.add(id+"MessagesAlarm", "messages are waiting in "+id,
		queue.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{
			Period:    alarmPeriod,
			Statistic: jsii.String("Maximum"),
		}), 0)
}

// onFunctionErrors alarms on any invocation error.
func (a *alarms) onFunctionErrors(id string, fn awslambda.Function) {
	a.onFunctionErrorsOver(id, fn, 0)
}

// onFunctionErrorsOver alarms when a function fails more than threshold
// times in a period.
func (a *alarms) onFunctionErrorsOver(id string, fn awslambda.Function, threshold float64) {
	a.add(id+"ErrorsAlarm", id+" failed",
		fn.MetricErrors(&awscloudwatch.MetricOptions{
			Period:    alarmPeriod,
			Statistic: jsii.String("Sum"),
		}), threshold)
}

// onQueueAge alarms when a queue's oldest message is older than
// maxQueueAgeSeconds: its consumer is behind or keeps failing.
func (a *alarms) onQueueAge(id string, queue awssqs.Queue) {
	a.onQueueAgeOver(id, queue, maxQueueAgeSeconds)
}

// onQueueAgeOver alarms when a queue's oldest message is older than
// seconds.
func (a *alarms) onQueueAgeOver(id string, queue awssqs.Queue, seconds float64) {
	a.add(id+"AgeAlarm", fmt.Sprintf("%s holds a message more than %.0f seconds old", id, seconds),
		queue.MetricApproximateAgeOfOldestMessage(&awscloudwatch.MetricOptions{
			Period:    alarmPeriod,
			Statistic: jsii.String("Maximum"),
		}), seconds)
}

// onIteratorAge alarms when a stream consumer falls behind: domain events
// or sends are late, and records past the consumer's maximum age (or the
// stream's 24 h retention) are dropped to its DLQ.
func (a *alarms) onIteratorAge(id string, fn awslambda.Function) {
	a.add(id+"IteratorAgeAlarm", id+" is more than a minute behind the table's stream",
		fn.Metric(jsii.String("IteratorAge"), &awscloudwatch.MetricOptions{
			Period:    alarmPeriod,
			Statistic: jsii.String("Maximum"),
		}), maxIteratorAgeMillis)
}

// add creates an alarm for metric > threshold on one datapoint. Missing
// data (no invocations, an empty queue) is healthy.
func (a *alarms) add(id, description string, metric awscloudwatch.IMetric, threshold float64) {
	alarm := awscloudwatch.NewAlarm(a.scope, jsii.String(id), &awscloudwatch.AlarmProps{
		AlarmDescription:   jsii.String(description),
		Metric:             metric,
		Threshold:          jsii.Number(threshold),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD,
		EvaluationPeriods:  jsii.Number(1),
		DatapointsToAlarm:  jsii.Number(1),
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
	alarm.AddAlarmAction(a.action)
	alarm.AddOkAction(a.action)
}
