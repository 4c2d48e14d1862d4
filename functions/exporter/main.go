// Command exporter is the Lambda that runs background jobs: the api
// invokes it asynchronously with an export job, and it writes the file to
// the export bucket; or with a contact import, which it runs from the
// media bucket's upload and continues by invoking itself.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/parley-inbox/parley/shared/adapter/awsenv"
	"github.com/parley-inbox/parley/shared/adapter/dynamo"
	"github.com/parley-inbox/parley/shared/adapter/lambdainvoke"
	"github.com/parley-inbox/parley/shared/adapter/objectstore"
	"github.com/parley-inbox/parley/shared/adapter/s3link"
	"github.com/parley-inbox/parley/shared/config"
	"github.com/parley-inbox/parley/shared/handler/exporter"
)

func main() {
	cfg, awsCfg, log := awsenv.Boot(config.ExporterFromEnv)
	// No cursor secret: the exporter pages by key, never with a cursor.
	store := dynamo.New(dynamodb.NewFromConfig(awsCfg), cfg.TableName, nil)
	files := objectstore.NewFiles(s3.NewFromConfig(awsCfg), cfg.ExportBucket)
	media := s3link.Links{Credentials: awsCfg.Credentials, Region: awsCfg.Region, Bucket: cfg.MediaBucket}
	self := lambdainvoke.Exports{Credentials: awsCfg.Credentials, Region: awsCfg.Region, Function: cfg.Self}
	lambda.Start(exporter.New(store, files, log).WithImports(media, self).Handle)
}
