package e2e_test

// Issue 9, items 4, 10, 11 and 13: Meta deliveries where one bad item must
// not sink the rest, automated Messenger sends that must never borrow the
// HUMAN_AGENT tag, Messenger read receipts, and problems that speak of the
// request rather than of Go.

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// waContactsMessage is a WhatsApp "contacts" message sharing n contacts,
// rendered longer than a message body may be once n is in the hundreds.
func waContactsMessage(phone string, n int) (map[string]any, string) {
	wamid := "wamid.contacts-" + randHex(16)
	var cards []any
	for i := range n {
		cards = append(cards, map[string]any{
			"name":   map[string]any{"formatted_name": fmt.Sprintf("Shared Contact Number %03d With A Long Name", i), "first_name": "Shared"},
			"phones": []any{map[string]any{"phone": "+1 415 555 0100", "type": "CELL"}},
		})
	}
	return map[string]any{"from": strings.TrimPrefix(phone, "+"), "id": wamid, "timestamp": fmt.Sprint(time.Now().Unix()),
		"type": "contacts", "contacts": cards}, wamid
}

func waTextMessage(phone, text string) (map[string]any, string) {
	wamid := "wamid.text-" + randHex(16)
	return map[string]any{"from": strings.TrimPrefix(phone, "+"), "id": wamid, "timestamp": fmt.Sprint(time.Now().Unix()),
		"type": "text", "text": map[string]any{"body": text}}, wamid
}

// waDelivery wraps messages in one WhatsApp webhook body, one change each,
// naming every sender in the change's contacts.
func waDelivery(changes ...[]map[string]any) []byte {
	var list []any
	for _, msgs := range changes {
		var contacts, messages []any
		for _, m := range msgs {
			contacts = append(contacts, map[string]any{"wa_id": m["from"], "profile": map[string]any{"name": "Sender " + fmt.Sprint(m["from"])}})
			messages = append(messages, m)
		}
		list = append(list, map[string]any{"field": "messages", "value": map[string]any{
			"messaging_product": "whatsapp",
			"metadata":          map[string]any{"display_phone_number": "15550100199", "phone_number_id": "108374651209348"},
			"contacts":          contacts,
			"messages":          messages,
		}})
	}
	return mustJSON(map[string]any{"object": "whatsapp_business_account",
		"entry": []any{map[string]any{"id": "114209384756120", "changes": list}}})
}

// Item 4: a message Parley cannot file is refused on its own, noted in
// its sender's thread, and the rest of the delivery is filed.
func TestSafetyMetaOneBadItemDoesNotSinkTheDelivery(t *testing.T) {
	t.Parallel()
	good, bad, neighbour := newPhone(t), newPhone(t), newPhone(t)
	goodText, neighbourText := "Filed despite a neighbour "+uniq(), "Same change as the bad one "+uniq()
	goodMsg, goodID := waTextMessage(good, goodText)
	badMsg, badID := waContactsMessage(bad, 300)
	neighbourMsg, neighbourID := waTextMessage(neighbour, neighbourText)
	body := waDelivery([]map[string]any{goodMsg}, []map[string]any{badMsg, neighbourMsg})

	for attempt := range 2 { // Meta redelivers; the outcome must not change
		r := metaPost(t, demoWS, body)
		if r.Status != http.StatusOK {
			t.Fatalf("attempt %d: a delivery holding one unfileable message (a contacts message of 300 names) answered %s; "+
				"want 200 with the other senders' messages filed", attempt+1, r)
		}
	}
	oneByProvider(t, listMessages(t, tok.agent, threadOfPhone(t, good).ID, ""), goodID)
	oneByProvider(t, listMessages(t, tok.agent, threadOfPhone(t, neighbour).ID, ""), neighbourID)

	thread := listMessages(t, tok.agent, threadOfPhone(t, bad).ID, "")
	if got := byProvider(thread, badID); len(got) != 0 {
		t.Errorf("the refused message was filed as %+v", got)
	}
	notes := activities(thread)
	if len(notes) != 1 {
		t.Fatalf("the refused sender's thread has %d activities, want 1 saying why (after a redelivery too): %+v", len(notes), thread)
	}
	if n := notes[0].Body; !strings.Contains(n, "WhatsApp") || !strings.Contains(n, "could not be filed") || !strings.Contains(n, "10000 characters") {
		t.Errorf("the refusal note says %q; want it to name the channel, that the message could not be filed, and why", n)
	}
}

// Item 13: a problem after a valid signature speaks of the request's JSON,
// never of Go's types; and so does the SPA API's.
func TestSafetyMetaProblemsSpeakOfTheRequest(t *testing.T) {
	t.Parallel()
	goWords := []string{"Go struct", "Go value", "waValue", "waMessage", "fbEvent", "json.RawMessage", "[]", "slice", "struct", "map[", "int64", "float64", "ptr", "interface"}
	noGo := func(t *testing.T, what, detail string, want ...string) {
		t.Helper()
		for _, w := range goWords {
			if strings.Contains(detail, w) {
				t.Errorf("%s: the problem detail %q speaks of Go (%q)", what, detail, w)
			}
		}
		for _, w := range want {
			if !strings.Contains(detail, w) {
				t.Errorf("%s: the problem detail %q does not say %q", what, detail, w)
			}
		}
	}
	for _, tc := range []struct {
		name, body string
		want       []string
	}{
		{"messages a string", `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messages":"hi"}}]}]}`,
			[]string{"entry[0].changes[0].value.messages", "array", "string"}},
		{"phone id a number", `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":5},"messages":[]}}]}]}`,
			[]string{"entry[0].changes[0].value.metadata.phone_number_id", "string", "number"}},
		{"messaging event not an object", `{"object":"page","entry":[{"id":"1","messaging":[7]}]}`,
			[]string{"entry[0].messaging[0]", "object", "number"}},
		{"entry an object", `{"object":"page","entry":{"id":"1"}}`, []string{"entry", "array", "object"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := wantProblem(t, metaPost(t, demoWS, []byte(tc.body)), http.StatusBadRequest, "invalid", "")
			noGo(t, "Meta "+tc.name, p.Detail, tc.want...)
		})
	}

	t.Run("spa api", func(t *testing.T) {
		for _, tc := range []struct {
			name  string
			body  map[string]any
			field string
			want  []string
		}{
			{"tags a string", map[string]any{"name": "Typed " + uniq(), "tags": "vip"}, "tags", []string{"tags", "array", "string"}},
			{"marketing a number", map[string]any{"name": "Typed " + uniq(), "marketing": 5}, "marketing", []string{"marketing", "object", "number"}},
			{"name a number", map[string]any{"name": 5}, "name", []string{"name", "string", "number"}},
		} {
			p := wantProblem(t, do(t, "POST", "/contacts", tok.agent, tc.body), http.StatusBadRequest, "invalid", tc.field)
			noGo(t, "POST /contacts "+tc.name, p.Detail, tc.want...)
		}
	})
}

// messengerContactWhoWrote files a Messenger message written at wrote and
// returns the contact's conversation.
func messengerContactWhoWrote(t *testing.T, wrote time.Time) (Conversation, string) {
	t.Helper()
	psid := newPSID()
	text := "Wrote a while ago " + uniq()
	body, _ := messagingEvent("page", psid, text)
	metaDeliver(t, demoWS, sentAt(t, body, wrote))
	return inboxWithPreview(t, text), psid
}

// Item 10: Meta reserves HUMAN_AGENT for a person's replies. Automated
// Messenger sends between 24 hours and 7 days after the contact wrote are
// refused with a reason, never tagged; an agent's reply keeps the tag.
func TestSafetyMetaAutomatedSendsNeverTaggedHumanAgent(t *testing.T) {
	needTimeScale(t)
	t.Parallel()
	noTag := func(t *testing.T, conv Conversation, what string) {
		t.Helper()
		for _, s := range sendsOfConversation(outbox(t, demoWS), conv.ID) {
			if s.HumanAgent {
				t.Errorf("%s went out with the HUMAN_AGENT tag, which Meta reserves for a person's replies: %+v", what, s)
			}
		}
	}

	t.Run("drip", func(t *testing.T) {
		t.Parallel()
		conv, _ := messengerContactWhoWrote(t, time.Now().Add(-48*time.Hour))
		campaign := createCampaign(t, map[string]any{"afterMinutes": 0, "channel": "messenger", "body": "Drip step " + uniq()})
		run := wantJSON[Run](t, do(t, "POST", "/conversations/"+conv.ID+"/enrollments", tok.agent, map[string]any{"campaignId": campaign}), http.StatusCreated)
		done := waitRun(t, run.ContactID, campaign, "completed", 15*time.Second)
		time.Sleep(time.Second) // let a queued send reach the outbox
		noTag(t, conv, "a drip step two days after the contact wrote")
		if !strings.Contains(done.LastError, "24 hours") {
			t.Errorf("the drip run says %q; want the step skipped because automated messages need the 24-hour window", done.LastError)
		}
	})

	t.Run("automation send now", func(t *testing.T) {
		t.Parallel()
		conv, _ := messengerContactWhoWrote(t, time.Now().Add(-48*time.Hour))
		tag := "mx-" + uniq()
		automation := createAutomation(t, map[string]any{"type": "contact.tagged", "tag": tag},
			map[string]any{"type": "message", "mode": "send_now", "channel": "messenger", "body": "Automated " + uniq()})
		wantStatus(t, do(t, "PATCH", "/contacts/"+conv.ContactID, tok.agent, map[string]any{"marketing": map[string]bool{"messenger": true}, "tags": []string{tag}}), http.StatusOK)
		done := waitRun(t, conv.ContactID, automation, "completed", 15*time.Second)
		time.Sleep(time.Second)
		noTag(t, conv, "an automation's send_now message two days after the contact wrote")
		if !strings.Contains(done.LastError, "24 hours") {
			t.Errorf("the automation run says %q; want the step skipped because automated messages need the 24-hour window", done.LastError)
		}
	})

	t.Run("automation schedule", func(t *testing.T) {
		t.Parallel()
		conv, _ := messengerContactWhoWrote(t, time.Now().Add(-48*time.Hour))
		tag := "ms-" + uniq()
		automation := createAutomation(t, map[string]any{"type": "contact.tagged", "tag": tag},
			map[string]any{"type": "message", "mode": "schedule", "minutes": 1, "channel": "messenger", "body": "Scheduled " + uniq()})
		wantStatus(t, do(t, "PATCH", "/contacts/"+conv.ContactID, tok.agent, map[string]any{"tags": []string{tag}}), http.StatusOK)
		waitRun(t, conv.ContactID, automation, "completed", 15*time.Second)
		out := outbound(listMessages(t, tok.agent, conv.ID, ""))
		if len(out) != 1 {
			t.Fatalf("the automation made %d messages, want 1: %+v", len(out), out)
		}
		devDeliverN(t, 1, demoWS, conv.ID, out[0].ID) // as the schedule would, a minute on
		got := waitStatus(t, tok.agent, conv.ID, out[0].ID, "sent", "failed")
		noTag(t, conv, "an automation's scheduled message two days after the contact wrote")
		if got.Status != "failed" || got.Error == nil || !strings.Contains(got.Error.Reason, "24 hours") {
			t.Errorf("the automation's scheduled message: %s; want failed, saying automated messages need the 24-hour window", got)
		}
	})

	t.Run("agent reply keeps the tag", func(t *testing.T) {
		t.Parallel()
		conv, _ := messengerContactWhoWrote(t, time.Now().Add(-72*time.Hour))
		m := postOut(t, tok.agent, conv.ID, map[string]any{"channel": "messenger", "body": "A person answering"})
		if s := waitSent(t, demoWS, m.ID); !s.HumanAgent {
			t.Errorf("an agent's reply three days after the contact wrote went out without HUMAN_AGENT: %+v", s)
		}
		r := do(t, "POST", "/conversations/"+conv.ID+"/messages", tok.agent, map[string]any{"channel": "messenger", "body": "From an integration", "automated": true})
		p := wantProblem(t, r, http.StatusBadRequest, "invalid", "channel")
		if !strings.Contains(p.Detail, "24 hours") {
			t.Errorf("an automated API message outside 24 hours was refused with %q; want the reason", p.Detail)
		}
	})
}

// messengerRead is a Messenger read receipt: psid has read everything the
// page sent up to watermark.
func messengerRead(psid string, watermark time.Time) []byte {
	page := "107234567890123"
	return mustJSON(map[string]any{"object": "page", "entry": []any{map[string]any{"id": page, "time": time.Now().UnixMilli(), "messaging": []any{map[string]any{
		"sender": map[string]any{"id": psid}, "recipient": map[string]any{"id": page}, "timestamp": time.Now().UnixMilli(),
		"read": map[string]any{"watermark": watermark.UnixMilli()},
	}}}}})
}

// Item 11: a read watermark marks what the page sent up to it read, never
// moves a status back, and changes nothing when redelivered.
func TestSafetyMetaReadReceipts(t *testing.T) {
	t.Parallel()
	conv, psid := messengerContactWhoWrote(t, time.Now().Add(-time.Minute))
	var before []OutMessage
	for i := range 2 {
		m := postOut(t, tok.agent, conv.ID, map[string]any{"channel": "messenger", "body": fmt.Sprintf("Before the watermark %d", i)})
		waitSent(t, demoWS, m.ID)
		before = append(before, waitStatus(t, tok.agent, conv.ID, m.ID, "sent"))
	}
	time.Sleep(20 * time.Millisecond)
	watermark := time.Now()
	time.Sleep(20 * time.Millisecond)
	after := postOut(t, tok.agent, conv.ID, map[string]any{"channel": "messenger", "body": "After the watermark"})
	waitSent(t, demoWS, after.ID)
	waitStatus(t, tok.agent, conv.ID, after.ID, "sent")

	for range 2 {
		metaDeliver(t, demoWS, messengerRead(psid, watermark))
	}
	for _, m := range before {
		if got := getOut(t, tok.agent, conv.ID, m.ID); got.Status != "read" {
			t.Errorf("a message sent before the read watermark is %s after the read receipt, want read", got)
		}
	}
	if got := getOut(t, tok.agent, conv.ID, after.ID); got.Status != "sent" {
		t.Errorf("a message sent after the read watermark is %s, want still sent", got)
	}
	// A late delivery report does not move a read message back.
	late := mustJSON(map[string]any{"object": "page", "entry": []any{map[string]any{"id": "107234567890123", "messaging": []any{map[string]any{
		"sender": map[string]any{"id": psid}, "recipient": map[string]any{"id": "107234567890123"}, "timestamp": time.Now().UnixMilli(),
		"delivery": map[string]any{"mids": []string{before[0].ProviderID}, "watermark": watermark.UnixMilli()},
	}}}}})
	metaDeliver(t, demoWS, late)
	if got := getOut(t, tok.agent, conv.ID, before[0].ID); got.Status != "read" {
		t.Errorf("a late delivery report moved a read message back to %s", got.Status)
	}
}
