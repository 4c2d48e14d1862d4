package sender

import "github.com/parley-inbox/parley/shared/inbox"

// Providers are the outbound providers; every channel Parley sends on goes
// through one of them.
type Providers struct {
	Twilio inbox.ChannelSender // SMS and MMS
	Email  inbox.ChannelSender // SES
	// Meta returns the sender for WhatsApp, Messenger or Instagram.
	Meta func(inbox.Channel) inbox.ChannelSender
}

// ByChannel is the sender of each channel. Web chat replies need no
// provider: the visitor's widget reads them from the thread.
func (p Providers) ByChannel() map[inbox.Channel]inbox.ChannelSender {
	return map[inbox.Channel]inbox.ChannelSender{
		inbox.ChannelSMS:       p.Twilio,
		inbox.ChannelMMS:       p.Twilio,
		inbox.ChannelEmail:     p.Email,
		inbox.ChannelWhatsApp:  p.Meta(inbox.ChannelWhatsApp),
		inbox.ChannelMessenger: p.Meta(inbox.ChannelMessenger),
		inbox.ChannelInstagram: p.Meta(inbox.ChannelInstagram),
		inbox.ChannelWebchat:   inbox.WebChatSender{},
	}
}
