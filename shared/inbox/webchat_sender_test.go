package inbox_test

import (
	"context"
	"errors"
	"testing"

	"github.com/parley-inbox/parley/shared/inbox"
)

var _ inbox.ChannelSender = inbox.WebChatSender{}

func TestWebChatSender(t *testing.T) {
	out := inbox.Outbound{Message: &inbox.Message{ID: "01J0MSG", Body: "hi"}}
	id, err := inbox.WebChatSender{}.Send(context.Background(), out)
	if err != nil || id != "webchat-01J0MSG" {
		t.Errorf("Send = %q, %v", id, err)
	}
	var se *inbox.SendError
	if _, err := (inbox.WebChatSender{}).Send(context.Background(), inbox.Outbound{}); !errors.As(err, &se) || se.Retryable {
		t.Errorf("no message: err = %v", err)
	}
}
