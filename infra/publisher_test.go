package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

func TestStreamEventSourceMapping(t *testing.T) {
	template := synthTemplate(t, nil)
	tableID, _ := template.onlyResourceOfType(t, "AWS::DynamoDB::Table")
	functionID, _ := template.resourceWithPrefix(t, "AWS::Lambda::Function", "PublisherFunction")
	dlqID, _ := template.resourceWithPrefix(t, "AWS::SQS::Queue", "PublisherStreamDLQ")
	_, resource := template.eventSourceMappingOf(t, functionID)
	if resource == nil {
		t.Fatal("got no event source mapping for the publisher function")
	}

	var mapping streamMapping
	decodeProperties(t, *resource, &mapping)
	assertEqual(t, "FunctionName", mapping.FunctionName, any(map[string]any{"Ref": functionID}))
	assertEqual(t, "EventSourceArn", mapping.EventSourceArn, any(map[string]any{"Fn::GetAtt": []any{tableID, "StreamArn"}}))
	assertEqual(t, "StartingPosition", mapping.StartingPosition, "LATEST")
	assertEqual(t, "BatchSize", mapping.BatchSize, 100)
	assertEqual(t, "BisectBatchOnFunctionError", mapping.BisectBatchOnFunctionError, false)
	// The handler reports the failed record and those after it.
	assertEqual(t, "FunctionResponseTypes", mapping.FunctionResponseTypes, []string{"ReportBatchItemFailures"})
	assertEqual(t, "MaximumRetryAttempts", mapping.MaximumRetryAttempts, 10)
	assertEqual(t, "MaximumRecordAgeInSeconds", mapping.MaximumRecordAgeInSeconds, 86400)
	assertEqual(t, "on-failure destination", mapping.DestinationConfig.OnFailure.Destination,
		any(map[string]any{"Fn::GetAtt": []any{dlqID, "Arn"}}))
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
	if len(grants) != 2 || !strings.HasPrefix(grants[0], "PublisherFunctionServiceRole") || !strings.HasPrefix(grants[1], "WebhooksFunctionServiceRole") {
		t.Errorf("got events: grants in %v, want only the events and webhooks functions' roles", grants)
	}
}
