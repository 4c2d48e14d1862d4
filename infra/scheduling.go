package main

import (
	"maps"
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsscheduler"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"

	"github.com/parley-inbox/parley/shared/config"
)

// schedulerService is EventBridge Scheduler's service principal.
const schedulerService = "scheduler.amazonaws.com"

// scheduleActions are what the api and sender functions do to schedules
// (shared/adapter/schedule.EventBridge): one one-time schedule per message.
var scheduleActions = []string{
	"scheduler:CreateSchedule",
	"scheduler:UpdateSchedule",
	"scheduler:DeleteSchedule",
}

// scheduling is what scheduled and deferred sends go through: a schedule
// group of the stack's own, the role Scheduler assumes to invoke the
// sender, and the queue for invocations Scheduler could not hand over.
type scheduling struct {
	stack awscdk.Stack
	group awsscheduler.CfnScheduleGroup
	role  awsiam.Role
	dlq   awssqs.Queue
}

func newScheduling(stack awscdk.Stack) *scheduling {
	group := awsscheduler.NewCfnScheduleGroup(stack, jsii.String("ScheduleGroup"), nil)
	// Named like the L2 ScheduleGroup names itself: stack name and
	// construct path, so stacks in one account and region never share a
	// group (nor each other's schedules).
	group.SetName(awscdk.Names_UniqueResourceName(group, &awscdk.UniqueResourceNameOptions{
		MaxLength: jsii.Number(64),
		Separator: jsii.String("-"),
	}))

	// Only schedules of this account, and of this group, may use the role
	// (confused deputy; Scheduler's aws:SourceArn is the schedule group).
	role := awsiam.NewRole(stack, jsii.String("SchedulerRole"), &awsiam.RoleProps{
		Description: jsii.String("EventBridge Scheduler invokes the Parley sender"),
		AssumedBy: awsiam.NewServicePrincipal(jsii.String(schedulerService), &awsiam.ServicePrincipalOpts{
			Conditions: &map[string]any{
				"StringEquals": map[string]any{
					"aws:SourceAccount": stack.Account(),
					"aws:SourceArn":     group.AttrArn(),
				},
			},
		}),
	})

	dlq := newDeadLetterQueue(stack, "ScheduleDLQ")
	// Scheduler writes dead letters as the execution role. Written out
	// instead of GrantSendMessages, which adds GetQueueAttributes/GetQueueUrl.
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Effect:    awsiam.Effect_ALLOW,
		Actions:   jsii.Strings("sqs:SendMessage"),
		Resources: jsii.Strings(*dlq.QueueArn()),
	}))
	return &scheduling{stack: stack, group: group, role: role, dlq: dlq}
}

// allowInvoke lets Scheduler invoke the sender, and nothing else. A
// separate policy (not inline) because the sender's environment names the
// role: an inline policy naming the sender would be a cycle.
func (s *scheduling) allowInvoke(target awslambda.Function) {
	s.role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Effect:  awsiam.Effect_ALLOW,
		Actions: jsii.Strings("lambda:InvokeFunction"),
		// ":*" covers versions and aliases: inside the sender the target is
		// the ARN it was invoked by, which may be qualified.
		Resources: jsii.Strings(*target.FunctionArn(), *target.FunctionArn()+":*"),
	}))
}

// env is what shared/config reads to build schedule.EventBridge.
func (s *scheduling) env() map[string]*string {
	return map[string]*string{
		config.EnvSchedulerGroup:   s.group.Ref(),
		config.EnvSchedulerRoleARN: s.role.RoleArn(),
		config.EnvScheduleDLQARN:   s.dlq.QueueArn(),
	}
}

// grantManage lets a function create, move and delete schedules in the
// group only, and hand Scheduler the execution role (and no other role,
// to no other service).
func (s *scheduling) grantManage(fn awslambda.Function) {
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Effect:    awsiam.Effect_ALLOW,
		Actions:   jsii.Strings(scheduleActions...),
		Resources: jsii.Strings(*s.schedulesArn()),
	}))
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Effect:    awsiam.Effect_ALLOW,
		Actions:   jsii.Strings("iam:PassRole"),
		Resources: jsii.Strings(*s.role.RoleArn()),
		Conditions: &map[string]any{
			"StringEquals": map[string]any{"iam:PassedToService": schedulerService},
		},
	}))
}

// schedulesArn matches every schedule of the group:
// arn:<partition>:scheduler:<region>:<account>:schedule/<group>/*.
func (s *scheduling) schedulesArn() *string {
	return s.stack.FormatArn(&awscdk.ArnComponents{
		Service:      jsii.String("scheduler"),
		Resource:     jsii.String("schedule"),
		ResourceName: jsii.String(*s.group.Ref() + "/*"),
	})
}

// addToFunction gives a function the scheduling environment and grants.
func (s *scheduling) addToFunction(fn awslambda.Function) {
	env := s.env()
	// Sorted, so the template is stable between synths.
	for _, name := range slices.Sorted(maps.Keys(env)) {
		fn.AddEnvironment(jsii.String(name), env[name], nil)
	}
	s.grantManage(fn)
}
