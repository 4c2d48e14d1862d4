package sender_test

import (
	"context"
	"testing"

	"github.com/parley-inbox/parley/shared/handler/sender"
	"github.com/parley-inbox/parley/shared/inbox"
)

type named string

func (n named) Send(context.Context, inbox.Outbound) (string, error) { return string(n), nil }

// Every channel Parley sends on has a sender, from the right provider.
func TestProvidersCoverEveryChannel(t *testing.T) {
	senders := sender.Providers{Twilio: named("twilio"), Email: named("ses"),
		Meta: func(ch inbox.Channel) inbox.ChannelSender { return named("meta " + string(ch)) }}.ByChannel()
	want := map[inbox.Channel]string{
		inbox.ChannelSMS: "twilio", inbox.ChannelMMS: "twilio", inbox.ChannelEmail: "ses",
		inbox.ChannelWhatsApp: "meta whatsapp", inbox.ChannelMessenger: "meta messenger", inbox.ChannelInstagram: "meta instagram",
	}
	for _, ch := range inbox.Channels {
		s, ok := senders[ch]
		if !ok {
			t.Errorf("no sender for %s", ch)
			continue
		}
		if ch == inbox.ChannelWebchat {
			if _, ok := s.(inbox.WebChatSender); !ok {
				t.Errorf("web chat sender = %T, want inbox.WebChatSender", s)
			}
			continue
		}
		if got, _ := s.Send(context.Background(), inbox.Outbound{}); got != want[ch] {
			t.Errorf("%s goes through %q, want %q", ch, got, want[ch])
		}
	}
	if len(senders) != len(inbox.Channels) {
		t.Errorf("%d senders for %d channels", len(senders), len(inbox.Channels))
	}
}
