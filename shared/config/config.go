// Package config reads Parley's configuration from the environment, once,
// at cold start.
package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// The environment variables infra/ sets on the functions. Both sides use
// these names, so the stack and the functions cannot drift apart.
const (
	EnvTableName                 = "TABLE_NAME"
	EnvCursorSecretARN           = "CURSOR_SECRET_ARN"
	EnvProviderSecretsARN        = "PROVIDER_SECRETS_ARN"
	EnvPublicURL                 = "PUBLIC_URL"
	EnvWebhookPathToken          = "WEBHOOK_PATH_TOKEN"
	EnvEventBusName              = "EVENT_BUS_NAME"
	EnvSchedulerGroup            = "SCHEDULER_GROUP"
	EnvSchedulerRoleARN          = "SCHEDULER_ROLE_ARN"
	EnvScheduleDLQARN            = "SCHEDULE_DLQ_ARN"
	EnvSenderFunctionARN         = "SENDER_FUNCTION_ARN"
	EnvEmailDomain               = "EMAIL_DOMAIN"
	EnvDripStateMachineARN       = "DRIP_STATE_MACHINE_ARN"
	EnvAutomationStateMachineARN = "AUTOMATION_STATE_MACHINE_ARN"
	// EnvCognitoIssuer is the user pool's issuer URL,
	// https://cognito-idp.<region>.amazonaws.com/<pool id>; its JWKS is at
	// <issuer>/.well-known/jwks.json.
	EnvCognitoIssuer = "COGNITO_ISSUER"
	// EnvCognitoClientID is the SPA's app client: an ID token's audience.
	EnvCognitoClientID = "COGNITO_CLIENT_ID"
	// EnvWebSocketEndpoint is the WebSocket API's management endpoint,
	// https://<api id>.execute-api.<region>.amazonaws.com/<stage>.
	EnvWebSocketEndpoint = "WEBSOCKET_ENDPOINT"
	// EnvWebSocketURL is the WebSocket API's public wss:// URL, which the
	// chat widget's settings hand to browsers.
	EnvWebSocketURL = "WEBSOCKET_URL"
	// EnvExportBucket is the bucket background exports are written to.
	EnvExportBucket = "EXPORT_BUCKET"
	// EnvExporterFunction is functions/exporter, which the api invokes
	// asynchronously to run a background export.
	EnvExporterFunction = "EXPORTER_FUNCTION_NAME"
	// EnvExportInlineMax optionally lowers or raises how many messages an
	// export answers directly (api.DefaultInlineMax).
	EnvExportInlineMax = "EXPORT_INLINE_MAX"
	// EnvMediaBucket is the private bucket of attachments: agents' uploads
	// and inbound files copied from providers, under media/<workspace>/.
	EnvMediaBucket = "MEDIA_BUCKET"
	// EnvMailBucket is the bucket SES stores inbound mail in: an email's
	// files are copied from there into the media bucket.
	EnvMailBucket = "MAIL_BUCKET"
	// EnvMachineClients lists the deployment's machine clients (Cognito
	// app clients with client credentials) as JSON: [{"clientId", "workspace",
	// "name"}]. Their tokens carry neither a workspace nor a name.
	EnvMachineClients = "MACHINE_CLIENTS"
	// EnvWebhookQueueURL is the outbound-webhook queue: bus events, retries
	// waiting out their backoff, and bulk replays' pages.
	EnvWebhookQueueURL = "WEBHOOK_QUEUE_URL"
)

// MachineClient is one machine client as EnvMachineClients lists it; the
// stack writes the list with this type, so both sides read the same JSON.
type MachineClient struct {
	ClientID  string `json:"clientId"`
	Workspace string `json:"workspace"`
	Name      string `json:"name"`
}

// ParseMachineClients reads EnvMachineClients' JSON; "" is none.
func ParseMachineClients(raw string) ([]MachineClient, error) {
	if raw == "" {
		return nil, nil
	}
	var list []MachineClient
	if err := json.Unmarshal([]byte(raw), &list); err != nil {
		return nil, fmt.Errorf("%s is not a JSON list of {clientId, workspace, name}: %w", EnvMachineClients, err)
	}
	seen := map[string]bool{}
	for _, c := range list {
		if c.ClientID == "" || c.Workspace == "" || strings.Contains(c.Workspace, "#") || seen[c.ClientID] {
			return nil, fmt.Errorf("%s: each client needs its own clientId and a workspace (without #), got %+v", EnvMachineClients, c)
		}
		seen[c.ClientID] = true
	}
	return list, nil
}

// Exports is where background exports go: the bucket, the function that
// runs them, and how many messages are answered directly (0: the default).
type Exports struct {
	Bucket, ExporterFunction string
	InlineMax                int
}

// Scheduling is EventBridge Scheduler's group, the role it assumes, its
// dead-letter queue, and the sender function it invokes.
type Scheduling struct {
	Group, RoleARN, DeadLetterARN string
	// SenderFunctionARN is empty in the sender itself, which targets itself.
	SenderFunctionARN string
}

// StateMachines are the drip and automation state machines.
type StateMachines struct{ DripARN, AutomationARN string }

// Webhook is where providers post back to: the public base URL and the
// optional secret first path segment.
type Webhook struct{ PublicURL, PathToken string }

// BaseURL is Webhook's base for provider callbacks (see WebhookBaseURL).
func (w Webhook) BaseURL() string { return WebhookBaseURL(w.PublicURL, w.PathToken) }

// API configures functions/api.
type API struct {
	TableName, CursorSecretARN string
	// ProviderSecretsARN holds the workspaces' WhatsApp Business Account
	// ids and tokens, which /templates submits templates to Meta with.
	ProviderSecretsARN string
	Scheduling         Scheduling
	StateMachines      StateMachines
	Exports            Exports
	// MediaBucket is where uploads go and attachments are read from.
	MediaBucket string
	// MachineClients may call the API with client-credentials tokens.
	MachineClients []MachineClient
	// WebhookQueueURL takes replays of outbound webhooks.
	WebhookQueueURL string
}

// Exporter configures functions/exporter: it reads the table and writes
// export files to the bucket; for contact imports it reads uploads from
// the media bucket, writes contacts, and invokes itself (Self, the name
// Lambda gives the function) to go on past one run.
type Exporter struct{ TableName, ExportBucket, MediaBucket, Self string }

// Media configures functions/media, which copies inbound files from the
// providers (and inbound mail) into the media bucket.
type Media struct {
	TableName, ProviderSecretsARN, MediaBucket, MailBucket string
}

// MediaFromEnv reads functions/media's configuration.
func MediaFromEnv() (Media, error) {
	var e env
	c := Media{TableName: e.need(EnvTableName), ProviderSecretsARN: e.need(EnvProviderSecretsARN),
		MediaBucket: e.need(EnvMediaBucket), MailBucket: e.need(EnvMailBucket)}
	return c, e.err()
}

// ExporterFromEnv reads functions/exporter's configuration.
func ExporterFromEnv() (Exporter, error) {
	var e env
	c := Exporter{TableName: e.need(EnvTableName), ExportBucket: e.need(EnvExportBucket), MediaBucket: e.need(EnvMediaBucket),
		Self: os.Getenv("AWS_LAMBDA_FUNCTION_NAME")}
	return c, e.err()
}

// Webhooks configures functions/webhooks.
type Webhooks struct {
	TableName, CursorSecretARN, ProviderSecretsARN, EventBusName string
	// EmailDomain names web chat verification emails' Message-IDs; empty
	// uses the From domain.
	EmailDomain string
	Webhook     Webhook
	// WebSocketURL is where the chat widget connects (wss://...).
	WebSocketURL string
}

// Mail configures functions/mail: SES inbound mail, through SNS, on the
// webhook routes' path (and path token). It reads no PUBLIC_URL: SNS signs
// its message, not the URL it posts to.
type Mail struct {
	TableName, ProviderSecretsARN string
	// PathToken is the webhook path token, "" for none.
	PathToken string
}

// Publisher configures functions/publisher. It writes the table too: the
// change log for delta sync and the inbox counters.
type Publisher struct{ TableName, EventBusName string }

// Sender configures functions/sender.
type Sender struct {
	TableName, ProviderSecretsARN, EmailDomain string
	Webhook                                    Webhook
	Scheduling                                 Scheduling
	// MediaBucket holds uploaded files, which providers fetch through
	// links the sender signs and emails carry.
	MediaBucket string
}

// Sequences configures functions/sequences.
type Sequences struct {
	TableName     string
	Scheduling    Scheduling
	StateMachines StateMachines
}

// Realtime configures functions/realtime: the WebSocket API's routes and
// the fan-out of domain events to its connections.
type Realtime struct {
	TableName, WebSocketEndpoint string
}

// Authorizer configures functions/authorizer, the WebSocket API's $connect
// authorizer: agents' Cognito tokens, and visitors' tokens, which the
// cursor secret signs.
type Authorizer struct {
	CognitoIssuer, CognitoClientID, CursorSecretARN string
}

// RealtimeFromEnv reads functions/realtime's configuration.
func RealtimeFromEnv() (Realtime, error) {
	var e env
	c := Realtime{TableName: e.need(EnvTableName), WebSocketEndpoint: e.need(EnvWebSocketEndpoint)}
	return c, e.err()
}

// AuthorizerFromEnv reads functions/authorizer's configuration.
func AuthorizerFromEnv() (Authorizer, error) {
	var e env
	c := Authorizer{CognitoIssuer: e.need(EnvCognitoIssuer), CognitoClientID: e.need(EnvCognitoClientID), CursorSecretARN: e.need(EnvCursorSecretARN)}
	return c, e.err()
}

// APIFromEnv reads functions/api's configuration.
func APIFromEnv() (API, error) {
	var e env
	c := API{TableName: e.need(EnvTableName), CursorSecretARN: e.need(EnvCursorSecretARN),
		ProviderSecretsARN: e.need(EnvProviderSecretsARN), Scheduling: e.scheduling(true), StateMachines: e.stateMachines(),
		Exports:     Exports{Bucket: e.need(EnvExportBucket), ExporterFunction: e.need(EnvExporterFunction), InlineMax: e.count(EnvExportInlineMax)},
		MediaBucket: e.need(EnvMediaBucket), MachineClients: e.machineClients(),
		WebhookQueueURL: e.need(EnvWebhookQueueURL)}
	return c, e.err()
}

// Integrations configures functions/integrations: outbound webhooks read
// from and queued on the webhook queue, a disabled subscription announced
// on the bus and emailed (through the workspaces' mailboxes) to admins.
type Integrations struct {
	TableName, ProviderSecretsARN, EventBusName, WebhookQueueURL string
	// EmailDomain names the admins' emails' Message-IDs; empty uses the
	// From domain.
	EmailDomain string
}

// IntegrationsFromEnv reads functions/integrations' configuration.
func IntegrationsFromEnv() (Integrations, error) {
	var e env
	c := Integrations{TableName: e.need(EnvTableName), ProviderSecretsARN: e.need(EnvProviderSecretsARN),
		EventBusName: e.need(EnvEventBusName), WebhookQueueURL: e.need(EnvWebhookQueueURL), EmailDomain: os.Getenv(EnvEmailDomain)}
	return c, e.err()
}

// WebhooksFromEnv reads functions/webhooks' configuration.
func WebhooksFromEnv() (Webhooks, error) {
	var e env
	c := Webhooks{TableName: e.need(EnvTableName), CursorSecretARN: e.need(EnvCursorSecretARN),
		ProviderSecretsARN: e.need(EnvProviderSecretsARN), EventBusName: e.need(EnvEventBusName),
		EmailDomain: os.Getenv(EnvEmailDomain), Webhook: e.webhook(), WebSocketURL: e.need(EnvWebSocketURL)}
	return c, e.err()
}

// MailFromEnv reads functions/mail's configuration.
func MailFromEnv() (Mail, error) {
	var e env
	c := Mail{TableName: e.need(EnvTableName), ProviderSecretsARN: e.need(EnvProviderSecretsARN),
		PathToken: e.pathToken()}
	return c, e.err()
}

// PublisherFromEnv reads functions/publisher's configuration.
func PublisherFromEnv() (Publisher, error) {
	var e env
	c := Publisher{TableName: e.need(EnvTableName), EventBusName: e.need(EnvEventBusName)}
	return c, e.err()
}

// SenderFromEnv reads functions/sender's configuration.
func SenderFromEnv() (Sender, error) {
	var e env
	c := Sender{TableName: e.need(EnvTableName), ProviderSecretsARN: e.need(EnvProviderSecretsARN),
		EmailDomain: os.Getenv(EnvEmailDomain), Webhook: e.webhook(), Scheduling: e.scheduling(false),
		MediaBucket: e.need(EnvMediaBucket)}
	return c, e.err()
}

// SequencesFromEnv reads functions/sequences' configuration.
func SequencesFromEnv() (Sequences, error) {
	var e env
	c := Sequences{TableName: e.need(EnvTableName), Scheduling: e.scheduling(true), StateMachines: e.stateMachines()}
	return c, e.err()
}

// env reads variables and collects every problem, so one failed cold
// start names all of them.
type env struct{ problems []error }

func (e *env) need(name string) string {
	v := os.Getenv(name)
	if v == "" {
		e.problems = append(e.problems, fmt.Errorf("environment variable %s is not set", name))
	}
	return v
}

// count reads an optional positive number; unset is 0.
func (e *env) count(name string) int {
	v := os.Getenv(name)
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		e.problems = append(e.problems, fmt.Errorf("environment variable %s must be a positive number", name))
	}
	return n
}

func (e *env) scheduling(withTarget bool) Scheduling {
	s := Scheduling{Group: e.need(EnvSchedulerGroup), RoleARN: e.need(EnvSchedulerRoleARN), DeadLetterARN: os.Getenv(EnvScheduleDLQARN)}
	if withTarget {
		s.SenderFunctionARN = e.need(EnvSenderFunctionARN)
	}
	return s
}

func (e *env) stateMachines() StateMachines {
	return StateMachines{DripARN: e.need(EnvDripStateMachineARN), AutomationARN: e.need(EnvAutomationStateMachineARN)}
}

func (e *env) webhook() Webhook {
	return Webhook{PublicURL: e.need(EnvPublicURL), PathToken: e.pathToken()}
}

// pathToken reads the optional webhook path token and checks its form.
func (e *env) pathToken() string {
	token := os.Getenv(EnvWebhookPathToken)
	if token != "" && !PathTokenPattern.MatchString(token) {
		e.problems = append(e.problems, fmt.Errorf("%s must match %s", EnvWebhookPathToken, PathTokenPattern))
	}
	return token
}

func (e *env) machineClients() []MachineClient {
	list, err := ParseMachineClients(os.Getenv(EnvMachineClients))
	if err != nil {
		e.problems = append(e.problems, err)
	}
	return list
}

func (e *env) err() error { return errors.Join(e.problems...) }

// PathTokenPattern is what a webhook path token must match: long enough not
// to be guessed, and plain enough to sit unescaped in a URL and a route key.
var PathTokenPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{22,64}$`)

// WebhookBaseURL is where providers post: publicURL/webhooks, then the
// path token when the deployment has one.
func WebhookBaseURL(publicURL, token string) string {
	if token == "" {
		return publicURL + "/webhooks"
	}
	return publicURL + "/webhooks/" + token
}

// Local configures the single-process development stack (make dev).
type Local struct {
	// Addr is where the API listens.
	Addr string
	// DataDir holds DynamoDB Local's files and the development signing key.
	DataDir string
	// DynamoDBEndpoint reuses a running DynamoDB Local instead of starting one.
	DynamoDBEndpoint string
	// DynamoDBPort is the port of the DynamoDB Local that make dev starts.
	DynamoDBPort string
	// InMemory keeps DynamoDB Local's data in memory (tests).
	InMemory  bool
	TableName string
	// PublicURL is the base URL providers post webhooks to, which their
	// signatures cover. The default matches the signed samples in events/.
	PublicURL string
	// WebhookPathToken, when set, makes the local stack serve webhooks under
	// /webhooks/<token>/ as a deployment with a path token does.
	WebhookPathToken string
	// TimeScale speeds up sequences' waits: 1440 runs a day's wait in a
	// minute, so a three-day drip shows in minutes.
	TimeScale float64
	// ExportInlineMax is how many messages an export answers directly
	// before it goes to the background (0: api.DefaultInlineMax); the e2e
	// suite lowers it to exercise the background path quickly.
	ExportInlineMax int
	// WebhookBackoffScale multiplies outbound webhooks' retry waits
	// (inbox.WebhookBackoff): 0.0002 turns four days of retries into about
	// a minute, for tests. 1 unless PARLEY_WEBHOOK_BACKOFF_SCALE is set.
	WebhookBackoffScale float64
}

// LocalFromEnv reads the PARLEY_* variables, with make dev's defaults.
func LocalFromEnv() Local {
	return Local{
		Addr:             envOr("PARLEY_ADDR", "127.0.0.1:8080"),
		DataDir:          envOr("PARLEY_DATA_DIR", ".local"),
		DynamoDBEndpoint: os.Getenv("PARLEY_DYNAMODB_ENDPOINT"),
		DynamoDBPort:     envOr("PARLEY_DYNAMODB_PORT", "8000"),
		InMemory:         os.Getenv("PARLEY_IN_MEMORY") == "1",
		TableName:        envOr("PARLEY_TABLE", "parley"),
		PublicURL:        envOr("PARLEY_PUBLIC_URL", "https://api.parley.example"),
		WebhookPathToken: os.Getenv("PARLEY_WEBHOOK_PATH_TOKEN"),
		TimeScale:        timeScale(os.Getenv("PARLEY_TIME_SCALE")),
		ExportInlineMax:  positive(os.Getenv("PARLEY_EXPORT_INLINE_MAX")),
		// The same parsing as the time scale: anything but a positive number is 1.
		WebhookBackoffScale: timeScale(os.Getenv("PARLEY_WEBHOOK_BACKOFF_SCALE")),
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// Must stops a Lambda's cold start on a failed step, saying which: the
// function cannot serve without it, and Lambda reports the init failure.
func Must(log *slog.Logger, step string, err error) {
	if err != nil {
		log.Error("cold start failed", "step", step, "err", err)
		os.Exit(1)
	}
}

// timeScale reads PARLEY_TIME_SCALE; anything but a positive number is 1.
func timeScale(v string) float64 {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f <= 0 {
		return 1
	}
	return f
}

// positive reads a positive number; anything else is 0 (the default).
func positive(v string) int {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0
	}
	return n
}
