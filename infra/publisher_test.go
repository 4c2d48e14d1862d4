package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// The stream's two readers: the publisher takes every change, the sender
// only messages queued to go out. Each reports the failed record and those
// after it, and gives up on a record into a queue of its own.
func TestStreamEventSourceMappings(t *testing.T) {
	template := synthTemplate(t, nil)
	tableID, _ := template.onlyResourceOfType(t, "AWS::DynamoDB::Table")

	// What dynamo.QueuedMessage accepts; written out, not taken from
	// queuedMessageFilters, so a change to either is noticed.
	queued := map[string]any{
		"status":    map[string]any{"S": []any{"queued"}},
		"direction": map[string]any{"S": []any{"out"}},
		"kind":      map[string]any{"S": []any{"message"}},
	}
	queuedOutbound := []any{
		map[string]any{"eventName": []any{"INSERT"}, "dynamodb": map[string]any{"NewImage": queued}},
		map[string]any{"eventName": []any{"MODIFY"}, "dynamodb": map[string]any{
			"OldImage": map[string]any{"status": map[string]any{"S": []any{"draft"}}},
			"NewImage": queued,
		}},
	}

	// The items whose changes are events or journal writes (written out,
	// not taken from dynamo.PublishedSortKeys, so a change is noticed).
	published := []any{map[string]any{"dynamodb": map[string]any{"Keys": map[string]any{"SK": map[string]any{"S": []any{
		"#CONTACT", "#CONV", "#TASK", map[string]any{"prefix": "#CONSENT#"}, map[string]any{"prefix": "MSG#"}, map[string]any{"prefix": "RUN#"},
	}}}}}}

	for _, tt := range []struct {
		function, dlq   string
		batchSize       int
		retries, maxAge int
		filterPatterns  []any
	}{
		{function: "PublisherFunction", dlq: "PublisherStreamDLQ", batchSize: 100, retries: 10, maxAge: 86400, filterPatterns: published},
		{function: "SenderFunction", dlq: "SenderStreamDLQ", batchSize: 10, retries: 5, maxAge: 3600, filterPatterns: queuedOutbound},
	} {
		t.Run(tt.function, func(t *testing.T) {
			functionID, _ := template.resourceWithPrefix(t, "AWS::Lambda::Function", tt.function)
			dlqID, _ := template.resourceWithPrefix(t, "AWS::SQS::Queue", tt.dlq)
			_, resource := template.eventSourceMappingOf(t, functionID)
			if resource == nil {
				t.Fatalf("got no event source mapping for %s", tt.function)
			}

			var mapping streamMapping
			decodeProperties(t, *resource, &mapping)
			assertEqual(t, "FunctionName", mapping.FunctionName, refTo(functionID))
			assertEqual(t, "EventSourceArn", mapping.EventSourceArn, getAttOf(tableID, "StreamArn"))
			assertEqual(t, "StartingPosition", mapping.StartingPosition, "LATEST")
			assertEqual(t, "BatchSize", mapping.BatchSize, tt.batchSize)
			assertEqual(t, "BisectBatchOnFunctionError", mapping.BisectBatchOnFunctionError, false)
			// The handler reports the failed record and those after it.
			assertEqual(t, "FunctionResponseTypes", mapping.FunctionResponseTypes, []string{"ReportBatchItemFailures"})
			assertEqual(t, "MaximumRetryAttempts", mapping.MaximumRetryAttempts, tt.retries)
			assertEqual(t, "MaximumRecordAgeInSeconds", mapping.MaximumRecordAgeInSeconds, tt.maxAge)
			assertEqual(t, "on-failure destination", mapping.DestinationConfig.OnFailure.Destination, getAttOf(dlqID, "Arn"))

			var patterns []any
			for _, f := range mapping.FilterCriteria.Filters {
				var pattern any
				if err := json.Unmarshal([]byte(f.Pattern), &pattern); err != nil {
					t.Fatalf("filter pattern: %v", err)
				}
				patterns = append(patterns, pattern)
			}
			assertEqual(t, "filter patterns", patterns, tt.filterPatterns)
		})
	}
}

// streamMapping is what the tests read of a DynamoDB stream event source
// mapping.
type streamMapping struct {
	FunctionName               any
	EventSourceArn             any
	StartingPosition           string
	BatchSize                  int
	BisectBatchOnFunctionError bool
	FunctionResponseTypes      []string
	MaximumRetryAttempts       int
	MaximumRecordAgeInSeconds  int
	DestinationConfig          struct {
		OnFailure struct{ Destination any }
	}
	FilterCriteria struct {
		Filters []struct{ Pattern string }
	}
}

// eventSourceMappingOf returns the single event source mapping of a
// function, or nil if it has none.
func (tpl cfnTemplate) eventSourceMappingOf(t *testing.T, functionID string) (string, *cfnResource) {
	t.Helper()
	var ids []string
	for id, resource := range tpl.resourcesOfType("AWS::Lambda::EventSourceMapping") {
		var mapping struct{ FunctionName map[string]any }
		decodeProperties(t, resource, &mapping)
		if mapping.FunctionName["Ref"] == functionID {
			ids = append(ids, id)
		}
	}
	switch len(ids) {
	case 0:
		return "", nil
	case 1:
		resource := tpl.Resources[ids[0]]
		return ids[0], &resource
	}
	t.Fatalf("function %s: got event source mappings %v, want at most one", functionID, ids)
	return "", nil
}

// The publisher function publishes domain events; the webhooks function
// posts external shop events.
func TestOnlyTheEventsAndWebhooksFunctionsPutEventsAndOnlyOnTheBus(t *testing.T) {
	template := synthTemplate(t, demoInbound)
	busID, _ := template.onlyResourceOfType(t, "AWS::Events::EventBus")

	var grants []string
	for id, resource := range template.resourcesOfType("AWS::IAM::Policy") {
		var document map[string]any
		if err := json.Unmarshal(resource.Properties, &document); err != nil {
			t.Fatal(err)
		}
		for _, statement := range policyStatements(document) {
			for _, action := range statementActions(statement) {
				if !strings.HasPrefix(action, "events:") {
					continue
				}
				grants = append(grants, id)
				assertEqual(t, id+" action", action, "events:PutEvents")
				assertEqual(t, id+" resource", statement["Resource"], any(map[string]any{"Fn::GetAtt": []any{busID, "Arn"}}))
			}
		}
	}
	slices.Sort(grants)
	// The integrations function publishes webhook.disabled.
	if len(grants) != 3 || !strings.HasPrefix(grants[0], "IntegrationsFunctionServiceRole") || !strings.HasPrefix(grants[1], "PublisherFunctionServiceRole") || !strings.HasPrefix(grants[2], "WebhooksFunctionServiceRole") {
		t.Errorf("got events: grants in %v, want only the events, webhooks and integrations functions' roles", grants)
	}
}
