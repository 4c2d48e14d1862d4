package awsenv_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/parley-inbox/parley/shared/adapter/awsenv"
)

func lambdaEnv(t *testing.T) {
	t.Setenv("AWS_REGION", "eu-west-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDLAMBDA")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_SESSION_TOKEN", "session")
	t.Setenv("AWS_ENDPOINT_URL", "")
	t.Setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", "")
}

func TestConfigTakesRegionAndCredentialsFromLambdasEnvironment(t *testing.T) {
	lambdaEnv(t)
	cfg, err := awsenv.Config()
	if err != nil {
		t.Fatal(err)
	}
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Region != "eu-west-1" || creds.AccessKeyID != "AKIDLAMBDA" || creds.SecretAccessKey != "secret" || creds.SessionToken != "session" {
		t.Errorf("config = %s with %+v", cfg.Region, creds)
	}
	if got := dynamodb.NewFromConfig(cfg).Options().BaseEndpoint; got != nil {
		t.Errorf("with no endpoint variable, DynamoDB's base endpoint = %q, want the service's own", *got)
	}
}

// The local stack and the cold-start bench point clients at stand-ins.
func TestConfigHonoursEndpointVariables(t *testing.T) {
	lambdaEnv(t)
	t.Setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", "http://127.0.0.1:4566")
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:8000")
	cfg, err := awsenv.Config()
	if err != nil {
		t.Fatal(err)
	}
	if got := secretsmanager.NewFromConfig(cfg).Options().BaseEndpoint; got == nil || *got != "http://127.0.0.1:4566" {
		t.Errorf("Secrets Manager endpoint = %v, want its own variable's", got)
	}
	if got := dynamodb.NewFromConfig(cfg).Options().BaseEndpoint; got == nil || *got != "http://127.0.0.1:8000" {
		t.Errorf("DynamoDB endpoint = %v, want AWS_ENDPOINT_URL", got)
	}
}

func TestConfigRefusesAnEnvironmentWithoutCredentials(t *testing.T) {
	lambdaEnv(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	if _, err := awsenv.Config(); err == nil {
		t.Error("no error without credentials")
	}
}
