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
// is a 404), the sender may only get, and no other function touches the
// bucket; nothing may delete.
func TestMediaGrants(t *testing.T) {
	template := synthTemplate(t, nil)
	bucketID, _ := template.resourceWithPrefix(t, "AWS::S3::Bucket", "MediaBucket")
	objects := `{"Fn::Join":["",[{"Fn::GetAtt":["` + bucketID + `","Arn"]},"/media/*"]]}`
	want := map[string][]string{
		"ApiFunction":    {"s3:GetObject", "s3:ListBucket", "s3:PutObject"},
		"SenderFunction": {"s3:GetObject"},
	}
	for _, fn := range []string{"ApiFunction", "SenderFunction", "WebhooksFunction", "MailFunction", "PublisherFunction", "SequencesFunction", "RealtimeFunction", "ExporterFunction"} {
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
