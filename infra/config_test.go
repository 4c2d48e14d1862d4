package main

import (
	"encoding/json"
	"testing"

	"github.com/parley-inbox/parley/shared/config"
)

// Each function's environment in the template is enough for the reader its
// main.go calls: a variable the stack forgets, or names differently, fails
// here instead of at the function's first cold start.
func TestEveryFunctionsEnvironmentSatisfiesItsConfig(t *testing.T) {
	template := synthTemplate(t, map[string]any{"webhookPathToken": "Zq3v_8KpLw2Rj5Tn0YbXcA"})
	readers := map[string]func() error{
		"ApiFunction":          func() error { _, err := config.APIFromEnv(); return err },
		"WebhooksFunction":     func() error { _, err := config.WebhooksFromEnv(); return err },
		"MailFunction":         func() error { _, err := config.MailFromEnv(); return err },
		"PublisherFunction":    func() error { _, err := config.PublisherFromEnv(); return err },
		"SenderFunction":       func() error { _, err := config.SenderFromEnv(); return err },
		"SequencesFunction":    func() error { _, err := config.SequencesFromEnv(); return err },
		"RealtimeFunction":     func() error { _, err := config.RealtimeFromEnv(); return err },
		"AuthorizerFunction":   func() error { _, err := config.AuthorizerFromEnv(); return err },
		"ExporterFunction":     func() error { _, err := config.ExporterFromEnv(); return err },
		"MediaFunction":        func() error { _, err := config.MediaFromEnv(); return err },
		"IntegrationsFunction": func() error { _, err := config.IntegrationsFromEnv(); return err },
	}
	if got := len(template.resourcesOfType("AWS::Lambda::Function")); got != len(readers) {
		t.Errorf("got %d functions, want a reader for each of %d", got, len(readers))
	}
	for prefix, read := range readers {
		t.Run(prefix, func(t *testing.T) {
			_, fn := template.resourceWithPrefix(t, "AWS::Lambda::Function", prefix)
			var props struct {
				Environment struct{ Variables map[string]any }
			}
			if err := json.Unmarshal(fn.Properties, &props); err != nil {
				t.Fatal(err)
			}
			for _, name := range allVariables {
				t.Setenv(name, "")
			}
			for name, v := range props.Environment.Variables {
				value, literal := v.(string)
				if !literal {
					value = "resolved-at-deploy-" + name // a Ref or GetAtt
				}
				t.Setenv(name, value)
			}
			if err := read(); err != nil {
				t.Errorf("with the template's environment: %v", err)
			}
		})
	}
}

var allVariables = []string{
	config.EnvTableName, config.EnvCursorSecretARN, config.EnvProviderSecretsARN, config.EnvPublicURL,
	config.EnvWebhookPathToken, config.EnvEventBusName, config.EnvSchedulerGroup, config.EnvSchedulerRoleARN,
	config.EnvScheduleDLQARN, config.EnvSenderFunctionARN, config.EnvEmailDomain,
	config.EnvDripStateMachineARN, config.EnvAutomationStateMachineARN,
	config.EnvCognitoIssuer, config.EnvCognitoClientID, config.EnvWebSocketEndpoint, config.EnvWebSocketURL,
	config.EnvExportBucket, config.EnvExporterFunction, config.EnvExportInlineMax,
	config.EnvMediaBucket, config.EnvMailBucket,
	config.EnvMachineClients,
	config.EnvWebhookQueueURL,
}
