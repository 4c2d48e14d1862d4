package main

import (
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// goFunction describes one of the Go Lambdas that `make build` zips.
type goFunction struct {
	assetsDir string
	// asset names the zip: <assetsDir>/<asset>.zip, built from functions/<asset>.
	asset   string
	timeout awscdk.Duration
	env     map[string]*string
	// gogc is the garbage collector's target (GOGC), measured per function
	// with `go run ./test/bench -gc`: process CPU per invocation against
	// GOGC=100, median of 5 interleaved rounds.
	gogc string
}

// memoryLimit is GOMEMLIMIT for a 256 MB function: a high GOGC saves CPU
// while the heap is small, and the soft limit makes the collector work
// harder before the function runs out of memory.
const memoryLimit = "200MiB"

// newGoFunction creates a Lambda from a `make build` zip. Every function is
// shaped the same way: a static bootstrap for provided.al2023 on arm64
// (cheaper per GB-second than x86), active tracing, and its own log group
// so that logs expire instead of piling up forever.
func newGoFunction(scope constructs.Construct, id string, fn goFunction) awslambda.Function {
	fn.env["GOGC"] = jsii.String(fn.gogc)
	fn.env["GOMEMLIMIT"] = jsii.String(memoryLimit)
	logGroup := awslogs.NewLogGroup(scope, jsii.String(id+"Logs"), &awslogs.LogGroupProps{
		Retention: awslogs.RetentionDays_ONE_MONTH,
	})
	return awslambda.NewFunction(scope, jsii.String(id), &awslambda.FunctionProps{
		Runtime:      awslambda.Runtime_PROVIDED_AL2023(),
		Architecture: awslambda.Architecture_ARM_64(),
		Handler:      jsii.String("bootstrap"),
		Code:         awslambda.Code_FromAsset(jsii.String(filepath.Join(fn.assetsDir, fn.asset+".zip")), nil),
		MemorySize:   jsii.Number(256),
		Timeout:      fn.timeout,
		Tracing:      awslambda.Tracing_ACTIVE,
		LogGroup:     logGroup,
		Environment:  &fn.env,
	})
}

// tableActions is everything the api and webhooks functions may do to the
// table. Scan is deliberately absent: every access path goes through a key
// or an index. TransactWriteItems needs no action of its own; it is
// authorised by the per-item actions it contains.
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

// grantTableData lets a function use the table and its indexes. It is
// written out instead of GrantReadWriteData, which would also allow Scan.
func grantTableData(fn awslambda.Function, table awsdynamodb.Table) {
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Effect:    awsiam.Effect_ALLOW,
		Actions:   jsii.Strings(tableActions...),
		Resources: jsii.Strings(*table.TableArn(), *table.TableArn()+"/index/*"),
	}))
}
