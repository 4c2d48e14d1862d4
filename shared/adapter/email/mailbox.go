package email

// Mailbox is the address a workspace sends email from.
type Mailbox struct {
	From             string // "Support <support@inbox.example.com>"
	ConfigurationSet string // SES configuration set that publishes delivery events
}
