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

// TestExportGrants: the exporter may only put files under exports/ and
// imports/ and never read them back, may read (and list) only uploads in
// the media bucket, and writes the table without indexes; the api may
// only read the files (to presign) and invoke the exporter; no other
// function touches the bucket or invokes the exporter.
func TestExportGrants(t *testing.T) {
	template := synthTemplate(t, nil)
	bucketID, _ := template.resourceWithPrefix(t, "AWS::S3::Bucket", "ExportBucket")
	mediaID, _ := template.resourceWithPrefix(t, "AWS::S3::Bucket", "MediaBucket")
	exporterID, _ := template.resourceWithPrefix(t, "AWS::Lambda::Function", "ExporterFunction")
	objectsOf := func(bucket, prefix string) string {
		return `{"Fn::Join":["",[{"Fn::GetAtt":["` + bucket + `","Arn"]},"/` + prefix + `*"]]}`
	}
	exportFiles, importFiles := objectsOf(bucketID, "exports/"), objectsOf(bucketID, "imports/")

	exporter := functionGrants(t, template, "ExporterFunction")
	actions := s3Actions(exporter)
	slices.Sort(actions)
	assertEqual(t, "exporter's S3 actions", actions, []string{"s3:GetObject", "s3:ListBucket", "s3:PutObject"})
	if got := exporter["s3:PutObject"]; strings.Count(got, "Fn::GetAtt") != 2 || !strings.Contains(got, exportFiles) || !strings.Contains(got, importFiles) {
		t.Errorf("exporter's s3:PutObject on %s, want only %s and %s", got, exportFiles, importFiles)
	}
	if got := exporter["s3:GetObject"]; strings.Count(got, "Fn::GetAtt") != 1 || !strings.Contains(got, objectsOf(mediaID, "media/")) {
		t.Errorf("exporter's s3:GetObject on %s, want only the uploads (media/*): never its own files", got)
	}
	tableID, _ := template.onlyResourceOfType(t, "AWS::DynamoDB::Table")
	for _, action := range []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:TransactWriteItems", "dynamodb:UpdateItem"} {
		if got := exporter[action]; got != `{"Fn::GetAtt":["`+tableID+`","Arn"]}` {
			t.Errorf("exporter's %s on %s, want the table only (no index)", action, got)
		}
	}
	for _, action := range []string{"dynamodb:DeleteItem", "dynamodb:BatchWriteItem", "dynamodb:Scan"} {
		if got, ok := exporter[action]; ok {
			t.Errorf("exporter may %s on %s", action, got)
		}
	}

	api := functionGrants(t, template, "ApiFunction")
	for action, resources := range api {
		if strings.Contains(resources, bucketID) && (action != "s3:GetObject" || strings.Count(resources, bucketID) != 2 ||
			!strings.Contains(resources, exportFiles) || !strings.Contains(resources, importFiles)) {
			t.Errorf("api may %s on %s; want only s3:GetObject on %s and %s", action, resources, exportFiles, importFiles)
		}
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
	// The exporter invokes itself only, from a policy of its own.
	policies := template.resourcesOfType("AWS::IAM::Policy")
	self := 0
	for id, p := range policies {
		if strings.HasPrefix(id, "ExporterSelfInvoke") {
			self++
			if raw := string(p.Properties); !strings.Contains(raw, `"lambda:InvokeFunction"`) || !strings.Contains(raw, `"Fn::GetAtt":["`+exporterID+`","Arn"]`) {
				t.Errorf("ExporterSelfInvoke = %s; want lambda:InvokeFunction on the exporter", raw)
			}
		}
	}
	if self != 1 {
		t.Errorf("found %d ExporterSelfInvoke policies, want 1", self)
	}
}
