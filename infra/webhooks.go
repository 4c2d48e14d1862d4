package main

import (
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
)

// publicRoute is a route without the JWT authorizer: the provider's
// signature (Twilio, Meta, SNS) or the web chat visitor token, checked by
// the webhooks function, authenticates each request.
type publicRoute struct {
	path    string
	methods []awsapigatewayv2.HttpMethod
	// Route-level throttling: API Gateway applies it per route key, in
	// place of the stage default, so a flood of unauthenticated requests
	// is capped before it reaches Lambda.
	rateLimit, burstLimit float64
}

var publicRoutes = []publicRoute{
	// POST for provider events; GET for Meta's subscription verification.
	// Providers burst (a broadcast's status callbacks, say) and Twilio does
	// not retry a refused status callback, so these stay generous.
	{path: "/webhooks/{proxy+}", methods: []awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod_GET, awsapigatewayv2.HttpMethod_POST}, rateLimit: 50, burstLimit: 100},
	// Browsers of anonymous visitors; the function also rate-limits per
	// visitor, this caps them all together.
	{path: "/chat/{proxy+}", methods: []awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod_GET, awsapigatewayv2.HttpMethod_POST}, rateLimit: 20, burstLimit: 40},
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
	mailBucket      awss3.Bucket
	// publicURL is the API's base URL without a trailing slash.
	publicURL *string
	// bus receives external shop events (order.placed, cart.abandoned,
	// contact.added_to_list).
	bus awsevents.EventBus
}

// newWebhooksFunction creates the Lambda behind the public routes, with the
// api function's table access, both secrets (the cursor secret also signs
// web chat visitor tokens), read access to stored inbound mail only, and
// the bus for external events.
func newWebhooksFunction(scope constructs.Construct, assetsDir string, deps webhooksDeps) awslambda.Function {
	fn := newGoFunction(scope, "WebhooksFunction", goFunction{
		assetsDir: assetsDir,
		asset:     "webhooks",
		timeout:   awscdk.Duration_Seconds(jsii.Number(10)),
		env: map[string]*string{
			"TABLE_NAME":           deps.table.TableName(),
			"CURSOR_SECRET_ARN":    deps.cursorSecret.SecretArn(),
			"PROVIDER_SECRETS_ARN": deps.providerSecrets.SecretArn(),
			"PUBLIC_URL":           deps.publicURL,
			"EVENT_BUS_NAME":       deps.bus.EventBusName(),
		},
	})
	grantTableData(fn, deps.table)
	// events:PutEvents on this bus's ARN only.
	deps.bus.GrantPutEventsTo(fn, nil)
	deps.cursorSecret.GrantRead(fn, nil)
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

// addPublicRoutes routes the webhook and web chat paths to the webhooks
// function, without the authorizer, and throttles each route. They are more
// specific than the SPA's /{proxy+}, so API Gateway prefers them.
func addPublicRoutes(httpAPI awsapigatewayv2.HttpApi, stage awsapigatewayv2.HttpStage, fn awslambda.Function) {
	integration := awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String("WebhooksIntegration"), fn,
		&awsapigatewayv2integrations.HttpLambdaIntegrationProps{
			PayloadFormatVersion: awsapigatewayv2.PayloadFormatVersion_VERSION_2_0(),
		})

	settings := map[string]any{}
	for _, route := range publicRoutes {
		routes := httpAPI.AddRoutes(&awsapigatewayv2.AddRoutesOptions{
			Path:        jsii.String(route.path),
			Methods:     &route.methods,
			Integration: integration,
		})
		for i, method := range route.methods {
			settings[string(method)+" "+route.path] = map[string]any{
				"ThrottlingRateLimit":  route.rateLimit,
				"ThrottlingBurstLimit": route.burstLimit,
			}
			// The stage refuses settings for a route that does not exist yet.
			stage.Node().AddDependency((*routes)[i])
		}
	}

	// The L2 HttpStage only has a stage-wide throttle; per-route settings
	// go on the underlying CfnStage.
	cfnStage := stage.Node().DefaultChild().(awsapigatewayv2.CfnStage)
	cfnStage.SetRouteSettings(settings)
}
