package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// TestMediaBucketIsPrivate: the attachments bucket blocks every public
// access, is encrypted, refuses plain HTTP, and its CORS (with the SPA's
// origin configured) allows only that origin to post and read.
func TestMediaBucketIsPrivate(t *testing.T) {
	template := synthTemplate(t, map[string]any{corsOriginsContextKey: "https://app.example.com"})
	bucketID, bucket := template.resourceWithPrefix(t, "AWS::S3::Bucket", "MediaBucket")
	var props struct {
		PublicAccessBlockConfiguration map[string]bool
		BucketEncryption               struct {
			ServerSideEncryptionConfiguration []struct {
				ServerSideEncryptionByDefault struct{ SSEAlgorithm string }
			}
		}
		CorsConfiguration struct {
			CorsRules []struct {
				AllowedOrigins, AllowedMethods []string
			}
		}
	}
	if err := json.Unmarshal(bucket.Properties, &props); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"} {
		if !props.PublicAccessBlockConfiguration[k] {
			t.Errorf("%s is off", k)
		}
	}
	if sse := props.BucketEncryption.ServerSideEncryptionConfiguration; len(sse) != 1 || sse[0].ServerSideEncryptionByDefault.SSEAlgorithm != "AES256" {
		t.Errorf("encryption %+v", sse)
	}
	rules := props.CorsConfiguration.CorsRules
	if len(rules) != 1 || strings.Join(rules[0].AllowedOrigins, ",") != "https://app.example.com" || strings.Join(rules[0].AllowedMethods, ",") != "POST,GET" {
		t.Errorf("CORS %+v, want POST and GET from the SPA's origin only", rules)
	}

	// The bucket policy denies any request not over TLS.
	_, policy := template.resourceWithPrefix(t, "AWS::S3::BucketPolicy", "MediaBucketPolicy")
	var doc map[string]any
	if err := json.Unmarshal(policy.Properties, &doc); err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(doc)
	if !strings.Contains(string(raw), `"aws:SecureTransport":"false"`) || !strings.Contains(string(raw), `"Effect":"Deny"`) || !strings.Contains(string(raw), bucketID) {
		t.Errorf("bucket policy %s, want a Deny of insecure transport", raw)
	}

	// Without a configured origin, no browser origin is allowed.
	template = synthTemplate(t, nil)
	_, bucket = template.resourceWithPrefix(t, "AWS::S3::Bucket", "MediaBucket")
	if strings.Contains(string(bucket.Properties), "CorsConfiguration") {
		t.Errorf("CORS without a configured origin: %s", bucket.Properties)
	}
}

// TestMediaGrants: the api may put and get under media/ (presigned
// uploads, links, the size check) and list that prefix (so a missing key
// is a 404), the sender may only get, the media copy may only put, and no
// other function touches the bucket; nothing may delete.
func TestMediaGrants(t *testing.T) {
	template := synthTemplate(t, nil)
	bucketID, _ := template.resourceWithPrefix(t, "AWS::S3::Bucket", "MediaBucket")
	objects := `{"Fn::Join":["",[{"Fn::GetAtt":["` + bucketID + `","Arn"]},"/media/*"]]}`
	want := map[string][]string{
		"ApiFunction":    {"s3:GetObject", "s3:ListBucket", "s3:PutObject"},
		"SenderFunction": {"s3:GetObject"},
		"MediaFunction":  {"s3:PutObject"},
		// Contact imports read the uploaded file.
		"ExporterFunction": {"s3:GetObject", "s3:ListBucket"},
	}
	for _, fn := range []string{"ApiFunction", "SenderFunction", "MediaFunction", "WebhooksFunction", "MailFunction", "PublisherFunction", "SequencesFunction", "RealtimeFunction", "ExporterFunction"} {
		var got []string
		for action, resources := range functionGrants(t, template, fn) {
			if !strings.Contains(resources, bucketID) {
				continue
			}
			if action == "s3:ListBucket" {
				if resources != `{"Fn::GetAtt":["`+bucketID+`","Arn"]}` {
					t.Errorf("%s may list %s, want the media bucket", fn, resources)
				}
			} else if strings.Count(resources, bucketID) != 1 || !strings.Contains(resources, objects) {
				t.Errorf("%s may %s on %s, want only %s", fn, action, resources, objects)
			}
			got = append(got, action)
		}
		slices.Sort(got)
		assertEqual(t, fn+"'s actions on the media bucket", got, want[fn])
	}
}

// TestMediaListingIsLimitedToThePrefix: the api's s3:ListBucket holds only
// for the media/ prefix.
func TestMediaListingIsLimitedToThePrefix(t *testing.T) {
	template := synthTemplate(t, nil)
	_, policy := template.resourceWithPrefix(t, "AWS::IAM::Policy", "ApiFunctionServiceRoleDefaultPolicy")
	var document map[string]any
	if err := json.Unmarshal(policy.Properties, &document); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, st := range policyStatements(document) {
		if slices.Contains(statementActions(st), "s3:ListBucket") {
			found = true
			cond, _ := json.Marshal(st["Condition"])
			if string(cond) != `{"StringLike":{"s3:prefix":"media/*"}}` {
				t.Errorf("s3:ListBucket condition %s, want the media/ prefix only", cond)
			}
		}
	}
	if !found {
		t.Error("the api cannot list the media prefix")
	}
}

// TestMediaCopyGrants: the media copy reads and updates items (no query,
// scan or delete), puts under media/, reads inbound mail, reads the
// provider secret, and takes from its queue: nothing else.
func TestMediaCopyGrants(t *testing.T) {
	template := synthTemplate(t, nil)
	tableID, _ := template.onlyResourceOfType(t, "AWS::DynamoDB::Table")
	mediaBucketID, _ := template.resourceWithPrefix(t, "AWS::S3::Bucket", "MediaBucket")
	mailBucketID, _ := template.resourceWithPrefix(t, "AWS::S3::Bucket", "RawMailBucket")
	providerSecretsID, _ := template.resourceWithPrefix(t, "AWS::SecretsManager::Secret", "ProviderSecrets")
	queueID, _ := template.resourceWithPrefix(t, "AWS::SQS::Queue", "MediaQueue")
	encode := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	objects := func(bucketID, prefix string) string {
		return encode(map[string]any{"Fn::Join": []any{"", []any{getAttOf(bucketID, "Arn"), prefix}}})
	}
	want := map[string]string{
		"dynamodb:GetItem":              encode(getAttOf(tableID, "Arn")),
		"dynamodb:UpdateItem":           encode(getAttOf(tableID, "Arn")),
		"s3:PutObject":                  objects(mediaBucketID, "/media/*"),
		"s3:GetObject":                  objects(mailBucketID, "/inbound/*"),
		"secretsmanager:GetSecretValue": encode(refTo(providerSecretsID)),
		"xray:PutTraceSegments":         `"*"`,
		"xray:PutTelemetryRecords":      `"*"`,
	}
	for _, action := range []string{"sqs:ReceiveMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueUrl", "sqs:DeleteMessage", "sqs:GetQueueAttributes"} {
		want[action] = encode(getAttOf(queueID, "Arn"))
	}
	assertEqual(t, "MediaFunction's grants", functionGrants(t, template, "MediaFunction"), want)
}

// TestMediaCopyFromTheBus: only inbound message.created events with files
// reach the copy, through an encrypted queue with a DLQ, in batches whose
// failed messages alone are retried; every DLQ and the queue's age alarm.
func TestMediaCopyFromTheBus(t *testing.T) {
	template := synthTemplate(t, nil)
	busID, _ := template.onlyResourceOfType(t, "AWS::Events::EventBus")
	functionID, functionResource := template.resourceWithPrefix(t, "AWS::Lambda::Function", "MediaFunction")
	queueID, queueResource := template.resourceWithPrefix(t, "AWS::SQS::Queue", "MediaQueue")
	dlqID, _ := template.resourceWithPrefix(t, "AWS::SQS::Queue", "MediaDLQ")
	eventsDLQID, _ := template.resourceWithPrefix(t, "AWS::SQS::Queue", "MediaEventsDLQ")
	_, ruleResource := template.resourceWithPrefix(t, "AWS::Events::Rule", "MediaRule")
	topicID, _ := template.resourceWithPrefix(t, "AWS::SNS::Topic", "AlarmTopic")

	var rule struct {
		EventBusName any
		EventPattern map[string]any
		Targets      []struct {
			Arn              any
			DeadLetterConfig struct{ Arn any }
		}
	}
	decodeProperties(t, ruleResource, &rule)
	assertEqual(t, "EventBusName", rule.EventBusName, refTo(busID))
	assertEqual(t, "EventPattern", rule.EventPattern, map[string]any{
		"source":      []any{"parley"},
		"detail-type": []any{"message.created"},
		"detail": map[string]any{"message": map[string]any{
			"direction":   []any{"in"},
			"channel":     []any{map[string]any{"anything-but": []any{"webchat"}}},
			"attachments": map[string]any{"contentType": []any{map[string]any{"exists": true}}},
		}},
	})
	if len(rule.Targets) != 1 {
		t.Fatalf("got %d targets, want 1", len(rule.Targets))
	}
	assertEqual(t, "target", rule.Targets[0].Arn, getAttOf(queueID, "Arn"))
	assertEqual(t, "target DLQ", rule.Targets[0].DeadLetterConfig.Arn, getAttOf(eventsDLQID, "Arn"))

	var queue struct {
		SqsManagedSseEnabled bool
		VisibilityTimeout    int
		RedrivePolicy        struct {
			DeadLetterTargetArn any `json:"deadLetterTargetArn"`
			MaxReceiveCount     int `json:"maxReceiveCount"`
		}
	}
	decodeProperties(t, queueResource, &queue)
	var function functionProperties
	decodeProperties(t, functionResource, &function)
	assertEqual(t, "SqsManagedSseEnabled", queue.SqsManagedSseEnabled, true)
	if queue.VisibilityTimeout < 6*function.Timeout {
		t.Errorf("VisibilityTimeout: got %d s, want at least 6 × the function's %d s", queue.VisibilityTimeout, function.Timeout)
	}
	assertEqual(t, "dead-letter target", queue.RedrivePolicy.DeadLetterTargetArn, getAttOf(dlqID, "Arn"))
	assertEqual(t, "maxReceiveCount", queue.RedrivePolicy.MaxReceiveCount, 5)

	_, mapping := template.eventSourceMappingOf(t, functionID)
	if mapping == nil {
		t.Fatal("got no event source mapping for the media function")
	}
	var m struct {
		EventSourceArn        any
		BatchSize             int
		FunctionResponseTypes []string
	}
	decodeProperties(t, *mapping, &m)
	assertEqual(t, "EventSourceArn", m.EventSourceArn, getAttOf(queueID, "Arn"))
	assertEqual(t, "BatchSize", m.BatchSize, 10)
	assertEqual(t, "FunctionResponseTypes", m.FunctionResponseTypes, []string{"ReportBatchItemFailures"})

	for _, id := range []string{dlqID, eventsDLQID} {
		checkAlarm(t, id, template.alarmsOn(t, "ApproximateNumberOfMessagesVisible", "QueueName", getAttOf(id, "QueueName")), "Maximum", 0, topicID)
	}
	checkAlarm(t, queueID+" age", template.alarmsOn(t, "ApproximateAgeOfOldestMessage", "QueueName", getAttOf(queueID, "QueueName")), "Maximum", 300, topicID)
}
