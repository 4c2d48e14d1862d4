package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// TestExportBucket: private, encrypted, TLS only, and its files expire
// after the export's 7 days.
func TestExportBucket(t *testing.T) {
	template := synthTemplate(t, nil)
	bucketID, resource := template.resourceWithPrefix(t, "AWS::S3::Bucket", "ExportBucket")
	var bucket struct {
		BucketEncryption struct {
			ServerSideEncryptionConfiguration []struct {
				ServerSideEncryptionByDefault struct{ SSEAlgorithm string }
			}
		}
		PublicAccessBlockConfiguration map[string]bool
		OwnershipControls              struct {
			Rules []struct{ ObjectOwnership string }
		}
		LifecycleConfiguration struct {
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
	assertEqual(t, "ObjectOwnership", bucket.OwnershipControls.Rules, []struct{ ObjectOwnership string }{{"BucketOwnerEnforced"}})
	if len(bucket.LifecycleConfiguration.Rules) != 1 {
		t.Fatalf("got lifecycle rules %+v, want one", bucket.LifecycleConfiguration.Rules)
	}
	assertEqual(t, "ExpirationInDays", bucket.LifecycleConfiguration.Rules[0].ExpirationInDays, exportRetentionDays)
	assertEqual(t, "lifecycle Status", bucket.LifecycleConfiguration.Rules[0].Status, "Enabled")

	var enforced bool
	for _, statement := range bucketPolicyStatements(t, template, bucketID) {
		condition, _ := json.Marshal(statement["Condition"])
		if statement["Effect"] == "Deny" && string(condition) == `{"Bool":{"aws:SecureTransport":"false"}}` {
			enforced = true
		}
		if statement["Effect"] == "Allow" {
			t.Errorf("bucket policy allows %v: access is by IAM grants only", statement)
		}
	}
	if !enforced {
		t.Error("bucket policy: got no Deny on aws:SecureTransport false, want SSL enforced")
	}
}

// TestExportGrants: the exporter may only put files under exports/, the api
// may only read them (to presign) and invoke the exporter, and no other
// function touches the bucket or invokes the exporter.
func TestExportGrants(t *testing.T) {
	template := synthTemplate(t, nil)
	bucketID, _ := template.resourceWithPrefix(t, "AWS::S3::Bucket", "ExportBucket")
	exporterID, _ := template.resourceWithPrefix(t, "AWS::Lambda::Function", "ExporterFunction")
	objects := `[{"Fn::Join":["",[{"Fn::GetAtt":["` + bucketID + `","Arn"]},"/exports/*"]]}]`
	objectsOne := strings.TrimSuffix(strings.TrimPrefix(objects, "["), "]")

	exporter := functionGrants(t, template, "ExporterFunction")
	assertEqual(t, "exporter's S3 actions", s3Actions(exporter), []string{"s3:PutObject"})
	if got := exporter["s3:PutObject"]; got != objects && got != objectsOne {
		t.Errorf("exporter's s3:PutObject on %s, want only %s", got, objects)
	}
	tableID, _ := template.onlyResourceOfType(t, "AWS::DynamoDB::Table")
	for _, action := range []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"} {
		if got := exporter[action]; got != `{"Fn::GetAtt":["`+tableID+`","Arn"]}` {
			t.Errorf("exporter's %s on %s, want the table only (no index)", action, got)
		}
	}

	api := functionGrants(t, template, "ApiFunction")
	for action, resources := range api {
		if strings.Contains(resources, bucketID) && (action != "s3:GetObject" || strings.Count(resources, bucketID) != 1 || !strings.Contains(resources, objectsOne)) {
			t.Errorf("api may %s on %s; want only s3:GetObject on %s", action, resources, objects)
		}
	}
	if !strings.Contains(api["s3:GetObject"], objectsOne) {
		t.Errorf("api's s3:GetObject on %s, want %s", api["s3:GetObject"], objects)
	}
	if got := api["lambda:InvokeFunction"]; got != `{"Fn::GetAtt":["`+exporterID+`","Arn"]}` {
		t.Errorf("api's lambda:InvokeFunction on %s, want the exporter only", got)
	}

	for _, fn := range []string{"WebhooksFunction", "MailFunction", "PublisherFunction", "SenderFunction", "SequencesFunction", "RealtimeFunction"} {
		for action, resources := range functionGrants(t, template, fn) {
			if strings.Contains(resources, bucketID) || strings.Contains(resources, exporterID) {
				t.Errorf("%s may %s on %s", fn, action, resources)
			}
		}
	}
	if slices.Contains(s3Actions(exporter), "s3:GetObject") {
		t.Error("the exporter can read files back")
	}
}
