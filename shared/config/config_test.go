package config_test

import (
	"strings"
	"testing"

	"github.com/parley-inbox/parley/shared/config"
)

func TestMissingVariablesAreAllNamed(t *testing.T) {
	for _, name := range []string{config.EnvTableName, config.EnvProviderSecretsARN, config.EnvPublicURL,
		config.EnvSchedulerGroup, config.EnvSchedulerRoleARN, config.EnvWebhookPathToken} {
		t.Setenv(name, "")
	}
	_, err := config.SenderFromEnv()
	for _, name := range []string{"TABLE_NAME", "PROVIDER_SECRETS_ARN", "PUBLIC_URL", "SCHEDULER_GROUP", "SCHEDULER_ROLE_ARN"} {
		if err == nil || !strings.Contains(err.Error(), name+" is not set") {
			t.Errorf("err = %v, want it to name %s", err, name)
		}
	}
}

func TestSenderConfig(t *testing.T) {
	for name, v := range map[string]string{
		config.EnvTableName: "parley", config.EnvProviderSecretsARN: "arn:secret", config.EnvPublicURL: "https://api.example",
		config.EnvSchedulerGroup: "g", config.EnvSchedulerRoleARN: "arn:role", config.EnvScheduleDLQARN: "arn:dlq",
		config.EnvWebhookPathToken: "Zq3v_8KpLw2Rj5Tn0YbXcA", config.EnvSenderFunctionARN: "arn:ignored",
		config.EnvMediaBucket: "media",
	} {
		t.Setenv(name, v)
	}
	c, err := config.SenderFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	want := config.Sender{TableName: "parley", ProviderSecretsARN: "arn:secret",
		Webhook:     config.Webhook{PublicURL: "https://api.example", PathToken: "Zq3v_8KpLw2Rj5Tn0YbXcA"},
		Scheduling:  config.Scheduling{Group: "g", RoleARN: "arn:role", DeadLetterARN: "arn:dlq"},
		MediaBucket: "media"}
	if c != want {
		t.Errorf("got %+v\nwant %+v", c, want)
	}
	if got := c.Webhook.BaseURL(); got != "https://api.example/webhooks/Zq3v_8KpLw2Rj5Tn0YbXcA" {
		t.Errorf("BaseURL = %s", got)
	}
}

func TestMalformedPathTokenIsRefused(t *testing.T) {
	t.Setenv(config.EnvEventBusName, "bus")
	for name, v := range map[string]string{config.EnvTableName: "t", config.EnvCursorSecretARN: "c",
		config.EnvProviderSecretsARN: "p", config.EnvPublicURL: "https://api.example", config.EnvWebhookPathToken: "short"} {
		t.Setenv(name, v)
	}
	if _, err := config.WebhooksFromEnv(); err == nil || !strings.Contains(err.Error(), "WEBHOOK_PATH_TOKEN must match") {
		t.Errorf("err = %v, want the path token refused", err)
	}
}

func TestMailConfig(t *testing.T) {
	for name, v := range map[string]string{config.EnvTableName: "parley", config.EnvProviderSecretsARN: "arn:secret",
		config.EnvWebhookPathToken: "Zq3v_8KpLw2Rj5Tn0YbXcA", config.EnvPublicURL: ""} {
		t.Setenv(name, v)
	}
	c, err := config.MailFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	want := config.Mail{TableName: "parley", ProviderSecretsARN: "arn:secret", PathToken: "Zq3v_8KpLw2Rj5Tn0YbXcA"}
	if c != want {
		t.Errorf("got %+v\nwant %+v", c, want)
	}
	t.Setenv(config.EnvWebhookPathToken, "short")
	if _, err := config.MailFromEnv(); err == nil || !strings.Contains(err.Error(), "WEBHOOK_PATH_TOKEN must match") {
		t.Errorf("err = %v, want the path token refused", err)
	}
}

func TestMediaConfig(t *testing.T) {
	for name, v := range map[string]string{config.EnvTableName: "parley", config.EnvProviderSecretsARN: "arn:secret",
		config.EnvMediaBucket: "media", config.EnvMailBucket: "mail"} {
		t.Setenv(name, v)
	}
	c, err := config.MediaFromEnv()
	if want := (config.Media{TableName: "parley", ProviderSecretsARN: "arn:secret", MediaBucket: "media", MailBucket: "mail"}); err != nil || c != want {
		t.Errorf("got %+v, %v; want %+v", c, err, want)
	}
}

func TestParseMachineClients(t *testing.T) {
	got, err := config.ParseMachineClients(`[{"clientId":"abc","workspace":"ws1","name":"CRM"},{"clientId":"def","workspace":"ws2"}]`)
	want := []config.MachineClient{{ClientID: "abc", Workspace: "ws1", Name: "CRM"}, {ClientID: "def", Workspace: "ws2"}}
	if err != nil || len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("ParseMachineClients = %+v, %v; want %+v", got, err, want)
	}
	if got, err := config.ParseMachineClients(""); err != nil || got != nil {
		t.Errorf("unset = %+v, %v; want none", got, err)
	}
	for _, bad := range []string{`{"clientId":"abc"}`, `[{"clientId":"abc"}]`, `[{"workspace":"ws"}]`, `[{"clientId":"a","workspace":"w#x"}]`,
		`[{"clientId":"a","workspace":"w"},{"clientId":"a","workspace":"v"}]`} {
		if _, err := config.ParseMachineClients(bad); err == nil || !strings.Contains(err.Error(), config.EnvMachineClients) {
			t.Errorf("ParseMachineClients(%s) = %v, want an error naming %s", bad, err, config.EnvMachineClients)
		}
	}
}
