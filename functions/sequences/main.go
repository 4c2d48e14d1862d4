// Command sequences runs drip and automation steps for the Step Functions
// state machines, and applies domain events from EventBridge to runs.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/parley-inbox/parley/shared/adapter/awsenv"
	"github.com/parley-inbox/parley/shared/adapter/dynamo"
	"github.com/parley-inbox/parley/shared/adapter/schedule"
	"github.com/parley-inbox/parley/shared/adapter/stepfunctions"
	"github.com/parley-inbox/parley/shared/config"
	"github.com/parley-inbox/parley/shared/handler/sequences"
)

func main() {
	cfg, awsCfg, _ := awsenv.Boot(config.SequencesFromEnv)

	// Sequences page no lists for clients, so cursors need no secret.
	store := dynamo.New(dynamodb.NewFromConfig(awsCfg), cfg.TableName, nil)
	sched := &schedule.EventBridge{Client: scheduler.NewFromConfig(awsCfg), Group: cfg.Scheduling.Group,
		RoleARN: cfg.Scheduling.RoleARN, DeadLetterARN: cfg.Scheduling.DeadLetterARN, TargetARN: cfg.Scheduling.SenderFunctionARN}
	sequencer := stepfunctions.New(sfn.NewFromConfig(awsCfg), cfg.StateMachines.DripARN, cfg.StateMachines.AutomationARN)
	lambda.Start(sequences.New(store, sched, sequencer).Handle)
}
