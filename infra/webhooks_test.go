package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

func TestPublicRoutesAreThrottledPerRoute(t *testing.T) {
	template := synthTemplate(t, nil)
	_, stageResource := template.httpStage(t)
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
	httpAPIID, _ := template.httpAPI(t)
	for id, resource := range template.apiResources(t, "AWS::ApiGatewayV2::Route", httpAPIID) {
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

// functionGrants maps each action in a function's policy to the resources
// it is granted on, as JSON.
func functionGrants(t *testing.T, template cfnTemplate, function string) map[string]string {
	t.Helper()
	_, policyResource := template.resourceWithPrefix(t, "AWS::IAM::Policy", function+"ServiceRoleDefaultPolicy")
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
	return got
}

func s3Actions(grants map[string]string) []string {
	var actions []string
	for action := range grants {
		if strings.HasPrefix(action, "s3:") {
			actions = append(actions, action)
		}
	}
	return actions
}

func TestWebhooksFunctionGrants(t *testing.T) {
	template := synthTemplate(t, nil)
	tableID, _ := template.onlyResourceOfType(t, "AWS::DynamoDB::Table")
	cursorSecretID, _ := template.resourceWithPrefix(t, "AWS::SecretsManager::Secret", "CursorSecret")
	providerSecretsID, _ := template.resourceWithPrefix(t, "AWS::SecretsManager::Secret", "ProviderSecrets")
	got := functionGrants(t, template, "WebhooksFunction")

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
	// Stored inbound mail is the mail function's to read, not this public
	// function's.
	assertEqual(t, "S3 actions", s3Actions(got), []string(nil))
}

func TestMailFunctionGrants(t *testing.T) {
	template := synthTemplate(t, nil)
	tableID, _ := template.onlyResourceOfType(t, "AWS::DynamoDB::Table")
	cursorSecretID, _ := template.resourceWithPrefix(t, "AWS::SecretsManager::Secret", "CursorSecret")
	providerSecretsID, _ := template.resourceWithPrefix(t, "AWS::SecretsManager::Secret", "ProviderSecrets")
	bucketID, _ := template.resourceWithPrefix(t, "AWS::S3::Bucket", "RawMailBucket")
	got := functionGrants(t, template, "MailFunction")

	for _, action := range tableActions {
		if !strings.Contains(got[action], `"`+tableID+`"`) || !strings.Contains(got[action], `/index/*`) {
			t.Errorf("%s: got resources %s, want the table and its indexes", action, got[action])
		}
	}
	// The provider secrets (each workspace's SNS topic), not the cursor
	// secret.
	secrets := got["secretsmanager:GetSecretValue"]
	if !strings.Contains(secrets, `"`+providerSecretsID+`"`) || strings.Contains(secrets, `"`+cursorSecretID+`"`) {
		t.Errorf("secretsmanager:GetSecretValue: got resources %s, want %s only", secrets, providerSecretsID)
	}
	// Objects under the inbound prefix only; no list or bucket actions.
	want := `[{"Fn::GetAtt":["` + bucketID + `","Arn"]},"/inbound/*"]`
	if !strings.Contains(got["s3:GetObject"], want) {
		t.Errorf("s3:GetObject: got resources %s, want %s", got["s3:GetObject"], want)
	}
	assertEqual(t, "S3 actions", s3Actions(got), []string{"s3:GetObject"})
	// Filing mail sends none, and there are no events to publish.
	for action := range got {
		if strings.HasPrefix(action, "ses:") || strings.HasPrefix(action, "events:") {
			t.Errorf("got %s, want no SES or EventBridge action", action)
		}
	}
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
	apiID, _ := template.httpAPI(t)
	for _, name := range []string{
		"ApiUrl", "UserPoolId", "UserPoolClientId", "TableName", "Region",
		"WebhookBaseUrl", "EventBusName", "InboundMailBucket", "InboundMailTopicArn",
		"InboundMailRuleSetName", "ProviderSecretsArn", "AlarmTopicArn",
		"SenderFunctionName", "SchedulerGroupName", "SesConfigurationSetName",
		"DripStateMachineArn", "AutomationStateMachineArn", "WebSocketUrl", "ExportBucketName",
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

// stageRouteSettings reads the stage's per-route throttles by route key.
func stageRouteSettings(t *testing.T, template cfnTemplate) map[string]routeThrottle {
	t.Helper()
	_, stageResource := template.httpStage(t)
	var stage struct{ RouteSettings map[string]routeThrottle }
	decodeProperties(t, stageResource, &stage)
	return stage.RouteSettings
}

type routeThrottle struct {
	ThrottlingRateLimit  float64
	ThrottlingBurstLimit float64
}

// A flood of unsigned junk must not starve signed provider deliveries
// (issue 9, item 14). API Gateway keeps one bucket per route key, so each
// provider has its own, sized for its bursts rather than a shared 50/s;
// with a path token, no route a caller without the token can name is a
// provider route, so junk spends only other buckets.
func TestProviderRoutesHaveTheirOwnBuckets(t *testing.T) {
	const token = "Zq3v_8KpLw2Rj5Tn0YbXcA"
	for _, tc := range []struct {
		name    string
		context map[string]any
		prefix  string
	}{
		{"no path token", nil, "/webhooks/{workspaceId}/"},
		{"path token", map[string]any{"webhookPathToken": token}, "/webhooks/" + token + "/{workspaceId}/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			template := synthTemplate(t, tc.context)
			settings := stageRouteSettings(t, template)
			total := 0.0
			for _, want := range []struct {
				key       string
				minRate   float64
				signature string
			}{
				{"POST " + tc.prefix + "twilio/messages", 500, "Twilio"},
				{"POST " + tc.prefix + "twilio/status", 1000, "Twilio"},
				{"POST " + tc.prefix + "twilio/calls", 100, "Twilio"},
				{"POST " + tc.prefix + "meta", 500, "Meta"},
				{"POST " + tc.prefix + "email", 200, "SNS"},
				{"POST " + tc.prefix + "events", 200, "shop"},
				{"POST " + tc.prefix + "stripe", 50, "Stripe"},
			} {
				got, ok := settings[want.key]
				if !ok {
					t.Errorf("%s (%s-signed): no route of its own; route settings: %v", want.key, want.signature, settings)
					continue
				}
				if got.ThrottlingRateLimit < want.minRate {
					t.Errorf("%s: got rate %v, want at least %v", want.key, got.ThrottlingRateLimit, want.minRate)
				}
			}
			for _, s := range settings {
				total += s.ThrottlingRateLimit
			}
			// All public routes together stay inside a region's default
			// account limit (10,000 requests a second), so none is a promise
			// API Gateway cannot keep.
			if total > 10_000 {
				t.Errorf("public routes: %v requests a second in all, over the account's 10,000", total)
			}
			var webhookKeys []string
			httpAPIID, _ := template.httpAPI(t)
			for id, resource := range template.apiResources(t, "AWS::ApiGatewayV2::Route", httpAPIID) {
				var route routeProperties
				decodeProperties(t, resource, &route)
				if _, path, _ := strings.Cut(route.RouteKey, " "); strings.HasPrefix(path, "/webhooks") {
					webhookKeys = append(webhookKeys, route.RouteKey)
					if !strings.HasPrefix(path, tc.prefix) {
						t.Errorf("route %s (%s): outside %s", route.RouteKey, id, tc.prefix)
					}
				}
			}
			if len(webhookKeys) != 8 {
				t.Errorf("webhook routes: got %v, want the eight provider routes", webhookKeys)
			}
			base, _ := json.Marshal(template.Outputs["WebhookBaseUrl"].Value)
			if !strings.Contains(string(base), `"`+strings.TrimSuffix(tc.prefix, "/{workspaceId}/")+`"`) {
				t.Errorf("WebhookBaseUrl: got %s, want it to end in %s", base, strings.TrimSuffix(tc.prefix, "/{workspaceId}/"))
			}
		})
	}
}

// The token reaches the functions that build or check webhook URLs.
func TestWebhookPathTokenReachesFunctions(t *testing.T) {
	const token = "Zq3v_8KpLw2Rj5Tn0YbXcA"
	template := synthTemplate(t, map[string]any{"webhookPathToken": token})
	for _, prefix := range []string{"WebhooksFunction", "MailFunction", "SenderFunction"} {
		_, fn := template.resourceWithPrefix(t, "AWS::Lambda::Function", prefix)
		var props struct {
			Environment struct{ Variables map[string]any }
		}
		decodeProperties(t, fn, &props)
		if got := props.Environment.Variables["WEBHOOK_PATH_TOKEN"]; got != token {
			t.Errorf("%s: WEBHOOK_PATH_TOKEN = %v, want %s", prefix, got, token)
		}
	}
}

func TestMalformedWebhookPathTokenFailsTheSynth(t *testing.T) {
	stack := synthStack(t, map[string]any{"webhookPathToken": "short"})
	messages := assertions.Annotations_FromStack(stack).FindError(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("webhookPathToken")))
	if len(*messages) == 0 {
		t.Error("a 5-character token: got no synth error, want one naming webhookPathToken")
	}
}
