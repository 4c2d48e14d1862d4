package email

import (
	"bytes"
	"context"
	"io"
	"strings"

	"github.com/parley-inbox/parley/shared/inbox"
)

// RawMail reads a stored raw email (shared/adapter/objectstore.S3 on the
// inbound mail bucket, or its local stand-in).
type RawMail interface {
	Get(ctx context.Context, bucket, key string) ([]byte, error)
}

// MediaSource opens an inbound email's files from the raw message SES
// stored: the table holds only their names, types and sizes.
type MediaSource struct {
	Objects RawMail
	Bucket  string
	// KeyPrefix, when set, is where a workspace's mail is stored: a key
	// elsewhere is not read.
	KeyPrefix func(workspaceID string) string
}

var _ inbox.MediaSource = (*MediaSource)(nil)

// Open parses the raw email as ParseMIMEWith did and returns its n-th
// file. Mail that was filed partially (past the parsing limits) has none.
func (s *MediaSource) Open(ctx context.Context, m *inbox.Message, n int) (io.ReadCloser, string, error) {
	if m.Email == nil || m.Email.Raw == "" {
		return nil, "", inbox.Errorf(inbox.KindNotFound, "the email's raw message was not kept")
	}
	if s.KeyPrefix != nil && !strings.HasPrefix(m.Email.Raw, s.KeyPrefix(m.WorkspaceID)) || strings.Contains(m.Email.Raw, "..") {
		return nil, "", inbox.Invalid("email", "the raw message is not in this workspace's mail")
	}
	// objectstore bounds the read at SES's 40 MB.
	raw, err := s.Objects.Get(ctx, s.Bucket, m.Email.Raw)
	if err != nil {
		return nil, "", err
	}
	if why := tooBig(raw); why != "" {
		return nil, "", inbox.Errorf(inbox.KindNotFound, "the email was filed without its files (%s)", why)
	}
	env, err := parser.ReadEnvelope(bytes.NewReader(raw))
	if err != nil {
		return nil, "", &inbox.Error{Kind: inbox.KindInvalid, Message: "email is not a MIME message", Err: err}
	}
	parts := fileParts(env)
	if n < 0 || n >= len(parts) {
		return nil, "", inbox.Errorf(inbox.KindNotFound, "the email has no file %d", n)
	}
	return io.NopCloser(bytes.NewReader(parts[n].Content)), contentType(parts[n].ContentType), nil
}
