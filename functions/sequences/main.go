// Command sequences runs drip and automation steps for the Step Functions
// state machines, and applies domain events from EventBridge to runs.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/parley-inbox/parley/shared/adapter/dynamo"
	"github.com/parley-inbox/parley/shared/adapter/schedule"
	"github.com/parley-inbox/parley/shared/adapter/stepfunctions"
	"github.com/parley-inbox/parley/shared/config"
	"github.com/parley-inbox/parley/shared/handler/sequences"
	"github.com/parley-inbox/parley/shared/inbox"
)

func main() {
	ctx := context.Background()
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	cfg, err := config.FromEnv("TABLE_NAME", "DRIP_STATE_MACHINE_ARN", "AUTOMATION_STATE_MACHINE_ARN",
		"SCHEDULER_GROUP", "SCHEDULER_ROLE_ARN", "SENDER_FUNCTION_ARN")
	config.Must(log, "config", err)
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	config.Must(log, "aws config", err)

	// Sequences page no lists for clients, so cursors need no secret.
	svc := inbox.NewService(dynamo.New(dynamodb.NewFromConfig(awsCfg), cfg.TableName, nil))
	svc.Scheduler = &schedule.EventBridge{Client: scheduler.NewFromConfig(awsCfg), Group: cfg.SchedulerGroup,
		RoleARN: cfg.SchedulerRoleARN, DeadLetterARN: cfg.ScheduleDLQARN, TargetARN: cfg.SenderFunctionARN}
	svc.Sequencer = stepfunctions.New(sfn.NewFromConfig(awsCfg), cfg.DripStateMachineARN, cfg.AutomationStateMachineARN)
	lambda.Start((&sequences.Handler{Service: svc}).Handle)
}
