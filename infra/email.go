package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsses"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssesactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// inboundEmailContextKey names the CDK context value that routes inbound
// mail to workspaces: "workspace=recipient,..." (a recipient is an address
// or a domain; repeat a workspace for several), or a JSON object such as
// {"demo": ["support@inbox.example.com", "help.example.com"]}.
const inboundEmailContextKey = "inboundEmail"

// inboundKeyPrefix is where SES stores raw messages; each workspace has its
// own folder below it, "inbound/<workspace>/".
const inboundKeyPrefix = "inbound/"

// inboundMailRetentionDays bounds how long raw messages, which hold
// customers' mail and attachments, are kept once filed into Parley.
const inboundMailRetentionDays = 90

// inboundRoute sends mail for recipients to one workspace.
type inboundRoute struct {
	workspace  string
	recipients []string
}

// inboundEmail is the mail-receiving half of the stack.
type inboundEmail struct {
	bucket  awss3.Bucket
	topic   awssns.Topic
	ruleSet awsses.ReceiptRuleSet
	// deliveryDLQ keeps notifications SNS could not deliver to a
	// workspace's webhook after all its retries.
	deliveryDLQ awssqs.Queue
	routes      []inboundRoute
}

// newInboundEmail creates the bucket SES stores raw MIME in, the topic it
// notifies, and a receipt rule set with one rule per workspace. With no
// routes configured, the bucket, topic and (empty) rule set still exist.
//
// Receiving starts only once the rule set is the account's active one, an
// account-and-region-wide setting CloudFormation has no resource for:
//
//	aws ses set-active-receipt-rule-set --rule-set-name <InboundMailRuleSetName>
//
// (and an MX record pointing each domain at SES's inbound endpoint).
func newInboundEmail(scope constructs.Construct, topicKey awskms.IKey, routes []inboundRoute) *inboundEmail {
	mail := &inboundEmail{routes: routes}
	mail.bucket = awss3.NewBucket(scope, jsii.String("RawMailBucket"), &awss3.BucketProps{
		// SSE-S3 needs no key permissions for SES to write.
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		EnforceSSL:        jsii.Bool(true),
		// Each message is written once under a unique key.
		Versioned: jsii.Bool(false),
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Id:         jsii.String("ExpireRawMail"),
			Expiration: awscdk.Duration_Days(jsii.Number(inboundMailRetentionDays)),
		}},
		// Mail not yet filed (a failed delivery being replayed) lives only here.
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})

	// SES publishes to the topic itself, as a service principal, so the key
	// must be a customer managed one whose policy lets SES use it (the
	// aws/sns managed key's policy cannot be changed); see newTopicKey.
	mail.topic = awssns.NewTopic(scope, jsii.String("InboundMailTopic"), &awssns.TopicProps{
		MasterKey: topicKey,
	})

	mail.ruleSet = awsses.NewReceiptRuleSet(scope, jsii.String("InboundMailRuleSet"), nil)
	for _, route := range routes {
		// The S3 action adds the bucket policy letting ses.amazonaws.com put
		// objects under its prefix for this account (aws:SourceAccount),
		// and makes the rule wait for it. SES may publish to a topic of its
		// own account without a topic policy.
		mail.ruleSet.AddRule(jsii.String("Workspace-"+route.workspace), &awsses.ReceiptRuleOptions{
			Recipients: jsii.Strings(route.recipients...),
			Actions: &[]awsses.IReceiptRuleAction{
				awssesactions.NewS3(&awssesactions.S3Props{
					Bucket:          mail.bucket,
					ObjectKeyPrefix: jsii.String(workspaceKeyPrefix(route.workspace)),
					Topic:           mail.topic,
				}),
			},
			// Spam and virus verdicts in the notification; the function
			// drops mail that fails the virus scan.
			ScanEnabled: jsii.Bool(true),
			TlsPolicy:   awsses.TlsPolicy_REQUIRE,
		})
	}

	mail.deliveryDLQ = newDeadLetterQueue(scope, "InboundMailDeliveryDLQ")
	return mail
}

func workspaceKeyPrefix(workspace string) string {
	return inboundKeyPrefix + workspace + "/"
}

// subscribeWorkspaces subscribes each workspace's email webhook to the
// topic. The topic is shared, so each subscription only receives the
// notifications whose object lies in its workspace's folder: without that
// filter, every workspace would be sent every workspace's mail.
//
// SNS sends the subscription confirmation at once, and the function
// confirms it only for a workspace whose provider secret entry pins this
// topic (snsTopicArn). On a first deploy, fill in the secret, then have SNS
// resend the confirmation with `aws sns subscribe` (same topic, protocol
// and endpoint).
func (m *inboundEmail) subscribeWorkspaces(scope constructs.Construct, webhookBase *string, stage awsapigatewayv2.HttpStage) {
	for _, route := range m.routes {
		subscription := awssns.NewSubscription(scope, jsii.String("InboundMailSubscription-"+route.workspace), &awssns.SubscriptionProps{
			Topic:    m.topic,
			Protocol: awssns.SubscriptionProtocol_HTTPS,
			Endpoint: jsii.String(*webhookBase + "/" + route.workspace + "/email"),
			// The function verifies SNS's signature over the JSON envelope.
			RawMessageDelivery: jsii.Bool(false),
			FilterPolicyWithMessageBody: &map[string]awssns.FilterOrPolicy{
				"receipt": awssns.FilterOrPolicy_Policy(&map[string]awssns.FilterOrPolicy{
					"action": awssns.FilterOrPolicy_Policy(&map[string]awssns.FilterOrPolicy{
						"objectKey": awssns.FilterOrPolicy_Filter(awssns.SubscriptionFilter_StringFilter(&awssns.StringConditions{
							MatchPrefixes: jsii.Strings(workspaceKeyPrefix(route.workspace)),
						})),
					}),
				}),
			},
			// SNS's default gives up on an endpoint within a minute; this
			// retries for about half an hour before dead-lettering, so a
			// short outage or a bad deploy does not strand mail in the DLQ.
			DeliveryPolicy: &awssns.DeliveryPolicy{
				HealthyRetryPolicy: &awssns.HealthyRetryPolicy{
					NumRetries:      jsii.Number(20),
					MinDelayTarget:  awscdk.Duration_Seconds(jsii.Number(10)),
					MaxDelayTarget:  awscdk.Duration_Seconds(jsii.Number(300)),
					BackoffFunction: awssns.BackoffFunction_EXPONENTIAL,
				},
			},
			DeadLetterQueue: m.deliveryDLQ,
		})
		subscription.Node().AddDependency(stage)
	}
}

// inboundEmailRoutes reads the inboundEmail context value. A malformed value
// fails the synth with an error that names the problem.
func inboundEmailRoutes(scope constructs.Construct) []inboundRoute {
	routes, err := parseInboundEmail(scope.Node().TryGetContext(jsii.String(inboundEmailContextKey)))
	if err != nil {
		awscdk.Annotations_Of(scope).AddError(jsii.String(fmt.Sprintf("context %s: %v", inboundEmailContextKey, err)))
		return nil
	}
	return routes
}

// workspacePattern keeps workspace ids usable in S3 keys, URLs and
// construct ids.
var workspacePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// recipientPattern accepts an address, a domain, or ".domain" (which SES
// reads as every subdomain).
var recipientPattern = regexp.MustCompile(`^([^@\s,;"]+@)?\.?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$`)

// maxRecipientsPerRule is SES's limit on one receipt rule.
const maxRecipientsPerRule = 100

// parseInboundEmail accepts the forms inboundEmailContextKey describes (or
// an already-decoded object, as cdk.json's context would give) and returns
// the routes sorted by workspace, so the template is stable.
func parseInboundEmail(raw any) ([]inboundRoute, error) {
	byWorkspace := map[string][]string{}
	add := func(workspace, recipient string) {
		workspace, recipient = strings.TrimSpace(workspace), strings.TrimSpace(recipient)
		byWorkspace[workspace] = append(byWorkspace[workspace], recipient)
	}
	addJSON := func(object map[string]any) error {
		for workspace, value := range object {
			switch value := value.(type) {
			case string:
				add(workspace, value)
			case []any:
				for _, recipient := range value {
					recipient, ok := recipient.(string)
					if !ok {
						return fmt.Errorf("workspace %q: recipients must be strings", workspace)
					}
					add(workspace, recipient)
				}
			default:
				return fmt.Errorf("workspace %q: want a recipient or a list of recipients", workspace)
			}
		}
		return nil
	}

	switch raw := raw.(type) {
	case nil:
	case map[string]any:
		if err := addJSON(raw); err != nil {
			return nil, err
		}
	case string:
		raw = strings.TrimSpace(raw)
		if strings.HasPrefix(raw, "{") {
			var object map[string]any
			if err := json.Unmarshal([]byte(raw), &object); err != nil {
				return nil, fmt.Errorf("not a JSON object: %v", err)
			}
			if err := addJSON(object); err != nil {
				return nil, err
			}
			break
		}
		for _, entry := range strings.Split(raw, ",") {
			if strings.TrimSpace(entry) == "" {
				continue
			}
			workspace, recipient, ok := strings.Cut(entry, "=")
			if !ok {
				return nil, fmt.Errorf("entry %q: want workspace=recipient", strings.TrimSpace(entry))
			}
			add(workspace, recipient)
		}
	default:
		return nil, fmt.Errorf("want a string or an object, got %T", raw)
	}

	owner := map[string]string{}
	var routes []inboundRoute
	for workspace, recipients := range byWorkspace {
		if !workspacePattern.MatchString(workspace) {
			return nil, fmt.Errorf("workspace id %q: want 1-64 letters, digits, - or _", workspace)
		}
		slices.Sort(recipients)
		recipients = slices.Compact(recipients)
		for _, recipient := range recipients {
			if !recipientPattern.MatchString(recipient) {
				return nil, fmt.Errorf("workspace %q: %q is not an address or a domain", workspace, recipient)
			}
			key := strings.ToLower(recipient)
			if other, taken := owner[key]; taken {
				// SES would store the message for both, filing it twice.
				return nil, fmt.Errorf("recipient %q is routed to both %q and %q", recipient, other, workspace)
			}
			owner[key] = workspace
		}
		if len(recipients) > maxRecipientsPerRule {
			return nil, fmt.Errorf("workspace %q: %d recipients, SES allows %d per rule", workspace, len(recipients), maxRecipientsPerRule)
		}
		routes = append(routes, inboundRoute{workspace: workspace, recipients: recipients})
	}
	slices.SortFunc(routes, func(a, b inboundRoute) int { return strings.Compare(a.workspace, b.workspace) })
	return routes, nil
}
