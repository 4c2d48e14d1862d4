package capture_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"testing"

	"github.com/parley-inbox/parley/shared/dev/capture"
	"github.com/parley-inbox/parley/shared/inbox"
)

func outbound(workspace, id, body string) inbox.Outbound {
	m := &inbox.Message{ID: id, ConversationID: "01J0CONV", Body: body}
	return inbox.Outbound{WorkspaceID: workspace, Message: m, To: "+14155550123", Ref: inbox.DeliveryRef(m)}
}

func TestRecordsSends(t *testing.T) {
	var o capture.Outbox
	out := outbound("demo", "01J0MSG", "hello")
	out.HumanAgent = true
	out.Message.Template = &inbox.Template{Name: "welcome", Language: "en_US", Params: []string{"Ana"}}
	out.Message.Attachments = []inbox.Attachment{{URL: "https://files.example/a.png", ContentType: "image/png"}}
	id, err := o.Sender(inbox.ChannelWhatsApp).Send(context.Background(), out)
	if err != nil {
		t.Fatal(err)
	}
	// Changing the message afterwards must not change the record.
	out.Message.Body, out.Message.Template.Params[0], out.Message.Attachments[0].URL = "edited", "Bo", "https://x"

	list := o.List("demo")
	if len(list) != 1 {
		t.Fatalf("List = %+v", list)
	}
	s := list[0]
	if s.Channel != inbox.ChannelWhatsApp || s.WorkspaceID != "demo" || s.MessageID != "01J0MSG" || s.ConversationID != "01J0CONV" ||
		s.To != "+14155550123" || s.Body != "hello" || !s.HumanAgent || s.Ref != "01J0CONV.01J0MSG" || s.ProviderID != id || s.At.IsZero() {
		t.Errorf("recorded %+v", s)
	}
	if s.Template == nil || s.Template.Params[0] != "Ana" || s.Attachments[0].URL != "https://files.example/a.png" {
		t.Errorf("template %+v attachments %+v", s.Template, s.Attachments)
	}
	if got := o.List("other"); len(got) != 0 {
		t.Errorf("other workspace sees %+v", got)
	}
}

func TestProviderIDShapes(t *testing.T) {
	shapes := map[inbox.Channel]string{
		inbox.ChannelSMS:       `^SM[0-9a-f]{32}$`,
		inbox.ChannelMMS:       `^SM[0-9a-f]{32}$`,
		inbox.ChannelWhatsApp:  `^wamid\.[A-Za-z0-9_-]{20,}$`,
		inbox.ChannelMessenger: `^m_[A-Za-z0-9_-]{20,}$`,
		inbox.ChannelInstagram: `^m_[A-Za-z0-9_-]{20,}$`,
		inbox.ChannelEmail:     `^<[0-9a-f]{32}@capture\.local>$`,
		inbox.ChannelWebchat:   `^webchat-01J0MSG$`,
	}
	var o capture.Outbox
	for ch, shape := range shapes {
		id, err := o.Sender(ch).Send(context.Background(), outbound("demo", "01J0MSG", "hi"))
		if err != nil || !regexp.MustCompile(shape).MatchString(id) {
			t.Errorf("%s: id %q, err %v; want %s", ch, id, err, shape)
		}
	}
	a, _ := o.Sender(inbox.ChannelSMS).Send(context.Background(), outbound("demo", "1", "hi"))
	b, _ := o.Sender(inbox.ChannelSMS).Send(context.Background(), outbound("demo", "1", "hi"))
	if a == b {
		t.Errorf("two sends got the same id %q", a)
	}
}

func TestFailNext(t *testing.T) {
	var o capture.Outbox
	busy := &inbox.SendError{Code: "429", Reason: "busy", Retryable: true}
	o.FailNext(inbox.ChannelSMS, busy, 2)
	sms := o.Sender(inbox.ChannelSMS)
	for i := range 2 {
		if _, err := sms.Send(context.Background(), outbound("demo", fmt.Sprint(i), "hi")); !errors.Is(err, busy) {
			t.Errorf("send %d: err = %v; want the injected error", i, err)
		}
	}
	if _, err := o.Sender(inbox.ChannelEmail).Send(context.Background(), outbound("demo", "e", "hi")); err != nil {
		t.Errorf("other channel failed: %v", err)
	}
	if _, err := sms.Send(context.Background(), outbound("demo", "3", "hi")); err != nil {
		t.Errorf("third send: %v", err)
	}
	if list := o.List("demo"); len(list) != 2 || list[0].MessageID != "e" || list[1].MessageID != "3" {
		t.Errorf("List = %+v; failed sends must not be recorded", list)
	}
	o.FailNext(inbox.ChannelSMS, busy, 5)
	o.FailNext(inbox.ChannelSMS, nil, 0) // clears
	if _, err := sms.Send(context.Background(), outbound("demo", "4", "hi")); err != nil {
		t.Errorf("after clearing: %v", err)
	}
}

func TestListIsBoundedNewestLast(t *testing.T) {
	var o capture.Outbox
	s := o.Sender(inbox.ChannelSMS)
	for i := range 1005 {
		s.Send(context.Background(), outbound("demo", fmt.Sprint(i), "hi"))
	}
	list := o.List("demo")
	if len(list) != 1000 || list[0].MessageID != "5" || list[999].MessageID != "1004" {
		t.Errorf("len %d, first %s, last %s", len(list), list[0].MessageID, list[len(list)-1].MessageID)
	}
}

func TestConcurrentUse(t *testing.T) {
	var o capture.Outbox
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			ch := inbox.Channels[w%len(inbox.Channels)]
			for i := range 50 {
				if i%10 == 0 {
					o.FailNext(ch, errors.New("down"), 1)
				}
				o.Sender(ch).Send(context.Background(), outbound(fmt.Sprint("ws", w%2), fmt.Sprint(w, "-", i), "hi"))
				o.List(fmt.Sprint("ws", w%2))
			}
		})
	}
	wg.Wait()
	if n := len(o.List("ws0")) + len(o.List("ws1")); n < 8*50-8*5 || n > 8*50 {
		t.Errorf("recorded %d sends", n)
	}
}
