package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-inbox/parley/shared/adapter/email"
	devobjects "github.com/parley-inbox/parley/shared/dev/objectstore"
	"github.com/parley-inbox/parley/shared/dev/signing"
)

func TestPlanSendsEachMessageOnceAndTenPercentTwiceWithinTheWindow(t *testing.T) {
	for _, channel := range []string{"sms", "whatsapp", "email"} {
		t.Run(channel, func(t *testing.T) { testPlan(t, channel) })
	}
}

func testPlan(t *testing.T, channel string) {
	p, err := newPlan(1000, 50, 30, channel)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.requests) != 1100 || p.contacts() != 50 {
		t.Fatalf("%d requests over %d numbers, want 1100 over 50", len(p.requests), p.contacts())
	}
	first := map[string]int{}
	copies := map[string]int{}
	for i, m := range p.requests {
		copies[m.sid]++
		if copies[m.sid] == 1 {
			first[m.sid] = i
			continue
		}
		// A duplicate is an exact copy: same ids (for email, the same
		// SES and SNS ids), sender, body and time.
		if m != p.requests[first[m.sid]] {
			t.Fatalf("copy %+v differs from the first %+v", m, p.requests[first[m.sid]])
		}
		// At most window distinct messages start between the copies, plus
		// the duplicates interleaved with them.
		if gap := i - first[m.sid]; gap > 30+30 {
			t.Errorf("%s repeated %d requests later, want within the window", m.sid, gap)
		}
	}
	twice := 0
	for _, n := range copies {
		if n > 2 {
			t.Fatalf("a message sent %d times", n)
		}
		if n == 2 {
			twice++
		}
	}
	if len(copies) != 1000 || twice != 100 {
		t.Fatalf("%d distinct, %d sent twice; want 1000 and 100", len(copies), twice)
	}
}

func TestParseStatHandlesParenthesesInTheCommandName(t *testing.T) {
	st := parseStat("4242 (odd) name) S 17 4242 4242 0 -1 4194560 100 0 0 0 250 31 0 0 20 0 9 0 123 0 0")
	if st.readFailed || st.comm != "odd) name" || st.ppid != 17 || st.cpuTicks != 281 {
		t.Fatalf("parseStat = %+v, want comm \"odd) name\", ppid 17, 281 ticks", st)
	}
	if !parseStat("garbage").readFailed {
		t.Fatal("parseStat(garbage) did not fail")
	}
}

func TestReadStatReadsThisProcess(t *testing.T) {
	st := readStat(os.Getpid())
	if st.readFailed || st.ppid != os.Getppid() {
		t.Fatalf("readStat(self) = %+v, want ppid %d", st, os.Getppid())
	}
	if cpuMillis(os.Getpid()) < 0 || cpuMillis(-1) != -1 {
		t.Fatal("cpuMillis: want this process's time, and -1 for no process")
	}
}

func FuzzParseStat(f *testing.F) {
	f.Add("4242 (odd) name) S 17 4242 4242 0 -1 4194560 100 0 0 0 250 31 0 0 20 0 9 0 123 0 0")
	f.Add(")(")
	f.Fuzz(func(t *testing.T, s string) {
		// Any text, such as a stat line cut short, must not panic.
		_ = parseStat(s)
	})
}

func TestPlanGivesEachDistinctMessageItsOwnIDsAndSender(t *testing.T) {
	for _, channel := range []string{"sms", "whatsapp", "email"} {
		p, err := newPlan(500, 40, 100, channel)
		if err != nil {
			t.Fatal(err)
		}
		ids := map[string]bool{}
		for _, m := range p.messages {
			for _, id := range []string{m.sid, m.sesID, m.snsID} {
				if id == "" && channel != "email" {
					continue
				}
				if id == "" || ids[id] {
					t.Fatalf("%s: message %+v has an empty or repeated id %q", channel, m, id)
				}
				ids[id] = true
			}
		}
		wantSender := func(i int) string { return p.messages[i].from }
		if channel == "email" {
			wantSender = emailSender
		}
		for i, m := range p.messages {
			if m.from != wantSender(i%40) {
				t.Fatalf("%s: message %d from %q, want %q", channel, i, m.from, wantSender(i%40))
			}
			if channel != "email" && !strings.HasPrefix(m.from, "+1415") {
				t.Fatalf("%s: sender %q is not a +1415 number", channel, m.from)
			}
		}
		if p.contacts() != 40 || len(p.bySender[wantSender(7)]) != 500/40+1 {
			t.Fatalf("%s: %d senders, %d messages from the 8th; want 40 and 13", channel, p.contacts(), len(p.bySender[wantSender(7)]))
		}
	}
	if emailSender(7) != "load7@example.com" {
		t.Fatalf("emailSender(7) = %q", emailSender(7))
	}
}

// The staged email is what the local stack accepts and files: the
// notification verifies against the test SNS certificate for the topic, a
// redelivery is byte-for-byte the first post, the raw message is where the
// stack's stand-in for S3 reads it, and it parses to the sender, body and
// Message-ID the verifier looks for.
func TestStagedEmailIsWhatTheLocalStackFiles(t *testing.T) {
	const topic = loadSNSTopicARN
	p, err := newPlan(3, 2, 0, "email")
	if err != nil {
		t.Fatal(err)
	}
	dataDir := t.TempDir()
	notes, err := stageEmail(p, dataDir, topic)
	if err != nil {
		t.Fatal(err)
	}
	if len(notes) != 3 {
		t.Fatalf("%d notifications, want 3", len(notes))
	}
	for _, m := range p.messages {
		again, err := sesNotification(m, topic)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again, notes[m.sid]) {
			t.Fatalf("the notification of %s is not the same bytes when built again", m.sid)
		}
		msg, err := email.ParseSNS(notes[m.sid])
		if err != nil {
			t.Fatal(err)
		}
		v := &email.Verifier{TopicARN: topic, Certs: signing.SNSCerts{}}
		if err := v.Verify(context.Background(), msg); err != nil {
			t.Fatalf("the notification does not verify: %v", err)
		}
		if msg.MessageID != m.snsID || msg.Type != email.TypeNotification {
			t.Fatalf("SNS MessageId %q type %q, want %q Notification", msg.MessageID, msg.Type, m.snsID)
		}
		receipt, err := email.ParseSESNotification(msg.Message)
		if err != nil {
			t.Fatal(err)
		}
		if receipt.Bucket != sesBucket || receipt.Key != objectKey(m) || receipt.MessageID != m.sesID || receipt.DMARC != "PASS" {
			t.Fatalf("receipt %+v, want s3://%s/%s for %s, DMARC PASS", receipt, sesBucket, objectKey(m), m.sesID)
		}
		if !strings.HasPrefix(receipt.Key, "inbound/"+workspace+"/") {
			t.Fatalf("key %q is not under the workspace's prefix", receipt.Key)
		}
		raw, err := devobjects.Dir{Root: filepath.Join(dataDir, "mail")}.Get(context.Background(), receipt.Bucket, receipt.Key)
		if err != nil {
			t.Fatalf("the local object store cannot read the staged email: %v", err)
		}
		in, err := email.ParseMIMEWith(workspace, raw, receipt.MIMEOptions())
		if err != nil {
			t.Fatal(err)
		}
		if in.ProviderID != m.sid || in.From.Email != m.from || in.Body != m.body || in.Email.MessageID != m.sid {
			t.Fatalf("parsed as provider id %q from %q body %q, want %q from %q body %q", in.ProviderID, in.From.Email, in.Body, m.sid, m.from, m.body)
		}
	}
	if _, err := stageEmail(p, dataDir, ""); err == nil {
		t.Fatal("stageEmail without a topic ARN: want an error")
	}
}

func TestOptionsAcceptTheThreeChannelsAndKeepTheCaps(t *testing.T) {
	ok := options{n: 10, contacts: 2, c: 1, timeout: time.Minute}
	for _, ch := range []string{"sms", "whatsapp", "email"} {
		o := ok
		o.channel = ch
		if err := o.check(); err != nil {
			t.Errorf("-channel %s: %v", ch, err)
		}
	}
	bad := []func(*options){
		func(o *options) { o.channel = "voice" },
		func(o *options) { o.n = maxMessages + 1 },
		func(o *options) { o.contacts = maxContacts + 1; o.n = maxMessages },
		func(o *options) { o.c = maxConcurrency + 1 },
		func(o *options) { o.contacts = 11 },
	}
	for i, change := range bad {
		o := ok
		o.channel = "email"
		change(&o)
		if o.check() == nil {
			t.Errorf("case %d: %+v passes the check", i, o)
		}
	}
}
