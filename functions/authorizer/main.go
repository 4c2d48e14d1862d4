// Command authorizer is the WebSocket API's $connect authorizer: agents
// connect with their Cognito ID token, web chat visitors with their
// visitor token, each to their own workspace only.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/parley-inbox/parley/shared/adapter/awsenv"
	"github.com/parley-inbox/parley/shared/adapter/cognito"
	"github.com/parley-inbox/parley/shared/adapter/secrets"
	"github.com/parley-inbox/parley/shared/auth"
	"github.com/parley-inbox/parley/shared/config"
	"github.com/parley-inbox/parley/shared/handler/realtime"
)

func main() {
	ctx := context.Background()
	cfg, awsCfg, log := awsenv.Boot(config.AuthorizerFromEnv)
	key, err := secrets.Value(ctx, secretsmanager.NewFromConfig(awsCfg), cfg.CursorSecretARN)
	config.Must(log, "cursor secret", err)
	agents, err := cognito.New(ctx, cfg.CognitoIssuer, cfg.CognitoClientID)
	config.Must(log, "cognito keys", err)
	gate := realtime.Gate{Agents: agents, Visitors: auth.VisitorTokens{Key: key}}
	lambda.Start(gate.Authorize)
}
