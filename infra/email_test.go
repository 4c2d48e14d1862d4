package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

var demoInbound = map[string]any{inboundEmailContextKey: "demo=support@inbox.example.com"}

func TestInboundMailBucket(t *testing.T) {
	template := synthTemplate(t, nil)
	bucketID, resource := template.resourceWithPrefix(t, "AWS::S3::Bucket", "RawMailBucket")
	var bucket struct {
		BucketEncryption struct {
			ServerSideEncryptionConfiguration []struct {
				ServerSideEncryptionByDefault struct{ SSEAlgorithm string }
			}
		}
		PublicAccessBlockConfiguration map[string]bool
		VersioningConfiguration        *struct{ Status string }
		LifecycleConfiguration         struct {
			Rules []struct {
				ExpirationInDays int
				Status           string
			}
		}
	}
	decodeProperties(t, resource, &bucket)

	if len(bucket.BucketEncryption.ServerSideEncryptionConfiguration) != 1 {
		t.Fatalf("got encryption %+v, want one rule", bucket.BucketEncryption)
	}
	assertEqual(t, "SSEAlgorithm", bucket.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm, "AES256")
	assertEqual(t, "PublicAccessBlockConfiguration", bucket.PublicAccessBlockConfiguration, map[string]bool{
		"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true,
	})
	if bucket.VersioningConfiguration != nil && bucket.VersioningConfiguration.Status == "Enabled" {
		t.Error("versioning: got Enabled, want off")
	}
	if len(bucket.LifecycleConfiguration.Rules) != 1 {
		t.Fatalf("got lifecycle rules %+v, want one", bucket.LifecycleConfiguration.Rules)
	}
	assertEqual(t, "ExpirationInDays", bucket.LifecycleConfiguration.Rules[0].ExpirationInDays, inboundMailRetentionDays)
	assertEqual(t, "lifecycle Status", bucket.LifecycleConfiguration.Rules[0].Status, "Enabled")
	assertEqual(t, "DeletionPolicy", resource.DeletionPolicy, "Retain")

	// enforceSSL: a Deny of every request not made over TLS.
	var enforced bool
	for _, statement := range bucketPolicyStatements(t, template, bucketID) {
		condition, _ := json.Marshal(statement["Condition"])
		if statement["Effect"] == "Deny" && string(condition) == `{"Bool":{"aws:SecureTransport":"false"}}` {
			enforced = true
		}
	}
	if !enforced {
		t.Error("bucket policy: got no Deny on aws:SecureTransport false, want SSL enforced")
	}
}

func bucketPolicyStatements(t *testing.T, template cfnTemplate, bucketID string) []map[string]any {
	t.Helper()
	// The bucket's own policy: each bucket has one.
	for _, resource := range template.resourcesOfType("AWS::S3::BucketPolicy") {
		var policy map[string]any
		if err := json.Unmarshal(resource.Properties, &policy); err != nil {
			t.Fatal(err)
		}
		if bucket, _ := json.Marshal(policy["Bucket"]); string(bucket) == `{"Ref":"`+bucketID+`"}` {
			return policyStatements(policy)
		}
	}
	t.Fatalf("no bucket policy for %s", bucketID)
	return nil
}

func TestTopicsAreEncryptedWithAKeySESAndCloudWatchCanUse(t *testing.T) {
	template := synthTemplate(t, nil)
	keyID, keyResource := template.onlyResourceOfType(t, "AWS::KMS::Key")
	topics := template.resourcesOfType("AWS::SNS::Topic")
	if len(topics) != 2 {
		t.Errorf("got %d topics, want the inbound mail and alarm topics", len(topics))
	}
	for id, resource := range topics {
		var topic struct{ KmsMasterKeyId any }
		decodeProperties(t, resource, &topic)
		assertEqual(t, id+" KmsMasterKeyId", topic.KmsMasterKeyId, any(map[string]any{"Fn::GetAtt": []any{keyID, "Arn"}}))
	}

	var key struct {
		EnableKeyRotation bool
		KeyPolicy         map[string]any
	}
	decodeProperties(t, keyResource, &key)
	assertEqual(t, "EnableKeyRotation", key.EnableKeyRotation, true)
	for _, service := range []string{"ses.amazonaws.com", "cloudwatch.amazonaws.com"} {
		var canPublish bool
		for _, statement := range policyStatements(key.KeyPolicy) {
			principal, _ := json.Marshal(statement["Principal"])
			actions := statementActions(statement)
			if statement["Effect"] == "Allow" && strings.Contains(string(principal), `"`+service+`"`) &&
				containsAll(actions, "kms:GenerateDataKey", "kms:Decrypt") {
				canPublish = true
			}
		}
		if !canPublish {
			t.Errorf("key policy: %s may not GenerateDataKey and Decrypt, so it cannot publish to the topics", service)
		}
	}
}

func containsAll(list []string, want ...string) bool {
	for _, w := range want {
		found := false
		for _, item := range list {
			found = found || item == w
		}
		if !found {
			return false
		}
	}
	return true
}

func TestInboundMailWithoutWorkspaces(t *testing.T) {
	template := synthTemplate(t, nil)
	template.onlyResourceOfType(t, "AWS::SES::ReceiptRuleSet")
	template.resourceWithPrefix(t, "AWS::S3::Bucket", "RawMailBucket")
	template.resourceWithPrefix(t, "AWS::SNS::Topic", "InboundMailTopic")
	assertEqual(t, "receipt rules", len(template.resourcesOfType("AWS::SES::ReceiptRule")), 0)
	assertEqual(t, "subscriptions", len(template.resourcesOfType("AWS::SNS::Subscription")), 0)
}

func TestInboundMailRuleAndSubscriptionPerWorkspace(t *testing.T) {
	template := synthTemplate(t, demoInbound)
	ruleSetID, _ := template.onlyResourceOfType(t, "AWS::SES::ReceiptRuleSet")
	bucketID, _ := template.resourceWithPrefix(t, "AWS::S3::Bucket", "RawMailBucket")
	topicID, _ := template.resourceWithPrefix(t, "AWS::SNS::Topic", "InboundMailTopic")
	dlqID, _ := template.resourceWithPrefix(t, "AWS::SQS::Queue", "InboundMailDeliveryDLQ")
	apiID, _ := template.httpAPI(t)
	bucketPolicyID, _ := template.resourceWithPrefix(t, "AWS::S3::BucketPolicy", "RawMailBucketPolicy")
	stageID, _ := template.httpStage(t)

	t.Run("receipt rule", func(t *testing.T) {
		_, resource := template.onlyResourceOfType(t, "AWS::SES::ReceiptRule")
		var rule struct {
			RuleSetName any
			Rule        struct {
				Enabled     bool
				Recipients  []string
				ScanEnabled bool
				TlsPolicy   string
				Actions     []struct {
					S3Action *struct {
						BucketName      any
						ObjectKeyPrefix string
						TopicArn        any
					}
				}
			}
		}
		decodeProperties(t, resource, &rule)
		assertEqual(t, "RuleSetName", rule.RuleSetName, any(map[string]any{"Ref": ruleSetID}))
		assertEqual(t, "Enabled", rule.Rule.Enabled, true)
		assertEqual(t, "Recipients", rule.Rule.Recipients, []string{"support@inbox.example.com"})
		assertEqual(t, "ScanEnabled", rule.Rule.ScanEnabled, true)
		assertEqual(t, "TlsPolicy", rule.Rule.TlsPolicy, "Require")
		if len(rule.Rule.Actions) != 1 || rule.Rule.Actions[0].S3Action == nil {
			t.Fatalf("got actions %+v, want one S3 action", rule.Rule.Actions)
		}
		action := rule.Rule.Actions[0].S3Action
		assertEqual(t, "BucketName", action.BucketName, any(map[string]any{"Ref": bucketID}))
		assertEqual(t, "ObjectKeyPrefix", action.ObjectKeyPrefix, "inbound/demo/")
		assertEqual(t, "TopicArn", action.TopicArn, any(map[string]any{"Ref": topicID}))
		// SES checks it can write to the bucket when the rule is created.
		if !containsAll(resource.DependsOn, bucketPolicyID) {
			t.Errorf("rule: got DependsOn %v, want the bucket policy %s", resource.DependsOn, bucketPolicyID)
		}
	})

	t.Run("bucket policy lets SES of this account write the workspace's folder", func(t *testing.T) {
		var found bool
		for _, statement := range bucketPolicyStatements(t, template, bucketID) {
			principal, _ := json.Marshal(statement["Principal"])
			condition, _ := json.Marshal(statement["Condition"])
			resource, _ := json.Marshal(statement["Resource"])
			if statement["Effect"] == "Allow" && string(principal) == `{"Service":"ses.amazonaws.com"}` {
				found = true
				assertEqual(t, "actions", statementActions(statement), []string{"s3:PutObject"})
				assertEqual(t, "condition", string(condition), `{"StringEquals":{"aws:SourceAccount":{"Ref":"AWS::AccountId"}}}`)
				if !strings.Contains(string(resource), `"/inbound/demo/*"`) {
					t.Errorf("resource: got %s, want the inbound/demo/ objects", resource)
				}
			}
		}
		if !found {
			t.Error("got no bucket policy statement for ses.amazonaws.com")
		}
	})

	t.Run("HTTPS subscription with a DLQ", func(t *testing.T) {
		_, resource := template.onlyResourceOfType(t, "AWS::SNS::Subscription")
		var subscription struct {
			TopicArn           any
			Protocol           string
			Endpoint           any
			RawMessageDelivery bool
			RedrivePolicy      struct{ DeadLetterTargetArn any }
			FilterPolicyScope  string
			FilterPolicy       any
		}
		decodeProperties(t, resource, &subscription)
		assertEqual(t, "TopicArn", subscription.TopicArn, any(map[string]any{"Ref": topicID}))
		assertEqual(t, "Protocol", subscription.Protocol, "https")
		assertEqual(t, "RawMessageDelivery", subscription.RawMessageDelivery, false)
		endpoint, _ := json.Marshal(subscription.Endpoint)
		assertEqual(t, "Endpoint", string(endpoint),
			`{"Fn::Join":["",[{"Fn::GetAtt":["`+apiID+`","ApiEndpoint"]},"/webhooks/demo/email"]]}`)
		assertEqual(t, "deadLetterTargetArn", subscription.RedrivePolicy.DeadLetterTargetArn,
			any(map[string]any{"Fn::GetAtt": []any{dlqID, "Arn"}}))
		// The topic is shared: each workspace receives only its own mail.
		assertEqual(t, "FilterPolicyScope", subscription.FilterPolicyScope, "MessageBody")
		filter, _ := json.Marshal(subscription.FilterPolicy)
		assertEqual(t, "FilterPolicy", string(filter), `{"receipt":{"action":{"objectKey":[{"prefix":"inbound/demo/"}]}}}`)
		// SNS confirms at once, so the routes must be deployed first.
		if !containsAll(resource.DependsOn, stageID) {
			t.Errorf("subscription: got DependsOn %v, want the stage %s", resource.DependsOn, stageID)
		}
	})

	t.Run("the DLQ accepts messages from this topic only", func(t *testing.T) {
		var found bool
		for _, resource := range template.resourcesOfType("AWS::SQS::QueuePolicy") {
			var policy map[string]any
			if err := json.Unmarshal(resource.Properties, &policy); err != nil {
				t.Fatal(err)
			}
			for _, statement := range policyStatements(policy) {
				principal, _ := json.Marshal(statement["Principal"])
				condition, _ := json.Marshal(statement["Condition"])
				if string(principal) == `{"Service":"sns.amazonaws.com"}` {
					found = true
					assertEqual(t, "condition", string(condition), `{"ArnEquals":{"aws:SourceArn":{"Ref":"`+topicID+`"}}}`)
				}
			}
		}
		if !found {
			t.Error("got no queue policy letting SNS send to the DLQ")
		}
	})
}

func TestParseInboundEmail(t *testing.T) {
	tests := []struct {
		name string
		raw  any
		want []inboundRoute
	}{
		{name: "absent", raw: nil},
		{name: "empty", raw: ""},
		{name: "one", raw: "demo=support@inbox.example.com",
			want: []inboundRoute{{workspace: "demo", recipients: []string{"support@inbox.example.com"}}}},
		{name: "comma list, sorted by workspace, repeated workspace",
			raw: " zeta=help.example.com, demo=support@inbox.example.com ,demo=.example.org,",
			want: []inboundRoute{
				{workspace: "demo", recipients: []string{".example.org", "support@inbox.example.com"}},
				{workspace: "zeta", recipients: []string{"help.example.com"}},
			}},
		{name: "JSON string", raw: `{"demo": ["b@example.com", "a@example.com", "a@example.com"], "w2": "w2.example.com"}`,
			want: []inboundRoute{
				{workspace: "demo", recipients: []string{"a@example.com", "b@example.com"}},
				{workspace: "w2", recipients: []string{"w2.example.com"}},
			}},
		{name: "object from cdk.json", raw: map[string]any{"demo": []any{"support@inbox.example.com"}},
			want: []inboundRoute{{workspace: "demo", recipients: []string{"support@inbox.example.com"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseInboundEmail(tt.raw)
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			assertEqual(t, "routes", got, tt.want)
		})
	}

	for _, raw := range []any{
		"demo",                            // no recipient
		"demo=",                           // empty recipient
		"de/mo=support@example.com",       // workspace unusable in a key or URL
		"demo=not an address",             // neither address nor domain
		"demo=localhost",                  // not a domain
		`{"demo": 3}`,                     // wrong JSON type
		`{"demo": "a@example.com"`,        // malformed JSON
		"a=x@example.com,b=X@example.com", // one recipient, two workspaces
		42,
	} {
		if got, err := parseInboundEmail(raw); err == nil {
			t.Errorf("parseInboundEmail(%v): got %+v, want an error", raw, got)
		}
	}
}

func TestMalformedInboundEmailFailsTheSynth(t *testing.T) {
	stack := synthStack(t, map[string]any{inboundEmailContextKey: "demo=not an address"})
	errors := assertions.Annotations_FromStack(stack).FindError(jsii.String("*"),
		assertions.Match_StringLikeRegexp(jsii.String("inboundEmail.*not an address or a domain")))
	if len(*errors) != 1 {
		t.Errorf("got %d matching errors, want 1", len(*errors))
	}
}
