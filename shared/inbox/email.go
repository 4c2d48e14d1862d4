package inbox

import (
	"context"
	"strings"
)

// IngestEmail files an inbound email: in the thread its In-Reply-To or
// References point at, when that is a reply of Parley's or an email the
// same sender sent, and the thread is the sender's contact's; else in the
// sender's thread.
func (s *Intake) IngestEmail(ctx context.Context, in Inbound) (*IngestResult, error) {
	if in.Email != nil {
		refs := append([]string{in.Email.InReplyTo}, reversed(in.Email.References)...)
		for _, id := range refs {
			if id == "" {
				continue
			}
			// Parley's own emails carry their delivery ref as the Message-ID.
			local, _, _ := strings.Cut(strings.Trim(id, "<>"), "@")
			if ref, ok := ParseDeliveryRef(local); ok {
				in.ThreadHint = ref.ConversationID
				break
			}
			// Message-IDs are unique only per sender (see dedupeID).
			ref, err := s.store.FindProviderRef(ctx, in.WorkspaceID, ChannelEmail, emailRef(in.From.Email, id))
			if err == nil {
				in.ThreadHint = ref.ConversationID
				break
			}
			if !IsKind(err, KindNotFound) {
				return nil, err
			}
		}
	}
	// Ingest records the email's Message-ID (a durable provider id), so
	// replies to it thread here.
	return s.Ingest(ctx, in)
}

// reversed lists References newest first: the last one is the parent.
func reversed(ids []string) []string {
	out := make([]string, 0, len(ids))
	for i := len(ids) - 1; i >= 0; i-- {
		out = append(out, ids[i])
	}
	return out
}
