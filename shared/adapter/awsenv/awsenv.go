// Package awsenv builds the AWS SDK's configuration from a Lambda
// function's environment: the region and the execution role's credentials
// are there, so the SDK's default chain (shared files, SSO, STS, IMDS) is
// neither needed nor linked. It took 5 ms of every cold start.
package awsenv

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/parley-inbox/parley/shared/config"
)

// Config reads AWS_REGION (or AWS_DEFAULT_REGION) and the credentials
// Lambda sets. AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE> still
// redirect clients, as the SDK's own loader would, for local stand-ins.
func Config() (aws.Config, error) {
	region := cmpOr(os.Getenv("AWS_REGION"), os.Getenv("AWS_DEFAULT_REGION"))
	key, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	if region == "" || key == "" || secret == "" {
		return aws.Config{}, errors.New("awsenv: AWS_REGION, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set, as Lambda sets them")
	}
	cfg := aws.Config{
		Region:        region,
		Credentials:   aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(key, secret, os.Getenv("AWS_SESSION_TOKEN"))),
		ConfigSources: []any{endpoints{}},
	}
	// Clients expect the global endpoint here, and look for their own only
	// when it has one (see resolveBaseEndpoint in each service package).
	if v := os.Getenv("AWS_ENDPOINT_URL"); v != "" {
		cfg.BaseEndpoint = aws.String(v)
	}
	return cfg, nil
}

// endpoints answers a client's question "is there a configured endpoint
// for this service?" from AWS_ENDPOINT_URL_<SERVICE ID>, the variable the
// AWS SDKs document ("Secrets Manager" is SECRETS_MANAGER).
type endpoints struct{}

func (endpoints) GetServiceBaseEndpoint(_ context.Context, sdkID string) (string, bool, error) {
	v := os.Getenv("AWS_ENDPOINT_URL_" + strings.ToUpper(strings.ReplaceAll(sdkID, " ", "_")))
	return v, v != "", nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Boot is every function's cold start: a JSON logger, the function's typed
// configuration (read by fromEnv) and the AWS config. A failure is logged
// and exits, so Lambda reports the init as failed.
func Boot[C any](fromEnv func() (C, error)) (C, aws.Config, *slog.Logger) {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	cfg, err := fromEnv()
	config.Must(log, "config", err)
	awsCfg, err := Config()
	config.Must(log, "aws config", err)
	return cfg, awsCfg, log
}
