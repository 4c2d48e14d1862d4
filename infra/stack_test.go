package main

import (
	"archive/zip"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/parley-inbox/parley/shared/adapter/dynamo"
)

// cfnTemplate is the part of a synthesized template the tests read.
type cfnTemplate struct {
	Resources map[string]cfnResource `json:"Resources"`
	Outputs   map[string]struct {
		Value any `json:"Value"`
	} `json:"Outputs"`
}

type cfnResource struct {
	Type                string          `json:"Type"`
	Properties          json.RawMessage `json:"Properties"`
	DeletionPolicy      string          `json:"DeletionPolicy"`
	UpdateReplacePolicy string          `json:"UpdateReplacePolicy"`
	DependsOn           []string        `json:"DependsOn"`
}

// lambdaAssets are the zips `make build` produces (FUNCTIONS in the Makefile).
// The tests write a stand-in for each, so authorizer and realtime are here
// before functions/authorizer and functions/realtime exist.
var lambdaAssets = []string{"api", "webhooks", "mail", "publisher", "sender", "sequences", "authorizer", "realtime", "exporter", "media", "integrations"}

// synthTemplate builds the stack against dummy Lambda zips and returns its
// template. context is passed to the app as CDK context values. A synth
// takes a second or more and the tests only read templates, so each
// context is synthesized once per run.
func synthTemplate(t *testing.T, context map[string]any) cfnTemplate {
	t.Helper()
	key, err := json.Marshal(context)
	if err != nil {
		t.Fatalf("encode context: %v", err)
	}
	if template, ok := templates.Load(string(key)); ok {
		return template.(cfnTemplate)
	}
	template := templateOf(t, synthStack(t, context))
	templates.Store(string(key), template)
	return template
}

// templates holds the synthesized templates by their context's JSON.
var templates sync.Map

// synthStack builds the stack against dummy Lambda zips.
func synthStack(t *testing.T, context map[string]any) awscdk.Stack {
	t.Helper()
	assetsDir := t.TempDir()
	for _, asset := range lambdaAssets {
		writeDummyLambdaZip(t, filepath.Join(assetsDir, asset+".zip"))
	}

	app := awscdk.NewApp(&awscdk.AppProps{
		Outdir:  jsii.String(t.TempDir()),
		Context: &context,
	})
	return NewParleyStack(app, "Parley", &ParleyStackProps{AssetsDir: assetsDir})
}

func templateOf(t *testing.T, stack awscdk.Stack) cfnTemplate {
	t.Helper()
	raw, err := json.Marshal(assertions.Template_FromStack(stack, nil).ToJSON())
	if err != nil {
		t.Fatalf("encode template: %v", err)
	}
	var template cfnTemplate
	if err := json.Unmarshal(raw, &template); err != nil {
		t.Fatalf("decode template: %v", err)
	}
	return template
}

// writeDummyLambdaZip writes a deployment zip holding an executable bootstrap,
// shaped like the ones `make build` produces.
func writeDummyLambdaZip(t *testing.T, path string) {
	t.Helper()
	file, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()

	archive := zip.NewWriter(file)
	header := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate, Modified: time.Unix(0, 0).UTC()}
	header.SetMode(0o755)
	entry, err := archive.CreateHeader(header)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := entry.Write([]byte("#!/bin/sh\n")); err != nil {
		t.Fatal(err)
	}
	if err := archive.Close(); err != nil {
		t.Fatal(err)
	}
}

// resourcesOfType returns the template's resources of one CloudFormation
// type, keyed by logical ID.
func (tpl cfnTemplate) resourcesOfType(cfnType string) map[string]cfnResource {
	found := map[string]cfnResource{}
	for id, resource := range tpl.Resources {
		if resource.Type == cfnType {
			found[id] = resource
		}
	}
	return found
}

// resourceWithPrefix returns the single resource of a type whose logical ID
// starts with the construct ID prefix, failing otherwise.
func (tpl cfnTemplate) resourceWithPrefix(t *testing.T, cfnType, prefix string) (string, cfnResource) {
	t.Helper()
	var ids []string
	for id := range tpl.resourcesOfType(cfnType) {
		if strings.HasPrefix(id, prefix) {
			ids = append(ids, id)
		}
	}
	if len(ids) != 1 {
		t.Fatalf("got %s resources %v with prefix %q, want exactly one", cfnType, ids, prefix)
	}
	return ids[0], tpl.Resources[ids[0]]
}

// onlyResourceOfType returns the single resource of a type, failing otherwise.
func (tpl cfnTemplate) onlyResourceOfType(t *testing.T, cfnType string) (string, cfnResource) {
	t.Helper()
	found := tpl.resourcesOfType(cfnType)
	if len(found) != 1 {
		t.Fatalf("got %d resources of type %s, want 1", len(found), cfnType)
	}
	for id, resource := range found {
		return id, resource
	}
	panic("unreachable")
}

// httpAPI returns the HTTP API's logical ID and resource (the stack also
// has the live inbox's WebSocket API).
func (tpl cfnTemplate) httpAPI(t *testing.T) (string, cfnResource) {
	t.Helper()
	return tpl.resourceWithPrefix(t, "AWS::ApiGatewayV2::Api", "HttpApi")
}

// httpStage returns the HTTP API's $default stage.
func (tpl cfnTemplate) httpStage(t *testing.T) (string, cfnResource) {
	t.Helper()
	return tpl.resourceWithPrefix(t, "AWS::ApiGatewayV2::Stage", "DefaultStage")
}

// apiResources returns the resources of one type (routes, integrations,
// authorizers, stages) that belong to one API, keyed by logical ID.
func (tpl cfnTemplate) apiResources(t *testing.T, cfnType, apiID string) map[string]cfnResource {
	t.Helper()
	found := map[string]cfnResource{}
	for id, resource := range tpl.resourcesOfType(cfnType) {
		var props struct{ ApiId any }
		decodeProperties(t, resource, &props)
		if jsonEqual(props.ApiId, refTo(apiID)) {
			found[id] = resource
		}
	}
	return found
}

func decodeProperties(t *testing.T, resource cfnResource, into any) {
	t.Helper()
	if err := json.Unmarshal(resource.Properties, into); err != nil {
		t.Fatalf("decode %s properties: %v", resource.Type, err)
	}
}

func assertEqual[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got  %+v\n want %+v", what, got, want)
	}
}

type keySchemaElement struct {
	AttributeName string
	KeyType       string
}

type attributeDefinition struct {
	AttributeName string
	AttributeType string
}

type projection struct {
	ProjectionType   string
	NonKeyAttributes []string `json:",omitempty"`
}

type globalSecondaryIndex struct {
	IndexName  string
	KeySchema  []keySchemaElement
	Projection projection
}

type tableProperties struct {
	KeySchema               []keySchemaElement
	AttributeDefinitions    []attributeDefinition
	GlobalSecondaryIndexes  []globalSecondaryIndex
	TimeToLiveSpecification struct {
		AttributeName string
		Enabled       bool
	}
	BillingMode                      string
	PointInTimeRecoverySpecification struct{ PointInTimeRecoveryEnabled bool }
	DeletionProtectionEnabled        bool
	StreamSpecification              struct{ StreamViewType string }
	SSESpecification                 struct {
		SSEEnabled bool
		SSEType    string
	}
}

func keySchema(partitionKey, sortKey string) []keySchemaElement {
	keys := []keySchemaElement{{AttributeName: partitionKey, KeyType: "HASH"}}
	if sortKey != "" {
		keys = append(keys, keySchemaElement{AttributeName: sortKey, KeyType: "RANGE"})
	}
	return keys
}

func TestTableMatchesSchema(t *testing.T) {
	template := synthTemplate(t, nil)
	_, tableResource := template.onlyResourceOfType(t, "AWS::DynamoDB::Table")
	var table tableProperties
	decodeProperties(t, tableResource, &table)

	schema := dynamo.Schema
	wantAttributes := map[string]bool{schema.PartitionKey: true, schema.SortKey: true}
	var wantIndexes []globalSecondaryIndex
	for _, index := range schema.Indexes {
		wantAttributes[index.PartitionKey] = true
		wantAttributes[index.SortKey] = true
		want := globalSecondaryIndex{
			IndexName:  index.Name,
			KeySchema:  keySchema(index.PartitionKey, index.SortKey),
			Projection: projection{ProjectionType: "ALL"},
		}
		if index.NonKeyAttributes != nil {
			want.Projection = projection{ProjectionType: "INCLUDE", NonKeyAttributes: slices.Sorted(slices.Values(index.NonKeyAttributes))}
		}
		wantIndexes = append(wantIndexes, want)
	}
	delete(wantAttributes, "")
	var wantDefinitions []attributeDefinition
	for name := range wantAttributes {
		wantDefinitions = append(wantDefinitions, attributeDefinition{AttributeName: name, AttributeType: "S"})
	}

	// Order carries no meaning for definitions, indexes or projections.
	byAttributeName := func(a, b attributeDefinition) int { return strings.Compare(a.AttributeName, b.AttributeName) }
	byIndexName := func(a, b globalSecondaryIndex) int { return strings.Compare(a.IndexName, b.IndexName) }
	slices.SortFunc(wantDefinitions, byAttributeName)
	slices.SortFunc(table.AttributeDefinitions, byAttributeName)
	slices.SortFunc(wantIndexes, byIndexName)
	slices.SortFunc(table.GlobalSecondaryIndexes, byIndexName)
	for i := range table.GlobalSecondaryIndexes {
		slices.Sort(table.GlobalSecondaryIndexes[i].Projection.NonKeyAttributes)
	}

	assertEqual(t, "KeySchema", table.KeySchema, keySchema(schema.PartitionKey, schema.SortKey))
	assertEqual(t, "AttributeDefinitions", table.AttributeDefinitions, wantDefinitions)
	assertEqual(t, "GlobalSecondaryIndexes", table.GlobalSecondaryIndexes, wantIndexes)
	assertEqual(t, "TTL attribute", table.TimeToLiveSpecification.AttributeName, schema.TTLAttribute)
	assertEqual(t, "TTL enabled", table.TimeToLiveSpecification.Enabled, true)
	assertEqual(t, "BillingMode", table.BillingMode, "PAY_PER_REQUEST")
	assertEqual(t, "PITR enabled", table.PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled, true)
	assertEqual(t, "DeletionProtectionEnabled", table.DeletionProtectionEnabled, true)
	assertEqual(t, "StreamViewType", table.StreamSpecification.StreamViewType, "NEW_AND_OLD_IMAGES")
	assertEqual(t, "SSEEnabled", table.SSESpecification.SSEEnabled, true)
	assertEqual(t, "DeletionPolicy", tableResource.DeletionPolicy, "Retain")
	assertEqual(t, "UpdateReplacePolicy", tableResource.UpdateReplacePolicy, "Retain")
}

type routeProperties struct {
	RouteKey          string
	AuthorizationType string
	AuthorizerId      any
}

// publicRouteKeys are the routes without the JWT authorizer: the OpenAPI
// document, and the webhook and web chat routes that providers' signatures
// and visitor tokens authenticate.
var publicRouteKeys = []string{
	"GET /chat/{proxy+}", "GET /chat/{workspaceId}/widget", "GET /chat/{workspaceId}/widget.js", "GET /openapi.json", "GET /webhooks/{workspaceId}/meta",
	"POST /chat/{proxy+}", "POST /webhooks/{workspaceId}/email", "POST /webhooks/{workspaceId}/events",
	"POST /webhooks/{workspaceId}/meta", "POST /webhooks/{workspaceId}/stripe", "POST /webhooks/{workspaceId}/twilio/calls",
	"POST /webhooks/{workspaceId}/twilio/messages", "POST /webhooks/{workspaceId}/twilio/status",
}

func TestSPARoutesRequireJWTAndOnlyPublicRoutesDoNot(t *testing.T) {
	template := synthTemplate(t, nil)
	webhooksFunctionID, _ := template.resourceWithPrefix(t, "AWS::Lambda::Function", "WebhooksFunction")
	mailFunctionID, _ := template.resourceWithPrefix(t, "AWS::Lambda::Function", "MailFunction")
	httpAPIID, _ := template.httpAPI(t)

	var gotRouteKeys, gotPublic []string
	for id, resource := range template.apiResources(t, "AWS::ApiGatewayV2::Route", httpAPIID) {
		var route routeProperties
		decodeProperties(t, resource, &route)
		gotRouteKeys = append(gotRouteKeys, route.RouteKey)

		if slices.Contains(publicRouteKeys, route.RouteKey) {
			gotPublic = append(gotPublic, route.RouteKey)
			if route.AuthorizationType != "" && route.AuthorizationType != "NONE" {
				t.Errorf("route %q (%s): got AuthorizationType %q, want none", route.RouteKey, id, route.AuthorizationType)
			}
			if route.AuthorizerId != nil {
				t.Errorf("route %q (%s): got AuthorizerId %v, want none", route.RouteKey, id, route.AuthorizerId)
			}
			continue
		}
		if route.AuthorizationType != "JWT" {
			t.Errorf("route %q (%s): got AuthorizationType %q, want JWT", route.RouteKey, id, route.AuthorizationType)
		}
		if route.AuthorizerId == nil {
			t.Errorf("route %q (%s): got no AuthorizerId, want the JWT authorizer", route.RouteKey, id)
		}
	}
	slices.Sort(gotPublic)
	assertEqual(t, "public routes", gotPublic, publicRouteKeys)

	// No ANY or OPTIONS route: CORS preflights must not reach the authorizer.
	wantRouteKeys := append([]string{
		"DELETE /{proxy+}", "GET /{proxy+}",
		"PATCH /{proxy+}", "POST /{proxy+}", "PUT /{proxy+}",
	}, publicRouteKeys...)
	slices.Sort(wantRouteKeys)
	slices.Sort(gotRouteKeys)
	assertEqual(t, "route keys", gotRouteKeys, wantRouteKeys)

	// The webhook and chat routes, and only they, go to the webhooks
	// function, but inbound email, which goes to the mail function; both
	// with the v2 payload their httpadapter.NewV2 expects.
	var webhooksIntegrationIDs, mailIntegrationIDs []string
	for id, resource := range template.apiResources(t, "AWS::ApiGatewayV2::Integration", httpAPIID) {
		var integration struct{ PayloadFormatVersion string }
		decodeProperties(t, resource, &integration)
		assertEqual(t, id+" PayloadFormatVersion", integration.PayloadFormatVersion, "2.0")
		if strings.Contains(string(resource.Properties), `"`+webhooksFunctionID+`"`) {
			webhooksIntegrationIDs = append(webhooksIntegrationIDs, id)
		}
		if strings.Contains(string(resource.Properties), `"`+mailFunctionID+`"`) {
			mailIntegrationIDs = append(mailIntegrationIDs, id)
		}
	}
	if len(webhooksIntegrationIDs) != 1 {
		t.Fatalf("got integrations %v of the webhooks function, want one", webhooksIntegrationIDs)
	}
	if len(mailIntegrationIDs) != 1 {
		t.Fatalf("got integrations %v of the mail function, want one", mailIntegrationIDs)
	}
	for _, resource := range template.apiResources(t, "AWS::ApiGatewayV2::Route", httpAPIID) {
		var route struct {
			RouteKey string
			Target   any
		}
		decodeProperties(t, resource, &route)
		target, _ := json.Marshal(route.Target)
		wantMail := route.RouteKey == "POST /webhooks/{workspaceId}/email"
		gotMail := strings.Contains(string(target), `"`+mailIntegrationIDs[0]+`"`)
		assertEqual(t, route.RouteKey+" goes to the mail function", gotMail, wantMail)
		gotWebhooks := strings.Contains(string(target), `"`+webhooksIntegrationIDs[0]+`"`)
		wantWebhooks := !wantMail && (strings.Contains(route.RouteKey, " /webhooks/") || strings.Contains(route.RouteKey, " /chat/"))
		assertEqual(t, route.RouteKey+" goes to the webhooks function", gotWebhooks, wantWebhooks)
	}

	var authorizer struct {
		AuthorizerType   string
		IdentitySource   []string
		JwtConfiguration struct {
			Audience []any
			Issuer   any
		}
	}
	authorizers := template.apiResources(t, "AWS::ApiGatewayV2::Authorizer", httpAPIID)
	if len(authorizers) != 1 {
		t.Fatalf("got %d authorizers of the HTTP API, want 1", len(authorizers))
	}
	for _, authorizerResource := range authorizers {
		decodeProperties(t, authorizerResource, &authorizer)
	}
	clientID, _ := template.onlyResourceOfType(t, "AWS::Cognito::UserPoolClient")
	assertEqual(t, "AuthorizerType", authorizer.AuthorizerType, "JWT")
	assertEqual(t, "IdentitySource", authorizer.IdentitySource, []string{"$request.header.Authorization"})
	assertEqual(t, "JWT audience", authorizer.JwtConfiguration.Audience, []any{map[string]any{"Ref": clientID}})
}

type functionProperties struct {
	Runtime       string
	Architectures []string
	Handler       string
	MemorySize    int
	Timeout       int
	TracingConfig struct{ Mode string }
	Environment   struct{ Variables map[string]any }
	LoggingConfig struct{ LogGroup any }
}

func TestFunctionsRuntimeAndEnvironment(t *testing.T) {
	template := synthTemplate(t, nil)
	ref := func(id string) any { return map[string]any{"Ref": id} }
	tableID, _ := template.onlyResourceOfType(t, "AWS::DynamoDB::Table")
	cursorSecretID, _ := template.resourceWithPrefix(t, "AWS::SecretsManager::Secret", "CursorSecret")
	providerSecretsID, _ := template.resourceWithPrefix(t, "AWS::SecretsManager::Secret", "ProviderSecrets")
	apiID, _ := template.httpAPI(t)
	busID, _ := template.onlyResourceOfType(t, "AWS::Events::EventBus")
	groupID, _ := template.onlyResourceOfType(t, "AWS::Scheduler::ScheduleGroup")
	schedulerRoleID, _ := template.resourceWithPrefix(t, "AWS::IAM::Role", "SchedulerRole")
	scheduleDLQID, _ := template.resourceWithPrefix(t, "AWS::SQS::Queue", "ScheduleDLQ")
	senderID, _ := template.resourceWithPrefix(t, "AWS::Lambda::Function", "SenderFunction")
	webSocketAPIID, _ := template.resourceWithPrefix(t, "AWS::ApiGatewayV2::Api", "WebSocketApi")
	userPoolID, _ := template.onlyResourceOfType(t, "AWS::Cognito::UserPool")
	clientID, _ := template.onlyResourceOfType(t, "AWS::Cognito::UserPoolClient")
	exportBucketID, _ := template.resourceWithPrefix(t, "AWS::S3::Bucket", "ExportBucket")
	exporterID, _ := template.resourceWithPrefix(t, "AWS::Lambda::Function", "ExporterFunction")
	mediaBucketID, _ := template.resourceWithPrefix(t, "AWS::S3::Bucket", "MediaBucket")
	mailBucketID, _ := template.resourceWithPrefix(t, "AWS::S3::Bucket", "RawMailBucket")
	webhookQueueID, _ := template.resourceWithPrefix(t, "AWS::SQS::Queue", "WebhookQueue")
	getAtt := func(id, attribute string) any { return map[string]any{"Fn::GetAtt": []any{id, attribute}} }
	// The live stage's URL, with the scheme the caller speaks: wss:// for
	// browsers, https:// for the management API.
	webSocketStageURL := func(scheme string) any {
		return map[string]any{"Fn::Join": []any{"", []any{
			scheme + "://", ref(webSocketAPIID), ".execute-api.", ref("AWS::Region"), ".", ref("AWS::URLSuffix"), "/live",
		}}}
	}
	// The api, the sender and the sequences function put schedules
	// (shared/adapter/schedule.EventBridge).
	withScheduling := func(env map[string]any) map[string]any {
		env["SCHEDULER_GROUP"] = ref(groupID)
		env["SCHEDULER_ROLE_ARN"] = getAtt(schedulerRoleID, "Arn")
		env["SCHEDULE_DLQ_ARN"] = getAtt(scheduleDLQID, "Arn")
		return env
	}
	// The api and the sequences function start state machine executions.
	dripArn, _ := machineArns(t, template, "DripStateMachine")
	automationArn, _ := machineArns(t, template, "AutomationStateMachine")
	withStateMachines := func(env map[string]any) map[string]any {
		env["DRIP_STATE_MACHINE_ARN"] = dripArn
		env["AUTOMATION_STATE_MACHINE_ARN"] = automationArn
		return env
	}

	tests := []struct {
		prefix  string
		timeout int
		env     map[string]any
	}{
		{prefix: "ApiFunction", timeout: 10, env: withStateMachines(withScheduling(map[string]any{
			"TABLE_NAME":          ref(tableID),
			"CURSOR_SECRET_ARN":   ref(cursorSecretID),
			"SENDER_FUNCTION_ARN": getAtt(senderID, "Arn"),
			// WhatsApp templates are submitted with each workspace's WABA.
			"PROVIDER_SECRETS_ARN":   ref(providerSecretsID),
			"EXPORT_BUCKET":          ref(exportBucketID),
			"EXPORTER_FUNCTION_NAME": ref(exporterID),
			// Uploads are presigned to it and attachments read from it.
			"MEDIA_BUCKET": ref(mediaBucketID),
			// Outbound webhook replays are queued for the integrations function.
			"WEBHOOK_QUEUE_URL": ref(webhookQueueID),
		}))},
		// Outbound webhooks: deliveries in the table, retries on its queue,
		// webhook.disabled on the bus, admins emailed from the mailboxes.
		{prefix: "IntegrationsFunction", timeout: 60, env: map[string]any{
			"TABLE_NAME":           ref(tableID),
			"PROVIDER_SECRETS_ARN": ref(providerSecretsID),
			"EVENT_BUS_NAME":       ref(busID),
			"WEBHOOK_QUEUE_URL":    ref(webhookQueueID),
			"EMAIL_DOMAIN":         "",
		}},
		// Background exports and contact imports: reads the table and
		// uploads, writes contacts and the export bucket.
		{prefix: "ExporterFunction", timeout: 300, env: map[string]any{
			"TABLE_NAME":    ref(tableID),
			"EXPORT_BUCKET": ref(exportBucketID),
			"MEDIA_BUCKET":  ref(mediaBucketID),
		}},
		{prefix: "WebhooksFunction", timeout: 10, env: map[string]any{
			"TABLE_NAME":           ref(tableID),
			"CURSOR_SECRET_ARN":    ref(cursorSecretID),
			"PROVIDER_SECRETS_ARN": ref(providerSecretsID),
			// The API endpoint has no trailing slash, unlike the stage URL:
			// providers sign PUBLIC_URL + path.
			"PUBLIC_URL": getAtt(apiID, "ApiEndpoint"),
			// Shop events (order.placed, cart.abandoned, ...) go on the bus.
			"EVENT_BUS_NAME": ref(busID),
			// Web chat email verification codes are sent from here.
			"EMAIL_DOMAIN": "",
			// The chat widget's settings name the live inbox's URL.
			"WEBSOCKET_URL": webSocketStageURL("wss"),
		}},
		// Inbound email: no PUBLIC_URL (SNS signs the message, not the URL)
		// and no cursor secret (nothing pages).
		{prefix: "MailFunction", timeout: 15, env: map[string]any{
			"TABLE_NAME":           ref(tableID),
			"PROVIDER_SECRETS_ARN": ref(providerSecretsID),
		}},
		{prefix: "PublisherFunction", timeout: 30, env: map[string]any{
			"TABLE_NAME":     ref(tableID),
			"EVENT_BUS_NAME": ref(busID),
		}},
		// The sender needs no SENDER_FUNCTION_ARN: it schedules itself by
		// the ARN it was invoked with.
		{prefix: "SenderFunction", timeout: 30, env: withScheduling(map[string]any{
			"TABLE_NAME":           ref(tableID),
			"PROVIDER_SECRETS_ARN": ref(providerSecretsID),
			// Twilio status callbacks go to the webhooks function's URL.
			"PUBLIC_URL":   getAtt(apiID, "ApiEndpoint"),
			"EMAIL_DOMAIN": "",
			// Providers fetch uploaded files through links it signs.
			"MEDIA_BUCKET": ref(mediaBucketID),
		})},
		{prefix: "SequencesFunction", timeout: 30, env: withStateMachines(withScheduling(map[string]any{
			"TABLE_NAME":          ref(tableID),
			"EVENT_BUS_NAME":      ref(busID),
			"SENDER_FUNCTION_ARN": getAtt(senderID, "Arn"),
		}))},
		// The WebSocket API's $connect authorizer checks Cognito ID tokens
		// (issuer and the SPA client as audience) and visitor tokens,
		// signed with the cursor secret.
		{prefix: "AuthorizerFunction", timeout: 10, env: map[string]any{
			"COGNITO_ISSUER": map[string]any{"Fn::Join": []any{"", []any{
				"https://cognito-idp.", ref("AWS::Region"), ".amazonaws.com/", ref(userPoolID),
			}}},
			"COGNITO_CLIENT_ID": ref(clientID),
			"CURSOR_SECRET_ARN": ref(cursorSecretID),
		}},
		// The WebSocket routes and the fan-out: connections in the table,
		// sends through the stage's management endpoint.
		{prefix: "RealtimeFunction", timeout: 30, env: map[string]any{
			"TABLE_NAME":         ref(tableID),
			"WEBSOCKET_ENDPOINT": webSocketStageURL("https"),
		}},
		// Inbound files: copied from the providers (their credentials) or
		// the raw mail into the media bucket.
		{prefix: "MediaFunction", timeout: 300, env: map[string]any{
			"TABLE_NAME":           ref(tableID),
			"PROVIDER_SECRETS_ARN": ref(providerSecretsID),
			"MEDIA_BUCKET":         ref(mediaBucketID),
			"MAIL_BUCKET":          ref(mailBucketID),
		}},
	}
	// Each function's garbage collector setting, measured by make bench's
	// -gc mode, and the soft memory limit that keeps it inside 256 MB.
	// The authorizer's and realtime's are measured too (see realtime.go).
	gogc := map[string]string{"ApiFunction": "400", "WebhooksFunction": "200", "MailFunction": "400", "PublisherFunction": "800", "SenderFunction": "400", "SequencesFunction": "200",
		"AuthorizerFunction": "400", "RealtimeFunction": "400", "ExporterFunction": "100",
		// Not measured yet: the copy mostly waits on the network.
		"MediaFunction":        "200",
		"IntegrationsFunction": "100"}
	for _, tt := range tests {
		tt.env["GOGC"] = gogc[tt.prefix]
		tt.env["GOMEMLIMIT"] = "200MiB"
	}
	if got := len(template.resourcesOfType("AWS::Lambda::Function")); got != len(tests) {
		t.Errorf("got %d functions, want %d", got, len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.prefix, func(t *testing.T) {
			_, resource := template.resourceWithPrefix(t, "AWS::Lambda::Function", tt.prefix)
			var function functionProperties
			decodeProperties(t, resource, &function)
			logGroupID, _ := template.resourceWithPrefix(t, "AWS::Logs::LogGroup", tt.prefix+"Logs")

			assertEqual(t, "Runtime", function.Runtime, "provided.al2023")
			assertEqual(t, "Architectures", function.Architectures, []string{"arm64"})
			assertEqual(t, "Handler", function.Handler, "bootstrap")
			assertEqual(t, "MemorySize", function.MemorySize, 256)
			assertEqual(t, "Timeout", function.Timeout, tt.timeout)
			assertEqual(t, "Tracing", function.TracingConfig.Mode, "Active")
			assertEqual(t, "Environment", function.Environment.Variables, tt.env)
			assertEqual(t, "LogGroup", function.LoggingConfig.LogGroup, ref(logGroupID))

			var logGroup struct{ RetentionInDays int }
			decodeProperties(t, template.Resources[logGroupID], &logGroup)
			if logGroup.RetentionInDays == 0 {
				t.Errorf("log group %s: got no retention, want one", logGroupID)
			}
		})
	}
}

// The functions invoked asynchronously (schedules and Step Functions'
// callbacks run the sender and the sequences function) retry twice and then
// leave the event in a queue of their own.
func TestAsyncInvocationsFailToAQueue(t *testing.T) {
	template := synthTemplate(t, nil)
	for _, tt := range []struct {
		function, dlq string
		maxEventAge   int
	}{
		{"SenderFunction", "SenderAsyncDLQ", 3600},
		{"SequencesFunction", "SequencesAsyncDLQ", 6 * 3600},
		{"ExporterFunction", "ExporterAsyncDLQ", 15 * 60}, // inbox.ExportAbandonedAfter
	} {
		t.Run(tt.function, func(t *testing.T) {
			functionID, _ := template.resourceWithPrefix(t, "AWS::Lambda::Function", tt.function)
			dlqID, _ := template.resourceWithPrefix(t, "AWS::SQS::Queue", tt.dlq)
			_, resource := template.resourceWithPrefix(t, "AWS::Lambda::EventInvokeConfig", tt.function)

			var config struct {
				FunctionName             any
				Qualifier                string
				MaximumRetryAttempts     int
				MaximumEventAgeInSeconds int
				DestinationConfig        struct {
					OnFailure struct{ Destination any }
				}
			}
			decodeProperties(t, resource, &config)
			assertEqual(t, "FunctionName", config.FunctionName, refTo(functionID))
			// Schedules target the unqualified ARN, which runs $LATEST.
			assertEqual(t, "Qualifier", config.Qualifier, "$LATEST")
			assertEqual(t, "MaximumRetryAttempts", config.MaximumRetryAttempts, 2)
			assertEqual(t, "MaximumEventAgeInSeconds", config.MaximumEventAgeInSeconds, tt.maxEventAge)
			assertEqual(t, "on-failure destination", config.DestinationConfig.OnFailure.Destination, getAttOf(dlqID, "Arn"))
		})
	}
}

// policyStatements finds every IAM statement anywhere in the template:
// identity policies, inline role policies, trust and resource policies.
func policyStatements(node any) []map[string]any {
	var statements []map[string]any
	switch value := node.(type) {
	case map[string]any:
		for key, child := range value {
			if key == "Statement" {
				switch statement := child.(type) {
				case []any:
					for _, s := range statement {
						if s, ok := s.(map[string]any); ok {
							statements = append(statements, s)
						}
					}
				case map[string]any:
					statements = append(statements, statement)
				}
				continue
			}
			statements = append(statements, policyStatements(child)...)
		}
	case []any:
		for _, child := range value {
			statements = append(statements, policyStatements(child)...)
		}
	}
	return statements
}

// statementActions returns a statement's Action and NotAction entries.
func statementActions(statement map[string]any) []string {
	var actions []string
	for _, key := range []string{"Action", "NotAction"} {
		switch action := statement[key].(type) {
		case string:
			actions = append(actions, action)
		case []any:
			for _, a := range action {
				if a, ok := a.(string); ok {
					actions = append(actions, a)
				}
			}
		}
	}
	return actions
}

// allResources returns the template's resources as plain JSON values.
func (tpl cfnTemplate) allResources(t *testing.T) map[string]any {
	t.Helper()
	var resources map[string]any
	raw, _ := json.Marshal(tpl.Resources)
	if err := json.Unmarshal(raw, &resources); err != nil {
		t.Fatal(err)
	}
	return resources
}

// TestIAMHasNoWildcardActionsOrScan checks every Allow statement in the
// template: identity policies of every role, trust policies, and resource
// policies (bucket, queue and key policies). Deny statements are exempt,
// because a wildcard there only takes access away: it is how the bucket
// and the queues refuse requests that do not use TLS.
func TestIAMHasNoWildcardActionsOrScan(t *testing.T) {
	template := synthTemplate(t, map[string]any{inboundEmailContextKey: "demo=support@inbox.example.com"})

	statements := policyStatements(template.allResources(t))
	if len(statements) == 0 {
		t.Fatal("got no policy statements, want at least the functions'")
	}
	for _, statement := range statements {
		if statement["Effect"] == "Deny" {
			continue
		}
		for _, action := range statementActions(statement) {
			if strings.Contains(action, "*") {
				t.Errorf("statement %v: got wildcard action %q, want none", statement, action)
			}
			if strings.EqualFold(action, "dynamodb:Scan") {
				t.Errorf("statement %v: grants dynamodb:Scan, want no Scan", statement)
			}
		}
	}

	// Every function's role is among the policies checked above, and only
	// the api, webhooks, mail, sender, sequences and realtime functions
	// touch the table's items; the publisher function reads its stream and
	// only puts and updates (the change log and counters), and the sender
	// reads the stream too; the WebSocket authorizer has a
	// policy but no table action. No other role (Scheduler's, the state
	// machines') touches the table.
	streamActions := []string{"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"}
	wantDynamoActions := map[string][]string{
		"ApiFunction":        slices.Sorted(slices.Values(tableActions)),
		"WebhooksFunction":   slices.Sorted(slices.Values(tableActions)),
		"MailFunction":       slices.Sorted(slices.Values(tableActions)),
		"PublisherFunction":  slices.Sorted(slices.Values(append([]string{"dynamodb:PutItem", "dynamodb:UpdateItem"}, streamActions...))),
		"SenderFunction":     slices.Sorted(slices.Values(append(slices.Clone(tableActions), streamActions...))),
		"SequencesFunction":  slices.Sorted(slices.Values(tableActions)),
		"RealtimeFunction":   slices.Sorted(slices.Values(tableActions)),
		"AuthorizerFunction": nil,
		// Reads threads and writes its job's record: no index, no delete.
		"ExporterFunction": {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:TransactWriteItems", "dynamodb:UpdateItem"},
		// Reads a message and settings, updates the message's attachments.
		"MediaFunction": {"dynamodb:GetItem", "dynamodb:UpdateItem"},
		// Subscriptions, deliveries and the team, by key.
		"IntegrationsFunction": {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"},
	}
	gotDynamoActions := map[string][]string{}
	for id, resource := range template.resourcesOfType("AWS::IAM::Policy") {
		var policy struct {
			Roles []map[string]string
		}
		decodeProperties(t, resource, &policy)
		var document map[string]any
		if err := json.Unmarshal(resource.Properties, &document); err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, statement := range policyStatements(document) {
			for _, action := range statementActions(statement) {
				if strings.HasPrefix(strings.ToLower(action), "dynamodb:") {
					actions = append(actions, action)
				}
			}
		}
		slices.Sort(actions)
		for _, role := range policy.Roles {
			function, _, isFunction := strings.Cut(role["Ref"], "ServiceRole")
			if !isFunction {
				if len(actions) > 0 {
					t.Errorf("policy %s: role %s is no function's but has %v", id, role["Ref"], actions)
				}
				continue
			}
			// A second policy (the exporter's self-invoke, kept apart to
			// avoid a dependency cycle) may grant no table access.
			if prev, seen := gotDynamoActions[function]; seen {
				if len(actions) > 0 && len(prev) > 0 {
					t.Errorf("policy %s: role of %s has more than one policy granting DynamoDB", id, function)
				}
				if len(actions) == 0 {
					continue
				}
			}
			gotDynamoActions[function] = actions
		}
	}
	assertEqual(t, "DynamoDB actions by function", gotDynamoActions, wantDynamoActions)
}

func TestCognitoGroupsAndWorkspaceAttribute(t *testing.T) {
	template := synthTemplate(t, nil)

	var gotGroups []string
	for _, resource := range template.resourcesOfType("AWS::Cognito::UserPoolGroup") {
		var group struct{ GroupName string }
		decodeProperties(t, resource, &group)
		gotGroups = append(gotGroups, group.GroupName)
	}
	slices.Sort(gotGroups)
	assertEqual(t, "groups", gotGroups, []string{"admin", "agent"})

	type schemaAttribute struct {
		Name              string
		AttributeDataType string
		Mutable           bool
	}
	var userPool struct {
		Schema                 []schemaAttribute
		UsernameAttributes     []string
		AdminCreateUserConfig  struct{ AllowAdminCreateUserOnly bool }
		AccountRecoverySetting struct {
			RecoveryMechanisms []struct{ Name string }
		}
	}
	userPoolID, userPoolResource := template.onlyResourceOfType(t, "AWS::Cognito::UserPool")
	decodeProperties(t, userPoolResource, &userPool)

	var gotWorkspace []schemaAttribute
	for _, attribute := range userPool.Schema {
		if attribute.Name == "workspace_id" {
			gotWorkspace = append(gotWorkspace, attribute)
		}
	}
	assertEqual(t, "workspace_id attribute", gotWorkspace,
		[]schemaAttribute{{Name: "workspace_id", AttributeDataType: "String", Mutable: false}})
	assertEqual(t, "UsernameAttributes", userPool.UsernameAttributes, []string{"email"})
	assertEqual(t, "self sign-up disabled", userPool.AdminCreateUserConfig.AllowAdminCreateUserOnly, true)
	assertEqual(t, "recovery mechanisms", len(userPool.AccountRecoverySetting.RecoveryMechanisms), 1)
	if len(userPool.AccountRecoverySetting.RecoveryMechanisms) == 1 {
		assertEqual(t, "recovery mechanism", userPool.AccountRecoverySetting.RecoveryMechanisms[0].Name, "verified_email")
	}
	assertEqual(t, "user pool DeletionPolicy", userPoolResource.DeletionPolicy, "Retain")

	var client struct {
		GenerateSecret    bool
		ExplicitAuthFlows []string
		UserPoolId        any
	}
	_, clientResource := template.onlyResourceOfType(t, "AWS::Cognito::UserPoolClient")
	decodeProperties(t, clientResource, &client)
	slices.Sort(client.ExplicitAuthFlows)
	assertEqual(t, "client secret", client.GenerateSecret, false)
	assertEqual(t, "client auth flows", client.ExplicitAuthFlows, []string{"ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_SRP_AUTH"})
	assertEqual(t, "client user pool", client.UserPoolId, any(map[string]any{"Ref": userPoolID}))
}

func TestCORSOriginsComeFromContext(t *testing.T) {
	type corsConfiguration struct {
		AllowOrigins []string
		AllowHeaders []string
		AllowMethods []string
	}
	apiCORS := func(t *testing.T, context map[string]any) *corsConfiguration {
		t.Helper()
		var api struct{ CorsConfiguration *corsConfiguration }
		_, apiResource := synthTemplate(t, context).httpAPI(t)
		decodeProperties(t, apiResource, &api)
		return api.CorsConfiguration
	}

	t.Run("unset means no CORS", func(t *testing.T) {
		if got := apiCORS(t, nil); got != nil {
			t.Errorf("CorsConfiguration: got %+v, want none", *got)
		}
	})

	t.Run("comma-separated origins", func(t *testing.T) {
		got := apiCORS(t, map[string]any{"corsOrigins": "https://app.example.com, https://admin.example.com"})
		if got == nil {
			t.Fatal("CorsConfiguration: got none, want one")
		}
		assertEqual(t, "AllowOrigins", got.AllowOrigins, []string{"https://app.example.com", "https://admin.example.com"})
		assertEqual(t, "AllowHeaders", got.AllowHeaders, []string{"Authorization", "Content-Type", "Idempotency-Key"})
		assertEqual(t, "AllowMethods", got.AllowMethods, []string{"GET", "POST", "PUT", "PATCH", "DELETE"})
	})
}
