package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

type stateMachineProperties struct {
	StateMachineName        string
	StateMachineType        string
	DefinitionString        any
	DefinitionSubstitutions map[string]any
	RoleArn                 any
	LoggingConfiguration    struct {
		Level                string
		IncludeExecutionData bool
		Destinations         []struct {
			CloudWatchLogsLogGroup struct{ LogGroupArn any }
		}
	}
	TracingConfiguration struct{ Enabled bool }
}

// stateMachineNamePattern is Step Functions' rule for state machine names.
var stateMachineNamePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)

// stateMachine returns a state machine's logical ID and properties.
func (tpl cfnTemplate) stateMachine(t *testing.T, prefix string) (string, stateMachineProperties) {
	t.Helper()
	id, resource := tpl.resourceWithPrefix(t, "AWS::StepFunctions::StateMachine", prefix)
	var machine stateMachineProperties
	decodeProperties(t, resource, &machine)
	return id, machine
}

// definitionText returns a DefinitionString, which CDK may split into an
// Fn::Join of literal parts; no part may be anything but a string.
func definitionText(t *testing.T, definition any) string {
	t.Helper()
	switch d := definition.(type) {
	case string:
		return d
	case map[string]any:
		join, ok := d["Fn::Join"].([]any)
		if !ok || len(join) != 2 {
			break
		}
		parts, _ := join[1].([]any)
		var text strings.Builder
		for _, part := range parts {
			s, ok := part.(string)
			if !ok {
				t.Fatalf("definition part %v is not a literal", part)
			}
			text.WriteString(s)
		}
		return text.String()
	}
	t.Fatalf("DefinitionString %v: want a string", definition)
	return ""
}

func TestStateMachinesRunTheSequencesFunction(t *testing.T) {
	template := synthTemplate(t, nil)
	functionID, _ := template.resourceWithPrefix(t, "AWS::Lambda::Function", "SequencesFunction")
	if got := len(template.resourcesOfType("AWS::StepFunctions::StateMachine")); got != 2 {
		t.Errorf("got %d state machines, want 2", got)
	}

	for _, tt := range []struct {
		prefix, file string
		tasks        []string
	}{
		{prefix: "DripStateMachine", file: "drip.asl.json", tasks: []string{"arn:aws:states:::lambda:invoke"}},
		{prefix: "AutomationStateMachine", file: "automation.asl.json", tasks: []string{
			"arn:aws:states:::lambda:invoke", "arn:aws:states:::lambda:invoke.waitForTaskToken",
		}},
	} {
		t.Run(tt.prefix, func(t *testing.T) {
			_, machine := template.stateMachine(t, tt.prefix)
			assertEqual(t, "StateMachineType", machine.StateMachineType, "STANDARD")
			if !stateMachineNamePattern.MatchString(machine.StateMachineName) || !strings.HasPrefix(machine.StateMachineName, "Parley-") {
				t.Errorf("StateMachineName %q: want up to 80 of [A-Za-z0-9_-], starting with the stack name", machine.StateMachineName)
			}

			// The definition is the repository's file, unchanged: the
			// placeholder is left for CloudFormation to substitute.
			want, err := os.ReadFile(filepath.Join(defaultStateMachinesDir, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			definition := definitionText(t, machine.DefinitionString)
			assertEqual(t, "definition", definition, string(want))
			for _, task := range tt.tasks {
				if !strings.Contains(definition, `"Resource": "`+task+`"`) {
					t.Errorf("definition: got no %s task", task)
				}
			}
			if !strings.Contains(definition, `"FunctionName": "${SequencesFunctionArn}"`) {
				t.Errorf("definition: got no FunctionName ${SequencesFunctionArn}")
			}
			assertEqual(t, "DefinitionSubstitutions", machine.DefinitionSubstitutions,
				map[string]any{"SequencesFunctionArn": getAttOf(functionID, "Arn")})

			// Errors only, without execution data (contact ids), to the
			// machine's own log group; traced.
			assertEqual(t, "logging Level", machine.LoggingConfiguration.Level, "ERROR")
			assertEqual(t, "IncludeExecutionData", machine.LoggingConfiguration.IncludeExecutionData, false)
			logGroupID, logGroupResource := template.resourceWithPrefix(t, "AWS::Logs::LogGroup", tt.prefix+"Logs")
			if len(machine.LoggingConfiguration.Destinations) != 1 {
				t.Fatalf("got %d log destinations, want 1", len(machine.LoggingConfiguration.Destinations))
			}
			assertEqual(t, "log group", machine.LoggingConfiguration.Destinations[0].CloudWatchLogsLogGroup.LogGroupArn,
				getAttOf(logGroupID, "Arn"))
			var logGroup struct {
				LogGroupName    string
				RetentionInDays int
			}
			decodeProperties(t, logGroupResource, &logGroup)
			assertEqual(t, "LogGroupName", logGroup.LogGroupName, "/aws/vendedlogs/states/"+machine.StateMachineName)
			assertEqual(t, "RetentionInDays", logGroup.RetentionInDays, 30)
			assertEqual(t, "TracingConfiguration", machine.TracingConfiguration.Enabled, true)
		})
	}
}

func TestStateMachineRolesOnlyInvokeTheSequencesFunction(t *testing.T) {
	template := synthTemplate(t, nil)
	functionID, _ := template.resourceWithPrefix(t, "AWS::Lambda::Function", "SequencesFunction")
	wantInvoke := map[string]any{
		"Action": "lambda:InvokeFunction",
		"Effect": "Allow",
		"Resource": []any{
			getAttOf(functionID, "Arn"),
			map[string]any{"Fn::Join": []any{"", []any{getAttOf(functionID, "Arn"), ":*"}}},
		},
	}

	for _, prefix := range []string{"DripStateMachine", "AutomationStateMachine"} {
		t.Run(prefix, func(t *testing.T) {
			_, machine := template.stateMachine(t, prefix)
			roleID, _ := template.resourceWithPrefix(t, "AWS::IAM::Role", prefix+"Role")
			assertEqual(t, "RoleArn", machine.RoleArn, getAttOf(roleID, "Arn"))

			var invokes []map[string]any
			for _, g := range template.roleStatements(t) {
				if g.role != roleID {
					continue
				}
				for _, action := range statementActions(g.stmt) {
					service, _, _ := strings.Cut(action, ":")
					switch service {
					case "lambda":
						invokes = append(invokes, g.stmt)
					case "logs", "xray":
						// Log delivery and tracing; neither has resources
						// of its own.
					default:
						t.Errorf("role statement %v: got action %s, want only lambda, logs and xray", g.stmt, action)
					}
				}
			}
			if len(invokes) != 1 || !jsonEqual(invokes[0], wantInvoke) {
				t.Errorf("lambda statements:\n got  %v\n want [%v]", invokes, wantInvoke)
			}
		})
	}
}

// statesStatements returns a role's statements with states: actions, by
// action.
func statesStatements(t *testing.T, template cfnTemplate, roleID string) map[string][]any {
	t.Helper()
	byAction := map[string][]any{}
	for _, g := range template.roleStatements(t) {
		if g.role != roleID {
			continue
		}
		for _, action := range statementActions(g.stmt) {
			if strings.HasPrefix(action, "states:") {
				byAction[action] = append(byAction[action], g.stmt["Resource"])
			}
		}
	}
	return byAction
}

// machineArns returns what the functions are given for a state machine:
// its ARN and its executions' ARN, built from its name (no reference to it).
func machineArns(t *testing.T, template cfnTemplate, prefix string) (machine, executions any) {
	t.Helper()
	_, props := template.stateMachine(t, prefix)
	return accountArn("states", "stateMachine:"+props.StateMachineName),
		accountArn("states", "execution:"+props.StateMachineName+":*")
}

func TestFunctionsStartAndStopOnlyTheSequenceMachines(t *testing.T) {
	template := synthTemplate(t, nil)
	drip, dripExecutions := machineArns(t, template, "DripStateMachine")
	automation, automationExecutions := machineArns(t, template, "AutomationStateMachine")
	machines := []any{drip, automation}
	executions := []any{dripExecutions, automationExecutions}

	byRole := statementsWithAction(template.roleStatements(t), "states:")
	assertEqual(t, "roles with states: actions", sortedKeys(byRole), template.functionRoles(t, "ApiFunction", "SequencesFunction"))

	want := map[string]map[string][]any{
		"SequencesFunction": {
			"states:StartExecution":    {machines},
			"states:StopExecution":     {executions},
			"states:DescribeExecution": {executions},
		},
		"ApiFunction": {
			"states:StopExecution":     {executions},
			"states:DescribeExecution": {executions},
			// No resource types for these in IAM: the task token scopes them.
			"states:SendTaskSuccess": {"*"},
			"states:SendTaskFailure": {"*"},
		},
	}
	for function, wantActions := range want {
		roleID := template.functionRoles(t, function)[0]
		got := statesStatements(t, template, roleID)
		if !jsonEqual(got, wantActions) {
			t.Errorf("%s states: statements:\n got  %v\n want %v", function, got, wantActions)
		}
		for action := range got {
			if strings.Contains(action, "*") {
				t.Errorf("%s: got wildcard action %s", function, action)
			}
		}
	}

	// Both functions are told the ARNs the policies name.
	for _, prefix := range []string{"ApiFunction", "SequencesFunction"} {
		_, resource := template.resourceWithPrefix(t, "AWS::Lambda::Function", prefix)
		var function functionProperties
		decodeProperties(t, resource, &function)
		if !jsonEqual(function.Environment.Variables["DRIP_STATE_MACHINE_ARN"], drip) {
			t.Errorf("%s DRIP_STATE_MACHINE_ARN: got %v, want %v", prefix, function.Environment.Variables["DRIP_STATE_MACHINE_ARN"], drip)
		}
		if !jsonEqual(function.Environment.Variables["AUTOMATION_STATE_MACHINE_ARN"], automation) {
			t.Errorf("%s AUTOMATION_STATE_MACHINE_ARN: got %v, want %v", prefix, function.Environment.Variables["AUTOMATION_STATE_MACHINE_ARN"], automation)
		}
	}
}

func TestSequencesRuleDeliversTriggersToTheFunction(t *testing.T) {
	template := synthTemplate(t, nil)
	functionID, _ := template.resourceWithPrefix(t, "AWS::Lambda::Function", "SequencesFunction")
	busID, _ := template.onlyResourceOfType(t, "AWS::Events::EventBus")
	dlqID, _ := template.resourceWithPrefix(t, "AWS::SQS::Queue", "SequencesEventsDLQ")
	ruleID, ruleResource := template.resourceWithPrefix(t, "AWS::Events::Rule", "SequencesRule")

	var rule struct {
		EventBusName any
		EventPattern struct {
			Source     []string         `json:"source"`
			DetailType []string         `json:"detail-type"`
			Or         []map[string]any `json:"$or"`
		}
		State   string
		Targets []struct {
			Arn         any
			RetryPolicy struct {
				MaximumEventAgeInSeconds int
				MaximumRetryAttempts     int
			}
			DeadLetterConfig struct{ Arn any }
		}
	}
	decodeProperties(t, ruleResource, &rule)
	assertEqual(t, "EventBusName", rule.EventBusName, refTo(busID))
	// What shared/adapter/eventbus publishes: source parley, detail-type the event
	// type. Written out, not taken from inbox.SequenceEvents.
	assertEqual(t, "source", rule.EventPattern.Source, []string{"parley"})
	wantTypes := []string{
		"cart.abandoned", "contact.added_to_list", "contact.opted_in", "contact.opted_out",
		"contact.tagged", "conversation.created", "message.received", "order.placed", "run.started",
	}
	// The detail-types sit in "$or": the runs' triggers whole, and only the
	// conversation changes assignment acts on.
	assertEqual(t, "top-level detail-type", rule.EventPattern.DetailType, nil)
	if len(rule.EventPattern.Or) != 5 {
		t.Fatalf("$or has %d branches, want 5: %v", len(rule.EventPattern.Or), rule.EventPattern.Or)
	}
	var triggers []string
	for _, v := range rule.EventPattern.Or[0]["detail-type"].([]any) {
		triggers = append(triggers, v.(string))
	}
	assertEqual(t, "detail-type", slices.Sorted(slices.Values(triggers)), wantTypes)
	assertEqual(t, "deleted branch", jsonEqual(rule.EventPattern.Or[1], map[string]any{"detail-type": []any{"conversation.deleted"}}), true)
	assertEqual(t, "drain branch", jsonEqual(rule.EventPattern.Or[2], map[string]any{"detail-type": []any{"conversation.updated"},
		"detail": map[string]any{"changes": []any{"status", "assignee", "archived"}}}), true)
	assertEqual(t, "route branch", jsonEqual(rule.EventPattern.Or[3], map[string]any{"detail-type": []any{"conversation.updated"},
		"detail": map[string]any{"changes": []any{"lastMessage"}, "conversation": map[string]any{
			"status": []any{"open"}, "archived": []any{false}, "lastMessageDirection": []any{"in"},
			"assigneeId": []any{map[string]any{"exists": false}}, "waitingSince": []any{map[string]any{"exists": false}}}}}), true)
	assertEqual(t, "bot handoff branch", jsonEqual(rule.EventPattern.Or[4], map[string]any{"detail-type": []any{"conversation.updated"},
		"detail": map[string]any{"changes": []any{"bot"}, "conversation": map[string]any{"bot": []any{map[string]any{"exists": false}}}}}), true)
	assertEqual(t, "State", rule.State, "ENABLED")

	if len(rule.Targets) != 1 {
		t.Fatalf("got %d targets, want 1", len(rule.Targets))
	}
	target := rule.Targets[0]
	assertEqual(t, "target", target.Arn, getAttOf(functionID, "Arn"))
	assertEqual(t, "MaximumEventAgeInSeconds", target.RetryPolicy.MaximumEventAgeInSeconds, 86400)
	assertEqual(t, "MaximumRetryAttempts", target.RetryPolicy.MaximumRetryAttempts, 185)
	assertEqual(t, "DeadLetterConfig", target.DeadLetterConfig.Arn, getAttOf(dlqID, "Arn"))

	// Only this rule may invoke the function.
	var sources []any
	for _, resource := range template.resourcesOfType("AWS::Lambda::Permission") {
		var permission struct {
			FunctionName any
			Principal    string
			SourceArn    any
		}
		decodeProperties(t, resource, &permission)
		if jsonEqual(permission.FunctionName, getAttOf(functionID, "Arn")) || jsonEqual(permission.FunctionName, refTo(functionID)) {
			assertEqual(t, "permission principal", permission.Principal, "events.amazonaws.com")
			sources = append(sources, permission.SourceArn)
		}
	}
	assertEqual(t, "permission source", sources, []any{getAttOf(ruleID, "Arn")})

	// The rule's DLQ accepts events from this rule only.
	var queuePolicies []map[string]any
	for _, resource := range template.resourcesOfType("AWS::SQS::QueuePolicy") {
		var policy struct {
			Queues         []any
			PolicyDocument map[string]any
		}
		decodeProperties(t, resource, &policy)
		if !jsonEqual(policy.Queues, []any{refTo(dlqID)}) {
			continue
		}
		for _, statement := range policyStatements(policy.PolicyDocument) {
			if statement["Effect"] == "Allow" {
				queuePolicies = append(queuePolicies, statement)
			}
		}
	}
	if len(queuePolicies) != 1 {
		t.Fatalf("got %d Allow statements on the DLQ, want 1", len(queuePolicies))
	}
	assertEqual(t, "DLQ principal", queuePolicies[0]["Principal"], any(map[string]any{"Service": "events.amazonaws.com"}))
	assertEqual(t, "DLQ condition", queuePolicies[0]["Condition"],
		any(map[string]any{"ArnEquals": map[string]any{"aws:SourceArn": getAttOf(ruleID, "Arn")}}))
}

func TestMissingDefinitionFailsTheSynth(t *testing.T) {
	assetsDir := t.TempDir()
	for _, asset := range lambdaAssets {
		writeDummyLambdaZip(t, filepath.Join(assetsDir, asset+".zip"))
	}
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir())})
	stack := NewParleyStack(app, "Parley", &ParleyStackProps{AssetsDir: assetsDir, StateMachinesDir: t.TempDir()})

	errors := assertions.Annotations_FromStack(stack).FindError(jsii.String("*"),
		assertions.Match_StringLikeRegexp(jsii.String(`state machine definition .*\.asl\.json`)))
	if len(*errors) != 2 {
		t.Errorf("got %d matching errors, want 2 (one per definition)", len(*errors))
	}
}

// TestNoStateMachineReferencesReachTheFunctions guards the dependency
// order: the machines reference the sequences function, so no function may
// reference a machine (CloudFormation would refuse the cycle).
func TestNoStateMachineReferencesReachTheFunctions(t *testing.T) {
	template := synthTemplate(t, nil)
	machineIDs := sortedKeys(template.resourcesOfType("AWS::StepFunctions::StateMachine"))
	for id, resource := range template.Resources {
		if resource.Type != "AWS::Lambda::Function" && resource.Type != "AWS::IAM::Policy" {
			continue
		}
		raw, _ := json.Marshal(resource)
		for _, machineID := range machineIDs {
			if strings.Contains(string(raw), `"`+machineID+`"`) {
				t.Errorf("%s (%s) references state machine %s", id, resource.Type, machineID)
			}
		}
	}
}
