package main

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

// Helpers building the template's intrinsic functions.
func refTo(id string) any { return map[string]any{"Ref": id} }

func getAttOf(id, attribute string) any { return map[string]any{"Fn::GetAtt": []any{id, attribute}} }

// accountArn is what stack.FormatArn gives for a resource of this account
// and region: arn:<partition>:<service>:<region>:<account>:<resource><rest...>.
func accountArn(service, resource string, rest ...any) any {
	parts := []any{"arn:", refTo("AWS::Partition"), ":" + service + ":", refTo("AWS::Region"), ":", refTo("AWS::AccountId"), ":" + resource}
	return map[string]any{"Fn::Join": []any{"", append(parts, rest...)}}
}

// jsonEqual compares template values by their JSON encoding.
func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// grantedStatement is an Allow statement of a role's identity policy.
type grantedStatement struct {
	policyID string
	role     string
	stmt     map[string]any
}

// roleStatements returns every statement of every AWS::IAM::Policy, with
// the role it is attached to.
func (tpl cfnTemplate) roleStatements(t *testing.T) []grantedStatement {
	t.Helper()
	var found []grantedStatement
	for id, resource := range tpl.resourcesOfType("AWS::IAM::Policy") {
		var policy struct {
			PolicyDocument map[string]any
			Roles          []map[string]string
		}
		decodeProperties(t, resource, &policy)
		for _, role := range policy.Roles {
			for _, statement := range policyStatements(policy.PolicyDocument) {
				found = append(found, grantedStatement{policyID: id, role: role["Ref"], stmt: statement})
			}
		}
	}
	return found
}

// statementsWithAction returns, by role, the statements granting an action
// with the prefix (e.g. "scheduler:").
func statementsWithAction(statements []grantedStatement, prefix string) map[string][]map[string]any {
	byRole := map[string][]map[string]any{}
	for _, g := range statements {
		for _, action := range statementActions(g.stmt) {
			if strings.HasPrefix(action, prefix) {
				byRole[g.role] = append(byRole[g.role], g.stmt)
				break
			}
		}
	}
	return byRole
}

// functionRoles returns the service role IDs of the given functions.
func (tpl cfnTemplate) functionRoles(t *testing.T, prefixes ...string) []string {
	t.Helper()
	var roles []string
	for _, prefix := range prefixes {
		id, _ := tpl.resourceWithPrefix(t, "AWS::IAM::Role", prefix+"ServiceRole")
		roles = append(roles, id)
	}
	slices.Sort(roles)
	return roles
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// scheduleGroupNamePattern is Scheduler's rule for group names.
var scheduleGroupNamePattern = regexp.MustCompile(`^[0-9a-zA-Z-_.]{1,64}$`)

func TestScheduleGroupAndConfigurationSetAreNamedForTheStack(t *testing.T) {
	template := synthTemplate(t, nil)

	_, groupResource := template.onlyResourceOfType(t, "AWS::Scheduler::ScheduleGroup")
	var group struct{ Name string }
	decodeProperties(t, groupResource, &group)
	if !scheduleGroupNamePattern.MatchString(group.Name) || !strings.HasPrefix(group.Name, "Parley-") {
		t.Errorf("schedule group name %q: want up to 64 of [0-9a-zA-Z-_.], starting with the stack name", group.Name)
	}

	_, setResource := template.onlyResourceOfType(t, "AWS::SES::ConfigurationSet")
	var set struct {
		Name              string
		ReputationOptions struct{ ReputationMetricsEnabled bool }
		SendingOptions    struct{ SendingEnabled bool }
	}
	decodeProperties(t, setResource, &set)
	if !regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`).MatchString(set.Name) || !strings.HasPrefix(set.Name, "Parley-") {
		t.Errorf("configuration set name %q: want up to 64 of [A-Za-z0-9_-], starting with the stack name", set.Name)
	}
	assertEqual(t, "ReputationMetricsEnabled", set.ReputationOptions.ReputationMetricsEnabled, true)
	assertEqual(t, "SendingEnabled", set.SendingOptions.SendingEnabled, true)
}

func TestSchedulerRoleOnlyInvokesTheSender(t *testing.T) {
	template := synthTemplate(t, demoInbound)
	roleID, roleResource := template.resourceWithPrefix(t, "AWS::IAM::Role", "SchedulerRole")
	groupID, _ := template.onlyResourceOfType(t, "AWS::Scheduler::ScheduleGroup")
	senderID, _ := template.resourceWithPrefix(t, "AWS::Lambda::Function", "SenderFunction")
	dlqID, _ := template.resourceWithPrefix(t, "AWS::SQS::Queue", "ScheduleDLQ")

	var role struct {
		AssumeRolePolicyDocument struct{ Statement []map[string]any }
		ManagedPolicyArns        []any
		Policies                 []any
	}
	decodeProperties(t, roleResource, &role)
	wantTrust := []map[string]any{{
		"Action":    "sts:AssumeRole",
		"Effect":    "Allow",
		"Principal": map[string]any{"Service": "scheduler.amazonaws.com"},
		// Only this account's schedules, and only those of the group.
		"Condition": map[string]any{"StringEquals": map[string]any{
			"aws:SourceAccount": refTo("AWS::AccountId"),
			"aws:SourceArn":     getAttOf(groupID, "Arn"),
		}},
	}}
	assertEqual(t, "trust policy", role.AssumeRolePolicyDocument.Statement, wantTrust)
	assertEqual(t, "managed policies", role.ManagedPolicyArns, nil)
	assertEqual(t, "inline policies", role.Policies, nil)

	var got []map[string]any
	for _, g := range template.roleStatements(t) {
		if g.role == roleID {
			got = append(got, g.stmt)
		}
	}
	want := []map[string]any{
		{"Action": "sqs:SendMessage", "Effect": "Allow", "Resource": getAttOf(dlqID, "Arn")},
		{"Action": "lambda:InvokeFunction", "Effect": "Allow", "Resource": []any{
			getAttOf(senderID, "Arn"),
			map[string]any{"Fn::Join": []any{"", []any{getAttOf(senderID, "Arn"), ":*"}}},
		}},
	}
	if !jsonEqual(got, want) {
		t.Errorf("scheduler role statements:\n got  %v\n want %v", got, want)
	}
}

func TestPassRoleNamesOnlyTheSchedulerRoleForScheduler(t *testing.T) {
	template := synthTemplate(t, demoInbound)
	roleID, _ := template.resourceWithPrefix(t, "AWS::IAM::Role", "SchedulerRole")

	byRole := statementsWithAction(template.roleStatements(t), "iam:")
	assertEqual(t, "roles that may pass roles", sortedKeys(byRole), template.functionRoles(t, "ApiFunction", "SenderFunction", "SequencesFunction"))
	want := map[string]any{
		"Action":    "iam:PassRole",
		"Effect":    "Allow",
		"Resource":  getAttOf(roleID, "Arn"),
		"Condition": map[string]any{"StringEquals": map[string]any{"iam:PassedToService": "scheduler.amazonaws.com"}},
	}
	for role, statements := range byRole {
		if len(statements) != 1 || !jsonEqual(statements[0], want) {
			t.Errorf("%s iam statements:\n got  %v\n want [%v]", role, statements, want)
		}
	}
}

func TestScheduleActionsAreScopedToTheGroup(t *testing.T) {
	template := synthTemplate(t, demoInbound)
	groupID, _ := template.onlyResourceOfType(t, "AWS::Scheduler::ScheduleGroup")

	byRole := statementsWithAction(template.roleStatements(t), "scheduler:")
	assertEqual(t, "roles that manage schedules", sortedKeys(byRole), template.functionRoles(t, "ApiFunction", "SenderFunction", "SequencesFunction"))
	want := map[string]any{
		"Action":   []any{"scheduler:CreateSchedule", "scheduler:UpdateSchedule", "scheduler:DeleteSchedule"},
		"Effect":   "Allow",
		"Resource": accountArn("scheduler", "schedule/", refTo(groupID), "/*"),
	}
	for role, statements := range byRole {
		if len(statements) != 1 || !jsonEqual(statements[0], want) {
			t.Errorf("%s scheduler statements:\n got  %v\n want [%v]", role, statements, want)
		}
	}
}

func TestOnlyTheSenderWebhooksAndIntegrationsSendEmailFromThisAccount(t *testing.T) {
	template := synthTemplate(t, demoInbound)
	setID, _ := template.onlyResourceOfType(t, "AWS::SES::ConfigurationSet")

	byRole := statementsWithAction(template.roleStatements(t), "ses:")
	// The webhooks function emails web chat visitors their verification
	// codes; the integrations function emails admins a disabled webhook.
	assertEqual(t, "roles that use SES", sortedKeys(byRole), template.functionRoles(t, "IntegrationsFunction", "SenderFunction", "WebhooksFunction"))
	want := map[string]any{
		"Action": []any{"ses:SendEmail", "ses:SendRawEmail"},
		"Effect": "Allow",
		"Resource": []any{
			accountArn("ses", "identity/*"),
			accountArn("ses", "configuration-set/", refTo(setID)),
		},
	}
	for role, statements := range byRole {
		if len(statements) != 1 || !jsonEqual(statements[0], want) {
			t.Errorf("%s ses statements:\n got  %v\n want [%v]", role, statements, want)
		}
	}
}

func TestEmailDomainComesFromContext(t *testing.T) {
	template := synthTemplate(t, map[string]any{emailDomainContextKey: "inbox.example.com"})
	_, resource := template.resourceWithPrefix(t, "AWS::Lambda::Function", "SenderFunction")
	var function functionProperties
	decodeProperties(t, resource, &function)
	assertEqual(t, "EMAIL_DOMAIN", function.Environment.Variables["EMAIL_DOMAIN"], any("inbox.example.com"))

	stack := synthStack(t, map[string]any{emailDomainContextKey: "not a domain"})
	errors := assertions.Annotations_FromStack(stack).FindError(jsii.String("*"),
		assertions.Match_StringLikeRegexp(jsii.String("emailDomain.*not a domain name")))
	if len(*errors) != 1 {
		t.Errorf("got %d matching errors, want 1", len(*errors))
	}
}
