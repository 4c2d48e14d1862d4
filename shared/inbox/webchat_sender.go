package inbox

import "context"

// WebChatSender is the web chat's ChannelSender. A reply is already in the
// visitor's history (GET /chat/{workspaceId}/messages), so sending needs no
// provider: it only marks the message sent.
type WebChatSender struct{}

// Send returns "webchat-<message id>" without any network call.
func (WebChatSender) Send(_ context.Context, out Outbound) (string, error) {
	if out.Message == nil || out.Message.ID == "" {
		return "", &SendError{Code: "invalid", Reason: "no message to send"}
	}
	return WebChatProviderID(out.Message), nil
}

// WebChatProviderID is the provider id a web chat message is sent under.
func WebChatProviderID(m *Message) string { return "webchat-" + m.ID }
