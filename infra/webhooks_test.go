package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

func TestPublicRoutesAreThrottledPerRoute(t *testing.T) {
	template := synthTemplate(t, nil)
	_, stageResource := template.onlyResourceOfType(t, "AWS::ApiGatewayV2::Stage")
	var stage struct {
		RouteSettings map[string]struct {
			ThrottlingRateLimit  float64
			ThrottlingBurstLimit float64
		}
	}
	decodeProperties(t, stageResource, &stage)

	var want []string
	for _, key := range publicRouteKeys {
		if key != "GET /openapi.json" {
			want = append(want, key)
		}
	}
	got := slices.Sorted(func(yield func(string) bool) {
		for key := range stage.RouteSettings {
			if !yield(key) {
				return
			}
		}
	})
	assertEqual(t, "throttled routes", got, want)
	for key, settings := range stage.RouteSettings {
		if settings.ThrottlingRateLimit <= 0 || settings.ThrottlingBurstLimit < settings.ThrottlingRateLimit {
			t.Errorf("route %q: got rate %v burst %v, want a positive rate and a burst at least as big",
				key, settings.ThrottlingRateLimit, settings.ThrottlingBurstLimit)
		}
	}

	// API Gateway refuses settings for a route that does not exist yet, so
	// the stage must be created after every throttled route.
	routeIDs := map[string]string{}
	for id, resource := range template.resourcesOfType("AWS::ApiGatewayV2::Route") {
		var route routeProperties
		decodeProperties(t, resource, &route)
		routeIDs[route.RouteKey] = id
	}
	for key := range stage.RouteSettings {
		if !slices.Contains(stageResource.DependsOn, routeIDs[key]) {
			t.Errorf("stage: got DependsOn %v, want it to include route %q (%s)", stageResource.DependsOn, key, routeIDs[key])
		}
	}
}

func TestWebhooksFunctionGrants(t *testing.T) {
	template := synthTemplate(t, nil)
	tableID, _ := template.onlyResourceOfType(t, "AWS::DynamoDB::Table")
	cursorSecretID, _ := template.resourceWithPrefix(t, "AWS::SecretsManager::Secret", "CursorSecret")
	providerSecretsID, _ := template.resourceWithPrefix(t, "AWS::SecretsManager::Secret", "ProviderSecrets")
	bucketID, _ := template.onlyResourceOfType(t, "AWS::S3::Bucket")
	_, policyResource := template.resourceWithPrefix(t, "AWS::IAM::Policy", "WebhooksFunctionServiceRoleDefaultPolicy")

	var document map[string]any
	if err := json.Unmarshal(policyResource.Properties, &document); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, statement := range policyStatements(document) {
		resource, _ := json.Marshal(statement["Resource"])
		for _, action := range statementActions(statement) {
			got[action] += string(resource)
		}
	}

	for _, action := range tableActions {
		if !strings.Contains(got[action], `"`+tableID+`"`) || !strings.Contains(got[action], `/index/*`) {
			t.Errorf("%s: got resources %s, want the table and its indexes", action, got[action])
		}
	}
	for _, secretID := range []string{cursorSecretID, providerSecretsID} {
		if !strings.Contains(got["secretsmanager:GetSecretValue"], `"`+secretID+`"`) {
			t.Errorf("secretsmanager:GetSecretValue: got resources %s, want %s", got["secretsmanager:GetSecretValue"], secretID)
		}
	}
	// Objects under the inbound prefix only; no list or bucket actions.
	want := `[{"Fn::GetAtt":["` + bucketID + `","Arn"]},"/inbound/*"]`
	if !strings.Contains(got["s3:GetObject"], want) {
		t.Errorf("s3:GetObject: got resources %s, want %s", got["s3:GetObject"], want)
	}
	var s3Actions []string
	for action := range got {
		if strings.HasPrefix(action, "s3:") {
			s3Actions = append(s3Actions, action)
		}
	}
	assertEqual(t, "S3 actions", s3Actions, []string{"s3:GetObject"})
}

func TestProviderSecretsStartEmptyAndAreRetained(t *testing.T) {
	template := synthTemplate(t, nil)
	_, resource := template.resourceWithPrefix(t, "AWS::SecretsManager::Secret", "ProviderSecrets")
	var secret struct {
		SecretString         string
		GenerateSecretString any
	}
	decodeProperties(t, resource, &secret)
	// Changing this value would make CloudFormation overwrite the value
	// operators put.
	assertEqual(t, "SecretString", secret.SecretString, "{}")
	assertEqual(t, "GenerateSecretString", secret.GenerateSecretString, nil)
	assertEqual(t, "DeletionPolicy", resource.DeletionPolicy, "Retain")
}

func TestOutputs(t *testing.T) {
	template := synthTemplate(t, nil)
	apiID, _ := template.onlyResourceOfType(t, "AWS::ApiGatewayV2::Api")
	for _, name := range []string{
		"ApiUrl", "UserPoolId", "UserPoolClientId", "TableName", "Region",
		"WebhookBaseUrl", "EventBusName", "InboundMailBucket", "InboundMailTopicArn",
		"InboundMailRuleSetName", "ProviderSecretsArn", "AlarmTopicArn",
		"SenderFunctionName", "SchedulerGroupName", "SesConfigurationSetName",
		"DripStateMachineArn", "AutomationStateMachineArn",
	} {
		if _, ok := template.Outputs[name]; !ok {
			t.Errorf("output %s: missing", name)
		}
	}

	got, _ := json.Marshal(template.Outputs["WebhookBaseUrl"].Value)
	want, _ := json.Marshal(map[string]any{"Fn::Join": []any{"", []any{
		map[string]any{"Fn::GetAtt": []any{apiID, "ApiEndpoint"}}, "/webhooks",
	}}})
	assertEqual(t, "WebhookBaseUrl", string(got), string(want))

	refOutputs := map[string]string{
		"EventBusName":        "AWS::Events::EventBus",
		"InboundMailBucket":   "AWS::S3::Bucket",
		"InboundMailTopicArn": "AWS::SNS::Topic",
		"ProviderSecretsArn":  "AWS::SecretsManager::Secret",
		"AlarmTopicArn":       "AWS::SNS::Topic",
		// Names: Ref of each returns its name.
		"SenderFunctionName":      "AWS::Lambda::Function",
		"SchedulerGroupName":      "AWS::Scheduler::ScheduleGroup",
		"SesConfigurationSetName": "AWS::SES::ConfigurationSet",
		// Ref of a state machine returns its ARN.
		"DripStateMachineArn":       "AWS::StepFunctions::StateMachine",
		"AutomationStateMachineArn": "AWS::StepFunctions::StateMachine",
	}
	for name, cfnType := range refOutputs {
		value, _ := template.Outputs[name].Value.(map[string]any)
		id, _ := value["Ref"].(string)
		if template.Resources[id].Type != cfnType {
			t.Errorf("output %s: got %v, want a Ref to a %s", name, template.Outputs[name].Value, cfnType)
		}
	}
}
