// Package config reads Parley's configuration from the environment, once,
// at cold start.
package config

import (
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"strconv"
)

// Lambda is what the deployed functions need; infra/ sets these variables.
type Lambda struct {
	TableName       string
	CursorSecretARN string
	// Webhooks only.
	ProviderSecretsARN string
	PublicURL          string
	// WebhookPathToken is the secret first segment of webhook paths
	// (webhooks, and the sender's Twilio status callbacks); "" for none.
	WebhookPathToken string
	// Events only.
	EventBusName string
	// Scheduling (api, sender): EventBridge Scheduler's group, the role it
	// assumes, its DLQ, and the sender it invokes (empty in the sender).
	SchedulerGroup    string
	SchedulerRoleARN  string
	ScheduleDLQARN    string
	SenderFunctionARN string
	// EmailDomain names the Message-IDs of sent emails.
	EmailDomain string
	// The state machines sequences run on (api, sequences).
	DripStateMachineARN       string
	AutomationStateMachineARN string
}

// FromEnv reads the Lambda configuration and names what is missing of
// the variables the calling function requires.
func FromEnv(required ...string) (Lambda, error) {
	c := Lambda{
		TableName:          os.Getenv("TABLE_NAME"),
		CursorSecretARN:    os.Getenv("CURSOR_SECRET_ARN"),
		ProviderSecretsARN: os.Getenv("PROVIDER_SECRETS_ARN"),
		PublicURL:          os.Getenv("PUBLIC_URL"),
		WebhookPathToken:   os.Getenv("WEBHOOK_PATH_TOKEN"),
		EventBusName:       os.Getenv("EVENT_BUS_NAME"),
		SchedulerGroup:     os.Getenv("SCHEDULER_GROUP"),
		SchedulerRoleARN:   os.Getenv("SCHEDULER_ROLE_ARN"),
		ScheduleDLQARN:     os.Getenv("SCHEDULE_DLQ_ARN"),
		SenderFunctionARN:  os.Getenv("SENDER_FUNCTION_ARN"),
		EmailDomain:        os.Getenv("EMAIL_DOMAIN"),

		DripStateMachineARN:       os.Getenv("DRIP_STATE_MACHINE_ARN"),
		AutomationStateMachineARN: os.Getenv("AUTOMATION_STATE_MACHINE_ARN"),
	}
	for _, name := range required {
		if os.Getenv(name) == "" {
			return c, fmt.Errorf("environment variable %s is not set", name)
		}
	}
	if c.WebhookPathToken != "" && !PathTokenPattern.MatchString(c.WebhookPathToken) {
		return c, fmt.Errorf("WEBHOOK_PATH_TOKEN must match %s", PathTokenPattern)
	}
	return c, nil
}

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
