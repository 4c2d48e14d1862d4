package e2e_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// emailMessage is an inbound email message as the API lists it, with the
// sender address Parley recorded.
type emailMessage struct {
	ID         string `json:"id"`
	ContactID  string `json:"contactId"`
	ProviderID string `json:"providerId"`
	Body       string `json:"body"`
	Email      *struct {
		From      string `json:"from"`
		MessageID string `json:"messageId"`
		InReplyTo string `json:"inReplyTo"`
		Partial   bool   `json:"partial"`
	} `json:"email"`
}

// emailMessages lists a thread's messages that carry Message-ID id.
func emailMessages(t testing.TB, convID, id string) []emailMessage {
	t.Helper()
	page := wantJSON[Page[json.RawMessage]](t, do(t, "GET", "/conversations/"+convID+"/messages?limit=100", tok.agent, nil), http.StatusOK)
	var out []emailMessage
	for _, raw := range page.Items {
		var m emailMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		if m.Email != nil && m.Email.MessageID == id {
			out = append(out, m)
		}
	}
	return out
}

// A sender whose own domain passes DMARC, and who knows a Message-ID of a
// customer's thread (or the id of one of Parley's replies in it), must not
// be able to post into that thread as the customer.
func TestSafetyEmailThreadInjection(t *testing.T) {
	t.Parallel()
	u := uniq()
	ann := "ann." + u + "@example.net"
	annID := "ann-" + u + "@mail.example.net"
	deliverEmail(t, rawEmail("Ann Asker", ann, annID, "", "Order question", "Where is order 77?"), ann, passAll)
	thread := threadOfEmail(t, ann)
	first := emailMessages(t, thread.ID, annID)
	if len(first) != 1 || first[0].Email.From != ann {
		t.Fatalf("Ann's email = %+v, want one message recording from %s", first, ann)
	}
	// Parley's own outgoing Message-IDs are <conversation.message@domain>.
	parleyID := thread.ID + "." + first[0].ID + "@parley.example"

	for name, ref := range map[string]string{"customer's Message-ID": annID, "Parley's reply id": parleyID} {
		mallory := "mallory." + uniq() + "@attacker.example"
		malloryID := "mal-" + uniq() + "@attacker.example"
		deliverEmail(t, rawEmail("Ann Asker", mallory, malloryID, ref, "Re: Order question", "Send the refund to my new card."), mallory, passAll)
		if got := emailMessages(t, thread.ID, malloryID); len(got) != 0 {
			t.Errorf("%s: %s's email was filed in Ann's thread as %+v", name, mallory, got)
		}
		own := threadOfEmail(t, mallory)
		got := emailMessages(t, own.ID, malloryID)
		if own.ID == thread.ID || len(got) != 1 || got[0].Email.From != mallory || got[0].ContactID == thread.ContactID {
			t.Errorf("%s: %s's email = %+v in thread %s, want it in their own thread, from %s", name, mallory, got, own.ID, mallory)
		}
	}

	// Ann's own follow-up still threads by its headers.
	followID := "ann2-" + u + "@mail.example.net"
	deliverEmail(t, rawEmail("Ann Asker", ann, followID, annID, "Re: Order question", "Any news?"), ann, passAll)
	if got := emailMessages(t, thread.ID, followID); len(got) != 1 || got[0].Email.InReplyTo != annID || got[0].Email.From != ann {
		t.Errorf("Ann's follow-up = %+v, want it in her thread replying to %s", got, annID)
	}
}

// A Message-ID is only unique per sender: a stranger reusing a customer's
// Message-ID, before or after it, must not make the customer's email a
// "duplicate". The same sender redelivering stays one message.
func TestSafetyEmailMessageIDCollision(t *testing.T) {
	t.Parallel()
	u := uniq()
	shared := "collide-" + u + "@mail.example.net"
	eve := "eve." + u + "@attacker.example"
	deliverEmail(t, rawEmail("Eve", eve, shared, "", "Hello", "I got there first."), eve, passAll)

	bea := "bea." + u + "@example.net"
	raw := rawEmail("Bea Buyer", bea, shared, "", "My order", "Order 81 arrived broken.")
	deliverEmail(t, raw, bea, passAll)
	c, ok := contactByEmail(t, bea)
	if !ok || c.ConversationID == "" {
		t.Fatalf("Bea's email, which reused Eve's Message-ID, was dropped: no contact for %s", bea)
	}
	if got := emailMessages(t, c.ConversationID, shared); len(got) != 1 || got[0].Email.From != bea {
		t.Fatalf("Bea's thread = %+v, want her one email", got)
	}

	// SES delivers Bea's email again (a new notification, same message).
	deliverEmail(t, raw, bea, passAll)
	if got := emailMessages(t, c.ConversationID, shared); len(got) != 1 {
		t.Errorf("after redelivery Bea's thread has %d copies of her email, want 1", len(got))
	}
	if got := emailMessages(t, threadOfEmail(t, eve).ID, shared); len(got) != 1 || got[0].Email.From != eve {
		t.Errorf("Eve's thread = %+v, want her one email", got)
	}
}

// A MIME bomb (multiparts nested 4,000 deep: 16 s of parsing before) is
// filed promptly, from its headers with an excerpt and a note; never
// dropped and never a 5xx that SNS would retry into the DLQ.
func TestSafetyEmailMIMEBomb(t *testing.T) {
	t.Parallel()
	u := uniq()
	from := "bomb." + u + "@example.net"
	id := "bomb-" + u + "@mail.example.net"
	var b strings.Builder
	b.WriteString("From: Bo Bomb <" + from + ">\r\nTo: " + ourMailbox + "\r\nSubject: Nested\r\nMessage-ID: <" + id + ">\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b0\"\r\n\r\n")
	const depth = 4000
	for i := 1; i < depth; i++ {
		fmt.Fprintf(&b, "--b%d\r\nContent-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n", i-1, i)
	}
	fmt.Fprintf(&b, "--b%d\r\nContent-Type: text/plain\r\n\r\nPlease call me back.\r\n", depth-1)
	for i := depth - 1; i >= 0; i-- {
		fmt.Fprintf(&b, "--b%d--\r\n", i)
	}
	start := time.Now()
	deliverEmail(t, []byte(b.String()), from, passAll)
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the webhook took %v", took)
	}
	got := emailMessages(t, threadOfEmail(t, from).ID, id)
	if len(got) != 1 || !got[0].Email.Partial || got[0].Email.From != from ||
		!strings.Contains(got[0].Body, "Please call me back.") || !strings.Contains(got[0].Body, "did not read this email in full") {
		t.Fatalf("bomb filed as %+v, want one partial message with the excerpt and the note", got)
	}
}
