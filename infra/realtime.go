package main

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2authorizers"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"

	"github.com/parley-inbox/parley/shared/config"
)

// webSocketStageName is the stage clients connect to:
// wss://<api id>.execute-api.<region>.amazonaws.com/live.
const webSocketStageName = "live"

// tokenIdentitySource is where the $connect authorizer finds the caller's
// token (an agent's Cognito ID token or a web chat visitor token): browsers
// cannot set headers on a WebSocket handshake. A connection without it is
// refused with 401 before the authorizer runs.
const tokenIdentitySource = "route.request.querystring.token"

// Fan-out settings of the realtime function's queue.
const (
	// realtimeTimeoutSeconds bounds both a route invocation (API Gateway
	// gives up on a WebSocket integration after 29 s anyway) and a batch
	// of fan-out.
	realtimeTimeoutSeconds = 30
	// fanOutBatchSize events at most reach one invocation, and the sends
	// to one connection are batched into one frame. Ten is the most Lambda
	// takes without a batching window, which would hold every event at
	// low traffic for at least a second (the live inbox's goal is 250 ms);
	// under load the queue still fills batches of ten.
	fanOutBatchSize = 10
	// fanOutMaxReceives is how often a message is tried before it moves to
	// the dead-letter queue.
	fanOutMaxReceives = 5
)

// realtimeDeps is what the real-time channel reads.
type realtimeDeps struct {
	table        awsdynamodb.Table
	cursorSecret awssecretsmanager.Secret
	userPool     awscognito.UserPool
	spaClient    awscognito.UserPoolClient
	bus          awsevents.EventBus
}

// realtime is the live inbox's AWS side (issue 12): a WebSocket API whose
// $connect is authorized by the authorizer function, and the realtime
// function, which serves the API's routes and fans domain events out to
// the connections from a queue the bus fills.
type realtime struct {
	api   awsapigatewayv2.WebSocketApi
	stage awsapigatewayv2.WebSocketStage
	// fn serves $connect, $disconnect and $default, and the queue's batches.
	fn         awslambda.Function
	authorizer awslambda.Function
	// queue holds the domain events to fan out; dlq the ones that kept
	// failing, eventsDLQ the ones EventBridge could not put in the queue.
	queue, dlq, eventsDLQ awssqs.Queue
}

func newRealtime(stack awscdk.Stack, assetsDir string, deps realtimeDeps) *realtime {
	r := &realtime{}
	// Routes are added once the functions exist; the functions' environment
	// needs the stage first.
	r.api = awsapigatewayv2.NewWebSocketApi(stack, jsii.String("WebSocketApi"), &awsapigatewayv2.WebSocketApiProps{
		Description: jsii.String("Parley live inbox: agents' and web chat visitors' connections"),
		// Client frames carry a type (ping, typing); the function tells
		// them apart, so every frame goes to $default.
		RouteSelectionExpression: jsii.String("$request.body.type"),
	})
	r.stage = awsapigatewayv2.NewWebSocketStage(stack, jsii.String("WebSocketStage"), &awsapigatewayv2.WebSocketStageProps{
		WebSocketApi: r.api,
		StageName:    jsii.String(webSocketStageName),
		AutoDeploy:   jsii.Bool(true),
		// Client frames are pings and typing indicators, and each connect
		// runs the authorizer: this caps what a runaway or hostile client
		// can cost, well above what a few hundred agents send.
		Throttle: &awsapigatewayv2.ThrottleSettings{
			RateLimit:  jsii.Number(100),
			BurstLimit: jsii.Number(200),
		},
	})

	r.authorizer = newGoFunction(stack, "AuthorizerFunction", goFunction{
		// GOGC=400: 0.99-1.01x the CPU of GOGC=100 on an agent's $connect
		// (35 µs; it barely allocates), so any setting will do.
		gogc:      "400",
		assetsDir: assetsDir,
		asset:     "authorizer",
		// A cold start fetches the pool's JWKS and the cursor secret.
		timeout: awscdk.Duration_Seconds(jsii.Number(10)),
		env: map[string]*string{
			config.EnvCognitoIssuer:   jsii.String(cognitoIssuer(stack, deps.userPool)),
			config.EnvCognitoClientID: deps.spaClient.UserPoolClientId(),
			config.EnvCursorSecretARN: deps.cursorSecret.SecretArn(),
		},
	})
	// Visitor tokens are signed with the cursor secret; the JWKS is
	// public. Nothing else: the authorizer never touches the table.
	grantSecretValue(r.authorizer, deps.cursorSecret)

	r.fn = newGoFunction(stack, "RealtimeFunction", goFunction{
		// GOGC=400: 0.85x the CPU of GOGC=100 on a batch of 100 events fanned
		// out to 10 agents (800: 0.82x, within the noise; 200: 0.88x).
		gogc:      "400",
		assetsDir: assetsDir,
		asset:     "realtime",
		timeout:   awscdk.Duration_Seconds(jsii.Number(realtimeTimeoutSeconds)),
		env: map[string]*string{
			config.EnvTableName: deps.table.TableName(),
			// The management endpoint PostToConnection and DeleteConnection
			// go to: https://<api id>.execute-api.<region>.<suffix>/live.
			config.EnvWebSocketEndpoint: r.stage.CallbackUrl(),
		},
	})
	// Connections and counts live in the table.
	grantTableData(r.fn, deps.table)
	// execute-api:ManageConnections on this API's live stage only:
	// arn:<partition>:execute-api:<region>:<account>:<api id>/live/*/@connections/*.
	r.stage.GrantManagementApiAccess(r.fn)

	r.addRoutes()
	r.addFanOut(stack, deps.bus)
	return r
}

// addRoutes sends $connect, $disconnect and $default to the realtime
// function as Lambda proxy events. Only $connect is authorized: API
// Gateway allows an authorizer nowhere else, and a connection exists only
// once $connect accepted it. The function answers frames with
// PostToConnection, so no route has a route response.
func (r *realtime) addRoutes() {
	integration := awsapigatewayv2integrations.NewWebSocketLambdaIntegration(jsii.String("RealtimeIntegration"), r.fn, nil)
	authorizer := awsapigatewayv2authorizers.NewWebSocketLambdaAuthorizer(jsii.String("ConnectAuthorizer"), r.authorizer,
		&awsapigatewayv2authorizers.WebSocketLambdaAuthorizerProps{
			IdentitySource: jsii.Strings(tokenIdentitySource),
		})
	r.api.AddRoute(jsii.String("$connect"), &awsapigatewayv2.WebSocketRouteOptions{
		Integration: integration,
		Authorizer:  authorizer,
	})
	for _, key := range []string{"$disconnect", "$default"} {
		r.api.AddRoute(jsii.String(key), &awsapigatewayv2.WebSocketRouteOptions{Integration: integration})
	}
}

// addFanOut feeds the realtime function every Parley event on the bus
// through a queue, rather than as a third reader of the table's stream.
//
// The queue lets Lambda batch (one invocation sends many events to each
// connection) and retry: the handler reports the events it could not fan
// out (ReportBatchItemFailures), those come back after the visibility
// timeout, and after fanOutMaxReceives tries they wait in the DLQ.
func (r *realtime) addFanOut(stack awscdk.Stack, bus awsevents.EventBus) {
	// The DLQ keeps its messages 14 days; SQS counts a message's age from
	// its first enqueue, which is longer than the queue's default 4 days.
	r.dlq = newDeadLetterQueue(stack, "RealtimeDLQ")
	r.queue = awssqs.NewQueue(stack, jsii.String("RealtimeQueue"), &awssqs.QueueProps{
		Encryption: awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL: jsii.Bool(true),
		// AWS's guidance for a Lambda event source: six times the function's
		// timeout, plus the batching window, so that a message Lambda is
		// still retrying through throttles is not handed out again.
		VisibilityTimeout: awscdk.Duration_Seconds(jsii.Number(6 * realtimeTimeoutSeconds)),
		DeadLetterQueue: &awssqs.DeadLetterQueue{
			Queue:           r.dlq,
			MaxReceiveCount: jsii.Number(fanOutMaxReceives),
		},
	})

	r.eventsDLQ = newDeadLetterQueue(stack, "RealtimeEventsDLQ")
	awsevents.NewRule(stack, jsii.String("RealtimeRule"), &awsevents.RuleProps{
		Description: jsii.String("Every Parley event, to fan out to the live inbox's connections"),
		EventBus:    bus,
		EventPattern: &awsevents.EventPattern{
			// eventbus.Source, for domain and external events alike; the
			// function picks the ones clients receive.
			Source: jsii.Strings("parley"),
		},
		// SSE-SQS lets EventBridge send without a key policy; the queue
		// accepts messages from this rule only. EventBridge's maximums
		// before the DLQ: a late event still corrects a live view.
		Targets: &[]awsevents.IRuleTarget{
			awseventstargets.NewSqsQueue(r.queue, &awseventstargets.SqsQueueProps{
				DeadLetterQueue: r.eventsDLQ,
				MaxEventAge:     awscdk.Duration_Hours(jsii.Number(24)),
				RetryAttempts:   jsii.Number(185),
			}),
		},
	})

	// Binding the source grants the function sqs:ReceiveMessage,
	// DeleteMessage, ChangeMessageVisibility, GetQueueAttributes and
	// GetQueueUrl on this queue only.
	r.fn.AddEventSource(awslambdaeventsources.NewSqsEventSource(r.queue, &awslambdaeventsources.SqsEventSourceProps{
		BatchSize:               jsii.Number(fanOutBatchSize),
		ReportBatchItemFailures: jsii.Bool(true),
	}))
}

// cognitoIssuer is the user pool's token issuer, which the HTTP API's JWT
// authorizer and the WebSocket authorizer both check.
func cognitoIssuer(stack awscdk.Stack, userPool awscognito.UserPool) string {
	return fmt.Sprintf("https://cognito-idp.%s.amazonaws.com/%s", *stack.Region(), *userPool.UserPoolId())
}

// grantSecretValue lets a function read a secret's value, and nothing
// else: GrantRead would add secretsmanager:DescribeSecret, which reading
// does not need.
func grantSecretValue(fn awslambda.Function, secret awssecretsmanager.Secret) {
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Effect:    awsiam.Effect_ALLOW,
		Actions:   jsii.Strings("secretsmanager:GetSecretValue"),
		Resources: jsii.Strings(*secret.SecretArn()),
	}))
}
