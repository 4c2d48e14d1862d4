// Package lambdainvoke starts work in another Lambda function
// asynchronously (InvocationType Event): Lambda queues the event, retries
// a failed run twice, and sends what still fails to the function's
// on-failure destination.
package lambdainvoke

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/parley-inbox/parley/shared/inbox"
)

// API is the part of the Lambda client used.
type API interface {
	Invoke(context.Context, *lambda.InvokeInput, ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
}

// ExportJob is the event functions/exporter takes.
type ExportJob struct {
	WorkspaceID string `json:"workspaceId"`
	ExportID    string `json:"exportId"`
}

// Exports starts background exports in functions/exporter.
type Exports struct {
	Client   API
	Function string // the exporter's name or ARN
}

var _ inbox.ExportRunner = Exports{}

// RunExportAsync queues the export's run; it returns once Lambda has
// accepted the event (202), not when the export is done.
func (e Exports) RunExportAsync(ctx context.Context, workspaceID, exportID string) error {
	payload, err := json.Marshal(ExportJob{WorkspaceID: workspaceID, ExportID: exportID})
	if err != nil {
		return inbox.Internal(err)
	}
	_, err = e.Client.Invoke(ctx, &lambda.InvokeInput{
		FunctionName: aws.String(e.Function), InvocationType: types.InvocationTypeEvent, Payload: payload,
	})
	if err != nil {
		return &inbox.Error{Kind: inbox.KindUnavailable, Message: "the export could not be started; retry", Err: err}
	}
	return nil
}
