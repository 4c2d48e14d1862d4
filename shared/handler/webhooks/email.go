package webhooks

import (
	"net/http"
	"strings"

	"github.com/parley-inbox/parley/shared/adapter/email"
	"github.com/parley-inbox/parley/shared/adapter/objectstore"
	"github.com/parley-inbox/parley/shared/inbox"
)

// EmailIntake receives SES inbound mail: SNS posts a notification, signed
// by SNS for the workspace's pinned topic, naming the raw message in S3.
type EmailIntake struct {
	Certs   email.CertSource
	Objects objectstore.Getter
	// ConfirmSubscriptions visits SNS subscription links. Off locally,
	// where there is no SNS to confirm with.
	ConfirmSubscriptions bool
	// KeyPrefix, when set, is the object key prefix of a workspace's mail
	// ("inbound/<ws>/"): the topic is shared, so a notification naming
	// another workspace's object, or no object (inline content), is refused.
	KeyPrefix func(workspaceID string) string
	HTTP      *http.Client
}

// S3EmailIntake is the intake in AWS: SNS certificates fetched over
// HTTPS, mail read from the bucket where SES stores each workspace's
// messages under inbound/<ws>/ (infra/email.go), subscriptions confirmed.
func S3EmailIntake(objects objectstore.Getter, client *http.Client) *EmailIntake {
	return &EmailIntake{Certs: &email.HTTPCerts{Client: client}, Objects: objects, HTTP: client, ConfirmSubscriptions: true,
		KeyPrefix: func(ws string) string { return "inbound/" + ws + "/" }}
}

func (h *Handler) email(w http.ResponseWriter, r *http.Request) {
	creds, err := h.credentials(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	body, err := readBody(r, maxSNSBody)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	msg, err := email.ParseSNS(body)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	verifier := &email.Verifier{TopicARN: creds.SNSTopicARN, Certs: h.Email.Certs}
	if err := verifier.Verify(r.Context(), msg); err != nil {
		h.fail(w, r, err)
		return
	}
	switch msg.Type {
	case email.TypeSubscriptionConfirmation:
		if h.Email.ConfirmSubscriptions {
			err = verifier.Confirm(r.Context(), h.Email.HTTP, msg)
		} else {
			h.Log.InfoContext(r.Context(), "SNS subscription confirmation received (not confirmed locally)", "topic", msg.TopicArn)
		}
	case email.TypeNotification:
		err = h.receiveMail(r, msg)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) receiveMail(r *http.Request, msg *email.SNSMessage) error {
	receipt, err := email.ParseSESNotification(msg.Message)
	if err != nil {
		return err
	}
	// Every action passes the same check: mail inline (an SNS action) names
	// no object, so nothing in it says whose it is, and a signed
	// notification can be replayed to any workspace's webhook. The stack's
	// receipt rules all use the S3 action.
	if h.Email.KeyPrefix != nil && !strings.HasPrefix(receipt.Key, h.Email.KeyPrefix(r.PathValue("workspaceId"))) {
		return &inbox.Error{Kind: inbox.KindForbidden, Message: "the notification does not name this workspace's mail"}
	}
	raw := receipt.Content
	if raw == nil {
		if raw, err = h.Email.Objects.Get(r.Context(), receipt.Bucket, receipt.Key); err != nil {
			if inbox.IsKind(err, inbox.KindNotFound) {
				// SNS drops a message answered 4xx: say 5xx so it retries
				// while S3 catches up, instead of losing the email.
				return &inbox.Error{Kind: inbox.KindUnavailable, Message: "the raw email is not readable yet", Err: err}
			}
			return err
		}
	}
	if receipt.Virus == "FAIL" {
		h.Log.WarnContext(r.Context(), "dropped an inbound email that failed SES's virus scan", "sesMessageId", receipt.MessageID)
		return nil
	}
	in, err := email.ParseMIMEWith(r.PathValue("workspaceId"), raw, receipt.MIMEOptions())
	if err != nil {
		return err
	}
	if in.Email != nil {
		// Its files are copied from there later (inbox.MediaCopy).
		in.Email.Raw = receipt.Key
	}
	if in.Email != nil && receipt.DMARC != "PASS" {
		// Anyone can write In-Reply-To: only a sender whose From domain
		// DMARC authenticates may use it to post into an existing thread;
		// others thread by their address.
		in.Email.InReplyTo, in.Email.References = "", nil
	}
	_, err = h.Intake.IngestEmail(r.Context(), in)
	return err
}
