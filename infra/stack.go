package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/parley-inbox/parley/shared/adapter/dynamo"
	"github.com/parley-inbox/parley/shared/config"
)

// ParleyStackProps configures the Parley backend stack.
type ParleyStackProps struct {
	awscdk.StackProps
	// AssetsDir holds the Lambda deployment zips built by `make build`.
	AssetsDir string
	// StateMachinesDir holds the state machine definitions; empty means
	// ../statemachines.
	StateMachinesDir string
}

// NewParleyStack builds the whole backend. Each concern has its own file:
// this one holds the table, user pool, cursor secret and api function;
// machine.go the machine clients (client credentials); httpapi.go the HTTP API; webhooks.go the public provider and web chat
// endpoints and the inbound email function; email.go inbound mail; publisher.go domain events;
// realtime.go the live inbox's WebSocket API and fan-out; sender.go
// outbound delivery and scheduling.go the schedules it goes through;
// sequences.go drip campaigns and automations on Step Functions;
// alarms.go the alarms and the key of the stack's SNS topics.
func NewParleyStack(scope constructs.Construct, id string, props *ParleyStackProps) awscdk.Stack {
	var sprops awscdk.StackProps
	var assetsDir, stateMachinesDir string
	if props != nil {
		sprops = props.StackProps
		assetsDir = props.AssetsDir
		stateMachinesDir = props.StateMachinesDir
	}
	stack := awscdk.NewStack(scope, &id, &sprops)

	table := newTable(stack)
	userPool, spaClient := newUserPool(stack)
	cursorSecret := newCursorSecret(stack)
	apiFunction := newAPIFunction(stack, assetsDir, table, cursorSecret)
	machines := newMachineAccess(stack, userPool)
	machines.addToAPI(stack, apiFunction)
	httpAPI, stage := newHTTPAPI(stack, apiFunction, userPool, spaClient, machines.clientIDs())
	// The $default stage serves at the API's root, so its endpoint (which,
	// unlike stage.Url(), has no trailing slash) is the public base URL that
	// providers sign.
	publicURL := httpAPI.ApiEndpoint()
	pathToken := webhookPathToken(stack)
	webhookBase := jsii.String(config.WebhookBaseURL(*publicURL, pathToken))

	topicKey := newTopicKey(stack)
	alarms := newAlarms(stack, topicKey)

	// The bus comes before the webhooks function, which posts shop events
	// on it.
	bus, publisherFunction, streamDLQ := newDomainEvents(stack, assetsDir, table)

	// The live inbox comes before the webhooks function too, which hands
	// the WebSocket URL to the chat widget.
	live := newRealtime(stack, assetsDir, realtimeDeps{
		table:        table,
		cursorSecret: cursorSecret,
		userPool:     userPool,
		spaClient:    spaClient,
		bus:          bus,
	})

	mail := newInboundEmail(stack, topicKey, inboundEmailRoutes(stack))
	providerSecrets := newProviderSecrets(stack)
	webhooksFunction := newWebhooksFunction(stack, assetsDir, webhooksDeps{
		table:           table,
		cursorSecret:    cursorSecret,
		providerSecrets: providerSecrets,
		publicURL:       publicURL,
		pathToken:       pathToken,
		bus:             bus,
		emailDomain:     emailDomain(stack),
		webSocketURL:    live.stage.Url(),
	})
	mailFunction := newMailFunction(stack, assetsDir, mailDeps{
		table:           table,
		providerSecrets: providerSecrets,
		mailBucket:      mail.bucket,
		pathToken:       pathToken,
	})
	addPublicRoutes(httpAPI, stage, webhooksFunction, mailFunction, pathToken)
	// Subscribed only once the routes are served: SNS posts the subscription
	// confirmation as soon as the subscription exists.
	mail.subscribeWorkspaces(stack, webhookBase, stage)

	sched := newScheduling(stack)
	outbound := newSender(stack, assetsDir, senderDeps{
		table:           table,
		providerSecrets: providerSecrets,
		publicURL:       publicURL,
		pathToken:       pathToken,
		scheduling:      sched,
		emailDomain:     emailDomain(stack),
	})
	// Web chat visitors get their email verification codes from the
	// webhooks function.
	grantSendEmail(stack, webhooksFunction, outbound.configSet)
	// The api gives messages posted for later a schedule that invokes the
	// sender.
	sched.addToFunction(apiFunction)
	// The api submits WhatsApp templates with each workspace's credentials.
	apiFunction.AddEnvironment(jsii.String(config.EnvProviderSecretsARN), providerSecrets.SecretArn(), nil)
	providerSecrets.GrantRead(apiFunction, nil)
	apiFunction.AddEnvironment(jsii.String(config.EnvSenderFunctionARN), outbound.fn.FunctionArn(), nil)

	seq := newSequences(stack, assetsDir, sequencesDeps{
		table:          table,
		bus:            bus,
		scheduling:     sched,
		sender:         outbound.fn,
		definitionsDir: stateMachinesDir,
	})
	// The api stops enrollments and runs and completes manual actions; the
	// runs it writes are started by the sequences function.
	seq.addToFunction(apiFunction)
	seq.grantTaskResponse(apiFunction)

	// Exports too large to answer directly run in the exporter function.
	exp := newExports(stack, assetsDir, table)
	exp.addToAPI(apiFunction)

	// Attachments: uploads, and inbound files copied in.
	med := newMedia(stack)
	med.addToAPI(apiFunction)
	med.addToSender(outbound.fn)
	med.addCopier(stack, assetsDir, mediaCopyDeps{table: table, bus: bus, providerSecrets: providerSecrets, mailBucket: mail.bucket})
	// Contact imports run in the exporter too, reading uploads.
	exp.addImports(stack, med.bucket, table, apiFunction)

	// Outbound webhooks to integrators.
	hooks := newIntegrations(stack, assetsDir, integrationsDeps{
		table: table, bus: bus, providerSecrets: providerSecrets, configSet: outbound.configSet, emailDomain: emailDomain(stack),
	})
	hooks.addToAPI(apiFunction)

	alarms.onFunctionErrors("ApiFunction", apiFunction)
	alarms.onFunctionErrors("IntegrationsFunction", hooks.fn)
	alarms.onFunctionErrors("ExporterFunction", exp.fn)
	alarms.onFunctionErrors("WebhooksFunction", webhooksFunction)
	alarms.onFunctionErrors("MailFunction", mailFunction)
	alarms.onFunctionErrors("PublisherFunction", publisherFunction)
	alarms.onFunctionErrors("SenderFunction", outbound.fn)
	alarms.onFunctionErrors("SequencesFunction", seq.fn)
	alarms.onFunctionErrors("RealtimeFunction", live.fn)
	alarms.onFunctionErrors("MediaFunction", med.copier)
	alarms.onFunctionErrorsOver("AuthorizerFunction", live.authorizer, maxAuthorizerErrors)
	alarms.onIteratorAge("PublisherFunction", publisherFunction)
	alarms.onIteratorAge("SenderFunction", outbound.fn)
	alarms.onDeadLetters("InboundMailDeliveryDLQ", mail.deliveryDLQ)
	alarms.onDeadLetters("PublisherStreamDLQ", streamDLQ)
	alarms.onDeadLetters("SenderStreamDLQ", outbound.streamDLQ)
	alarms.onDeadLetters("SenderAsyncDLQ", outbound.asyncDLQ)
	alarms.onDeadLetters("ScheduleDLQ", sched.dlq)
	alarms.onDeadLetters("SequencesEventsDLQ", seq.eventsDLQ)
	alarms.onDeadLetters("SequencesAsyncDLQ", seq.asyncDLQ)
	alarms.onDeadLetters("ExporterAsyncDLQ", exp.asyncDLQ)
	alarms.onDeadLetters("RealtimeDLQ", live.dlq)
	alarms.onDeadLetters("RealtimeEventsDLQ", live.eventsDLQ)
	alarms.onQueueAge("RealtimeQueue", live.queue)
	alarms.onDeadLetters("MediaDLQ", med.dlq)
	alarms.onDeadLetters("MediaEventsDLQ", med.eventsDLQ)
	alarms.onQueueAge("MediaQueue", med.queue)
	alarms.onDeadLetters("WebhookDLQ", hooks.dlq)
	alarms.onDeadLetters("WebhookEventsDLQ", hooks.eventsDLQ)
	alarms.onQueueAgeOver("WebhookQueue", hooks.queue, maxWebhookQueueAgeSeconds)

	output(stack, "ApiUrl", stage.Url())
	output(stack, "WebSocketUrl", live.stage.Url())
	output(stack, "UserPoolId", userPool.UserPoolId())
	output(stack, "UserPoolClientId", spaClient.UserPoolClientId())
	output(stack, "TableName", table.TableName())
	output(stack, "Region", stack.Region())
	output(stack, "WebhookBaseUrl", webhookBase)
	output(stack, "ProviderSecretsArn", providerSecrets.SecretArn())
	output(stack, "InboundMailBucket", mail.bucket.BucketName())
	output(stack, "InboundMailTopicArn", mail.topic.TopicArn())
	output(stack, "InboundMailRuleSetName", mail.ruleSet.ReceiptRuleSetName())
	output(stack, "ExportBucketName", exp.bucket.BucketName())
	output(stack, "MediaBucketName", med.bucket.BucketName())
	output(stack, "EventBusName", bus.EventBusName())
	output(stack, "AlarmTopicArn", alarms.topic.TopicArn())
	output(stack, "SenderFunctionName", outbound.fn.FunctionName())
	output(stack, "SchedulerGroupName", sched.group.Ref())
	// Operators put it in the provider secret as sesConfigurationSet.
	output(stack, "SesConfigurationSetName", outbound.configSet.ConfigurationSetName())
	output(stack, "DripStateMachineArn", seq.drip.machine.StateMachineArn())
	output(stack, "AutomationStateMachineArn", seq.automation.machine.StateMachineArn())
	machines.outputs(stack)

	return stack
}

func output(stack awscdk.Stack, id string, value *string) {
	awscdk.NewCfnOutput(stack, jsii.String(id), &awscdk.CfnOutputProps{Value: value})
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
// The webhooks function also signs web chat visitor tokens with it.
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
	apiFunction := newGoFunction(scope, "ApiFunction", goFunction{
		// GOGC=400: 0.94× the CPU of GOGC=100 (posting a message and reading a page).
		gogc:      "400",
		assetsDir: assetsDir,
		asset:     "api",
		timeout:   awscdk.Duration_Seconds(jsii.Number(10)),
		env: map[string]*string{
			config.EnvTableName:       table.TableName(),
			config.EnvCursorSecretARN: cursorSecret.SecretArn(),
		},
	})
	grantTableData(apiFunction, table)
	cursorSecret.GrantRead(apiFunction, nil)
	return apiFunction
}
