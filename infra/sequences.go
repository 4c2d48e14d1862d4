package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdadestinations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/jsii-runtime-go"

	"github.com/parley-inbox/parley/shared/config"

	"github.com/parley-inbox/parley/shared/inbox"
)

// defaultStateMachinesDir holds the Amazon States Language definitions,
// relative to infra/ (where the CDK CLI and `go test` run), like
// defaultAssetsDir.
const defaultStateMachinesDir = "../statemachines"

// sequencesFunctionArnKey is the DefinitionSubstitution the definitions
// name their Lambda tasks' FunctionName with.
const sequencesFunctionArnKey = "SequencesFunctionArn"

// sequenceTriggers are the detail-types the sequences function acts on
// for runs.
func sequenceTriggers() []string {
	out := make([]string, len(inbox.SequenceEvents))
	for i, e := range inbox.SequenceEvents {
		out[i] = string(e)
	}
	return out
}

// sequencesPattern is the rule's "$or": the runs' triggers whole, and of
// the assignment events (inbox.AssignmentEvents) only those the assigner
// acts on, so the many conversation.updated events of replies, reads and
// labels never invoke the function. It mirrors inbox.Assigner.HandleEvent:
// an inbound message on an open, unassigned, unqueued conversation routes
// it, as does the bot handing the contact over; a change of status,
// assignee or archived (or a deletion) may free an agent's slot and drains
// the queue.
func sequencesPattern() []any {
	updated := string(inbox.EventConversationUpdated)
	return []any{
		map[string]any{"detail-type": sequenceTriggers()},
		map[string]any{"detail-type": []string{string(inbox.EventConversationDeleted)}},
		map[string]any{"detail-type": []string{updated}, "detail": map[string]any{"changes": []string{"status", "assignee", "archived"}}},
		map[string]any{"detail-type": []string{updated}, "detail": map[string]any{
			"changes": []string{"lastMessage"},
			"conversation": map[string]any{
				"status": []string{string(inbox.StatusOpen)}, "archived": []any{false}, "lastMessageDirection": []string{string(inbox.DirectionIn)},
				"assigneeId": []any{map[string]any{"exists": false}}, "waitingSince": []any{map[string]any{"exists": false}},
			},
		}},
		// The bot handing a contact over to the team: rules route it.
		map[string]any{"detail-type": []string{updated}, "detail": map[string]any{
			"changes": []string{"bot"}, "conversation": map[string]any{"bot": []any{map[string]any{"exists": false}}},
		}},
	}
}

// sequencesDeps is what the sequences function reads.
type sequencesDeps struct {
	table      awsdynamodb.Table
	bus        awsevents.EventBus
	scheduling *scheduling
	// sender is what automation messages scheduled for later invoke, as
	// for the api.
	sender awslambda.Function
	// definitionsDir holds drip.asl.json and automation.asl.json; empty
	// means defaultStateMachinesDir.
	definitionsDir string
}

// sequences is the Step Functions part of Parley (issue 5): one standard
// state machine for drip campaigns and one for automations, each step run
// by the sequences function, which also starts runs from domain events.
type sequences struct {
	fn               awslambda.Function
	drip, automation *sequenceMachine
	// eventsDLQ keeps events EventBridge could not hand to the function;
	// asyncDLQ keeps invocations the function accepted but kept failing.
	eventsDLQ, asyncDLQ awssqs.Queue
}

// sequenceMachine is a state machine and the ARNs built from its name.
// The name is fixed at synth time so the functions' environment and
// policies never reference the machine, which references the sequences
// function: referencing it back would be a circular dependency.
type sequenceMachine struct {
	machine awsstepfunctions.StateMachine
	name    string
	// arn is the machine's; executionsArn matches all its executions.
	arn, executionsArn *string
}

func newSequences(stack awscdk.Stack, assetsDir string, deps sequencesDeps) *sequences {
	fn := newGoFunction(stack, "SequencesFunction", goFunction{
		// GOGC=200: 0.92× the CPU of GOGC=100 on a domain event applied to runs.
		gogc:      "200",
		assetsDir: assetsDir,
		asset:     "sequences",
		// One step: a few table operations and at most one schedule.
		timeout: awscdk.Duration_Seconds(jsii.Number(30)),
		env: map[string]*string{
			config.EnvTableName:    deps.table.TableName(),
			config.EnvEventBusName: deps.bus.EventBusName(),
		},
	})
	grantTableData(fn, deps.table)
	// Automation messages for later are scheduled like the api's.
	deps.scheduling.addToFunction(fn)
	fn.AddEnvironment(jsii.String(config.EnvSenderFunctionARN), deps.sender.FunctionArn(), nil)

	dir := deps.definitionsDir
	if dir == "" {
		dir = defaultStateMachinesDir
	}
	s := &sequences{
		fn:         fn,
		drip:       newSequenceMachine(stack, "DripStateMachine", filepath.Join(dir, "drip.asl.json"), fn),
		automation: newSequenceMachine(stack, "AutomationStateMachine", filepath.Join(dir, "automation.asl.json"), fn),
	}
	s.addToFunction(fn)
	s.grantStart(fn)

	s.eventsDLQ = newDeadLetterQueue(stack, "SequencesEventsDLQ")
	rule := awsevents.NewRule(stack, jsii.String("SequencesRule"), &awsevents.RuleProps{
		Description: jsii.String("Parley domain events that start or end drip enrollments and automation runs, new runs to start, and conversation changes assignment rules act on"),
		EventBus:    deps.bus,
		EventPattern: &awsevents.EventPattern{
			// eventbus.Source, for domain and external events alike.
			Source:     jsii.Strings("parley"),
			DetailType: jsii.Strings(sequenceTriggers()...),
		},
		// EventBridge's own maximums: retry for a day before the DLQ.
		Targets: &[]awsevents.IRuleTarget{
			awseventstargets.NewLambdaFunction(fn, &awseventstargets.LambdaFunctionProps{
				DeadLetterQueue: s.eventsDLQ,
				MaxEventAge:     awscdk.Duration_Hours(jsii.Number(24)),
				RetryAttempts:   jsii.Number(185),
			}),
		},
	})
	// CDK's EventPattern has no "$or": the detail-types move into it.
	cfnRule := rule.Node().DefaultChild().(awsevents.CfnRule)
	cfnRule.AddPropertyDeletionOverride(jsii.String("EventPattern.detail-type"))
	cfnRule.AddPropertyOverride(jsii.String("EventPattern.$or"), sequencesPattern())

	// EventBridge invokes asynchronously: once Lambda accepts the event,
	// the rule's retries and DLQ no longer apply (as for the sender's
	// schedules), so failed invocations keep their payload here.
	s.asyncDLQ = newDeadLetterQueue(stack, "SequencesAsyncDLQ")
	fn.ConfigureAsyncInvoke(&awslambda.EventInvokeConfigOptions{
		RetryAttempts: jsii.Number(2),
		MaxEventAge:   awscdk.Duration_Hours(jsii.Number(6)),
		OnFailure:     awslambdadestinations.NewSqsDestination(s.asyncDLQ),
	})
	return s
}

// newSequenceMachine creates a standard state machine from a definition
// file whose Lambda tasks invoke fn.
func newSequenceMachine(stack awscdk.Stack, id, definitionFile string, fn awslambda.Function) *sequenceMachine {
	// Executions carry contact ids, so errors only and no execution data.
	// Named below with the /aws/vendedlogs/ prefix, which keeps the log
	// group out of the account's size-limited CloudWatch Logs resource
	// policy. A named group that outlived its stack would block
	// recreating the stack, so it goes with the stack.
	logGroup := awslogs.NewLogGroup(stack, jsii.String(id+"Logs"), &awslogs.LogGroupProps{
		Retention:     awslogs.RetentionDays_ONE_MONTH,
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	machine := awsstepfunctions.NewStateMachine(stack, jsii.String(id), &awsstepfunctions.StateMachineProps{
		StateMachineType: awsstepfunctions.StateMachineType_STANDARD,
		DefinitionBody:   awsstepfunctions.DefinitionBody_FromString(jsii.String(readDefinition(stack, definitionFile))),
		DefinitionSubstitutions: &map[string]*string{
			sequencesFunctionArnKey: fn.FunctionArn(),
		},
		Logs: &awsstepfunctions.LogOptions{
			Destination:          logGroup,
			Level:                awsstepfunctions.LogLevel_ERROR,
			IncludeExecutionData: jsii.Bool(false),
		},
		TracingEnabled: jsii.Bool(true),
	})
	// The function and its versions and aliases (lambda:InvokeFunction on
	// its ARN and ARN:*), and nothing else.
	fn.GrantInvoke(machine)

	// Named like the schedule group: stack name and construct path, at
	// most 80 characters, so stacks never share a machine.
	name := *awscdk.Names_UniqueResourceName(machine, &awscdk.UniqueResourceNameOptions{
		MaxLength: jsii.Number(80),
		Separator: jsii.String("-"),
	})
	machine.Node().DefaultChild().(awsstepfunctions.CfnStateMachine).SetStateMachineName(jsii.String(name))
	logGroup.Node().DefaultChild().(awslogs.CfnLogGroup).SetLogGroupName(jsii.String("/aws/vendedlogs/states/" + name))

	return &sequenceMachine{
		machine: machine,
		name:    name,
		arn: stack.FormatArn(&awscdk.ArnComponents{
			Service:      jsii.String("states"),
			Resource:     jsii.String("stateMachine"),
			ResourceName: jsii.String(name),
			ArnFormat:    awscdk.ArnFormat_COLON_RESOURCE_NAME,
		}),
		executionsArn: stack.FormatArn(&awscdk.ArnComponents{
			Service:      jsii.String("states"),
			Resource:     jsii.String("execution"),
			ResourceName: jsii.String(name + ":*"),
			ArnFormat:    awscdk.ArnFormat_COLON_RESOURCE_NAME,
		}),
	}
}

// readDefinition reads a state machine definition at synth time; a missing
// file fails the synth.
func readDefinition(stack awscdk.Stack, file string) string {
	raw, err := os.ReadFile(file)
	if err != nil {
		abs, _ := filepath.Abs(file)
		awscdk.Annotations_Of(stack).AddError(jsii.String(fmt.Sprintf("state machine definition %s: %v", abs, err)))
		return "{}"
	}
	return string(raw)
}

func (s *sequences) machines() []*sequenceMachine {
	return []*sequenceMachine{s.drip, s.automation}
}

// addToFunction tells a function the machines' ARNs and lets it stop and
// describe their executions (cancelling runs).
func (s *sequences) addToFunction(fn awslambda.Function) {
	fn.AddEnvironment(jsii.String(config.EnvDripStateMachineARN), s.drip.arn, nil)
	fn.AddEnvironment(jsii.String(config.EnvAutomationStateMachineARN), s.automation.arn, nil)
	var executions []*string
	for _, m := range s.machines() {
		executions = append(executions, m.executionsArn)
	}
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Effect:    awsiam.Effect_ALLOW,
		Actions:   jsii.Strings("states:StopExecution", "states:DescribeExecution"),
		Resources: &executions,
	}))
}

// grantStart lets a function start executions of both machines: only the
// sequences function does, from each run's run.started event.
func (s *sequences) grantStart(fn awslambda.Function) {
	var machines []*string
	for _, m := range s.machines() {
		machines = append(machines, m.arn)
	}
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Effect:    awsiam.Effect_ALLOW,
		Actions:   jsii.Strings("states:StartExecution"),
		Resources: &machines,
	}))
}

// grantTaskResponse lets a function resume automation runs parked on a
// manual action's task token. The Service Authorization Reference lists
// no resource type for SendTaskSuccess and SendTaskFailure, so IAM only
// honours "*" for them; the unguessable token is what scopes the call.
func (s *sequences) grantTaskResponse(fn awslambda.Function) {
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Effect:    awsiam.Effect_ALLOW,
		Actions:   jsii.Strings("states:SendTaskSuccess", "states:SendTaskFailure"),
		Resources: jsii.Strings("*"),
	}))
}
