package main

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/parley-inbox/parley/shared/config"
)

// publicRoute is a route without the JWT authorizer: the provider's
// signature (Twilio, Meta, SNS, a shop's signed events) or the web chat
// visitor token, checked by the webhooks function, authenticates each
// request.
type publicRoute struct {
	method awsapigatewayv2.HttpMethod
	path   string
	// Route-level throttling: API Gateway keeps one bucket per route key,
	// in place of the stage default.
	rateLimit, burstLimit float64
}

// providerRoutes each get their own route key, and so their own bucket:
// junk aimed at one provider, or at the web chat, cannot spend another's.
// Unsigned junk is refused in the function before any I/O, so the limits
// are sized for providers' bursts (a blast's status callbacks), not for
// cost. Paths follow /webhooks[/<path token>]/{workspaceId}.
var providerRoutes = []publicRoute{
	{awsapigatewayv2.HttpMethod_POST, "/twilio/messages", 500, 1000},
	{awsapigatewayv2.HttpMethod_POST, "/twilio/status", 1000, 2000},
	{awsapigatewayv2.HttpMethod_POST, "/twilio/calls", 100, 200},
	// Meta's subscription check: once per app setup.
	{awsapigatewayv2.HttpMethod_GET, "/meta", 5, 10},
	{awsapigatewayv2.HttpMethod_POST, "/meta", 500, 1000},
	{awsapigatewayv2.HttpMethod_POST, "/events", 200, 400},
	// Stripe's checkout events: one per payment, plus retries.
	{awsapigatewayv2.HttpMethod_POST, "/stripe", 50, 100},
}

// mailRoute is SES inbound mail through SNS, the one provider route the
// mail function serves (same path prefix as providerRoutes).
var mailRoute = publicRoute{awsapigatewayv2.HttpMethod_POST, "/email", 200, 400}

// chatRoutes serve anonymous browsers; the function also rate-limits each
// visitor, this caps them all together.
var chatRoutes = []publicRoute{
	// Every page view of a site with the widget loads these two (browsers
	// cache them for minutes): a bucket of their own, so page views never
	// spend the chats' and chats never wait on page views.
	{awsapigatewayv2.HttpMethod_GET, "/chat/{workspaceId}/widget.js", 200, 400},
	{awsapigatewayv2.HttpMethod_GET, "/chat/{workspaceId}/widget", 200, 400},
	{awsapigatewayv2.HttpMethod_GET, "/chat/{proxy+}", 20, 40},
	{awsapigatewayv2.HttpMethod_POST, "/chat/{proxy+}", 20, 40},
}

// webhookPathTokenContextKey names the optional secret first segment of
// webhook paths (see README, "Public routes and throttling").
const webhookPathTokenContextKey = "webhookPathToken"

// webhookPathToken reads the context value; a malformed one fails the synth.
func webhookPathToken(scope constructs.Construct) string {
	token, _ := scope.Node().TryGetContext(jsii.String(webhookPathTokenContextKey)).(string)
	if token != "" && !config.PathTokenPattern.MatchString(token) {
		awscdk.Annotations_Of(scope).AddError(jsii.String(fmt.Sprintf("context %s must match %s",
			webhookPathTokenContextKey, config.PathTokenPattern)))
		return ""
	}
	return token
}

// webhookRoutePrefix is the route path before each provider's suffix.
func webhookRoutePrefix(token string) string {
	return config.WebhookBaseURL("", token) + "/{workspaceId}"
}

// newProviderSecrets creates the secret holding every workspace's provider
// credentials, a JSON object keyed by workspace id:
//
//	{"<workspace>": {"twilioAuthToken": "...", "metaAppSecret": "...",
//	  "metaVerifyToken": "...", "snsTopicArn": "<InboundMailTopicArn>", "webChat": true,
//	  "eventsSigningSecret": "..."}}
//
// The stack only creates it, holding "{}": operators set the real value with
//
//	aws secretsmanager put-secret-value --secret-id <ProviderSecretsArn> --secret-string file://providers.json
//
// and CloudFormation leaves it alone as long as the placeholder below never
// changes (changing it would overwrite the operators' value on deploy). The
// webhooks function reads it at cold start, so a new value reaches new
// execution environments only.
func newProviderSecrets(scope constructs.Construct) awssecretsmanager.Secret {
	return awssecretsmanager.NewSecret(scope, jsii.String("ProviderSecrets"), &awssecretsmanager.SecretProps{
		Description: jsii.String("Parley provider credentials by workspace id (JSON); set with put-secret-value"),
		// Not secret: an empty credential set, so the function starts and
		// answers 404 for every workspace until operators fill it in.
		SecretStringValue: awscdk.SecretValue_UnsafePlainText(jsii.String("{}")),
		// Credentials typed in by hand are not recreatable; keep them.
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
}

// webhooksDeps is what the webhooks function reads.
type webhooksDeps struct {
	table           awsdynamodb.Table
	cursorSecret    awssecretsmanager.Secret
	providerSecrets awssecretsmanager.Secret
	// publicURL is the API's base URL without a trailing slash.
	publicURL *string
	// pathToken is the webhook path token, "" for none.
	pathToken string
	// bus receives external shop events (order.placed, cart.abandoned,
	// contact.added_to_list).
	bus awsevents.EventBus
	// emailDomain names the Message-IDs of web chat verification emails.
	emailDomain string
	// webSocketURL is the live inbox's wss:// URL, which the chat widget's
	// settings hand to browsers.
	webSocketURL *string
}

// newWebhooksFunction creates the Lambda behind the public routes but
// inbound email, with the api function's table access, both secrets (the
// cursor secret also signs web chat visitor tokens) and the bus for
// external events. It cannot read stored mail: that is the mail function's.
func newWebhooksFunction(scope constructs.Construct, assetsDir string, deps webhooksDeps) awslambda.Function {
	env := map[string]*string{
		config.EnvTableName:          deps.table.TableName(),
		config.EnvCursorSecretARN:    deps.cursorSecret.SecretArn(),
		config.EnvProviderSecretsARN: deps.providerSecrets.SecretArn(),
		config.EnvPublicURL:          deps.publicURL,
		config.EnvEventBusName:       deps.bus.EventBusName(),
		config.EnvEmailDomain:        jsii.String(deps.emailDomain),
		config.EnvWebSocketURL:       deps.webSocketURL,
	}
	if deps.pathToken != "" {
		env[config.EnvWebhookPathToken] = jsii.String(deps.pathToken)
	}
	fn := newGoFunction(scope, "WebhooksFunction", goFunction{
		// GOGC=200: 0.95× the CPU of GOGC=100 on an inbound SMS (400 is no better).
		gogc:      "200",
		assetsDir: assetsDir,
		asset:     "webhooks",
		timeout:   awscdk.Duration_Seconds(jsii.Number(10)),
		env:       env,
	})
	grantTableData(fn, deps.table)
	// events:PutEvents on this bus's ARN only.
	deps.bus.GrantPutEventsTo(fn, nil)
	deps.cursorSecret.GrantRead(fn, nil)
	deps.providerSecrets.GrantRead(fn, nil)
	return fn
}

// mailDeps is what the mail function reads.
type mailDeps struct {
	table           awsdynamodb.Table
	providerSecrets awssecretsmanager.Secret
	mailBucket      awss3.Bucket
	// pathToken is the webhook path token, "" for none.
	pathToken string
}

// newMailFunction creates the Lambda behind the inbound email route: SNS
// posts SES receipt notifications, and the function reads the message SES
// stored. It gets the table's data, the provider secrets (each
// workspace's pinned SNS topic) and read access to stored inbound mail.
func newMailFunction(scope constructs.Construct, assetsDir string, deps mailDeps) awslambda.Function {
	env := map[string]*string{
		config.EnvTableName:          deps.table.TableName(),
		config.EnvProviderSecretsARN: deps.providerSecrets.SecretArn(),
	}
	if deps.pathToken != "" {
		env[config.EnvWebhookPathToken] = jsii.String(deps.pathToken)
	}
	fn := newGoFunction(scope, "MailFunction", goFunction{
		// GOGC=400: 0.92-0.93× the CPU of GOGC=100 on an SNS-signed SES
		// notification of a multipart reply (HTML, attachment), in two runs
		// of make bench's -gc mode (200: 0.94-0.98×, 800: 0.93-0.96×).
		gogc:      "400",
		assetsDir: assetsDir,
		asset:     "mail",
		// Parsing a message at the 4 MB limit takes about a second; SNS
		// gives an HTTP endpoint 15 s before it retries.
		timeout: awscdk.Duration_Seconds(jsii.Number(15)),
		env:     env,
	})
	grantTableData(fn, deps.table)
	deps.providerSecrets.GrantRead(fn, nil)
	// Written out instead of GrantRead, which adds s3:GetObject*, s3:List*
	// and s3:GetBucket*: the function only fetches the message it was told
	// about.
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Effect:    awsiam.Effect_ALLOW,
		Actions:   jsii.Strings("s3:GetObject"),
		Resources: jsii.Strings(*deps.mailBucket.ArnForObjects(jsii.String(inboundKeyPrefix + "*"))),
	}))
	return fn
}

// addPublicRoutes routes the provider and web chat paths to the webhooks
// function, and inbound email to the mail function, without the
// authorizer, and throttles each route. Any other /webhooks/ path (one
// without the path token, say) falls to the SPA's JWT route and is refused
// there without invoking a function.
func addPublicRoutes(httpAPI awsapigatewayv2.HttpApi, stage awsapigatewayv2.HttpStage, webhooksFn, mailFn awslambda.Function, pathToken string) {
	integration := func(id string, fn awslambda.Function) awsapigatewayv2.HttpRouteIntegration {
		return awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String(id), fn,
			&awsapigatewayv2integrations.HttpLambdaIntegrationProps{
				PayloadFormatVersion: awsapigatewayv2.PayloadFormatVersion_VERSION_2_0(),
			})
	}
	webhooks, mail := integration("WebhooksIntegration", webhooksFn), integration("MailIntegration", mailFn)

	type routed struct {
		publicRoute
		integration awsapigatewayv2.HttpRouteIntegration
	}
	var routes []routed
	for _, r := range chatRoutes {
		routes = append(routes, routed{r, webhooks})
	}
	for _, r := range providerRoutes {
		r.path = webhookRoutePrefix(pathToken) + r.path
		routes = append(routes, routed{r, webhooks})
	}
	email := mailRoute
	email.path = webhookRoutePrefix(pathToken) + email.path
	routes = append(routes, routed{email, mail})
	settings := map[string]any{}
	for _, route := range routes {
		added := httpAPI.AddRoutes(&awsapigatewayv2.AddRoutesOptions{
			Path:        jsii.String(route.path),
			Methods:     &[]awsapigatewayv2.HttpMethod{route.method},
			Integration: route.integration,
		})
		settings[string(route.method)+" "+route.path] = map[string]any{
			"ThrottlingRateLimit":  route.rateLimit,
			"ThrottlingBurstLimit": route.burstLimit,
		}
		// The stage refuses settings for a route that does not exist yet.
		stage.Node().AddDependency((*added)[0])
	}

	// The L2 HttpStage only has a stage-wide throttle; per-route settings
	// go on the underlying CfnStage.
	cfnStage := stage.Node().DefaultChild().(awsapigatewayv2.CfnStage)
	cfnStage.SetRouteSettings(settings)
}
