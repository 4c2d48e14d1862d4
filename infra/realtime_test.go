package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// webSocketAPI returns the live inbox's WebSocket API.
func (tpl cfnTemplate) webSocketAPI(t *testing.T) (string, cfnResource) {
	t.Helper()
	return tpl.resourceWithPrefix(t, "AWS::ApiGatewayV2::Api", "WebSocketApi")
}

// lambdaURI is how API Gateway names a function it invokes (integrations
// and Lambda authorizers alike).
func lambdaURI(functionID string) any {
	return map[string]any{"Fn::Join": []any{"", []any{
		"arn:", refTo("AWS::Partition"), ":apigateway:", refTo("AWS::Region"),
		":lambda:path/2015-03-31/functions/", getAttOf(functionID, "Arn"), "/invocations",
	}}}
}

func TestWebSocketAPIAndStage(t *testing.T) {
	template := synthTemplate(t, nil)
	apiID, apiResource := template.webSocketAPI(t)

	var api struct {
		ProtocolType             string
		RouteSelectionExpression string
	}
	decodeProperties(t, apiResource, &api)
	assertEqual(t, "ProtocolType", api.ProtocolType, "WEBSOCKET")
	assertEqual(t, "RouteSelectionExpression", api.RouteSelectionExpression, "$request.body.type")

	stages := template.apiResources(t, "AWS::ApiGatewayV2::Stage", apiID)
	if len(stages) != 1 {
		t.Fatalf("got %d stages of the WebSocket API, want 1", len(stages))
	}
	for id, resource := range stages {
		var stage struct {
			StageName            string
			AutoDeploy           bool
			DefaultRouteSettings routeThrottle
		}
		decodeProperties(t, resource, &stage)
		assertEqual(t, id+" StageName", stage.StageName, "live")
		assertEqual(t, id+" AutoDeploy", stage.AutoDeploy, true)
		if s := stage.DefaultRouteSettings; s.ThrottlingRateLimit <= 0 || s.ThrottlingBurstLimit < s.ThrottlingRateLimit {
			t.Errorf("%s: got rate %v burst %v, want a positive rate and a burst at least as big",
				id, s.ThrottlingRateLimit, s.ThrottlingBurstLimit)
		}
	}

	// Clients connect to wss://<api id>.execute-api.<region>.<suffix>/live.
	assertEqual(t, "WebSocketUrl output", template.Outputs["WebSocketUrl"].Value, any(map[string]any{"Fn::Join": []any{"", []any{
		"wss://", refTo(apiID), ".execute-api.", refTo("AWS::Region"), ".", refTo("AWS::URLSuffix"), "/live",
	}}}))
}

// The three routes go to the realtime function as Lambda proxy events; only
// $connect runs the authorizer.
func TestWebSocketRoutes(t *testing.T) {
	template := synthTemplate(t, nil)
	apiID, _ := template.webSocketAPI(t)
	realtimeID, _ := template.resourceWithPrefix(t, "AWS::Lambda::Function", "RealtimeFunction")

	integrations := template.apiResources(t, "AWS::ApiGatewayV2::Integration", apiID)
	if len(integrations) != 1 {
		t.Fatalf("got %d integrations of the WebSocket API, want 1", len(integrations))
	}
	var integrationID string
	for id, resource := range integrations {
		integrationID = id
		var integration struct {
			IntegrationType string
			IntegrationUri  any
		}
		decodeProperties(t, resource, &integration)
		assertEqual(t, "IntegrationType", integration.IntegrationType, "AWS_PROXY")
		assertEqual(t, "IntegrationUri", integration.IntegrationUri, lambdaURI(realtimeID))
	}

	authorizers := template.apiResources(t, "AWS::ApiGatewayV2::Authorizer", apiID)
	if len(authorizers) != 1 {
		t.Fatalf("got %d authorizers of the WebSocket API, want 1", len(authorizers))
	}
	var authorizerID string
	for id := range authorizers {
		authorizerID = id
	}

	routes := map[string]struct {
		AuthorizationType string
		AuthorizerId      any
		Target            any
	}{}
	for id, resource := range template.apiResources(t, "AWS::ApiGatewayV2::Route", apiID) {
		var route struct {
			RouteKey          string
			AuthorizationType string
			AuthorizerId      any
			Target            any
		}
		decodeProperties(t, resource, &route)
		if _, seen := routes[route.RouteKey]; seen {
			t.Errorf("route %s (%s): defined twice", route.RouteKey, id)
		}
		routes[route.RouteKey] = struct {
			AuthorizationType string
			AuthorizerId      any
			Target            any
		}{route.AuthorizationType, route.AuthorizerId, route.Target}
	}
	assertEqual(t, "route keys", sortedKeys(routes), []string{"$connect", "$default", "$disconnect"})

	for _, tt := range []struct {
		key               string
		authorizationType string
		authorizer        any
	}{
		{key: "$connect", authorizationType: "CUSTOM", authorizer: refTo(authorizerID)},
		{key: "$disconnect", authorizationType: "NONE"},
		{key: "$default", authorizationType: "NONE"},
	} {
		t.Run(tt.key, func(t *testing.T) {
			route := routes[tt.key]
			assertEqual(t, "AuthorizationType", route.AuthorizationType, tt.authorizationType)
			assertEqual(t, "AuthorizerId", route.AuthorizerId, tt.authorizer)
			assertEqual(t, "Target", route.Target, any(map[string]any{"Fn::Join": []any{"", []any{"integrations/", refTo(integrationID)}}}))
		})
	}

	// API Gateway may invoke the realtime function for this API's three
	// routes, and nothing but this rule's queue feeds it otherwise.
	var sources []string
	for _, resource := range template.resourcesOfType("AWS::Lambda::Permission") {
		var permission struct {
			FunctionName any
			Principal    string
			SourceArn    any
		}
		decodeProperties(t, resource, &permission)
		if !jsonEqual(permission.FunctionName, getAttOf(realtimeID, "Arn")) {
			continue
		}
		assertEqual(t, "permission principal", permission.Principal, "apigateway.amazonaws.com")
		source, _ := json.Marshal(permission.SourceArn)
		sources = append(sources, string(source))
	}
	var want []string
	for _, key := range []string{"$connect", "$default", "$disconnect"} {
		source, _ := json.Marshal(accountArn("execute-api", "", refTo(apiID), "/*"+key))
		want = append(want, string(source))
	}
	slices.Sort(sources)
	slices.Sort(want)
	assertEqual(t, "realtime function's invoke permissions", sources, want)
}

// $connect's authorizer is a Lambda REQUEST authorizer reading the token
// from the query string (browsers cannot set headers on the handshake),
// run by the authorizer function and by nothing else.
func TestConnectAuthorizer(t *testing.T) {
	template := synthTemplate(t, nil)
	apiID, _ := template.webSocketAPI(t)
	authorizerFunctionID, _ := template.resourceWithPrefix(t, "AWS::Lambda::Function", "AuthorizerFunction")

	authorizers := template.apiResources(t, "AWS::ApiGatewayV2::Authorizer", apiID)
	if len(authorizers) != 1 {
		t.Fatalf("got %d authorizers of the WebSocket API, want 1", len(authorizers))
	}
	for id, resource := range authorizers {
		var authorizer struct {
			AuthorizerType string
			IdentitySource []string
			AuthorizerUri  any
		}
		decodeProperties(t, resource, &authorizer)
		assertEqual(t, "AuthorizerType", authorizer.AuthorizerType, "REQUEST")
		assertEqual(t, "IdentitySource", authorizer.IdentitySource, []string{"route.request.querystring.token"})
		assertEqual(t, "AuthorizerUri", authorizer.AuthorizerUri, lambdaURI(authorizerFunctionID))

		var permissions []any
		for _, resource := range template.resourcesOfType("AWS::Lambda::Permission") {
			var permission struct {
				FunctionName any
				Principal    string
				SourceArn    any
			}
			decodeProperties(t, resource, &permission)
			if jsonEqual(permission.FunctionName, getAttOf(authorizerFunctionID, "Arn")) {
				assertEqual(t, "permission principal", permission.Principal, "apigateway.amazonaws.com")
				permissions = append(permissions, permission.SourceArn)
			}
		}
		assertEqual(t, "authorizer function's invoke permissions", permissions,
			[]any{accountArn("execute-api", "", refTo(apiID), "/authorizers/", refTo(id))})
	}
}

// Each new function's policy, written out: what either may do, on what.
// The realtime function reads and writes the table (connections, counts)
// without Scan, manages this API's live
// connections only, and consumes its queue; the authorizer only reads the
// cursor secret. X-Ray's actions have no resource-level permissions, so
// they are the only ones on "*".
func TestRealtimeAndAuthorizerGrants(t *testing.T) {
	template := synthTemplate(t, nil)
	tableID, _ := template.onlyResourceOfType(t, "AWS::DynamoDB::Table")
	cursorSecretID, _ := template.resourceWithPrefix(t, "AWS::SecretsManager::Secret", "CursorSecret")
	queueID, _ := template.resourceWithPrefix(t, "AWS::SQS::Queue", "RealtimeQueue")
	apiID, _ := template.webSocketAPI(t)

	encode := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	tracing := map[string]string{"xray:PutTraceSegments": `"*"`, "xray:PutTelemetryRecords": `"*"`}
	realtime := map[string]string{
		"execute-api:ManageConnections": encode(accountArn("execute-api", "", refTo(apiID), "/live/*/@connections/*")),
	}
	table := encode([]any{getAttOf(tableID, "Arn"), map[string]any{"Fn::Join": []any{"", []any{getAttOf(tableID, "Arn"), "/index/*"}}}})
	for _, action := range tableActions {
		realtime[action] = table
	}
	for _, action := range []string{"sqs:ReceiveMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueUrl", "sqs:DeleteMessage", "sqs:GetQueueAttributes"} {
		realtime[action] = encode(getAttOf(queueID, "Arn"))
	}

	for _, tt := range []struct {
		function string
		want     map[string]string
	}{
		{"RealtimeFunction", realtime},
		{"AuthorizerFunction", map[string]string{"secretsmanager:GetSecretValue": encode(refTo(cursorSecretID))}},
	} {
		t.Run(tt.function, func(t *testing.T) {
			for action, resource := range tracing {
				tt.want[action] = resource
			}
			got := functionGrants(t, template, tt.function)
			assertEqual(t, "grants", got, tt.want)
			for action, resources := range got {
				if strings.Contains(resources, `"*"`) && !strings.HasPrefix(action, "xray:") {
					t.Errorf("%s: got resources %s, want no \"*\"", action, resources)
				}
				if strings.HasPrefix(action, "dynamodb:") && tt.function == "AuthorizerFunction" {
					t.Errorf("%s: the authorizer must not touch the table", action)
				}
				if action == "dynamodb:Scan" {
					t.Errorf("%s: got dynamodb:Scan, want none", tt.function)
				}
			}
		})
	}

	// No other role may post to, read or close connections.
	byRole := statementsWithAction(template.roleStatements(t), "execute-api:")
	assertEqual(t, "roles with execute-api: actions", sortedKeys(byRole), template.functionRoles(t, "RealtimeFunction"))
}

// Every Parley event on the bus goes into a queue that feeds the realtime
// function in batches; events that keep failing end in a DLQ, and both
// that DLQ and the rule's own are alarmed, as is a queue falling behind.
func TestFanOutFromTheBus(t *testing.T) {
	template := synthTemplate(t, nil)
	busID, _ := template.onlyResourceOfType(t, "AWS::Events::EventBus")
	realtimeID, realtimeResource := template.resourceWithPrefix(t, "AWS::Lambda::Function", "RealtimeFunction")
	queueID, queueResource := template.resourceWithPrefix(t, "AWS::SQS::Queue", "RealtimeQueue")
	dlqID, _ := template.resourceWithPrefix(t, "AWS::SQS::Queue", "RealtimeDLQ")
	eventsDLQID, _ := template.resourceWithPrefix(t, "AWS::SQS::Queue", "RealtimeEventsDLQ")
	ruleID, ruleResource := template.resourceWithPrefix(t, "AWS::Events::Rule", "RealtimeRule")
	topicID, _ := template.resourceWithPrefix(t, "AWS::SNS::Topic", "AlarmTopic")

	t.Run("rule", func(t *testing.T) {
		var rule struct {
			EventBusName any
			EventPattern map[string]any
			State        string
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
		// All of Parley's events: the function picks what clients receive.
		assertEqual(t, "EventPattern", rule.EventPattern, map[string]any{"source": []any{"parley"}})
		assertEqual(t, "State", rule.State, "ENABLED")
		if len(rule.Targets) != 1 {
			t.Fatalf("got %d targets, want 1", len(rule.Targets))
		}
		target := rule.Targets[0]
		assertEqual(t, "target", target.Arn, getAttOf(queueID, "Arn"))
		assertEqual(t, "MaximumEventAgeInSeconds", target.RetryPolicy.MaximumEventAgeInSeconds, 86400)
		assertEqual(t, "MaximumRetryAttempts", target.RetryPolicy.MaximumRetryAttempts, 185)
		assertEqual(t, "DeadLetterConfig", target.DeadLetterConfig.Arn, getAttOf(eventsDLQID, "Arn"))

		// The queue takes messages from this rule only.
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
					assertEqual(t, "queue policy principal", statement["Principal"], any(map[string]any{"Service": "events.amazonaws.com"}))
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
		decodeProperties(t, realtimeResource, &function)
		assertEqual(t, "SqsManagedSseEnabled", queue.SqsManagedSseEnabled, true)
		// Lambda's guidance: at least six times the function's timeout.
		if queue.VisibilityTimeout < 6*function.Timeout {
			t.Errorf("VisibilityTimeout: got %d s, want at least 6 × the function's %d s", queue.VisibilityTimeout, function.Timeout)
		}
		assertEqual(t, "dead-letter target", queue.RedrivePolicy.DeadLetterTargetArn, getAttOf(dlqID, "Arn"))
		assertEqual(t, "maxReceiveCount", queue.RedrivePolicy.MaxReceiveCount, 5)
	})

	t.Run("event source mapping", func(t *testing.T) {
		_, resource := template.eventSourceMappingOf(t, realtimeID)
		if resource == nil {
			t.Fatal("got no event source mapping for the realtime function")
		}
		var mapping struct {
			EventSourceArn                 any
			BatchSize                      int
			MaximumBatchingWindowInSeconds int
			FunctionResponseTypes          []string
		}
		decodeProperties(t, *resource, &mapping)
		assertEqual(t, "EventSourceArn", mapping.EventSourceArn, getAttOf(queueID, "Arn"))
		// Ten, with no window: an event is fanned out as soon as it arrives.
		assertEqual(t, "BatchSize", mapping.BatchSize, 10)
		assertEqual(t, "MaximumBatchingWindowInSeconds", mapping.MaximumBatchingWindowInSeconds, 0)
		// The handler reports the events it could not fan out.
		assertEqual(t, "FunctionResponseTypes", mapping.FunctionResponseTypes, []string{"ReportBatchItemFailures"})
	})

	t.Run("alarms", func(t *testing.T) {
		for _, id := range []string{dlqID, eventsDLQID} {
			alarms := template.alarmsOn(t, "ApproximateNumberOfMessagesVisible", "QueueName", getAttOf(id, "QueueName"))
			checkAlarm(t, id, alarms, "Maximum", 0, topicID)
		}
		alarms := template.alarmsOn(t, "ApproximateAgeOfOldestMessage", "QueueName", getAttOf(queueID, "QueueName"))
		checkAlarm(t, queueID+" age", alarms, "Maximum", 300, topicID)
	})
}
