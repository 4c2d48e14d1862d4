package main

import (
	"slices"
	"testing"

	"github.com/parley-inbox/parley/shared/inbox"
)

// Outbound webhooks: the bus rule sends exactly the subscribable event
// types to the webhook queue, which feeds the integrations function; the
// queue dead-letters, and the DLQs and the queue's age alarm.
func TestWebhookDeliveryFromTheBus(t *testing.T) {
	template := synthTemplate(t, nil)
	busID, _ := template.onlyResourceOfType(t, "AWS::Events::EventBus")
	fnID, fnResource := template.resourceWithPrefix(t, "AWS::Lambda::Function", "IntegrationsFunction")
	queueID, queueResource := template.resourceWithPrefix(t, "AWS::SQS::Queue", "WebhookQueue")
	dlqID, _ := template.resourceWithPrefix(t, "AWS::SQS::Queue", "WebhookDLQ")
	eventsDLQID, _ := template.resourceWithPrefix(t, "AWS::SQS::Queue", "WebhookEventsDLQ")
	ruleID, ruleResource := template.resourceWithPrefix(t, "AWS::Events::Rule", "WebhookRule")
	topicID, _ := template.resourceWithPrefix(t, "AWS::SNS::Topic", "AlarmTopic")

	t.Run("rule", func(t *testing.T) {
		var rule struct {
			EventBusName any
			EventPattern map[string]any
			Targets      []struct {
				Arn         any
				RetryPolicy struct {
					MaximumEventAgeInSeconds int
					MaximumRetryAttempts     int
				}
				DeadLetterConfig struct{ Arn any }
			}
		}
		decodeProperties(t, ruleResource, &rule)
		assertEqual(t, "EventBusName", rule.EventBusName, refTo(busID))
		var types []any
		for _, ty := range inbox.WebhookEventTypes {
			types = append(types, string(ty))
		}
		// Typing, counts and run.started never leave the stack.
		assertEqual(t, "EventPattern", rule.EventPattern, map[string]any{"source": []any{"parley"}, "detail-type": types})
		if len(rule.Targets) != 1 {
			t.Fatalf("got %d targets, want 1", len(rule.Targets))
		}
		target := rule.Targets[0]
		assertEqual(t, "target", target.Arn, getAttOf(queueID, "Arn"))
		assertEqual(t, "MaximumRetryAttempts", target.RetryPolicy.MaximumRetryAttempts, 185)
		assertEqual(t, "DeadLetterConfig", target.DeadLetterConfig.Arn, getAttOf(eventsDLQID, "Arn"))
		var senders []any
		for _, resource := range template.resourcesOfType("AWS::SQS::QueuePolicy") {
			var policy struct {
				Queues         []any
				PolicyDocument map[string]any
			}
			decodeProperties(t, resource, &policy)
			if !jsonEqual(policy.Queues, []any{refTo(queueID)}) {
				continue
			}
			for _, statement := range policyStatements(policy.PolicyDocument) {
				if statement["Effect"] == "Allow" {
					senders = append(senders, statement["Condition"])
				}
			}
		}
		assertEqual(t, "queue senders", senders, []any{map[string]any{"ArnEquals": map[string]any{"aws:SourceArn": getAttOf(ruleID, "Arn")}}})
	})

	t.Run("queue", func(t *testing.T) {
		var queue struct {
			SqsManagedSseEnabled bool
			VisibilityTimeout    int
			RedrivePolicy        struct {
				DeadLetterTargetArn any `json:"deadLetterTargetArn"`
				MaxReceiveCount     int `json:"maxReceiveCount"`
			}
		}
		decodeProperties(t, queueResource, &queue)
		var function functionProperties
		decodeProperties(t, fnResource, &function)
		assertEqual(t, "SqsManagedSseEnabled", queue.SqsManagedSseEnabled, true)
		if queue.VisibilityTimeout < 6*function.Timeout {
			t.Errorf("VisibilityTimeout: got %d s, want at least 6 × the function's %d s", queue.VisibilityTimeout, function.Timeout)
		}
		assertEqual(t, "dead-letter target", queue.RedrivePolicy.DeadLetterTargetArn, getAttOf(dlqID, "Arn"))
		assertEqual(t, "maxReceiveCount", queue.RedrivePolicy.MaxReceiveCount, 5)
	})

	t.Run("event source mapping", func(t *testing.T) {
		_, resource := template.eventSourceMappingOf(t, fnID)
		if resource == nil {
			t.Fatal("got no event source mapping for the integrations function")
		}
		var mapping struct {
			EventSourceArn        any
			BatchSize             int
			FunctionResponseTypes []string
		}
		decodeProperties(t, *resource, &mapping)
		assertEqual(t, "EventSourceArn", mapping.EventSourceArn, getAttOf(queueID, "Arn"))
		assertEqual(t, "BatchSize", mapping.BatchSize, 10)
		assertEqual(t, "FunctionResponseTypes", mapping.FunctionResponseTypes, []string{"ReportBatchItemFailures"})
	})

	t.Run("who sends to the queue", func(t *testing.T) {
		// The integrations function (retries, replay pages) and the api
		// (replays) only.
		var roles []string
		for _, g := range template.roleStatements(t) {
			if jsonEqual(g.stmt["Resource"], getAttOf(queueID, "Arn")) {
				roles = append(roles, g.role)
				for _, action := range statementActions(g.stmt) {
					if action != "sqs:SendMessage" && action != "sqs:GetQueueAttributes" && action != "sqs:GetQueueUrl" &&
						!(g.role == template.functionRoles(t, "IntegrationsFunction")[0] && (action == "sqs:ReceiveMessage" || action == "sqs:ChangeMessageVisibility" || action == "sqs:DeleteMessage")) {
						t.Errorf("%s may %s on the webhook queue", g.role, action)
					}
				}
			}
		}
		slices.Sort(roles)
		roles = slices.Compact(roles)
		assertEqual(t, "roles with the webhook queue", roles, template.functionRoles(t, "ApiFunction", "IntegrationsFunction"))
	})

	t.Run("alarms", func(t *testing.T) {
		for _, id := range []string{dlqID, eventsDLQID} {
			alarms := template.alarmsOn(t, "ApproximateNumberOfMessagesVisible", "QueueName", getAttOf(id, "QueueName"))
			checkAlarm(t, id, alarms, "Maximum", 0, topicID)
		}
		alarms := template.alarmsOn(t, "ApproximateAgeOfOldestMessage", "QueueName", getAttOf(queueID, "QueueName"))
		checkAlarm(t, queueID+" age", alarms, "Maximum", 1200, topicID)
		errors := template.alarmsOn(t, "Errors", "FunctionName", refTo(fnID))
		checkAlarm(t, fnID+" errors", errors, "Sum", 0, topicID)
	})
}
