package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

type alarmProperties struct {
	MetricName         string
	Namespace          string
	Statistic          string
	Period             int
	Threshold          float64
	ComparisonOperator string
	EvaluationPeriods  int
	DatapointsToAlarm  int
	TreatMissingData   string
	Dimensions         []struct {
		Name  string
		Value any
	}
	AlarmActions []any
}

// alarmsOn returns the alarms on metricName whose dimension name equals value.
func (tpl cfnTemplate) alarmsOn(t *testing.T, metricName, dimension string, value any) []alarmProperties {
	t.Helper()
	want, _ := json.Marshal(value)
	var found []alarmProperties
	for _, resource := range tpl.resourcesOfType("AWS::CloudWatch::Alarm") {
		var alarm alarmProperties
		decodeProperties(t, resource, &alarm)
		for _, d := range alarm.Dimensions {
			got, _ := json.Marshal(d.Value)
			if alarm.MetricName == metricName && d.Name == dimension && string(got) == string(want) {
				found = append(found, alarm)
			}
		}
	}
	return found
}

// checkAlarm asserts an alarm fires on one 5-minute datapoint above
// threshold and notifies the alarm topic.
func checkAlarm(t *testing.T, what string, alarms []alarmProperties, statistic string, threshold float64, topicID string) {
	t.Helper()
	if len(alarms) != 1 {
		t.Errorf("%s: got %d alarms, want 1", what, len(alarms))
		return
	}
	alarm := alarms[0]
	assertEqual(t, what+" Statistic", alarm.Statistic, statistic)
	assertEqual(t, what+" Period", alarm.Period, 300)
	assertEqual(t, what+" Threshold", alarm.Threshold, threshold)
	assertEqual(t, what+" ComparisonOperator", alarm.ComparisonOperator, "GreaterThanThreshold")
	assertEqual(t, what+" EvaluationPeriods", alarm.EvaluationPeriods, 1)
	assertEqual(t, what+" DatapointsToAlarm", alarm.DatapointsToAlarm, 1)
	assertEqual(t, what+" AlarmActions", alarm.AlarmActions, []any{map[string]any{"Ref": topicID}})
}

// Every queue is encrypted; every dead-letter queue keeps its messages
// 14 days and alarms on the first one. The realtime, media and
// integrations functions' queues are the ones that are not DLQs (see
// realtime_test.go, media_test.go and integrations_test.go).
func TestEveryDeadLetterQueueIsEncryptedAndAlarmed(t *testing.T) {
	template := synthTemplate(t, demoInbound)
	topicID, _ := template.resourceWithPrefix(t, "AWS::SNS::Topic", "AlarmTopic")

	queues := template.resourcesOfType("AWS::SQS::Queue")
	var gotQueues []string
	for id := range queues {
		gotQueues = append(gotQueues, id[:len(id)-8]) // without the hash
	}
	slices.Sort(gotQueues)
	assertEqual(t, "queues", gotQueues, []string{
		"ExporterAsyncDLQ", "InboundMailDeliveryDLQ", "MediaDLQ", "MediaEventsDLQ", "MediaQueue", "PublisherStreamDLQ", "RealtimeDLQ", "RealtimeEventsDLQ", "RealtimeQueue",
		"ScheduleDLQ", "SenderAsyncDLQ", "SenderStreamDLQ", "SequencesAsyncDLQ", "SequencesEventsDLQ",
		"WebhookDLQ", "WebhookEventsDLQ", "WebhookQueue",
	})
	for id, resource := range queues {
		var queue struct {
			SqsManagedSseEnabled   bool
			KmsMasterKeyId         any
			MessageRetentionPeriod int
		}
		decodeProperties(t, resource, &queue)
		if !queue.SqsManagedSseEnabled && queue.KmsMasterKeyId == nil {
			t.Errorf("queue %s: got no encryption, want SSE", id)
		}
		if strings.HasPrefix(id, "RealtimeQueue") || strings.HasPrefix(id, "MediaQueue") || strings.HasPrefix(id, "WebhookQueue") {
			continue
		}
		assertEqual(t, id+" MessageRetentionPeriod", queue.MessageRetentionPeriod, 14*24*60*60)

		alarms := template.alarmsOn(t, "ApproximateNumberOfMessagesVisible", "QueueName",
			map[string]any{"Fn::GetAtt": []any{id, "QueueName"}})
		checkAlarm(t, id, alarms, "Maximum", 0, topicID)
	}
}

func TestEveryFunctionHasAnErrorAlarm(t *testing.T) {
	template := synthTemplate(t, nil)
	topicID, _ := template.resourceWithPrefix(t, "AWS::SNS::Topic", "AlarmTopic")
	for id := range template.resourcesOfType("AWS::Lambda::Function") {
		t.Run(id, func(t *testing.T) {
			// The WebSocket authorizer answers 401 by failing, so a few
			// errors are refused tokens, not faults.
			threshold := 0.0
			if strings.HasPrefix(id, "AuthorizerFunction") {
				threshold = 20
			}
			alarms := template.alarmsOn(t, "Errors", "FunctionName", map[string]any{"Ref": id})
			checkAlarm(t, id+" errors", alarms, "Sum", threshold, topicID)

			// Every stream consumer has an iterator age alarm; a queue's
			// consumer has an age alarm on its queue instead.
			alarms = template.alarmsOn(t, "IteratorAge", "FunctionName", map[string]any{"Ref": id})
			if _, mapping := template.eventSourceMappingOf(t, id); mapping == nil || !readsStream(t, *mapping) {
				if len(alarms) != 0 {
					t.Errorf("%s: got an iterator age alarm, but it reads no stream", id)
				}
				return
			}
			checkAlarm(t, id+" iterator age", alarms, "Maximum", 60_000, topicID)
		})
	}
}

// readsStream tells whether an event source mapping reads a DynamoDB
// stream rather than a queue.
func readsStream(t *testing.T, mapping cfnResource) bool {
	t.Helper()
	var props struct {
		EventSourceArn struct {
			GetAtt []any `json:"Fn::GetAtt"`
		}
	}
	decodeProperties(t, mapping, &props)
	return len(props.EventSourceArn.GetAtt) == 2 && props.EventSourceArn.GetAtt[1] == "StreamArn"
}
