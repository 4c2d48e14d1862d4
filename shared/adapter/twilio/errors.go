package twilio

// reasons explains the Twilio error codes agents meet most, in words they
// can act on. See https://www.twilio.com/docs/api/errors.
var reasons = map[string]string{
	"21211": "Invalid 'To' phone number",
	"21408": "Sending to this region is not enabled on the Twilio account",
	"21610": "The recipient replied STOP and is unsubscribed",
	"21612": "The 'To' number cannot be reached by SMS",
	"21614": "The 'To' number is not a mobile number",
	"30001": "Queue overflow: too many messages queued on the sending number",
	"30002": "The Twilio account is suspended",
	"30003": "Unreachable: the handset is off or out of coverage",
	"30004": "Message blocked by the recipient or their carrier",
	"30005": "Unknown destination: the number does not exist",
	"30006": "Landline or unreachable carrier",
	"30007": "Filtered by the carrier as spam or a carrier violation",
	"30008": "Unknown error from the carrier",
	"30019": "The content is larger than the carrier accepts",
	"30032": "The toll-free number is not verified",
	"30034": "The sending number is not registered for A2P 10DLC",
}

// Reason returns a readable reason for a Twilio error code.
func Reason(code string) string {
	if r, ok := reasons[code]; ok {
		return r
	}
	return "Twilio error " + code
}
