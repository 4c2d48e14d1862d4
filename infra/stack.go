package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2authorizers"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/parley-inbox/parley/shared/dynamo"
)

// ParleyStackProps configures the Parley backend stack.
type ParleyStackProps struct {
	awscdk.StackProps
	// AssetsDir holds the Lambda deployment zips built by `make build`.
	AssetsDir string
}

// corsOriginsContextKey names the CDK context value holding the
// comma-separated origins allowed to call the API from a browser.
const corsOriginsContextKey = "corsOrigins"

// tableActions is everything the api function may do to the table. Scan is
// deliberately absent: every access path goes through a key or an index.
// TransactWriteItems needs no action of its own; it is authorised by the
// per-item actions it contains.
var tableActions = []string{
	"dynamodb:GetItem",
	"dynamodb:PutItem",
	"dynamodb:UpdateItem",
	"dynamodb:DeleteItem",
	"dynamodb:Query",
	"dynamodb:BatchGetItem",
	"dynamodb:BatchWriteItem",
	"dynamodb:ConditionCheckItem",
}

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

// NewParleyStack builds the whole backend: table, user pool, cursor secret,
// api function and the HTTP API in front of it.
func NewParleyStack(scope constructs.Construct, id string, props *ParleyStackProps) awscdk.Stack {
	var sprops awscdk.StackProps
	var assetsDir string
	if props != nil {
		sprops = props.StackProps
		assetsDir = props.AssetsDir
	}
	stack := awscdk.NewStack(scope, &id, &sprops)

	table := newTable(stack)
	userPool, spaClient := newUserPool(stack)
	cursorSecret := newCursorSecret(stack)
	apiFunction := newAPIFunction(stack, assetsDir, table, cursorSecret)
	stage := newHTTPAPI(stack, apiFunction, userPool, spaClient)

	awscdk.NewCfnOutput(stack, jsii.String("ApiUrl"), &awscdk.CfnOutputProps{Value: stage.Url()})
	awscdk.NewCfnOutput(stack, jsii.String("UserPoolId"), &awscdk.CfnOutputProps{Value: userPool.UserPoolId()})
	awscdk.NewCfnOutput(stack, jsii.String("UserPoolClientId"), &awscdk.CfnOutputProps{Value: spaClient.UserPoolClientId()})
	awscdk.NewCfnOutput(stack, jsii.String("TableName"), &awscdk.CfnOutputProps{Value: table.TableName()})
	awscdk.NewCfnOutput(stack, jsii.String("Region"), &awscdk.CfnOutputProps{Value: stack.Region()})

	return stack
}

// newTable creates the single table from dynamo.Schema, so the keys, TTL and
// indexes the store uses are exactly the ones deployed.
//
// Encryption uses the AWS managed key (aws/dynamodb) rather than a customer
// managed one: AWS rotates it, its use is still logged in CloudTrail, and a
// retained table can never outlive its key (a CMK would need its own
// RETAIN policy and key policy to keep the table readable).
func newTable(scope constructs.Construct) awsdynamodb.Table {
	schema := dynamo.Schema
	table := awsdynamodb.NewTable(scope, jsii.String("Table"), &awsdynamodb.TableProps{
		PartitionKey:        stringAttribute(schema.PartitionKey),
		SortKey:             stringAttribute(schema.SortKey),
		TimeToLiveAttribute: jsii.String(schema.TTLAttribute),
		BillingMode:         awsdynamodb.BillingMode_PAY_PER_REQUEST,
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		DeletionProtection: jsii.Bool(true),
		RemovalPolicy:      awscdk.RemovalPolicy_RETAIN,
		Stream:             awsdynamodb.StreamViewType_NEW_AND_OLD_IMAGES,
		Encryption:         awsdynamodb.TableEncryption_AWS_MANAGED,
	})

	for _, index := range schema.Indexes {
		gsi := &awsdynamodb.GlobalSecondaryIndexProps{
			IndexName:      jsii.String(index.Name),
			PartitionKey:   stringAttribute(index.PartitionKey),
			SortKey:        stringAttribute(index.SortKey),
			ProjectionType: awsdynamodb.ProjectionType_ALL,
		}
		if index.NonKeyAttributes != nil {
			gsi.ProjectionType = awsdynamodb.ProjectionType_INCLUDE
			gsi.NonKeyAttributes = jsii.Strings(index.NonKeyAttributes...)
		}
		table.AddGlobalSecondaryIndex(gsi)
	}
	return table
}

// stringAttribute returns a string key attribute, or nil for an unset
// (empty) name so a schema without a sort key stays valid.
func stringAttribute(name string) *awsdynamodb.Attribute {
	if name == "" {
		return nil
	}
	return &awsdynamodb.Attribute{Name: jsii.String(name), Type: awsdynamodb.AttributeType_STRING}
}

// newUserPool creates the pool agents sign in to and the SPA's app client.
// Users are invited by an admin, never self-registered, and each belongs to
// exactly one workspace for life (custom:workspace_id is immutable).
func newUserPool(scope constructs.Construct) (awscognito.UserPool, awscognito.UserPoolClient) {
	userPool := awscognito.NewUserPool(scope, jsii.String("UserPool"), &awscognito.UserPoolProps{
		SignInAliases:     &awscognito.SignInAliases{Email: jsii.Bool(true)},
		AutoVerify:        &awscognito.AutoVerifiedAttrs{Email: jsii.Bool(true)},
		SelfSignUpEnabled: jsii.Bool(false),
		CustomAttributes: &map[string]awscognito.ICustomAttribute{
			"workspace_id": awscognito.NewStringAttribute(&awscognito.StringAttributeProps{
				Mutable: jsii.Bool(false),
				MinLen:  jsii.Number(1),
				MaxLen:  jsii.Number(64),
			}),
		},
		PasswordPolicy: &awscognito.PasswordPolicy{
			MinLength:            jsii.Number(12),
			RequireLowercase:     jsii.Bool(true),
			RequireUppercase:     jsii.Bool(true),
			RequireDigits:        jsii.Bool(true),
			RequireSymbols:       jsii.Bool(true),
			TempPasswordValidity: awscdk.Duration_Days(jsii.Number(3)),
		},
		AccountRecovery: awscognito.AccountRecovery_EMAIL_ONLY,
		// Losing the pool loses every agent's identity; keep it.
		DeletionProtection: jsii.Bool(true),
		RemovalPolicy:      awscdk.RemovalPolicy_RETAIN,
	})

	for _, group := range []string{"admin", "agent"} {
		userPool.AddGroup(jsii.String(group+"Group"), &awscognito.UserPoolGroupOptions{
			GroupName: jsii.String(group),
		})
	}

	spaClient := userPool.AddClient(jsii.String("SpaClient"), &awscognito.UserPoolClientOptions{
		// A browser cannot keep a secret.
		GenerateSecret: jsii.Bool(false),
		// SRP only; CDK always adds ALLOW_REFRESH_TOKEN_AUTH.
		AuthFlows: &awscognito.AuthFlow{UserSrp: jsii.Bool(true)},
		// No hosted UI, so no OAuth flows or callback URLs to secure.
		DisableOAuth:               jsii.Bool(true),
		PreventUserExistenceErrors: jsii.Bool(true),
		ReadAttributes: awscognito.NewClientAttributes().
			WithStandardAttributes(&awscognito.StandardAttributesMask{
				Email:         jsii.Bool(true),
				EmailVerified: jsii.Bool(true),
				Fullname:      jsii.Bool(true),
			}).
			WithCustomAttributes(jsii.String("workspace_id")),
		// The workspace is set by admins only, never by the user.
		WriteAttributes: awscognito.NewClientAttributes().
			WithStandardAttributes(&awscognito.StandardAttributesMask{
				Email:    jsii.Bool(true),
				Fullname: jsii.Bool(true),
			}),
	})
	return userPool, spaClient
}

// newCursorSecret creates the HMAC key that signs pagination cursors, so
// clients cannot forge a cursor that reads outside their workspace.
func newCursorSecret(scope constructs.Construct) awssecretsmanager.Secret {
	return awssecretsmanager.NewSecret(scope, jsii.String("CursorSecret"), &awssecretsmanager.SecretProps{
		Description: jsii.String("Parley pagination cursor signing key"),
		GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
			PasswordLength:     jsii.Number(64),
			ExcludePunctuation: jsii.Bool(true),
		},
	})
}

// newAPIFunction creates the api Lambda and grants it exactly what it needs.
func newAPIFunction(scope constructs.Construct, assetsDir string, table awsdynamodb.Table, cursorSecret awssecretsmanager.Secret) awslambda.Function {
	logGroup := awslogs.NewLogGroup(scope, jsii.String("ApiFunctionLogs"), &awslogs.LogGroupProps{
		Retention: awslogs.RetentionDays_ONE_MONTH,
	})

	apiFunction := awslambda.NewFunction(scope, jsii.String("ApiFunction"), &awslambda.FunctionProps{
		Runtime:      awslambda.Runtime_PROVIDED_AL2023(),
		Architecture: awslambda.Architecture_ARM_64(),
		Handler:      jsii.String("bootstrap"),
		Code:         awslambda.Code_FromAsset(jsii.String(filepath.Join(assetsDir, "api.zip")), nil),
		MemorySize:   jsii.Number(256),
		Timeout:      awscdk.Duration_Seconds(jsii.Number(10)),
		Tracing:      awslambda.Tracing_ACTIVE,
		LogGroup:     logGroup,
		Environment: &map[string]*string{
			"TABLE_NAME":        table.TableName(),
			"CURSOR_SECRET_ARN": cursorSecret.SecretArn(),
		},
	})

	// Written out instead of GrantReadWriteData, which would also allow Scan.
	apiFunction.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Effect:    awsiam.Effect_ALLOW,
		Actions:   jsii.Strings(tableActions...),
		Resources: jsii.Strings(*table.TableArn(), *table.TableArn()+"/index/*"),
	}))
	cursorSecret.GrantRead(apiFunction, nil)

	return apiFunction
}

// newHTTPAPI puts the api function behind an HTTP API. Everything needs a
// Cognito JWT except the public OpenAPI document.
func newHTTPAPI(stack awscdk.Stack, apiFunction awslambda.Function, userPool awscognito.UserPool, spaClient awscognito.UserPoolClient) awsapigatewayv2.HttpStage {
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

	issuer := fmt.Sprintf("https://cognito-idp.%s.amazonaws.com/%s", *stack.Region(), *userPool.UserPoolId())
	authorizer := awsapigatewayv2authorizers.NewHttpJwtAuthorizer(jsii.String("CognitoAuthorizer"), jsii.String(issuer),
		&awsapigatewayv2authorizers.HttpJwtAuthorizerProps{
			JwtAudience:    jsii.Strings(*spaClient.UserPoolClientId()),
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

	return stage
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
	}
	// json.Marshal sorts map keys, so the template is stable between synths.
	encoded, err := json.Marshal(fields)
	if err != nil {
		panic(err) // a map of strings always encodes
	}
	return awsapigateway.AccessLogFormat_Custom(jsii.String(string(encoded)))
}
