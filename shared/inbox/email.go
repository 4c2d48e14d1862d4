package inbox

import "context"

// IngestEmail files an inbound email: in the thread its In-Reply-To or
// References point at, when Parley knows one of those messages, else in the
// sender's thread. It then records the email's own Message-ID, so replies
// to it from anyone thread here too.
func (s *Service) IngestEmail(ctx context.Context, in Inbound) (*IngestResult, error) {
	if in.Email != nil {
		refs := append([]string{in.Email.InReplyTo}, reversed(in.Email.References)...)
		for _, id := range refs {
			if id == "" {
				continue
			}
			ref, err := s.Store.FindProviderRef(ctx, in.WorkspaceID, ChannelEmail, id)
			if err == nil {
				in.ThreadHint = ref.ConversationID
				break
			}
			if !IsKind(err, KindNotFound) {
				return nil, err
			}
		}
	}
	res, err := s.Ingest(ctx, in)
	if err != nil {
		return nil, err
	}
	ref := ProviderRef{ConversationID: res.Conversation.ID, MessageID: res.Message.ID}
	return res, s.Store.PutProviderRef(ctx, in.WorkspaceID, ChannelEmail, in.ProviderID, ref)
}

// reversed lists References newest first: the last one is the parent.
func reversed(ids []string) []string {
	out := make([]string, 0, len(ids))
	for i := len(ids) - 1; i >= 0; i-- {
		out = append(out, ids[i])
	}
	return out
}
