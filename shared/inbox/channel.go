package inbox

// Channel is how a message travels.
type Channel string

const (
	ChannelSMS       Channel = "sms"
	ChannelMMS       Channel = "mms"
	ChannelEmail     Channel = "email"
	ChannelWhatsApp  Channel = "whatsapp"
	ChannelMessenger Channel = "messenger"
	ChannelInstagram Channel = "instagram"
	ChannelWebchat   Channel = "webchat"
)

// Channels lists every channel in a stable order.
var Channels = []Channel{ChannelSMS, ChannelMMS, ChannelEmail, ChannelWhatsApp, ChannelMessenger, ChannelInstagram, ChannelWebchat}

func (c Channel) Valid() bool {
	for _, known := range Channels {
		if c == known {
			return true
		}
	}
	return false
}

// ConsentChannel is the channel consent is tracked on: an MMS shares the
// contact's SMS consent, because carriers treat the number as one line.
func (c Channel) ConsentChannel() Channel {
	if c == ChannelMMS {
		return ChannelSMS
	}
	return c
}

func parseChannel(field, s string) (Channel, error) {
	c := Channel(s)
	if !c.Valid() {
		return "", Invalid(field, "unknown channel %q; use one of sms, mms, email, whatsapp, messenger, instagram, webchat", s)
	}
	return c, nil
}
