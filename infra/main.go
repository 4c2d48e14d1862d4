// Command infra is the CDK app that deploys the Parley backend.
package main

import (
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

// defaultAssetsDir is where `make build` leaves the Lambda zips, relative to
// infra/ (the CDK CLI runs the app from here).
const defaultAssetsDir = "../.build"

func main() {
	defer jsii.Close()

	app := awscdk.NewApp(nil)

	NewParleyStack(app, "Parley", &ParleyStackProps{
		StackProps: awscdk.StackProps{Env: env()},
		AssetsDir:  assetsDir(app),
	})

	app.Synth(nil)
}

// env targets the account and region the CLI resolved. Either may be empty
// (e.g. an offline synth without credentials); leaving it nil keeps the stack
// environment-agnostic instead of failing on an empty string.
func env() *awscdk.Environment {
	return &awscdk.Environment{
		Account: nonEmpty(os.Getenv("CDK_DEFAULT_ACCOUNT")),
		Region:  nonEmpty(os.Getenv("CDK_DEFAULT_REGION")),
	}
}

// assetsDir reads the `assetsDir` context value (-c assetsDir=...).
func assetsDir(app awscdk.App) string {
	if dir, ok := app.Node().TryGetContext(jsii.String("assetsDir")).(string); ok && dir != "" {
		return dir
	}
	return defaultAssetsDir
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
