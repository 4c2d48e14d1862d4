package main

import (
	"encoding/json"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2authorizers"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// corsOriginsContextKey names the CDK context value holding the
// comma-separated origins allowed to call the API from a browser.
const corsOriginsContextKey = "corsOrigins"

// authenticatedMethods are the methods routed to the api behind the JWT
// authorizer. They are listed instead of ANY so that no route matches OPTIONS:
// an ANY route would send CORS preflights (which carry no token) to the
// authorizer and fail them with 401, whereas an unmatched OPTIONS is answered
// by API Gateway from the CORS configuration.
var authenticatedMethods = []awsapigatewayv2.HttpMethod{
	awsapigatewayv2.HttpMethod_GET,
	awsapigatewayv2.HttpMethod_POST,
	awsapigatewayv2.HttpMethod_PUT,
	awsapigatewayv2.HttpMethod_PATCH,
	awsapigatewayv2.HttpMethod_DELETE,
}

// newHTTPAPI puts the api function behind an HTTP API. Every SPA route needs
// a Cognito JWT; the public OpenAPI document does not, nor do the webhook
// and web chat routes that addPublicRoutes (webhooks.go) adds.
// The authorizer accepts the SPA's ID tokens (aud) and machine clients'
// access tokens (client_id), the clients machineClientIDs names.
func newHTTPAPI(stack awscdk.Stack, apiFunction awslambda.Function, userPool awscognito.UserPool, spaClient awscognito.UserPoolClient, machineClientIDs []*string) (awsapigatewayv2.HttpApi, awsapigatewayv2.HttpStage) {
	httpAPI := awsapigatewayv2.NewHttpApi(stack, jsii.String("HttpApi"), &awsapigatewayv2.HttpApiProps{
		CorsPreflight: corsPreflight(stack),
		// The default stage is created below so it can carry throttling and
		// access logging.
		CreateDefaultStage: jsii.Bool(false),
	})

	accessLogs := awslogs.NewLogGroup(stack, jsii.String("HttpApiAccessLogs"), &awslogs.LogGroupProps{
		Retention: awslogs.RetentionDays_ONE_MONTH,
	})
	stage := awsapigatewayv2.NewHttpStage(stack, jsii.String("DefaultStage"), &awsapigatewayv2.HttpStageProps{
		HttpApi:    httpAPI,
		StageName:  jsii.String("$default"),
		AutoDeploy: jsii.Bool(true),
		// Caps what a leaked token or a runaway client can cost.
		Throttle: &awsapigatewayv2.ThrottleSettings{
			RateLimit:  jsii.Number(50),
			BurstLimit: jsii.Number(100),
		},
		AccessLogSettings: &accessLogSettings{
			destination: awsapigatewayv2.NewLogGroupLogDestination(accessLogs),
			format:      accessLogFormat(),
		},
	})

	integration := awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String("ApiIntegration"), apiFunction,
		&awsapigatewayv2integrations.HttpLambdaIntegrationProps{
			PayloadFormatVersion: awsapigatewayv2.PayloadFormatVersion_VERSION_2_0(),
		})

	audience := append([]*string{spaClient.UserPoolClientId()}, machineClientIDs...)
	authorizer := awsapigatewayv2authorizers.NewHttpJwtAuthorizer(jsii.String("CognitoAuthorizer"), jsii.String(cognitoIssuer(stack, userPool)),
		&awsapigatewayv2authorizers.HttpJwtAuthorizerProps{
			JwtAudience:    &audience,
			IdentitySource: jsii.Strings("$request.header.Authorization"),
		})

	httpAPI.AddRoutes(&awsapigatewayv2.AddRoutesOptions{
		Path:        jsii.String("/{proxy+}"),
		Methods:     &authenticatedMethods,
		Integration: integration,
		Authorizer:  authorizer,
	})
	// Public on purpose: the API description holds no tenant data.
	httpAPI.AddRoutes(&awsapigatewayv2.AddRoutesOptions{
		Path:        jsii.String("/openapi.json"),
		Methods:     &[]awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod_GET},
		Integration: integration,
	})

	return httpAPI, stage
}

// corsPreflight reads the allowed browser origins from the `corsOrigins`
// context value (comma-separated, e.g. -c corsOrigins=https://app.example.com).
// Unset means no CORS at all: browsers on other origins are refused until
// the SPA's origin is configured, rather than every origin being allowed.
func corsPreflight(scope constructs.Construct) *awsapigatewayv2.CorsPreflightOptions {
	raw, _ := scope.Node().TryGetContext(jsii.String(corsOriginsContextKey)).(string)
	var origins []string
	for _, origin := range strings.Split(raw, ",") {
		if origin = strings.TrimSpace(origin); origin != "" {
			origins = append(origins, origin)
		}
	}
	if len(origins) == 0 {
		return nil
	}

	methods := make([]awsapigatewayv2.CorsHttpMethod, 0, len(authenticatedMethods))
	for _, method := range authenticatedMethods {
		methods = append(methods, awsapigatewayv2.CorsHttpMethod(method))
	}
	return &awsapigatewayv2.CorsPreflightOptions{
		AllowOrigins: jsii.Strings(origins...),
		AllowMethods: &methods,
		AllowHeaders: jsii.Strings("Authorization", "Content-Type", "Idempotency-Key"),
		// Browsers cap this (Chrome at 2 h); an hour saves most preflights.
		MaxAge: awscdk.Duration_Hours(jsii.Number(1)),
	}
}

// accessLogSettings implements awsapigatewayv2.IAccessLogSettings, which is an
// interface (not a struct) in the Go bindings.
type accessLogSettings struct {
	destination awsapigatewayv2.IAccessLogDestination
	format      awsapigateway.AccessLogFormat
}

func (s *accessLogSettings) Destination() awsapigatewayv2.IAccessLogDestination {
	return s.destination
}

func (s *accessLogSettings) Format() awsapigateway.AccessLogFormat { return s.format }

// accessLogFormat is one JSON line per request, including why the JWT
// authorizer or the integration failed, which the default format omits.
func accessLogFormat() awsapigateway.AccessLogFormat {
	fields := map[string]string{
		"requestId":        "$context.requestId",
		"ip":               "$context.identity.sourceIp",
		"requestTime":      "$context.requestTime",
		"httpMethod":       "$context.httpMethod",
		"routeKey":         "$context.routeKey",
		"path":             "$context.path",
		"status":           "$context.status",
		"protocol":         "$context.protocol",
		"responseLength":   "$context.responseLength",
		"latencyMs":        "$context.responseLatency",
		"integrationError": "$context.integrationErrorMessage",
		"authorizerError":  "$context.authorizer.error",
		"userSub":          "$context.authorizer.claims.sub",
		"clientId":         "$context.authorizer.claims.client_id",
	}
	// json.Marshal sorts map keys, so the template is stable between synths.
	encoded, err := json.Marshal(fields)
	if err != nil {
		panic(err) // a map of strings always encodes
	}
	return awsapigateway.AccessLogFormat_Custom(jsii.String(string(encoded)))
}
