package inbox

import "context"

// RequestRecord is the remembered outcome of an API create made with an
// Idempotency-Key. Status is 0 while the first request is still running.
type RequestRecord struct {
	Fingerprint string
	Status      int
	Body        []byte
}

// RequestLog stores RequestRecords for a day, keyed by a hash of the caller
// and their key, so retried creates are answered without running twice.
type RequestLog interface {
	// ClaimRequest records a new request, or returns the earlier one.
	ClaimRequest(ctx context.Context, workspaceID, hash, fingerprint string) (*RequestRecord, error)
	CompleteRequest(ctx context.Context, workspaceID, hash string, status int, body []byte) error
	ReleaseRequest(ctx context.Context, workspaceID, hash string) error
}
