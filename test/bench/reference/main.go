// Command reference is the yardstick make bench measures Parley's
// functions against: the smallest useful Go Lambda, built the same way. It
// loads the SDK's default configuration, creates a DynamoDB client at init
// and reads one item per invocation.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func main() {
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		panic(err)
	}
	db := dynamodb.NewFromConfig(cfg)
	table := os.Getenv("TABLE_NAME")
	lambda.Start(func(ctx context.Context, in struct{ ID string }) (int, error) {
		out, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table),
			Key: map[string]types.AttributeValue{"PK": &types.AttributeValueMemberS{Value: in.ID}, "SK": &types.AttributeValueMemberS{Value: "A"}}})
		if err != nil {
			return 0, err
		}
		return len(out.Item), nil
	})
}
