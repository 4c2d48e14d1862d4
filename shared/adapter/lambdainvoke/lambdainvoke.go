// Package lambdainvoke starts work in another Lambda function
// asynchronously (InvocationType Event): Lambda queues the event, retries
// a failed run twice, and sends what still fails to the function's
// on-failure destination.
//
// It makes the one Invoke call with the core SDK's SigV4 signer rather than
// the Lambda client, whose generated code would take the api past its size
// budget (see README "Lambda size").
package lambdainvoke

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/parley-inbox/parley/shared/inbox"
)

// ExportJob is the event functions/exporter takes: an export, or a
// contact import (ImportID set instead).
type ExportJob struct {
	WorkspaceID string `json:"workspaceId"`
	ExportID    string `json:"exportId,omitempty"`
	ImportID    string `json:"importId,omitempty"`
}

// Exports starts background exports in functions/exporter.
type Exports struct {
	Credentials aws.CredentialsProvider
	Region      string
	Function    string // the exporter's name or ARN
	// Endpoint replaces https://lambda.<region>.amazonaws.com (tests).
	Endpoint string
	Client   *http.Client
}

var (
	_ inbox.ExportRunner = Exports{}
	_ inbox.ImportRunner = Exports{}
)

// RunImportAsync starts (or continues) a contact import in functions/exporter.
func (e Exports) RunImportAsync(ctx context.Context, workspaceID, importID string) error {
	payload, err := json.Marshal(ExportJob{WorkspaceID: workspaceID, ImportID: importID})
	if err != nil {
		return inbox.Internal(err)
	}
	if err := e.invoke(ctx, payload); err != nil {
		return &inbox.Error{Kind: inbox.KindUnavailable, Message: "the import could not be started; retry", Err: err}
	}
	return nil
}

// RunExportAsync queues the export's run; it returns once Lambda has
// accepted the event (202), not when the export is done.
func (e Exports) RunExportAsync(ctx context.Context, workspaceID, exportID string) error {
	payload, err := json.Marshal(ExportJob{WorkspaceID: workspaceID, ExportID: exportID})
	if err != nil {
		return inbox.Internal(err)
	}
	if err := e.invoke(ctx, payload); err != nil {
		return &inbox.Error{Kind: inbox.KindUnavailable, Message: "the export could not be started; retry", Err: err}
	}
	return nil
}

// invoke is Lambda's Invoke API: POST /2015-03-31/functions/<name>/invocations
// with X-Amz-Invocation-Type: Event, answered 202 when the event is queued.
func (e Exports) invoke(ctx context.Context, payload []byte) error {
	base := e.Endpoint
	if base == "" {
		base = "https://lambda." + e.Region + ".amazonaws.com"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost,
		base+"/2015-03-31/functions/"+url.PathEscape(e.Function)+"/invocations", bytes.NewReader(payload))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Amz-Invocation-Type", "Event")
	creds, err := e.Credentials.Retrieve(ctx)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(payload)
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "lambda", e.Region, time.Now().UTC()); err != nil {
		return err
	}
	client := e.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return fmt.Errorf("invoke %s: %s: %s", e.Function, resp.Status, msg)
	}
	return nil
}
